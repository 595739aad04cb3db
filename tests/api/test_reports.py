"""The leadership report: figures per quarter checked against a hand-built history."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.models import Approval, Commitment, Deal, Evaluation


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _findings(*severities: str, approved: bool = False) -> list[dict]:
    return [{"rule_id": "r", "severity": sev, "approved": approved} for sev in severities]


# What the engine stores with each verdict when nothing is approved.
UNAPPROVED = {"clear": [], "warning": _findings("warning"), "blocked": _findings("block")}


@pytest.fixture
def history(engine):
    with Session(engine) as s:
        for crm, key, signed, approver, amount, availability in [
            ("hubspot", "scim", _at(2026, 2, 10), "pat", "10000", "never"),
            ("hubspot", "sso", _at(2026, 3, 1), None, "5000", "coming_soon"),
            ("hubspot", "api", _at(2026, 3, 15), None, "999", "available"),  # on the roadmap
            ("hubspot", "audit", _at(2026, 4, 2), "pat", "2500", "uncertain"),
            ("salesforce", "scim", _at(2026, 5, 2), "lee", "1000", "never"),
            ("hubspot", "scim", _at(2025, 12, 31, 23), "pat", "777", "never"),  # before range
        ]:
            s.add(Commitment(crm=crm, deal_id=f"{key}-{signed.month}", feature_key=key,
                             signed_at=signed, approver=approver, amount=Decimal(amount),
                             approval_id=1 if approver else None,
                             availability_at_signing=availability))  # fmt: skip
        for created, approver, key, revoked in [
            (_at(2026, 2, 1), "pat", "scim", False),
            (_at(2026, 2, 20), "pat", "sso", False),
            (_at(2026, 4, 10), "lee", "scim", False),
            (_at(2026, 4, 20), "ann", "sso", True),  # revoked later: not an override
        ]:
            s.add(Approval(crm="hubspot", deal_id="x", feature_key=key, reason="r",
                           approver=approver, created_at=created,
                           revoked_at=_at(2026, 4, 21) if revoked else None))  # fmt: skip
        for deal_id, verdict, at in [
            ("E1", "clear", _at(2026, 1, 1)),
            ("E1", "warning", _at(2026, 1, 2, 0)),
            ("E1", "blocked", _at(2026, 1, 2, 6)),
            ("E1", "clear", _at(2026, 1, 2, 10)),  # 10 h
            ("E1", "clear", _at(2026, 1, 3)),
            ("E1", "warning", _at(2026, 3, 30)),
            ("E1", "clear", _at(2026, 4, 1)),  # 48 h, resolved in Q2
            ("E2", "warning", _at(2026, 2, 1, 0)),
            ("E2", "clear", _at(2026, 2, 1, 2)),  # 2 h
            ("E3", "warning", _at(2026, 3, 1)),  # never resolved
        ]:
            s.add(Evaluation(crm="hubspot", deal_id=deal_id, verdict=verdict, created_at=at,
                             findings=UNAPPROVED[verdict]))  # fmt: skip
        for deal_id, amount, close, closed, findings in [
            ("B1", "7000", date(2026, 5, 15), False,
             [("scim", "block", False), ("sso", "block", True), ("api", "warning", False)]),
            ("B2", "3000", date(2026, 6, 1), False, [("scim", "block", False), ("audit", "block", False)]),
            ("B3", "9000", date(2026, 6, 1), True, [("scim", "block", False)]),
        ]:  # fmt: skip
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict="blocked",
                            findings=[{"feature_key": k, "severity": sev, "approved": ok}
                                      for k, sev, ok in findings])  # fmt: skip
            s.add(ev)
            s.flush()
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal(amount), close_date=close,
                       is_closed=closed, verdict="blocked", last_evaluation_id=ev.id))  # fmt: skip
        s.commit()


_UNLABELLED = {"currency": None, "mixed_currencies": False}  # entries stored with no currency


def test_report_per_quarter(client, api_key, history):
    r = client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-06-30",
                   headers=api_key("viewer"))  # fmt: skip
    assert r.status_code == 200, r.text
    q1, q2 = r.json()["quarters"]
    assert (q1["quarter"], q2["quarter"]) == ("2026-Q1", "2026-Q2")
    assert (q1["commitments"]["count"], q1["commitments"]["amount"]) == (2, 15000.0)
    assert q1["commitments"]["approvers"] == [
        {"approver": "pat", "count": 1, "amount": 10000.0, **_UNLABELLED},
        {"approver": "(not approved: coming soon)", "count": 1, "amount": 5000.0, **_UNLABELLED},
    ]
    assert (q2["commitments"]["count"], q2["commitments"]["amount"]) == (2, 3500.0)
    assert q1["overridden_findings"]["count"] == 2
    assert (q1["overridden_findings"]["revoked"], q2["overridden_findings"]["revoked"]) == (0, 1)
    assert q1["overridden_findings"]["by_feature"] == [
        {"feature": "scim", "count": 1}, {"feature": "sso", "count": 1}]  # fmt: skip
    assert q2["overridden_findings"]["by_approver"] == [{"approver": "lee", "count": 1}]
    assert q1["resolution"] == {"resolved": 2, "median_hours": 6.0}  # median of 10 h and 2 h
    assert q2["resolution"] == {"resolved": 1, "median_hours": 48.0}
    assert q1["top_blocked_features"] == []
    assert q2["top_blocked_features"] == [
        {"feature_key": "scim", "deal_count": 2, "amount": 10000.0, "currency": None,
         "mixed_currencies": False},  # deals with no currency at all: not known
        {"feature_key": "audit", "deal_count": 1, "amount": 3000.0, "currency": None,
         "mixed_currencies": False},
    ]  # fmt: skip


def test_report_crm_filter_and_csv(client, api_key, history):
    h = api_key("engineering")
    r = client.get(
        "/api/v1/reports/commitments?from=2026-04-01&to=2026-06-30&crm=salesforce", headers=h
    )
    (q2,) = r.json()["quarters"]
    assert q2["commitments"]["approvers"] == [
        {"approver": "lee", "count": 1, "amount": 1000.0, **_UNLABELLED}
    ]
    r = client.get(
        "/api/v1/reports/commitments?from=2026-01-01&to=2026-06-30&format=csv", headers=h
    )
    rows = list(csv.DictReader(io.StringIO(r.text)))
    totals = {(x["quarter"], x["section"], x["item"]): x for x in rows}
    assert totals[("2026-Q1", "commitments", "total")]["amount"] == "15000.0"
    assert totals[("2026-Q2", "top_blocked_features", "scim")]["count"] == "2"
    assert totals[("2026-Q2", "overridden_findings", "total")]["count"] == "1"
    assert totals[("2026-Q2", "overridden_findings", "revoked")]["count"] == "1"
    r = client.get("/api/v1/reports/commitments?from=2026-07-01&to=2026-01-01", headers=h)
    assert r.status_code == 422 and "from" in r.json()["error"]["message"]


def test_a_warning_resolved_by_approval_or_by_closing_counts(client, api_key, engine, history):
    """Q2 already holds E1's 48 h. E4's block is approved after 5 h (the verdict stays warning,
    an info finding stays unapproved); E5 is still warned when it closes after 20 h; E6 is
    approved before it closes. E7 closes clear of any warning; its later re-evaluation from the
    stored snapshot opens nothing new."""
    with Session(engine) as s:
        for deal_id, verdict, at, findings, snapshot in [
            ("E4", "blocked", _at(2026, 5, 1, 0), _findings("block"), "a"),
            ("E4", "warning", _at(2026, 5, 1, 5),
             _findings("block", approved=True) + _findings("info"), "a"),  # 5 h
            ("E4", "warning", _at(2026, 5, 2), _findings("block", approved=True), "a"),
            ("E5", "warning", _at(2026, 5, 10, 0), _findings("warning"), "open"),
            ("E5", "warning", _at(2026, 5, 10, 20), _findings("warning"), "won"),  # closed: 20 h
            ("E5", "warning", _at(2026, 5, 12), _findings("warning"), "won"),  # re-evaluated
            ("E6", "warning", _at(2026, 6, 1, 0), _findings("warning"), "open"),
            ("E6", "warning", _at(2026, 6, 1, 1), _findings("warning", approved=True), "open"),
            ("E6", "warning", _at(2026, 6, 3), _findings("warning", approved=True), "won"),
            ("E7", "clear", _at(2026, 6, 5), [], "lost"),
            ("E7", "clear", _at(2026, 6, 6), [], "lost"),
        ]:  # fmt: skip
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict=verdict, created_at=at,
                            findings=findings, snapshot_hash=snapshot)  # fmt: skip
            s.add(ev)
            s.flush()
            last = ev.id
            if deal_id in ("E5", "E6", "E7"):
                deal = s.exec(select(Deal).where(Deal.deal_id == deal_id)).first()
                deal = deal or Deal(crm="hubspot", deal_id=deal_id, is_closed=True)
                deal.last_evaluation_id = last
                s.add(deal)
        s.commit()
    r = client.get("/api/v1/reports/commitments?from=2026-04-01&to=2026-06-30",
                   headers=api_key("viewer"))  # fmt: skip
    (q2,) = r.json()["quarters"]
    # 48 h (E1), 5 h (E4), 20 h (E5), 1 h (E6): median (5 + 20) / 2.
    assert q2["resolution"] == {"resolved": 4, "median_hours": 12.5}


def test_report_dates_at_the_ends_of_the_calendar_are_a_422(client, api_key):
    """Quarters around year 1 or 9999 do not exist; such a date was a 500 (schemathesis)."""
    headers = api_key("viewer")
    for query in ("to=0001-03-01", "from=9999-01-01&to=9999-12-31", "to=0479-05-21"):
        r = client.get(f"/api/v1/reports/commitments?{query}", headers=headers)
        assert r.status_code == 422, (query, r.text)
        assert "a date in the years 1900 to 9998" in r.json()["error"]["message"]
    r = client.get("/api/v1/reports/commitments?from=1900-01-01&to=1904-12-31", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["quarters"][0]["quarter"] == "1900-Q1"


def test_report_adds_amounts_in_the_company_currency(client, api_key, engine):
    """A commitment signed on a JPY 1,500,000 deal adds what the CRM converted it to (10,000
    USD), as does a blocked JPY deal; an amount the CRM did not convert adds as it is."""
    with Session(engine) as s:
        for deal_id, amount, currency, home in [
            ("J1", "1500000", "JPY", "10000"),
            ("E1", "900", "EUR", "1000"),
            ("U1", "500", "USD", None),  # stored before conversion
        ]:
            home_amount = Decimal(home) if home else None
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim",
                             signed_at=_at(2026, 2, 10), amount=Decimal(amount), currency=currency,
                             amount_home=home_amount, home_currency="USD" if home else None,
                             availability_at_signing="never"))  # fmt: skip
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict="blocked",
                            findings=[{"feature_key": "scim", "severity": "block"}])  # fmt: skip
            s.add(ev)
            s.flush()
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal(amount), currency=currency,
                       amount_home=home_amount, home_currency="USD" if home else None,
                       close_date=date(2026, 3, 1), verdict="blocked",
                       last_evaluation_id=ev.id))  # fmt: skip
        s.commit()
    h = api_key("viewer")
    q1 = client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31",
                    headers=h).json()["quarters"][0]  # fmt: skip
    assert q1["commitments"]["amount"] == 11500.0
    assert q1["top_blocked_features"] == [
        {"feature_key": "scim", "deal_count": 3, "amount": 11500.0, "currency": "USD",
         "mixed_currencies": False}
    ]  # fmt: skip
    rows = client.get("/api/v1/commitments?sort=-amount", headers=h).json()["items"]
    assert [(r["deal_id"], r["amount"], r["currency"], r["amount_home"]) for r in rows] == [
        ("J1", 1500000.0, "JPY", 10000.0),
        ("E1", 900.0, "EUR", 1000.0),
        ("U1", 500.0, "USD", None),
    ]


def test_blocked_pipeline_in_several_currencies_says_it_is_mixed(client, api_key, engine):
    """A GBP deal the CRM did not convert adds its own amount to a USD one: the feature's
    blocked pipeline says `mixed_currencies` (it had no currency label at all), as exposure and
    the commitments section of the same report do; the CSV's currency cell says `mixed`."""
    with Session(engine) as s:
        for deal_id, key, amount, currency, home in [
            ("G1", "scim", "191500", "GBP", None),  # no rate: its own amount, in GBP
            ("U1", "scim", "16000", "USD", "16000"),
            ("U2", "sso", "4000", "EUR", "5000"),  # converted: in USD
        ]:
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict="blocked",
                            findings=[{"feature_key": key, "severity": "block"}])  # fmt: skip
            s.add(ev)
            s.flush()
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal(amount), currency=currency,
                       amount_home=Decimal(home) if home else None,
                       home_currency="USD" if home else None, close_date=date(2026, 3, 1),
                       verdict="blocked", last_evaluation_id=ev.id))  # fmt: skip
        s.commit()
    h = api_key("viewer")
    url = "/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31"
    q1 = client.get(url, headers=h).json()["quarters"][0]
    assert q1["top_blocked_features"] == [
        {"feature_key": "scim", "deal_count": 2, "amount": 207500.0, "currency": None,
         "mixed_currencies": True},
        {"feature_key": "sso", "deal_count": 1, "amount": 5000.0, "currency": "USD",
         "mixed_currencies": False},
    ]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(client.get(url + "&format=csv", headers=h).text)))
    cells = {r["item"]: r["currency"] for r in rows if r["section"] == "top_blocked_features"}
    assert cells == {"scim": "mixed", "sso": "USD"}


