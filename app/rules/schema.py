"""Rules as data: the JSON RevOps write, validated with a closed vocabulary.

Shape (see `rule_json_schema()` for the full JSON Schema)::

    {"id": "coming-soon-promised-late", "name": "...", "severity": "block",
     "applies_to": "reference",
     "scope": {"pipelines": ["default"], "min_stage_probability": 0.2, "min_amount": 10000},
     "when": {"all": [
        {"field": "feature.availability", "op": "in", "value": ["coming_soon", "uncertain"]},
        {"field": "reference.is_commitment", "op": "eq", "value": true},
        {"any": [
            {"field": "feature.target_date", "op": "is_null"},
            {"field": "feature.target_date", "op": "after",
             "value": {"field": "deal.close_date", "offset_days": 30}}]}]},
     "message": "{feature.name} is {feature.availability} ... {feature.guidance}"}

Deal rules (`"applies_to": "deal"`) see deal fields directly and reference fields only inside
`any_reference`, `all_references` or `count_references: {"where": ..., "op": "gte", "value": 2}`.

Pydantic checks the shape (unknown keys, unknown fields and operators); a second pass checks
meaning (operator fits the field's type, value fits the field, reference fields in the right
scope, placeholders exist). All mistakes are reported together, each with its JSON path in
`loc`, so the API can answer one 422 that lists every one of them.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    Tag,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from pydantic_core.core_schema import ErrorType

from app.errors import json_path
from app.rules.model import Availability, Severity

Kind = Literal["enum", "str", "bool", "number", "date"]
Scope_ = Literal["reference", "deal", "any"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    kind: Kind
    scope: Scope_  # "reference": only for reference rules or inside a reference quantifier
    values: tuple[str, ...] = ()  # the allowed values of an enum field
    description: str = ""


FIELDS: dict[str, FieldSpec] = {
    "feature.key": FieldSpec("str", "reference", description="feature key (null if unknown)"),
    "feature.name": FieldSpec("str", "reference"),
    "feature.availability": FieldSpec(
        "enum", "reference", tuple(a.value for a in Availability), "unknown if not on roadmap"
    ),
    "feature.target_date": FieldSpec("date", "reference"),
    "feature.confidence": FieldSpec("number", "reference", description="0..1"),
    "feature.source": FieldSpec("str", "reference"),
    "feature.source_status": FieldSpec("str", "reference"),
    "reference.source": FieldSpec("enum", "reference", ("line_item", "note")),
    "reference.is_commitment": FieldSpec("bool", "reference"),
    "reference.hedged": FieldSpec(
        "bool",
        "reference",
        description="a commitment said with a hedge: 'might', 'hopefully', 'targeted for'",
    ),
    "reference.optional": FieldSpec(
        "bool",
        "reference",
        description="the customer called it nice to have, optional, a bonus: wanted, not required",
    ),
    "reference.is_question": FieldSpec("bool", "reference"),
    "reference.custom_build": FieldSpec("bool", "reference"),
    "reference.promised_date": FieldSpec("date", "reference"),
    "reference.needed_by": FieldSpec(
        "date", "reference", description="the customer's own date: 'they need SCIM by Q3'"
    ),
    "reference.score": FieldSpec("number", "reference", description="match quality 0..100"),
    "deal.name": FieldSpec("str", "any"),
    "deal.pipeline": FieldSpec("str", "any"),
    "deal.stage": FieldSpec("str", "any", description="stage id"),
    "deal.stage.label": FieldSpec("str", "any"),
    "deal.stage.probability": FieldSpec("number", "any", description="0..1"),
    "deal.stage.is_won": FieldSpec("bool", "any"),
    "deal.stage.is_closed": FieldSpec("bool", "any"),
    "deal.amount": FieldSpec("number", "any", description="in the deal's own currency"),
    "deal.currency": FieldSpec("str", "any"),
    "deal.amount_home": FieldSpec(
        "number", "any", description="the amount in the CRM's company currency, as it converted it"
    ),
    "deal.home_currency": FieldSpec("str", "any", description="the CRM's company currency"),
    "deal.close_date": FieldSpec("date", "any"),
    "deal.owner_id": FieldSpec("str", "any"),
    "deal.line_item_count": FieldSpec("number", "any"),
    "deal.note_count": FieldSpec("number", "any"),
    "today": FieldSpec("date", "any", description="the evaluation date"),
}
FieldName = Literal[tuple(FIELDS)]  # type: ignore[valid-type]

Op = Literal[
    "eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "before", "after", "is_null", "not_null"
]
CountOp = Literal["eq", "ne", "lt", "lte", "gt", "gte"]
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    "enum": ("eq", "ne", "in", "not_in", "is_null", "not_null"),
    "str": ("eq", "ne", "in", "not_in", "is_null", "not_null"),
    "bool": ("eq", "ne", "is_null", "not_null"),
    "number": ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "is_null", "not_null"),
    "date": ("eq", "ne", "before", "after", "lt", "lte", "gt", "gte", "is_null", "not_null"),
}
NULL_OPS = ("is_null", "not_null")
LIST_OPS = ("in", "not_in")

REFERENCE_PLACEHOLDERS = (
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
)
DEAL_PLACEHOLDERS = (
    "deal.name",
    "deal.close_date",
    "deal.amount",
    "deal.stage",
    "deal.pipeline",
    "deal.owner_name",
    "rule.name",
)
QUANTIFIER_PLACEHOLDERS = ("matched.count", "matched.feature_count", "matched.features")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "reference": REFERENCE_PLACEHOLDERS + DEAL_PLACEHOLDERS,
    "deal": DEAL_PLACEHOLDERS + QUANTIFIER_PLACEHOLDERS,
}
# A message's pieces: "{{" and "}}" a brace of its own (as in Python's str.format), "{name}" a
# placeholder, a lone "{" or "}" a mistake (refused when a rule is written).
_MESSAGE_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def message_parts(template: str) -> list[tuple[str, str | None]]:
    """The message template as (literal text, placeholder name or None) pieces, in order.
    A lone brace is kept as literal text (validation refuses it; a stored rule renders it)."""
    parts: list[tuple[str, str | None]] = []
    text: list[str] = []
    pos = 0
    for match in _MESSAGE_TOKEN.finditer(template):
        text.append(template[pos : match.start()])
        token = match.group()
        if match.group(1) is not None:
            parts.append(("".join(text), match.group(1).strip()))
            text = []
        else:
            text.append(token[0])  # "{{" -> "{", "}}" -> "}", a lone brace as written
        pos = match.end()
    text.append(template[pos:])
    if any(text):
        parts.append(("".join(text), None))
    return parts


def _stray_braces(template: str) -> bool:
    return any(m.group() in "{}" for m in _MESSAGE_TOKEN.finditer(template))


_SLUG = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_FORMS = ("all", "any", "not", "field", "any_reference", "all_references", "count_references")
_QUANTIFIERS = ("any_reference", "all_references", "count_references")


# JSON types as written: true is not 1, "30" is not 30, "off" is not false (pydantic's lax
# mode converts them). A number may be written 1 or 1.0; true and "1" are refused.
StrictNumber = Annotated[float, Strict()]


def _whole_float_as_int(value: Any) -> Any:
    """30.0 is the whole number 30 (JSON has one number type; Python's json writes a float
    30.0): "write a whole number (got 30.0)" was answered. 30.5, true and "30" stay refused."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value


