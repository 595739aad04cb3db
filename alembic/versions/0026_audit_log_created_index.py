"""audit_log (created_at, id) index: a page of the audit log without sorting the whole table.

GET /api/v1/audit lists the newest entries first (created_at, then id) and filters by time
(`since`, `until`); with no index on created_at every page sorted every entry ever written
(about half a second a page on SQLite at 50,000 entries, and the audit log is never pruned).
The index serves both the order and the time range.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_created", "audit_log", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_created", table_name="audit_log")
