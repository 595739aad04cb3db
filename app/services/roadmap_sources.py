"""Roadmap sources: configuration, editable status mappings, and their last refresh result.

The built-in registry is always listed (it needs no row to exist); the other kinds are rows of
`roadmap_source`. A config never holds a secret, only the NAME of the environment variable
that does (auth_env / token_env).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func
from sqlmodel import Session, select

from app.connectors.roadmap import (
    DEFAULT_STATUS_MAPPINGS,
    REGISTRY,
    SourceError,
    build_source,
    config_errors,
    config_warnings,
    map_status,
    normalise_status,
    normalised_status_mapping,
    shown_config,
    shown_status,
    status_key,
    status_mapping_errors,
    unmapped_statuses,
)
from app.errors import Conflict, Invalid, NotFound, ServiceUnavailable, json_path
from app.models import AuditLog, RoadmapSource, utcnow
from app.models import Feature as FeatureRow
from app.rules.model import Availability
from app.services import audit
from app.services.catalog import feature_from_row
from app.services.fanout import ChangeScope, FanOutResult, fan_out, feature_scope
from app.services.roadmap_refresh import (
    AUDIT_FEATURE_LIMIT,
    STATUS_MAX_LENGTH,
    FeatureChanges,
    forget_staleness,
    orphaned_mappings,
    remap_source_features,
    report_staleness,
    staleness_seconds,
    still_orphaned,
)
from app.services.roadmap_refresh import (
    _values as feature_values,
)

log = structlog.get_logger(__name__)

SourceKind = Literal["http", "productboard", "jira"]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"


# A status mapping names a source's statuses: a few dozen at most in practice. Bounded, since
# it is stored in the source's row, shown to every reader, copied into each edit's audit entry
# and compared with every feature at a refresh.
MAX_STATUSES = 1000
# As long as a feature's stored status may be (the refresh refuses a longer one): a longer
# name in a mapping could never match a feature.
MAX_STATUS_LENGTH = STATUS_MAX_LENGTH


def status_mapping_size_errors(mapping: Any) -> list[dict[str, Any]]:
    """A status mapping with more than MAX_STATUSES entries (named at the first one past the
    limit), or a status name longer than MAX_STATUS_LENGTH characters (named by its start), as
    {loc, path, msg, type}."""
    if not isinstance(mapping, dict):
        return []
    errors = []
    for i, name in enumerate(mapping):
        if i == MAX_STATUSES:
            errors.append(
                _entry_error(
                    name,
                    f"a status mapping holds at most {MAX_STATUSES} statuses; this one has "
                    f"{len(mapping)}",
                    "too_long",
                )
            )
        if len(name) > MAX_STATUS_LENGTH:
            errors.append(
                _entry_error(
                    name,
                    f"a status name is at most {MAX_STATUS_LENGTH} characters; this one has "
                    f"{len(name)}",
                    "string_too_long",
                )
            )
    return errors


def _entry_error(name: str, msg: str, type_: str) -> dict[str, Any]:
    shown = name if len(name) <= 60 else name[:60] + "..."
    loc = ["status_mapping", shown]
    return {"loc": loc, "path": json_path(loc), "msg": msg, "type": type_}


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="lower-case id, also the features' source")
    kind: SourceKind
    enabled: bool = True
    config: dict[str, Any] = Field(
        default_factory=dict, description="the kind's settings (docs/roadmap.md); never a secret"
    )
    status_mapping: dict[str, Availability] | None = Field(
        default=None,
        description="source status name → availability (case and spacing ignored); omitted: "
        "the kind's defaults",
    )


class SourceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    config: dict[str, Any] | None = None
    status_mapping: dict[str, Availability] | None = Field(
        default=None, description="replaces the whole mapping; unmapped statuses become unknown"
    )


class SourcePublic(BaseModel):
    name: str
    kind: str
    enabled: bool
    config: dict[str, Any]
    status_mapping: dict[str, str]
    unmapped_statuses: list[str]
    feature_count: int
    etag: str | None = None
    last_refresh_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    staleness_seconds: float | None = None
    stale: bool = False
    last_change: dict[str, Any] | None = Field(
        default=None, description="what the last refresh that changed features did, and when"
    )
    orphaned_mappings: list[dict[str, Any]] = Field(
        default_factory=list,
        description="product mappings that still name a feature the last changing refresh "
        "deleted (fix them: a line item they match no longer depends on that feature)",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="what may stop the source from refreshing (an env var not set here)",
    )


class SourceStatus(BaseModel):
    name: str
    availability: Availability
    mapped: bool
    features: int  # stored features of this source with this status


def _registry_row(session: Session) -> RoadmapSource:
    count = session.exec(
        select(func.count()).select_from(FeatureRow).where(FeatureRow.source == REGISTRY)
    ).one()
    return RoadmapSource(
        name=REGISTRY, kind=REGISTRY, config={}, status_mapping={}, feature_count=count
    )


def to_public(session: Session, row: RoadmapSource, *, stale_after: float) -> SourcePublic:
    statuses = session.exec(
        select(FeatureRow.source_status).where(FeatureRow.source == row.name).distinct()
    ).all()
    staleness = staleness_seconds(row)
    report_staleness(row, engine=session.get_bind())
    never_ok = row.kind != REGISTRY and row.last_success_at is None
    last = session.exec(
        select(AuditLog)
        .where(
            AuditLog.entity_type == "roadmap_source",
            AuditLog.entity_id == row.name,
            AuditLog.action == "roadmap.refresh",
            # this source's, not one of the same name deleted before it was created
            AuditLog.created_at >= row.created_at,
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    change = _change_counts(last)
    if change and change.get("orphaned_mappings"):
        change["orphaned_mappings"] = still_orphaned(session, change["orphaned_mappings"])
    return SourcePublic(
        name=row.name,
        kind=row.kind,
        enabled=row.enabled,
        config=shown_config(row.config or {}),
        status_mapping={k: str(v) for k, v in (row.status_mapping or {}).items()},
        unmapped_statuses=[]
        if row.kind == REGISTRY
        else unmapped_statuses(list(statuses), row.status_mapping or {}),
        feature_count=row.feature_count,
        etag=row.etag,
        last_refresh_at=row.last_refresh_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        staleness_seconds=staleness,
        stale=never_ok or (staleness is not None and staleness > stale_after),
        last_change=change,
        orphaned_mappings=change.get("orphaned_mappings", []) if change else [],
        warnings=config_warnings(row.kind, row.config or {}),
    )


# What a refresh's unexpected failure reads as for roles that may not read it whole
# (`readable_source_error`).
UNEXPECTED_SOURCE_ERROR = "unexpected error: ask an operator (revops and admin read the error)"


def readable_source_error(name: str, error: str | None) -> str | None:
    """A source's `last_error` for a role that may not read every error whole: a source's own
    refusal as it is ("productboard: HTTP 401 ..."), an unexpected exception's text (a bug, an
    unforeseen payload, a database error while storing: SQL, parameters, hostnames) replaced."""
    if error and ": unexpected " in error:
        return f"{name}: {UNEXPECTED_SOURCE_ERROR}"
    return error


def _change_counts(entry: AuditLog | None) -> dict[str, Any] | None:
    """The counts of a refresh's audit entry; its per-feature diffs stay in the audit log."""
    if entry is None:
        return None
    counts = {k: v for k, v in (entry.after or {}).items() if k != "features"}
    return {**counts, "at": entry.created_at.isoformat()}


