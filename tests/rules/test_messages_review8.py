"""What the rep reads, review 8: texts cut to the CRM's field fit at a word and keep what
matters (whole FYIs on a clear deal, the state in a task subject)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate
from app.rules.messages import SUMMARY_LIMIT, note_text, summary_text, task_text
from app.rules.model import (
    EvaluationResult,
    Feature,
    Finding,
    LineItem,
    Severity,
    VerdictStatus,
)
from app.rules.schema import RuleDefinition

from .conftest import FEATURES, MAPPINGS, TODAY, make_deal

_MORE_COMING = [
    Feature(
        key="workflows",
        name="Workflow builder",
        availability="coming_soon",
        target_date=date(2027, 3, 31),
        confidence=0.8,
        guidance=(
            "Say the workflow builder is planned for spring 2027 and offer the Zapier "
            "integration meanwhile, which covers most of what customers build with it."
        ),
    ),
    Feature(
        key="mobile",
        name="Mobile app",
        availability="coming_soon",
        target_date=date(2027, 9, 30),
        confidence=0.5,
        guidance=(
            "Say a mobile app is planned for the second half of 2027; the responsive web app "
            "works on phones today and supports notifications."
        ),
    ),
]


def test_a_clear_deals_fyis_are_quoted_whole_and_those_that_do_not_fit_are_named(
    default_rules: list[StoredRule],
) -> None:
    """A clear deal has no task: its summary is where the rep reads what may be said. Three
    coming-soon features' FYIs were cut at 1,000 characters inside the third one's guidance
    ("... the responsive…"), and nothing said which feature's advice was missing."""
    catalog = Catalog(FEATURES + _MORE_COMING, MAPPINGS)
    deal = make_deal("They asked about SCIM, the workflow builder and the mobile app.")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    assert result.status == VerdictStatus.clear
    infos = {f.feature_name: f.message for f in result.findings}
    assert set(infos) == {"SCIM provisioning", "Workflow builder", "Mobile app"}

    summary = summary_text(result)
    assert len(summary) <= SUMMARY_LIMIT
    assert "\u2026" not in summary
    assert infos["SCIM provisioning"] in summary
    assert infos["Workflow builder"] in summary
    assert "responsive" not in summary  # no half of the third FYI
    assert summary.endswith("More FYI (Mobile app): see this deal in roadmap-guard.")


def test_a_cut_summary_ends_at_a_whole_word() -> None:
    names = [f"Feature {i} with a rather descriptive roadmap name" for i in range(60)]
    findings = [
        Finding(
            rule_id="never-built",
            severity=Severity.block,
            message="m",
            feature_key=f"f{i}",
            feature_name=name,
        )
        for i, name in enumerate(names)
    ]
    text = summary_text(EvaluationResult(status=VerdictStatus.blocked, findings=findings))
    assert len(text) <= SUMMARY_LIMIT and text.endswith("\u2026")
    words = set(" ".join(names).replace(",", " ").split())
    last = text[:-1].split()[-1].rstrip(",")
    assert last in words, last  # "descrip…" read as a word of its own


