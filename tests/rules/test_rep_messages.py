"""What the rep reads when one feature has several findings (sold on a line item and promised
in a note, promised in two notes): the counts match the features named, and each feature's
points are read together."""

from __future__ import annotations

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate
from app.rules.messages import note_text, summary_text, task_text
from app.rules.model import ApprovalGrant, LineItem, Severity, VerdictStatus

from .conftest import TODAY, make_deal


def test_problems_are_counted_per_feature_and_each_features_points_read_together(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal(
        "We told them multi-region failover is included.",
        "We promised SCIM by Q2.",
        "We also promised multi-region to their CISO.",
        line_items=[LineItem(id="l1", name="AI add-on", product_id="prod_ai")],
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    blocks = [f.feature_name for f in result.findings if f.severity == Severity.block]
    assert sorted(blocks) == ["Multi-region failover", "Multi-region failover", "SCIM provisioning"]

    summary = summary_text(result)
    assert summary.startswith(
        "Blocked by the roadmap check: 2 problems must be fixed or approved before this deal "
        "can close (Multi-region failover, SCIM provisioning)."
    )
    subject, body = task_text(result, deal)
    assert subject == "Roadmap check: Acme - Platform is blocked (2 problems to fix)"
    listed = [line for line in body.split("\n") if line.startswith("[")]
    features = [line.split("] ", 1)[1].split(" is ", 1)[0] for line in listed]
    assert features == [
        "Multi-region failover",
        "Multi-region failover",
        "SCIM provisioning",
        "AI Assistant",
    ]
    assert listed[-1].startswith("[WARNING] AI Assistant is in beta")


def test_warnings_are_counted_per_feature(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal(
        "They asked about the audit trail.",
        "Their CISO asked about the audit trail again.",
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    warnings = [f for f in result.findings if f.severity == Severity.warning]
    assert [f.feature_name for f in warnings] == ["Audit log", "Audit log"]
    subject, _body = task_text(result, deal)
    assert subject == "Roadmap check: Acme - Platform has 1 warning"


def test_a_clear_deal_mentioning_a_coming_soon_feature_tells_the_rep_what_may_be_said(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """A clear deal gets no task, so the summary is all the rep reads: it said nothing in the
    deal depended on features not ready, and never what may be said of the coming-soon one."""
    deal = make_deal("They need SCIM.")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    assert result.status == VerdictStatus.clear
    [finding] = result.findings
    assert finding.severity == Severity.info
    summary = summary_text(result)
    assert summary.startswith("Roadmap check clear")
    assert "features that are not ready" not in summary
    assert "FYI: SCIM provisioning is coming soon (target date: Jun 30, 2027" in summary
    assert "Say SCIM is planned for mid-2027" in summary
    # Nothing to mention: the plain clear status, as before.
    plain = summary_text(evaluate(make_deal("They need SSO."), catalog, default_rules, today=TODAY))
    assert plain == (
        "Roadmap check clear: nothing in this deal depends on features that are not ready "
        "(1 feature checked)."
    )


def test_the_note_of_a_clear_deal_quotes_each_fyi_finding_once(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("They need SCIM.")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    note = note_text(result, deal)
    assert note.count("Say SCIM is planned for mid-2027") == 1
    assert "[FYI] SCIM provisioning is coming soon" in note
    assert note.split("\n")[1].startswith(
        "Roadmap check clear: nothing in this deal blocks it or needs a warning"
    )


def test_how_to_lift_a_promise_says_the_promising_note_must_change(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """The task said to "correct the promise with the customer in writing"; a rep who did, and
    logged it in a new note, still had a blocked deal: the promising note is read as it stands."""
    corrected = make_deal(
        "We promised SCIM by Q2.",
        "Update: we corrected this with the customer in writing; SCIM is not promised by Q2.",
    )
    result = evaluate(corrected, catalog, default_rules, today=TODAY)
    assert result.status == VerdictStatus.blocked  # the new note lifts nothing
    _subject, body = task_text(result, corrected)
    assert "then edit or delete the note that makes it" in body
    assert "ask a product owner to approve it in roadmap-guard" in body
    assert "then edit or delete the note that makes it" in note_text(result, corrected)
    # the promising note edited: the block is lifted
    edited = make_deal("We told them SCIM is planned for mid-2027, no date promised.")
    assert evaluate(edited, catalog, default_rules, today=TODAY).status == VerdictStatus.clear


def test_the_note_lists_what_is_left_to_do_first_then_what_is_approved(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal(
        "We told them multi-region failover is included.",
        "They asked about the audit trail.",
        "We promised SCIM by Q2.",
        "We also promised multi-region to their CISO.",
        "They need a retention policy.",
    )
    grant = ApprovalGrant(id=1, feature_key="multi-region", approver="pat")
    result = evaluate(deal, catalog, default_rules, approvals=[grant], today=TODAY)
    assert [f.feature_key for f in result.findings if f.approved] == ["multi-region"] * 2
    note = note_text(result, deal)
    listed = [line for line in note.split("\n") if line.startswith("[")]
    assert [line.split("]", 1)[0] + "]" for line in listed] == [
        "[BLOCKER]",
        "[WARNING]",
        "[FYI]",
        "[APPROVED by pat]",
        "[APPROVED by pat]",
    ]
    assert len(listed) == len(result.findings)
    assert listed[0].startswith("[BLOCKER] SCIM provisioning")


def test_an_approved_deal_that_is_closed_is_not_told_it_may_close(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("They asked about multi-region.")
    grant = ApprovalGrant(id=1, feature_key="multi-region", approver="pat")
    result = evaluate(deal, catalog, default_rules, approvals=[grant], today=TODAY)
    assert summary_text(result).startswith(
        "Roadmap check: every problem on this deal is approved; it may close."
    )
    for closed in ("won", "lost"):
        summary = summary_text(result, closed)
        assert summary.startswith("Roadmap check: every problem on this deal is approved.")
        assert "may close" not in summary
        assert "Approved: Multi-region failover by pat." in summary
