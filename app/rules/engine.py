"""Evaluate a deal: rules x references -> findings -> verdict.

Each rule's `when` tree is compiled once into closures over two small dicts (the reference's
values and the deal's values), so evaluating 25 rules over a deal's references costs microseconds.
When a predicate matches, a second walk explains it ("feature.availability in [coming_soon,
uncertain] AND reference.is_commitment = true"); that walk only runs for findings.

Missing data never raises: a comparison with a missing value is false (use is_null to catch
missing values on purpose).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any

from app.rules.catalog import Catalog
from app.rules.model import (
    SEVERITY_RANK,
    ApprovalGrant,
    Availability,
    DealSnapshot,
    EvaluationResult,
    Feature,
    FeatureReference,
    Finding,
    Severity,
    VerdictStatus,
)
from app.rules.references import find_references, trusted_model
from app.rules.schema import (
    FIELDS,
    Condition,
    CountReferences,
    FieldRef,
    RuleDefinition,
    message_parts,
    parse_date,
)

Values = dict[str, Any]
Predicate = Callable[[Values | None, Values], bool]
Explainer = Callable[[Values | None, Values], str]

REFS = "__references__"  # deal-values key holding the reference values, for quantifiers

# Said after "What you can say instead:": something to say, then what not to. It opened "Do
# not promise it.", which is nothing to say.
FALLBACK_GUIDANCE = (
    "Tell the customer their request has been passed to product and that you will confirm "
    "what is possible before they sign; do not promise it."
)
# What a rep may say when product wrote no guidance, by availability: "do not promise it"
# contradicted a beta's "it can only be sold as a beta" and a coming-soon feature's "you may
# mention it", and told a rep selling an available feature not to.
FALLBACK_GUIDANCE_BY_AVAILABILITY = {
    "available": "It is generally available: you can sell it as it is documented today.",
    "beta": (
        "Sell it as a beta: it works today, with no SLA, uptime or support commitment, and may "
        "change before it is generally available."
    ),
    "coming_soon": (
        "Say it is on the roadmap, without a date or a commitment; product will confirm the "
        "timing before they sign."
    ),
    # (not "you will confirm what is possible": product has decided, and a rep who says so
    # leaves the customer waiting for a yes that will not come)
    "never": (
        "Say it is not planned and will not be built; sell what the product does today, and "
        "do not promise it or a workaround."
    ),
}
AVAILABILITY_WORDS = {
    "available": "generally available",
    "beta": "in beta (no SLA)",
    "coming_soon": "coming soon",
    "uncertain": "not committed on the roadmap",
    "never": "not going to be built",
    "unknown": "not on the roadmap",
}


@dataclass(eq=False)
class StoredRule:
    """A rule as stored: its id and version travel into every finding it produces."""

    id: str
    version: int
    enabled: bool
    definition: RuleDefinition

    @cached_property
    def compiled(self) -> CompiledRule:
        return compile_rule(self.definition)


Filter = Callable[[list[Values], Sequence[int], Values], list[int]]


@dataclass(slots=True)
class CompiledRule:
    predicate: Predicate
    # The candidate indexes whose reference values the predicate accepts, in one call.
    matching: Filter
    explain: Explainer
    in_scope: Callable[[Values], bool]
    # Availabilities a reference must have for the rule to possibly match (None: any). Lets
    # the engine skip references without calling the predicate.
    availabilities: frozenset[str] | None
    message: Renderer  # (rule, snapshot, ref, feature, matched) -> text
    applies_to: str
    severity: Severity
    # Deal rules: which references {matched.*} is about ("none", "all", those `matched`
    # accepts, or under a `not` ("unmatched") those it refuses): the first quantifier's inner
    # condition, compiled once.
    matched_kind: str = "none"
    matched: Filter | None = None


# -- compilation ---------------------------------------------------------------------------


def compile_rule(definition: RuleDefinition) -> CompiledRule:
    predicate, explain = _compile(definition.when)
    predicate = _generated_predicate(definition.when) or predicate
    explain = _generated_explain(definition.when) or explain
    matched_kind, matched = "none", None
    if definition.applies_to == "deal" and (found := _first_quantifier(definition.when)):
        if found[1] is None:  # count_references without a where: every reference
            matched_kind = "all"
        else:
            matched_kind = "unmatched" if found[2] else "filter"
            matched = _generated_filter(found[1]) or _filter_of(_compile(found[1])[0])
    return CompiledRule(
        predicate=predicate,
        matching=_generated_filter(definition.when) or _filter_of(predicate),
        explain=explain,
        severity=Severity(definition.severity),
        in_scope=_compile_scope(definition),
        availabilities=_required_availabilities(definition.when)
        if definition.applies_to == "reference"
        else None,
        message=_compile_message(definition.message),
        applies_to=definition.applies_to,
        matched_kind=matched_kind,
        matched=matched,
    )


def _compile_scope(definition: RuleDefinition) -> Callable[[Values], bool]:
    scope = definition.scope
    pipelines = set(scope.pipelines) if scope.pipelines is not None else None
    stages = set(scope.stages) if scope.stages is not None else None
    min_probability = scope.min_stage_probability
    min_amount = scope.min_amount

    def in_scope(deal: Values) -> bool:
        if pipelines is not None and deal["deal.pipeline"] not in pipelines:
            return False
        if stages is not None and deal["deal.stage"] not in stages:
            return False
        if min_probability is not None:
            p = deal["deal.stage.probability"]
            if p is None or not p >= min_probability:
                return False
        if min_amount is not None:  # in the company currency when the CRM converted it
            a = deal["deal.amount_home"]
            if a is None:
                a = deal["deal.amount"]
            if a is None or not a >= min_amount:
                return False
        return True

    return in_scope


def _getter(name: str) -> Callable[[Values | None, Values], Any]:
    if FIELDS[name].scope == "reference":
        return lambda r, d: r.get(name) if r is not None else None
    return lambda r, d: d.get(name)


def _literal(name: str, value: Any) -> Any:
    kind = FIELDS[name].kind
    if kind == "date" and isinstance(value, str):
        return parse_date(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, FieldRef):
        if value.offset_days:
            sign = "+" if value.offset_days > 0 else "-"
            return f"{value.field} {sign} {abs(value.offset_days)} days"
        return value.field
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_OP_WORDS = {"eq": "=", "ne": "!=", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


def describe(node: Condition) -> str:
    """A condition as a person would read it."""
    if node.all_ is not None:
        return " AND ".join(_paren(c) for c in node.all_)
    if node.any_ is not None:
        return " OR ".join(_paren(c) for c in node.any_)
    if node.not_ is not None:
        return f"NOT ({describe(node.not_)})"
    if node.any_reference is not None:
        return f"any reference: ({describe(node.any_reference)})"
    if node.all_references is not None:
        return f"all references: ({describe(node.all_references)})"
    if node.count_references is not None:
        return _describe_count(node.count_references)
    op = node.op or ""
    if op in ("is_null", "not_null"):
        return f"{node.field} {'is empty' if op == 'is_null' else 'is set'}"
    return f"{node.field} {_OP_WORDS.get(op, op.replace('_', ' '))} {_show(node.value)}"


def _describe_count(count: CountReferences) -> str:
    where = f" where ({describe(count.where)})" if count.where is not None else ""
    what = "features" if count.distinct_features else "references"
    return f"number of {what}{where} {_OP_WORDS[count.op]} {count.value}"


def _feature_of(ref: Values) -> Any:
    """What tells one feature from another in `count_references.distinct_features`: its key,
    or for a promise naming nothing on the roadmap, the name it was given."""
    return ref.get("feature.key") or ref.get("feature.name")


def _paren(node: Condition) -> str:
    text = describe(node)
    return (
        f"({text})" if (node.all_ or node.any_) and len(node.all_ or node.any_ or []) > 1 else text
    )


class _Constant:
    """An explainer whose text does not depend on the values (most leaves, and ANDs of them):
    its text is joined once at compile time instead of at every finding."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, r: Values | None, d: Values) -> str:
        return self.text