def test_a_deal_promising_several_features_adds_its_amount_once(client, api_key, engine):
    """Two promises on one 100,000 USD deal are two commitments and one deal's pipeline; the
    approvers' lines each show the deal they approved on."""
    with Session(engine) as s:
        for key, approver in [("scim", "pat"), ("sso", "pat"), ("audit", "lee")]:
            s.add(Commitment(crm="hubspot", deal_id="BIG", feature_key=key,
                             signed_at=_at(2026, 2, 10), approver=approver, approval_id=1,
                             amount=Decimal("100000"), currency="USD",
                             availability_at_signing="never"))  # fmt: skip
        s.add(Commitment(crm="salesforce", deal_id="EU", feature_key="scim",
                         signed_at=_at(2026, 3, 1), amount=Decimal("500"), currency="EUR",
                         availability_at_signing="never"))  # fmt: skip
        s.commit()
    q1 = client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31",
                    headers=api_key("viewer")).json()["quarters"][0]  # fmt: skip
    block = q1["commitments"]
    assert (block["count"], block["deals"], block["amount"]) == (4, 2, 100500.0)
    assert (block["currency"], block["mixed_currencies"]) == (None, True)
    usd, eur = (
        {"currency": "USD", "mixed_currencies": False},
        {"currency": "EUR", "mixed_currencies": False},
    )
    assert block["approvers"] == [
        {"approver": "lee", "count": 1, "amount": 100000.0, **usd},
        {"approver": "pat", "count": 2, "amount": 100000.0, **usd},
        {"approver": "(not approved: coming soon)", "count": 1, "amount": 500.0, **eur},
    ]


