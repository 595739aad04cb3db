"""Review round 7 of rules as data: what a rule says is what it does, and what the rep reads
is plain English."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.rules.engine import StoredRule, _compile, deal_values, evaluate, reference_values
from app.rules.model import LineItem
from app.rules.schema import RuleDefinition
from tests.rules.conftest import TODAY, make_deal

DOC = (Path(__file__).resolve().parents[2] / "docs" / "roadmap.md").read_text()

NOT_AVAILABLE = ["beta", "coming_soon", "uncertain", "never", "unknown"]


def _rule(when: dict, message: str = "{matched.count}", **extra) -> StoredRule:
    definition = RuleDefinition.model_validate(
        {
            "name": "Many",
            "severity": "warning",
            "applies_to": "deal",
            "when": when,
            "message": message,
            **extra,
        }  # fmt: skip
    )
    return StoredRule(id="many", version=1, enabled=True, definition=definition)


def _two_features_in_five_places():
    """SCIM on a line item and in three notes, the audit log in one: five references, two
    features."""
    return make_deal(
        "The customer wants SCIM.",
        "We discussed SCIM again and the audit trail.",
        "SCIM is key for them.",
        line_items=[LineItem(id="l1", name="SCIM provisioning")],
    )


def _count(distinct: bool | None, value: int = 3) -> dict:
    count = {
        "where": {"field": "feature.availability", "op": "in", "value": NOT_AVAILABLE},
        "op": "gte",
        "value": value,
    }
    if distinct is not None:
        count["distinct_features"] = distinct
    return {"count_references": count}


def test_distinct_features_counts_features_not_the_places_they_are_named(catalog):
    deal = _two_features_in_five_places()
    refs = evaluate(deal, catalog, [], today=TODAY).references
    assert len(refs) == 5 and len({r.feature_key for r in refs}) == 2
    # three or more features: two features named in five places do not make three
    assert evaluate(deal, catalog, [_rule(_count(True))], today=TODAY).findings == []
    (finding,) = evaluate(deal, catalog, [_rule(_count(True, 2))], today=TODAY).findings
    assert finding.clause.startswith("number of features where")
    assert finding.clause.endswith(">= 2 (found 2)")
    # without it, references are counted, as before
    assert len(evaluate(deal, catalog, [_rule(_count(None))], today=TODAY).findings) == 1


@pytest.mark.parametrize("value, holds", [(2, True), (3, False)])
def test_distinct_features_in_the_closures_as_in_the_generated_code(catalog, value, holds):
    """The engine's two ways of evaluating a condition (the generated function, and the
    closures used past its depth) count alike."""
    deal = _two_features_in_five_places()
    result = evaluate(deal, catalog, [], today=TODAY)
    values = deal_values(deal, TODAY)
    values["__references__"] = [
        reference_values(r, catalog.get(r.feature_key)) for r in result.references
    ]
    rule = _rule(_count(True, value))
    predicate, explain = _compile(rule.definition.when)
    assert predicate(None, values) is holds
    assert rule.compiled.predicate(None, values) is holds
    assert explain(None, values).endswith("(found 2)")


def test_an_off_roadmap_promise_counts_as_the_feature_it_names(catalog):
    deal = make_deal(
        "We promised Warp drive by March.", "We promised Warp drive by May.", "And the AI."
    )
    rule = _rule(
        {"count_references": {"op": "eq", "value": 2, "distinct_features": True}},
        "{matched.feature_count} features: {matched.features}",
    )
    (finding,) = evaluate(deal, catalog, [rule], today=TODAY).findings
    assert finding.message == "2 features: Warp drive, AI Assistant"


def test_matched_feature_count_says_how_many_features_the_list_names(catalog):
    rule = _rule(
        _count(None),
        "{deal.name} depends on {matched.feature_count} features that are not available yet "
        "({matched.count} references): {matched.features}.",
    )
    (finding,) = evaluate(_two_features_in_five_places(), catalog, [rule], today=TODAY).findings
    assert finding.message == (
        "Acme - Platform depends on 2 features that are not available yet (5 references): "
        "SCIM provisioning, Audit log."
    )


def test_a_count_rule_written_before_distinct_features_is_stored_as_it_was_written():
    """No new key in the stored definition of an older count rule: it would make every PUT of
    the same body a new version, and a retried create of it not identical."""
    raw = {
        "name": "Many",
        "severity": "warning",
        "applies_to": "deal",
        "when": {"count_references": {"op": "gte", "value": 3}},
        "message": "{matched.count}",
    }
    dumped = RuleDefinition.model_validate(raw).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )
    assert dumped["when"] == {"count_references": {"op": "gte", "value": 3}}


def test_distinct_features_is_a_boolean():
    with pytest.raises(ValueError, match="distinct_features"):
        RuleDefinition.model_validate(
            {
                "name": "Many",
                "severity": "warning",
                "applies_to": "deal",
                "when": {"count_references": {"op": "gte", "value": 3, "distinct_features": 1}},
                "message": "m",
            }
        )


def _doc_count_example() -> dict:
    section = DOC.split("### Rule definitions (JSON)", 1)[1]
    blocks = re.findall(r"^```json\n(.*?)^```$", section, flags=re.M | re.S)
    (rule,) = [json.loads(b) for b in blocks if "count_references" in b]
    return rule


def test_the_docs_three_or_more_features_example_means_three_features(catalog):
    """docs/roadmap.md's example "warn when a deal depends on three or more features that are
    not available yet" warned on a deal naming two of them in five places, and told the rep
    it "depends on 5 features"."""
    raw = _doc_count_example()
    rule = StoredRule(
        id=raw["id"], version=1, enabled=True, definition=RuleDefinition.model_validate(raw)
    )
    assert evaluate(_two_features_in_five_places(), catalog, [rule], today=TODAY).findings == []
    three = make_deal(
        "The customer wants SCIM.",
        "We discussed SCIM again and the audit trail.",
        "And the AI assistant.",
        line_items=[LineItem(id="l1", name="SCIM provisioning")],
    )
    (finding,) = evaluate(three, catalog, [rule], today=TODAY).findings
    assert finding.message.startswith(
        "Acme - Platform depends on 3 features that are not available yet: "
        "SCIM provisioning, Audit log, AI Assistant."
    )


def test_a_date_not_set_reads_as_plain_english_in_the_default_pack(catalog, default_rules):
    """A coming-soon feature without a target date sold on a deal without a close date: the rep
    read "(target date: no target date)" and "the deal closes no close date"."""
    deal = make_deal(line_items=[LineItem(id="l1", name="Retention policy")], close_date=None)
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    [message] = [f.message for f in result.findings if f.rule_id == "promised-past-target"]
    assert message.startswith(
        "Retention policy is coming soon (target date: not set), but this deal sells or promises "
        'it (promised date: no stated date; close date: not set; a line item: "Retention '
        'policy"). It may not be ready in time, so it cannot be promised.'
    )
    dated = make_deal(line_items=[LineItem(id="l1", name="Retention policy")])
    [message] = [
        f.message
        for f in evaluate(dated, catalog, default_rules, today=TODAY).findings
        if f.rule_id == "promised-past-target"
    ]
    assert "close date: Mar 1, 2027;" in message


def test_what_the_rep_can_say_when_product_wrote_no_guidance_is_something_to_say(
    catalog, default_rules
):
    """ "What you can say instead: Do not promise it." gave the rep nothing to say: the
    fallback of an uncertain, never-built or off-roadmap feature opens with what to say."""
    deal = make_deal("Do we have an audit trail?", "We promised Warp drive by March.")
    result = evaluate(deal, catalog, default_rules, today=TODAY)
    by_rule = {f.rule_id: f.message for f in result.findings}
    for rule_id in ("uncertain-mentioned", "unknown-promised"):
        instead = by_rule[rule_id].split("What you can say instead: ", 1)[1]
        assert instead == (
            "Tell the customer their request has been passed to product and that you will "
            "confirm what is possible before they sign; do not promise it."
        )


def test_every_approved_off_roadmap_promise_is_named_in_the_summary(catalog, default_rules):
    """Two off-roadmap promises (no feature key) approved by one person: the CRM status said
    "Approved: time machine by pat." and left Warp drive out."""
    from app.rules.messages import summary_text
    from app.rules.model import ApprovalGrant

    deal = make_deal("We promised Warp drive by March.", "We promised a time machine by May.")
    refs = evaluate(deal, catalog, default_rules, today=TODAY).references
    assert [r.feature_key for r in refs] == [None, None]
    grant = ApprovalGrant(
        id=1,
        feature_key=None,
        rule_id="unknown-promised",
        approver="pat",
        rule_ids=["unknown-promised"],
        evidence=[r.evidence for r in refs],
    )
    result = evaluate(deal, catalog, default_rules, today=TODAY, approvals=[grant])
    assert summary_text(result).endswith("Approved: Warp drive by pat; time machine by pat.")


@pytest.mark.parametrize(
    "when, features",
    [
        # "not every feature is available": the ones that are not
        (
            {
                "not": {
                    "all_references": {
                        "field": "feature.availability",
                        "op": "eq",
                        "value": "available",
                    }
                }
            },
            "SCIM provisioning, Audit log",
        ),
        # "no feature is never-built": every reference is one that is not
        (
            {
                "not": {
                    "any_reference": {"field": "feature.availability", "op": "eq", "value": "never"}
                }
            },
            "Single Sign-On, SCIM provisioning, Audit log",
        ),
        # two `not`s cancel out
        (
            {
                "not": {
                    "not": {
                        "any_reference": {
                            "field": "feature.availability",
                            "op": "eq",
                            "value": "available",
                        }
                    }
                }
            },
            "Single Sign-On",
        ),
        # a count names what it counts, under a `not` too
        (
            {
                "not": {
                    "count_references": {
                        "where": {
                            "field": "feature.availability",
                            "op": "eq",
                            "value": "available",
                        },
                        "op": "gte",
                        "value": 2,
                    }
                }
            },
            "Single Sign-On",
        ),
    ],
)
def test_matched_features_under_a_not_are_the_references_it_holds_for(catalog, when, features):
    """`not all_references available`, "Not every feature is available: {matched.features}",
    named the one feature that is available (Single Sign-On), not the two that are not."""
    deal = make_deal("They need SSO, SCIM and an audit trail.")
    rule = _rule(when, "{matched.count}: {matched.features}")
    (finding,) = evaluate(deal, catalog, [rule], today=TODAY).findings
    assert finding.message == f"{len(features.split(', '))}: {features}"


@pytest.mark.parametrize("closed", ["won", "lost"])
def test_a_closed_deal_with_a_coming_soon_feature_is_not_said_to_depend_on_nothing_unready(
    catalog, default_rules, closed
):
    """A signed deal that mentioned a coming-soon feature (an FYI finding only): its CRM status
    said "nothing in this deal depends on features that are not ready"."""
    from app.rules.messages import summary_text

    result = evaluate(make_deal("They need SCIM."), catalog, default_rules, today=TODAY)
    assert [f.rule_id for f in result.findings] == ["coming-soon-mentioned"]
    assert summary_text(result, closed) == (
        "Roadmap check clear: nothing in this deal blocks it or needs a warning "
        "(1 feature checked)."
    )


def test_an_unknown_placeholder_of_a_rule_with_a_misspelt_applies_to_names_no_none_rule():
    from app.services.rules_service import validate

    _definition, errors = validate(
        {
            "name": "x",
            "severity": "block",
            "applies_to": "deals",
            "when": {"field": "deal.amount", "op": "gt", "value": 1},
            "message": "{deal.close}",
        }
    )
    [message] = [e["msg"] for e in errors if e["path"] == "message"]
    assert message.startswith("unknown placeholder {deal.close}; a rule can use: {feature.name}")
    assert "None" not in message


@pytest.mark.parametrize("written, stored", [(30.0, 30), (30, 30), (-0.0, 0)])
def test_a_whole_number_written_with_a_decimal_point_is_a_whole_number(written, stored):
    """`"offset_days": 30.0` (Python's json writes a float so) was refused with "write a whole
    number ... (got 30.0)"; the JSON Schema says integer, which 30.0 is, and so do the docs."""
    from app.services.rules_service import validate

    raw = json.dumps(
        {
            "name": "x",
            "severity": "block",
            "when": {
                "field": "feature.target_date",
                "op": "after",
                "value": {"field": "deal.close_date", "offset_days": written},
            },
            "message": "m",
        }
    )
    definition, errors = validate(json.loads(raw))
    assert errors == []
    assert definition.when.value.offset_days == stored
    assert type(definition.when.value.offset_days) is int
    count = {"count_references": {"op": "gte", "value": float(abs(written))}}
    definition, errors = validate(
        {"name": "x", "severity": "block", "applies_to": "deal", "when": count, "message": "m"}
    )
    assert errors == [] and type(definition.when.count_references.value) is int


@pytest.mark.parametrize("written", [30.5, True, "30", float("inf")])
def test_what_is_not_a_whole_number_is_still_refused_at_its_path(written):
    from app.services.rules_service import validate

    _definition, errors = validate(
        {
            "name": "x",
            "severity": "block",
            "when": {
                "field": "feature.target_date",
                "op": "after",
                "value": {"field": "deal.close_date", "offset_days": written},
            },
            "message": "m",
        }
    )
    assert [e["path"] for e in errors] == ["when.value.offset_days"]