def _compile(node: Condition) -> tuple[Predicate, Explainer]:
    if node.all_ is not None:
        parts = [_compile(c) for c in node.all_]
        preds = [p for p, _ in parts]
        if all(isinstance(e, _Constant) for _, e in parts):
            texts = [e.text for _, e in parts]  # type: ignore[attr-defined]
            constant = _Constant(" AND ".join(f"({t})" if " OR " in t else t for t in texts))
        else:
            constant = None

        def all_pred(r: Values | None, d: Values) -> bool:
            for p in preds:  # noqa: SIM110  (a plain loop: cheaper than all() over a generator)
                if not p(r, d):
                    return False
            return True

        def all_explain(r: Values | None, d: Values) -> str:
            texts = [e(r, d) for _, e in parts]
            return " AND ".join(f"({t})" if " OR " in t else t for t in texts)

        return all_pred, constant or all_explain
    if node.any_ is not None:
        parts = [_compile(c) for c in node.any_]
        preds = [p for p, _ in parts]

        def any_pred(r: Values | None, d: Values) -> bool:
            for p in preds:  # noqa: SIM110
                if p(r, d):
                    return True
            return False

        def any_explain(r: Values | None, d: Values) -> str:
            for p, e in parts:
                if p(r, d):
                    return e(r, d)
            return describe(node)

        return any_pred, any_explain
    if node.not_ is not None:
        inner, _ = _compile(node.not_)
        return (lambda r, d: not inner(r, d)), _Constant(f"NOT ({describe(node.not_)})")
    if node.any_reference is not None or node.all_references is not None:
        is_any = node.any_reference is not None
        inner_node = node.any_reference if is_any else node.all_references
        inner, inner_explain = _compile(inner_node)  # type: ignore[arg-type]

        def quantifier(r: Values | None, d: Values) -> bool:
            refs = d.get(REFS) or []
            if is_any:
                return any(inner(ref, d) for ref in refs)
            return bool(refs) and all(inner(ref, d) for ref in refs)

        def quantifier_explain(r: Values | None, d: Values) -> str:
            refs = d.get(REFS) or []
            if is_any:
                for ref in refs:
                    if inner(ref, d):
                        name = ref.get("feature.name") or "a reference"
                        return f"any reference: {inner_explain(ref, d)} ({name})"
            return describe(node)

        return quantifier, quantifier_explain
    if node.count_references is not None:
        count = node.count_references
        where = _compile(count.where)[0] if count.where is not None else None
        compare = _COMPARE[count.op]
        target = float(count.value)
        distinct = bool(count.distinct_features)

        def matched(d: Values) -> int:
            refs = d.get(REFS) or []
            if distinct:
                return len({_feature_of(ref) for ref in refs if where is None or where(ref, d)})
            return len(refs) if where is None else sum(1 for ref in refs if where(ref, d))

        text = _describe_count(count)
        return (
            (lambda r, d: compare(float(matched(d)), target)),
            (lambda r, d: f"{text} (found {matched(d)})"),
        )
    return _compile_leaf(node)


