"""The deal queue: one row per (crm, deal), coalescing any number of events into one run.

States: pending → running (leased) → done | pending (retry) | dead.
An enqueue while running sets `rerun`, so the deal runs again after the current run ends: the
run in flight may have read the deal before the change that caused the event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import case, func, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.models import DealQueue, utcnow


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enqueue_deals(
    session: Session,
    crm: str,
    deal_ids: Iterable[str],
    *,
    reason: str = "webhook",
    due_at: datetime | None = None,
) -> int:
    """Upsert one queue row per deal in the caller's transaction. Returns how many deals."""
    ids = sorted({d for d in deal_ids if d})  # sorted: a stable lock order across writers
    if not ids:
        return 0
    now = utcnow()
    due = due_at or now
    table = DealQueue.__table__
    stmt = _insert(session)(table).values(
        [
            {
                "crm": crm,
                "deal_id": deal_id,
                "status": "pending",
                "reason": reason,
                "due_at": due,
                "attempts": 0,
                "rerun": False,
                "queued_at": now,
                "updated_at": now,
            }
            for deal_id in ids
        ]
    )
    running = table.c.status == "running"
    idle = table.c.status.in_(("done", "dead"))
    stmt = stmt.on_conflict_do_update(
        index_elements=["crm", "deal_id"],
        set_={
            "status": case((running, literal("running")), else_=literal("pending")),
            "rerun": case((running, literal(True)), else_=table.c.rerun),
            # A pending row keeps its due time (a retry's backoff is not bypassed by chatter);
            # a finished or dead one is due now.
            "due_at": case((idle, stmt.excluded.due_at), else_=table.c.due_at),
            "attempts": case((idle, literal(0)), else_=table.c.attempts),
            "queued_at": case((idle, stmt.excluded.queued_at), else_=table.c.queued_at),
            "reason": case((idle, stmt.excluded.reason), else_=table.c.reason),
            "updated_at": func.coalesce(stmt.excluded.updated_at, table.c.updated_at),
        },
    )
    session.execute(stmt)
    return len(ids)
