"""Backfill: queue every open deal a CRM holds, so the worker reads and evaluates each one.

Webhooks and reconciliation only see deals that change: after install, reconciliation looks
back `*_RECONCILE_LOOKBACK_DAYS`, so an open deal nobody touched for longer is never read, and
engineering's exposure misses its pipeline. After an upgrade that reads more of each deal
(0008: amounts in the company currency), stored deals keep what they had until read again.
A backfill lists the CRM's open deals page by page (`CrmConnector.open_deal_ids`) and queues
each page in its own transaction with reason `backfill`: an interrupted run keeps what it
queued, and running it twice queues nothing twice (one queue row per deal). The worker then
reads them in its usual batches, within the CRM's rate limits. Once the whole list is in, the
deals open here that it left out (deleted or closed in the CRM while their webhook was lost)
are queued too: read, each is found gone or closed (`unlisted` in the result and the audit).

Paced: the queue serves rows by due time, so 20,000 deals due at once would make every webhook
arriving meanwhile wait behind them (a rep would see the warning tens of minutes late). Each
page is due `listed so far / pace` minutes after the start instead: a webhook, due when it
arrives, goes ahead of the backfill pages due later, and the backfill still runs at `pace`
deals a minute when nothing else is waiting. `pace=None` makes every page due at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy import false, select, true
from sqlalchemy.engine import Engine

from app.connectors.base import CrmConnector, DealIdPage
from app.db import session_scope
from app.jobs.queue import enqueue_deals, queue_ids
from app.models import Deal, utcnow
from app.services import audit

log = structlog.get_logger("app.backfill")

REASON = "backfill"
DEFAULT_PACE = 1000.0  # deals a minute


@dataclass
class BackfillResult:
    crm: str
    listed: int = 0  # open deals the CRM listed
    queued: int = 0  # queue rows written (a deal listed twice is queued once)
    total: int | None = None  # what the CRM said it would list, when it says
    unlisted: int = 0  # deals open here the CRM did not list (gone or closed there): queued


def backfill(
    engine: Engine,
    connector: CrmConnector,
    *,
    actor: str,
    pace: float | None = DEFAULT_PACE,
    on_page: Callable[[DealIdPage, BackfillResult], None] | None = None,
) -> BackfillResult:
    """Queue every open deal of `connector`'s CRM, `pace` deals a minute (see the module
    docstring); `on_page` is called after each page is committed (a progress bar). The run is
    recorded in the audit log with its counts; an interrupted run too (`interrupted`, `error`:
    why), with the counts so far, before its error is raised."""
    result = BackfillResult(crm=connector.name)
    seen: set[str] = set()
    started = utcnow()
    try:
        for page in connector.open_deal_ids():
            fresh = [i for i in page.ids if i not in seen]
            due = started + timedelta(minutes=len(seen) / pace) if pace else None
            seen.update(fresh)
            with session_scope(engine) as session:
                result.queued += enqueue_deals(
                    session, connector.name, fresh, reason=REASON, due_at=due
                )
            result.listed += len(page.ids)
            if result.total is None:
                result.total = page.total
            if on_page is not None:
                on_page(page, result)
        # The whole list is in: the deals open here that the CRM did not list are read too,
        # after the listed ones (see `_queue_unlisted`).
        due = started + timedelta(minutes=len(seen) / pace) if pace else None
        result.unlisted = _queue_unlisted(engine, connector.name, seen, due)
    except BaseException as exc:  # a CRM limit, the network, Ctrl-C: audited, then raised
        _audit_interrupted(engine, result, actor=actor, pace=pace, exc=exc)
        raise
    after: dict = {"pace": pace}
    if result.unlisted:
        after["unlisted"] = result.unlisted
    _audit(engine, result, actor=actor, after=after)
    return result


def _queue_unlisted(engine: Engine, crm: str, listed: set[str], due) -> int:
    """Queue the deals tracked as open here that the CRM's complete list of open deals left
    out: deleted or closed there while their webhook was lost. Reconciliation reads deals
    modified lately, which a deleted deal never is, so such a deal stayed open here for good,
    its pipeline in engineering's exposure; read, it is found gone (untracked) or closed. A
    deal created while the list was read may be among them: it is read once more."""
    listed = set(queue_ids(crm, listed))
    with session_scope(engine) as session:
        open_here = session.execute(
            select(Deal.deal_id).where(
                Deal.crm == crm,
                Deal.tracked == true(),
                Deal.is_closed == false(),
            )
        ).scalars()
        unlisted = [d for d in open_here if d not in listed]
        if unlisted:
            enqueue_deals(session, crm, unlisted, reason=REASON, due_at=due)
    if unlisted:
        log.info("backfill_unlisted_deals_queued", crm=crm, deals=len(unlisted))
    return len(unlisted)


def _audit(engine: Engine, result: BackfillResult, *, actor: str, after: dict) -> None:
    with session_scope(engine) as session:
        audit.record(
            session,
            actor=actor,
            action="queue.backfill",
            entity_type="deal_queue",
            entity_id=result.crm,
            after={"listed": result.listed, "queued": result.queued, **after},
        )


def _audit_interrupted(
    engine: Engine, result: BackfillResult, *, actor: str, pace: float | None, exc: BaseException
) -> None:
    """The audit entry of a run cut short: what it queued so far (kept: each page is committed)
    and why it stopped. Never hides the interruption itself: a failure to record it (the
    database is what failed) is logged and the original error raised."""
    reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")[:500]
    after: dict = {"pace": pace, "interrupted": True, "error": reason, "total": result.total}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        after["retry_after"] = retry_after
    try:
        _audit(engine, result, actor=actor, after=after)
    except Exception:
        log.exception("backfill interruption could not be audited", crm=result.crm)
