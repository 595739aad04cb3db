"""Every feature name in a lower-cased text, in one pass: the catalog's trie of names as one
regular expression, run by RE2.

What a match is (the plain `re` pattern `_re_source` builds says it most directly): a name's
words with a separator of one to three spaces, dashes, underscores or slashes between them
("multi-region" = "multi region" = "multi  region") or none ("multiregion"), or a dot before
digits ("OAuth 2.0"); then an optional plural or possessive ending ("SSOs", "Salesforce's");
with no letter or digit on either side. At each place the longest continuation wins (the trie
tries to go on before it stops), and matches do not overlap.

Why RE2: Python's `re` backtracks through the trie at every word start of the text (~20 ns per
character of notes). RE2 runs it as a lazily built DFA in one forward scan (~2x faster on 20 KB
of notes per deal, measured with the benchmark's catalog of 1,000 features x 3 aliases), with
the same match at each place as backtracking gives (RE2's leftmost-first semantics are Perl's).
RE2 has no look-around, so the pattern says the same thing differently: the character before a
name is consumed (or the text starts there), so is the one after it (or the text ends there),
and the next search starts again at that character; a dot separator is only offered before a
word that starts with a digit. Non-ASCII whitespace is mapped to a space before the scan (RE2
would compile the Unicode class into every separator of the trie, a 3x bigger program), so the
character classes are ASCII.

RE2's DFA needs memory in proportion to the trie (~15 MB for 1,000 features with 3 aliases,
~100 MB for 5,000): past `_RE2_MAX_TERMS` names (about 6,500 features with 3 aliases) its
cache would keep being rebuilt and the scan gets 3x slower than `re` (measured with 10,000
features), so bigger roadmaps, and any trie RE2 cannot compile, use the plain `re` pattern:
same matches, the speed it had before.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence

try:  # google-re2: RE2's own bindings (binary wheels); the C++ object itself, whose public
    # wrapper adds Python work to every match. Pinned below 2; should a release move this
    # private module, names are matched by `re` (same matches, the old speed), not an error.
    from re2 import _re2
except ImportError:  # pragma: no cover - exercised only by a broken or missing install
    _re2 = None

# Endings after a name: "SSOs", "dashboards", "Salesforce's", "APIs'" (tried in this order).
_ENDINGS = ("'s", "\u2019s", "s'", "es", "s")
_RE_SEP = r"(?:[\s\-_/]{1,3}|\.(?=[0-9])|)"
_RE_SUFFIX = "(?:" + "|".join(re.escape(e) for e in _ENDINGS) + ")?"
_RE2_SEP_RUN = r"[\t-\r\x1c-\x20\-_/]{1,3}"  # \s, once non-ASCII whitespace is a space

_NON_ASCII_SPACE = re.compile(
    "[" + "".join(chr(c) for c in range(128, sys.maxunicode + 1) if chr(c).isspace()) + "]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNANCHORED = _re2.RE2.Anchor.UNANCHORED if _re2 is not None else None
_RE2_MEM_PER_TERM = 16 << 10  # DFA budget per name (the DFA needed ~13 KB per name)
_RE2_MIN_MEM, _RE2_MAX_MEM = 64 << 20, 512 << 20
_RE2_MAX_TERMS = 25_000


def _re2_literal(ch: str) -> str:
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):x}}}"


_RE2_SUFFIX = "((?:" + "|".join("".join(_re2_literal(c) for c in e) for e in _ENDINGS) + ")?)"


def _trie(terms: Iterable[Sequence[str]]) -> dict:
    """Token sequences as a character trie; " " stands for the separator between words and
    "" marks the end of a name."""
    root: dict = {}
    for tokens in terms:
        node = root
        for i, tok in enumerate(tokens):
            if i:
                node = node.setdefault(" ", {})
            for ch in tok:
                node = node.setdefault(ch, {})
        node[""] = {}
    return root


def _chain(node: dict) -> tuple[str, dict]:
    """The letters (or digits) of `node`'s single path down to where it branches, a name ends
    or a word ends, and the node there. The builders below emit such a run as one literal and
    recurse only where the trie branches: recursing per character would exhaust Python's
    stack on a name a few hundred characters long (the trie is as deep as its longest name)."""
    run: list[str] = []
    while "" not in node and len(node) == 1:
        (ch,) = node
        if ch == " ":
            break
        run.append(ch)
        node = node[ch]
    return "".join(run), node


def _branches(node: dict) -> list[str]:
    # The separator first: it may be empty, and then the next word competes with letters that
    # continue this one ("multi region" against "multiregion..."); letters and digits exclude
    # each other, so their order does not matter.
    return sorted((ch for ch in node if ch), key=lambda ch: (ch != " ", ch))


def _re_source(terms: Iterable[Sequence[str]]) -> str:
    """The trie for Python's `re`: group 1 is the name; the ending and the check that no letter
    or digit follows come after it. The meaning of a match, spelt plainly."""

    def build(node: dict) -> str:
        alternatives = []
        for ch in _branches(node):
            if ch == " ":
                alternatives.append(_RE_SEP + build(node[ch]))
                continue
            run, rest = _chain(node[ch])
            alternatives.append("".join(re.escape(c) for c in ch + run) + build(rest))
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return "(" + build(_trie(terms)) + ")" + _RE_SUFFIX + r"(?![a-z0-9])"


def _re2_source(terms: Iterable[Sequence[str]]) -> str:
    """The same trie for RE2: group 1 the name, group 2 its ending; the characters around the
    match are consumed instead of looked at."""

    def alternatives(node: dict, digits_only: bool = False) -> list[str]:
        out = []
        for ch in _branches(node):
            if digits_only and not ch.isdigit():
                continue
            if ch != " ":
                run, rest = _chain(node[ch])
                out.append("".join(_re2_literal(c) for c in ch + run) + build(rest))
                continue
            words = node[" "]
            branch = f"(?:{_RE2_SEP_RUN})?(?:" + "|".join(alternatives(words)) + ")"
            if numbers := alternatives(words, digits_only=True):
                branch = "(?:" + branch + r"|\.(?:" + "|".join(numbers) + "))"
            out.append(branch)
        return out

    def build(node: dict) -> str:
        found = alternatives(node)
        if not found:
            return ""
        body = found[0] if len(found) == 1 else "(?:" + "|".join(found) + ")"
        return f"(?:{body})?" if "" in node else body

    return r"(?:^|[^a-z0-9])(" + build(_trie(terms)) + ")" + _RE2_SUFFIX + r"(?:[^a-z0-9]|$)"


class NameTrie:
    """Names (token sequences, lower case) found in lower-cased text; see the module doc."""

    __slots__ = ("terms", "_re2", "_re", "_re_at_start")

    def __init__(
        self, terms: Iterable[Sequence[str]], *, warm_up: Iterable[str] = (), use_re2: bool = True
    ) -> None:
        """`warm_up`: ordinary words the notes are made of, read once with every name (below).
        `use_re2=False` runs the plain `re` pattern (the tests compare the two)."""
        self.terms = terms = [tuple(t) for t in terms]
        self._re2 = None
        if use_re2 and _re2 is not None and len(terms) <= _RE2_MAX_TERMS:
            options = _re2.RE2.Options()
            options.max_mem = min(_RE2_MAX_MEM, max(_RE2_MIN_MEM, _RE2_MEM_PER_TERM * len(terms)))
            options.log_errors = False
            compiled = _re2.RE2(_re2_source(terms).encode(), options)
            self._re2 = compiled if compiled.ok() else None
        self._re: re.Pattern[str] | None = None
        self._re_at_start: re.Pattern[str] | None = None
        if self._re2 is None:
            # A match starts with the non-word character before the name, so `re` skips the
            # letters inside words in a C loop; the text's first character is tried alone.
            source = _re_source(terms)
            self._re = re.compile(r"[^a-z0-9]" + source)
            self._re_at_start = re.compile(source)
        else:
            # RE2 builds its DFA lazily, a state the first time a text reaches it: reading every
            # name and the usual words once here (~80 ms for 4,000 names) spares the first
            # deals after a roadmap change most of that (0.44 -> 0.23 ms for the first 30
            # deals of the benchmark, 0.16 once warm).
            self.spans(" . ".join([" ".join(t) for t in terms] + [" ".join(warm_up)]))

    @property
    def engine(self) -> str:
        return "re2" if self._re2 is not None else "re"

    def spans(self, low: str) -> list[tuple[int, int, int]]:
        """(name start, name end, match end with the ending) of every match in `low`."""
        if self._re2 is None:
            return self._re_spans(low)
        return self._re2_spans(_ascii_spaces(low))

    def spans_each(self, lows: Sequence[str]) -> list[list[tuple[int, int, int]]]:
        """`[self.spans(low) for low in lows]`, in one RE2 scan of the texts joined by NUL.

        Why: each scan has a fixed cost (a search started, the text encoded), ~2 us a text,
        and a deal has ~10 notes. The matches are the same: NUL is neither a name character,
        a separator nor part of an ending, so no match runs across it, and as the (non-word)
        character before and after each text it lets a name start or end there as the start
        and end of the text itself do. Non-ASCII whitespace is mapped in the notes that have
        any non-ASCII character only, before they are joined.
        """
        if len(lows) < 2 or self._re2 is None:
            return [self.spans(low) for low in lows]
        found = self._re2_spans("\x00".join([_ascii_spaces(low) for low in lows]))
        out: list[list[tuple[int, int, int]]] = []
        i, n, base = 0, len(found), 0
        for low in lows:
            end = base + len(low)
            j = i
            while j < n and found[j][0] < end:
                j += 1
            if base:
                out.append([(a - base, b - base, c - base) for a, b, c in found[i:j]])
            else:
                out.append(found[i:j])
            i, base = j, end + 1
        return out

    def _re2_spans(self, text: str) -> list[tuple[int, int, int]]:
        assert self._re2 is not None
        try:
            data = text.encode()
        except UnicodeEncodeError:  # lone surrogates: unencodable, and non-word characters too
            data = _SURROGATE.sub("\ufffd", text).encode()  # (rare: not looked for first)
        match, anchor, size = self._re2.Match, _UNANCHORED, len(data)
        found: list[tuple[int, int, int]] = []
        pos = 0
        while True:
            spans = match(anchor, data, pos, size)
            start, end = spans[1]
            if start < 0:
                break
            pos = spans[2][1]  # the character after the ending may lead the next name
            found.append((start, end, pos))
        if size != len(text) and found:
            found = _char_offsets(data, found)
        return found

    def findall(self, low: str) -> list[str]:
        """The names matched in `low`, as written there."""
        return [low[a:b] for a, b, _ in self.spans(low)]

    def _re_spans(self, low: str) -> list[tuple[int, int, int]]:
        assert self._re is not None and self._re_at_start is not None
        found = []
        pos = 0
        first = self._re_at_start.match(low)
        if first is not None:
            found.append((first.start(1), first.end(1), first.end()))
            pos = first.end()
        found += [(m.start(1), m.end(1), m.end()) for m in self._re.finditer(low, pos)]
        return found


def _ascii_spaces(low: str) -> str:
    """Non-ASCII whitespace as a space, one character for one (same offsets): see the module
    docstring."""
    return low if low.isascii() else _NON_ASCII_SPACE.sub(" ", low)


def _char_offsets(data: bytes, found: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """UTF-8 byte offsets into `data` as character offsets. The offsets never decrease from
    one to the next (a match ends before the next starts), so each stretch of bytes is
    decoded once: a deal's notes are scanned as one text."""
    out = []
    last_byte = last_char = 0

    def chars(offset: int) -> int:
        nonlocal last_byte, last_char
        last_char += len(data[last_byte:offset].decode())
        last_byte = offset
        return last_char

    for a, b, c in found:
        out.append((chars(a), chars(b), chars(c)))
    return out