# A whole number, written 30 or 30.0; not true, "30" or 30.5.
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_float_as_int)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class FieldRef(_Strict):
    """Compare with another field instead of a literal, optionally shifted by whole days."""

    field: FieldName
    offset_days: WholeNumber = Field(default=0, ge=-36500, le=36500)


def _one_literal_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # The plain union reports one error per member (value.str, value.int, ...): say it once.
    try:
        result = handler(value)
    except ValidationError:
        if isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError(
                "finite_number", "a number must be finite; got {got}", {"got": str(value)}
            ) from None
        raise PydanticCustomError(
            "literal_type", "a value is text, a number or true/false; got {got}", {"got": value}
        ) from None
    if type(result) is int and abs(result) > sys.float_info.max:
        # JSON allows any integer; the engine compares numbers as floats, and this one has no
        # float (every evaluation would fail on it)
        raise PydanticCustomError(
            "number_too_large",
            "a number must be between -1.8e308 and 1.8e308; got one of {digits} digits",
            {"digits": len(str(abs(result)))},
        )
    return result


Literal_ = Annotated[str | int | float | bool, WrapValidator(_one_literal_error)]


def _value_kind(value: Any) -> str:
    """The one shape a value is validated as, so a mistake is reported once, at its path."""
    if isinstance(value, dict | FieldRef):
        return _FIELD_REF_TAG
    if isinstance(value, list):
        return _LIST_TAG
    return _LITERAL_TAG


