"""Operator endpoints: liveness, readiness, metrics, and the deal queue (counts, dead rows,
retry one, replay all)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from pydantic import BaseModel
from sqlalchemy import case, func, text
from sqlmodel import Session, select

from app import metrics
from app.api.deps import (
    ERROR_DETAIL_ROLES,
    READ_ROLES,
    EngineDep,
    Offset,
    PageLimit,
    Principal,
    RowId,
    SessionDep,
    require_roles,
)
from app.db import read_only
from app.errors import Conflict, NotFound
from app.jobs import queue
from app.migrate import current_revision, head_revision
from app.models import DealQueue
from app.security import Role
from app.services import audit

router = APIRouter()
log = structlog.get_logger("app.ops")

# 0 while /metrics cannot read the database: the queue-depth gauge is then left out (not
# reported stale), and everything kept in the process is still served.
SCRAPE_DATABASE_UP = Gauge(
    "roadmap_guard_metrics_database_up",
    "1 if the last /metrics scrape read the deal queue from the database, 0 if it could not",
)

QueueReader = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
QueueOperator = Annotated[Principal, Depends(require_roles(Role.revops))]


@lru_cache(maxsize=1)
def _head() -> str | None:
    return head_revision()


@lru_cache(maxsize=64)
def _known_to_code(revision: str) -> bool:
    """Whether this code's migrations include `revision` (a newer release's revision is not)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from app.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        return script.get_revision(revision) is not None
    except CommandError:
        return False


class HealthAnswer(BaseModel):
    status: Literal["ok", "unhealthy"]
    worker: dict | None = None  # with `serve`'s embedded worker: what its health check saw


class ReadyAnswer(BaseModel):
    status: Literal["ok", "unavailable"]
    revision: str | None = None  # the database's migration (when it could be read)
    reason: str | None = None  # why not ready (with 503)
    warning: str | None = None  # the database is at a newer migration than this code


