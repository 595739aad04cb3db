"""deal_feature.promised: the deal was promised the feature or buys it (a commitment, or a line
item), so exposure can count promises apart from mentions (`GET /api/v1/exposure?promised=`).

The column sits last in both covering indexes: without it the filtered aggregates read the
table for every row (on 50,000 open deals, benchmarks/exposure.py: 430 ms at the median on
SQLite against 97 ms unfiltered). Existing rows are backfilled from `is_commitment` and
`source`, and `availability_first` is re-derived with a promised row first in each deal and
availability, as the pipeline now writes it (`queries.dependency_values`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = [
    "deal_open",
    "is_primary",
    "feature_key",
    "pipeline",
    "stage_id",
    "stage_label",
    "amount",
    "probability",
    "crm",
    "owner_id",
    "owner_name",
    "close_date",
    "currency",
]
SPLIT = [
    "deal_open",
    "is_primary",
    "availability_first",
    "availability",
    "amount",
    "probability",
    "crm",
    "pipeline",
    "owner_id",
    "owner_name",
    "close_date",
    "currency",
]


def _indexes(extra: list[str]) -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_feature_open")
        batch_op.drop_index("ix_deal_feature_split")
        batch_op.create_index("ix_deal_feature_open", [*OPEN, *extra], unique=False)
        batch_op.create_index("ix_deal_feature_split", [*SPLIT, *extra], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("promised", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE deal_feature SET promised = true WHERE is_commitment OR source = 'line_item'"
    )
    # Per deal and availability: the promised primary row with the lowest id, else the primary
    # row with the lowest id (what queries.mark_availability_first derives; 0004's form).
    op.execute("UPDATE deal_feature SET availability_first = false WHERE availability_first")
    op.execute(
        "UPDATE deal_feature SET availability_first = true FROM ("
        "SELECT id, row_number() OVER (PARTITION BY crm, deal_id, availability "
        "ORDER BY promised DESC, id) AS rn FROM deal_feature WHERE is_primary) AS ranked "
        "WHERE deal_feature.id = ranked.id AND ranked.rn = 1"
    )
    _indexes(["promised"])


def downgrade() -> None:
    # availability_first stays as it is: still one primary row per deal and availability.
    _indexes([])
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_column("promised")
