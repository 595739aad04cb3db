"""Refreshing roadmap sources: periodically (one worker in the cluster, via @schedule) and on
demand (POST /api/v1/roadmap/sources/{name}/refresh, `roadmap-guard roadmap refresh`).

The fetch runs outside any database transaction (a slow roadmap API must not hold locks). Then,
in ONE transaction: the source's features are replaced (created, updated, deleted), the status
mapping turns source status names into availabilities, the change is audited, and the open
deals that depend on a changed feature are re-evaluated and queued (fan-out). A failed fetch,
a bad payload or a key clash changes no feature: the last good catalog stays, and the error,
last success time and staleness are recorded on the source (API and ROADMAP_STALENESS gauge),
and the failure is logged at warning ("roadmap source refresh failed ...", with the source and
error); a good refresh is logged at info ("roadmap source refreshed"). Two refreshes of one
source may overlap (the schedule's and the API's): one that another overtook, storing while it
was reading, does not store its possibly older read over that one's.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import structlog
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.connectors.roadmap import REGISTRY, FetchResult, SourceError, build_source, map_status
from app.db import session_scope
from app.errors import Invalid, NotFound
from app.jobs.schedules import JobContext, schedule
from app.metrics import ROADMAP_STALENESS
from app.models import Feature as FeatureRow
from app.models import ProductMapping, RoadmapSource, utcnow
from app.models.types import storable_model, web_link
from app.rules.model import Feature
from app.services import audit
from app.services.catalog import feature_from_row
from app.services.fanout import ChangeScope, FanOutResult, fan_out, feature_scope

# The registry's key pattern (POST /api/v1/features): a fetched key must be one the API can
# address (GET /api/v1/features/{key}) and a mapping import can name.
from app.services.features_service import KEY_PATTERN

log = structlog.get_logger(__name__)

_FIELDS = (
    "name",
    "aliases",
    "availability",
    "target_date",
    "confidence",
    "skus",
    "product_ids",
    "source_status",
    "url",
    "guidance",
)
AUDIT_FEATURE_LIMIT = 500  # features listed with before/after in one refresh's audit entry
KEY_MAX_LENGTH = 128  # FeatureCreate.key's bound
# The feature table's bounds (VARCHAR on PostgreSQL, which refuses a longer value: the whole
# store failed with "unexpected DataError ... value too long for type character varying(128)",
# while SQLite stored it).
STATUS_MAX_LENGTH = FeatureRow.__table__.c.source_status.type.length
URL_MAX_LENGTH = FeatureRow.__table__.c.url.type.length
# An ETag longer than the source's column holds is not kept (the catalog is read whole at each
# refresh, as without an ETag): stored, PostgreSQL refused it and every refresh failed.
ETAG_MAX_LENGTH = RoadmapSource.__table__.c.etag.type.length
_KEY = re.compile(KEY_PATTERN)

FieldValues = dict[str, Any]


@dataclass
class RefreshResult:
    source: str
    ok: bool
    not_modified: bool = False
    error: str | None = None
    fetched: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    pages: int = 0
    fanout: FanOutResult = field(default_factory=FanOutResult)
    # product mappings that point at a feature this refresh deleted (see orphaned_mappings)
    orphaned_mappings: list[dict[str, Any]] = field(default_factory=list)
    # more removals than the source's limit, stored because the caller accepted them
    removals_accepted: bool = False
    # feature urls that were not http(s) links ("javascript:...", "file:...") or longer than
    # URL_MAX_LENGTH: stored as none
    urls_dropped: int = 0

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "ok": self.ok,
            "not_modified": self.not_modified,
            "error": self.error,
            "fetched": self.fetched,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "pages": self.pages,
            "deals_reevaluated": self.fanout.candidates,
            "deals_requeued": self.fanout.requeued_count,
            "deals_deferred": self.fanout.deferred,
            "orphaned_mappings": self.orphaned_mappings,
            "removals_accepted": self.removals_accepted,
            "urls_dropped": self.urls_dropped,
        }


class _RefreshRefused(Exception):
    """The fetched catalog cannot be stored as is (duplicate keys, keys owned by another source,
    or more removals than the source allows)."""


@dataclass(frozen=True)
class RemovalLimit:
    """How many stored features one refresh may remove (per-source config options)."""

    max_share: float = 0.5
    always_allowed: int = 2
    accepted: bool = False  # an explicit `accept_removals`: no limit this once

    @classmethod
    def of(cls, config: dict[str, Any], *, accepted: bool = False) -> RemovalLimit:
        share = config.get("max_removed_share", cls.max_share)
        always = config.get("removals_always_allowed", cls.always_allowed)
        return cls(float(share), int(always), accepted)

    def refusal(self, stored: int, removed: int) -> str | None:
        """Why removing `removed` of `stored` features is refused; None when allowed."""
        if self.accepted or removed == 0:
            return None
        if removed >= stored:
            what = f"would remove all {stored} of the source's features"
        elif removed > self.always_allowed and removed > self.max_share * stored:
            what = (
                f"would remove {removed} of the source's {stored} features "
                f"({removed / stored:.0%}, more than config.max_removed_share "
                f"{self.max_share:.0%} and config.removals_always_allowed {self.always_allowed})"
            )
        else:
            return None
        return (
            f"refused: the fetched catalog {what}; an empty or truncated answer (lost "
            "permissions, a deploy) looks like this. The last good catalog is kept. If the "
            "removal is real, accept it once (POST /api/v1/roadmap/sources/NAME/refresh"
            "?accept_removals=true, or `roadmap-guard roadmap refresh --source NAME "
            "--accept-removals`) or raise config.max_removed_share"
        )


def staleness_seconds(row: RoadmapSource, now: datetime | None = None) -> float | None:
    if row.kind == REGISTRY or row.last_success_at is None:
        return None
    return max(0.0, ((now or utcnow()) - row.last_success_at).total_seconds())


STALENESS_CACHE_SECONDS = 10.0  # a scrape reads the sources' last successes at most this often


class _LastSuccesses:
    """Every source's last_success_at as the DATABASE has it, read at scrape time (at most
    every STALENESS_CACHE_SECONDS), so that every process (the API, each worker) reports the
    same age, whichever process ran the last refresh. Bound to the engine of the last
    `report_staleness` call; until then (or when the read fails) a process reports what it
    saw itself."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._read_at: float | None = None
        self._rows: dict[str, datetime | None] = {}

    def bind(self, engine: Engine | None) -> None:
        if engine is None:
            return
        with self._lock:
            if engine is not self._engine:
                self._engine, self._read_at, self._rows = engine, None, {}

    def note(self, name: str, last_success: datetime | None) -> None:
        """What this process just wrote (or read): no need to wait for the next read."""
        with self._lock:
            if self._read_at is not None:
                self._rows[name] = last_success

    def lookup(self, name: str) -> tuple[bool, datetime | None] | None:
        """(the source exists, its last success) from the database; None: cannot tell."""
        with self._lock:
            engine = self._engine
            fresh = (
                self._read_at is not None
                and time.monotonic() - self._read_at < STALENESS_CACHE_SECONDS
            )
            if fresh:
                return name in self._rows, self._rows.get(name)
        if engine is None:
            return None
        try:
            with Session(engine) as session:
                rows = dict(
                    session.exec(
                        select(RoadmapSource.name, RoadmapSource.last_success_at).where(
                            RoadmapSource.kind != REGISTRY
                        )
                    ).all()
                )
        except Exception as exc:  # a scrape must not fail: report what this process saw
            log.warning("roadmap staleness: cannot read the sources", error=type(exc).__name__)
            return None
        with self._lock:
            if engine is self._engine:
                self._rows, self._read_at = rows, time.monotonic()
        for other in rows.keys() - _reported:  # sources this process has not seen yet
            _track(other, rows[other])
        return name in rows, rows.get(name)