_PYDANTIC_ERRORS = frozenset(get_args(ErrorType))
_FIELD_REF_TAG, _LIST_TAG, _LITERAL_TAG = "<field-ref>", "<list>", "<literal>"
_VALUE_TAGS = frozenset((_FIELD_REF_TAG, _LIST_TAG, _LITERAL_TAG))
Value = Annotated[
    Annotated[FieldRef, Tag(_FIELD_REF_TAG)]
    | Annotated[list[Literal_], Tag(_LIST_TAG)]
    | Annotated[Literal_, Tag(_LITERAL_TAG)],
    Discriminator(_value_kind),
]


def _without_value_tags(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """pydantic puts the union tag in the path (`value.<field-ref>.days`); the rule's JSON
    has no such key, so drop it (`value.days`)."""
    return tuple(
        part for i, part in enumerate(loc) if not (part in _VALUE_TAGS and loc[i - 1] == "value")
    )


class Condition(_Strict):
    """One node of a `when` tree: exactly one of all / any / not / field (+ op, value) /
    any_reference / all_references / count_references."""

    all_: list[Condition] | None = Field(default=None, alias="all")
    any_: list[Condition] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")
    field: FieldName | None = None
    op: Op | None = None
    value: Value | None = None
    any_reference: Condition | None = None
    all_references: Condition | None = None
    count_references: CountReferences | None = None


class CountReferences(_Strict):
    """Number of the deal's references matching `where` (all of them if absent) compared with
    `value`; with `distinct_features`, the number of different features among them."""

    where: Condition | None = None
    op: CountOp
    value: WholeNumber = Field(ge=0, le=1_000_000)  # a count of a deal's references
    # A deal names one feature in several places (a line item and two notes): counted once
    # each, "three or more features" fired on two. None (not false) by default, so that the
    # rules stored before it dump as they were written.
    distinct_features: StrictBool | None = Field(
        default=None,
        description="count the different features the matching references name, not the "
        "references (a feature on a line item and in two notes counts once)",
    )


class RuleScope(_Strict):
    """Which deals a rule looks at; every given constraint must hold (a missing deal value
    fails the constraint)."""

    pipelines: list[str] | None = None
    stages: list[str] | None = None  # stage ids
    min_stage_probability: StrictNumber | None = Field(default=None, ge=0, le=1)
    # Compared with the amount in the CRM's company currency when the CRM converted it
    # (deal.amount_home), else with the deal's own amount.
    min_amount: StrictNumber | None = Field(default=None, ge=0)


# Paths under /api/v1/rules/ that are not rules: a rule of this id could not be read back.
RESERVED_RULE_IDS = frozenset(("schema", "validate", "simulate"))


class RuleDefinition(_Strict):
    id: str | None = Field(default=None, pattern=_SLUG, description="slug, e.g. never-sold")
    name: str = Field(min_length=1, max_length=200, json_schema_extra={"pattern": r"\S"})
    description: str = Field(default="", max_length=2000)
    enabled: StrictBool = True
    severity: Severity
    scope: RuleScope = Field(default_factory=RuleScope)
    applies_to: Literal["reference", "deal"] = "reference"
    when: Condition
    message: str = Field(min_length=1, max_length=2000, json_schema_extra={"pattern": r"\S"})

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in RESERVED_RULE_IDS and not (info.context or {}).get("stored"):
            raise ValueError(
                f"'{value}' is reserved (GET /api/v1/rules/{value} is not a rule); "
                "choose another id"
            )
        return value

    @field_validator("name", "message")
    @classmethod
    def _not_blank(cls, value: str, info: ValidationInfo) -> str:
        """Blank text is refused when a rule is written, not when a stored one is read:
        rules saved before this check (`load_rules` passes context `stored`) must still load,
        or one old rule would stop every evaluation."""
        if not value.strip() and not (info.context or {}).get("stored"):
            raise ValueError("must not be blank")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def _check_meaning(cls, data: Any, handler: Any, info: ValidationInfo) -> RuleDefinition:
        if isinstance(data, RuleDefinition):
            return handler(data)
        if isinstance(data, dict) and not (info.context or {}).get("stored"):
            if _too_large(data):  # alone: checking each value of it is the cost refused
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [
                        {
                            "type": PydanticCustomError(
                                "rule_invalid", "{reason}", {"reason": _TOO_LARGE}
                            ),
                            "loc": (),
                            "input": "…",
                        }
                    ],
                )
            too_deep = _too_deep(data.get("when"), ("when",))
            if too_deep is not None:  # alone: the rest cannot be checked or echoed back
                raise ValidationError.from_exception_data(
                    cls.__name__,
                    [
                        {
                            "type": PydanticCustomError(
                                "rule_invalid", "{reason}", {"reason": _TOO_DEEP}
                            ),
                            "loc": too_deep,
                            "input": "…",
                        }
                    ],
                )
        structural: ValidationError | None = None
        result = None
        try:
            result = handler(data)
        except ValidationError as exc:
            structural = exc
        if result is not None:
            raw = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        elif isinstance(data, dict):
            raw = data
        else:
            raise structural  # type: ignore[misc]  # not even an object: nothing more to say
        problems = semantic_errors(raw)
        if not (info.context or {}).get("stored"):  # stored rules written before still load
            problems += fraction_problems(raw)
        if structural is None and not problems:
            return result  # type: ignore[return-value]
        details: list[InitErrorDetails] = []
        seen: set[tuple] = set()
        for err in structural.errors() if structural else []:
            loc = _without_value_tags(err["loc"])
            kind = err["type"]
            detail: InitErrorDetails = {
                "type": kind if kind in _PYDANTIC_ERRORS else PydanticCustomError(kind, err["msg"]),
                "loc": loc,
                "input": err["input"],
            }
            if "ctx" in err:
                detail["ctx"] = err["ctx"]
            details.append(detail)
            seen.add(loc)
        # every start of a location pydantic named: one look per problem, not one per error
        # (a problem per error of thousands took minutes)
        named = {loc[:k] for loc in seen for k in range(len(loc) + 1)}
        for loc, message, value in problems:
            if loc in named or any(loc[:k] in seen for k in range(len(loc))):
                continue  # pydantic already said what is wrong there
            details.append(
                {
                    "type": PydanticCustomError("rule_invalid", "{reason}", {"reason": message}),
                    "loc": loc,
                    "input": value,
                }
            )
        raise ValidationError.from_exception_data(cls.__name__, details)