def test_a_deal_that_left_won_since_is_not_counted_as_signed(client, api_key, engine):
    """Its entries stay in the ledger, withdrawn: not signed business in the report."""
    with Session(engine) as s:
        for deal_id, withdrawn in [("KEPT", None), ("LOST", _at(2026, 3, 1))]:
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim",
                             signed_at=_at(2026, 2, 10), approver="pat", approval_id=1,
                             amount=Decimal("1000"), availability_at_signing="never",
                             withdrawn_at=withdrawn))  # fmt: skip
        s.commit()
    q1 = client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31",
                    headers=api_key("viewer")).json()["quarters"][0]  # fmt: skip
    block = q1["commitments"]
    assert (block["count"], block["deals"], block["amount"]) == (1, 1, 1000.0)


def test_a_deal_deleted_or_merged_away_in_the_crm_is_not_counted_as_signed(client, api_key, engine):
    """A won duplicate cleaned up in the CRM is not signed business twice; restored in the CRM
    (tracked again), it counts again. Its entries stay in the ledger, flagged."""
    with Session(engine) as s:
        for deal_id, tracked in [("KEPT", True), ("DUPLICATE", False)]:
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal("1000"), is_won=True,
                       is_closed=True, tracked=tracked))  # fmt: skip
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim",
                             signed_at=_at(2026, 2, 10), approver="pat", approval_id=1,
                             amount=Decimal("1000"), availability_at_signing="never"))  # fmt: skip
        # An entry whose deal row is not stored at all (an old install) still counts.
        s.add(Commitment(crm="salesforce", deal_id="OLD", feature_key="scim",
                         signed_at=_at(2026, 2, 11), amount=Decimal("500"),
                         availability_at_signing="never"))  # fmt: skip
        s.commit()

    def q1() -> dict:
        return client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31",
                          headers=api_key("viewer")).json()["quarters"][0]["commitments"]  # fmt: skip

    block = q1()
    assert (block["count"], block["deals"], block["amount"]) == (2, 2, 1500.0)
    assert [a["approver"] for a in block["approvers"]] == ["pat", "(not approved: coming soon)"]
    listed = client.get("/api/v1/commitments?deal_deleted=true", headers=api_key("viewer"))
    assert [e["deal_id"] for e in listed.json()["items"]] == ["DUPLICATE"]

    with Session(engine) as s:  # restored in the CRM
        deal = s.exec(select(Deal).where(Deal.deal_id == "DUPLICATE")).one()
        deal.tracked = True
        s.add(deal)
        s.commit()
    block = q1()
    assert (block["count"], block["deals"], block["amount"]) == (3, 3, 2500.0)