_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
    "before": operator.lt,
    "after": operator.gt,
}


def _compile_leaf(node: Condition) -> tuple[Predicate, Explainer]:
    name = node.field
    assert name is not None and node.op is not None  # guaranteed by schema validation
    get = _getter(name)
    op = node.op
    text = describe(node)
    explain = _Constant(text)

    if op == "is_null":
        return (lambda r, d: get(r, d) is None), explain
    if op == "not_null":
        return (lambda r, d: get(r, d) is not None), explain
    if op in ("in", "not_in"):
        members = frozenset(_literal(name, v) for v in node.value)  # type: ignore[union-attr]
        if op == "in":
            return (lambda r, d: (v := get(r, d)) is not None and v in members), explain
        return (lambda r, d: (v := get(r, d)) is not None and v not in members), explain
    compare = _COMPARE[op]
    value = node.value
    if isinstance(value, FieldRef):
        other = _getter(value.field)
        shift = timedelta(days=value.offset_days) if FIELDS[name].kind == "date" else None

        def ref_pred(r: Values | None, d: Values) -> bool:
            a = get(r, d)
            b = other(r, d)
            if a is None or b is None:
                return False
            if shift:
                try:
                    b = b + shift
                except OverflowError:
                    return False
            return compare(a, b)

        def ref_explain(r: Values | None, d: Values) -> str:
            return f"{text} ({_show(get(r, d))} vs {_show(other(r, d))})"

        return ref_pred, ref_explain
    literal = _literal(name, value)
    if literal is None:  # unparseable literal slipped through: never true
        return (lambda r, d: False), explain

    if FIELDS[name].scope == "reference":  # the hot path: one closure, C-level comparison

        def literal_pred(r: Values | None, d: Values) -> bool:
            v = r.get(name) if r is not None else None
            return v is not None and compare(v, literal)

    else:

        def literal_pred(r: Values | None, d: Values) -> bool:
            v = d.get(name)
            return v is not None and compare(v, literal)

    return literal_pred, explain


_PY_OPS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "lte": "<=",
    "gt": ">",
    "gte": ">=",
    "before": "<",
    "after": ">",
}
_MAX_GENERATED_DEPTH = 40


def _shifted(value: Any, delta: timedelta) -> Any:
    """`value + delta` for a date, None when missing or out of range (never true then)."""
    if value is None:
        return None
    if not delta:
        return value
    try:
        return value + delta
    except OverflowError:
        return None