def test_a_long_deal_name_is_shortened_in_the_task_subject_not_the_state(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """HubSpot takes deal names of thousands of characters; the subject is cut at 250. Cut at
    the end, the rep's task list read "Roadmap check: <the name, cut>", never "is blocked"."""
    name = "Acme Corporation International - " + "Global platform renewal and expansion " * 8
    deal = make_deal("We promised multi-region failover.", name=name.strip())
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    subject, _body = task_text(result, deal)
    assert len(subject) <= 250
    assert subject.startswith("Roadmap check: Acme Corporation International - Global platform")
    assert subject.endswith("\u2026 is blocked (1 problem to fix)")
    assert subject.split("\u2026")[0].endswith(
        ("renewal", "and", "expansion", "Global", "platform")
    )


def test_fyis_whose_guidance_has_no_full_stop_do_not_run_into_each_other(
    default_rules: list[StoredRule],
) -> None:
    """Guidance as product types it in a roadmap tool often has no full stop: the summary read
    "... What you can say instead: Offer the CSV import Workflow builder is coming soon"."""
    features = [
        Feature(
            key="scim",
            name="SCIM provisioning",
            aliases=["SCIM"],
            availability="coming_soon",
            target_date=date(2027, 6, 30),
            guidance="Offer the CSV import",
        ),
        Feature(
            key="workflows",
            name="Workflow builder",
            availability="coming_soon",
            target_date=date(2027, 3, 31),
            guidance='Say it is "planned for spring"',
        ),
    ]
    deal = make_deal("They asked about SCIM and the workflow builder.")
    result = evaluate(deal, Catalog(features), default_rules, today=TODAY)
    summary = summary_text(result)
    assert "What you can say instead: Offer the CSV import. Workflow builder is coming" in summary
    assert summary.endswith('What you can say instead: Say it is "planned for spring".')


def test_a_revops_fyi_on_a_feature_does_not_hide_the_default_packs(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """The summary kept one FYI per feature: a RevOps info rule about coming-soon features
    and the default pack's `coming-soon-mentioned` on the same feature showed only one of the
    two (the later rule's), and the rep never read what may be said."""
    low_confidence = RuleDefinition.model_validate(
        {
            "id": "low-confidence",
            "name": "Low confidence",
            "severity": "info",
            "when": {"field": "feature.confidence", "op": "lt", "value": 0.8},
            "message": "{feature.name} is only {feature.confidence} likely to ship on time.",
        }
    )
    rules = [*default_rules, StoredRule("low-confidence", 1, True, low_confidence)]
    deal = make_deal("They asked about SCIM.", "Their CTO asked about SCIM again.")
    result = evaluate(deal, catalog, rules, today=TODAY)
    assert result.status == VerdictStatus.clear
    summary = summary_text(result)
    assert "SCIM provisioning is only 70% likely to ship on time." in summary
    assert "Say SCIM is planned for mid-2027; offer the CSV user import today." in summary
    assert summary.count("SCIM provisioning is coming soon") == 1  # two notes, one FYI


def test_a_name_cut_without_a_space_keeps_each_letter_whole(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """A name of one long word (an id pasted as the deal name) is cut where it must be, but
    not between a letter and its accent (decomposed, as macOS writes text)."""
    name = "Acme-ID-" + "Re\u0301sume\u0301-" * 60  # "Résumé-", combining accents, no space
    deal = make_deal("We promised multi-region failover.", name=name)
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    subject, _body = task_text(result, deal)
    assert len(subject) <= 250 and subject.endswith("\u2026 is blocked (1 problem to fix)")
    cut = subject.removeprefix("Roadmap check: ").split("\u2026")[0]
    assert name.startswith(cut)
    assert name[len(cut)] != "\u0301"  # the next letter is not its accent, left behind


def test_a_deal_without_its_own_currency_shows_its_amount_in_the_company_currency(
    catalog: Catalog,
) -> None:
    """HubSpot leaves `deal_currency_code` empty on a deal in the company currency (every
    deal of a single-currency portal): "{deal.amount}" read "125,000", no currency."""
    rule = RuleDefinition.model_validate(
        {
            "id": "beta-amount",
            "name": "Beta on a large deal",
            "severity": "warning",
            "when": {"field": "feature.availability", "op": "eq", "value": "beta"},
            "message": "{feature.name} is in beta and this deal is worth {deal.amount}.",
        }
    )
    deal = make_deal(
        "We promised the AI assistant.",
        amount=Decimal("125000"),
        amount_home=Decimal("125000"),
        home_currency="USD",
    )
    rules = [StoredRule("beta-amount", 1, True, rule)]
    (finding,) = evaluate(deal, catalog, rules, today=TODAY).findings
    assert finding.message == "AI Assistant is in beta and this deal is worth 125,000 USD."


def test_the_task_of_a_blocked_deal_says_what_may_be_said_of_a_coming_soon_feature(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """The FYI of a coming-soon feature ("do not promise a date earlier than its target
    date", the guidance) was in the summary of a clear deal only: blocked over another
    feature, the deal's summary names the block and the task left the FYI out, so the rep
    never read what they may say about SCIM."""
    deal = make_deal(
        "We promised multi-region failover.",
        "They asked about SCIM.",
        "Their CTO asked about SCIM again.",
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    assert result.status == VerdictStatus.blocked
    _subject, body = task_text(result, deal)
    lines = body.split("\n")
    fyi = lines.index("For your information:")
    assert lines[fyi - 2].startswith("[BLOCKER] Multi-region failover")
    assert [line for line in lines if line.startswith("[FYI]")] == [  # once, not per note
        lines[fyi + 1]
    ]
    assert lines[fyi + 1].startswith("[FYI] SCIM provisioning is coming soon")
    assert lines[fyi + 1].endswith(
        "Say SCIM is planned for mid-2027; offer the CSV user import today."
    )
    assert body.index("For your information:") < body.index("To lift a block")
    # Nothing left to do: the task is done, and says nothing more.
    _subject, body = task_text(result, deal, "lost")
    assert "For your information" not in body


def test_the_note_lists_every_way_the_deal_names_a_feature(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    """The note's list kept only the first reference of each feature: a deal blocked by a
    note promising SCIM was recorded as "- SCIM provisioning (note, asked about)" (an
    earlier question), and the audit log sold and promised as "(line item)"."""
    deal = make_deal(
        "Do you support SCIM?",
        "We promised SCIM by March 2027.",
        "We promised them the audit trail by Q1.",
        line_items=[LineItem(id="l1", name="Compliance Pack")],
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    assert result.status == VerdictStatus.blocked
    listed = note_text(result, deal).split("Features this deal depends on:\n", 1)[1]
    assert listed.split("\n")[:2] == [
        "- Audit log (line item; note, promised)",
        "- SCIM provisioning (note, asked about, promised)",
    ]