def test_an_approvers_line_in_several_currencies_says_it_is_mixed(client, api_key, engine):
    """Pat approved promises on a USD deal and on a GBP one the CRM did not convert: the
    quarter's total said `mixed_currencies`, pat's line (the same sum) said nothing, nor did
    its CSV row."""
    with Session(engine) as s:
        for deal_id, currency in [("U1", "USD"), ("G1", "GBP")]:
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim",
                             signed_at=_at(2026, 2, 10), approver="pat", approval_id=1,
                             amount=Decimal("1000"), currency=currency,
                             availability_at_signing="never"))  # fmt: skip
        s.commit()
    url = "/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31"
    q1 = client.get(url, headers=api_key("viewer")).json()["quarters"][0]
    assert q1["commitments"]["approvers"] == [
        {"approver": "pat", "count": 2, "amount": 2000.0, "currency": None,
         "mixed_currencies": True}
    ]  # fmt: skip
    rows = list(
        csv.DictReader(io.StringIO(client.get(url + "&format=csv", headers=api_key("viewer")).text))
    )
    assert [
        (r["item"], r["currency"]) for r in rows if r["section"] == "commitments_by_approver"
    ] == [("pat", "mixed")]


def test_report_quarters_are_fiscal_quarters_in_the_business_time_zone(make_app, api_key, engine):
    """A company whose fiscal year starts in February, selling from Los Angeles: quarters run
    Feb-Apr, May-Jul, ...; FY2027 is the one ending in January 2027 (as notes' "FY27" is read);
    a commitment signed at 8 pm on 30 April in Los Angeles (1 May in UTC) is in the first."""
    from fastapi.testclient import TestClient

    with Session(engine) as s:
        for deal_id, signed in [
            ("early", _at(2026, 5, 1, 3)),  # 30 April, 20:00 in Los Angeles
            ("late", _at(2026, 5, 1, 12)),  # 1 May, 05:00
            ("before", _at(2026, 2, 1, 7)),  # 31 January, 23:00: FY2026
        ]:
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim", signed_at=signed,
                             amount=Decimal("100"), availability_at_signing="never"))  # fmt: skip
        s.add(Approval(crm="hubspot", deal_id="x", feature_key="scim", reason="r",
                       approver="pat", created_at=_at(2026, 8, 1, 6)))  # 31 July in LA  # fmt: skip
        for deal_id, close in [("B1", date(2026, 7, 31)), ("B2", date(2026, 8, 1))]:
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict="blocked",
                            findings=[{"feature_key": "scim", "severity": "block"}])  # fmt: skip
            s.add(ev)
            s.flush()
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal("10"), close_date=close,
                       verdict="blocked", last_evaluation_id=ev.id))  # fmt: skip
        s.commit()
    app = make_app(fiscal_year_start_month=2, business_timezone="America/Los_Angeles")
    with TestClient(app) as client:
        r = client.get("/api/v1/reports/commitments?from=2026-02-01&to=2026-10-31",
                       headers=api_key("viewer"))  # fmt: skip
    assert r.status_code == 200, r.text
    quarters = {q["quarter"]: q for q in r.json()["quarters"]}
    assert list(quarters) == ["FY2027-Q1", "FY2027-Q2", "FY2027-Q3"]
    assert quarters["FY2027-Q1"]["commitments"]["count"] == 1  # "early"; "before" is out of range
    assert quarters["FY2027-Q2"]["commitments"]["count"] == 1  # "late"
    assert quarters["FY2027-Q2"]["overridden_findings"]["count"] == 1
    assert quarters["FY2027-Q3"]["overridden_findings"]["count"] == 0
    blocked = {q: [f["deal_count"] for f in v["top_blocked_features"]] for q, v in quarters.items()}
    assert blocked == {"FY2027-Q1": [], "FY2027-Q2": [1], "FY2027-Q3": [1]}


