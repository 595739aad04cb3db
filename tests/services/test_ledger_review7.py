"""Review round 7 of the commitment ledger."""

from __future__ import annotations

from datetime import date

from app.models import Commitment
from app.services import ledger


def _entry(**kw) -> Commitment:
    values = dict(
        crm="test", deal_id="D1", deal_name="Acme renewal", promise_key="sso", feature_key="sso",
        feature_name="SSO", promised_date=date(2026, 5, 31), owner_id="owner-7",
        flag_reason="'SSO' now targets Aug 15, 2026, after the promised May 31, 2026",
    )  # fmt: skip
    return Commitment(**{**values, **kw})


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


def test_a_deal_won_with_a_block_no_one_approved_records_what_it_promised(session, client):
    """A deal that reached won while blocked (HubSpot's warn mode, a move back HubSpot refused,
    an opportunity imported already won) promised SCIM, which will never be built, and nobody
    approved it: the ledger recorded nothing (only approved and coming-soon promises), so the
    riskiest promise of the quarter was missing from the record and from the report."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from sqlmodel import select

    from app.models import Deal, Feature
    from app.rules.model import (
        DealSnapshot,
        EvaluationResult,
        FeatureReference,
        Finding,
        Severity,
        Stage,
        VerdictStatus,
    )

    session.add(Feature(key="scim", name="SCIM", availability="never"))
    session.add(Feature(key="api", name="API", availability="available"))
    session.add(Deal(crm="hubspot", deal_id="D1"))
    session.commit()
    deal = session.exec(select(Deal)).one()
    won = Stage(id="won", label="Closed won", is_won=True, is_closed=True, probability=1.0)
    snapshot = DealSnapshot(crm="hubspot", deal_id="D1", name="Acme", stage=won,
                            amount=Decimal("42000"), currency="USD", owner_id="owner-7",
                            close_date=date(2026, 2, 10))  # fmt: skip
    result = EvaluationResult(
        status=VerdictStatus.blocked,
        findings=[
            Finding(
                rule_id="never",
                severity=Severity.block,
                feature_key="scim",
                message="SCIM will not be built",
            ),
            Finding(
                rule_id="custom-build",
                severity=Severity.block,
                feature_key=None,
                message="An off-roadmap promise",
                evidence="We'll build them a custom SAP connector.",
            ),
        ],  # fmt: skip
        references=[
            FeatureReference(
                feature_key="scim",
                feature_name="SCIM",
                source="note",
                evidence="We will have SCIM by June.",
                is_commitment=True,
                promised_date=date(2026, 6, 30),
            ),
            FeatureReference(
                feature_key="api", feature_name="API", source="line_item", evidence="API access"
            ),
        ],  # fmt: skip
    )
    ledger.on_evaluated(session, deal, snapshot, result, was_won=False)
    session.commit()
    # the available API is no promise
    entries = {c.promise_key: c for c in session.exec(select(Commitment))}
    assert set(entries) == {"scim", "rule:custom-build"}
    custom = entries["rule:custom-build"]
    assert (custom.feature_key, custom.rule_id, custom.approver, custom.evidence) == (
        None,
        "custom-build",
        None,
        "We'll build them a custom SAP connector.",
    )
    entry = entries["scim"]
    assert (entry.feature_key, entry.rule_id, entry.approver, entry.approval_id) == (
        "scim",
        "never",
        None,
        None,
    )
    assert (entry.availability_at_signing, entry.promised_date, entry.evidence) == (
        "never",
        date(2026, 6, 30),
        "We will have SCIM by June.",
    )
    # Later evaluations of the signed deal: a block that appears then (the API dropped from the
    # roadmap since) was none at signing, and is no promise signed while blocked.
    api_dropped = result.model_copy(
        update={
            "findings": [
                *result.findings,
                Finding(rule_id="never", severity=Severity.block, feature_key="api",
                        message="API will not be built"),
            ]
        }
    )  # fmt: skip
    ledger.on_evaluated(session, deal, snapshot, api_dropped, was_won=True)
    session.commit()
    assert {c.promise_key for c in session.exec(select(Commitment))} == set(entries)
    # Nor is a deal first read long after its win: it was not checked when it was signed.
    session.add(Deal(crm="hubspot", deal_id="OLD"))
    session.commit()
    old = session.exec(select(Deal).where(Deal.deal_id == "OLD")).one()
    old_snapshot = snapshot.model_copy(update={"deal_id": "OLD"})
    ledger.on_evaluated(session, old, old_snapshot, result, was_won=False, first_seen=True)
    session.commit()
    assert [c.deal_id for c in session.exec(select(Commitment))].count("OLD") == 0

    for each in entries.values():
        each.signed_at = datetime(2026, 2, 10, 12, tzinfo=UTC)
        session.add(each)
    session.commit()

    from app.security import Role, create_api_key

    _, key = create_api_key(session, name="lead", role=Role.viewer, created_by="tests")
    session.commit()
    r = client.get(
        "/api/v1/reports/commitments?from=2026-01-01&to=2026-03-31",
        headers={"Authorization": f"Bearer {key}"},
    )
    block = r.json()["quarters"][0]["commitments"]
    assert (block["count"], block["deals"], block["amount"]) == (2, 1, 42000.0)
    assert [a["approver"] for a in block["approvers"]] == ["(not approved: signed while blocked)"]


def test_a_promise_of_a_feature_never_on_the_roadmap_is_not_flagged_as_removed_from_it():
    """Approved (or won blocked) while the feature was not on the roadmap at all, the promise
    was flagged "'Offline mode' is no longer on the roadmap" at the first sweep, and the owner
    got a "promise at risk" task, though nothing had changed."""
    from app.models import Feature

    unknown = _entry(availability_at_signing="unknown", feature_name="Offline mode")
    assert ledger.slip_reason(unknown, None) is None
    # Once on the roadmap, a drop is a drop; and a feature there at signing that goes is gone.
    offline = Feature(key="offline", name="Offline mode", availability="never")
    assert ledger.slip_reason(unknown, offline) == (
        "'Offline mode' was not on the roadmap when the deal was signed and is now not going "
        "to be built"
    )
    signed_soon = _entry(availability_at_signing="coming_soon")
    assert ledger.slip_reason(signed_soon, None) == "'SSO' is no longer on the roadmap"


def test_a_long_feature_name_is_cut_at_a_word_in_the_task_subject():
    """The follow-up task's subject was cut at character 255 (and HubSpot cuts again at 250):
    the owner read half a word ("... single-tenant deploym"). It is cut at a word, marked, and
    fits both CRMs."""
    name = "Single-tenant deployment with customer managed keys " * 5  # 260 characters
    subject = ledger._task(_entry(feature_name=name.strip())).subject
    assert len(subject) <= 250 and subject.endswith("\u2026")
    kept = subject[:-1].removeprefix("Roadmap promise at risk: ")
    assert name.startswith(kept) and name[len(kept)] == " "  # a whole word before the cut