def source_statuses(
    session: Session, name: str, warnings: list[str] | None = None
) -> list[SourceStatus]:
    """Every status name the source knows, with its mapping: the stored features' statuses
    (features without one under NO_STATUS, "(none)"), plus, for Productboard, the workspace's
    statuses read live (API v2: the feature configuration's status values; v1: GET
    /feature-statuses), so a status no feature uses yet can be mapped ahead of time.

    A live read that fails leaves the stored statuses, with what failed added to `warnings`
    (the token may be set on the workers only, or Productboard be down: the statuses the
    features carry can still be mapped). Without `warnings` the failure is raised."""
    row = get_source(session, name)
    if row.kind == REGISTRY:
        return []
    counts: dict[str, tuple[str, int]] = {}
    # One status however it is spelt ("GA", "ga"): its features added up, shown as most of
    # them spell it (the first in order on a tie).
    spellings: dict[str, int] = {}
    for status, n in session.exec(
        select(FeatureRow.source_status, func.count())
        .where(FeatureRow.source == name)
        .group_by(FeatureRow.source_status)
        .order_by(FeatureRow.source_status)
    ):
        key = status_key(status)
        shown, total = counts.get(key, (shown_status(status), 0))
        if n > spellings.get(key, 0):
            shown, spellings[key] = shown_status(status), n
        counts[key] = (shown, total + n)
    if row.kind == "productboard":
        try:
            live = build_source(row.kind, name, dict(row.config or {})).status_names()
        except SourceError as exc:
            message = f"could not read the source's statuses: {exc}"
            if warnings is None:
                raise ServiceUnavailable(message) from None
            warnings.append(
                f"{message}; listed are the statuses of the source's stored features only "
                "(a status no feature uses yet is missing)"
            )
            live = []
        for status in live:
            counts.setdefault(status_key(status), (shown_status(status), 0))
    mapping = row.status_mapping or {}
    mapped = {normalise_status(k) for k in mapping}
    return [
        SourceStatus(
            name=status,
            availability=map_status(status, mapping),
            mapped=key in mapped,
            features=n,
        )
        for key, (status, n) in sorted(counts.items())
    ]


