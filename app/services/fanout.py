"""Roadmap change fan-out: a changed feature or product mapping re-evaluates the open deals
that depend on it, from their stored snapshots, and queues for write-back only those whose
verdict or findings changed.

Who depends on a change:
- deals whose dependency index (DealFeature) names a changed feature key;
- deals whose stored snapshot mentions a *new* matching term (a feature's new name, alias, SKU
  or product id, or a changed mapping's value): they could not be in the index for that feature
  yet. The snapshot JSON is pre-filtered in SQL with LIKE on pieces of each term that every
  spelling the matcher accepts contains (same on SQLite and PostgreSQL; see `_term_patterns`),
  or, for a name the matcher also finds misspelt ("okta snyc" for "Okta sync"), on pieces
  every misspelling it accepts keeps (see `_typo_alternatives`), and confirmed in Python by
  the matcher itself (`_snapshot_mentions`): a superset of what the re-evaluation finds (see
  `_term_patterns` for the one gap left, on line items). Where more than TYPO_READ_LIMIT
  deals pass a misspelling-tolerant pre-filter they are not confirmed here but returned
  unread, and the worker's re-evaluation confirms them.
Closed and untracked deals are never touched: their verdict no longer guards anything.
Everything runs in the caller's transaction, so the roadmap change, the new evaluations and the
queue rows commit together.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import String, and_, cast, func, literal, or_, select, true, union_all, update
from sqlalchemy import text as sql_text
from sqlmodel import Session

from app.jobs.queue import enqueue_deals
from app.models import Deal, DealFeature

# The matcher's own tokens and plural spellings (private to the catalog on purpose: the
# pre-filter must follow them exactly, and tests/services/test_fanout.py checks it does).
from app.rules.catalog import (
    _MIN_FUZZY_TERM,
    _MIN_FUZZY_TOKEN,
    _TYPO_LONG_WORD,
    COMMON_WORDS,
    FUZZY_CUTOFF,
    MAX_NAME_LENGTH,
    _plural_variants,
    _tokens,
    lower_same_length,
    norm_code,
    term_key,
)
from app.rules.model import Feature

if TYPE_CHECKING:
    from app.rules.catalog import Catalog

ENQUEUE_CHUNK = 1000
LIKE_CHUNK = 50  # LIKE conditions OR-ed in one query (SQLite's expression depth is bounded)
LIKE_UNION = 400  # rows of one UNION ALL (SQLite: at most 500 SELECTs in one compound)
# Above this many dependent deals the fan-out queues them (reason "roadmap") instead of
# re-evaluating inside the caller's transaction: a minutes-long write transaction would hold
# SQLite's write lock and stall webhook acks. The worker re-evaluates them from their stored
# snapshots in batches and writes back only the deals whose result changed.
INLINE_LIMIT = 2000
# Above this many open deals passing a typo-tolerant name's pre-filter and not yet found, the
# fan-out does not read their notes inside the caller's transaction (a name of common words,
# "Single Sign-On": "sign" is in most notes, ~130 µs a deal, seconds at 20,000 deals while
# SQLite's write lock is held): it returns them unconfirmed, a superset, and `fan_out` queues
# them (more than INLINE_LIMIT) for the worker, whose re-evaluation from the stored snapshot
# is the confirmation. At or below it, the matcher reads them here, as for exact names.
TYPO_READ_LIMIT = 2000
# More new names and aliases than this in one change (a big roadmap's first import, a source
# mapping a whole status to another set of features) and every open deal is re-checked: the
# LIKE pre-filter of each term (its spellings and typo alternatives) cost ~8 ms a term to
# build before any deal was read, 150 s for 40,000 terms with no deal at all, where reading
# 50,000 stored deals again takes ~30 s (benchmarks/reevaluate.py).
TERMS_READ_ALL = 1000
Reevaluate = Callable[..., list[str]]
# pg_advisory_xact_lock key serializing fan-outs ("rgfanout" as a number: any fixed bigint).
FANOUT_LOCK_KEY = 0x726766616E6F7574


@dataclass
class FanOutResult:
    candidates: int = 0  # open deals re-evaluated
    requeued: dict[str, list[str]] = field(default_factory=dict)  # crm → deal ids queued
    deferred: int = 0  # dependent deals queued for the worker to re-evaluate (large fan-outs)
    ledger_flagged: int = 0  # won deals whose recorded promise this change broke

    @property
    def requeued_count(self) -> int:
        return sum(len(v) for v in self.requeued.values())

    def summary(self) -> str:
        """Where the dependent deals went, for the CLI: re-checked now, or (above the inline
        limit) queued for the workers, where "0 queued for write-back" read as nothing to do."""
        if self.deferred:
            return (
                f"{self.candidates} open deals queued for the workers to re-check "
                "(progress: GET /api/v1/queue, pending_by_reason.roadmap)"
            )
        return (
            f"{self.candidates} open deals re-evaluated, {self.requeued_count} queued for "
            "write-back"
        )

    def as_dict(self) -> dict:
        return {
            "candidates": self.candidates,
            "requeued": self.requeued_count,
            "deferred": self.deferred,
            "ledger_flagged": self.ledger_flagged,
        }


@dataclass
class ChangeScope:
    """What a set of roadmap changes can affect: feature keys, note terms, line-item values."""

    feature_keys: set[str] = field(default_factory=set)
    terms: set[str] = field(default_factory=set)  # names / aliases that may now match a note
    line_values: set[str] = field(default_factory=set)  # SKUs, product ids, product names

    def __bool__(self) -> bool:
        return bool(self.feature_keys or self.terms or self.line_values)

    def merge(self, other: ChangeScope) -> ChangeScope:
        self.feature_keys |= other.feature_keys
        self.terms |= other.terms
        self.line_values |= other.line_values
        return self


def feature_scope(before: Feature | None, after: Feature | None) -> ChangeScope:
    """The scope of one feature change; empty when nothing a deal can see changed."""
    if before is not None and after is not None and before == after:
        return ChangeScope()
    scope = ChangeScope()
    old_terms = {_match_key(t) for t in _terms(before)}
    old_values = set(_values(before))
    for f in (before, after):
        if f is not None:
            scope.feature_keys.add(f.key)
    scope.terms = {t for t in _terms(after) if _match_key(t) not in old_terms}
    scope.line_values = {v for v in _values(after) if v not in old_values}
    return scope


def mapping_scope(values: Iterable[str], feature_keys: Iterable[str] = ()) -> ChangeScope:
    return ChangeScope(feature_keys=set(feature_keys), line_values={v for v in values if v})


def _terms(feature: Feature | None) -> list[str]:
    if feature is None:
        return []
    return [t for t in [feature.name, *feature.aliases] if t and t.strip()]


def _values(feature: Feature | None) -> list[str]:
    if feature is None:
        return []
    return [v for v in [*feature.skus, *feature.product_ids] if v]


def _match_key(term: str) -> tuple[str, ...]:
    """What the matcher matches `term` by: its words lower-cased (`Catalog` tokens, with
    `str.lower`, not `casefold`: "Straße" and "STRASSE" are different names to it), or the
    name as written for a one-word name that is an ordinary word ("Export" is not "export").
    Two spellings of a name with the same key match the same text; any other edit is a new
    term whose mentions must be looked for."""
    tokens = _tokens(term)
    if len(tokens) == 1 and tokens[0] in COMMON_WORDS:  # Catalog._is_case_sensitive
        return ("=", term.strip())
    return tuple(tokens)


_WORD = re.compile(r"[^\W_]+")  # the catalog's word characters (`_tokens`)
_CAMEL = re.compile(
    r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])|(?<=[^\W_])(?=[A-Z][a-z])|(?<=[a-z])(?=[A-Z])"
)
_MULTI_S = re.compile("s{2,}")  # what "ß" and "ẞ" fold to
TERM_PIECES = 3  # LIKE pieces AND-ed per term: past the longest few they narrow little


def _literal(ch: str) -> bool:
    """Whether SQL compares `ch` (a lower-case character the matcher looks for) as Python does.

    SQLite lower-cases A-Z only (its LIKE ignores the case of ASCII letters alone), and only
    ASCII is folded the same way by every PostgreSQL collation. So an ASCII letter or digit
    is literal, except "k": Python lower-cases the Kelvin sign (U+212A) to it. A non-ASCII
    character is literal when nothing else lower-cases to it (no case: CJK, digits); "ü" is
    not ("Ü"), nor "ß" ("ẞ")."""
    if ch.isascii():
        return ch != "k"
    return ch.upper() == ch


def _like(piece: str) -> tuple[str, int]:
    """A LIKE pattern matching `piece` in any text the matcher reads as it (lower-cased by
    SQL), and how many characters it compares: `_` (one character) where SQL may hold another
    character than Python's lower case (see `_literal`). Characters count, not bytes, on both
    databases, and the snapshot JSON holds word characters as they are (orjson writes UTF-8;
    PostgreSQL's json type keeps the text): only quotes, backslashes and control characters
    are escaped, none of them a word character."""
    out: list[str] = []
    compared = 0
    for ch in piece:
        if _literal(ch):
            out.append("\\" + ch if ch in "%_\\" else ch)
            compared += 1
        else:
            out.append("_")
    return "".join(out), compared


def _cuts(words: Sequence[str]) -> set[int]:
    """Offsets into the joined words where one word ends and the next begins."""
    cuts, at = set(), 0
    for word in words[:-1]:
        at += len(word)
        cuts.add(at)
    return cuts


def _stem_pieces(term: str, spellings: dict[str, list[tuple[str, ...]]]) -> list[str]:
    """Pieces of `term` that every text in which the matcher finds it holds as they are, in
    order, with at most a separator between two of them; [] for a term the matcher ignores.

    How the matcher finds a name (see `Catalog._build_text_matchers`, `name_trie`): in notes,
    the name's words, lower-cased (`str.lower`), joined by a separator it does not look at
    (1-3 spaces, dashes, underscores or slashes, a dot before digits, or none: "CI/CD",
    "CI-CD", "ci cd", "cicd"), with a plural or possessive ending ("proxies" for "Proxy",
    "dashboard" for "Dashboards", "policy's"); a spelling counts for the name whenever its
    letters and digits are the name's, whichever name in the catalog (`spellings`: the trie's
    word sequences by joined letters) it was matched as ("plug-in", a product word, for a
    feature named "Plugin"). On a line item, a product name whose letters and digits are
    the name's ("Audit-Log" for "AuditLog").

    So: the name's words joined, cut down to the part every plural spelling shares (the stem:
    "prox" for proxy/proxies, "dashboard" for Dashboards/dashboard), cut at every place where
    a separator may stand: between the words of this name and of any catalog name spelt with
    the same letters, and where a product name is likely to split it (CamelCase, letters and
    digits).
    """
    words = _tokens(term)
    if not "".join(words):
        return []
    variants = [words, *_plural_variants(words)]
    keys = sorted({"".join(v) for v in variants})
    stem = os.path.commonprefix(keys)
    cuts: set[int] = set()
    for variant in variants:
        cuts |= _cuts(variant)
    for key in keys:
        for other in spellings.get(key, ()):
            cuts |= _cuts(other)
    at = 0
    for raw in _WORD.findall(term):
        if len(raw.lower()) == len(raw):  # offsets hold ("İ" lower-cases to two characters)
            cuts |= {at + m.start() for m in _CAMEL.finditer(raw)}
        at += len(raw.lower())
    bounds = sorted(c for c in cuts if 0 < c < len(stem))
    return [stem[a:b] for a, b in zip([0, *bounds], [*bounds, len(stem)], strict=True)]


def _term_patterns(term: str, spellings: dict[str, list[tuple[str, ...]]]) -> tuple[str, ...]:
    """LIKE patterns (AND-ed) that the lower-cased snapshot JSON of every deal in which the
    matcher can find `term` matches: its longest few `_stem_pieces` (see `_like` for the
    characters SQL folds otherwise than Python); () when nothing can narrow it down.

    A term with no character SQL compares as Python does (a name in Greek or Cyrillic
    letters only: see `_literal`) cannot be narrowed: every open deal is read in Python.

    A misspelt name in a note ("singel sign-on", which the matcher's typo-tolerant search
    finds) is not among these spellings: `_typo_alternatives` adds the pieces every
    misspelling the matcher accepts keeps (`_term_groups` OR-s the two).

    Gap, by design (a false negative; such a deal is re-evaluated at its next change):
    - a line item whose product name splits a one-word name elsewhere than `_stem_pieces`
      cuts it ("Audit Log" for a feature named "Auditlog": same letters, but no piece of
      "auditlog" is in it).
    """
    return _best(_like(p) for p in _stem_pieces(term, spellings))


def _near_pattern(pieces: Sequence[str]) -> str:
    """A regex, over a lower-cased note (`lower_same_length`), that every text the matcher
    reads the name in matches: the pieces, from a word start (no ASCII letter or digit
    before, as the trie requires), with up to three non-word characters between them (any
    separator the trie allows). Cheap to run before the matcher itself, and tells "AI" from
    "again", which LIKE cannot."""
    return r"(?<![a-z0-9])" + r"[\W_]{0,3}".join(re.escape(p) for p in pieces)


# Typo tolerance, as the matcher has it (`Catalog._build_text_matchers`, `_correct`,
# `_fuzzy_windows`): only names of at least _MIN_FUZZY_TERM characters (words joined by one
# space), not a one-word ordinary name matched as written, and only around a misspelt word
# that stands for a name word of at least _MIN_FUZZY_TOKEN letters, one edit from it (two from
# _TYPO_LONG_WORD letters).

Clause = tuple[str, ...]  # pieces, one of which the text holds
Alternative = tuple[Clause, ...]  # clauses, all of which the text satisfies


def _typo_edits(length: int) -> int:
    """The most edits (OSA) a misspelt name `length` characters long (words joined by one
    space) can have and still reach FUZZY_CUTOFF: `normalized_similarity` divides by the
    longer of the two, at most `length` + the edits (all insertions); a hair generous, so
    float rounding never loses a match."""
    edits = 0
    while (edits + 1) * 100 <= (100 - FUZZY_CUTOFF) * (length + edits + 1) + 1e-6:
        edits += 1
    return edits


def _spaced(word: str, parts: int) -> list[str] | None:
    """`word` cut into `parts` pieces as even as can be, one character left out between two
    (so one edit, a transposition included, damages at most one piece); None if too short."""
    room = len(word) - (parts - 1)
    if room < parts:
        return None
    size, extra = divmod(room, parts)
    pieces, at = [], 0
    for i in range(parts):
        n = size + (i < extra)
        pieces.append(word[at : at + n])
        at += n + 1
    return pieces


def _spread(words: Sequence[str], parts: int) -> list[str] | None:
    """`parts` pieces over `words` (each within one word, one character apart within a word),
    the shortest as long as can be: the pieces of a name at most `parts` - 1 edits away,
    at least one of which every such spelling holds as it is."""
    counts = [0] * len(words)
    for _ in range(parts):
        best = max(
            range(len(words)),
            key=lambda i: ((len(words[i]) - counts[i]) // (counts[i] + 1), len(words[i])),
        )
        counts[best] += 1
    pieces: list[str] = []
    for word, n in zip(words, counts, strict=True):
        if n:
            cut = _spaced(word, n)
            if cut is None:
                return None
            pieces += cut
    return pieces


def _one_edit(word: str) -> list[str] | None:
    """Pieces one of which every word at most one edit from `word` holds, where they compare
    more than `_spaced(word, 2)` (a short word): the word with two neighbouring letters
    replaced by one to three others ("?" in a piece: any one character). A substitution,
    deletion or transposition at i, or an insertion after i, keeps word[:i] and word[i + 2:]
    as they are, one to three characters apart (a word's ends need no "?": "%" is there)."""
    spaced = _spaced(word, 2)
    if spaced is not None and _least(spaced) >= 4:
        return spaced
    gapped = [word[2:], word[:-2]] if len(word) > 2 else []
    gapped += [
        word[:i] + "?" * n + word[i + 2 :] for i in range(1, len(word) - 2) for n in (1, 2, 3)
    ]
    if spaced is None or _least(gapped) > _least(spaced):
        return gapped
    return spaced


def _least(pieces: Sequence[str]) -> int:
    """The fewest characters SQL compares of a piece (see `_gapped_like`)."""
    return min((_gapped_like(p)[1] for p in pieces), default=0)


def _gapped_like(piece: str) -> tuple[str, int]:
    """`_like` of a piece that may hold "?" (any one character), and the characters compared."""
    parts = [_like(part) for part in piece.split("?")]
    return "_".join(p for p, _ in parts), sum(n for _, n in parts)


def _clause(pieces: Sequence[str] | None) -> Clause | None:
    """The pieces as a clause, or None where one compares fewer than two characters in SQL
    (see `_like`): dropping such a clause from an AND only lets more deals through."""
    if not pieces or _least(pieces) < 2:
        return None
    return tuple(sorted(set(pieces)))


def _typo_alternatives(term: str) -> tuple[Alternative, ...]:
    """What every note holds in which the matcher finds `term` misspelt: an OR of
    alternatives, each an AND of clauses, each an OR of pieces of the term's words; () for a
    term it never matches with typos (today's exact pieces are enough for it).

    A typo match (see `Catalog._fuzzy_windows`) is a window of as many words as the name,
    around a misspelt word (alphabetic, at least _MIN_FUZZY_TOKEN letters) that `_correct`
    takes for the name's word at some position p:
    - the misspelt word is one edit (OSA: substitution, insertion, deletion, transposition)
      from that word, two when it has _TYPO_LONG_WORD letters or more;
    - in a name of several words, the word after it (before it, for the last word) holds
      the name's word as it is (the neighbour its candidates are looked up by, the word
      read up to 40 characters away: one cut there may be a letter longer);
    - every other word is the name's or one edit from it;
    - the window, its words joined by one space, is `_typo_edits` edits from the name.
    By pigeonhole, a word k edits off keeps one of k + 1 pieces of the name's word that are a
    character apart as they are (`_spaced`; one edit: `_one_edit` where that compares more),
    and so does the window of the name's words joined (`_spread`); each condition is a clause
    of such pieces (a clause with a piece too short for SQL to narrow is left out: the AND
    only lets more deals through), one alternative per position p.

    These follow the catalog's rules (its constants are imported; `_correct`'s two-edit
    length is _TYPO_LONG_WORD here): tests/services/test_fanout_typos.py checks them against
    the matcher over every single edit and many double ones. Cost, not a gap: a name of short
    words narrows little ("Single sign-on": "sign", or a word like "sing" or "s_gle", one
    like "si" or "s_n" and "on"), so most open deals may be read; the matcher itself only
    reads those with a word it takes for a misspelling of the name's (`_typo_words`).
    """
    alternatives = {
        _simplest({c for c in [whole, *map(_clause, pieces)] if c is not None})
        for pieces, whole, _ in _typo_windows(term)
    }
    return tuple(sorted(alternatives))


class _Window(NamedTuple):
    """A typo window of a name (see `_typo_alternatives`), for a misspelt word at p."""

    pieces: list[list[str] | None]  # per word of the name, one of which it holds (None: any)
    whole: Clause | None  # the whole window's clause (None: none SQL can look for)
    word: str  # the name's word at p, the one the misspelt word stands for


def _typo_windows(term: str) -> list[_Window]:
    """`_typo_alternatives` before SQL has a say, one window per position p a misspelt word
    can stand at; [] for a term the matcher never matches with typos."""
    if len(term) > MAX_NAME_LENGTH:
        return []
    words = _tokens(term)
    if not words or len("".join(words)) < 2:
        return []
    if len(words) == 1 and words[0] in COMMON_WORDS:  # Catalog._is_case_sensitive
        return []
    if len(" ".join(words)) < _MIN_FUZZY_TERM:
        return []
    whole = _clause(_spread(words, _typo_edits(len(" ".join(words))) + 1))
    windows: list[_Window] = []
    for p, word in enumerate(words):
        if len(word) < _MIN_FUZZY_TOKEN or not word.isalpha():
            continue
        edits = [1] * len(words)
        edits[p] = 2 if len(word) + 2 >= _TYPO_LONG_WORD else 1
        if len(words) > 1:
            edits[p + 1 if p + 1 < len(words) else p - 1] = 0
        pieces = [
            [w] if k == 0 else _one_edit(w) if k == 1 else _spaced(w, k + 1)
            for w, k in zip(words, edits, strict=True)
        ]
        windows.append(_Window(pieces, whole, word))
    return windows


def _simplest(clauses: set[Clause]) -> Alternative:
    """The clauses without those another one implies (each of its pieces holds one of theirs)."""

    def implies(d: Clause, c: Clause) -> bool:
        return all(any(p in q for p in c) for q in d)

    kept: list[Clause] = []
    for c in sorted(clauses, key=lambda c: (len(c), c)):
        if not any(implies(d, c) for d in kept):
            kept = [d for d in kept if not implies(c, d)] + [c]
    return tuple(sorted(kept))


def _typo_like(alternative: Alternative) -> tuple[tuple[str, ...], ...]:
    """An alternative's clauses as LIKE patterns (see `_like`)."""
    return tuple(
        sorted(tuple(sorted({f"%{_gapped_like(p)[0]}%" for p in clause})) for clause in alternative)
    )


def _term_groups(
    term: str, spellings: dict[str, list[tuple[str, ...]]]
) -> set[tuple[tuple[str, ...], ...]]:
    """The LIKE condition of a new term, as `dependent_open_deals` runs it: groups (OR-ed) of
    clauses (AND-ed) of patterns (OR-ed): its exact spellings' `_term_patterns`, one pattern a
    clause, and its `_typo_alternatives`; a group () lets every deal through."""
    groups = {tuple(sorted((p,) for p in _term_patterns(term, spellings)))}
    groups |= {_typo_like(a) for a in _typo_alternatives(term)}

    def implies(g: tuple[tuple[str, ...], ...], h: tuple[tuple[str, ...], ...]) -> bool:
        # every clause of h holds where some clause of g does ("%o_ta%" where "%o_tas%")
        return all(any(all(any(q[1:-1] in p for q in c) for p in d) for d in g) for c in h)

    kept: list[tuple[tuple[str, ...], ...]] = []  # none implying another: the OR is the same
    for g in sorted(groups, key=lambda g: (len(g), g)):
        if not any(implies(g, h) for h in kept):
            kept = [h for h in kept if not implies(h, g)] + [g]
    return set(kept)


def _typo_words(terms: Iterable[str]) -> frozenset[str]:
    """The words of the new terms a misspelt word of a note must stand for (`Catalog._correct`
    takes it for one of them) for the matcher to find one of the terms misspelt there."""
    return frozenset(w.word for t in terms for w in _typo_windows(t))


def _value_patterns(value: str) -> tuple[str, ...]:
    """The LIKE pattern for a SKU, product id or mapped product name, compared by the catalog
    after `norm_code` (whitespace collapsed, `casefold`): its words, cut where "ß"/"ẞ" may
    stand for "ss", so "Straße Pack" reaches an item "STRASSE PACK" and the reverse.
    Gap: other characters `casefold` expands (ligatures such as "ﬁ", the long "ſ") in a line
    item where the value has plain letters."""
    words = _WORD.findall(norm_code(value))
    return _best(_like(p) for w in words for p in _MULTI_S.split(w) if p)


def _best(likes: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    """The patterns comparing the most characters (at most TERM_PIECES, at least two
    characters each unless none does); () when none compares a character."""
    ranked = sorted({p: n for p, n in likes if n}.items(), key=lambda pn: (-pn[1], pn[0]))
    if not ranked:
        return ()
    kept = [p for p, n in ranked if n >= 2][:TERM_PIECES] or [ranked[0][0]]
    return tuple(f"%{p}%" for p in kept)


def _spellings(catalog: Catalog) -> dict[str, list[tuple[str, ...]]]:
    """The trie's word sequences (names, their plural spellings, product words) by the
    letters they join to."""
    found: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for words in catalog.pattern.terms:
        if len(words) > 1:
            found["".join(words)].append(tuple(words))
    return found


def _term_features(catalog: Catalog, terms: Iterable[str]) -> set[str]:
    """The features the new terms name in `catalog` (the one the re-evaluation reads)."""
    keys = {_match_key(t) for t in terms}
    return {
        f.key
        for f in catalog.features
        if any(_match_key(n) in keys for n in [f.name, *f.aliases] if n and n.strip())
    }


def _snapshot_mentions(
    snapshot: dict,
    term_keys: set[str],
    codes: set[str],
    catalog: Catalog | None,
    features: set[str],
    near: re.Pattern[str] | None = None,
    typo_words: frozenset[str] = frozenset(),
) -> bool:
    """Whether the change can affect this snapshot: a superset of what the matcher finds
    (the re-evaluation that follows decides).

    Line items: a value (SKU, product id, product name; `codes`, after `norm_code`) as the
    catalog compares them; a product name whose letters and digits are a term's (`term_keys`,
    the catalog's last resort before any product mapping decides). Notes: where `near` (the
    new terms' `_near_pattern`s, a cheap superset of the matcher's exact matches) finds
    something, read by the matcher itself, `catalog` (the one the re-evaluation reads), for a
    mention of one of `features` (the features the new terms belong to): plurals,
    separators, possessives and names spelt like another catalog name are as it finds them,
    and a deal that merely holds the pieces ("approximately" for "Proxy", "again" for "AI")
    is not re-evaluated. A misspelt mention counts as the matcher finds it: where `near` finds
    nothing, the notes are still read by the matcher if one of their words is one it takes
    for a misspelling of one of `typo_words` (`_typo_words`; the words `typo_candidates`
    finds, which the matcher's typo search starts from and this shares with it)."""
    for item in snapshot.get("line_items") or []:
        if codes:
            for k in ("sku", "product_id", "name"):
                v = item.get(k)
                if v and norm_code(str(v)) in codes:
                    return True
        if term_keys and term_key(str(item.get("name") or "")) in term_keys:
            return True
    if catalog is None or not features:
        return False
    bodies = [b for b in (str(n.get("body") or "") for n in snapshot.get("notes") or []) if b]
    if not bodies:
        return False
    lows = [lower_same_length(b) for b in bodies]
    exact = near is None or any(near.search(low) for low in lows)
    if not exact and not typo_words:
        return False
    typos = catalog.typo_candidates("\n".join(lows))  # as `find_references` reads them
    if not exact and not any(w in typo_words for words in typos.values() for w in words):
        return False  # no word the matcher may correct to a new term's: no misspelt mention
    for body, low, spans in zip(bodies, lows, catalog.name_spans(lows), strict=True):
        scan = catalog.scan(body, low=low, typos=typos, spans=spans)
        if any(m.feature_key in features for m in scan.mentions):
            return True
    return False


def dependent_open_deals(session: Session, scope: ChangeScope) -> dict[str, set[str]]:
    """crm → open, tracked deal ids that the change can affect."""
    found: dict[str, set[str]] = defaultdict(set)
    open_deal = (Deal.is_closed == False, Deal.tracked == True)  # noqa: E712
    if scope.feature_keys:
        keys = sorted(scope.feature_keys)
        for start in range(0, len(keys), 500):
            stmt = (
                select(DealFeature.crm, DealFeature.deal_id)
                .join(Deal, (Deal.crm == DealFeature.crm) & (Deal.deal_id == DealFeature.deal_id))
                .where(DealFeature.feature_key.in_(keys[start : start + 500]), *open_deal)
                .distinct()
            )
            for crm, deal_id in session.execute(stmt):
                found[crm].add(deal_id)
    terms = {t for t in scope.terms if "".join(_tokens(t))}
    if not terms and not scope.line_values:
        return {crm: ids for crm, ids in found.items() if ids}
    if session.execute(select(Deal.id).where(*open_deal).limit(1)).first() is None:
        return {}  # no open deal to look in: the terms' patterns are not worth building
    if len(terms) > TERMS_READ_ALL:
        for crm, deal_id in session.execute(select(Deal.crm, Deal.deal_id).where(*open_deal)):
            found[crm].add(deal_id)
        return {crm: ids for crm, ids in found.items() if ids}
    catalog = None
    features: set[str] = set()
    spellings: dict[str, list[tuple[str, ...]]] = {}
    near = None
    typo_words: frozenset[str] = frozenset()
    if terms:
        from app.services.catalog import load_catalog

        catalog = load_catalog(session)  # cached: the re-evaluation that follows reads it too
        # The features each term is new to (a term another feature already had found its
        # deals for that one); all that have them if the scope does not say.
        features = _term_features(catalog, terms)
        features = features & scope.feature_keys or features
        spellings = _spellings(catalog)
        near = re.compile("|".join(_near_pattern(_stem_pieces(t, spellings)) for t in terms))
        typo_words = _typo_words(terms)
    term_keys = {term_key(t) for t in terms}
    codes = {norm_code(v) for v in scope.line_values}
    # Each group an AND of clauses, each clause an OR of LIKE patterns; the groups OR-ed.
    patterns = {g for t in terms for g in _term_groups(t, spellings)}
    patterns |= {tuple((p,) for p in _value_patterns(v)) for v in scope.line_values}
    text = cast(Deal.snapshot, String)
    if session.get_bind().dialect.name != "sqlite":  # SQLite's LIKE ignores ASCII case itself
        text = func.lower(text)
    if not terms and len(patterns) > LIKE_CHUNK:
        _line_value_dependents(session, found, scope.line_values, text, open_deal)
        return {crm: ids for crm, ids in found.items() if ids}
    columns = (Deal.crm, Deal.deal_id, Deal.snapshot)
    if session.get_bind().dialect.name != "sqlite":
        # Lower-cased once per deal: PostgreSQL computes lower() again for each LIKE naming
        # it (a typo-tolerant term has a few dozen), unless it is a column of a subquery the
        # planner keeps as it is (one with an OFFSET is never merged into the outer query).
        lowered = select(*columns, text.label("low")).where(*open_deal).offset(0)
        lowered = lowered.subquery("open_deal")
        columns = (lowered.c.crm, lowered.c.deal_id, lowered.c.snapshot)
        text, open_deal = lowered.c.low, ()
    if () in patterns:  # a term with nothing to look for: every open deal is read
        conditions = [true()]
    else:
        conditions = [
            and_(*(or_(*(text.like(p, escape="\\") for p in clause)) for clause in group))
            for group in sorted(patterns)
        ]
    if typo_words:
        unread = _passing(session, found, columns[:2], open_deal, conditions)
        if len(unread) > TYPO_READ_LIMIT:  # queued unread (see TYPO_READ_LIMIT)
            for crm, deal_id in unread:
                found[crm].add(deal_id)
            return {crm: ids for crm, ids in found.items() if ids}
        rows = _snapshots(session, unread)
    else:
        rows = (
            row
            for start in range(0, len(conditions), LIKE_CHUNK)
            for row in session.execute(
                select(*columns).where(*open_deal, or_(*conditions[start : start + LIKE_CHUNK]))
            )
        )
    for crm, deal_id, snapshot in rows:
        if deal_id not in found[crm] and _snapshot_mentions(
            snapshot or {}, term_keys, codes, catalog, features, near, typo_words
        ):
            found[crm].add(deal_id)
    return {crm: ids for crm, ids in found.items() if ids}


def _passing(
    session: Session, found: dict[str, set[str]], keys, open_deal, conditions
) -> list[tuple[str, str]]:
    """The open deals not in `found` that pass the pre-filter `conditions`, by key alone (no
    snapshot sent): a typo-tolerant name's are counted before any is read (TYPO_READ_LIMIT)."""
    passing: set[tuple[str, str]] = set()
    for start in range(0, len(conditions), LIKE_CHUNK):
        stmt = select(*keys).where(*open_deal, or_(*conditions[start : start + LIKE_CHUNK]))
        passing.update((crm, deal_id) for crm, deal_id in session.execute(stmt))
    return sorted((crm, deal_id) for crm, deal_id in passing if deal_id not in found[crm])


def _snapshots(session: Session, keys: Sequence[tuple[str, str]]) -> Iterator:
    """(crm, deal_id, snapshot) of these deals, by key, ENQUEUE_CHUNK at a time."""
    by_crm: dict[str, list[str]] = defaultdict(list)
    for crm, deal_id in keys:
        by_crm[crm].append(deal_id)
    for crm, ids in sorted(by_crm.items()):
        for start in range(0, len(ids), ENQUEUE_CHUNK):
            yield from session.execute(
                select(Deal.crm, Deal.deal_id, Deal.snapshot).where(
                    Deal.crm == crm, Deal.deal_id.in_(ids[start : start + ENQUEUE_CHUNK])
                )
            )


def _matched_codes(snapshot: dict, codes: set[str]) -> set[str]:
    """The `codes` the snapshot's line items carry (SKU, product id, product name), compared
    as `_snapshot_mentions` compares them."""
    return {
        code
        for item in snapshot.get("line_items") or []
        for k in ("sku", "product_id", "name")
        if (v := item.get(k)) and (code := norm_code(str(v))) in codes
    }


def _line_value_dependents(
    session: Session, found: dict[str, set[str]], values: Iterable[str], text, open_deal
) -> None:
    """`dependent_open_deals` for many line values and no terms (a mapping import): the same
    deals (open, passing some value's LIKE pre-filter, carrying one of the values), found with
    one read of the open deals and LIKE run only where it can decide.

    The pre-filter, one OR of LIKEs per LIKE_CHUNK values, read every open deal's snapshot
    once per chunk: 3,000 reads for 150,000 values. Here the values are compared in Python
    first (a set lookup per line item); a deal that carries some is kept if the LIKE of a value
    it carries passes (one query per LIKE_UNION deals), and only a deal where none does (the
    gaps `_value_patterns` names) is compared with every value's LIKE, as before."""
    groups: dict[str, tuple[str, ...]] = {}
    for value in values:
        code = norm_code(value)
        if code not in groups:
            groups[code] = _value_patterns(value)
    codes = set(groups)
    carried: dict[tuple[str, str], set[str]] = {}
    stmt = select(Deal.crm, Deal.deal_id, Deal.snapshot).where(*open_deal)
    for crm, deal_id, snapshot in session.execute(stmt.execution_options(yield_per=500)):
        if deal_id not in found[crm] and (matched := _matched_codes(snapshot or {}, codes)):
            carried[(crm, deal_id)] = matched
    if () in groups.values():  # a value with nothing to look for: every open deal passes
        for crm, deal_id in carried:
            found[crm].add(deal_id)
        return
    # Each deal with the LIKE of each value it carries (padded: "%" matches any text).
    rows = [
        (crm, deal_id, *group, *("%",) * (TERM_PIECES - len(group)))
        for (crm, deal_id), matched in carried.items()
        for group in sorted({groups[c] for c in matched})
    ]
    names = ("crm", "deal_id", *(f"p{i}" for i in range(TERM_PIECES)))
    passed: set[tuple[str, str]] = set()
    for start in range(0, len(rows), LIKE_UNION):
        wanted = union_all(
            *(
                select(*(literal(v).label(n) for v, n in zip(row, names, strict=True)))
                for row in rows[start : start + LIKE_UNION]
            )
        ).subquery()
        stmt = (
            select(Deal.crm, Deal.deal_id)
            .join(wanted, (Deal.crm == wanted.c.crm) & (Deal.deal_id == wanted.c.deal_id))
            .where(*(text.like(wanted.c[f"p{i}"], escape="\\") for i in range(TERM_PIECES)))
        )
        passed.update((crm, deal_id) for crm, deal_id in session.execute(stmt))
    for crm, deal_id in passed:
        found[crm].add(deal_id)
    rest = sorted(set(carried) - passed)
    if not rest:
        return
    conditions = [
        and_(*(text.like(p, escape="\\") for p in g)) for g in sorted(set(groups.values()))
    ]
    for crm in {c for c, _ in rest}:
        ids = [d for c, d in rest if c == crm]
        for start in range(0, len(conditions), LIKE_CHUNK):
            stmt = select(Deal.deal_id).where(
                Deal.crm == crm,
                Deal.deal_id.in_(ids),
                or_(*conditions[start : start + LIKE_CHUNK]),
            )
            found[crm].update(session.execute(stmt).scalars())


def sync_availability(session: Session, keys: Iterable[str]) -> int:
    """Copy these features' current availability (`unknown` once deleted) onto their
    dependency rows, in the caller's transaction; returns the rows rewritten.

    Every change to a feature reaches here through `fan_out` (edit, delete, a roadmap refresh,
    a source's status-mapping edit), whether or not its deals are then re-evaluated or their
    references rewritten, so the exposure split never reads a stale availability. One UPDATE
    per availability and chunk of keys over `ix_deal_feature_feature`; rows already right are
    not written.
    """
    from app.services.queries import feature_availability, mark_availability_first

    keys = list(keys)
    by_value: dict[str, list[str]] = defaultdict(list)
    for key, availability in feature_availability(session, keys).items():
        by_value[availability].append(key)
    rewritten = 0
    for availability, chunk_keys in sorted(by_value.items()):
        for start in range(0, len(chunk_keys), 500):
            rewritten += session.execute(
                update(DealFeature)
                .where(
                    DealFeature.feature_key.in_(chunk_keys[start : start + 500]),
                    DealFeature.availability != availability,
                )
                .values(availability=availability)
            ).rowcount
    if rewritten:  # which row stands for each availability of the deals concerned
        mark_availability_first(session, keys)
    return rewritten


def fan_out(
    session: Session,
    scope: ChangeScope,
    *,
    reason: str = "roadmap",
    reevaluate: Reevaluate | None = None,
    inline_limit: int | None = None,
) -> FanOutResult:
    """Re-evaluate the dependent open deals and queue the ones whose verdict changed.

    Also flags ledger entries (won deals) whose promise the change broke and queues those
    deals, whose write-back carries the followup task.
    """
    from app.services import ledger
    from app.services.pipeline import lock_deals

    result = FanOutResult()
    if not scope:
        return result
    session.flush()  # the re-evaluation reads the catalog through this session
    # One fan-out at a time (PostgreSQL; SQLite has one writer): two at once, for two features
    # of one deal, each marked "first of its availability" from what it saw, and the deal was
    # counted twice in the exposure split. Held until the change's transaction ends.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": FANOUT_LOCK_KEY})
    if reevaluate is None:
        from app.services.pipeline import reevaluate_stored as reevaluate
    limit = INLINE_LIMIT if inline_limit is None else inline_limit
    dependents = dependent_open_deals(session, scope)
    total = sum(len(ids) for ids in dependents.values())
    if total <= limit:
        # The deal rows before their dependency rows, as the worker takes them (see
        # pipeline.lock_deals): a deadlock otherwise, and a stale snapshot's verdict stored.
        lock_deals(session, dependents)
    sync_availability(session, scope.feature_keys)
    for crm, ids in sorted(dependents.items()):
        ordered = sorted(ids)
        result.candidates += len(ordered)
        if total > limit:
            _enqueue(session, crm, ordered, reason)
            result.deferred += len(ordered)
            continue
        changed = reevaluate(session, crm, ordered, reason)
        _enqueue(session, crm, changed, reason)
        if changed:
            result.requeued[crm] = sorted(changed)
    broken = ledger.on_features_changed(session, scope.feature_keys)
    result.ledger_flagged = len(broken)
    by_crm: dict[str, list[str]] = defaultdict(list)
    for crm, deal_id in broken:
        by_crm[crm].append(deal_id)
    for crm, ids in by_crm.items():
        _enqueue(session, crm, ids, "ledger")
    return result


def share_with_fanouts(session: Session) -> None:
    """Hold the fan-out lock shared until the caller's transaction ends (PostgreSQL): a worker
    storing fresh reads waits for a roadmap change's fan-out to commit (and then reads the
    changed roadmap), and a fan-out waits for the stores in flight (and then its availability
    sync sees their dependency rows). A worker's deal newly depending on a feature, stored
    while the feature's availability changed, kept the old availability on its dependency
    rows for good: the fan-out's UPDATE could not see rows not yet committed, and its deal
    rows were not among those the fan-out locked. Workers do not wait for each other."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sql_text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": FANOUT_LOCK_KEY}
        )


def _enqueue(session: Session, crm: str, ids: Sequence[str], reason: str) -> None:
    for start in range(0, len(ids), ENQUEUE_CHUNK):  # SQLite caps bound parameters
        enqueue_deals(session, crm, ids[start : start + ENQUEUE_CHUNK], reason=reason)
