"""ix_deal_feature_open covers deal_feature.currency: exposure labels each feature's and each
stage's totals with their currency (`queries.exposure`, min/max currency in the `cells`
aggregate), and without the column in the index that aggregate reads the table for every row
(about 3x slower with 50,000 open deals; benchmarks/exposure.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
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
]


def upgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_feature_open")
        batch_op.create_index("ix_deal_feature_open", [*OPEN, "currency"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_feature_open")
        batch_op.create_index("ix_deal_feature_open", OPEN, unique=False)
