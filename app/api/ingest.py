"""What every webhook route does once a delivery is verified and parsed: commit it through the
app's `IngestWriter` (app/jobs/ingest.py) and count it.

The answer waits for the commit, without blocking the event loop; a database failure raises
`NotStored` (nothing of the delivery was written), which each route turns into the error its
CRM retries on (503 JSON, or a SOAP fault for Salesforce Outbound Messages).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError

from app import metrics
from app.jobs.ingest import InboundEvent, IngestResult, IngestWriter

log = structlog.get_logger("app.webhooks")


class NotStored(Exception):
    """The delivery was not committed; the sender must deliver it again."""


async def store_delivery(
    request: Request, source: str, events: Sequence[InboundEvent]
) -> IngestResult:
    writer: IngestWriter = request.app.state.ingest_writer
    try:
        result = await writer.ingest(events)
    except SQLAlchemyError as exc:
        log.error("ingest failed", source=source, error=type(exc).__name__, events=len(events))
        metrics.EVENTS.labels(source=source, result="rejected").inc(len(events))
        raise NotStored(type(exc).__name__) from exc
    metrics.EVENTS.labels(source=source, result="received").inc(result.new)
    if result.duplicates:
        metrics.EVENTS.labels(source=source, result="duplicate").inc(result.duplicates)
    return result