Condition.model_rebuild()
CountReferences.model_rebuild()

# How deeply conditions may nest in `when`. Real rules nest a few levels; a rule nested past
# about 250 could be stored but not echoed back (pydantic's serialiser stops at its depth
# limit: every audit page holding the rule answered 500, for good, as audit entries stay).
MAX_CONDITION_DEPTH = 32
_TOO_DEEP = (
    f"conditions nest more than {MAX_CONDITION_DEPTH} levels deep here; flatten them "
    "(all / any take lists, so nesting is rarely needed)"
)


# How many JSON values (objects, lists, texts, numbers) a rule may hold. Real rules hold tens,
# an `in` list of every feature key tens of thousands. A read-only key's POST
# /api/v1/rules/validate of 4 MB of `scope.pipelines` numbers (two million) took six minutes
# and 2.7 GB to answer 336 MB of errors, one each.
MAX_RULE_VALUES = 100_000
_TOO_LARGE = (
    f"a rule holds at most {MAX_RULE_VALUES:,} values (conditions, list items, texts and "
    "numbers); this one holds more: split it into several rules"
)


def _too_large(data: Any) -> bool:
    """Whether untrusted JSON `data` holds more than MAX_RULE_VALUES values (walked without
    recursion, and no further than that)."""
    stack, count = [data], 0
    while stack:
        node = stack.pop()
        count += 1
        if count > MAX_RULE_VALUES:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _too_deep(when: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    """The path of the first condition nested deeper than MAX_CONDITION_DEPTH, else None.

    Walked without recursion: the input is untrusted JSON of any depth."""
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(when, path, 1)]
    while stack:
        node, at, depth = stack.pop()
        if not isinstance(node, dict):
            continue
        if depth > MAX_CONDITION_DEPTH:
            return at
        for form in ("all", "any"):
            children = node.get(form)
            if isinstance(children, list):
                stack.extend((c, (*at, form, i), depth + 1) for i, c in enumerate(children))
        for form in ("not", "any_reference", "all_references"):
            stack.append((node.get(form), (*at, form), depth + 1))
        count = node.get("count_references")
        if isinstance(count, dict):
            stack.append((count.get("where"), (*at, "count_references", "where"), depth + 1))
    return None


