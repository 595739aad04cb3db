"""The ledger list: filters, sorting, CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.models import Commitment, Deal


@pytest.fixture
def ledger_rows(engine):
    with Session(engine) as s:
        for i, (crm, key, owner, signed, flagged, amount, pipeline, close) in enumerate([
            ("hubspot", "sso", "alice", datetime(2026, 1, 10, tzinfo=UTC), False, "1000",
             "default", date(2026, 1, 9)),
            ("hubspot", "scim", "bob", datetime(2026, 2, 28, 23, 30, tzinfo=UTC), True, "3000",
             "enterprise", date(2026, 2, 28)),
            ("salesforce", "sso", "alice", datetime(2026, 3, 1, tzinfo=UTC), True, "2000",
             "enterprise", date(2026, 3, 1)),
            ("hubspot", None, "carol", datetime(2026, 3, 5, tzinfo=UTC), False, "500",
             "default", None),  # off-roadmap, no close date known
        ]):  # fmt: skip
            s.add(Commitment(crm=crm, deal_id=f"d{i}", deal_name=f"Deal {i}", feature_key=key,
                             promise_key=key or "rule:custom-build", pipeline=pipeline,
                             close_date=close,
                             owner_id=owner, signed_at=signed, amount=Decimal(amount),
                             promised_date=date(2026, 6, 30), approver="pat",
                             flagged_at=signed if flagged else None, hedged=i == 1,
                             flag_reason="slipped" if flagged else None,
                             withdrawn_at=signed if i == 2 else None))  # fmt: skip
        s.commit()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["d3", "d2", "d1", "d0"]),
        ("feature=sso", ["d2", "d0"]),
        ("crm=hubspot&sort=amount", ["d3", "d0", "d1"]),
        ("owner=alice&flagged=true", ["d2"]),
        ("owner=carol", ["d3"]),
        ("flagged=false", ["d3", "d0"]),
        ("signed_from=2026-02-01&signed_to=2026-02-28", ["d1"]),  # the whole last day counts
        ("sort=-amount&limit=1&offset=1", ["d2"]),
        ("pipeline=enterprise", ["d2", "d1"]),
        ("pipeline=default&crm=hubspot", ["d3", "d0"]),
        ("close_from=2026-02-28", ["d2", "d1"]),  # both ends inclusive; unknown dates left out
        ("close_to=2026-02-28&sort=close_date", ["d0", "d1"]),
        ("close_from=2026-01-10&close_to=2026-02-28", ["d1"]),
        ("pipeline=enterprise&owner=alice&close_to=2026-03-01", ["d2"]),
        ("hedged=true", ["d1"]),
        ("hedged=false&crm=hubspot", ["d3", "d0"]),
        ("withdrawn=true", ["d2"]),  # its deal left won since
        ("withdrawn=false", ["d3", "d1", "d0"]),
    ],
)
def test_commitment_filters(client, api_key, ledger_rows, query, expected):
    r = client.get(f"/api/v1/commitments?{query}", headers=api_key("engineering"))
    assert r.status_code == 200, r.text
    assert [c["deal_id"] for c in r.json()["items"]] == expected


def test_commitments_csv_and_bad_parameters(client, api_key, ledger_rows):
    h = api_key("viewer")
    r = client.get("/api/v1/commitments?flagged=true", headers={**h, "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["deal_id"], x["flag_reason"], x["amount"], x["hedged"]) for x in rows] == [
        ("d2", "slipped", "2000.0", "False"), ("d1", "slipped", "3000.0", "True")]  # fmt: skip
    assert client.get("/api/v1/commitments?hedged=true", headers=h).json()["items"][0]["hedged"]
    assert client.get("/api/v1/commitments?sort=evidence", headers=h).status_code == 422
    r = client.get("/api/v1/commitments?flagged=maybe", headers=h)
    assert r.status_code == 422 and "flagged" in r.text
    r = client.get("/api/v1/commitments?close_from=2026-03-01&close_to=2026-02-01", headers=h)
    assert r.status_code == 422 and "close_from" in r.text


def test_commitments_csv_carries_the_deal_facts(client, api_key, ledger_rows):
    r = client.get("/api/v1/commitments?pipeline=default&format=csv", headers=api_key("viewer"))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["x-total-count"] == "2"
    assert [(x["deal_id"], x["pipeline"], x["close_date"], x["feature_key"], x["promise_key"])
            for x in rows] == [
        ("d3", "default", "", "", "rule:custom-build"),
        ("d0", "default", "2026-01-09", "sso", "sso"),
    ]  # fmt: skip


def test_removing_a_target_date_flags_the_signed_promise(client, api_key, engine):
    """The roadmap says 'no date any more' (target_date null through the API): the promise made
    on that date is flagged, with the reason the ledger list shows."""
    from app.models import Feature

    with Session(engine) as s:
        s.add(Feature(key="sso", name="SSO", availability="coming_soon",
                      target_date=date(2026, 6, 30)))  # fmt: skip
        s.add(Commitment(crm="hubspot", deal_id="d0", deal_name="Deal 0", feature_key="sso",
                         promise_key="sso", feature_name="SSO", owner_id="alice",
                         availability_at_signing="coming_soon",
                         target_date_at_signing=date(2026, 6, 30),
                         promised_date=date(2026, 6, 30),
                         signed_at=datetime(2026, 1, 10, tzinfo=UTC)))  # fmt: skip
        s.commit()
    r = client.patch("/api/v1/features/sso", json={"target_date": None}, headers=api_key("revops"))
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/commitments?flagged=true", headers=api_key("viewer"))
    assert [(c["deal_id"], c["flag_reason"]) for c in r.json()["items"]] == [
        (
            "d0",
            "'SSO' no longer has a target date (it targeted Jun 30, 2026 when the deal was signed)",
        )
    ]


def test_the_name_search_is_literal_text_in_any_case(client, api_key, engine):
    with Session(engine) as s:
        for i, (deal, account) in enumerate(
            [("Acme 100% uptime", "Acme"), ("Acme 1000 seats", "ACME_EU"), ("Other", "Initech")]
        ):
            s.add(Commitment(crm="hubspot", deal_id=f"q{i}", deal_name=deal, account_name=account,
                             feature_key="sso", promise_key="sso"))  # fmt: skip
        s.commit()
    h = api_key("viewer")

    def found(q: str) -> list[str]:
        r = client.get("/api/v1/commitments", params={"q": q, "sort": "deal_name"}, headers=h)
        assert r.status_code == 200, r.text
        return [c["deal_id"] for c in r.json()["items"]]

    assert found("100%") == ["q0"]  # not "1000 seats": % is no wildcard
    assert found("_") == ["q1"]  # the account with an underscore, not every entry
    assert found("acme") == ["q0", "q1"]  # any case
    assert found("INITECH") == ["q2"]


def test_the_name_search_folds_non_ascii_capitals_on_both_databases(client, api_key, engine):
    """SQLite's lower() folds A-Z only: "ÜBER Logistik" was not found by "über" there (nor by
    its name as written, "ÜBER"), while PostgreSQL found it."""
    with Session(engine) as s:
        for i, account in enumerate(["ÜBER Logistik", "Ölwerk ÉCLAIR", "Uber"]):
            s.add(Commitment(crm="hubspot", deal_id=f"n{i}", deal_name=f"Deal {i}",
                             account_name=account, feature_key="sso", promise_key="sso"))  # fmt: skip
        s.commit()
    h = api_key("viewer")

    def found(q: str) -> list[str]:
        r = client.get("/api/v1/commitments", params={"q": q, "sort": "deal_name"}, headers=h)
        assert r.status_code == 200, r.text
        return [c["deal_id"] for c in r.json()["items"]]

    assert found("über") == found("ÜBER") == ["n0"]
    assert found("éclair") == found("ölwerk") == ["n1"]


def test_the_ledger_owner_filter_takes_an_owner_name(engine, ledger_rows):
    """/deals and /exposure take an owner id or name; the ledger's entries keep the owner's id
    only, so "Bob Baker" found nothing. `queries.commitment_owner` matches the entries whose
    owner id a deal of the same CRM carries under that name (app/api/commitments.py's filter is
    to call it), and `commitment_rows` names each entry's owner, in one query per page."""
    from sqlmodel import select

    from app.models import Deal
    from app.services import queries

    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="x1", owner_id="bob", owner_name="Bob Baker"))
        s.add(Deal(crm="hubspot", deal_id="x2", owner_id="alice", owner_name="Alice Ng"))
        # Another CRM's "alice" is someone else: her name finds the HubSpot entries alone.
        s.add(Deal(crm="salesforce", deal_id="x3", owner_id="alice", owner_name="Alice Smith"))
        s.commit()

        def owned(owner: str) -> list[str]:
            stmt = select(Commitment.deal_id).where(queries.commitment_owner(owner))
            return sorted(s.exec(stmt).all())

        assert owned("Bob Baker") == ["d1"]
        assert owned("bob") == ["d1"]  # the id, as before
        assert owned("Alice Ng") == ["d0"]
        assert owned("Alice Smith") == ["d2"]
        assert owned("Nobody") == []
        entries = s.exec(select(Commitment).order_by(Commitment.deal_id)).all()
        names = [(r["deal_id"], r["owner_name"]) for r in queries.commitment_rows(s, entries)]
        assert names == [("d0", "Alice Ng"), ("d1", "Bob Baker"), ("d2", "Alice Smith"),
                         ("d3", None)]  # fmt: skip


