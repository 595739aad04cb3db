"""product_mapping AUTOINCREMENT on SQLite: a deleted mapping's id is never reused.

Without AUTOINCREMENT SQLite gives a new row the highest id plus one, so deleting the newest
mapping and creating another gave the new one the deleted one's id: the audit log's history of
that id mixed the two mappings, and a script holding the old id edited the new one. The table
is rebuilt with AUTOINCREMENT (rows, ids and the unique constraint kept; SQLite's sequence
starts past the highest id now stored). PostgreSQL's identity sequence never reuses an id:
nothing to do there. The downgrade rebuilds it without.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "product_mapping",
        recreate="always",
        table_kwargs={"sqlite_autoincrement": autoincrement},
    ):
        pass


def upgrade() -> None:
    _rebuild(True)


def downgrade() -> None:
    _rebuild(False)
