"""commitment.hedged: the promise the ledger recorded was said with a hedge ("we might have SCIM
by Q2", "hopefully", "targeted for"; FeatureReference.hedged), so the record of what was
promised says how firmly.

Entries recorded before this revision start false: the reading that marks a hedge is older
than the column, but an entry is written once, at signing, and is not re-read.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hedged", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_column("hedged")
