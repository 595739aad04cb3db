"""Roadmap change fan-out: a changed feature or product mapping re-evaluates the open deals
that depend on it, from their stored snapshots, and queues for write-back only those whose
verdict or findings changed.

Who depends on a change:
- deals whose dependency index (DealFeature) names a changed feature key;
- deals whose stored snapshot mentions a *new* matching term (a feature's new name, alias, SKU
  or product id, or a changed mapping's value): they could not be in the index for that feature
  yet. The snapshot JSON is pre-filtered in SQL with LIKE on one ASCII word of each term (same
  on SQLite and PostgreSQL; see `_needle`) and confirmed in Python against the line items and
  note bodies by spelling-independent keys: a superset of what the matcher accepts, except a
  misspelt name in a note (fuzzy matching), which reaches its deal at the deal's next change.
Closed and untracked deals are never touched: their verdict no longer guards anything.
Everything runs in the caller's transaction, so the roadmap change, the new evaluations and the
queue rows commit together.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func, or_, select, update
from sqlmodel import Session

from app.jobs.queue import enqueue_deals
from app.models import Deal, DealFeature
from app.rules.catalog import norm_code, term_key
from app.rules.model import Feature

ENQUEUE_CHUNK = 1000
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
    old_terms = {t.casefold() for t in _terms(before)}
    old_values = set(_values(before))
    for f in (before, after):
        if f is not None:
            scope.feature_keys.add(f.key)
    scope.terms = {t for t in _terms(after) if t.casefold() not in old_terms}
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


_ASCII_RUN = re.compile(r"[a-z0-9]+")


def _needle(term: str) -> str:
    """What the SQL pre-filter looks for in a snapshot's text for `term`: its longest run of
    ASCII letters and digits (3 or more), else the whole term lower-cased.

    The matcher is more forgiving than a substring: "Audit Log" matches "audit-log",
    "AuditLog" and "Audit Log's", a SKU matches with other spacing, and a name with "ü" is
    stored as it is (orjson writes UTF-8) but lower-cased by SQL as ASCII only (SQLite's
    lower() and LIKE fold A-Z alone). One ASCII word of the term is in every text the matcher
    accepts, in any case, on both databases; `_snapshot_mentions` then narrows the rows down.
    """
    folded = term.casefold()
    runs = sorted(_ASCII_RUN.findall(folded), key=len, reverse=True)
    if runs and len(runs[0]) >= 3:
        return runs[0]
    return folded.strip()


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _snapshot_mentions(snapshot: dict, terms: set[str], values: set[str]) -> bool:
    """Whether the change can affect this snapshot: a superset of what the matcher finds
    (the re-evaluation that follows decides). Terms are compared by their spelling-independent
    key (letters and digits, lower-cased), contained in the line item name or note; values
    (SKU, product id, product name) as the catalog compares them (spacing and case aside)."""
    term_keys = {k for k in (term_key(t) for t in terms) if k}
    codes = {norm_code(v) for v in values}
    for item in snapshot.get("line_items") or []:
        for k in ("sku", "product_id", "name"):
            v = item.get(k)
            if v and norm_code(str(v)) in codes:
                return True
        name = term_key(str(item.get("name") or ""))
        if any(t in name for t in term_keys):
            return True
    if term_keys:
        for note in snapshot.get("notes") or []:
            body = term_key(str(note.get("body") or ""))
            if any(t in body for t in term_keys):
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
    needles = {_needle(t) for t in (*scope.terms, *scope.line_values)} - {""}
    if needles:
        text = func.lower(cast(Deal.snapshot, String))
        likes = [text.like(_like_pattern(n), escape="\\") for n in sorted(needles)]
        for start in range(0, len(likes), 50):
            stmt = select(Deal.crm, Deal.deal_id, Deal.snapshot).where(
                *open_deal, or_(*likes[start : start + 50])
            )
            for crm, deal_id, snapshot in session.execute(stmt):
                if deal_id not in found[crm] and _snapshot_mentions(
                    snapshot or {}, scope.terms, scope.line_values
                ):
                    found[crm].add(deal_id)
    return {crm: ids for crm, ids in found.items() if ids}


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
