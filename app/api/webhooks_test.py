"""The test connector's ingest route: proves the spine end to end before any CRM exists.

Authenticated by an API key (admin or revops) instead of a CRM signature. Stores through
`ingest_events` like every webhook, so the answer comes only after the events are committed.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import Principal, require_roles
from app.api.ingest import NotStored, store_delivery
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


class IngestAck(BaseModel):
    received: int
    new: int
    duplicates: int
    queued_deals: int


@router.post(
    "/webhooks/test",
    summary="Deliver test-CRM events (API key, admin or revops); 200 means stored",
)
async def receive_test_events(
    _principal: Annotated[Principal, Depends(require_roles(Role.revops))],
    delivery: TestDelivery,
    request: Request,
) -> IngestAck:
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