def rule_json_schema() -> dict[str, Any]:
    """The JSON Schema of a rule (validation mode), for the OpenAPI document."""
    return RuleDefinition.model_json_schema(by_alias=True)


# -- meaning -------------------------------------------------------------------------------

Problem = tuple[tuple[str | int, ...], str, Any]


def semantic_errors(raw: dict[str, Any]) -> list[Problem]:
    """Mistakes pydantic's shape check cannot see, each with its JSON path. Works on raw JSON
    defensively so it can run even when the shape is wrong elsewhere."""
    problems: list[Problem] = []
    applies_to = raw.get("applies_to", "reference")
    if applies_to not in ("reference", "deal"):
        # misspelt (the shape check says so): what depends on it is not judged, or a deal
        # rule would be told its count_references and {matched.count} are wrong
        applies_to = None
    if "when" in raw:
        _check_node(raw["when"], ("when",), applies_to, problems)
    message = raw.get("message")
    if isinstance(message, str):
        _check_message(message, applies_to, problems)
    return problems


# Fields that hold a fraction (the feature API and scope.min_stage_probability take 0 to 1):
# compared with 80 meaning 80%, a condition never (or always) matches.
FRACTION_FIELDS = ("feature.confidence", "deal.stage.probability")


def fraction_problems(raw: dict[str, Any]) -> list[Problem]:
    """A number outside 0..1 compared with a 0-to-1 field, each at its JSON path (refused
    when a rule is written, as scope.min_stage_probability above 1 is)."""
    problems: list[Problem] = []

    def check(path: tuple[str | int, ...], name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or 0 <= value <= 1:
            return
        percent = 1 < value <= 100
        hint = f": {value / 100:g} for {value:g}%" if percent else ": 0.8 for 80%"
        problems.append((path, f"{name} is 0 to 1{hint}; got {value:g}", value))

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, path + (i,))
            return
        if not isinstance(node, dict):
            return
        name = node.get("field")
        if name in FRACTION_FIELDS and "op" in node:
            value = node.get("value")
            if isinstance(value, list):
                for i, item in enumerate(value):
                    check(path + ("value", i), name, item)
            else:
                check(path + ("value",), name, value)
            return
        for key, child in node.items():
            if isinstance(child, dict | list):
                walk(child, path + (key,))

    walk(raw.get("when"), ("when",))
    return problems