class _Source:
    """Python source for a condition tree, for the generated functions below: comparisons with
    literals, and/or/not inline, anything else (quantifiers, counts) called as the closure
    `_compile` builds. Values never enter the source: field names and literals are bound as
    constants (`_k0`, `_k1`... in `namespace`). Raises RecursionError past
    `_MAX_GENERATED_DEPTH`."""

    def __init__(self) -> None:
        self.namespace: dict[str, Any] = {"_show": _show, "_wrap": _wrap_or}

    def const(self, value: Any) -> str:
        name = f"_k{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def getter(self, name: str) -> str:
        key = self.const(name)
        if FIELDS[name].scope == "reference":
            return f"(r.get({key}) if r is not None else None)"
        return f"d.get({key})"

    def predicate(self, node: Condition, depth: int = 0) -> str:
        """An expression over (r, d) that is true when `node` holds."""
        if depth > _MAX_GENERATED_DEPTH:
            raise RecursionError
        const, getter, predicate = self.const, self.getter, self.predicate
        if node.all_ is not None:
            return "(" + " and ".join(["True", *(predicate(c, depth + 1) for c in node.all_)]) + ")"
        if node.any_ is not None:
            return "(" + " or ".join(["False", *(predicate(c, depth + 1) for c in node.any_)]) + ")"
        if node.not_ is not None:
            return f"(not {predicate(node.not_, depth + 1)})"
        if node.any_reference is not None:
            inner = predicate(node.any_reference, depth + 1)
            return f"any({inner} for r in (d.get({const(REFS)}) or ()))"
        if node.all_references is not None:
            inner = predicate(node.all_references, depth + 1)
            refs = f"(d.get({const(REFS)}) or ())"
            return f"(bool({refs}) and all({inner} for r in {refs}))"
        if node.count_references is not None:
            count = node.count_references
            refs = f"(d.get({const(REFS)}) or ())"
            if count.distinct_features:
                test = "True" if count.where is None else predicate(count.where, depth + 1)
                number = f"len({{{const(_feature_of)}(r) for r in {refs} if {test}}})"
            elif count.where is None:
                number = f"len({refs})"
            else:
                number = f"sum(1 for r in {refs} if {predicate(count.where, depth + 1)})"
            return f"(float({number}) {_PY_OPS[count.op]} {const(float(count.value))})"
        name, op = node.field, node.op
        if name is None or op is None:
            return f"{const(_compile(node)[0])}(r, d)"
        get = getter(name)
        if isinstance(node.value, FieldRef):
            other = getter(node.value.field)
            if FIELDS[name].kind == "date":
                delta = const(timedelta(days=node.value.offset_days))
                other = f"{const(_shifted)}({other}, {delta})"
            return (
                f"((a := {get}) is not None and (b := {other}) is not None and a {_PY_OPS[op]} b)"
            )
        if op == "is_null":
            return f"({get} is None)"
        if op == "not_null":
            return f"({get} is not None)"
        if op in ("in", "not_in"):
            members = const(frozenset(_literal(name, v) for v in node.value))  # type: ignore[union-attr]
            test = "in" if op == "in" else "not in"
            return f"((v := {get}) is not None and v {test} {members})"
        literal = _literal(name, node.value)
        if literal is None:
            return "False"
        return f"((v := {get}) is not None and v {_PY_OPS[op]} {const(literal)})"

    def explain(self, node: Condition, depth: int = 0) -> tuple[str, str | None]:
        """An expression over (r, d) giving the text `_compile`'s explainer gives, and that
        text itself when it does not depend on the values (then the source is a constant)."""
        if depth > _MAX_GENERATED_DEPTH:
            raise RecursionError
        if node.all_ is not None:
            parts = [self.explain(c, depth + 1) for c in node.all_]
            if all(text is not None for _, text in parts):
                return self._constant(" AND ".join(_wrap_or(t) for _, t in parts))  # type: ignore[arg-type]
            pieces = [
                self.const(_wrap_or(text)) if text is not None else f"_wrap({source})"
                for source, text in parts
            ]
            return "(" + ' + " AND " + '.join(pieces) + ")", None
        if node.any_ is not None:
            # The first branch that holds explains the match (the description if none does).
            source = self.const(describe(node))
            for child in reversed(node.any_):
                branch, _ = self.explain(child, depth + 1)
                source = f"({branch} if {self.predicate(child, depth + 1)} else {source})"
            return source, None
        if node.not_ is not None:
            return self._constant(f"NOT ({describe(node.not_)})")
        if (
            node.any_reference is not None
            or node.all_references is not None
            or node.count_references is not None
        ):
            return f"{self.const(_compile(node)[1])}(r, d)", None
        if isinstance(node.value, FieldRef) and node.field is not None:
            # The values compared, unshifted, as `_compile` shows them.
            text, get = self.const(describe(node)), self.getter(node.field)
            other = self.getter(node.value.field)
            return f'({text} + " (" + _show({get}) + " vs " + _show({other}) + ")")', None
        return self._constant(describe(node))

    def _constant(self, text: str) -> tuple[str, str]:
        return self.const(text), text

    def function(self, signature: str, body: str) -> Callable[..., Any]:
        source = f"def _generated({signature}):\n    return {body}\n"
        exec(compile(source, "<rule>", "exec"), self.namespace)  # no data in the source
        return self.namespace.pop("_generated")


def _filter_of(predicate: Predicate) -> Filter:
    """The filter of a predicate that could not be generated (a tree too deep)."""
    return lambda values, candidates, d: [i for i in candidates if predicate(values[i], d)]


