"""Roadmap change fan-out: a changed feature or product mapping re-evaluates the open deals
that depend on it, from their stored snapshots, and queues for write-back only those whose
verdict or findings changed.

Who depends on a change:
- deals whose dependency index (DealFeature) names a changed feature key;
- deals whose stored snapshot mentions a *new* matching term (a feature's new name, alias, SKU
  or product id, or a changed mapping's value): they could not be in the index for that feature
  yet. The snapshot JSON is pre-filtered in SQL with LIKE on pieces of each term that every
  spelling the matcher accepts contains (same on SQLite and PostgreSQL; see `_term_patterns`)
  and confirmed in Python by the matcher itself (`_snapshot_mentions`): a superset of what the
  re-evaluation finds, except a misspelt name in a note (fuzzy matching), which reaches its
  deal at the deal's next change unless the rest of the snapshot lets it through the
  pre-filter (see `_term_patterns` for the exact gaps).
Closed and untracked deals are never touched: their verdict no longer guards anything.
Everything runs in the caller's transaction, so the roadmap change, the new evaluations and the
queue rows commit together.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import String, and_, cast, func, literal, or_, select, true, union_all, update
from sqlmodel import Session

from app.jobs.queue import enqueue_deals
from app.models import Deal, DealFeature

# The matcher's own tokens and plural spellings (private to the catalog on purpose: the
# pre-filter must follow them exactly, and tests/services/test_fanout.py checks it does).
from app.rules.catalog import (
    COMMON_WORDS,
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
Reevaluate = Callable[..., list[str]]


@dataclass
class FanOutResult:
    candidates: int = 0  # open deals re-evaluated
    requeued: dict[str, list[str]] = field(default_factory=dict)  # crm → deal ids queued
    deferred: int = 0  # dependent deals queued for the worker to re-evaluate (large fan-outs)
    ledger_flagged: int = 0  # won deals whose recorded promise this change broke

    @property
    def requeued_count(self) -> int:
        return sum(len(v) for v in self.requeued.values())

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

    Gaps, by design (false negatives; such a deal is re-evaluated at its next change):
    - a misspelt name in a note ("singel sign-on", which the matcher's typo-tolerant search
      finds): no substring search can tell a typo;
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
    is not re-evaluated. A misspelt mention counts only where `near` let the note through."""
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
    if near is not None and not any(near.search(low) for low in lows):
        return False
    typos = catalog.typo_candidates("\n".join(lows))  # as `find_references` reads them
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
    catalog = None
    features: set[str] = set()
    spellings: dict[str, list[tuple[str, ...]]] = {}
    near = None
    if terms:
        from app.services.catalog import load_catalog

        catalog = load_catalog(session)  # cached: the re-evaluation that follows reads it too
        # The features each term is new to (a term another feature already had found its
        # deals for that one); all that have them if the scope does not say.
        features = _term_features(catalog, terms)
        features = features & scope.feature_keys or features
        spellings = _spellings(catalog)
        near = re.compile("|".join(_near_pattern(_stem_pieces(t, spellings)) for t in terms))
    term_keys = {term_key(t) for t in terms}
    codes = {norm_code(v) for v in scope.line_values}
    patterns = {_term_patterns(t, spellings) for t in terms}
    patterns |= {_value_patterns(v) for v in scope.line_values}
    text = cast(Deal.snapshot, String)
    if session.get_bind().dialect.name != "sqlite":  # SQLite's LIKE ignores ASCII case itself
        text = func.lower(text)
    if not terms and len(patterns) > LIKE_CHUNK:
        _line_value_dependents(session, found, scope.line_values, text, open_deal)
        return {crm: ids for crm, ids in found.items() if ids}
    if () in patterns:  # a term with nothing to look for: every open deal is read
        conditions = [true()]
    else:
        conditions = [
            and_(*(text.like(p, escape="\\") for p in group)) for group in sorted(patterns)
        ]
    for start in range(0, len(conditions), LIKE_CHUNK):
        stmt = select(Deal.crm, Deal.deal_id, Deal.snapshot).where(
            *open_deal, or_(*conditions[start : start + LIKE_CHUNK])
        )
        for crm, deal_id, snapshot in session.execute(stmt):
            if deal_id not in found[crm] and _snapshot_mentions(
                snapshot or {}, term_keys, codes, catalog, features, near
            ):
                found[crm].add(deal_id)
    return {crm: ids for crm, ids in found.items() if ids}


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

    result = FanOutResult()
    if not scope:
        return result
    session.flush()  # the re-evaluation reads the catalog through this session
    sync_availability(session, scope.feature_keys)
    if reevaluate is None:
        from app.services.pipeline import reevaluate_stored as reevaluate
    limit = INLINE_LIMIT if inline_limit is None else inline_limit
    dependents = dependent_open_deals(session, scope)
    total = sum(len(ids) for ids in dependents.values())
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


def _enqueue(session: Session, crm: str, ids: Sequence[str], reason: str) -> None:
    for start in range(0, len(ids), ENQUEUE_CHUNK):  # SQLite caps bound parameters
        enqueue_deals(session, crm, ids[start : start + ENQUEUE_CHUNK], reason=reason)