def feature_key_literals(raw: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, bool]]:
    """Every feature key a rule names literally (`feature.key` compared with a value), with
    the JSON path of the value and whether the comparison is negated (`ne`, `not_in`, or an
    `eq` / `in` under an odd number of `not`s). A key with no feature behind it makes a
    condition that never matches, or, negated, one that excludes nothing: the caller may warn
    about it (the roadmap may gain the feature later)."""
    found: list[tuple[tuple[str | int, ...], str, bool]] = []

    def walk(node: Any, path: tuple[str | int, ...], negated: bool) -> None:
        if isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, path + (i,), negated)
            return
        if not isinstance(node, dict):
            return
        if node.get("field") == "feature.key":
            value = node.get("value")
            flipped = negated != (node.get("op") in ("ne", "not_in"))
            if isinstance(value, str):
                found.append((path + ("value",), value, flipped))
            elif isinstance(value, list):
                found.extend(
                    (path + ("value", i), v, flipped)
                    for i, v in enumerate(value)
                    if isinstance(v, str)
                )
            return
        for key, child in node.items():
            if isinstance(child, dict | list):
                walk(child, path + (key,), negated != (key == "not"))

    walk(raw.get("when"), ("when",), False)
    return found


def _names_references(node: Any) -> bool:
    if isinstance(node, list):
        return any(_names_references(n) for n in node)
    if not isinstance(node, dict):
        return False
    return any(q in node for q in _QUANTIFIERS) or any(
        _names_references(node.get(k)) for k in ("all", "any", "not")
    )


def _literal_values(condition: dict) -> frozenset | None:
    """The values a field may take under one `eq` / `in` condition of literals; None for any
    other condition (a comparison, a field on the right, a negation)."""
    op, value = condition.get("op"), condition.get("value")
    if op == "eq" and not isinstance(value, (dict, list)):
        return frozenset([value])
    if op == "in" and isinstance(value, list) and not any(isinstance(v, dict) for v in value):
        return frozenset(v for v in value if not isinstance(v, (dict, list)))
    return None


def contradictions(node: Any, path: tuple = ("when",)) -> list[dict]:
    """`all` lists whose `eq` / `in` conditions on one field admit no value together
    (`feature.availability in [coming_soon, uncertain]` with `eq never`): that `all` never
    holds, so a rule resting on it never fires (or, under `not`, always does)."""
    out: list[dict] = []
    if isinstance(node, list):
        for i, child in enumerate(node):
            out += contradictions(child, (*path, i))
        return out
    if not isinstance(node, dict):
        return out
    conditions = node.get("all")
    if isinstance(conditions, list):
        allowed: dict[str, frozenset] = {}
        for child in conditions:
            if not isinstance(child, dict) or not isinstance(child.get("field"), str):
                continue
            values = _literal_values(child)
            if values is None:
                continue
            field = child["field"]
            allowed[field] = allowed[field] & values if field in allowed else values
            if not allowed[field]:
                out.append(
                    {
                        "path": json_path((*path, "all")),
                        "message": f"the conditions on {field} here admit no value together "
                        "(an `eq` or `in` the others exclude): this `all` never holds, so "
                        "what rests on it never matches",
                    }
                )
                break
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            out += contradictions(node[key], (*path, key))
    if isinstance(node.get("not"), dict):
        out += contradictions(node["not"], (*path, "not"))
    for key in _QUANTIFIERS:
        inner = node.get(key)
        if key == "count_references" and isinstance(inner, dict):
            out += contradictions(inner.get("where"), (*path, key, "where"))
        elif isinstance(inner, dict):
            out += contradictions(inner, (*path, key))
    return out


