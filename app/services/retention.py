"""Retention: stored webhook events and the record of CRM writes are deleted once older than
WEBHOOK_EVENT_RETENTION_DAYS / WRITE_BACK_LOG_RETENTION_DAYS (0 keeps them).

Both tables grow with every delivery and every write; nothing reads old rows but a person
looking at a deal's history. Evaluations, commitments, approvals and the audit log are never
deleted here: they are the record of what was promised and decided, and the commitments
report counts quarters back from them.

Deletion walks the table from its oldest id in batches of at most BATCH rows (bounded by
rows, not by a range of ids: PostgreSQL sequences advance on every duplicate delivery too, so
ids can be sparse) through the primary key's index (no scan of the timestamp column, which has
no index), and stops at the first batch that holds a row young enough to keep: ids grow with
time, so everything after it is younger too. Each batch is its own short transaction, so
webhook acks never wait long for it. A run continues until it has caught up or spent
TIME_BUDGET_SECONDS, so a busy portal's volume is deleted as fast as it arrives; the next run
continues where it stopped. The schedule runs hourly on one worker; its state keeps the totals
deleted, the last run's counts, and whether that run caught up.
"""

from __future__ import annotations

import time
from datetime import timedelta

import structlog
from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Engine

from app.db import session_scope
from app.jobs.schedules import JobContext, schedule
from app.models import WebhookEvent, WriteBackLog, utcnow

log = structlog.get_logger("app.retention")

BATCH = 5000
INTERVAL_SECONDS = 3600
# A run stops after this long (checked between batches) even if old rows remain: the next run
# continues. Well under the schedule's interval and the worker's lease.
TIME_BUDGET_SECONDS = 60.0


def prune_until_caught_up(
    engine: Engine, table: Table, stamp: str, days: int, *, deadline: float
) -> tuple[int, bool]:
    """Delete rows of `table` whose `stamp` column is older than `days`, BATCH rows at a time,
    until none are left or time.monotonic() passes `deadline`: (deleted, caught_up)."""
    if days <= 0:
        return 0, True
    cutoff = utcnow() - timedelta(days=days)
    id_col, stamp_col = table.c.id, table.c[stamp]
    deleted = 0
    while True:
        with session_scope(engine) as session:
            # The id of the BATCH-th oldest row (None: fewer rows than that are left).
            last = session.execute(
                select(id_col).order_by(id_col).offset(BATCH - 1).limit(1)
            ).scalar()
            window = id_col <= last if last is not None else id_col.is_not(None)
            old = session.execute(delete(table).where(window, stamp_col < cutoff)).rowcount
            young = session.execute(
                select(func.count()).select_from(table).where(window, stamp_col >= cutoff)
            ).scalar()
        deleted += old
        if young or not old or last is None:
            return deleted, True  # reached rows to keep (everything after is younger), or the end
        if time.monotonic() >= deadline:
            return deleted, False


def prune(engine: Engine, table: Table, stamp: str, days: int) -> int:
    """Delete rows of `table` whose `stamp` column is older than `days`; the number deleted."""
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    return prune_until_caught_up(engine, table, stamp, days, deadline=deadline)[0]


@schedule("retention", interval=lambda _s: INTERVAL_SECONDS)
def retention(ctx: JobContext) -> dict:
    settings = ctx.settings
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    counts: dict[str, int] = {}
    caught_up: dict[str, bool] = {}
    for name, table, stamp, days in (
        (
            "webhook_event",
            WebhookEvent.__table__,
            "received_at",
            settings.webhook_event_retention_days,
        ),
        (
            "write_back_log",
            WriteBackLog.__table__,
            "created_at",
            settings.write_back_log_retention_days,
        ),
    ):
        counts[name], caught_up[name] = prune_until_caught_up(
            ctx.engine, table, stamp, days, deadline=deadline
        )
    if any(counts.values()):
        log.info("retention deleted old rows", **counts)
    if not all(caught_up.values()):
        log.warning(
            "retention ran out of time with old rows left: the next run continues",
            budget_seconds=TIME_BUDGET_SECONDS,
            behind=sorted(n for n, ok in caught_up.items() if not ok),
            **counts,
        )
    totals = dict(ctx.state.get("deleted") or {})
    for name, n in counts.items():
        totals[name] = int(totals.get(name, 0)) + n
    return {"deleted": totals, "last_run": counts, "caught_up": caught_up}
