"""Review round 7 of the commitment ledger."""

from __future__ import annotations

from datetime import date

from app.models import Commitment
from app.services import ledger


def _entry(**kw) -> Commitment:
    return Commitment(
        crm="test", deal_id="D1", deal_name="Acme renewal", promise_key="sso", feature_key="sso",
        feature_name="SSO", promised_date=date(2026, 5, 31), owner_id="owner-7",
        flag_reason="'SSO' now targets Aug 15, 2026, after the promised May 31, 2026", **kw,
    )  # fmt: skip


def test_a_hedged_promise_at_risk_is_not_called_a_promise_made_in_the_owners_task():
    """ "We might have SSO by May" was told to the owner as "the customer was promised 'SSO'":
    the owner talks to the customer about a promise the rep never made outright."""
    body = ledger._task(_entry(hedged=True, evidence="We might have SSO by May.")).body
    assert body.startswith(
        "When 'Acme renewal' was signed, the customer was told 'SSO' might come (May 31, 2026), "
        'a hedged promise ("We might have SSO by May"). '
    )
    assert "was promised" not in body
    firm = ledger._task(_entry(hedged=False, evidence="We promised SSO by May.")).body
    assert firm.startswith(
        "When 'Acme renewal' was signed, the customer was promised 'SSO' (May 31, 2026). 'SSO' "
        "now targets Aug 15, 2026"
    )
