"""The fast forms of the sentence regexes find exactly what the plain forms find.

Cue and date patterns are searched with a consumed non-word character and a look-ahead of their
possible first characters in front (so `re` skips most of the text in C), and sentence starts
are found with `str.rfind`. These tests compare them with the plain patterns on messy text."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.references import (
    _BOUNDARY,
    _CUES,
    _DATE,
    _cut,
    _lookahead,
    _sentence_span,
    _WordStartPattern,
)

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
    for pattern in (_CUES, _DATE):
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
