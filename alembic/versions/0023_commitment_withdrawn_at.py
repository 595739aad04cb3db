"""commitment.withdrawn_at: the deal left its won stage after the entry was recorded.

A deal won and then lost, reopened or moved out of won (a won set by mistake) kept its entries
as signed business: counted in the leadership report and followed up with a "promise at risk"
task when the feature slipped. Such entries are now marked withdrawn (kept, as the ledger
keeps what was promised) and marked standing again if the deal is won again. Existing entries
stand: a deal already out of won is marked at its next check. The downgrade drops the column.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
