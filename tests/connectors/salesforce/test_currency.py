"""Opportunity amounts in the org's corporate currency: the real connector, simple-salesforce
over HTTPS, against the fake org in single-currency (every org's default) and multi-currency
mode."""

from __future__ import annotations

from decimal import Decimal

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from app.connectors.base import TransientError
from app.sandbox.salesforce import ORG_ID, FakeSalesforce

RATES = {"EUR": 0.9, "JPY": 150.0}  # against the corporate USD


@pytest.fixture
def multi(fake: FakeSalesforce) -> FakeSalesforce:
    """The fake org with multi-currency on (corporate USD) before the connector's first call."""
    fake.enable_multi_currency(RATES)
    return fake


def _opportunity_queries(fake: FakeSalesforce) -> list[str]:
    return [q for q in fake.queries if " FROM Opportunity WHERE Id IN (" in q]


def test_single_currency_org_amounts_are_in_the_org_currency(connector, fake):
    opp = fake.add_opportunity("Deal", amount=12345.67)
    snap = connector.read_deals([opp])[opp]
    assert (snap.currency, snap.home_currency) == ("USD", "USD")
    assert snap.amount == Decimal("12345.67") and snap.amount_home == snap.amount
    # CurrencyType answered INVALID_TYPE (single-currency: not an error), and the opportunity
    # query left out CurrencyIsoCode, which this org does not have.
    assert connector.facts.multi_currency is False
    [soql] = _opportunity_queries(fake)
    assert "CurrencyIsoCode" not in soql


def test_single_currency_org_reports_its_own_default_currency(connector, fake):
    fake.store["Organization"][ORG_ID]["DefaultCurrencyIsoCode"] = "GBP"
    opp = fake.add_opportunity("Deal", amount=500.0)
    snap = connector.read_deals([opp])[opp]
    assert (snap.currency, snap.home_currency, snap.amount_home) == ("GBP", "GBP", Decimal("500"))


