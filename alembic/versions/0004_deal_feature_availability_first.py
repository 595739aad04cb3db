"""deal_feature.availability_first: one primary row per (deal, availability) stands for it, so
the exposure split is one grouped pass over those rows (ix_deal_feature_split) instead of a
grouping of every row by deal (ix_deal_feature_by_deal, dropped)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_DEAL = ['deal_open', 'is_primary', 'crm', 'deal_id', 'availability', 'amount', 'probability', 'pipeline', 'owner_id', 'owner_name', 'close_date']
SPLIT = ['deal_open', 'is_primary', 'availability_first', 'availability', 'amount', 'probability', 'crm', 'pipeline', 'owner_id', 'owner_name', 'close_date']


def upgrade() -> None:
    with op.batch_alter_table('deal_feature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('availability_first', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_index('ix_deal_feature_by_deal')
    # Backfill: per deal and availability, the primary row with the lowest id (what
    # queries.mark_availability_first derives). Window functions and UPDATE ... FROM: SQLite
    # 3.33+ and every supported PostgreSQL.
    op.execute(
        "UPDATE deal_feature SET availability_first = true FROM ("
        "SELECT id, row_number() OVER (PARTITION BY crm, deal_id, availability ORDER BY id) AS rn "
        "FROM deal_feature WHERE is_primary) AS ranked "
        "WHERE deal_feature.id = ranked.id AND ranked.rn = 1"
    )
    with op.batch_alter_table('deal_feature', schema=None) as batch_op:
        batch_op.create_index('ix_deal_feature_split', SPLIT, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deal_feature', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_feature_split')
        batch_op.drop_column('availability_first')
        batch_op.create_index('ix_deal_feature_by_deal', BY_DEAL, unique=False)