def _wrap_or(text: str) -> str:
    """A part of an AND as `_compile` joins it: an OR inside gets parentheses."""
    return f"({text})" if " OR " in text else text


def _generated_predicate(node: Condition) -> Predicate | None:
    """The predicate of `node` as one generated Python function (see `_Source`). Same results
    as the closures, without a Python call per leaf (~380 leaf calls per deal). None if the
    tree is too deep to generate."""
    try:
        code = _Source()
        return code.function("r, d", code.predicate(node))
    except (RecursionError, SyntaxError, MemoryError):
        return None


def _generated_filter(node: Condition) -> Filter | None:
    """`filter(values, candidates, d)`: the candidates i for which `node` holds on values[i],
    in order. One generated loop: a rule that applies to every reference would otherwise call
    its predicate ~30 times per deal."""
    try:
        code = _Source()
        test = code.predicate(node)
        loop = f"[i for i in candidates for r in (values[i],) if {test}]"
        return code.function("values, candidates, d", loop)
    except (RecursionError, SyntaxError, MemoryError):
        return None


def _generated_explain(node: Condition) -> Explainer | None:
    """The explainer of `node` as one generated function: the same text as `_compile`'s
    closures (tests/rules/test_fast_paths.py checks it), in one f-string instead of a call and
    a join per AND/OR level (~40 findings per deal). None if the tree is too deep."""
    try:
        code = _Source()
        source, text = code.explain(node)
        if text is not None:
            return _Constant(text)
        return code.function("r, d", source)
    except (RecursionError, SyntaxError, MemoryError):
        return None


def _required_availabilities(node: Condition) -> frozenset[str] | None:
    """A set S such that the condition can only hold when feature.availability is in S."""
    everything = frozenset(a.value for a in Availability)
    if node.all_ is not None:
        result: frozenset[str] | None = None
        for child in node.all_:
            sub = _required_availabilities(child)
            if sub is not None:
                result = sub if result is None else result & sub
        return result
    if node.any_ is not None:
        subs = [_required_availabilities(c) for c in node.any_]
        if any(s is None for s in subs):
            return None
        return frozenset().union(*subs)  # type: ignore[arg-type]
    if node.field == "feature.availability" and isinstance(node.value, str | list):
        values = frozenset(node.value if isinstance(node.value, list) else [node.value])
        if node.op in ("eq", "in"):
            return values
        if node.op in ("ne", "not_in"):
            return everything - values
    return None


_QUOTE_STOP = re.compile(r'([.!?])(["\u201d])\.')


def _tidy_quote_stops(text: str) -> str:
    """'..." connector.". Nobody' -> '... connector." Nobody': a quoted note sentence keeps
    its own stop; the template's after it is dropped."""
    return _QUOTE_STOP.sub(r"\1\2", text)


def _compile_message(template: str) -> Renderer:
    """The template as one generated function: literal text and every placeholder's expression
    in a single f-string (unknown names render empty). A renderer call per placeholder and a
    join cost more than the rest of a finding (~40 findings per deal). The template's text
    never enters the source: literals are bound as constants, like the predicates' values."""
    namespace: dict[str, Any] = dict(_PLACEHOLDER_HELPERS)
    pieces: list[str] = []

    def literal(text: str) -> None:
        name = f"_t{len(pieces)}"
        namespace[name] = text
        pieces.append("{" + name + "}")

    for text, name in message_parts(template):  # "{{" and "}}" are braces of their own
        if text:
            literal(text)
        source = _PLACEHOLDER_SOURCE.get(name) if name is not None else None
        if source is not None:
            pieces.append("{" + source + "}")
    body = 'f"' + "".join(pieces) + '".strip()' if pieces else '""'
    if '".' in template or "\u201d." in template:  # a quote before a stop: 'connector.". Nobody'
        namespace["_tidy"] = _tidy_quote_stops
        body = f"_tidy({body})"
    source = f"def _render(rule, snap, ref, f, m):\n    return {body}\n"
    exec(compile(source, "<message>", "exec"), namespace)  # no template text in the source
    return namespace["_render"]


# -- values --------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(number) else number


def deal_values(snapshot: DealSnapshot, today: date) -> Values:
    stage = snapshot.stage
    return {
        "deal.name": snapshot.name,
        "deal.pipeline": snapshot.pipeline,
        "deal.stage": stage.id,
        "deal.stage.label": stage.label,
        "deal.stage.probability": _number(stage.probability),
        "deal.stage.is_won": stage.is_won,
        "deal.stage.is_closed": stage.is_closed,
        "deal.amount": _number(snapshot.amount),
        "deal.currency": snapshot.currency,
        "deal.amount_home": _number(snapshot.amount_home),
        "deal.home_currency": snapshot.home_currency,
        "deal.close_date": snapshot.close_date,
        "deal.owner_id": snapshot.owner_id,
        "deal.line_item_count": float(len(snapshot.line_items)),
        "deal.note_count": float(len(snapshot.notes)),
        "today": today,
    }


