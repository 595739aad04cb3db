"""The test connector's ingest route: proves the spine end to end before any CRM exists.

Authenticated by an API key (admin or revops) instead of a CRM signature. Stores through
`ingest_events` like every webhook, so the answer comes only after the events are committed.

The key is checked before the body is read: a declared body parameter would make FastAPI read
and parse the whole JSON first, so an unauthenticated 60 MB body cost twice its size in memory.
The body is then read with the `/api/` cap (`MAX_BODY_BYTES`, 413) and parsed here.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.api.deps import Principal, require_roles
from app.api.ingest import NotStored, read_body, store_delivery, webhook_errors
from app.api.nul import MAX_BODY_BYTES
from app.errors import ServiceUnavailable
from app.jobs.ingest import InboundEvent
from app.security import Role

router = APIRouter(tags=["webhooks"])
log = structlog.get_logger("app.webhooks.test")

SOURCE = "test"
CRM = "test"


class TestEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=255, description="Unique per event: the dedup key")
    deal_id: str = Field(min_length=1, max_length=64)
    type: str | None = Field(default=None, max_length=128)


class TestDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[TestEvent] = Field(min_length=1, max_length=1000)


def _delivery_schema() -> dict:
    """TestDelivery's JSON schema with TestEvent inlined (the route declares no body
    parameter, so FastAPI does not register the models in the OpenAPI components)."""
    schema = TestDelivery.model_json_schema()
    defs = schema.pop("$defs", {})
    schema["properties"]["events"]["items"] = defs["TestEvent"]
    return schema


class IngestAck(BaseModel):
    received: int
    new: int
    duplicates: int
    queued_deals: int


@router.post(
    "/webhooks/test",
    summary="Deliver test-CRM events (API key, admin or revops); 200 means stored",
    responses=webhook_errors(401, 403, 413, 422, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _delivery_schema()}},
        }
    },
)
async def receive_test_events(
    _principal: Annotated[Principal, Depends(require_roles(Role.revops))],
    request: Request,
) -> IngestAck:
    delivery = await _read_delivery(request)
    events = [
        InboundEvent(
            source=SOURCE,
            dedup_key=ev.id,
            crm=CRM,
            deal_id=ev.deal_id,
            event_type=ev.type,
            payload={"id": ev.id, "deal_id": ev.deal_id, "type": ev.type},
        )
        for ev in delivery.events
    ]
    try:
        result = await store_delivery(request, SOURCE, events)
    except NotStored as exc:
        raise ServiceUnavailable(exc.message) from exc
    return IngestAck(
        received=result.received,
        new=result.new,
        duplicates=result.duplicates,
        queued_deals=result.queued_deals,
    )


async def _read_delivery(request: Request) -> TestDelivery:
    """The body, read only now that the key is checked, capped and parsed: a 422 for a shape
    FastAPI would have refused, with the same error body."""
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        return TestDelivery.model_validate_json(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise RequestValidationError(errors) from None
