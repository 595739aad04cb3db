"""/api/v1/roadmap/sources: source configuration, status mappings, last refresh, refresh now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from app.api.deps import (
    ERROR_DETAIL_ROLES,
    EngineDep,
    Offset,
    Page,
    PageLimit,
    Principal,
    ReadPrincipal,
    RevOpsPrincipal,
    SessionDep,
    SettingsDep,
)
from app.api.fanout_counts import FanOutCounts, fanout_counts
from app.errors import did_you_mean, keys_at
from app.services import roadmap_sources as svc
from app.services.roadmap_refresh import refresh_source

router = APIRouter(prefix="/api/v1/roadmap/sources", tags=["roadmap"])


class OrphanedMapping(BaseModel):
    """A product mapping that names a feature which no longer exists: a line item it matches
    no longer depends on that feature. Fix or delete it through /api/v1/mappings."""

    id: int
    match_kind: str
    match_value: str
    unknown_feature_keys: list[str]


class SourcePage(Page[svc.SourcePublic]):
    pass


class SourceStatusPage(Page[svc.SourceStatus]):
    # Productboard's statuses read live failed: the stored features' statuses only, and why
    warnings: list[str] = []


class SourceChange(FanOutCounts):
    source: svc.SourcePublic
    features_remapped: int = 0


class SourceDeleted(FanOutCounts):
    name: str
    features_deleted: int = 0
    orphaned_mappings: list[OrphanedMapping] = Field(default_factory=list)


class RefreshOut(FanOutCounts):
    source: str
    ok: bool
    not_modified: bool
    error: str | None
    fetched: int
    created: int
    updated: int
    deleted: int
    pages: int
    orphaned_mappings: list[OrphanedMapping] = Field(
        default_factory=list, description="mappings naming a feature this refresh deleted"
    )
    removals_accepted: bool = Field(
        default=False, description="the refresh was told to store removals beyond the limit"
    )
    urls_dropped: int = Field(
        default=0,
        description="feature urls that were not http(s) links or were longer than 1024 "
        "characters, stored as none (the features kept)",
    )


def _stale_after(settings) -> float:
    # Two missed refreshes: the catalog is stale.
    return 2.0 * settings.roadmap_refresh_seconds


@router.get(
    "",
    summary="Roadmap sources with status and last refresh, by name (paged)",
    operation_id="list_sources",
)
def list_sources(
    session: SessionDep,
    settings: SettingsDep,
    _p: ReadPrincipal,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> SourcePage:
    total, rows = svc.list_sources(session, limit=limit, offset=offset)
    items = [
        _shown(svc.to_public(session, r, stale_after=_stale_after(settings)), _p) for r in rows
    ]
    return SourcePage(total=total, limit=limit, offset=offset, items=items)


def _shown(source: svc.SourcePublic, principal: Principal) -> svc.SourcePublic:
    """`source` as `principal` may read it: its last error whole for revops and admin, an
    unexpected exception's text withheld from the other roles (`readable_source_error`)."""
    if principal.role not in ERROR_DETAIL_ROLES:
        source.last_error = svc.readable_source_error(source.name, source.last_error)
    return source


@router.get("/{name}", summary="One roadmap source", operation_id="get_source")
def get_source(
    name: str, session: SessionDep, settings: SettingsDep, _p: ReadPrincipal
) -> svc.SourcePublic:
    public = svc.to_public(
        session, svc.get_source(session, name), stale_after=_stale_after(settings)
    )
    return _shown(public, _p)


@router.get(
    "/{name}/statuses",
    summary="The source's status names and what each maps to, by name (paged; Productboard: "
    "read live)",
    operation_id="list_source_statuses",
)
def statuses(
    name: str,
    session: SessionDep,
    _p: ReadPrincipal,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> SourceStatusPage:
    warnings: list[str] = []
    found = svc.source_statuses(session, name, warnings)
    return SourceStatusPage(
        total=len(found),
        limit=limit,
        offset=offset,
        items=found[offset : offset + limit],
        warnings=warnings,
    )


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline_refs(v, defs) for v in schema]
    return schema


def _documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI for a JSON body the route validates itself: `model`'s schema, self-contained."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})
    return {
        "requestBody": {
            "content": {"application/json": {"schema": _inline_refs(schema, defs)}},
            "required": True,
        }
    }