def list_sources(
    session: Session, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[RoadmapSource]]:
    """One page of the sources by name, and how many there are. The built-in registry is
    always listed: first, while it has no stored row (nobody edited its status mapping)."""
    stored = session.exec(select(func.count()).select_from(RoadmapSource)).one()
    registry_stored = session.get(RoadmapSource, REGISTRY) is not None
    stmt = select(RoadmapSource).order_by(RoadmapSource.name)
    if registry_stored:
        return stored, list(session.exec(stmt.offset(offset).limit(limit)))
    # the registry is row 0 of the listing, the stored sources rows 1 and on
    rows = [] if offset else [_registry_row(session)]
    if limit > len(rows):
        rows += session.exec(stmt.offset(max(offset - 1, 0)).limit(limit - len(rows)))
    return stored + 1, rows


def get_source(session: Session, name: str) -> RoadmapSource:
    if name == REGISTRY:
        return session.get(RoadmapSource, name) or _registry_row(session)
    row = session.get(RoadmapSource, name)
    if row is None:
        raise NotFound(f"roadmap source '{name}' does not exist")
    return row


def _snapshot(row: RoadmapSource) -> dict:
    return {
        "name": row.name,
        "kind": row.kind,
        "enabled": row.enabled,
        "config": dict(row.config or {}),
        "status_mapping": dict(row.status_mapping or {}),
    }


_AVAILABILITIES = frozenset(a.value for a in Availability)


def validate_create(raw: Any) -> tuple[SourceCreate | None, list[dict[str, Any]]]:
    """A create body, or every mistake it has: see `body_errors`."""
    errors = body_errors(SourceCreate, raw)
    return (None, errors) if errors else (SourceCreate.model_validate(raw), [])


def validate_update(raw: Any, kind: str) -> tuple[SourceUpdate | None, list[dict[str, Any]]]:
    """An edit body for a stored source of `kind`, or every mistake it has: see `body_errors`."""
    errors = body_errors(SourceUpdate, raw, kind=kind)
    return (None, errors) if errors else (SourceUpdate.model_validate(raw), [])


