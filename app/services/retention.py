"""Retention: stored webhook events and the record of CRM writes are deleted once older than
WEBHOOK_EVENT_RETENTION_DAYS / WRITE_BACK_LOG_RETENTION_DAYS (0 keeps them).

Both tables grow with every delivery and every write; nothing reads old rows but a person
looking at a deal's history. Evaluations, commitments, approvals and the audit log are never
deleted here: they are the record of what was promised and decided, and the commitments
report counts quarters back from them.

Deletion walks the table from its oldest id in batches (the primary key's index, no scan of
the timestamp column, which has no index) and stops at the first batch whose oldest row is
young enough: ids grow with time, so everything after it is younger too. Each batch is its own
short transaction, so webhook acks never wait long for it. The schedule runs hourly on one
worker; its state keeps the totals deleted.
"""

from __future__ import annotations

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
# A run stops after this many batches (50,000 rows at most): the next run continues.
MAX_BATCHES = 10


def prune(engine: Engine, table: Table, stamp: str, days: int) -> int:
    """Delete rows of `table` whose `stamp` column is older than `days`; the number deleted."""
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    id_col, stamp_col = table.c.id, table.c[stamp]
    deleted = 0
    for _ in range(MAX_BATCHES):
        with session_scope(engine) as session:
            oldest = session.execute(select(func.min(id_col))).scalar()
            if oldest is None:
                break
            window = (id_col >= oldest) & (id_col < oldest + BATCH)
            old = session.execute(delete(table).where(window, stamp_col < cutoff)).rowcount
            young = session.execute(
                select(func.count()).select_from(table).where(window, stamp_col >= cutoff)
            ).scalar()
        deleted += old
        if young or not old:
            break  # the window reached rows to keep: everything after is younger
    return deleted


@schedule("retention", interval=lambda _s: INTERVAL_SECONDS)
def retention(ctx: JobContext) -> dict:
    settings = ctx.settings
    counts = {
        "webhook_event": prune(
            ctx.engine,
            WebhookEvent.__table__,
            "received_at",
            settings.webhook_event_retention_days,
        ),
        "write_back_log": prune(
            ctx.engine,
            WriteBackLog.__table__,
            "created_at",
            settings.write_back_log_retention_days,
        ),
    }
    if any(counts.values()):
        log.info("retention deleted old rows", **counts)
    totals = dict(ctx.state.get("deleted") or {})
    for name, n in counts.items():
        totals[name] = int(totals.get(name, 0)) + n
    return {"deleted": totals, "last_run": counts}
