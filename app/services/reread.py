"""After an upgrade that reads notes differently, every open deal reads its notes again.

Each evaluation records the catalog matcher that found its references
(`services.catalog.matcher_version`: the catalog's names, mappings and settings, and the
reading code itself). A roadmap or mapping change re-evaluates the deals it can affect
(`services.fanout`); a new release of the reading code affects every deal, and nothing else
would re-read one until its next change in the CRM: a misreading the release fixed (a false
block, a missed promise) would stay on the deal meanwhile.

The `reread` schedule (one worker, every `INTERVAL_SECONDS`) compares the reading code's digest,
with the fiscal year and time zone notes are read in (`reading_version`), with those it saw last
(its state). When they differ (a new release, a changed FISCAL_YEAR_START_MONTH or
BUSINESS_TIMEZONE, or the first run after this job was added), it queues every open, tracked
deal whose latest evaluation used another matcher than the current one, with reason `reread`:
the worker re-evaluates each from its stored snapshot (no CRM read) and writes back only what
changed, as for a rule change. A catalog change alone does not trigger it: the fan-out re-reads
the deals that change concerns. During a rolling upgrade an old and a new worker may each queue
the deals once (their digests differ): re-reading twice is harmless.

A rolling upgrade also leaves old workers claiming the queued rows: an old worker re-evaluates
its deals with the old reading and records nothing new (to it the stored references still
hold), so those deals kept the old reading for good once the code digest was recorded. So the
job checks again (at most RECHECKS times) once the rows it queued have all run: the open deals
still read another way are queued again, but for those whose queue row is dead (their
re-evaluation fails: `last_error` says why, replay them), until a check finds none.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlalchemy import exists, or_, select
from sqlmodel import Session

from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.schedules import JobContext, schedule
from app.models import Deal, DealQueue, Evaluation, utcnow
from app.services import catalog
from app.services.catalog import load_catalog_and_matcher

log = structlog.get_logger("app.reread")

INTERVAL_SECONDS = 300
REASON = "reread"
_CHUNK = 1000  # SQLite caps bound parameters
# Each further chunk of deals is due this much later, so webhooks arriving meanwhile are not
# queued behind all of them (the worker re-evaluates ~1,500 stored deals a second).
PACE_SECONDS = 2.0
# Checks for deals still read the old way after the queued ones ran (see the module docstring).
RECHECKS = 2


def reading_version() -> str:
    """How this process reads notes: the reading code (`catalog.reading_version`) and the
    settings the notes are read in, FISCAL_YEAR_START_MONTH ("by Q3") and BUSINESS_TIMEZONE
    (the day a note was written on), which every deal's matcher version holds too. With the
    code alone, processes restarted with another fiscal year or time zone (an admin fixing
    the defaults after install) queued nothing, and each deal kept its old reading until it
    changed in the CRM."""
    return (
        f"{catalog.reading_version()}:{catalog.fiscal_year_start()}:{catalog.business_timezone()}"
    )


def stale_open_deals(
    session: Session, matcher: str, *, skip_dead: bool = False
) -> dict[str, list[str]]:
    """Open, tracked deals whose latest evaluation used a matcher other than `matcher` (or
    recorded none), by CRM, in id order; `skip_dead`: not those whose queue row is dead."""
    conditions = [
        Deal.is_closed.is_(False),
        Deal.tracked.is_(True),
        or_(Evaluation.matcher_version.is_(None), Evaluation.matcher_version != matcher),
    ]
    if skip_dead:
        conditions.append(
            ~exists().where(
                DealQueue.crm == Deal.crm,
                DealQueue.deal_id == Deal.deal_id,
                DealQueue.status == "dead",
            )
        )
    rows = session.execute(
        select(Deal.crm, Deal.deal_id)
        .join(Evaluation, Evaluation.id == Deal.last_evaluation_id)
        .where(*conditions)
        .order_by(Deal.crm, Deal.deal_id)
    )
    out: dict[str, list[str]] = {}
    for crm, deal_id in rows:
        out.setdefault(crm, []).append(deal_id)
    return out


def _rereads_waiting(session: Session) -> bool:
    """Whether rows this job queued are still to run (pending or running, reason reread)."""
    waiting = session.execute(
        select(DealQueue.id)
        .where(DealQueue.status.in_(("pending", "running")), DealQueue.reason == REASON)
        .limit(1)
    ).first()
    return waiting is not None


def reread_after_upgrade(session: Session, state: dict) -> tuple[dict, int]:
    """Queue the stale open deals when the reading code changed since `state` (the job's),
    then, once those have run, those still stale (at most RECHECKS times: see the module
    docstring): (the new state, how many deals were queued)."""
    code = reading_version()
    recheck = state.get("reading") == code
    left = int(state.get("rechecks") or 0) if recheck else RECHECKS
    if recheck and (left <= 0 or _rereads_waiting(session)):
        return state, 0
    _, matcher = load_catalog_and_matcher(session)
    queued = 0
    now = utcnow()
    # CRMs and ids in the queue's lock order (app/jobs/queue.py) across chunks
    stale = stale_open_deals(session, matcher, skip_dead=recheck)
    for crm, ids in sorted(stale.items()):
        ids = sorted(ids)
        for start in range(0, len(ids), _CHUNK):
            due = now + timedelta(seconds=PACE_SECONDS * (queued // _CHUNK))
            queued += enqueue_deals(
                session, crm, ids[start : start + _CHUNK], reason=REASON, due_at=due
            )
    if recheck:
        left = left - 1 if queued else 0
        if queued:
            log.warning(
                "deals still read the old way after their reread (an older worker took them?); "
                "queued again",
                deals=queued,
                checks_left=left,
            )
    return {**state, "reading": code, "rechecks": left}, queued


@schedule("reread", interval=lambda _s: INTERVAL_SECONDS)
def reread(ctx: JobContext) -> dict:
    with session_scope(ctx.engine) as session:
        state, queued = reread_after_upgrade(session, ctx.state)
    if queued:
        log.info("reading_changed_deals_queued", deals=queued)
    return state
