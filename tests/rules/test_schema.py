"""Rule JSON validation: every kind of mistake is refused with its exact JSON path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from app.rules.default_pack import DEFAULT_RULES
from app.rules.schema import RuleDefinition, rule_json_schema

VALID: dict[str, Any] = {
    "id": "late-promise",
    "name": "Late promise",
    "severity": "block",
    "applies_to": "reference",
    "scope": {"pipelines": ["default"], "min_stage_probability": 0.2, "min_amount": 1000},
    "when": {
        "all": [
            {"field": "feature.availability", "op": "in", "value": ["coming_soon", "uncertain"]},
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
    "message": "{feature.name} is {feature.availability}. {feature.guidance}",
}


def errors_of(data: dict[str, Any]) -> dict[tuple, str]:
    with pytest.raises(ValidationError) as info:
        RuleDefinition.model_validate(data)
    return {tuple(e["loc"]): e["msg"] for e in info.value.errors()}


def with_change(path: tuple, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


def test_valid_rule_round_trips_through_json() -> None:
    rule = RuleDefinition.model_validate(VALID)
    dumped = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert RuleDefinition.model_validate(dumped) == rule
    assert RuleDefinition.model_validate_json(json.dumps(VALID)) == rule
    assert dumped["when"]["all"][2]["any"][1]["value"] == {
        "field": "deal.close_date",
        "offset_days": 30,
    }


@pytest.mark.parametrize("rule", DEFAULT_RULES, ids=[r["id"] for r in DEFAULT_RULES])
def test_every_default_rule_is_valid(rule: dict[str, Any]) -> None:
    assert RuleDefinition.model_validate(rule).id == rule["id"]


MISTAKES = [
    # (change path, new value, expected error loc, words in the message)
    (("id",), "Not A Slug", ("id",), "pattern"),
    (("severity",), "critical", ("severity",), "'info', 'warning' or 'block'"),
    (("applies_to",), "account", ("applies_to",), "'reference' or 'deal'"),
    (("surprise",), 1, ("surprise",), "Extra inputs"),
    (("name",), _DELETE, ("name",), "Field required"),
    (("when",), _DELETE, ("when",), "Field required"),
    (("scope", "min_stage_probability"), 1.5, ("scope", "min_stage_probability"), "less than"),
    (("scope", "regions"), ["eu"], ("scope", "regions"), "Extra inputs"),
    (("when", "all", 0, "field"), "feature.colour", ("when", "all", 0, "field"), "feature.key"),
    (("when", "all", 0, "op"), "contains", ("when", "all", 0, "op"), "'eq'"),
    (("when", "all", 0, "op"), "before", ("when", "all", 0, "op"), "does not apply"),
    (("when", "all", 0, "value"), ["soon"], ("when", "all", 0, "value", 0), "coming_soon"),
    (("when", "all", 0, "value"), [], ("when", "all", 0, "value"), "non-empty list"),
    (("when", "all", 0, "value"), "coming_soon", ("when", "all", 0, "value"), "non-empty list"),
    (("when", "all", 1, "value"), "yes", ("when", "all", 1, "value"), "true or false"),
    (("when", "all", 1, "value"), _DELETE, ("when", "all", 1, "value"), "needs a value"),
    (("when", "all", 1, "op"), "gt", ("when", "all", 1, "op"), "does not apply"),
    (("when", "all", 2, "any", 0, "value"), "x", ("when", "all", 2, "any", 0, "value"), "no value"),
    (
        ("when", "all", 2, "any", 1, "value"),
        "next tuesday",
        ("when", "all", 2, "any", 1, "value"),
        "YYYY-MM-DD",
    ),
    (
        ("when", "all", 2, "any", 1, "value"),
        {"field": "deal.amount"},
        ("when", "all", 2, "any", 1, "value", "field"),
        "cannot compare",
    ),
    (
        ("when", "all", 2, "any", 1, "value"),
        {"field": "deal.close_date", "days": 3},
        ("when", "all", 2, "any", 1, "value", "days"),
        "Extra inputs",
    ),
    (
        ("when", "all", 2, "any", 1, "value"),
        {"field": "deal.close_date", "offset_days": "soon"},
        ("when", "all", 2, "any", 1, "value", "offset_days"),
        "valid integer",
    ),
    (
        ("when", "all", 0, "value"),
        ["coming_soon", {"x": 1}],
        ("when", "all", 0, "value", 1),
        "text, a number or true/false",
    ),
    (("when", "all", 1, "value"), {"yes"}, ("when", "all", 1, "value"), "text, a number"),
    (("when", "all", 2, "any"), [], ("when", "all", 2, "any"), "at least one"),
    (("when", "all", 1), {"op": "eq", "value": True}, ("when", "all", 1, "field"), "required"),
    (("when", "all", 1), {}, ("when", "all", 1), "needs one of"),
    (
        ("when", "all", 1),
        {"all": [], "field": "deal.amount", "op": "is_null"},
        ("when", "all", 1),
        "exactly one",
    ),
    (
        ("when", "all", 1),
        {"any_reference": {"field": "reference.is_commitment", "op": "eq", "value": True}},
        ("when", "all", 1, "any_reference"),
        "applies to the deal",
    ),
    # Non-finite numbers (rules written in Python, or read by a lenient JSON parser): one was
    # stored as null, and every later evaluation refused the rule.
    (("scope", "min_amount"), float("inf"), ("scope", "min_amount"), "finite"),
    (
        ("scope", "min_stage_probability"),
        float("nan"),
        ("scope", "min_stage_probability"),
        "finite",
    ),
    (
        ("when", "all", 0, "value"),
        ["coming_soon", float("nan")],
        ("when", "all", 0, "value", 1),
        "finite",
    ),
    # JSON allows any integer; one without a float would fail every evaluation
    (("when", "all", 0, "value"), 10**400, ("when", "all", 0, "value"), "one of 401 digits"),
    (
        ("when", "all", 0, "value"),
        ["coming_soon", -(10**309)],
        ("when", "all", 0, "value", 1),
        "between -1.8e308 and 1.8e308",
    ),
    (("message",), "{feature.nam} is late", ("message",), "unknown placeholder {feature.nam}"),
    (("message",), "oops } here", ("message",), "unbalanced"),
    (
        ("when", "all", 0, "value"),
        {"field": "feature.name"},
        ("when", "all", 0, "value"),
        "non-empty",
    ),
]


@pytest.mark.parametrize(
    ("path", "value", "loc", "words"), MISTAKES, ids=[f"{m[2]}:{m[3]}" for m in MISTAKES]
)
def test_each_mistake_is_reported_at_its_json_path(
    path: tuple, value: Any, loc: tuple, words: str
) -> None:
    errors = errors_of(with_change(path, value))
    assert loc in errors, errors
    assert words in errors[loc]


@pytest.mark.parametrize(
    ("value", "loc"),
    [
        ({"field": "deal.close_date", "days": 3}, ("when", "all", 2, "any", 1, "value", "days")),
        ({"field": "deal.closing"}, ("when", "all", 2, "any", 1, "value", "field")),
        ([True, None], ("when", "all", 2, "any", 1, "value", 1)),
        ([["2027-01-01"]], ("when", "all", 2, "any", 1, "value", 0)),
    ],
)
def test_a_wrong_value_is_one_mistake_at_its_own_path(value: Any, loc: tuple) -> None:
    # one error, never one per member of the value union (value.FieldRef.days, value.str, ...)
    errors = errors_of(with_change(("when", "all", 2, "any", 1, "value"), value))
    assert list(errors) == [loc], errors


def test_all_mistakes_are_reported_together() -> None:
    data = copy.deepcopy(VALID)
    data["severity"] = "fatal"  # shape
    data["when"]["all"][0]["op"] = "after"  # meaning
    data["when"]["all"][1]["value"] = 3  # meaning
    data["message"] = "{deal.nme}"  # meaning
    assert set(errors_of(data)) == {
        ("severity",),
        ("when", "all", 0, "op"),
        ("when", "all", 1, "value"),
        ("message",),
    }


def test_deal_rules_use_reference_fields_only_inside_quantifiers() -> None:
    deal_rule = {
        "id": "many-promises",
        "name": "Many promises",
        "severity": "warning",
        "applies_to": "deal",
        "when": {
            "all": [
                {"field": "deal.amount", "op": "gte", "value": 10000},
                {
                    "count_references": {
                        "where": {"field": "reference.is_commitment", "op": "eq", "value": True},
                        "op": "gte",
                        "value": 3,
                    }
                },
                {"any_reference": {"field": "feature.availability", "op": "eq", "value": "never"}},
            ]
        },
        "message": "{matched.count} promises on {deal.name}: {matched.features}",
    }
    RuleDefinition.model_validate(deal_rule)
    bad = copy.deepcopy(deal_rule)
    bad["when"]["all"][0] = {"field": "feature.availability", "op": "eq", "value": "never"}
    bad["when"]["all"][1]["count_references"]["op"] = "before"
    bad["message"] = "{feature.name} on {deal.name}"
    errors = errors_of(bad)
    assert "inside any_reference" in errors[("when", "all", 0, "field")]
    assert ("when", "all", 1, "count_references", "op") in errors
    assert "unknown placeholder {feature.name}" in errors[("message",)]
    huge = copy.deepcopy(deal_rule)
    huge["when"]["all"][1]["count_references"]["value"] = 10**400
    assert list(errors_of(huge)) == [("when", "all", 1, "count_references", "value")]


def test_json_schema_is_published_with_the_closed_vocabulary() -> None:
    schema = rule_json_schema()
    text = json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert "feature.target_date" in text and "not_in" in text and "count_references" in text
    condition = schema["$defs"]["Condition"]
    assert {"all", "any", "not", "field", "op", "value"} <= set(condition["properties"])


def test_only_the_mistakes_that_are_there_are_reported() -> None:
    """With a shape mistake the meaning checks run on the raw JSON: they must not invent more
    (an explicit null counted as a second form, a misspelt applies_to judged as a reference
    rule), and a quantifier nested in another says so, not that the rule is a reference rule."""
    when = {"field": "deal.amount", "op": "gt", "value": 1, "all": None}
    rule = {"name": "x", "severity": "blocker", "message": "m", "applies_to": "deal", "when": when}
    assert list(errors_of(rule)) == [("severity",)]
    deal_rule = {"name": "x", "severity": "block", "applies_to": "deall",
                 "message": "{matched.count} promises",
                 "when": {"count_references": {"op": "gte", "value": 2}}}  # fmt: skip
    assert list(errors_of(deal_rule)) == [("applies_to",)]
    nested = {"name": "x", "severity": "block", "applies_to": "deal", "message": "m",
              "when": {"any_reference": {"all_references": {
                  "field": "feature.key", "op": "eq", "value": "sso"}}}}  # fmt: skip
    errors = errors_of(nested)
    assert list(errors) == [("when", "any_reference", "all_references")]
    assert "cannot be nested inside any_reference" in errors[list(errors)[0]]


def test_reference_optional_is_a_rule_field() -> None:
    """`reference.optional` (the customer called it nice to have) validates in a rule; a field
    outside the vocabulary still does not."""
    data = with_change(
        ("when", "all", 1), {"field": "reference.optional", "op": "eq", "value": True}
    )
    assert RuleDefinition.model_validate(data).id == "late-promise"
    wrong = with_change(
        ("when", "all", 1), {"field": "reference.nice_to_have", "op": "eq", "value": True}
    )
    assert ("when", "all", 1, "field") in errors_of(wrong)


def _nested(levels: int, form: str = "not") -> dict[str, Any]:
    node: dict[str, Any] = {"field": "feature.key", "op": "eq", "value": "sso"}
    for _ in range(levels - 1):
        node = {form: node} if form == "not" else {form: [node]}
    return node


@pytest.mark.parametrize("form", ["not", "all", "any"])
def test_conditions_nested_too_deep_are_refused_at_the_first_level_too_many(form: str) -> None:
    """A `when` nested past the limit is one mistake at the first condition too deep (such a
    rule could be stored but not echoed back: its audit pages answered 500)."""
    from app.rules.schema import MAX_CONDITION_DEPTH

    data = copy.deepcopy(VALID) | {"when": _nested(MAX_CONDITION_DEPTH + 1, form)}
    step = ("not",) if form == "not" else (form, 0)
    errors = errors_of(data)
    assert list(errors) == [("when", *step * MAX_CONDITION_DEPTH)], errors
    assert f"more than {MAX_CONDITION_DEPTH} levels" in next(iter(errors.values()))
    # far past pydantic's own recursion limit: the same one mistake, not its internal error
    assert len(errors_of(copy.deepcopy(VALID) | {"when": _nested(2000, form)})) == 1
    # at the limit: a valid rule
    RuleDefinition.model_validate(copy.deepcopy(VALID) | {"when": _nested(MAX_CONDITION_DEPTH)})


def test_nesting_through_quantifiers_counts_and_stored_rules_still_load() -> None:
    from app.rules.schema import MAX_CONDITION_DEPTH

    inner = _nested(MAX_CONDITION_DEPTH - 1)
    deal_rule = copy.deepcopy(VALID) | {
        "applies_to": "deal",
        "message": "{deal.name}",
        "when": {"count_references": {"where": inner, "op": "gte", "value": 1}},
    }
    RuleDefinition.model_validate(deal_rule)  # 1 + 31 levels
    deeper = deal_rule | {
        "when": {"any_reference": {"count_references": {"where": inner, "op": "gte", "value": 1}}}
    }
    assert list(errors_of(deeper))[0][:4] == ("when", "any_reference", "count_references", "where")
    # a rule stored before the limit loads (one old rule must not stop every evaluation)
    stored = copy.deepcopy(VALID) | {"when": _nested(MAX_CONDITION_DEPTH + 5)}
    RuleDefinition.model_validate(stored, context={"stored": True})


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("{feature.name", "unbalanced { or } in the message; write {{ or }} for a brace"),
        ("a } b", "unbalanced { or } in the message; write {{ or }} for a brace"),
        ("{feature.name}}", "unbalanced"),
        ("{{literal}} {feature.nmae}", "unknown placeholder {feature.nmae}"),
    ],
)
def test_a_lone_brace_is_refused_saying_how_to_write_one(message: str, says: str) -> None:
    errors = errors_of(copy.deepcopy(VALID) | {"message": message})
    assert list(errors) == [("message",)], errors
    assert says in errors[("message",)]


def test_double_braces_validate() -> None:
    RuleDefinition.model_validate(copy.deepcopy(VALID) | {"message": "{{literal}} {feature.name}"})


@pytest.mark.parametrize(
    ("patch", "loc"),
    [
        ({"enabled": "off"}, ("enabled",)),
        ({"enabled": 0}, ("enabled",)),
        ({"scope": {"min_amount": True}}, ("scope", "min_amount")),
        ({"scope": {"min_amount": "1000"}}, ("scope", "min_amount")),
        ({"scope": {"min_stage_probability": True}}, ("scope", "min_stage_probability")),
        ({"scope": {"min_stage_probability": "0.5"}}, ("scope", "min_stage_probability")),
    ],
)
def test_json_types_are_not_converted(patch: dict[str, Any], loc: tuple) -> None:
    """ "off" is not false and true is not 1: pydantic's lax conversions are refused."""
    with pytest.raises(ValidationError) as exc:
        RuleDefinition.model_validate_json(json.dumps({**VALID, **patch}))
    assert [e["loc"] for e in exc.value.errors()] == [loc]


