"""The open roadmap tasks of deals gone from the CRM, swept up.

A deal found deleted or merged away has its open roadmap task completed when it is untracked
(`pipeline._complete_gone_tasks`). Deals untracked before that existed kept their tasks open
in the owner's task list, and a completion refused (a dead queue item, replayed or not) leaves
one open too. The `gone_tasks` schedule (one worker, every SWEEP_SECONDS) queues, with reason
`reconcile`, the untracked deals whose task is still open, untouched for GRACE: the worker
reads each, finds it gone again and completes its task then (a deal restored meanwhile is
tracked and read again). At most BATCH deals per CRM a run; only CRMs this process has a
connector for.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import select
from sqlmodel import Session

from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.schedules import JobContext, schedule
from app.models import Deal, utcnow

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 6 * 3600
GRACE = timedelta(hours=1)  # just untracked: its own completion is still under way
BATCH = 1000
REASON = "reconcile"


def queue_gone_tasks(session: Session, crms: list[str]) -> dict[str, int]:
    """Queue the untracked deals of these CRMs whose roadmap task is still open (crm -> n)."""
    before = utcnow() - GRACE
    queued: dict[str, int] = {}
    for crm in sorted(crms):  # the queue's lock order (app/jobs/queue.py)
        ids = list(
            session.execute(
                select(Deal.deal_id)
                .where(
                    Deal.crm == crm,
                    Deal.tracked.is_(False),
                    Deal.crm_task_open.is_(True),
                    Deal.crm_task_id.is_not(None),
                    Deal.updated_at < before,
                )
                # Longest untouched first: a deal read and found gone again is touched then
                # (untrack), so one whose completion keeps failing (dead, revived by each run)
                # goes to the back. In id order the same BATCH deals were queued every run
                # and the others never were.
                .order_by(Deal.updated_at, Deal.deal_id)
                .limit(BATCH)
            ).scalars()
        )
        if ids:
            queued[crm] = enqueue_deals(session, crm, ids, reason=REASON)
    return queued


@schedule("gone_tasks", interval=lambda _s: SWEEP_SECONDS)
def sweep_gone_tasks(ctx: JobContext) -> None:
    with session_scope(ctx.engine) as session:
        queued = queue_gone_tasks(session, list(ctx.connectors))
    if queued:
        log.info("gone deals with open tasks queued", deals=queued)
