"""The test connector's ingest route: proves the spine end to end before any CRM exists.

Authenticated by an API key (admin or revops) instead of a CRM signature. Stores through
`ingest_events` like every webhook, so the answer comes only after the events are committed.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.api.deps import EngineDep, Principal, require_roles
from app.errors import ServiceUnavailable
from app.jobs.ingest import InboundEvent, ingest_events
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
def receive_test_events(
    _principal: Annotated[Principal, Depends(require_roles(Role.revops))],
    delivery: TestDelivery,
    engine: EngineDep,
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
        result = ingest_events(engine, events)
    except SQLAlchemyError as exc:
        # Nothing was committed: the sender must deliver again.
        log.error("ingest failed", source=SOURCE, error=type(exc).__name__, events=len(events))
        metrics.EVENTS.labels(source=SOURCE, result="rejected").inc(len(events))
        raise ServiceUnavailable("database unavailable: nothing stored, deliver again") from exc
    metrics.EVENTS.labels(source=SOURCE, result="received").inc(result.new)
    if result.duplicates:
        metrics.EVENTS.labels(source=SOURCE, result="duplicate").inc(result.duplicates)
    return IngestAck(
        received=result.received,
        new=result.new,
        duplicates=result.duplicates,
        queued_deals=result.queued_deals,
    )