@pytest.mark.parametrize("offset", [True, "30", 1.5])
def test_offset_days_is_a_whole_number_as_written(offset: Any) -> None:
    rule = copy.deepcopy(VALID)
    rule["when"]["all"][2]["any"][1]["value"]["offset_days"] = offset
    with pytest.raises(ValidationError) as exc:
        RuleDefinition.model_validate_json(json.dumps(rule))
    loc = ("when", "all", 2, "any", 1, "value", "offset_days")
    assert [e["loc"] for e in exc.value.errors()] == [loc]


def test_amounts_may_be_written_as_whole_or_decimal_numbers() -> None:
    rule = {**VALID, "scope": {"min_amount": 1000, "min_stage_probability": 1}}
    parsed = RuleDefinition.model_validate_json(json.dumps(rule))
    assert (parsed.scope.min_amount, parsed.scope.min_stage_probability) == (1000, 1)
    rule = {**VALID, "scope": {"min_amount": 999.5, "min_stage_probability": 0.25}}
    assert RuleDefinition.model_validate(rule).scope.min_amount == 999.5


@pytest.mark.parametrize(
    ("field", "op", "value", "loc", "says"),
    [
        ("feature.confidence", "lt", 80, ("when", "value"), "0.8 for 80%; got 80"),
        ("deal.stage.probability", "gte", 50, ("when", "value"), "0.5 for 50%; got 50"),
        ("feature.confidence", "in", [0.2, 30], ("when", "value", 1), "0.3 for 30%; got 30"),
        ("feature.confidence", "gt", -0.5, ("when", "value"), "0.8 for 80%; got -0.5"),
    ],
)
def test_a_fraction_field_compared_with_a_percentage_is_refused(
    field: str, op: str, value: Any, loc: tuple, says: str
) -> None:
    rule = {**VALID, "when": {"field": field, "op": op, "value": value}}
    with pytest.raises(ValidationError) as exc:
        RuleDefinition.model_validate(rule)
    errors = exc.value.errors()
    assert [e["loc"] for e in errors] == [loc]
    assert errors[0]["msg"] == f"{field} is 0 to 1: {says}"
    for fine in (0, 1, 0.8):
        RuleDefinition.model_validate({**rule, "when": {"field": field, "op": "lt", "value": fine}})
    # a rule stored before the check still loads
    RuleDefinition.model_validate(rule, context={"stored": True})
