"""API keys through the API (admin only). A key is shown once, in the create response; only its
SHA-256 is stored, and neither the key nor its hash is logged or listed."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func
from sqlmodel import select

from app.api.deps import AdminPrincipal, Offset, Page, PageLimit, RowId, SessionDep, api_key_cache
from app.errors import ErrorResponse, NotFound
from app.models import ApiKey
from app.security import (
    MAX_KEY_NAME,
    Role,
    create_api_key,
    key_name_problem,
    refuse_duplicate_name,
    revoke_api_key,
)
from app.services import audit

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_KEY_NAME, json_schema_extra={"pattern": r"\S"})
    role: Role

    @field_validator("name")
    @classmethod
    def _usable(cls, value: str) -> str:
        problem = key_name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.strip()


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyPage(Page[ApiKeyPublic]):
    pass


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The API key. Shown this once; store it now.")


def _public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(row, from_attributes=True)


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (the key is in this response only)",
    responses={
        409: {
            "model": ErrorResponse,
            "description": "an active key already has this name (case-insensitive)",
        }
    },
)
def create_key(body: ApiKeyCreate, principal: AdminPrincipal, session: SessionDep) -> ApiKeyCreated:
    refuse_duplicate_name(session, body.name)
    row, key = create_api_key(session, name=body.name, role=body.role, created_by=principal.actor)
    public = _public(row)
    audit.record(
        session,
        actor=principal.actor,
        action="api_key.create",
        entity_type="api_key",
        entity_id=row.id,
        after=public.model_dump(mode="json"),
    )
    return ApiKeyCreated(**public.model_dump(), key=key)


@router.get("/api-keys", summary="API keys by id, paged (never the keys themselves)")
def list_keys(
    _principal: AdminPrincipal, session: SessionDep, limit: PageLimit = 50, offset: Offset = 0
) -> ApiKeyPage:
    total = session.exec(select(func.count()).select_from(ApiKey)).one()
    rows = session.exec(select(ApiKey).order_by(ApiKey.id).offset(offset).limit(limit)).all()
    return ApiKeyPage(total=total, limit=limit, offset=offset, items=[_public(r) for r in rows])


def _revoke(key_id: int, principal, session, request: Request) -> ApiKeyPublic:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    api_key_cache(request.app).revoked(key_id)  # refused by this process from now on
    if row.revoked_at is not None:  # revoking twice keeps the first time, and one record of it
        return _public(row)
    before = _public(row)
    revoke_api_key(row)
    session.add(row)
    session.flush()
    after = _public(row)
    audit.record(
        session,
        actor=principal.actor,
        action="api_key.revoke",
        entity_type="api_key",
        entity_id=row.id,
        before=before.model_dump(mode="json"),
        after=after.model_dump(mode="json"),
    )
    return after


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
def delete_key(
    key_id: RowId, principal: AdminPrincipal, session: SessionDep, request: Request
) -> ApiKeyPublic:
    return _revoke(key_id, principal, session, request)


@router.post("/api-keys/{key_id}/revoke", summary="Revoke an API key (same as DELETE)")
def revoke_key(
    key_id: RowId, principal: AdminPrincipal, session: SessionDep, request: Request
) -> ApiKeyPublic:
    return _revoke(key_id, principal, session, request)
