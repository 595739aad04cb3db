"""deal.write_started_at: when a write-back to the CRM began that has not been recorded as
finished (NULL once one is). Set before the CRM is called, cleared when the outcome is stored
without error; a deal that still carries it when its next write is planned had a write cut
short (a worker killed mid-write, a batch abandoned after the shutdown grace period, a failure
after part of the write landed), so the connector looks for the tasks and notes that write may
have made, by their markers, before creating any: another process has no memory of them.

Existing rows start NULL: nothing was in flight across the upgrade that the old code did not
already handle.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "write_started_at", app.models.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_column("write_started_at")
