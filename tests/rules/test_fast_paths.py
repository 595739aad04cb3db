"""The fast paths give exactly what the plain forms give.

Cue and date patterns are searched with a consumed non-word character and a look-ahead of their
possible first characters in front (so `re` skips most of the text in C), sentence starts are
found with `str.rfind`, and rule predicates are generated as one Python function per rule.
These tests compare each with the plain form on messy or generated input."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules.engine import (
    REFS,
    _compile,
    _Constant,
    _generated_explain,
    _generated_filter,
    _generated_predicate,
    deal_values,
    reference_values,
)
from app.rules.model import DealSnapshot
from app.rules.references import (
    _BOUNDARY,
    _CUES,
    _DATE,
    _OBJECT_WORD,
    _PROMISE_AT,
    _UNKNOWN_OBJECT,
    _cut,
    _first_char_class,
    _lookahead,
    _sentence_span,
    _unknown_object,
    _WordStartPattern,
    find_references,
)
from app.rules.schema import FIELDS, OPS_BY_KIND, Condition

from .test_properties import CATALOG, conditions, deal_conditions, snapshots

WORDS = [
    "we", "will", "have", "we'll", "we\u2019ll", "build", "it", "custom", "connector", "by", "q3",
    "q1 2027", "h2", "end", "of", "march", "may", "june", "30", "2027-05-01", "3/15/2027",
    "next", "quarter", "in", "2", "weeks", "don't", "need", "not", "no", "longer", "needed",
    "asked", "whether", "do", "you", "support", "sso", "scim", "promised", "committed", "the",
    "contract", "is", "are", "there", "e.g.", "approx.", "vs.", "mr.", "without", "instead",
    "rather", "than", "out", "scope", "guarantee", "dashboards", "eoq", "this", "year-end",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", ", ", ". ", "; ", "? ", "! ", "\n", " - ", "\u2014", "<br>", ""]

texts = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), min_size=1, max_size=30
).map(lambda parts: "".join(w + sep for w, sep in parts))


def _plain_spans(pattern: re.Pattern[str], low: str, a: int, b: int) -> list[tuple]:
    return [(m.lastgroup, m.start(m.lastgroup or 0), m.end()) for m in pattern.finditer(low, a, b)]


def _fast_spans(pattern: _WordStartPattern, low: str, a: int, b: int) -> list[tuple]:
    return [(m.lastgroup, m.start(m.lastgroup or 0), m.end()) for m in pattern.finditer(low, a, b)]


@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_cue_and_date_patterns_match_like_the_plain_ones(text: str, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, len(text)))
    b = data.draw(st.integers(a, len(text)))
    for pattern in (_CUES, _DATE, _PROMISE_AT):
        assert _fast_spans(pattern, text, a, b) == _plain_spans(pattern.plain, text, a, b)


def test_the_fast_patterns_really_skip_word_starts() -> None:
    # The look-ahead is there (a pattern that can start with anything would get none) ...
    assert _lookahead(_CUES.plain.pattern).startswith("(?=")
    assert _lookahead(_DATE.plain.pattern).startswith("(?=")
    assert _lookahead(r"\w+ing") == ""
    # ... and accepts every way the pattern can begin, optional and repeated parts included.
    check = re.compile(_lookahead(r"(?:ab?)?c|x{2,3}y|[pq]r|\d-"))
    for start in ["c", "ac", "abc", "xxy", "pr", "qr", "7-"]:
        assert check.match(start), start
    for start in ["b", "d", "yx", "r"]:
        assert not check.match(start), start
    # Four characters deep: ordinary words sharing a cue's first two letters are turned away.
    cue_start = re.compile(_lookahead(_CUES.plain.pattern, 4))
    for start in ["will ", "we'll", "by q", "could", "not "]:
        assert cue_start.match(start), start
    for start in ["and ", "because", "week", "what", "demo"]:
        assert not cue_start.match(start), start
    # The object words are led by the class of their first letters (or nothing, when unsure).
    assert _OBJECT_WORD.pattern.startswith("(?=[acdefimprsvw])")
    assert _first_char_class(r"ab|cd?|(?:ex|fy)z") == "(?=[acef])"
    assert _first_char_class(r"a?b") == ""
    assert _first_char_class(r"[ab]c|d") == ""


OBJECT_WORDS = [
    "integration", "connectors", "api", "plug-in", "add-ons", "report", "sync", "version",
    "capabilities", "support for", "support", "for", "sap", "billing", "x/y", "a.b", "r&d",
    "custom", "new", "by", "q3", "xintegration", "integrations2", "-", "build", "them", "a",
]  # fmt: skip
object_texts = st.lists(
    st.tuples(
        st.sampled_from(OBJECT_WORDS + WORDS),
        st.sampled_from([*SEPARATORS, "  ", "\t", " \n ", "\u00a0"]),
    ),
    min_size=1,
    max_size=30,
).map(lambda parts: "".join(w + sep for w, sep in parts))


@settings(max_examples=500, deadline=None)
@given(object_texts, st.data())
def test_unknown_object_search_matches_the_plain_one(text: str, data: st.DataObject) -> None:
    a = data.draw(st.integers(0, len(text)))
    b = data.draw(st.integers(a, len(text)))
    fast, plain = _unknown_object(text, a, b), _UNKNOWN_OBJECT.search(text, a, b)
    assert (fast and fast.span()) == (plain and plain.span())


@settings(max_examples=300, deadline=None)
@given(texts, st.data())
def test_sentence_start_is_the_last_boundary_before_the_hit(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text)))
    last = None
    for last in _BOUNDARY.finditer(text, 0, start):  # noqa: B007  (the plain way)
        pass
    a = _cut(last) if last is not None else 0
    while a < len(text) and text[a].isspace():
        a += 1
    span = _sentence_span(text, text, start, start)
    assert span[0] == min(a, span[1])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    snapshot=snapshots,
    when=st.one_of(conditions, deal_conditions),
    today=st.dates(date(2, 1, 1), date(9998, 12, 31)),
)
def test_generated_predicates_agree_with_the_closures(
    snapshot: DealSnapshot, when: dict, today: date
) -> None:
    node = Condition.model_validate(when)
    generated = _generated_predicate(node)
    assert generated is not None
    closure = _compile(node)[0]
    refs = find_references(snapshot, CATALOG, today=today)
    deal = deal_values(snapshot, today)
    values = [reference_values(r, CATALOG.get(r.feature_key)) for r in refs]
    deal[REFS] = values
    for r in [None, *values]:
        try:
            expected = bool(closure(r, deal))
        except TypeError:
            with pytest.raises(TypeError):
                generated(r, deal)
            continue
        assert bool(generated(r, deal)) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    snapshot=snapshots,
    when=st.one_of(conditions, deal_conditions),
    today=st.dates(date(2, 1, 1), date(9998, 12, 31)),
)
def test_generated_explanations_and_filters_agree_with_the_closures(
    snapshot: DealSnapshot, when: dict, today: date
) -> None:
    node = Condition.model_validate(when)
    explain, matching = _generated_explain(node), _generated_filter(node)
    assert explain is not None and matching is not None
    predicate, closure_explain = _compile(node)
    refs = find_references(snapshot, CATALOG, today=today)
    deal = deal_values(snapshot, today)
    values = [reference_values(r, CATALOG.get(r.feature_key)) for r in refs]
    deal[REFS] = values
    expected_matches: list[int] | None = []
    for i, r in enumerate([None, *values]):
        try:
            expected = closure_explain(r, deal)
            holds = predicate(r, deal)
        except TypeError:  # the generated predicates raise alike (see above)
            expected_matches = None if i else expected_matches
            continue
        assert explain(r, deal) == expected
        if i and holds and expected_matches is not None:
            expected_matches.append(i - 1)
    if expected_matches is not None:
        assert matching(values, range(len(values)), deal) == expected_matches


def test_generated_explanations_show_the_compared_values_and_the_branch_taken() -> None:
    node = Condition.model_validate(
        {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "uncertain"},
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
        }
    )
    explain = _generated_explain(node)
    d = {"deal.close_date": date(2027, 3, 1)}
    assert explain({"feature.target_date": None}, d) == (
        "feature.availability = uncertain AND feature.target_date is empty"
    )
    assert explain({"feature.target_date": date(2027, 6, 30)}, d) == (
        "feature.availability = uncertain AND "
        "feature.target_date after deal.close_date + 30 days (2027-06-30 vs 2027-03-01)"
    )
    constant = _generated_explain(Condition.model_validate({"not": node}))
    assert isinstance(constant, _Constant)


def test_generated_predicates_keep_literals_out_of_the_source() -> None:
    node = Condition.model_validate(
        {"field": "feature.name", "op": "eq", "value": "x') or __import__('os') or ('"}
    )
    predicate = _generated_predicate(node)
    assert predicate is not None
    assert predicate({"feature.name": "x') or __import__('os') or ('"}, {}) is True
    assert predicate({"feature.name": "x"}, {}) is False


@pytest.mark.parametrize(
    ("field", "literal", "values"),
    [
        ("reference.score", 80, [None, 79.0, 80.0, 81.0]),
        ("feature.target_date", "2027-03-01", [None, date(2027, 2, 28), date(2027, 3, 1)]),
        ("deal.close_date", "2027-03-01", [None, date(2027, 3, 1), date(2027, 3, 2)]),
        ("feature.availability", "beta", [None, "beta", "never"]),
        ("reference.is_commitment", True, [None, True, False]),
    ],
)
def test_generated_predicates_agree_at_the_boundaries(field: str, literal, values: list) -> None:
    kind = FIELDS[field].kind
    for op in OPS_BY_KIND[kind]:
        node = {"field": field, "op": op}
        if op in ("in", "not_in"):
            node["value"] = [literal]
        elif op not in ("is_null", "not_null"):
            node["value"] = literal
        condition = Condition.model_validate(node)
        generated, closure = _generated_predicate(condition), _compile(condition)[0]
        assert generated is not None
        for value in values:
            r, d = {field: value}, {field: value}
            assert bool(generated(r, d)) == bool(closure(r, d)), (op, value)


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_generated_field_comparisons_agree_at_the_boundaries(offset: int) -> None:
    close = date(2027, 3, 1)
    shifted = date.fromordinal(close.toordinal() + offset)
    targets = [None, shifted.replace(day=1) if shifted.day > 1 else shifted, shifted]
    targets.append(date.fromordinal(shifted.toordinal() + 1))
    for op in OPS_BY_KIND["date"]:
        if op in ("in", "not_in", "is_null", "not_null"):
            continue
        condition = Condition.model_validate(
            {
                "field": "feature.target_date",
                "op": op,
                "value": {"field": "deal.close_date", "offset_days": offset},
            }
        )
        generated, closure = _generated_predicate(condition), _compile(condition)[0]
        assert generated is not None
        for target in targets:
            for close_date in (close, None, date.max):  # date.max + offset overflows
                r, d = {"feature.target_date": target}, {"deal.close_date": close_date}
                assert bool(generated(r, d)) == bool(closure(r, d)), (op, target, close_date)


def test_generated_reference_counts_agree() -> None:
    refs = [{"reference.is_commitment": flag} for flag in (True, True, False)]
    for op in ("eq", "ne", "lt", "lte", "gt", "gte"):
        for value in (1, 2, 3):
            condition = Condition.model_validate(
                {
                    "count_references": {
                        "where": {"field": "reference.is_commitment", "op": "eq", "value": True},
                        "op": op,
                        "value": value,
                    }
                }
            )
            generated, closure = _generated_predicate(condition), _compile(condition)[0]
            assert generated is not None
            for d in ({REFS: refs}, {REFS: []}, {}):
                assert bool(generated(None, d)) == bool(closure(None, d)), (op, value, d)
