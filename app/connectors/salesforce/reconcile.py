"""Salesforce reconciliation: catch changes whose outbound message was lost.

Salesforce retries an unacknowledged outbound message for 24 hours, then drops it. Every
SALESFORCE_RECONCILE_SECONDS one worker in the cluster (the schedule runner leases the job)
asks for opportunities with LastModifiedDate after the cursor (all open ones on the first
run), excluding records last modified by the integration user, and queues them with reason
"reconcile". After the first run it also queues the opportunities whose classic Notes or
enhanced notes (ContentNote, asked for through their ContentDocumentLinks to the open
opportunities: a ContentNote query naming no Id does not return notes seen only through a
record) changed after the cursor, since a note does not touch its opportunity's
LastModifiedDate, and the opportunities deleted after it or whose classic Note or line item
was (queryAll, IsDeleted, SystemModstamp): a deletion sends no Outbound Message, and deleting a
note or line item leaves the opportunity's LastModifiedDate (see
SalesforceConnector.changed_since). The cursor is the newest
LastModifiedDate seen, less a minute of overlap for transactions that commit late; it only
moves once the deals are queued.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from app.jobs.queue import enqueue_deals
from app.jobs.schedules import JobContext, schedule

OVERLAP = timedelta(minutes=1)


def _enabled(_settings, connectors) -> bool:
    return "salesforce" in connectors


@schedule(
    "salesforce_reconcile", interval=lambda s: s.salesforce_reconcile_seconds, enabled=_enabled
)
def reconcile(ctx: JobContext) -> dict:
    connector = ctx.connectors["salesforce"]
    since_raw = ctx.state.get("since")
    since = datetime.fromisoformat(since_raw) - OVERLAP if since_raw else None
    deal_ids, newest = connector.changed_since(since)
    with Session(ctx.engine) as session:
        queued = enqueue_deals(session, "salesforce", deal_ids, reason="reconcile")
        session.commit()
    cursor = newest.isoformat() if newest else since_raw
    return {"since": cursor, "last_queued": queued}