def reference_values(ref: FeatureReference, feature: Feature | None) -> Values:
    if feature is None:
        return {
            "feature.key": ref.feature_key,
            "feature.name": ref.feature_name,
            "feature.availability": _UNKNOWN,
            "feature.target_date": None,
            "feature.confidence": None,
            "feature.source": None,
            "feature.source_status": None,
            "reference.source": ref.source,
            "reference.is_commitment": ref.is_commitment,
            "reference.is_question": ref.is_question,
            "reference.custom_build": ref.custom_build,
            "reference.promised_date": ref.promised_date,
            "reference.needed_by": ref.needed_by,
            "reference.score": _number(ref.score),
            "reference.hedged": ref.hedged,
            "reference.optional": ref.optional,
        }
    availability = feature.availability
    confidence = feature.confidence
    return {
        "feature.key": ref.feature_key,
        "feature.name": feature.name,
        "feature.availability": (
            _AVAILABILITY_VALUE[availability]
            if type(availability) is Availability
            else availability.value
        ),
        "feature.target_date": feature.target_date,
        "feature.confidence": None if confidence is None else _number(confidence),
        "feature.source": feature.source,
        "feature.source_status": feature.source_status,
        "reference.source": ref.source,
        "reference.is_commitment": ref.is_commitment,
        "reference.is_question": ref.is_question,
        "reference.custom_build": ref.custom_build,
        "reference.promised_date": ref.promised_date,
        "reference.needed_by": ref.needed_by,
        "reference.score": _number(ref.score),
        "reference.hedged": ref.hedged,
        "reference.optional": ref.optional,
    }


# An enum member's `.value` is a Python-level property (~0.2 us): looked up in a dict instead.
_AVAILABILITY_VALUE: dict[Availability, str] = {a: a.value for a in Availability}
_UNKNOWN = Availability.unknown.value


def format_date(value: date | None) -> str | None:
    return _format_date(value) if value else None


@lru_cache(maxsize=4096)
def _format_date(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


# A compiled message: (rule, snapshot, ref, feature, matched) -> text.
Renderer = Callable[
    [RuleDefinition, DealSnapshot, "FeatureReference | None", "Feature | None", Any], str
]


def _feature_confidence(feature: Feature | None) -> str:
    if feature and feature.confidence is not None:
        return f"{round(feature.confidence * 100)}%"
    return "unknown"  # a bare figure like "70%": the default messages say "(confidence …)"


def _deal_amount(snapshot: DealSnapshot) -> str:
    if snapshot.amount is None:
        return "no amount"
    amount = _number(snapshot.amount)
    text = f"{amount:,.0f}" if amount is not None else str(snapshot.amount)
    # A HubSpot deal without its own currency code is in the company currency (HubSpot's
    # default for new deals): "a 125,000 deal" was all a single-currency portal's rep read.
    currency = snapshot.currency or snapshot.home_currency
    return f"{text} {currency}" if currency else text


def _reference_source(ref: FeatureReference | None) -> str:
    if ref is None:
        return ""
    return "a line item" if ref.source == "line_item" else "a note"


def _matched_features(matched: list[FeatureReference] | None) -> str:
    return ", ".join(dict.fromkeys(r.feature_name for r in matched or []))


def _matched_feature_count(matched: list[FeatureReference] | None) -> str:
    """How many features {matched.features} names (one feature in a line item and a note is
    two references, {matched.count}, and one feature)."""
    return str(len(dict.fromkeys(r.feature_name for r in matched or [])))


_PLACEHOLDER_HELPERS: dict[str, Any] = {
    "_words": AVAILABILITY_WORDS,
    "_date": format_date,
    "_confidence": _feature_confidence,
    "_fallback": lambda f: FALLBACK_GUIDANCE_BY_AVAILABILITY.get(
        f.availability.value if f else "unknown", FALLBACK_GUIDANCE
    ),
    "_source": _reference_source,
    "_amount": _deal_amount,
    "_matched": _matched_features,
    "_feature_count": _matched_feature_count,
}
# Each placeholder as a Python expression over (rule, snap, ref, f, m), every one a str; the
# names starting with "_" are _PLACEHOLDER_HELPERS. Double quotes are not allowed inside (the
# expressions sit in a double-quoted f-string).
_PLACEHOLDER_SOURCE: dict[str, str] = {
    "feature.name": "(f.name if f else (ref.feature_name if ref else ''))",
    "feature.key": "((f.key if f else None) or '(not on the roadmap)')",
    "feature.availability": "_words[f.availability.value if f else 'unknown']",
    # "not set", read as a label's value: "(target date: no target date)" and "the deal closes
    # no close date" were what the rep read of a feature or a deal without the date.
    "feature.target_date": "(_date(f.target_date if f else None) or 'not set')",
    "feature.confidence": "_confidence(f)",
    # blank guidance (spaces, a newline) is no guidance: the fallback, not an empty sentence
    "feature.guidance": "((f.guidance or '').strip() if f else '') or _fallback(f)",
    "feature.url": "((f.url if f else None) or '')",
    "reference.evidence": "(ref.evidence if ref else '')",
    "reference.source": "_source(ref)",
    "reference.promised_date": "((_date(ref.promised_date) if ref else None) or 'no stated date')",
    "reference.needed_by": "((_date(ref.needed_by) if ref else None) or 'no stated date')",
    "reference.matched_text": "((ref.matched_text or ref.feature_name) if ref else '')",
    "deal.name": "(snap.name or snap.deal_id)",
    "deal.close_date": "(_date(snap.close_date) or 'not set')",
    "deal.amount": "_amount(snap)",
    "deal.stage": "(snap.stage.label or snap.stage.id)",
    "deal.pipeline": "(snap.pipeline or '')",
    "deal.owner_name": "(snap.owner_name or 'the deal owner')",
    "rule.name": "rule.name",
    "matched.count": "str(len(m or []))",
    "matched.feature_count": "_feature_count(m)",
    "matched.features": "_matched(m)",
}


# -- evaluation ----------------------------------------------------------------------------


_DEAL_FINDING_FIELDS = frozenset(
    ("rule_id", "rule_version", "rule_name", "severity", "message", "clause")
)
_REFERENCE_FINDING_FIELDS = _DEAL_FINDING_FIELDS | {
    "feature_key",
    "feature_name",
    "availability",
    "evidence",
    "source",
}


def _finding(fields_set: frozenset[str], **values: Any) -> Finding:
    """A Finding from values that already have the field types (rule ids and enums from a
    validated rule, text from validated references): validating ~40 findings per deal again
    would cost more than the rules. Same object as `Finding(**values)`."""
    return trusted_model(Finding, fields_set, {**_FINDING_DEFAULTS, **values})


_RESULT_FIELDS = frozenset(("status", "findings", "references"))
_FINDING_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in Finding.model_fields.items()
}