def shape_warnings(raw: dict[str, Any]) -> list[dict]:
    """Valid, but does nothing or shows nothing: an empty scope list (no deal is in it),
    {matched.*} in a deal rule whose condition looks at no references (always empty), and
    conditions that can never all hold (`contradictions`). Warnings, not refusals: stored rules
    written so are loaded as before."""
    out = []
    if not isinstance(raw, dict):
        return out
    out += contradictions(raw.get("when"))
    scope = raw.get("scope") if isinstance(raw.get("scope"), dict) else {}
    for name in ("pipelines", "stages"):
        if scope.get(name) == []:
            out.append(
                {
                    "path": f"scope.{name}",
                    "message": f"an empty list of {name} matches no deal: this rule never "
                    f"applies (leave {name} out to apply to every one)",
                }
            )
    message = raw.get("message") if isinstance(raw.get("message"), str) else ""
    if (
        raw.get("applies_to") == "deal"
        and "{matched." in message
        and not _names_references(raw.get("when"))
    ):
        out.append(
            {
                "path": "message",
                "message": "{matched.count} and {matched.features} are about the references "
                "a condition names (any_reference, all_references, count_references); this "
                "rule's condition names none, so they are always 0 and empty",
            }
        )
    return out


def _check_message(message: str, applies_to: str | None, problems: list[Problem]) -> None:
    if applies_to is None:  # not known: any placeholder of either kind of rule
        allowed = tuple(dict.fromkeys(PLACEHOLDERS["reference"] + PLACEHOLDERS["deal"]))
    else:
        allowed = PLACEHOLDERS[applies_to]
    names = [name for _text, name in message_parts(message) if name is not None]
    unknown = [name for name in names if name not in allowed]
    # applies_to misspelt: "a None rule can use" was said; the placeholders of either kind
    kind = f"a {applies_to} rule" if applies_to is not None else "a rule"
    for name in unknown:
        problems.append(
            (
                ("message",),
                f"unknown placeholder {{{name}}}; {kind} can use: "
                + ", ".join("{" + p + "}" for p in allowed),
                message,
            )
        )
    if _stray_braces(message):
        problems.append(
            (
                ("message",),
                "unbalanced { or } in the message; write {{ or }} for a brace of its own",
                message,
            )
        )


def _check_node(node: Any, path: tuple, scope: str | None, problems: list[Problem]) -> None:
    """`scope`: "deal" or "reference" (what the rule applies to), "nested" (inside a
    quantifier of a deal rule, about one reference), None (applies_to misspelt: not judged)."""
    if not isinstance(node, dict):
        return  # the shape check reports it
    forms = [k for k in _FORMS if node.get(k) is not None]  # "all": null is no form
    if not forms:
        if not any(k in node for k in ("op", "value")):
            problems.append(
                (path, "a condition needs one of: " + ", ".join(_FORMS), node),
            )
        else:
            problems.append((path + ("field",), "field is required with op and value", node))
        return
    if len(forms) > 1:
        problems.append(
            (path, f"use exactly one of {', '.join(forms)} in one condition; nest them", node)
        )
        return
    form = forms[0]
    if form in ("all", "any"):
        children = node[form]
        if isinstance(children, list):
            if not children:
                problems.append((path + (form,), f"{form} needs at least one condition", children))
            for i, child in enumerate(children):
                _check_node(child, path + (form, i), scope, problems)
        return
    if form == "not":
        _check_node(node["not"], path + ("not",), scope, problems)
        return
    if form in _QUANTIFIERS:
        if scope == "reference":
            problems.append(
                (
                    path + (form,),
                    f"{form} only works in a rule that applies to the deal (or nested inside "
                    "one); this rule already applies to each reference",
                    node[form],
                )
            )
            return
        if scope == "nested":
            problems.append(
                (
                    path + (form,),
                    f"{form} cannot be nested inside any_reference, all_references or "
                    "count_references.where: those already look at one reference at a time",
                    node[form],
                )
            )
            return
        inner = node[form]
        if form == "count_references":
            if isinstance(inner, dict) and "where" in inner and inner["where"] is not None:
                _check_node(inner["where"], path + (form, "where"), "nested", problems)
        else:
            _check_node(inner, path + (form,), "nested", problems)
        return
    _check_leaf(node, path, scope, problems)