def test_a_single_currency_fake_refuses_currency_type_and_currency_iso_code(rep, fake):
    """As Salesforce answers in an org without multi-currency."""
    with pytest.raises(SalesforceMalformedRequest) as info:
        rep.query("SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType")
    assert info.value.content == [
        {
            "message": "sObject type 'CurrencyType' is not supported.",
            "errorCode": "INVALID_TYPE",
            "fields": [],
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as info:
        rep.query("SELECT Id, CurrencyIsoCode FROM Opportunity")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"
    org = rep.query("SELECT DefaultCurrencyIsoCode FROM Organization LIMIT 1")["records"]
    assert [o["DefaultCurrencyIsoCode"] for o in org] == ["USD"]
    with pytest.raises(ValueError, match="single-currency"):
        fake.add_opportunity("Deal", currency="EUR")


def test_multi_currency_amounts_are_converted_to_the_corporate_currency(connector, multi):
    eur = multi.add_opportunity("Berlin", amount=9000.0, currency="EUR")
    jpy = multi.add_opportunity("Tokyo", amount=1_500_000.0, currency="JPY")
    usd = multi.add_opportunity("Boston", amount=12345.67)  # the corporate currency by default
    none = multi.add_opportunity("No amount yet", amount=None, currency="EUR")
    snaps = connector.read_deals([eur, jpy, usd, none])
    got = {
        name: (s.currency, s.amount, s.home_currency, s.amount_home)
        for name, s in zip(("eur", "jpy", "usd", "none"), snaps.values(), strict=True)
    }
    assert got == {
        "eur": ("EUR", Decimal("9000.0"), "USD", Decimal("10000.00")),
        "jpy": ("JPY", Decimal("1500000.0"), "USD", Decimal("10000.00")),
        "usd": ("USD", Decimal("12345.67"), "USD", Decimal("12345.67")),
        "none": ("EUR", None, "USD", None),
    }
    assert str(snaps[eur].amount_home) == "10000.00"  # cents, as Decimal
    [soql] = _opportunity_queries(multi)
    assert soql.startswith("SELECT Id, Name, StageName, Amount, CurrencyIsoCode, ")


def test_cold_start_in_a_multi_currency_org_reads_currencies_on_the_first_read(connector, multi):
    opp = multi.add_opportunity("Berlin", amount=9000.0, currency="EUR")
    snap = connector.read_deals([opp])[opp]  # the connector's very first call
    assert (snap.currency, snap.amount_home, snap.home_currency) == (
        "EUR",
        Decimal("10000.00"),
        "USD",
    )
    # Org facts (with CurrencyType) in one call first, then DatedConversionRate in its own
    # (INVALID_TYPE here: no advanced currency management), then the read that selects the
    # field.
    assert multi.calls_by_kind() == {"composite": 3}
    assert connector.facts.dated_rates == {}
    currency_query = next(i for i, q in enumerate(multi.queries) if "FROM CurrencyType" in q)
    opportunity_query = multi.queries.index(_opportunity_queries(multi)[0])
    assert currency_query < opportunity_query
    multi.reset_calls()
    assert connector.read_deals([opp])[opp].amount_home == Decimal("10000.00")
    assert multi.calls_by_kind() == {"composite": 1}  # facts cached: the read only


def test_conversion_rounds_half_up_to_cents(connector, multi):
    multi.set_currency("GBP", 2.0)
    opp = multi.add_opportunity("London", amount=12.25, currency="GBP")
    assert connector.read_deals([opp])[opp].amount_home == Decimal("6.13")  # 6.125


def test_an_inactive_currency_still_converts_at_the_rate_it_keeps(connector, multi, monkeypatch):
    """Salesforce keeps a static rate for inactive currencies and converts the records left in
    one with it (Manage Currencies edits the rates of "active and inactive currencies"; they
    "apply to all currency fields"). The connector read only active currencies, so a deal in a
    currency deactivated since got no converted amount and dropped out of pipeline totals."""
    from app.connectors.salesforce import connector as module

    monkeypatch.setattr(module, "META_TTL_SECONDS", 0.0)  # every read reloads the org facts
    eur = multi.add_opportunity("Berlin", amount=9000.0, currency="EUR")
    jpy = multi.add_opportunity("Tokyo", amount=1_500_000.0, currency="JPY")
    assert connector.read_deals([eur])[eur].amount_home == Decimal("10000.00")
    multi.set_currency("EUR", active=False)  # the admin deactivates EUR; the record keeps it
    snaps = connector.read_deals([eur, jpy])
    assert (snaps[eur].currency, snaps[eur].amount, snaps[eur].amount_home) == (
        "EUR",
        Decimal("9000.0"),
        Decimal("10000.00"),
    )
    assert snaps[eur].home_currency == "USD"
    assert snaps[jpy].amount_home == Decimal("10000.00")
    multi.set_currency("EUR", 0.8, active=False)  # the rate of an inactive currency edited
    assert connector.read_deals([eur])[eur].amount_home == Decimal("11250.00")
    multi.set_currency("EUR", 0.8)  # reactivated: the same rate
    assert connector.read_deals([eur])[eur].amount_home == Decimal("11250.00")


@pytest.mark.parametrize("kind", ["unavailable", "error", "limit"])
def test_a_currency_type_failure_is_not_taken_for_single_currency(connector, multi, kind):
    opp = multi.add_opportunity("Berlin", amount=9000.0, currency="EUR")
    multi.inject(kind, match="FROM CurrencyType", subrequest=True)
    with pytest.raises(TransientError):
        connector.read_deals([opp])
    assert not connector.facts.fresh() and connector.facts.multi_currency is False
    assert _opportunity_queries(multi) == []  # no read was made on a guess
    snap = connector.read_deals([opp])[opp]  # the queue's retry
    assert (snap.currency, snap.amount_home) == ("EUR", Decimal("10000.00"))


def test_a_currency_type_outage_in_a_single_currency_org_is_an_error_too(connector, fake):
    opp = fake.add_opportunity("Deal")
    fake.inject("unavailable", match="FROM CurrencyType", subrequest=True)
    with pytest.raises(TransientError, match="SERVER_UNAVAILABLE"):
        connector.read_deals([opp])
    assert connector.read_deals([opp])[opp].currency == "USD"


def test_multi_currency_switched_on_later_is_seen_at_the_next_facts_reload(connector, fake):
    usd = fake.add_opportunity("Before", amount=100.0)
    assert connector.read_deals([usd])[usd].currency == "USD"
    fake.enable_multi_currency({"EUR": 0.9})  # existing records get the corporate currency
    eur = fake.add_opportunity("After", amount=9000.0, currency="EUR")
    # Facts still fresh: the query stays valid (no CurrencyIsoCode), amounts as single-currency.
    assert connector.read_deals([eur])[eur].currency == "USD"
    connector.facts.stale = True  # the hourly reload (or an unknown stage)
    snaps = connector.read_deals([usd, eur])
    assert (snaps[usd].currency, snaps[usd].amount_home) == ("USD", Decimal("100.00"))
    assert (snaps[eur].currency, snaps[eur].amount_home) == ("EUR", Decimal("10000.00"))
    assert "CurrencyIsoCode" in _opportunity_queries(fake)[-1]


def test_the_fake_org_in_multi_currency_mode_answers_like_salesforce():
    fake = FakeSalesforce(corporate_currency="EUR", currencies={"USD": 1.1, "JPY": 160.0})
    rows = fake.query(
        "SELECT Id, IsoCode, ConversionRate, IsCorporate, IsActive, DecimalPlaces "
        "FROM CurrencyType WHERE IsActive = true"
    )["records"]
    by_code = {r["IsoCode"]: r for r in rows}
    assert {c: (r["ConversionRate"], r["IsCorporate"]) for c, r in by_code.items()} == {
        "EUR": (1.0, True),
        "USD": (1.1, False),
        "JPY": (160.0, False),
    }
    assert by_code["JPY"]["DecimalPlaces"] == 0 and by_code["USD"]["DecimalPlaces"] == 2
    assert all(
        r["Id"].startswith("02u") and r["attributes"]["type"] == "CurrencyType" for r in rows
    )
    opp = fake.add_opportunity("Deal")
    [rec] = fake.query(f"SELECT Id, CurrencyIsoCode FROM Opportunity WHERE Id = '{opp}'")["records"]
    assert rec["CurrencyIsoCode"] == "EUR"  # the corporate currency by default
    [org] = fake.query("SELECT Id, Name, DefaultCurrencyIsoCode FROM Organization LIMIT 1")[
        "records"
    ]
    assert (org["Id"], org["DefaultCurrencyIsoCode"]) == (ORG_ID, "EUR")
    with pytest.raises(ValueError, match="not a currency"):
        fake.add_opportunity("Deal", currency="CHF")


# Advanced currency management: EUR's rate periods against the corporate USD.
EUR_PERIODS = [("0001-01-01", 0.8), ("2026-01-01", 0.9), ("2026-07-01", 1.0)]


@pytest.mark.parametrize(
    ("close", "home"),
    [
        ("2025-05-01", Decimal("1125.00")),  # 900 / 0.8
        ("2026-01-01", Decimal("1000.00")),  # the first day of a period is in it
        ("2026-06-30", Decimal("1000.00")),  # the day before the next one is not
        ("2026-07-01", Decimal("900.00")),  # the open-ended last period
        ("2031-01-01", Decimal("900.00")),
    ],
)
def test_dated_rates_convert_by_the_close_date(connector, multi, close, home):
    """As Salesforce converts opportunity amounts with advanced currency management: the rate
    of the period holding CloseDate, not the static CurrencyType rate (0.9 here)."""
    multi.enable_dated_rates({"EUR": EUR_PERIODS})
    opp = multi.add_opportunity("Berlin", amount=900.0, currency="EUR", CloseDate=close)
    snap = connector.read_deals([opp])[opp]
    assert (snap.currency, snap.amount_home, snap.home_currency) == ("EUR", home, "USD")


def test_a_currency_without_dated_periods_keeps_its_static_rate(connector, multi):
    multi.enable_dated_rates({"EUR": EUR_PERIODS})
    opp = multi.add_opportunity("Tokyo", amount=1_500_000.0, currency="JPY", CloseDate="2026-03-01")
    assert connector.read_deals([opp])[opp].amount_home == Decimal("10000.00")  # / 150


def test_every_page_of_dated_rates_is_read(connector, multi):
    """A long history of rates (daily ones, many currencies) comes in pages: each is read."""
    multi.enable_dated_rates({"EUR": [(f"2026-{m:02d}-01", 0.5 + m / 10) for m in range(1, 13)]})
    multi.page_size = 5
    opp = multi.add_opportunity("Berlin", amount=1100.0, currency="EUR", CloseDate="2026-12-15")
    assert connector.read_deals([opp])[opp].amount_home == Decimal("647.06")  # 1100 / 1.7
    assert len(connector.facts.dated_rates["EUR"]) == 12
    assert multi.calls_by_kind()["query"] == 2  # 12 rates, 5 a page: two more pages


@pytest.mark.parametrize("kind", ["unavailable", "error", "limit"])
def test_a_dated_rates_failure_is_not_taken_for_static_rates(connector, multi, kind):
    """Only INVALID_TYPE means "no advanced currency management"; an outage fails the read (the
    queue retries it) rather than convert with a rate of the wrong period."""
    multi.enable_dated_rates({"EUR": EUR_PERIODS})
    opp = multi.add_opportunity("Berlin", amount=900.0, currency="EUR", CloseDate="2025-05-01")
    multi.inject(kind, match="FROM DatedConversionRate", subrequest=True)
    with pytest.raises(TransientError):
        connector.read_deals([opp])
    assert _opportunity_queries(multi) == []
    assert connector.read_deals([opp])[opp].amount_home == Decimal("1125.00")


def test_a_single_currency_org_is_not_asked_for_dated_rates(connector, fake):
    opp = fake.add_opportunity("Deal", amount=100.0)
    connector.read_deals([opp])
    assert not any("DatedConversionRate" in q for q in fake.queries)