def evaluate(
    snapshot: DealSnapshot,
    catalog: Catalog,
    rules: Sequence[StoredRule],
    *,
    approvals: Sequence[ApprovalGrant] = (),
    today: date | None = None,
    references: list[FeatureReference] | None = None,
) -> EvaluationResult:
    """Findings and verdict for one deal. Pass `references` to skip reading the notes again
    (e.g. re-evaluating a stored snapshot after a roadmap change with unchanged text)."""
    if today is None:
        today = catalog.local_date(datetime.now(UTC))
    refs = references if references is not None else find_references(snapshot, catalog, today=today)
    deal = deal_values(snapshot, today)
    get = catalog.get
    features = [get(r.feature_key) for r in refs]
    values = [reference_values(r, f) for r, f in zip(refs, features, strict=True)]
    by_availability: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        if (same := by_availability.get(v["feature.availability"])) is not None:
            same.append(i)
        else:
            by_availability[v["feature.availability"]] = [i]
    deal[REFS] = values

    # (sort key..., finding, promised date): sorted by severity, reference order (deal rules
    # first), rule id, then the order found (a stable sort, as before).
    hits: list[tuple[int, int, str, int, Finding, date | None]] = []
    # Rules often share the availabilities they can match: their candidates are sorted once.
    candidates_for: dict[frozenset[str], list[int]] = {}
    for rule in sorted(rules, key=lambda r: r.id):
        definition = rule.definition
        if not rule.enabled or not definition.enabled:
            continue
        compiled = rule.compiled
        if not compiled.in_scope(deal):
            continue
        rule_id, version, name = rule.id, int(rule.version), definition.name
        severity = compiled.severity
        rank = -SEVERITY_RANK[severity]
        message, explain = compiled.message, compiled.explain
        # Most explanations do not depend on the values: their text, without a call per finding.
        clause = explain.text if type(explain) is _Constant else None
        if compiled.applies_to == "deal":
            if compiled.predicate(None, deal):
                if compiled.matched_kind == "all":
                    matched = list(refs)
                elif compiled.matched is not None:
                    picked = compiled.matched(values, range(len(refs)), deal)
                    if compiled.matched_kind == "unmatched":
                        kept = set(picked)
                        matched = [ref for i, ref in enumerate(refs) if i not in kept]
                    else:
                        matched = [refs[i] for i in picked]
                else:
                    matched = []
                finding = _finding(
                    _DEAL_FINDING_FIELDS,
                    rule_id=rule_id,
                    rule_version=version,
                    rule_name=name,
                    severity=severity,
                    message=message(definition, snapshot, None, None, matched),
                    clause=explain(None, deal),
                )
                hits.append((rank, -1, rule_id, len(hits), finding, None))
            continue
        wanted = compiled.availabilities
        if wanted is None:
            candidates: Sequence[int] = range(len(refs))
        elif (cached := candidates_for.get(wanted)) is not None:
            candidates = cached
        else:
            candidates = candidates_for[wanted] = sorted(
                i for a in wanted for i in by_availability.get(a, ())
            )
        if not candidates:
            continue
        for i in compiled.matching(values, candidates, deal):
            ref, feature = refs[i], features[i]
            # The hot path (~40 findings per deal): every field, in declaration order.
            finding = trusted_model(
                Finding,
                _REFERENCE_FINDING_FIELDS,
                {
                    "rule_id": rule_id,
                    "rule_version": version,
                    "rule_name": name,
                    "severity": severity,
                    "message": message(definition, snapshot, ref, feature, None),
                    "feature_key": ref.feature_key,
                    "feature_name": feature.name if feature else ref.feature_name,
                    "availability": feature.availability if feature else Availability.unknown,
                    "evidence": ref.evidence,
                    "source": ref.source,
                    "clause": clause if clause is not None else explain(values[i], deal),
                    "approved": False,
                    "approved_by": None,
                    "approval_id": None,
                },
            )
            hits.append((rank, i, rule_id, len(hits), finding, ref.promised_date))
    del deal[REFS]

    # an approval kept past its expiry for the deal signed under it counts only while the deal
    # is won (reopened, it is open business again)
    grants = sorted(
        (g for g in approvals if not g.signed_only or snapshot.stage.is_won), key=lambda g: g.id
    )
    if grants:
        for *_, finding, promised_date in hits:
            grant = _grant_for(finding, promised_date, grants)
            if grant is not None:
                finding.approved = True
                finding.approved_by = grant.approver
                finding.approval_id = grant.id
    hits.sort()  # the keys before the finding are unique (the order found is one of them)
    findings = [hit[4] for hit in hits]
    return trusted_model(
        EvaluationResult,
        _RESULT_FIELDS,
        {"status": verdict(findings), "findings": findings, "references": list(refs)},
    )