def test_the_ledger_route_takes_an_owner_name_and_lists_it(client, api_key, engine, ledger_rows):
    """GET /api/v1/commitments?owner=Bob%20Baker answered nothing: the route filtered the id."""
    from app.models import Deal

    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="x1", owner_id="bob", owner_name="Bob Baker"))
        s.commit()
    h = api_key("engineering")
    r = client.get("/api/v1/commitments?owner=Bob%20Baker", headers=h)
    assert [(c["deal_id"], c["owner_name"]) for c in r.json()["items"]] == [("d1", "Bob Baker")]
    rows = list(csv.DictReader(io.StringIO(
        client.get("/api/v1/commitments?owner=bob&format=csv", headers=h).text)))  # fmt: skip
    assert [(row["deal_id"], row["owner_name"]) for row in rows] == [("d1", "Bob Baker")]


def _ledger_entry(deal_id, key, amount, currency, home=None, home_currency=None, flagged=False):
    return Commitment(crm="hubspot", deal_id=deal_id, deal_name=f"Deal {deal_id}",
                      feature_key=key, promise_key=key, amount=Decimal(amount),
                      currency=currency, amount_home=None if home is None else Decimal(home),
                      home_currency=home_currency, signed_at=datetime(2026, 3, 1, tzinfo=UTC),
                      flagged_at=datetime(2026, 4, 1, tzinfo=UTC) if flagged else None)  # fmt: skip