_last_successes = _LastSuccesses()
_reported: set[str] = set()  # sources with a gauge series in this process


def _age(last_success: datetime | None) -> float:
    if last_success is None:
        return -1.0
    return max(0.0, (utcnow() - last_success).total_seconds())


def _track(name: str, seen: datetime | None) -> None:
    """Give the source a series whose value is read from the database at each scrape."""

    def value() -> float:
        found = _last_successes.lookup(name)
        if found is None:
            return _age(seen)
        exists, last_success = found
        if not exists:  # deleted through another process: drop the series
            forget_staleness(name)
            return math.nan
        return _age(last_success)

    _reported.add(name)
    ROADMAP_STALENESS.labels(source=name).set_function(value)


def report_staleness(
    row: RoadmapSource, now: datetime | None = None, *, engine: Engine | None = None
) -> None:
    """Point the gauge at the source's last success as the database has it, so each scrape
    reads the age at that moment in every process alike (not the age when this process last
    looked); a source that never succeeded reports -1."""
    if row.kind == REGISTRY:
        return
    _last_successes.bind(engine)
    _last_successes.note(row.name, row.last_success_at)
    _track(row.name, row.last_success_at)


def forget_staleness(name: str) -> None:
    """Drop a deleted source's gauge series: a -1 left behind would keep its alert firing."""
    _reported.discard(name)
    with contextlib.suppress(KeyError):
        ROADMAP_STALENESS.remove(name)