def _first_quantifier(
    node: Condition, negated: bool = False
) -> tuple[str, Condition | None, bool] | None:
    """The first quantifier of a deal rule, its inner condition, and whether {matched.*} are
    the references that condition refuses: under an odd number of `not`s a quantifier holds
    for them (`not all_references available` fires for the features not available, and
    named the available ones). A count's references are the ones it counts, `not` or not."""
    if node.any_reference is not None:
        return "any", node.any_reference, negated
    if node.all_references is not None:
        return "all", node.all_references, negated
    if node.count_references is not None:
        return "count", node.count_references.where, False
    for child in [*(node.all_ or []), *(node.any_ or [])]:
        if (found := _first_quantifier(child, negated)) is not None:
            return found
    if node.not_ is not None:
        return _first_quantifier(node.not_, not negated)
    return None


def _grant_for(
    finding: Finding, promised_date: date | None, approvals: Sequence[ApprovalGrant]
) -> ApprovalGrant | None:
    """A grant covers a finding for its feature (and rule, if it names one) of the rules it
    was given for; an off-roadmap grant only the sentences it was given for; a grant given for a
    promised date covers a promise of that date only. So a feature cancelled after an approval
    of its late date, a second off-roadmap promise, or the promise moved to another date blocks
    again: nobody approved those. (An earlier date was covered: product approved "by June",
    the rep then promised "by March", a date product never agreed to and riskier, and the
    deal could close on it.)"""
    for grant in approvals:  # sorted by id: the oldest matching grant is named
        if grant.feature_key != finding.feature_key:
            continue
        if grant.rule_id is not None and grant.rule_id != finding.rule_id:
            continue
        if grant.rule_ids is not None and finding.rule_id not in grant.rule_ids:
            continue
        if grant.evidence is not None and finding.evidence not in grant.evidence:
            continue
        if (
            grant.promised_date is not None
            and promised_date is not None
            and promised_date != grant.promised_date
        ):
            continue
        return grant
    return None


def verdict(findings: Sequence[Finding]) -> VerdictStatus:
    """Any unapproved block -> blocked; any warning or approved block -> warning; else clear."""
    status = VerdictStatus.clear
    for f in findings:
        if f.severity == Severity.block and not f.approved:
            return VerdictStatus.blocked
        if f.severity in (Severity.warning, Severity.block):
            status = VerdictStatus.warning
    return status
