"""deal_queue.held, and a pending-rows index by CRM so each claim is shared among the CRMs.

`held`: the last attempt's error was a hold (the CRM refused us: credentials, a rate limit, an
org's set-up), retried without spending an attempt; false for a retry that spends attempts
(backing off) and for every other outcome. `roadmap-guard queue` and GET /api/v1/queue could
not tell the two apart. Existing rows start false: a held row is marked at its next hold (five
minutes at most).

`ix_deal_queue_pending_crm` (crm, priority, due_at, id) WHERE status = 'pending': a claim reads
each CRM's due rows from it and shares the claim among the CRMs (queue._shared_by_crm). A claim
took the oldest due rows across the CRMs: 50,000 deals of a HubSpot bulk import, or held by its
rate limit, came before every Salesforce deal queued after them. Partial: the done rows, most of
the table, are not in it. The downgrade drops both.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_queue", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_deal_queue_pending_crm",
        "deal_queue",
        ["crm", "priority", "due_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_deal_queue_pending_crm", table_name="deal_queue")
    with op.batch_alter_table("deal_queue", schema=None) as batch_op:
        batch_op.drop_column("held")
