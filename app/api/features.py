"""/api/v1/features: every source's features (read); the built-in registry's (write)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from pydantic import Field

from app.api.deps import (
    CREATED,
    Offset,
    Page,
    PageLimit,
    ReadPrincipal,
    RevOpsPrincipal,
    SessionDep,
    created_at,
    if_match_header,
    precondition,
)
from app.api.fanout_counts import FanOutCounts, fanout_counts
from app.rules.model import Availability
from app.services import features_service as svc
from app.services import rules_service

router = APIRouter(prefix="/api/v1/features", tags=["roadmap"])


class FeaturePage(Page[svc.FeaturePublic]):
    pass


IfMatch = if_match_header("feature")
PRECONDITION = precondition("feature")


class FeatureChange(FanOutCounts):
    feature: svc.FeaturePublic
    warnings: list[svc.MappingOverlap] = Field(
        default_factory=list,
        description="SKUs or product ids sent that a product mapping already names: a deal "
        "selling one references the mapping's features and this one (not a refusal)",
    )


class FeatureDeleted(FanOutCounts):
    key: str
    warnings: list[dict] = Field(
        default_factory=list, description="rules in force that name the deleted feature's key"
    )


@router.get("", summary="List and search features", operation_id="list_features")
def list_features(
    session: SessionDep,
    _p: ReadPrincipal,
    q: Annotated[str | None, Query(max_length=200, description="in key, name or aliases")] = None,
    availability: Annotated[list[Availability] | None, Query()] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> FeaturePage:
    total, rows = svc.list_features(
        session, q=q, availability=availability, source=source, limit=limit, offset=offset
    )
    return FeaturePage(
        total=total, limit=limit, offset=offset, items=[svc.to_public(r) for r in rows]
    )


@router.get(
    "/{key}", summary="One feature (its ETag, for If-Match on a write)", operation_id="get_feature"
)
def get_feature(
    key: str, session: SessionDep, _p: ReadPrincipal, response: Response
) -> svc.FeaturePublic:
    row = svc.get_row(session, key)
    response.headers["ETag"] = svc.etag(row)
    return svc.to_public(row)


@router.post(
    "",
    status_code=201,
    summary="Create a registry feature (re-evaluates open deals that now match it)",
    operation_id="create_feature",
    responses=CREATED,
)
def create_feature(
    body: svc.FeatureCreate, session: SessionDep, principal: RevOpsPrincipal, response: Response
) -> FeatureChange:
    row, fanout = svc.create_feature(session, body, actor=principal.actor)
    created_at(response, f"{router.prefix}/{quote(row.key, safe='')}", svc.etag(row))
    return FeatureChange(
        feature=svc.to_public(row),
        warnings=svc.mapping_overlaps(session, row, body),
        **fanout_counts(fanout),
    )


@router.patch(
    "/{key}",
    summary="Edit a registry feature (partial); dependent open deals are re-evaluated",
    operation_id="update_feature",
    responses=PRECONDITION,
)
def update_feature(
    key: str,
    body: svc.FeatureUpdate,
    session: SessionDep,
    principal: RevOpsPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> FeatureChange:
    row, fanout = svc.update_feature(session, key, body, actor=principal.actor, if_match=if_match)
    response.headers["ETag"] = svc.etag(row)
    return FeatureChange(
        feature=svc.to_public(row),
        warnings=svc.mapping_overlaps(session, row, body),
        **fanout_counts(fanout),
    )


@router.delete(
    "/{key}",
    summary="Delete a registry feature",
    operation_id="delete_feature",
    responses=PRECONDITION,
)
def delete_feature(
    key: str, session: SessionDep, principal: RevOpsPrincipal, if_match: IfMatch = None
) -> FeatureDeleted:
    fanout = svc.delete_feature(session, key, actor=principal.actor, if_match=if_match)
    warnings = rules_service.rules_naming_feature(session, key)
    return FeatureDeleted(key=key, warnings=warnings, **fanout_counts(fanout))