def prune_staleness(names: set[str]) -> None:
    """Drop the series of sources that no longer exist (deleted through another process)."""
    series = {
        sample.labels["source"]
        for metric in ROADMAP_STALENESS.collect()
        for sample in metric.samples
        if "source" in sample.labels
    }
    for name in (series | _reported) - names:
        forget_staleness(name)


def invalid_keys(fetched: FetchResult) -> str | None:
    """The fetched keys the catalog cannot hold, named by where they were read; None if none."""
    bad = [
        f"{fetched.location(i)}.key: {f.key!r} is not a feature key (letters, digits, '.', '_', "
        f"':', '-', starting with a letter or digit, at most {KEY_MAX_LENGTH} characters)"
        for i, f in enumerate(fetched.features)
        if len(f.key) > KEY_MAX_LENGTH or not _KEY.fullmatch(f.key)
    ]
    if not bad:
        return None
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return "; ".join(bad[:5]) + more


def overlong_statuses(fetched: FetchResult) -> str | None:
    """The fetched statuses longer than the catalog holds, named by where they were read (a
    status cut short would no longer be the source's); None if none."""
    bad = [
        f"{fetched.location(i)}.status: {len(f.source_status)} characters "
        f"({f.source_status[:40]!r}...); a status name is at most {STATUS_MAX_LENGTH}"
        for i, f in enumerate(fetched.features)
        if f.source_status is not None and len(f.source_status) > STATUS_MAX_LENGTH
    ]
    if not bad:
        return None
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    return "; ".join(bad[:5]) + more


def orphaned_mappings(session: Session, gone: set[str]) -> list[dict[str, Any]]:
    """The product mappings that name one of the `gone` feature keys, each with the keys it
    names that no longer exist: a line item they match would silently lose its dependency."""
    if not gone:
        return []
    rows = [m for m in session.exec(select(ProductMapping)) if gone & set(m.feature_keys)]
    named = sorted({k for m in rows for k in m.feature_keys})
    existing: set[str] = set()
    for start in range(0, len(named), 500):  # SQLite caps bound parameters per statement
        chunk = named[start : start + 500]
        existing |= set(session.exec(select(FeatureRow.key).where(FeatureRow.key.in_(chunk))))
    return [
        {
            "id": m.id,
            "match_kind": m.match_kind,
            "match_value": m.match_value,
            "unknown_feature_keys": [k for k in m.feature_keys if k not in existing],
        }
        for m in sorted(rows, key=lambda m: m.id or 0)
        if not existing.issuperset(m.feature_keys)  # a key may have come back since
    ]


