"""Evaluation: default rules firing and not firing, clauses, scope, approvals, verdicts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate, verdict
from app.rules.model import ApprovalGrant, Finding, LineItem, Severity, Stage, VerdictStatus
from app.rules.schema import RuleDefinition

from .conftest import TODAY, make_deal


def rule(data: dict[str, Any], *, version: int = 1, enabled: bool = True) -> StoredRule:
    return StoredRule(
        id=data["id"],
        version=version,
        enabled=enabled,
        definition=RuleDefinition.model_validate(data),
    )


def fired(result) -> list[tuple[str, str | None]]:
    return [(f.rule_id, f.feature_key) for f in result.findings]


# (deal notes / line items, close date, rule ids (with feature) expected; status)
DEFAULT_CASES = [
    # never -> block, whatever the wording
    (["They asked about multi-region."], None, [("never-built", "multi-region")], "blocked"),
    # unknown promised -> block (+ custom-build warning)
    (
        ["We'll build them a custom connector for their ERP."],
        None,
        [("unknown-promised", None), ("custom-build", None)],
        "blocked",
    ),
    # coming soon promised after the close date -> block
    (["We promised SCIM by Q2."], date(2027, 3, 1), [("promised-past-target", "scim")], "blocked"),
    # coming soon promised for a date before its target date -> block
    (["We promised SCIM by Q1."], date(2027, 12, 1), [("promised-past-target", "scim")], "blocked"),
    # coming soon promised, target before close and before the promise -> only info
    (["We promised SCIM by Q3."], date(2027, 12, 1), [("coming-soon-mentioned", "scim")], "clear"),
    # uncertain promised (no target date) -> block
    (["Audit log is in the contract."], None, [("promised-past-target", "audit")], "blocked"),
    (["The MSA includes the audit trail."], None, [("promised-past-target", "audit")], "blocked"),
    # ... asked for in the contract, not yet promised -> the warning a mention gets
    (
        ["They want the audit trail in the MSA."],
        None,
        [("uncertain-mentioned", "audit")],
        "warning",
    ),
    # uncertain sold on a line item -> block
    (
        [LineItem(id="li", name="Compliance Pack")],
        None,
        [("promised-past-target", "audit")],
        "blocked",
    ),
    # coming soon with no target date sold as a line item -> block
    (
        [LineItem(id="li", name="Retention policy")],
        None,
        [("promised-past-target", "retention")],
        "blocked",
    ),
    # uncertain mentioned -> warning
    (["Do we have an audit trail?"], None, [("uncertain-mentioned", "audit")], "warning"),
    (["Do they need data residency?"], None, [("uncertain-mentioned", "residency")], "warning"),
    # uncertain promised or sold, target date before the close and promised dates -> still a
    # warning: not committed, so never silent
    (
        ["We promised data residency by March 2027."],
        None,
        [("uncertain-promised", "residency")],
        "warning",
    ),
    (
        ["Data residency is in the contract."],
        None,
        [("uncertain-promised", "residency")],
        "warning",
    ),
    (
        [LineItem(id="li", name="EU data residency")],
        None,
        [("uncertain-promised", "residency")],
        "warning",
    ),
    # uncertain with a target date after the close date, promised -> block
    (
        ["Data residency is in the contract."],
        date(2026, 12, 31),
        [("promised-past-target", "residency")],
        "blocked",
    ),
    # coming soon mentioned -> info, verdict stays clear
    (["They need SCIM."], None, [("coming-soon-mentioned", "scim")], "clear"),
    # needed by the customer before the target date, or with none -> warning
    (
        ["They need SCIM by Q1."],
        None,
        [("needed-before-target", "scim"), ("coming-soon-mentioned", "scim")],
        "warning",
    ),
    (
        ["They need the audit trail by Q3."],
        None,
        [("needed-before-target", "audit"), ("uncertain-mentioned", "audit")],
        "warning",
    ),
    (
        [LineItem(id="li", name="Retention policy"), "Retention policy required by March."],
        None,
        [
            ("promised-past-target", "retention"),
            ("needed-before-target", "retention"),
            ("coming-soon-mentioned", "retention"),
        ],
        "blocked",
    ),
    # needed after the target date, not needed by a date, or an available feature -> no warning
    (["They need SCIM by Q3."], None, [("coming-soon-mentioned", "scim")], "clear"),
    (
        ["They need data residency by March."],
        None,
        [("uncertain-mentioned", "residency")],
        "warning",
    ),
    (["We promised SCIM by Q3."], date(2027, 12, 1), [("coming-soon-mentioned", "scim")], "clear"),
    (["They need SSO by Q1."], None, [], "clear"),
    # beta sold (line item or promise) -> warning; beta merely mentioned -> nothing
    ([LineItem(id="li", name="AI", product_id="prod_ai")], None, [("beta-sold", "ai")], "warning"),
    (["We will have the AI assistant in the contract."], None, [("beta-sold", "ai")], "warning"),
    (["They liked the AI assistant demo."], None, [], "clear"),
    # custom build of a named feature -> warning
    (["We'll build SSO for them."], None, [("custom-build", "sso")], "warning"),
    # available features, negations -> clear
    (["They need SSO and Salesforce."], None, [], "clear"),
    (["They don't need multi-region."], None, [], "clear"),
    # told it will not come: no dependency, unless they need it all the same
    (["Explained multi-region failover is not planned."], None, [], "clear"),
    (
        ["They need multi-region, which is not on the roadmap."],
        None,
        [("never-built", "multi-region")],
        "blocked",
    ),
    # a never feature the customer only called nice to have: a warning, no block
    (
        ["Multi-region would be nice to have."],
        None,
        [("never-built-optional", "multi-region")],
        "warning",
    ),
    (["Nice to have: multi-region"], None, [("never-built-optional", "multi-region")], "warning"),
    (
        ["Requirements:\n- SSO\nNice to have:\n- Multi-region"],
        None,
        [("never-built-optional", "multi-region")],
        "warning",
    ),
    (
        ["Multi-region is optional for them."],
        None,
        [("never-built-optional", "multi-region")],
        "warning",
    ),
    # ... a plain mention, a need, a promise, a line item still block
    (["Multi-region came up."], None, [("never-built", "multi-region")], "blocked"),
    (
        ["They need multi-region; SSO would be nice."],
        None,
        [("never-built", "multi-region")],
        "blocked",
    ),
    (
        ["We promised multi-region, nice to have for them."],
        None,
        [("never-built", "multi-region")],
        "blocked",
    ),
    (
        ["Multi-region would be nice to have.", LineItem(id="li", name="Multi-region failover")],
        None,
        [("never-built", "multi-region"), ("never-built-optional", "multi-region")],
        "blocked",
    ),
    # a feature taken out of the deal no longer blocks it; one they refuse to drop still does
    (["Removed multi-region failover from the order form."], None, [], "clear"),
    (
        ["They refused to remove multi-region from the contract."],
        None,
        [("never-built", "multi-region")],
        "blocked",
    ),
]


@pytest.mark.parametrize(("inputs", "close", "expected", "status"), DEFAULT_CASES)
def test_default_rules(
    catalog: Catalog,
    default_rules: list[StoredRule],
    inputs: list,
    close: date | None,
    expected: list[tuple[str, str | None]],
    status: str,
) -> None:
    notes = [i for i in inputs if isinstance(i, str)]
    items = [i for i in inputs if isinstance(i, LineItem)]
    deal = make_deal(*notes, line_items=items, close_date=close or date(2027, 3, 1))
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    assert sorted(fired(result), key=str) == sorted(expected, key=str)
    assert result.status == status


def test_default_messages_are_plain_language_with_guidance(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("We promised SCIM by Q2 and multi-region.", "Do we have an audit trail?")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    by_rule = {f.rule_id: f for f in result.findings}
    scim = by_rule["promised-past-target"]
    assert "SCIM provisioning is coming soon (target date: Jun 30, 2027)" in scim.message
    assert "Say SCIM is planned for mid-2027" in scim.message  # the feature's guidance
    assert "We promised SCIM by Q2 and multi-region." in scim.message  # the evidence
    assert "Offer the single-region 99.9% SLA" in by_rule["never-built"].message
    # no guidance written: a safe fallback, never an empty placeholder
    assert (
        "What you can say instead: Tell the customer their request has been passed to product"
        in by_rule["uncertain-mentioned"].message
    )
    assert all("{" not in f.message for f in result.findings)


@pytest.mark.parametrize("guidance", [None, "", "  \n\t "])
def test_blank_guidance_gives_the_fallback_not_an_empty_sentence(
    default_rules: list[StoredRule], guidance: str | None
) -> None:
    from app.rules.model import Feature

    catalog = Catalog(
        [Feature(key="offline", name="Offline mode", availability="never", guidance=guidance)]
    )
    result = evaluate(make_deal("They need offline mode."), catalog, default_rules, today=TODAY)
    [finding] = [f for f in result.findings if f.rule_id == "never-built"]
    from app.rules.engine import FALLBACK_GUIDANCE_BY_AVAILABILITY

    fallback = FALLBACK_GUIDANCE_BY_AVAILABILITY["never"]
    assert finding.message.endswith(f"What you can say instead: {fallback}")


@pytest.mark.parametrize(
    ("availability", "rule_id", "line_item", "says", "not_said"),
    [
        ("beta", "beta-sold", True, "Sell it as a beta", "Do not promise it"),
        ("coming_soon", "coming-soon-mentioned", False, "Say it is on the roadmap", "Do not"),
        ("uncertain", "uncertain-mentioned", False, "Tell the customer", "Sell it"),
        # (not "you will confirm what is possible": it will not be built)
        ("never", "never-built", False, "Say it is not planned", "confirm what is possible"),
    ],
)
def test_the_fallback_of_what_to_say_fits_the_availability(
    default_rules: list[StoredRule], availability, rule_id, line_item, says, not_said
) -> None:
    """With no guidance from product, every message ended "What you can say instead: Do not
    promise it...", beside a beta's "it can only be sold as a beta" and a coming-soon
    feature's "you may mention it"."""
    from app.rules.model import Feature, LineItem, ProductMappingEntry

    catalog = Catalog(
        [Feature(key="api2", name="API v2", availability=availability)],
        [ProductMappingEntry(match_kind="sku", match_value="SKU-API2", feature_keys=["api2"])],
    )
    deal = (
        make_deal(line_items=[LineItem(id="l1", name="API v2 access", sku="SKU-API2", quantity=1)])
        if line_item
        else make_deal("They asked about API v2.")
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    [finding] = [f for f in result.findings if f.rule_id == rule_id]
    instead = finding.message.split("What you can say instead: ", 1)[1]
    assert instead.startswith(says) and not_said not in instead


def test_findings_carry_rule_version_evidence_and_the_matched_clause(catalog: Catalog) -> None:
    r = rule(
        {
            "id": "late",
            "name": "Late",
            "severity": "block",
            "when": {
                "all": [
                    {
                        "field": "feature.availability",
                        "op": "in",
                        "value": ["coming_soon", "uncertain"],
                    },
                    {"field": "reference.is_commitment", "op": "eq", "value": True},
                    {
                        "any": [
                            {"field": "feature.target_date", "op": "is_null"},
                            {
                                "field": "feature.target_date",
                                "op": "after",
                                "value": {"field": "deal.close_date", "offset_days": 30},
                            },
                        ]
                    },
                ]
            },
            "message": "{feature.name} late for {deal.name}",
        },
        version=7,
    )
    result = evaluate(make_deal("We promised SCIM by Q2."), catalog, [r], today=TODAY)
    (f,) = result.findings
    assert (f.rule_id, f.rule_version, f.rule_name, f.severity) == ("late", 7, "Late", "block")
    assert (f.feature_key, f.feature_name, f.availability) == (
        "scim",
        "SCIM provisioning",
        "coming_soon",
    )
    assert f.evidence == "We promised SCIM by Q2." and f.source == "note"
    assert f.clause == (
        "feature.availability in [coming_soon, uncertain] AND reference.is_commitment = true "
        "AND feature.target_date after deal.close_date + 30 days (2027-06-30 vs 2027-03-01)"
    )
    assert f.message == "SCIM provisioning late for Acme - Platform"


def test_offset_moves_the_comparison(catalog: Catalog) -> None:
    def late_by(days: int) -> StoredRule:
        return rule(
            {
                "id": "r",
                "name": "r",
                "severity": "warning",
                "when": {
                    "field": "feature.target_date",
                    "op": "after",
                    "value": {"field": "deal.close_date", "offset_days": days},
                },
                "message": "x",
            }
        )

    deal = make_deal("They need SCIM.", close_date=date(2027, 6, 1))  # target 2027-06-30
    assert evaluate(deal, catalog, [late_by(28)], today=TODAY).findings
    assert not evaluate(deal, catalog, [late_by(29)], today=TODAY).findings


@pytest.mark.parametrize(
    ("scope", "applies"),
    [
        ({}, True),
        ({"pipelines": ["enterprise"]}, True),
        ({"pipelines": ["smb"]}, False),
        ({"stages": ["negotiation"]}, True),
        ({"stages": ["closedwon"]}, False),
        ({"min_stage_probability": 0.5}, True),
        ({"min_stage_probability": 0.7}, False),
        ({"min_amount": 50000}, True),
        ({"min_amount": 50001}, False),
    ],
)
def test_scope_limits_which_deals_a_rule_sees(catalog: Catalog, scope: dict, applies: bool) -> None:
    r = rule(
        {
            "id": "s",
            "name": "s",
            "severity": "warning",
            "scope": scope,
            "when": {"field": "feature.key", "op": "eq", "value": "sso"},
            "message": "x",
        }
    )
    deal = make_deal("They need SSO.", pipeline="enterprise", amount=Decimal(50000))
    assert bool(evaluate(deal, catalog, [r], today=TODAY).findings) is applies


def test_scope_minimum_amount_is_in_the_company_currency_when_converted(catalog: Catalog) -> None:
    """A RevOps threshold of 50,000 is in the company currency: a JPY 5,000,000 deal worth
    33,500 USD is below it, a EUR 48,000 deal worth 52,800 USD above it. A deal its CRM did not
    convert is compared by its own amount; `deal.amount_home` is a rule field too."""
    r = rule(
        {
            "id": "s",
            "name": "s",
            "severity": "warning",
            "scope": {"min_amount": 50000},
            "when": {"field": "feature.key", "op": "eq", "value": "sso"},
            "message": "x",
        }
    )
    yen = make_deal("They need SSO.", amount=Decimal(5_000_000), currency="JPY",
                    amount_home=Decimal(33_500), home_currency="USD")  # fmt: skip
    euro = make_deal("They need SSO.", amount=Decimal(48_000), currency="EUR",
                     amount_home=Decimal(52_800), home_currency="USD")  # fmt: skip
    unconverted = make_deal("They need SSO.", amount=Decimal(60_000), currency="USD")
    assert evaluate(yen, catalog, [r], today=TODAY).findings == []
    assert evaluate(euro, catalog, [r], today=TODAY).findings
    assert evaluate(unconverted, catalog, [r], today=TODAY).findings
    big = rule(
        {
            "id": "big",
            "name": "big",
            "severity": "warning",
            "applies_to": "deal",
            "when": {"field": "deal.amount_home", "op": "gte", "value": 50000},
            "message": "{deal.amount}",
        }
    )
    assert not evaluate(yen, catalog, [big], today=TODAY).findings
    assert evaluate(euro, catalog, [big], today=TODAY).findings[0].message == "48,000 EUR"


def test_scope_with_missing_deal_values_does_not_apply(catalog: Catalog) -> None:
    r = rule(
        {
            "id": "s",
            "name": "s",
            "severity": "warning",
            "scope": {"min_amount": 1, "min_stage_probability": 0.1},
            "when": {"field": "feature.key", "op": "eq", "value": "sso"},
            "message": "x",
        }
    )
    deal = make_deal("They need SSO.", stage=Stage(id="x"))
    assert evaluate(deal, catalog, [r], today=TODAY).findings == []


def test_deal_rules_count_and_quantify_over_references(catalog: Catalog) -> None:
    r = rule(
        {
            "id": "many",
            "name": "Many promises",
            "severity": "warning",
            "applies_to": "deal",
            "when": {
                "all": [
                    {
                        "count_references": {
                            "where": {
                                "field": "reference.is_commitment",
                                "op": "eq",
                                "value": True,
                            },
                            "op": "gte",
                            "value": 2,
                        }
                    },
                    {
                        "not": {
                            "all_references": {
                                "field": "feature.availability",
                                "op": "eq",
                                "value": "available",
                            }
                        }
                    },
                ]
            },
            "message": "{matched.count} promises on {deal.name}: {matched.features}.",
        }
    )
    one = make_deal("We promised SCIM by Q3.")
    two = make_deal("We promised SCIM by Q3.", "Audit log is in the contract.")
    assert evaluate(one, catalog, [r], today=TODAY).findings == []
    (f,) = evaluate(two, catalog, [r], today=TODAY).findings
    assert f.feature_key is None
    assert f.message == "2 promises on Acme - Platform: SCIM provisioning, Audit log."
    assert f.clause.startswith(
        "number of references where (reference.is_commitment = true) >= 2 (found 2)"
    )


def test_approval_lifts_a_block_and_names_the_approver(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("They asked about multi-region.")
    grant = ApprovalGrant(id=5, feature_key="multi-region", approver="pat@example.com")
    result = evaluate(deal, catalog, default_rules, approvals=[grant], today=TODAY)
    (f,) = result.findings
    assert f.approved and f.approved_by == "pat@example.com" and f.approval_id == 5
    assert result.status == VerdictStatus.warning  # an approved block still warns
    assert result.blocking == []


@pytest.mark.parametrize(
    ("grant", "lifted"),
    [
        (ApprovalGrant(id=1, feature_key="scim", approver="a"), True),
        (
            ApprovalGrant(id=1, feature_key="scim", rule_id="promised-past-target", approver="a"),
            True,
        ),
        (ApprovalGrant(id=1, feature_key="scim", rule_id="never-built", approver="a"), False),
        (ApprovalGrant(id=1, feature_key="audit", approver="a"), False),
        # approved for a promise by Q2; the note promises Q2: covered
        (
            ApprovalGrant(id=1, feature_key="scim", approver="a", promised_date=date(2027, 6, 30)),
            True,
        ),
        # approved for a promise by Q1 only: a later promise is not covered
        (
            ApprovalGrant(id=1, feature_key="scim", approver="a", promised_date=date(2027, 3, 31)),
            False,
        ),
        # approved for Q3: the note promises Q2, an earlier date nobody approved (it was
        # covered: the deal could close on a riskier promise than the one approved)
        (
            ApprovalGrant(id=1, feature_key="scim", approver="a", promised_date=date(2027, 9, 30)),
            False,
        ),
    ],
)
def test_approval_matching(
    catalog: Catalog, default_rules: list[StoredRule], grant: ApprovalGrant, lifted: bool
) -> None:
    deal = make_deal("We promised SCIM by Q2.")
    result = evaluate(deal, catalog, default_rules, approvals=[grant], today=TODAY)
    (f,) = [f for f in result.findings if f.rule_id == "promised-past-target"]
    assert f.approved is lifted
    assert result.status == (VerdictStatus.warning if lifted else VerdictStatus.blocked)


def test_disabled_rules_are_skipped(catalog: Catalog, default_rules: list[StoredRule]) -> None:
    deal = make_deal("They asked about multi-region.")
    off = [
        StoredRule(id=r.id, version=r.version, enabled=False, definition=r.definition)
        for r in default_rules
    ]
    assert evaluate(deal, catalog, off, today=TODAY).status == VerdictStatus.clear
    data = {
        "id": "n",
        "name": "n",
        "enabled": False,
        "severity": "block",
        "when": {"field": "feature.availability", "op": "eq", "value": "never"},
        "message": "x",
    }
    assert evaluate(deal, catalog, [rule(data)], today=TODAY).findings == []


def test_findings_are_ordered_by_severity_then_evidence_then_rule(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal(
        "They need SCIM. Do we have an audit trail? They asked about multi-region.",
        line_items=[LineItem(id="li", name="AI", product_id="prod_ai")],
    )
    result = evaluate(deal, catalog, list(reversed(default_rules)), today=TODAY)
    assert [f.severity for f in result.findings] == sorted(
        (f.severity for f in result.findings),
        key=lambda s: {"block": 0, "warning": 1, "info": 2}[s],
    )
    assert fired(result) == [
        ("never-built", "multi-region"),
        ("beta-sold", "ai"),
        ("uncertain-mentioned", "audit"),
        ("coming-soon-mentioned", "scim"),
    ]
    again = evaluate(deal, catalog, default_rules, today=TODAY)
    assert again.model_dump() == result.model_dump()


def test_precomputed_references_are_used_as_given(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("They asked about multi-region.")
    assert evaluate(deal, catalog, default_rules, today=TODAY, references=[]).status == "clear"


def test_comparisons_with_missing_values_are_false(catalog: Catalog) -> None:
    rules = [
        rule({"id": f"r{i}", "name": "r", "severity": "block", "when": when, "message": "x"})
        for i, when in enumerate(
            [
                {"field": "deal.amount", "op": "lt", "value": 10},
                {"field": "deal.close_date", "op": "before", "value": "2030-01-01"},
                {"field": "feature.target_date", "op": "ne", "value": "2030-01-01"},
                {
                    "field": "reference.promised_date",
                    "op": "after",
                    "value": {"field": "deal.close_date"},
                },
                {"field": "deal.stage.probability", "op": "not_in", "value": [0.5]},
            ]
        )
    ]
    deal = make_deal("They need SSO.", close_date=None, stage=Stage(id="x"))
    assert evaluate(deal, catalog, rules, today=TODAY).findings == []
    null_rule = rule(
        {
            "id": "n",
            "name": "n",
            "severity": "info",
            "when": {"field": "deal.amount", "op": "is_null"},
            "message": "x",
        }
    )
    assert len(evaluate(deal, catalog, [null_rule], today=TODAY).findings) == 1


def test_today_field_compares_with_deal_dates(catalog: Catalog) -> None:
    r = rule(
        {
            "id": "overdue",
            "name": "Close date passed",
            "severity": "warning",
            "applies_to": "deal",
            "when": {"field": "deal.close_date", "op": "before", "value": {"field": "today"}},
            "message": "{deal.name} was due {deal.close_date}",
        }
    )
    deal = make_deal(close_date=date(2026, 11, 1))
    (f,) = evaluate(deal, catalog, [r], today=TODAY).findings
    assert f.message == "Acme - Platform was due Nov 1, 2026"
    assert evaluate(deal, catalog, [r], today=date(2026, 10, 1)).findings == []


@pytest.mark.parametrize(
    ("severities", "approved", "status"),
    [
        ([], [], "clear"),
        (["info"], [False], "clear"),
        (["info", "warning"], [False, False], "warning"),
        (["block"], [True], "warning"),
        (["block", "block"], [True, False], "blocked"),
        (["warning", "block"], [False, False], "blocked"),
    ],
)
def test_verdict_is_the_highest_unapproved_severity(
    severities: list[str], approved: list[bool], status: str
) -> None:
    findings = [
        Finding(rule_id="r", severity=Severity(s), message="m", approved=a)
        for s, a in zip(severities, approved, strict=True)
    ]
    assert verdict(findings) == status


def test_every_placeholder_renders_for_a_roadmap_feature_and_for_an_unknown_one(
    catalog: Catalog,
) -> None:
    placeholders = [
        "feature.name",
        "feature.key",
        "feature.availability",
        "feature.target_date",
        "feature.confidence",
        "feature.guidance",
        "feature.url",
        "reference.evidence",
        "reference.source",
        "reference.promised_date",
        "reference.needed_by",
        "reference.matched_text",
        "deal.name",
        "deal.close_date",
        "deal.amount",
        "deal.stage",
        "deal.pipeline",
        "deal.owner_name",
        "rule.name",
    ]
    r = rule(
        {
            "id": "all",
            "name": "Every placeholder",
            "severity": "info",
            "when": {"field": "reference.is_commitment", "op": "eq", "value": True},
            "message": " | ".join("{" + p + "}" for p in placeholders),
        }
    )
    deal = make_deal(
        "We promised SCIM by Q2. We'll build them a custom connector for their ERP.",
        amount=Decimal("125000.4"),
        currency="EUR",
    )
    scim, custom = evaluate(deal, catalog, [r], today=TODAY).findings
    assert scim.message.split(" | ") == [
        "SCIM provisioning",
        "scim",
        "coming soon",
        "Jun 30, 2027",
        "70%",
        "Say SCIM is planned for mid-2027; offer the CSV user import today.",
        "",
        "We promised SCIM by Q2.",
        "a note",
        "Jun 30, 2027",
        "no stated date",
        "SCIM",
        "Acme - Platform",
        "Mar 1, 2027",
        "125,000 EUR",
        "negotiation",
        "",
        "the deal owner",
        "Every placeholder",
    ]
    assert custom.message.split(" | ")[:12] == [
        "custom connector",
        "(not on the roadmap)",
        "not on the roadmap",
        "not set",
        "unknown",
        "Tell the customer their request has been passed to product and that you will confirm "
        "what is possible before they sign; do not promise it.",
        "",
        "We'll build them a custom connector for their ERP.",
        "a note",
        "no stated date",
        "no stated date",
        "custom connector",
    ]


def test_rules_can_use_the_customers_needed_by_date(catalog: Catalog) -> None:
    r = rule(
        {
            "id": "needed-before-close",
            "name": "Needed before the close",
            "severity": "warning",
            "when": {
                "field": "reference.needed_by",
                "op": "before",
                "value": {"field": "deal.close_date"},
            },
            "message": "{feature.name} is needed by {reference.needed_by}.",
        }
    )
    close = date(2027, 6, 1)
    (f,) = evaluate(
        make_deal("They need SCIM by Q1.", close_date=close), catalog, [r], today=TODAY
    ).findings
    assert f.message == "SCIM provisioning is needed by Mar 31, 2027."
    for body in ("They need SCIM by Q3.", "We promised SCIM by Q1.", "They need SCIM."):
        deal = make_deal(body, close_date=close)
        assert evaluate(deal, catalog, [r], today=TODAY).findings == [], body


def test_message_text_is_data_not_code(catalog: Catalog) -> None:
    # Messages are compiled into Python: quotes and backslashes in the text come out as written.
    text = "He said \"{feature.key}\" \\n 'x' %s \\"
    r = rule(
        {
            "id": "quoted",
            "name": "Quotes",
            "severity": "info",
            "when": {"field": "reference.is_commitment", "op": "eq", "value": True},
            "message": text,
        }
    )
    (f,) = evaluate(make_deal("We promised SCIM by Q2."), catalog, [r], today=TODAY).findings
    assert f.message == "He said \"scim\" \\n 'x' %s \\"


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("We promised SCIM by Q2.", 'Said: "We promised SCIM by Q2." Then'),
        ("Did we promise SCIM by Q2?", 'Said: "Did we promise SCIM by Q2?" Then'),
        ("We promised SCIM by Q2", 'Said: "We promised SCIM by Q2". Then'),
    ],
)
def test_a_quoted_sentence_keeps_its_own_full_stop(catalog: Catalog, note, message) -> None:
    """'...by Q2.". Then' read as a typo in every message quoting a note: the quoted
    sentence's stop stands, the template's after the quote is dropped."""
    r = rule(
        {
            "id": "quoting",
            "name": "Quoting",
            "severity": "info",
            "when": {"field": "feature.key", "op": "eq", "value": "scim"},
            "message": 'Said: "{reference.evidence}". Then',
        }
    )
    (f,) = evaluate(make_deal(note), catalog, [r], today=TODAY).findings
    assert f.message == message


def test_a_rule_can_treat_hedged_promises_apart(catalog: Catalog) -> None:
    """RevOps may keep the block for firm promises and only warn on hedged ones."""
    firm = rule(
        {
            "id": "firm",
            "name": "Firm promise",
            "severity": "block",
            "when": {
                "all": [
                    {"field": "reference.is_commitment", "op": "eq", "value": True},
                    {"field": "reference.hedged", "op": "eq", "value": False},
                ]
            },
            "message": "{feature.name} promised",
        }
    )
    hedged = rule(
        {
            "id": "hedged",
            "name": "Hedged promise",
            "severity": "warning",
            "when": {"field": "reference.hedged", "op": "eq", "value": True},
            "message": "{feature.name} hinted",
        }
    )
    said = {
        "We will have SCIM by Q2.": ("blocked", ["firm"]),
        "We might have SCIM by Q2.": ("warning", ["hedged"]),
    }
    for body, (status, fired) in said.items():
        result = evaluate(make_deal(body), catalog, [firm, hedged], today=TODAY)
        assert (result.status, [f.rule_id for f in result.findings]) == (status, fired), body


def test_the_nice_to_have_warning_tells_the_rep_not_to_promise_it(
    catalog: Catalog, default_rules: list[StoredRule]
) -> None:
    deal = make_deal("Multi-region would be nice to have.")
    [finding] = evaluate(deal, catalog, default_rules, today=TODAY).findings
    assert finding.message == (
        "Multi-region failover is not going to be built. The customer called it nice to have "
        '(a note: "Multi-region would be nice to have."): do not promise it or suggest it is '
        "coming. What you can say instead: Offer the single-region 99.9% SLA with daily backups."
    )


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{{literal}} {feature.name}", "{literal} SCIM provisioning"),
        ("Price in {{EUR}}: {deal.name}", "Price in {EUR}: Acme - Platform"),
        ("{{{feature.name}}}", "{SCIM provisioning}"),
        ("{{feature.name}}", "{feature.name}"),
        ("a }} b {{", "a } b {"),
        ("{ feature.name } ok", "SCIM provisioning ok"),
    ],
)
def test_double_braces_are_a_brace_of_their_own(
    catalog: Catalog, template: str, shown: str
) -> None:
    """As in Python's str.format: '{{' and '}}' show one brace. A message could not hold a
    brace at all: '{{literal}}' was refused as an unknown placeholder and unbalanced."""
    r = rule(
        {
            "id": "braces",
            "name": "Braces",
            "severity": "info",
            "when": {"field": "feature.key", "op": "eq", "value": "scim"},
            "message": template,
        }
    )
    (finding,) = evaluate(make_deal("We promised SCIM by Q2."), catalog, [r], today=TODAY).findings
    assert finding.message == shown


@pytest.mark.parametrize(
    ("body", "rules_fired"),
    [
        # The roadmap's own plan relayed, hedged, at its target date (June 30) or later: said
        # as product says it may be, so it is only mentioned (it blocked, and the message told
        # the rep to say what they had said).
        ("We told them SCIM is planned for Q2 2027.", {"coming-soon-mentioned"}),
        ("We told them SCIM is planned for Q3 2027.", {"coming-soon-mentioned"}),
        ("SCIM is targeted for end of June 2027.", {"coming-soon-mentioned"}),
        # Hedged but earlier than the plan, or firm: still a promise that blocks.
        ("We might have SCIM by Q1.", {"promised-past-target"}),
        ("We promised SCIM by Q3 2027.", {"promised-past-target"}),
        # An uncertain feature has no plan to relay, however hedged.
        ("We told them data residency is planned for Q3 2027.", {"uncertain-promised"}),
    ],
)
def test_a_relayed_plan_of_a_coming_soon_feature_is_mentioned_not_promised(
    catalog: Catalog, default_rules: list[StoredRule], body: str, rules_fired: set[str]
) -> None:
    result = evaluate(make_deal(body), catalog, default_rules, today=TODAY)
    assert {f.rule_id for f in result.findings} == rules_fired
