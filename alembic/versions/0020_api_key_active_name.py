"""api_key.active_name: an active key's name, unique, so two keys cannot share one.

Creating a key whose name an active key has was refused by a check (409), but two creates at
the same moment could both pass it, and approvals and the audit log name a key by its name:
two keys called dana could not be told apart. Each active key now carries its name folded
(`name.strip().casefold()`) in `active_name`, under a unique index; revoking a key clears it,
so a revoked key's name is free again.

Existing active keys are given their folded name, oldest first; a later key that shares it
(created before names were unique) keeps NULL: it goes on working, and revoking the older one
does not move the name to it. The downgrade drops the index and the column.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("active_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
    bind = op.get_bind()
    api_key = sa.table(
        "api_key",
        sa.column("id", sa.BigInteger),
        sa.column("name", sa.String),
        sa.column("revoked_at", sa.DateTime),
        sa.column("active_name", sa.String),
    )
    seen: set[str] = set()
    rows = bind.execute(
        sa.select(api_key.c.id, api_key.c.name)
        .where(api_key.c.revoked_at.is_(None))
        .order_by(api_key.c.id)
    ).all()
    for key_id, name in rows:
        folded = name.strip().casefold()
        if folded in seen:
            continue
        seen.add(folded)
        bind.execute(api_key.update().where(api_key.c.id == key_id).values(active_name=folded))
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index("ux_api_key_active_name", ["active_name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index("ux_api_key_active_name")
        batch_op.drop_column("active_name")