def still_orphaned(session: Session, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Of mappings reported orphaned earlier, those that still name a missing feature."""
    gone = {k for e in entries for k in e.get("unknown_feature_keys", [])}
    ids = {e.get("id") for e in entries}
    return [e for e in orphaned_mappings(session, gone) if e["id"] in ids]


def _apply(row: FeatureRow, feature: Feature) -> None:
    for name in _FIELDS:
        value = getattr(feature, name)
        setattr(row, name, value.value if name == "availability" else value)


def _new_row(feature: Feature, source: str, now: datetime) -> FeatureRow:
    """A feature's row with every column given: a column left to its default factory (lists,
    timestamps) costs SQLModel an inspect.signature per row, which made building the rows of
    a 10,000-feature catalog's first refresh take ~10 s inside the store's transaction
    (~1.6 s with every column given)."""
    values = {n: getattr(feature, n) for n in _FIELDS}
    values["availability"] = feature.availability.value
    return FeatureRow(
        key=feature.key, source=source, source_id=None, created_at=now, updated_at=now, **values
    )


def _values(feature: Feature) -> FieldValues:
    return feature.model_dump(mode="json", include=set(_FIELDS))


def _difference(before: Feature, after: Feature) -> tuple[FieldValues, FieldValues]:
    """The fields that changed, as (old values, new values)."""
    old, new = _values(before), _values(after)
    names = [n for n in _FIELDS if old[n] != new[n]]
    return {n: old[n] for n in names}, {n: new[n] for n in names}


@dataclass
class FeatureChanges:
    """Per changed feature, in the order met: the changed fields' values before and after
    (None before: created; None after: deleted)."""

    keys: list[str] = field(default_factory=list)
    before: dict[str, FieldValues | None] = field(default_factory=dict)
    after: dict[str, FieldValues | None] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)  # every deleted key, listed or not

    def subjects(self) -> list[tuple[Literal["feature"], str]]:
        """The listed features, as the audit entry's further subjects: the audit filter by
        feature finds the entry (only the first AUDIT_FEATURE_LIMIT, the ones listed)."""
        return [("feature", key) for key in self.before]

    def add(self, key: str, before: FieldValues | None, after: FieldValues | None) -> None:
        self.keys.append(key)
        if len(self.before) < AUDIT_FEATURE_LIMIT:
            self.before[key], self.after[key] = before, after


def replace_source_features(
    session: Session,
    source: RoadmapSource,
    fetched: list[Feature],
    removal_limit: RemovalLimit | None = None,
) -> tuple[dict[str, int], ChangeScope, FeatureChanges]:
    """Make the stored features of `source` equal `fetched` (already status-mapped).

    `removal_limit`: refuse (nothing written) when more stored features would go than it
    allows."""
    seen: set[str] = set()
    dupes = sorted({f.key for f in fetched if f.key in seen or seen.add(f.key)})
    if dupes:
        raise _RefreshRefused(f"duplicate feature keys in the source: {', '.join(dupes[:10])}")
    keys = [f.key for f in fetched]
    clashes = []
    for start in range(0, len(keys), 500):
        clashes += session.exec(
            select(FeatureRow.key, FeatureRow.source).where(
                FeatureRow.key.in_(keys[start : start + 500]), FeatureRow.source != source.name
            )
        ).all()
    if clashes:
        shown = ", ".join(f"{k} (owned by {s})" for k, s in clashes[:10])
        raise _RefreshRefused(f"feature keys already owned by another source: {shown}")

    existing = {
        r.key: r for r in session.exec(select(FeatureRow).where(FeatureRow.source == source.name))
    }
    if removal_limit is not None:
        removed = len(existing.keys() - seen)
        refusal = removal_limit.refusal(len(existing), removed)
        if refusal is not None:
            raise _RefreshRefused(refusal)
    now = utcnow()
    counts = {"created": 0, "updated": 0, "deleted": 0}
    scope = ChangeScope()
    changed = FeatureChanges()
    for feature in fetched:
        feature = feature.model_copy(update={"source": source.name})
        row = existing.pop(feature.key, None)
        if row is None:
            row = _new_row(feature, source.name, now)
            session.add(row)
            counts["created"] += 1
            scope.merge(feature_scope(None, feature))
            changed.add(feature.key, None, _values(feature))
            continue
        before = feature_from_row(row)
        if before == feature:
            continue
        _apply(row, feature)
        row.updated_at = now
        session.add(row)
        counts["updated"] += 1
        scope.merge(feature_scope(before, feature))
        changed.add(feature.key, *_difference(before, feature))
    for row in existing.values():
        gone = feature_from_row(row)
        scope.merge(feature_scope(gone, None))
        changed.add(row.key, _values(gone), None)
        changed.deleted.add(row.key)
        session.delete(row)
        counts["deleted"] += 1
    session.flush()
    return counts, scope, changed


def remap_source_features(session: Session, source: RoadmapSource) -> tuple[int, ChangeScope]:
    """Apply the source's (edited) status mapping to its stored features: no fetch needed."""
    now = utcnow()
    scope = ChangeScope()
    count = 0
    for row in session.exec(select(FeatureRow).where(FeatureRow.source == source.name)):
        availability = map_status(row.source_status, source.status_mapping or {}).value
        if availability == row.availability:
            continue
        before = feature_from_row(row)
        row.availability = availability
        row.updated_at = now
        session.add(row)
        scope.merge(feature_scope(before, feature_from_row(row)))
        count += 1
    session.flush()
    return count, scope