def body_errors(
    model: type[SourceCreate] | type[SourceUpdate], raw: Any, *, kind: str | None = None
) -> list[dict[str, Any]]:
    """Every mistake of a create or edit body in one list, as pydantic reports them ({loc,
    msg, type, ...}, loc from the body's root): its shape (name, kind, enabled, unknown keys,
    each availability), the config against its kind's model, and the status mapping's
    contradictions. `kind`: the stored source's (an edit carries none); a create's is the
    body's, and a config is checked only against a kind that is valid, since which model
    applies is not known otherwise. One pass over everything, so a writer never fixes one
    mistake only to be shown the next."""
    try:
        model.model_validate(raw)
        errors: list[dict[str, Any]] = []
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    if not isinstance(raw, dict):
        return errors
    refused = {e["loc"][0] for e in errors if e["loc"]}
    if kind is None and "kind" not in refused:
        kind = raw.get("kind")
    config = raw.get("config", {} if model is SourceCreate else None)
    found: list[dict[str, Any]] = []
    if kind is not None and "config" not in refused and isinstance(config, dict):
        found += config_errors(kind, config)
    mapping = raw.get("status_mapping")
    found += status_mapping_size_errors(mapping)
    if isinstance(mapping, dict):
        # An entry whose availability is misspelt is reported above; the rest are compared.
        found += status_mapping_errors(
            {k: v for k, v in mapping.items() if isinstance(v, str) and v in _AVAILABILITIES}
        )
    errors += [{k: v for k, v in e.items() if k != "path"} for e in found]
    # In the order of the model's fields (as documented), keys it does not have last.
    order = {field: i for i, field in enumerate(model.model_fields)}
    errors.sort(key=lambda e: order.get(e["loc"][0], len(order)) if e["loc"] else -1)
    return errors


def _check(
    kind: str, config: dict[str, Any] | None, mapping: dict[str, Availability] | None
) -> None:
    """Every mistake of the config and the status mapping at once, each with its JSON path
    ({loc, path, msg, type}, as the rules API reports them): 422. The guard for callers that
    build the body themselves; the API reports these with the body's other mistakes first
    (`body_errors`), so a body that reaches here from it passes."""
    errors = config_errors(kind, config) if config is not None else []
    errors += status_mapping_size_errors(mapping)
    errors += status_mapping_errors(mapping) if mapping is not None else []
    if errors:
        raise Invalid(
            "invalid roadmap source: " + "; ".join(f"{e['path']}: {e['msg']}" for e in errors),
            details=errors,
        )


def create_source(session: Session, body: SourceCreate, *, actor: str) -> RoadmapSource:
    if body.name == REGISTRY:
        raise Conflict("'registry' is the built-in registry; choose another name")
    if session.get(RoadmapSource, body.name) is not None:
        raise Conflict(f"roadmap source '{body.name}' already exists")
    _check(body.kind, body.config, body.status_mapping)
    mapping = (
        normalised_status_mapping(body.status_mapping)
        if body.status_mapping is not None
        else dict(DEFAULT_STATUS_MAPPINGS[body.kind])
    )
    now = utcnow()
    row = RoadmapSource(
        name=body.name,
        kind=body.kind,
        enabled=body.enabled,
        config=body.config,
        status_mapping=mapping,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="roadmap_source.create",
        entity_type="roadmap_source",
        entity_id=row.name,
        after=_snapshot(row),
    )
    return row


@dataclass
class SourceUpdated:
    row: RoadmapSource
    features_remapped: int
    fanout: FanOutResult


def editable_source(session: Session, name: str) -> RoadmapSource:
    """The stored source an edit applies to: 409 for the built-in registry, 404 if none."""
    if name == REGISTRY:
        raise Conflict("the built-in registry has no configuration or status mapping to edit")
    return get_source(session, name)


