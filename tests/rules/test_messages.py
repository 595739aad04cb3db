"""What the rep reads: status summary, task and note."""

from __future__ import annotations

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate
from app.rules.messages import SUMMARY_LIMIT, note_text, summary_text, task_text
from app.rules.model import ApprovalGrant, EvaluationResult, Finding, Severity, VerdictStatus

from .conftest import TODAY, make_deal


def test_blocked_deal_texts_say_what_is_wrong_what_to_say_and_how_to_lift(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("We promised SCIM by Q2.", "Do we have an audit trail?")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    summary = summary_text(result)
    assert summary.startswith("Blocked by the roadmap check: 1 problem must be fixed or approved")
    assert "SCIM provisioning" in summary and "Warnings: Audit log." in summary
    subject, body = task_text(result, deal)
    assert subject == "Roadmap check: Acme - Platform is blocked (1 problem to fix)"
    assert "[BLOCKER] SCIM provisioning is coming soon" in body
    assert "Say SCIM is planned for mid-2027" in body  # what may be said instead
    assert "[WARNING] Audit log came up with the customer" in body
    assert "ask a product owner to approve it in roadmap-guard" in body
    note = note_text(result, deal)
    assert note.startswith("Roadmap check: BLOCKED")
    assert "- SCIM provisioning (note, promised)" in note
    assert "- Audit log (note, asked about)" in note
    assert "ask a product owner to approve it in roadmap-guard" in note


def test_approved_findings_name_the_approver(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("They asked about multi-region.")
    grant = ApprovalGrant(id=1, feature_key="multi-region", approver="pat@example.com")
    result = evaluate(deal, catalog, default_rules, approvals=[grant], today=TODAY)
    summary = summary_text(result)
    assert "Approved: Multi-region failover by pat@example.com." in summary
    # Nothing is left for the rep: no "1 warning" (there is none), no "read the task first".
    assert "every problem on this deal is approved" in summary and "task" not in summary
    subject, body = task_text(result, deal)
    assert subject == "Roadmap check: Acme - Platform is approved, nothing left to do"
    assert body.startswith("Every roadmap problem on this deal is approved. Nothing left to do.")
    assert "[APPROVED by pat@example.com]" in body
    assert "approve it in roadmap-guard" not in body  # nothing left to lift
    assert "[APPROVED by pat@example.com]" in note_text(result, deal)


def test_clear_deal_texts(catalog: Catalog, default_rules: list[StoredRule]) -> None:
    deal = make_deal("They need SSO.")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    assert result.status == VerdictStatus.clear
    assert summary_text(result).startswith("Roadmap check clear")
    assert "(1 feature checked)" in summary_text(result)
    subject, body = task_text(result, deal)
    assert subject == "Roadmap check: Acme - Platform is clear"
    assert "Nothing left to do" in body


def test_summary_never_exceeds_the_crm_limit() -> None:
    findings = [
        Finding(
            rule_id=f"r{i}",
            severity=Severity.block,
            message="m",
            feature_key=f"f{i}",
            feature_name=f"A very long feature name number {i} " * 3,
        )
        for i in range(200)
    ]
    result = EvaluationResult(status=VerdictStatus.blocked, findings=findings)
    text = summary_text(result)
    assert len(text) <= SUMMARY_LIMIT and text.endswith("\u2026")


def test_a_coming_soon_feature_without_date_or_confidence_reads_plainly(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """The retention policy is coming soon with neither a target date nor a confidence: the
    message said "target date no target date (confidence unknown confidence)"."""
    result = evaluate(
        make_deal("They need a retention policy."), catalog, default_rules, today=TODAY
    )
    [finding] = result.findings
    assert finding.rule_id == "coming-soon-mentioned"
    assert finding.message.startswith(
        "Retention policy is coming soon (target date: not set, confidence: unknown). "
        "You may mention it"
    )
    result = evaluate(make_deal("They need SCIM."), catalog, default_rules, today=TODAY)
    assert result.findings[0].message.startswith(
        "SCIM provisioning is coming soon (target date: Jun 30, 2027, confidence: 70%). "
    )


def test_a_blocked_feature_is_not_named_again_among_the_warnings(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """One feature promised (block) and asked about again (warning): the summary names it once,
    as the block; another feature's warning is still named; the task keeps both findings."""
    deal = make_deal(
        "We promised the audit trail by Q1.",
        "Do we have an audit trail?",
        "Is EU data residency possible?",
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    severities = {(f.feature_name, f.severity) for f in result.findings}
    assert ("Audit log", Severity.block) in severities
    assert ("Audit log", Severity.warning) in severities
    summary = summary_text(result)
    assert "(Audit log)." in summary
    assert "Warnings: EU data residency." in summary
    _subject, body = task_text(result, deal)
    assert "[WARNING] Audit log" in body


def test_needed_before_target_offers_no_date_product_has_not_given(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """The customer needs a feature with no target date by Q1: the warning says it has none and
    asks the rep not to offer a date of their own (it said "tell them when it is planned" of a
    feature that is not planned); with a target date it quotes it."""
    result = evaluate(
        make_deal("They need a retention policy by Q1."), catalog, default_rules, today=TODAY
    )
    [message] = [f.message for f in result.findings if f.rule_id == "needed-before-target"]
    assert "(target date: not set)" in message
    assert "Do not agree to their date or offer another one; check with product first." in message
    assert "when it is planned" not in message
    result = evaluate(make_deal("They need SCIM by Q1."), catalog, default_rules, today=TODAY)
    [message] = [f.message for f in result.findings if f.rule_id == "needed-before-target"]
    assert message.startswith("The customer needs SCIM provisioning by Mar 31, 2027")
    assert "(target date: Jun 30, 2027)" in message