@router.get(
    "/healthz",
    responses={
        200: {"model": HealthAnswer},
        503: {"model": HealthAnswer, "description": "the embedded worker stopped or hangs"},
    },
    tags=["ops"],
    summary="Liveness: the process answers, and its embedded worker (serve's default) is alive "
    "(503 'unhealthy' when it stopped, is stuck on a batch or its loop went silent)",
)
def healthz(request: Request) -> JSONResponse:
    """`serve`'s in-process worker is part of this process: a worker that died or hangs on a
    batch processes nothing while the API answered ok, and this is the image's health check.
    Its `Worker.health()` decides, as the standalone worker's own /healthz does (a database
    outage is not unhealthy: /readyz reports that). Without an embedded worker
    (WORKER_MODE=off) the process answering is all."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return JSONResponse({"status": "ok"})
    ok, details = metrics.check_health(runtime.worker.health)
    return JSONResponse(
        {"status": "ok" if ok else "unhealthy", "worker": details},
        status_code=200 if ok else 503,
    )


@router.get(
    "/readyz",
    responses={
        200: {"model": ReadyAnswer},
        503: {
            "model": ReadyAnswer,
            "description": "the database is unreachable or behind the code's migrations",
        },
    },
    tags=["ops"],
    summary="Readiness: database reachable and migrations at head or newer (503 with a reason if "
    "behind; a warning if the database is newer than this code)",
)
def readyz(engine: EngineDep) -> JSONResponse:
    try:
        # as a reader: on SQLite a plain connection waited for the one write slot, and behind
        # a long write (a large import) readiness failed as "database unreachable"
        with read_only(engine).connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(engine)
    except Exception as exc:
        return JSONResponse(
            {"status": "unavailable", "reason": f"database unreachable: {type(exc).__name__}"},
            status_code=503,
        )
    head = _head()
    if current is not None and current != head and not _known_to_code(current):
        # A rolling upgrade migrates first: replicas of the previous release still serve (the
        # migrations are additive for one release); 503 here would take them all out at once.
        return JSONResponse(
            {
                "status": "ok",
                "revision": current,
                "warning": f"database is at a newer migration ({current}) than this code "
                f"({head}): finish rolling out the new release",
            }
        )
    if current != head:
        return JSONResponse(
            {
                "status": "unavailable",
                "reason": f"migrations not at head (database {current}, code {head}): "
                "run `roadmap-guard migrate`",
            },
            status_code=503,
        )
    return JSONResponse({"status": "ok", "revision": current})


def _scrape(engine) -> bytes:
    try:
        with read_only(engine).connect() as conn:  # (as readyz: never behind a long write)
            counts = queue.queue_counts(conn)
            lag = queue.oldest_due_seconds(conn)
    except Exception as exc:  # a database outage must not hide the rest of the metrics
        log.warning("metrics: cannot read queue depth", error=type(exc).__name__)
        metrics.QUEUE_DEPTH.clear()
        metrics.QUEUE_OLDEST_DUE.clear()
        SCRAPE_DATABASE_UP.set(0)
    else:
        for status, n in counts.items():
            metrics.QUEUE_DEPTH.labels(status=status).set(n)
        for priority, seconds in lag.items():
            metrics.QUEUE_OLDEST_DUE.labels(priority=str(priority)).set(seconds)
        SCRAPE_DATABASE_UP.set(1)
    return generate_latest(REGISTRY)


@router.get(
    "/metrics",
    tags=["ops"],
    response_class=PlainTextResponse,  # Prometheus' text format, not JSON
    summary="Prometheus metrics (unauthenticated: expose only to the scraper's network)",
)
async def prometheus_metrics(engine: EngineDep) -> Response:
    body = await run_in_threadpool(_scrape, engine)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# --- the deal queue ---------------------------------------------------------------------------


class QueueRow(BaseModel):
    id: int
    crm: str
    deal_id: str
    status: str
    reason: str
    # 0: a rep's change or an approval; 1: a sweep (roadmap or rule change, backfill, reread,
    # ledger). Due rows of priority 0 are claimed first.
    priority: int
    attempts: int
    due_at: datetime
    # The last attempt's error. For revops and admin as recorded; for the other roles an
    # unexpected exception's text (SQL, hostnames, addresses) is replaced by "internal error:
    # ask an operator" (queue.readable_error); a CRM's refusal or limit is shown as it is.
    last_error: str | None
    # With a last_error on a pending row: held (the CRM refused us: credentials, a rate limit,
    # the org's set-up; retried without spending attempts, never dead) if true, else backing
    # off after a transient error (attempts counting towards MAX_ATTEMPTS).
    held: bool = False
    # The worker holding it (host:pid:...): revops and admin only, null for the other roles.
    lease_owner: str | None
    lease_expires_at: datetime | None
    queued_at: datetime
    finished_at: datetime | None
    updated_at: datetime


class QueueRows(BaseModel):
    status: str
    with_error: bool = False
    total: int
    limit: int
    offset: int
    items: list[QueueRow]


class QueueView(BaseModel):
    counts: dict[str, int]
    # Pending rows per reason (webhook, reconcile, roadmap, backfill, ...), and how many of
    # them are not due yet: how far a backfill or a roadmap fan-out has got.
    pending_by_reason: dict[str, dict[str, int]] = {}
    # Pending rows with a last_error: held while the CRM refuses (an org's validation rule or
    # inactive picklist value, a HubSpot property rule, refused credentials, a rate limit;
    # retried every few minutes without spending attempts) or backing off before the next
    # attempt. `?status=pending&with_error=true` lists them.
    pending_with_error: int = 0
    # Of those, how many are held (the CRM refused us; attempts not spent). The rest back off.
    pending_held: int = 0
    rows: QueueRows


class ReplayResult(BaseModel):
    replayed: int
    ids: list[int]


# ERROR_DETAIL_ROLES (deps) read a queue row whole: every error as stored, its lease owner (the
# operators, who may retry and replay it). For the other read roles an unexpected exception's
# text is replaced (queue.readable_error).


def _row(r: DealQueue, *, detail: bool = True) -> QueueRow:
    row = QueueRow.model_validate(r, from_attributes=True)
    if not detail:
        row.last_error = queue.readable_error(r.last_error)
        row.lease_owner = None
    return row


@router.get(
    "/api/v1/queue",
    tags=["ops"],
    summary="Queue counts by status, and rows of one status (dead by default) with their errors "
    "(other roles than revops and admin: an unexpected error's text is withheld); "
    "status=pending&with_error=true: the deals held while the CRM refuses, or backing off",
)
def get_queue(
    principal: QueueReader,
    session: SessionDep,
    status: Literal["pending", "running", "done", "dead"] = "dead",
    with_error: Annotated[
        bool,
        Query(
            description="only rows with a last_error: with status=pending, the deals held while "
            "the CRM refuses (an org's rule, credentials, a rate limit) or backing off"
        ),
    ] = False,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> QueueView:
    counts = queue.queue_counts(session)
    where = [DealQueue.status == status]
    if with_error:
        where.append(DealQueue.last_error.is_not(None))
    total = session.exec(select(func.count()).select_from(DealQueue).where(*where)).one()
    pending_with_error, pending_held = session.exec(
        select(func.count(), func.coalesce(func.sum(case((DealQueue.held, 1), else_=0)), 0))
        .select_from(DealQueue)
        .where(queue.pending_after_error())
    ).one()
    detail = principal.role in ERROR_DETAIL_ROLES
    rows = session.exec(
        select(DealQueue)
        .where(*where)
        .order_by(DealQueue.updated_at.desc(), DealQueue.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return QueueView(
        counts=counts,
        pending_by_reason=queue.pending_by_reason(session),
        pending_with_error=pending_with_error,
        pending_held=pending_held,
        rows=QueueRows(
            status=status,
            with_error=with_error,
            total=total,
            limit=limit,
            offset=offset,
            items=[_row(r, detail=detail) for r in rows],
        ),
    )


def _get_row(session: Session, row_id: int) -> DealQueue:
    row = session.get(DealQueue, row_id)
    if row is None:
        raise NotFound(f"queue row {row_id} not found")
    return row


@router.post(
    "/api/v1/queue/{row_id}/retry",
    tags=["ops"],
    summary="Run a dead (or backing-off) deal again now, with a fresh attempt budget",
)
def retry_row(principal: QueueOperator, session: SessionDep, row_id: RowId) -> QueueRow:
    row = _get_row(session, row_id)
    before = _row(row).model_dump(mode="json")
    if row.status not in queue.RETRYABLE or not queue.retry_now(session, row):
        raise Conflict(
            f"queue row {row_id} is {row.status}: only dead or pending rows can be retried",
            details={"status": row.status},
        )
    after = _row(row)
    audit.record(
        session,
        actor=principal.actor,
        action="queue.retry",
        entity_type="deal_queue",
        entity_id=row.id,
        before=before,
        after=after.model_dump(mode="json"),
    )
    return after


@router.post(
    "/api/v1/queue/replay-dead",
    tags=["ops"],
    summary="Put every dead deal back in the queue, due now",
)
def replay_dead(principal: QueueOperator, session: SessionDep) -> ReplayResult:
    ids = queue.replay_dead(session)
    audit.record(
        session,
        actor=principal.actor,
        action="queue.replay_dead",
        entity_type="deal_queue",
        entity_id="*",
        after={"replayed": len(ids), "ids": ids[:1000]},
    )
    return ReplayResult(replayed=len(ids), ids=ids)
