"""deal_queue.priority: a rep's change is claimed before a sweep's re-checks.

A roadmap or rule change queues up to every open deal (reason `roadmap`), and a claim took the
oldest due rows first: a webhook that arrived a second later waited for the whole sweep (about
a minute for 50,000 deals on PostgreSQL, benchmarks/reevaluate.py), and the rep saw no
warning meanwhile. Rows of the sweep reasons (`queue.SWEEP_REASONS`: roadmap, backfill,
reread, ledger) get priority 1, every other reason's 0, and `ix_deal_queue_claim` becomes
(status, priority, due_at, id) so each priority's due rows are one ordered index range.
Existing rows are given the priority of their reason. The downgrade drops the column and
restores the old index.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here: a later change to queue.SWEEP_REASONS must not rewrite what this revision did.
SWEEP_REASONS = ("roadmap", "backfill", "reread", "ledger")


def upgrade() -> None:
    with op.batch_alter_table("deal_queue", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.SmallInteger(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.drop_index("ix_deal_queue_claim")
        batch_op.create_index(
            "ix_deal_queue_claim", ["status", "priority", "due_at", "id"], unique=False
        )
    queue = sa.table("deal_queue", sa.column("reason", sa.String), sa.column("priority"))
    op.execute(queue.update().where(queue.c.reason.in_(SWEEP_REASONS)).values(priority=1))


def downgrade() -> None:
    with op.batch_alter_table("deal_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_queue_claim")
        batch_op.create_index("ix_deal_queue_claim", ["status", "due_at", "id"], unique=False)
        batch_op.drop_column("priority")