def _valid(parsed: tuple[Any, list[dict[str, Any]]], model: type[BaseModel]) -> Any:
    """The parsed body, or the usual shape 422 (`invalid_request`) listing every mistake. A
    key the body `model` does not have is answered with the key meant, or the keys allowed
    there, as a route whose body FastAPI validates answers it (`validation_details`)."""
    body, errors = parsed
    if errors:
        raise RequestValidationError(
            [
                {
                    **e,
                    "loc": ("body", *e["loc"]),
                    "msg": e["msg"] + _unknown_key_hint(e, model),
                }
                for e in errors
            ]
        )
    return body


def _unknown_key_hint(error: dict[str, Any], model: type[BaseModel]) -> str:
    loc = error.get("loc") or ()
    if error.get("type") != "extra_forbidden" or not loc or not isinstance(loc[-1], str):
        return ""
    allowed = keys_at(model, loc[:-1])
    if not allowed:
        return ""
    return did_you_mean(loc[-1], allowed) or "; allowed here: " + ", ".join(allowed)


# A source body is validated here, not by FastAPI before the route runs: its config is checked
# against its kind's model (PATCH: the stored source's kind), and every mistake, of the shape,
# the config and the status mapping alike, must come back in one 422.
SourceBody = Annotated[Any, Body()]


@router.post(
    "",
    status_code=201,
    summary="Add a roadmap source",
    description="A body with mistakes is one 422 `invalid_request` listing every one of them "
    "(name, kind, config against the kind's model, status mapping), each with its path.",
    operation_id="create_source",
    openapi_extra=_documented_body(svc.SourceCreate),
)
def create_source(
    raw: SourceBody, session: SessionDep, settings: SettingsDep, principal: RevOpsPrincipal
) -> svc.SourcePublic:
    body = _valid(svc.validate_create(raw), svc.SourceCreate)
    row = svc.create_source(session, body, actor=principal.actor)
    return svc.to_public(session, row, stale_after=_stale_after(settings))


@router.patch(
    "/{name}",
    summary="Edit a source: enable/disable, config, status mapping (re-maps stored features)",
    description="The config is checked against the stored source's kind. A body with mistakes "
    "is one 422 `invalid_request` listing every one of them, each with its path; an unknown "
    "source is 404 and the built-in registry 409 first.",
    operation_id="update_source",
    openapi_extra=_documented_body(svc.SourceUpdate),
)
def update_source(
    name: str,
    raw: SourceBody,
    session: SessionDep,
    settings: SettingsDep,
    principal: RevOpsPrincipal,
) -> SourceChange:
    stored = svc.editable_source(session, name)
    body = _valid(svc.validate_update(raw, stored.kind), svc.SourceUpdate)
    updated = svc.update_source(session, name, body, actor=principal.actor)
    return SourceChange(
        source=svc.to_public(session, updated.row, stale_after=_stale_after(settings)),
        features_remapped=updated.features_remapped,
        **fanout_counts(updated.fanout),
    )


@router.delete("/{name}", summary="Remove a source and its features", operation_id="delete_source")
def delete_source(name: str, session: SessionDep, principal: RevOpsPrincipal) -> SourceDeleted:
    deleted = svc.delete_source(session, name, actor=principal.actor)
    return SourceDeleted(
        name=name,
        features_deleted=deleted.features_deleted,
        **fanout_counts(deleted.fanout),
        orphaned_mappings=[OrphanedMapping(**m) for m in deleted.orphaned_mappings],
    )


@router.post(
    "/{name}/refresh",
    summary="Refresh now (a failure keeps the last good catalog and is recorded on the source)",
    operation_id="refresh_source",
)
async def refresh(
    name: str,
    engine: EngineDep,
    principal: RevOpsPrincipal,
    accept_removals: Annotated[
        bool,
        Query(
            description="store this refresh even if it removes more of the source's features "
            "than config.max_removed_share allows (audited); for a removal that is real"
        ),
    ] = False,
) -> RefreshOut:
    # Its own transactions: the fetch must not run inside the request's transaction.
    result = await run_in_threadpool(
        refresh_source, engine, name, actor=principal.actor, accept_removals=accept_removals
    )
    return RefreshOut(**{**result.as_dict(), **fanout_counts(result.fanout)})