def update_source(session: Session, name: str, body: SourceUpdate, *, actor: str) -> SourceUpdated:
    row = editable_source(session, name)
    before = _snapshot(row)
    fields = body.model_fields_set
    _check(row.kind, body.config, body.status_mapping)
    if "enabled" in fields and body.enabled is not None:
        row.enabled = body.enabled
    if "config" in fields and body.config is not None and body.config != row.config:
        row.config = body.config
        row.etag = None  # another URL or query: the old ETag means nothing
    scope = ChangeScope()
    remapped = 0
    changed: FeatureChanges | None = None
    if "status_mapping" in fields and body.status_mapping is not None:
        was = _availabilities(session, name)
        row.status_mapping = normalised_status_mapping(body.status_mapping)
        session.add(row)
        remapped, scope = remap_source_features(session, row)
        changed = FeatureChanges()
        for key, availability in _availabilities(session, name).items():
            if availability != was.get(key):
                changed.add(key, {"availability": was.get(key)}, {"availability": availability})
    after = _snapshot(row)
    if after == before:
        return SourceUpdated(row, 0, FanOutResult())
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    old, new = _feature_lists(changed) if changed is not None else ({}, {})
    audit.record(
        session,
        actor=actor,
        action="roadmap_source.update",
        entity_type="roadmap_source",
        entity_id=name,
        before={**before, **old},
        after={**after, **new},
        subjects=changed.subjects() if changed is not None else (),
    )
    return SourceUpdated(row, remapped, fan_out(session, scope))


def _availabilities(session: Session, name: str) -> dict[str, str]:
    """The source's stored features' availabilities, by key in key order."""
    return dict(
        session.exec(
            select(FeatureRow.key, FeatureRow.availability)
            .where(FeatureRow.source == name)
            .order_by(FeatureRow.key)
        ).all()
    )


def _feature_lists(changed: FeatureChanges) -> tuple[dict[str, Any], dict[str, Any]]:
    """What an edit's or delete's audit entry adds for the features it changed, in the shape
    of a refresh's (`roadmap.refresh`): per feature the changed fields' values under `features`
    in `before` and `after` (`null` after: deleted), at most AUDIT_FEATURE_LIMIT listed, and
    the counts in `after`."""
    return {"features": changed.before}, {
        "features_changed": len(changed.keys),
        "features_listed": len(changed.before),
        "features_limit": AUDIT_FEATURE_LIMIT,
        "features": changed.after,
    }


@dataclass
class SourceDeleted:
    features_deleted: int
    fanout: FanOutResult
    orphaned_mappings: list[dict[str, Any]]


def delete_source(session: Session, name: str, *, actor: str) -> SourceDeleted:
    """Remove the source and its features; deals that depended on them are re-evaluated, and
    the product mappings left naming a deleted feature are reported (not changed)."""
    if name == REGISTRY:
        raise Conflict("the built-in registry cannot be deleted; delete its features instead")
    row = get_source(session, name)
    before = _snapshot(row)
    scope = ChangeScope()
    features = list(
        session.exec(select(FeatureRow).where(FeatureRow.source == name).order_by(FeatureRow.key))
    )
    changed = FeatureChanges()
    for feature in features:
        gone = feature_from_row(feature)
        scope.merge(feature_scope(gone, None))
        changed.add(feature.key, feature_values(gone), None)
        session.delete(feature)
    session.delete(row)
    session.flush()
    orphaned = orphaned_mappings(session, {f.key for f in features})
    old, new = _feature_lists(changed)
    if orphaned:
        log.warning(
            "deleted roadmap source left product mappings pointing at its features",
            source=name,
            mappings=orphaned,
        )
    audit.record(
        session,
        actor=actor,
        action="roadmap_source.delete",
        entity_type="roadmap_source",
        entity_id=name,
        before={**before, "feature_count": len(features), **old},
        after={**new, **({"orphaned_mappings": orphaned} if orphaned else {})},
        subjects=changed.subjects(),
    )
    forget_staleness(name)
    return SourceDeleted(len(features), fan_out(session, scope), orphaned)