def test_report_quarter_index_and_labels():
    """Consecutive quarters across year ends, and the labels of both conventions."""
    from app.services.reports import Quarters

    q = Quarters(date(2026, 11, 15), date(2027, 2, 1), fiscal_year_start=11)
    assert q.labels == ["FY2027-Q1", "FY2027-Q2"]  # Nov-Jan, Feb-Apr
    assert q.starts == [date(2026, 11, 1), date(2027, 2, 1)]
    assert q.of_day(date(2027, 1, 31)) == "FY2027-Q1"
    assert q.of_day(date(2027, 5, 1)) is None
    calendar = Quarters(date(2025, 12, 31), date(2026, 1, 1))
    assert calendar.labels == ["2025-Q4", "2026-Q1"]
    assert calendar.of_instant(_at(2026, 1, 1, 0)) == "2026-Q1"


def test_report_spans_at_most_twenty_quarters(client, api_key):
    headers = api_key("viewer")
    r = client.get("/api/v1/reports/commitments?from=2021-01-01&to=2025-12-31", headers=headers)
    assert r.status_code == 200, r.text
    assert len(r.json()["quarters"]) == 20
    r = client.get("/api/v1/reports/commitments?from=2021-01-01&to=2026-01-01", headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "query.from: from 2021-01-01 to 2026-01-01 spans more than 20 quarters"
    )


