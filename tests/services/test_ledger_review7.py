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


def test_an_availability_drop_is_told_to_the_owner_in_plain_words():
    """The owner's task read "'SSO' dropped from coming_soon to never after the deal was
    signed": the roadmap's codes, where every other text the rep reads says "coming soon" and
    "not going to be built"."""
    from app.models import Feature

    entry = _entry(availability_at_signing="coming_soon")
    sso = Feature(key="sso", name="SSO", availability="never")
    reason = ledger.slip_reason(entry, sso)
    assert reason == (
        "'SSO' was coming soon when the deal was signed and is now not going to be built"
    )
    entry.flag_reason = reason
    assert "coming_soon" not in ledger._task(entry).body