def _totals(client, h, query=""):
    t = client.get(f"/api/v1/commitments?{query}", headers=h).json()["totals"]
    return (t["deals"], t["amount"], t["currency"], t["mixed_currencies"])


def test_the_ledger_says_what_the_promises_it_lists_are_worth(client, api_key, engine):
    """ "How much signed business was promised SSO, and how much rides on a broken promise?"
    Each deal adds its amount once (w1 was promised SSO and SCIM), in the company currency
    where the CRM converted it (j1: 1,500,000 JPY is 10,000 USD), over every page."""
    with Session(engine) as s:
        s.add_all([
            _ledger_entry("w1", "sso", "1000", "USD", "1000", "USD", flagged=True),
            _ledger_entry("w1", "scim", "1000", "USD", "1000", "USD"),
            _ledger_entry("j1", "sso", "1500000", "JPY", "10000", "USD"),
            _ledger_entry("g1", "scim", "500", "GBP"),  # not converted: its own currency
        ])  # fmt: skip
        s.commit()
    h = api_key("engineering")
    assert _totals(client, h, "feature=sso") == (2, 11000.0, "USD", False)
    assert _totals(client, h, "feature=sso&limit=1") == (2, 11000.0, "USD", False)
    assert _totals(client, h, "flagged=true") == (1, 1000.0, "USD", False)
    assert _totals(client, h, "feature=scim") == (2, 1500.0, None, True)
    assert _totals(client, h) == (3, 11500.0, None, True)
    assert _totals(client, h, "q=nothing") == (0, 0.0, None, False)
    r = client.get("/api/v1/commitments?format=csv", headers=h)
    assert r.status_code == 200 and "totals" not in r.text


