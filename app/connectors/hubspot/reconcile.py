"""HubSpot schedules: reconciliation, and resolving line-item events to their deals.

hubspot_reconcile: webhooks can be lost after HubSpot's retries give up; every
HUBSPOT_RECONCILE_SECONDS it searches for deals modified since the last run (cursor in state,
with a minute of overlap for clock skew and search indexing; the first run looks back
HUBSPOT_RECONCILE_LOOKBACK_DAYS) and for deals in won stages that were never evaluated (the guard must see them),
and queues them with reason "reconcile". Won deals already evaluated are not queued again: a
change to them is a modification, and a roadmap change re-queues them by itself.

hubspot_line_items: line-item property events name the line item, not the deal. The webhook
stores them without calling HubSpot (fast ack, no API budget in the request path); this job
reads the stored events after its cursor, asks HubSpot for their deals in one v4 association
batch per 1000 line items, and queues those deals. A note's edit (a generic subscription's
"object.propertyChange" of a note: the legacy ones report no notes) names the note and is
resolved the same way, notes → deals. A deleted line item or note (line_item.deletion; a
generic object.deletion of a note) is resolved through the dependency index instead: the deals
it gave a feature reference to are queued. A restored one (line_item.restore; a generic
object.restore of a note) is back on its deals and is resolved as a change is.
"""

from __future__ import annotations

from datetime import timedelta

import structlog
from sqlmodel import Session, select

from app.connectors.base import ConnectorError
from app.connectors.hubspot.events import (
    CRM,
    LINE_ITEM_DELETION,
    LINE_ITEM_EVENT,
    LINE_ITEM_RESTORE,
    NOTE_DELETION,
    NOTE_EVENT,
    NOTE_RESTORE,
    RESOLVED_LATER,
    SOURCE,
    object_id,
)
from app.jobs.queue import enqueue_deals
from app.jobs.schedules import JobContext, schedule
from app.models import Deal, DealFeature, WebhookEvent, utcnow

log = structlog.get_logger(__name__)

OVERLAP = timedelta(minutes=1)
LINE_ITEM_BATCH = 1000


def _enabled(_settings, connectors) -> bool:
    return "hubspot" in connectors


@schedule("hubspot_reconcile", interval=lambda s: s.hubspot_reconcile_seconds, enabled=_enabled)
def reconcile(ctx: JobContext) -> dict:
    from datetime import datetime

    connector = ctx.connectors["hubspot"]
    started = utcnow()
    since_raw = ctx.state.get("since")
    if since_raw:
        since = datetime.fromisoformat(since_raw) - OVERLAP
    else:
        since = started - timedelta(days=ctx.settings.hubspot_reconcile_lookback_days)
    deal_ids = connector.changed_deal_ids(since)
    with Session(ctx.engine) as session:
        queued = enqueue_deals(session, CRM, deal_ids, reason="reconcile")
        session.commit()
    gone_after, gone = _sweep_gone(ctx, connector, str(ctx.state.get("gone_after") or ""))
    return {
        "since": started.isoformat(),
        "last_queued": queued,
        "gone_after": gone_after,
        "last_gone": gone,
    }


# Tracked deals checked for existence per reconciliation run: ten batch reads.
GONE_SWEEP_PER_RUN = 1000


def _sweep_gone(ctx: JobContext, connector, after: str) -> tuple[str, int]:
    """Queue the tracked deals HubSpot no longer has, a slice of them per run (cursor `after`,
    by deal id, wrapping round). A deleted deal is modified no more, so the search above never
    finds it: with its `deal.deletion` lost (HubSpot retries no 401, and gives up on the rest
    after a day) it stayed tracked, counted in pipeline and exposure totals, its roadmap task
    open, for good. Read, it is found gone and stops being tracked, as after the webhook.
    Returns (the next cursor, how many were queued). A failed check is logged and tried again
    on the same slice next run: it must not hold the modified-deal cursor back."""
    with Session(ctx.engine) as session:
        tracked = list(
            session.exec(
                select(Deal.deal_id)
                .where(Deal.crm == CRM, Deal.tracked == True, Deal.deal_id > after)  # noqa: E712
                .order_by(Deal.deal_id)
                .limit(GONE_SWEEP_PER_RUN)
            ).all()
        )
    if not tracked:
        return "", 0
    ids = [i for i in tracked if object_id(i) == i]  # what HubSpot can be asked about
    try:
        gone = sorted(connector.missing_deal_ids(ids)) if ids else []
    except ConnectorError as exc:
        log.warning("hubspot gone-deal check failed; tried again next run", error=str(exc))
        return after, 0
    if gone:
        with Session(ctx.engine) as session:
            enqueue_deals(session, CRM, gone, reason="reconcile")
            session.commit()
    return (tracked[-1] if len(tracked) == GONE_SWEEP_PER_RUN else ""), len(gone)


