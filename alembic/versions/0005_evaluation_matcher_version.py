"""evaluation.matcher_version: which catalog matcher found an evaluation's references, so a
re-evaluation of the same snapshot under the same matcher reuses them instead of reading the
notes again (existing rows stay NULL: their deals are read once more, then reuse);
ix_deal_queue_claim (status, due_at, id) replaces ix_deal_queue_status_due, so a claim reads
its batch in order instead of sorting every due row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('matcher_version', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
    with op.batch_alter_table('deal_queue', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_queue_status_due')
        batch_op.create_index('ix_deal_queue_claim', ['status', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deal_queue', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_queue_claim')
        batch_op.create_index('ix_deal_queue_status_due', ['status', 'due_at'], unique=False)
    with op.batch_alter_table('evaluation', schema=None) as batch_op:
        batch_op.drop_column('matcher_version')