def test_signed_days_are_the_reports_days_in_the_business_time_zone(make_app, api_key, engine):
    """Selling from Los Angeles, a deal signed at 8 pm on 31 March (1 April in UTC) is in Q1 in
    the leadership report; the ledger's signed_from/signed_to counted UTC days and put it in
    Q2, so the ledger behind the report's Q1 count missed it."""
    from fastapi.testclient import TestClient

    with Session(engine) as s:
        for deal_id, signed in [
            ("evening", datetime(2026, 4, 1, 3, tzinfo=UTC)),  # 31 March, 20:00 in LA
            ("morning", datetime(2026, 4, 1, 16, tzinfo=UTC)),  # 1 April, 09:00 in LA
        ]:
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim",
                             promise_key="scim", signed_at=signed, amount=Decimal("100"),
                             availability_at_signing="never"))  # fmt: skip
        s.commit()
    app = make_app(business_timezone="America/Los_Angeles")
    h = api_key("viewer")
    with TestClient(app) as client:
        report = client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-06-30", headers=h)
        counts = {q["quarter"]: q["commitments"]["count"] for q in report.json()["quarters"]}
        assert counts == {"2026-Q1": 1, "2026-Q2": 1}

        def ids(query):
            r = client.get(f"/api/v1/commitments?{query}", headers=h)
            assert r.status_code == 200, r.text
            return [c["deal_id"] for c in r.json()["items"]]

        assert ids("signed_from=2026-01-01&signed_to=2026-03-31") == ["evening"]
        assert ids("signed_from=2026-04-01&signed_to=2026-06-30") == ["morning"]
        assert ids("signed_to=2026-03-31") == ["evening"]


def test_entries_of_deals_deleted_in_the_crm_are_said_and_can_be_left_out(client, api_key, engine):
    """A rep won a duplicate of Globex's deal, both recorded SSO; HubSpot merged the duplicate
    away (we stop tracking it). The ledger listed both as signed, and its totals counted the
    promise twice, with nothing to tell them apart."""
    with Session(engine) as s:
        s.add_all(
            [
                _ledger_entry("g1", "sso", "5000", "USD"),
                _ledger_entry("g1-dup", "sso", "5000", "USD"),
            ]
        )
        s.add_all([
            Deal(crm="hubspot", deal_id="g1", name="Globex", is_won=True, is_closed=True),
            Deal(crm="hubspot", deal_id="g1-dup", name="Globex", is_won=True, is_closed=True,
                 tracked=False),
        ])  # fmt: skip
        s.commit()
    h = api_key("engineering")
    items = client.get("/api/v1/commitments?sort=deal_name", headers=h).json()["items"]
    assert [(c["deal_id"], c["deal_deleted_in_crm"]) for c in items] == [
        ("g1", False), ("g1-dup", True)]  # fmt: skip
    assert _totals(client, h, "feature=sso") == (2, 10000.0, "USD", False)
    assert _totals(client, h, "feature=sso&deal_deleted=false") == (1, 5000.0, "USD", False)
    body = client.get("/api/v1/commitments?deal_deleted=true", headers=h).json()
    assert [c["deal_id"] for c in body["items"]] == ["g1-dup"]
    r = client.get("/api/v1/commitments?format=csv&deal_deleted=true", headers=h)
    [row] = list(csv.DictReader(io.StringIO(r.text)))
    assert (row["deal_id"], row["deal_deleted_in_crm"]) == ("g1-dup", "True")