def drop_bad_urls(fetched: FetchResult, name: str) -> int:
    """Replace each feature url that is not an http(s) link with None, as POST /api/v1/features
    refuses one (`web_link`): a feature's url goes into CRM messages ({feature.url}) and the
    dashboard, where "javascript:..." would run; so is one longer than the catalog holds
    (URL_MAX_LENGTH), which cut short would be a broken link. Not a refresh failure: the
    feature is kept without its link, and the number dropped is logged and returned."""
    dropped: list[str] = []
    for index, feature in enumerate(fetched.features):
        if feature.url is not None and (
            web_link(feature.url) is None or len(feature.url) > URL_MAX_LENGTH
        ):
            fetched.features[index] = feature.model_copy(update={"url": None})
            dropped.append(fetched.location(index))
    if dropped:
        log.warning(
            "roadmap source gave feature urls that are not http(s) links or are too long: "
            "stored without them",
            url_max_length=URL_MAX_LENGTH,
            source=name,
            urls_dropped=len(dropped),
            where=dropped[:10],
        )
    return len(dropped)


def refresh_source(
    engine: Engine,
    name: str,
    *,
    actor: str = "system:roadmap-refresh",
    client: httpx.Client | None = None,
    accept_removals: bool = False,
) -> RefreshResult:
    """Fetch the source and store its catalog. `accept_removals`: store it even if it removes
    more features than the source's removal limit allows (all of them included); audited."""
    with Session(engine) as session:
        row = session.get(RoadmapSource, name)
        if row is None and name != REGISTRY:
            raise NotFound(f"roadmap source '{name}' does not exist")
        if row is None or row.kind == REGISTRY:
            raise Invalid("the built-in registry is edited through /api/v1/features, not refreshed")
        kind, config, etag = row.kind, dict(row.config or {}), row.etag
        stored_success = row.last_success_at

    fetched = None
    error: str | None = None
    try:
        fetched = build_source(kind, name, config, client=client).fetch(etag)
    except SourceError as exc:
        error = str(exc)
    except Exception as exc:  # a bug or an unforeseen payload: kept visible, catalog kept
        error = f"{name}: unexpected {type(exc).__name__}: {exc}"[:1000]

    urls_dropped = 0
    if fetched is not None and not fetched.not_modified and error is None:
        urls_dropped = drop_bad_urls(fetched, name)
        bad = invalid_keys(fetched) or overlong_statuses(fetched)
        if bad is not None:  # nothing is written: the last good catalog stays
            error, fetched = f"{name}: {bad}", None

    try:
        result = _store(
            engine,
            name,
            fetched,
            error,
            actor=actor,
            accept_removals=accept_removals,
            read_with=config,
            read_after=stored_success,
        )
        if result.ok:
            result.urls_dropped = urls_dropped
        return result
    except NotFound:
        raise
    except Exception as exc:  # a bug while storing: rolled back, the last good catalog stays
        log.exception("roadmap refresh failed while storing the catalog", source=name)
        error = f"{name}: unexpected {type(exc).__name__} while storing: {exc}"[:1000]
        return _store(engine, name, None, error, actor=actor, accept_removals=False)