def _check_leaf(node: dict, path: tuple, scope: str, problems: list[Problem]) -> None:
    name = node.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        return  # unknown field: the shape check lists the vocabulary
    if spec.scope == "reference" and scope == "deal":
        problems.append(
            (
                path + ("field",),
                f"{name} describes one reference; in a deal rule use it inside any_reference, "
                "all_references or count_references.where",
                name,
            )
        )
    op = node.get("op")
    if op is None:
        problems.append((path + ("op",), "op is required", node))
        return
    if not isinstance(op, str) or op not in OPS_BY_KIND[spec.kind]:
        if isinstance(op, str) and op in Op.__args__:
            problems.append(
                (
                    path + ("op",),
                    f"{op} does not apply to {name} ({spec.kind} field); use one of: "
                    + ", ".join(OPS_BY_KIND[spec.kind]),
                    op,
                )
            )
        return
    has_value = "value" in node and node["value"] is not None
    value = node.get("value")
    if op in NULL_OPS:
        if has_value:
            problems.append((path + ("value",), f"{op} takes no value", value))
        return
    if not has_value:
        problems.append((path + ("value",), f"{op} needs a value", None))
        return
    if op in LIST_OPS:
        if not isinstance(value, list) or not value:
            problems.append((path + ("value",), f"{op} needs a non-empty list of values", value))
            return
        for i, item in enumerate(value):
            if (reason := _literal_problem(spec, name, item)) is not None:
                problems.append((path + ("value", i), reason, item))
        return
    if isinstance(value, dict):
        _check_field_ref(value, spec, name, path + ("value",), scope, problems)
        return
    if isinstance(value, list):
        problems.append((path + ("value",), f"{op} compares with one value, not a list", value))
        return
    if (reason := _literal_problem(spec, name, value)) is not None:
        problems.append((path + ("value",), reason, value))


def _check_field_ref(
    ref: dict, spec: FieldSpec, name: str, path: tuple, scope: str, problems: list[Problem]
) -> None:
    other_name = ref.get("field")
    other = FIELDS.get(other_name) if isinstance(other_name, str) else None
    if other is None:
        return  # the shape check reports unknown fields
    if other.kind != spec.kind or (spec.kind == "enum" and other.values != spec.values):
        problems.append(
            (
                path + ("field",),
                f"cannot compare {name} ({spec.kind}) with {other_name} ({other.kind})",
                other_name,
            )
        )
    if other.scope == "reference" and scope == "deal":
        problems.append(
            (
                path + ("field",),
                f"{other_name} describes one reference; use it inside a reference quantifier",
                other_name,
            )
        )
    if ref.get("offset_days") not in (None, 0) and spec.kind != "date":
        problems.append(
            (path + ("offset_days",), "offset_days only applies to dates", ref["offset_days"])
        )


def _literal_problem(spec: FieldSpec, name: str, value: Any) -> str | None:
    if spec.kind == "enum":
        if value not in spec.values:
            return f"{name} is one of: {', '.join(spec.values)}; got {value!r}"
    elif spec.kind == "str":
        if not isinstance(value, str):
            return f"{name} is text; got {value!r}"
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            return f"{name} is true or false; got {value!r}"
    elif spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{name} is a number; got {value!r}"
    elif spec.kind == "date" and (not isinstance(value, str) or parse_date(value) is None):
        return f"{name} is a date written YYYY-MM-DD (or compare with another date field); got {value!r}"
    return None


def parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
