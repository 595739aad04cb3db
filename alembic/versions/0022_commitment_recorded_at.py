"""commitment.recorded_at: when an entry was written, apart from when its deal was signed.

A deal first seen already won (an old won deal edited long after, or read on a new install)
had its entries signed "now": every such win landed in the current quarter of the leadership
report. Its entries are now signed at its close date; `recorded_at` keeps when they were
written, which is what withdrawing a win the closed-won guard moved back at once goes by.
Existing entries get their `signed_at`. The downgrade drops the column.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE commitment SET recorded_at = signed_at")
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.alter_column(
            "recorded_at", existing_type=UTCDateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
