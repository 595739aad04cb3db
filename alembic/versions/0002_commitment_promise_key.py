"""commitment: off-roadmap promises (nullable feature_key, unique promise_key, rule_id) and
the deal facts the ledger filters on (pipeline, close_date)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pipeline', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.add_column(sa.Column('close_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('promise_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('rule_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    # Existing entries are all feature promises; their deal facts come from the deal row.
    op.execute('UPDATE commitment SET promise_key = feature_key')
    op.execute(
        'UPDATE commitment SET '
        'pipeline = (SELECT deal.pipeline FROM deal WHERE deal.crm = commitment.crm '
        'AND deal.deal_id = commitment.deal_id), '
        'close_date = (SELECT deal.close_date FROM deal WHERE deal.crm = commitment.crm '
        'AND deal.deal_id = commitment.deal_id)'
    )
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.alter_column('promise_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False)
        batch_op.alter_column('feature_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        batch_op.drop_constraint('uq_commitment_deal_feature', type_='unique')
        batch_op.create_unique_constraint('uq_commitment_deal_promise', ['crm', 'deal_id', 'promise_key'])


def downgrade() -> None:
    # Off-roadmap entries keep their `rule:<id>` key as feature key rather than being dropped.
    op.execute('UPDATE commitment SET feature_key = promise_key WHERE feature_key IS NULL')
    with op.batch_alter_table('commitment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_commitment_deal_promise', type_='unique')
        batch_op.create_unique_constraint('uq_commitment_deal_feature', ['crm', 'deal_id', 'feature_key'])
        batch_op.alter_column('feature_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False)
        batch_op.drop_column('rule_id')
        batch_op.drop_column('promise_key')
        batch_op.drop_column('close_date')
        batch_op.drop_column('pipeline')
