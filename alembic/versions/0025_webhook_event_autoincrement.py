"""webhook_event AUTOINCREMENT on SQLite: an event id is never handed out twice.

Without AUTOINCREMENT SQLite gives a new row the highest id stored plus one. Once retention had
deleted every stored event (all older than WEBHOOK_EVENT_RETENTION_DAYS: a quiet week at 7, a
portal paused for months), the next delivery was given id 1 again: below the cursor of the
HubSpot line-item resolver (`hubspot_line_items`, the last event id it resolved, read as
`id > cursor`), so the line-item changes delivered after that were never resolved to their
deals, which were not checked again. The table is rebuilt with AUTOINCREMENT (rows, ids and
the unique constraint kept; SQLite's sequence starts past the highest id now stored): ids only
grow. A database whose events were all deleted before this already hands out ids below that
cursor: its sequence starts past the cursor instead, so the events delivered from now on are
resolved (those delivered in between are not: their deals are checked at their next change or
reconciliation). The rebuild copies the table once (about a second per 100,000 stored events).
PostgreSQL's sequence never reuses an id: nothing to do there. The downgrade rebuilds it
without.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "webhook_event",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
    ):
        pass


# The schedule whose cursor is a webhook_event id (app/connectors/hubspot/reconcile.py).
RESOLVER = "hubspot_line_items"


def _start_past_the_resolver() -> None:
    bind = op.get_bind()
    state = bind.execute(
        sa.text("SELECT state FROM periodic_job WHERE name = :n"), {"n": RESOLVER}
    ).scalar()
    if isinstance(state, str):
        state = json.loads(state)
    try:
        cursor = int((state or {}).get("after_event_id") or 0)
    except (AttributeError, TypeError, ValueError):
        return
    seq = bind.execute(
        sa.text("SELECT max(seq) FROM sqlite_sequence WHERE name = 'webhook_event'")
    ).scalar()
    if cursor <= (seq or 0):
        return
    if seq is None:
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('webhook_event', :c)"),
            {"c": cursor},
        )
    else:
        bind.execute(
            sa.text("UPDATE sqlite_sequence SET seq = :c WHERE name = 'webhook_event'"),
            {"c": cursor},
        )


def upgrade() -> None:
    _rebuild(True)
    if op.get_bind().dialect.name == "sqlite":
        _start_past_the_resolver()


def downgrade() -> None:
    _rebuild(False)
