"""Row ids, and the columns pointing at them, become BIGINT on PostgreSQL

INTEGER (and the sequence SERIAL made for it) ends at 2,147,483,647. deal_feature is rewritten on
every evaluation (about 30 rows a deal), webhook_event takes every delivered event and
evaluation every verdict: a busy portal reaches the limit within a year or two, and every insert
then fails. Each id column and its sequence are widened (a table rewrite under an exclusive
lock: run it in a quiet moment on a large database); deal.last_evaluation_id,
write_back_log.evaluation_id and commitment.approval_id follow. SQLite has nothing to do: its
INTEGER PRIMARY KEY is already the 64-bit rowid.

The downgrade narrows them again and fails, changing nothing, if a value no longer fits.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_TABLES = (
    'webhook_event',
    'deal_queue',
    'deal',
    'evaluation',
    'write_back_log',
    'deal_feature',
    'product_mapping',
    'rule_version',
    'approval',
    'commitment',
    'api_key',
    'audit_log',
    'test_crm_task',
    'test_crm_note',
)
REFERENCES = (
    ('deal', 'last_evaluation_id'),
    ('write_back_log', 'evaluation_id'),
    ('commitment', 'approval_id'),
)


def _widen(type_: str) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in ID_TABLES:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN id TYPE {type_}')
        # The sequence has its own type (and maximum): widened with the column.
        op.execute(
            f"DO $$ DECLARE seq text := pg_get_serial_sequence('{table}', 'id'); BEGIN "
            f"IF seq IS NOT NULL THEN EXECUTE format('ALTER SEQUENCE %s AS {type_}', seq); "
            "END IF; END $$"
        )
    for table, column in REFERENCES:
        op.execute(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE {type_}')


def upgrade() -> None:
    _widen('BIGINT')


def downgrade() -> None:
    _widen('INTEGER')
