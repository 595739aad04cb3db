"""deal_feature.hedged: a commitment said with a hedge ("we might have SCIM by Q2", "hopefully",
"targeted for"). The note reader marks it on each reference (stored with the evaluation's
references as JSON); copied onto the deal → feature index so the deal and dependency views
show which promises were firm.

Existing rows start false; the release that adds the column also changes the reading code, so
the `reread` schedule re-reads every open deal and rewrites its rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hedged", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_column("hedged")