def test_report_default_range_is_the_last_four_quarters(client, api_key, monkeypatch):
    """With no range: the quarter holding today (to date) and the three before it, as the docs
    say; on 2026-12-07 it was 2025-Q4..2026-Q4, five quarters. With `to` alone, the four
    quarters ending with the one holding it."""
    import app.api.reports as route

    monkeypatch.setattr(route, "utcnow", lambda: _at(2026, 12, 7, 12))
    h = api_key("viewer")
    body = client.get("/api/v1/reports/commitments", headers=h).json()
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-12-07")
    assert [q["quarter"] for q in body["quarters"]] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    body = client.get("/api/v1/reports/commitments?to=2026-02-15", headers=h).json()
    assert body["from"] == "2025-04-01"
    assert [q["quarter"] for q in body["quarters"]] == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]


def test_report_default_range_counts_fiscal_quarters(make_app, api_key):
    """A fiscal year starting in February: four fiscal quarters back from the one holding `to`."""
    from fastapi.testclient import TestClient

    app = make_app(fiscal_year_start_month=2)
    with TestClient(app) as client:
        body = client.get("/api/v1/reports/commitments?to=2026-12-07",
                          headers=api_key("viewer")).json()  # fmt: skip
    assert body["from"] == "2026-02-01"
    assert [q["quarter"] for q in body["quarters"]] == [
        "FY2027-Q1", "FY2027-Q2", "FY2027-Q3", "FY2027-Q4"
    ]  # fmt: skip