def _deals_referencing(session: Session, deleted: dict[str, list[str]]) -> set[str]:
    """The deals a deleted line item or note gave a feature reference to (the dependency
    index: `source`, `source_id`). HubSpot has nothing left to say about a deleted object's
    deals; a deal that a deleted note (its promise of SSO) blocked stayed blocked until
    something else about it changed. A deleted object that referenced nothing changes no
    verdict."""
    found: set[str] = set()
    for source, ids in deleted.items():
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            found.update(
                session.exec(
                    select(DealFeature.deal_id)
                    .where(
                        DealFeature.crm == CRM,
                        DealFeature.source == source,
                        DealFeature.source_id.in_(chunk),
                    )
                    .distinct()
                ).all()
            )
    return found


# On PostgreSQL an inbox id is drawn when the event is inserted, not when it commits: an event
# whose transaction commits late (a lock wait, a slow disk) becomes visible with a smaller id
# than events already resolved, and a cursor that had moved past it would skip it for good.
# The cursor therefore only moves past events received longer ago than any ingest transaction
# lasts; newer ones are resolved at once and remembered (state "recent") so they are not
# resolved twice. SQLite commits writers one at a time, in id order: no window.
SETTLE = {"postgresql": timedelta(seconds=60)}


@schedule(
    "hubspot_line_items",
    interval=lambda s: s.hubspot_line_item_resolve_seconds,
    enabled=_enabled,
)
def resolve_line_items(ctx: JobContext) -> dict:
    connector = ctx.connectors["hubspot"]
    cursor = int(ctx.state.get("after_event_id", 0))
    recent = {int(i) for i in ctx.state.get("recent", [])}
    with Session(ctx.engine) as session:
        rows = session.exec(
            select(
                WebhookEvent.id,
                WebhookEvent.payload,
                WebhookEvent.received_at,
                WebhookEvent.event_type,
            )
            .where(
                WebhookEvent.source == SOURCE,
                WebhookEvent.event_type.in_(RESOLVED_LATER),
                WebhookEvent.id > cursor,
            )
            .order_by(WebhookEvent.id)
            .limit(LINE_ITEM_BATCH)
        ).all()
    horizon = utcnow() - SETTLE.get(ctx.engine.dialect.name, timedelta(0))
    settled = cursor
    for event_id, _payload, received_at, _kind in rows:
        if received_at > horizon:
            break
        settled = event_id
    todo = [
        (event_id, payload, kind) for event_id, payload, _, kind in rows if event_id not in recent
    ]
    queued = 0
    if todo:
        # An id HubSpot could not have sent ("abc", none) is skipped: in the batch call it
        # would fail every time, and the cursor would never pass it.
        def named(*kinds: str) -> list[str]:
            found = {object_id(p.get("objectId")) for _i, p, k in todo if p and k in kinds}
            return sorted(i for i in found if i is not None)

        # A restored line item or note is back on its deals: resolved as a change is.
        line_items = named(LINE_ITEM_EVENT, LINE_ITEM_RESTORE)
        notes = named(NOTE_EVENT, NOTE_RESTORE)
        deals = connector.deals_for_line_items(line_items) if line_items else {}
        deal_ids = {d for ids in deals.values() for d in ids}
        if notes:
            deal_ids |= {d for ids in connector.deals_for_notes(notes).values() for d in ids}
        deleted = {"line_item": named(LINE_ITEM_DELETION), "note": named(NOTE_DELETION)}
        with Session(ctx.engine) as session:
            deal_ids |= _deals_referencing(session, deleted)
            queued = enqueue_deals(session, CRM, deal_ids, reason="webhook")
            session.commit()
        recent |= {event_id for event_id, _, _ in todo}
    # Advance only after the deals are queued: a failure above leaves the cursor for a retry.
    return {
        "after_event_id": settled,
        "recent": sorted(i for i in recent if i > settled),
        "last_resolved": queued,
    }
