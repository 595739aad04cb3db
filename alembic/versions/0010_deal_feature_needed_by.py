"""deal_feature.needed_by: the customer's own date for the feature ("they need SCIM by Q3",
"SCIM required by March"), read from the note the way promised dates are. The note reader used
to drop it; it is now on each reference (stored with the evaluation's references as JSON) and
copied onto the deal → feature index beside promised_date, so the deal and dependency views
can show it.

Existing rows start NULL: they were written before the date was read, and the next evaluation
of each deal (any change, or a roadmap or rule change) rewrites its rows with it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needed_by", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_column("needed_by")