def test_a_commitment_amount_of_no_known_currency_makes_the_total_unlabelled_not_mixed(
    client, api_key, engine
):
    """A USD commitment and one whose deal had no currency: the quarter's total said
    `mixed_currencies: true` (several known currencies), where exposure says what it is: a sum
    whose currency is not known."""
    with Session(engine) as s:
        for deal_id, currency in [("U1", "USD"), ("N1", None)]:
            s.add(Commitment(crm="hubspot", deal_id=deal_id, feature_key="scim",
                             signed_at=_at(2026, 2, 10), amount=Decimal("1000"),
                             currency=currency, availability_at_signing="never"))  # fmt: skip
        s.commit()
    q1 = client.get("/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31",
                    headers=api_key("viewer")).json()["quarters"][0]  # fmt: skip
    block = q1["commitments"]
    assert (block["amount"], block["currency"], block["mixed_currencies"]) == (2000.0, None, False)


def test_blocked_pipeline_counts_the_whole_quarter_not_up_to_today(client, api_key, engine):
    """On 15 May the report's current quarter runs to date for what happened (signatures,
    approvals), but blocked pipeline is open deals due to close in the quarter: those due in
    June were left out, the ones the quarter's number still depends on. The next quarter's are
    not in it."""
    with Session(engine) as s:
        for deal_id, close in [("May", date(2026, 5, 10)), ("June", date(2026, 6, 20)),
                               ("July", date(2026, 7, 1))]:  # fmt: skip
            ev = Evaluation(crm="hubspot", deal_id=deal_id, verdict="blocked",
                            findings=[{"feature_key": "scim", "severity": "block"}])  # fmt: skip
            s.add(ev)
            s.flush()
            s.add(Deal(crm="hubspot", deal_id=deal_id, amount=Decimal("1000"), currency="USD",
                       close_date=close, verdict="blocked", last_evaluation_id=ev.id))  # fmt: skip
        s.commit()
    r = client.get("/api/v1/reports/commitments?to=2026-05-15", headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    q2 = r.json()["quarters"][-1]
    assert q2["quarter"] == "2026-Q2"
    assert [
        (f["feature_key"], f["deal_count"], f["amount"]) for f in q2["top_blocked_features"]
    ] == [("scim", 2, 2000.0)]
