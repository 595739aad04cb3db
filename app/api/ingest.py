"""What every webhook route does once a delivery is verified and parsed: commit it through the
app's `IngestWriter` (app/jobs/ingest.py) and count it.

The answer waits for the commit, without blocking the event loop; a database failure raises
`NotStored` (nothing of the delivery was written), which each route turns into the error its
CRM retries on (503 JSON, or a SOAP fault for Salesforce Outbound Messages).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect

from app import metrics
from app.errors import DomainError, ErrorResponse
from app.jobs.ingest import InboundEvent, IngestResult, IngestWriter

log = structlog.get_logger("app.webhooks")


class NotStored(Exception):
    """The delivery was not confirmed stored; the sender must deliver it again. `message` is
    what to tell the sender."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadTooLarge(DomainError):
    status_code = 413
    code = "payload_too_large"


class BodyCutShort(DomainError):
    """The request ended before its body did (a proxy timing out, a sender going away): a
    refusal like any other, not an unhandled ClientDisconnect (a 500 and a traceback)."""

    status_code = 400
    code = "body_cut_short"


def webhook_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a JSON webhook route for the OpenAPI document (`responses=`), each
    with the one error body, as `main.document_errors` declares them for /api/ routes. What a
    sender does with each (retry or drop) is in docs/hubspot.md and docs/salesforce.md."""
    return {code: {"model": ErrorResponse, "description": _WEBHOOK_ERRORS[code]} for code in codes}


_WEBHOOK_ERRORS = {
    400: "the body was cut short (the connection closed before its end): nothing stored",
    401: "missing, wrong or expired signature (or API key): refused, nothing stored",
    403: "the key's role may not deliver events",
    413: "body larger than the route's limit: refused before it is read in full",
    422: "the body is not what the sender documents (every mistake in error.details): nothing stored",
    503: "not configured on this service, or the delivery could not be stored in time: "
    "deliver again (nothing was acknowledged)",
}


def count_refusal(source: str, status: int, reason: str) -> None:
    """One refused delivery: `rejected` in roadmap_guard_webhook_events_total and a warning.

    Every refusal counts, not only bad signatures: a signed body that does not parse (a sender
    whose payload changed shape) is the same alert for the operator, and it is otherwise
    visible only in the sender's own delivery log."""
    metrics.EVENTS.labels(source=source, result="rejected").inc()
    log.warning("webhook delivery refused", source=source, status=status, reason=reason)


@contextmanager
def refusals(source: str) -> Iterator[None]:
    """Count each 4xx a webhook route raises (`DomainError`) as a refusal, then re-raise it.

    5xx answers are not refusals: the sender delivers again (`store_delivery` counts those)."""
    try:
        yield
    except DomainError as exc:
        if 400 <= exc.status_code < 500:
            count_refusal(source, exc.status_code, exc.message)
        raise


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes.

    `await request.body()` reads all of it first: a 400 MB chunked POST cost 1.3 GB of memory
    before its signature was even checked. A declared Content-Length over the limit is refused
    before reading; a chunked body is counted as it arrives. A request whose connection
    closes before its body ends is `BodyCutShort` (400, nothing stored): no one receives that
    answer, the sender sees its connection fail and delivers again; it is for the log and the
    `rejected` count, where an unhandled ClientDisconnect was a 500 and a traceback."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        of = f" of {declared}" if declared is not None and declared.isdigit() else ""
        raise BodyCutShort(
            f"body cut short: the connection closed after {size}{of} bytes; nothing stored"
        ) from None
    return b"".join(chunks)


async def store_delivery(
    request: Request, source: str, events: Sequence[InboundEvent]
) -> IngestResult:
    """Commit the delivery; `NotStored` if that fails or is not confirmed within
    WEBHOOK_ACK_TIMEOUT_SECONDS.

    The bound is for senders that give up: HubSpot waits 5 s, then counts a failure and
    delivers again later. A commit still waiting (SQLite locked by another process, PostgreSQL
    overloaded) is not cancelled: it may land after the 503, and the next delivery of the
    same events is then recognised as a duplicate."""
    writer: IngestWriter = request.app.state.ingest_writer
    timeout = request.app.state.settings.webhook_ack_timeout_seconds
    # What the sender sent: our rows derived from its events (each other deal a HubSpot merge
    # names) are not counted, as `received` and `duplicate` do not count them.
    sent = sum(not ev.derived for ev in events)
    try:
        # shield: a timeout must not cancel the writer's future (it completes it later).
        result = await asyncio.wait_for(asyncio.shield(writer.ingest(events)), timeout)
    except SQLAlchemyError as exc:
        log.error("ingest failed", source=source, error=type(exc).__name__, events=sent)
        metrics.EVENTS.labels(source=source, result="rejected").inc(sent)
        raise NotStored("database unavailable: nothing stored, deliver again") from exc
    except TimeoutError as exc:
        log.error("ingest not confirmed in time", source=source, timeout=timeout)
        metrics.EVENTS.labels(source=source, result="rejected").inc(sent)
        raise NotStored(
            f"database busy: not confirmed stored within {timeout:g} s, deliver again "
            "(events stored meanwhile are recognised as duplicates)"
        ) from exc
    metrics.EVENTS.labels(source=source, result="received").inc(result.new)
    if result.duplicates:
        metrics.EVENTS.labels(source=source, result="duplicate").inc(result.duplicates)
    return result