def _store(
    engine: Engine,
    name: str,
    fetched,
    error: str | None,
    *,
    actor: str,
    accept_removals: bool,
    read_with: dict[str, Any] | None = None,
    read_after: datetime | None = None,
) -> RefreshResult:
    """Store what `refresh_source` fetched (or only its error) in one transaction.
    `read_with`: the config the fetch used; if the source's config was edited meanwhile
    (another URL, JQL or base URL), what was read is not stored, nor its ETag.
    `read_after`: the source's last_success_at when the fetch began; if another refresh of
    the source (the schedule's, the API's, the CLI's) stored since, what this one read may be
    the older read, and is not stored over it: the source is left as that refresh left it."""
    result = RefreshResult(source=name, ok=error is None)
    now = utcnow()
    with session_scope(engine) as session:
        row = session.get(RoadmapSource, name, with_for_update=True)
        if row is None:
            raise NotFound(f"roadmap source '{name}' does not exist")
        if fetched is not None and read_with is not None and dict(row.config or {}) != read_with:
            fetched, result.ok = None, False
            error = (
                f"{name}: the source's config was edited while it was being read: what was read "
                "with the previous config is not stored (the catalog is as it was); refresh "
                "again to read it with the new one"
            )
        elif (
            fetched is not None
            and not fetched.not_modified  # a 304 writes no feature
            and read_with is not None
            and row.last_success_at != read_after
        ):
            # e.g. the schedule's slow read began before an issue was set to Won't Do, and a
            # refresh from the API read and stored the change meanwhile: stored now, this read
            # would put the old status back (and re-warn every deal) until the next refresh
            result.ok = False
            result.error = (
                f"{name}: another refresh of this source stored its catalog while this one "
                "was reading, so what this one read (possibly the older read) is not stored; "
                "the catalog that refresh stored stays. Refresh again to read the source anew"
            )
            log.warning(
                "roadmap source refresh overtaken by another refresh of the source: not stored",
                source=name,
                actor=actor,
            )
            return result
        row.last_refresh_at = now
        if fetched is not None and not fetched.not_modified:
            mapped = [
                storable_model(f).model_copy(  # a roadmap item's text with NUL (`storable`)
                    update={"availability": map_status(f.source_status, row.status_mapping)}
                )
                for f in fetched.features
            ]
            limit = RemovalLimit.of(dict(row.config or {}), accepted=accept_removals)
            try:  # refusals are decided before the first write: nothing to undo
                counts, scope, changed = replace_source_features(session, row, mapped, limit)
            except _RefreshRefused as exc:
                error = f"{name}: {exc}"
                result.ok = False
            else:
                result.fetched, result.pages = len(mapped), fetched.pages
                result.created, result.updated = counts["created"], counts["updated"]
                result.deleted = counts["deleted"]
                etag = fetched.etag
                row.etag = etag if etag is None or len(etag) <= ETAG_MAX_LENGTH else None
                row.feature_count = len(mapped)
                result.orphaned_mappings = orphaned_mappings(session, changed.deleted)
                stored_before = len(mapped) - result.created + result.deleted
                guarded = RemovalLimit.of(dict(row.config or {}))
                if accept_removals and guarded.refusal(stored_before, result.deleted):
                    result.removals_accepted = True
                    log.warning(
                        "roadmap refresh removed more features than the source's limit: "
                        "accepted explicitly",
                        source=name,
                        actor=actor,
                        deleted=result.deleted,
                        stored_before=stored_before,
                    )
                if result.orphaned_mappings:
                    log.warning(
                        "roadmap refresh left product mappings pointing at deleted features",
                        source=name,
                        mappings=result.orphaned_mappings,
                    )
                if changed.keys:
                    listed = {
                        "features_changed": len(changed.keys),
                        "features_listed": len(changed.before),
                        "features_limit": AUDIT_FEATURE_LIMIT,
                    }
                    audit.record(
                        session,
                        actor=actor,
                        action="roadmap.refresh",
                        entity_type="roadmap_source",
                        entity_id=name,
                        before={"features": changed.before},
                        after={
                            **counts,
                            "fetched": len(mapped),
                            **({"removals_accepted": True} if result.removals_accepted else {}),
                            **listed,
                            "orphaned_mappings": result.orphaned_mappings,
                            "features": changed.after,
                        },
                        subjects=changed.subjects(),
                    )
                result.fanout = fan_out(session, scope)
        elif fetched is not None:
            result.not_modified, result.pages = True, fetched.pages
        if error is None:
            row.last_success_at = now
            row.last_error = None
        else:
            result.error = row.last_error = error
        row.updated_at = now
        session.add(row)
    report_staleness(row, now, engine=engine)
    if result.ok:
        log.info(
            "roadmap source refreshed",
            **{k: v for k, v in result.as_dict().items() if k != "source"},
            source=name,
        )
    else:  # visible at LOG_LEVEL=WARNING; the error is secret-free (SourceError's contract)
        log.warning(
            "roadmap source refresh failed, last good catalog kept",
            source=name,
            error=result.error,
            actor=actor,
        )
    return result


