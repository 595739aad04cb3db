"""deal_feature.availability: the feature's availability copied onto the dependency rows, so
the exposure split reads no `feature` row per dependency row; ix_deal_feature_by_deal covers it
in place of feature_key

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BY_DEAL_BEFORE = ['deal_open', 'is_primary', 'crm', 'deal_id', 'feature_key', 'amount', 'probability', 'pipeline', 'owner_id', 'owner_name', 'close_date']
BY_DEAL_AFTER = ['deal_open', 'is_primary', 'crm', 'deal_id', 'availability', 'amount', 'probability', 'pipeline', 'owner_id', 'owner_name', 'close_date']


def upgrade() -> None:
    with op.batch_alter_table('deal_feature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('availability', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='unknown', nullable=False))
        batch_op.drop_index('ix_deal_feature_by_deal')
    # Backfill from the roadmap as it stands; a key not on it is unknown.
    op.execute(
        "UPDATE deal_feature SET availability = COALESCE("
        "(SELECT feature.availability FROM feature WHERE feature.key = deal_feature.feature_key), "
        "'unknown')"
    )
    with op.batch_alter_table('deal_feature', schema=None) as batch_op:
        batch_op.create_index('ix_deal_feature_by_deal', BY_DEAL_AFTER, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deal_feature', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_feature_by_deal')
        batch_op.drop_column('availability')
        batch_op.create_index('ix_deal_feature_by_deal', BY_DEAL_BEFORE, unique=False)