def refresh_all(
    engine: Engine,
    *,
    actor: str = "system:roadmap-refresh",
    progress: Callable[[str, int, int], None] | None = None,
) -> list[RefreshResult]:
    """Refresh every enabled source, by name. `progress(name, done, total)` is called before
    each one (the CLI's progress bar)."""
    with Session(engine) as session:
        sources = session.exec(
            select(RoadmapSource.name, RoadmapSource.enabled)
            .where(RoadmapSource.kind != REGISTRY)
            .order_by(RoadmapSource.name)
        ).all()
    prune_staleness({n for n, _ in sources})  # sources deleted through another process
    enabled = [n for n, on in sources if on]
    results = []
    for done, n in enumerate(enabled):
        if progress is not None:
            progress(n, done, len(enabled))
        try:
            results.append(refresh_source(engine, n, actor=actor))
        except NotFound:
            continue  # deleted since the list was read
        except Exception as exc:  # one source's failure does not stop the others
            log.exception("roadmap refresh failed", source=n)
            results.append(RefreshResult(source=n, ok=False, error=f"{type(exc).__name__}: {exc}"))
    return results


@schedule("roadmap_refresh", interval=lambda s: s.roadmap_refresh_seconds)
def scheduled_refresh(ctx: JobContext) -> dict:
    """Refresh every enabled source; a failing one is recorded on its row and does not stop the rest."""
    results = refresh_all(ctx.engine)
    return {"last": {r.source: ("ok" if r.ok else "error") for r in results}}
