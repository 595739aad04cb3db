"""audit_subject: the further entities an audit entry concerns (the features a source changed).

A roadmap source's refresh, status-mapping edit and delete are audited as the source's
(`entity_type=roadmap_source`), with the features they changed listed in the entry; the audit
filter by feature (`entity_type=feature&entity_id=KEY`) did not find them. Each such entry now
names its listed features in audit_subject (indexed by entity), and the filter reads it too.

Existing entries (`roadmap.refresh`, `roadmap_source.update`, `roadmap_source.delete`) are
given the features their `before.features` lists (at most the 500 an entry lists). The
downgrade drops the table.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE_ACTIONS = ("roadmap.refresh", "roadmap_source.update", "roadmap_source.delete")


def upgrade() -> None:
    op.create_table(
        "audit_subject",
        sa.Column("audit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("audit_id", "entity_type", "entity_id"),
    )
    with op.batch_alter_table("audit_subject", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_subject_entity", ["entity_type", "entity_id", "audit_id"], unique=False
        )
    bind = op.get_bind()
    audit_log = sa.table(
        "audit_log",
        sa.column("id", sa.BigInteger),
        sa.column("action", sa.String),
        sa.column("entity_type", sa.String),
        sa.column("before"),
    )
    subject = sa.table(
        "audit_subject",
        sa.column("audit_id", sa.BigInteger),
        sa.column("entity_type", sa.String),
        sa.column("entity_id", sa.String),
    )
    rows = bind.execute(
        sa.select(audit_log.c.id, audit_log.c.before).where(
            audit_log.c.entity_type == "roadmap_source",
            audit_log.c.action.in_(SOURCE_ACTIONS),
        )
    )
    batch: list[dict] = []
    for audit_id, before in rows.all():
        if isinstance(before, str):
            before = json.loads(before)
        features = before.get("features") if isinstance(before, dict) else None
        if not isinstance(features, dict):
            continue
        batch.extend(
            {"audit_id": audit_id, "entity_type": "feature", "entity_id": str(key)}
            for key in features
        )
        if len(batch) >= 5000:
            bind.execute(subject.insert(), batch)
            batch = []
    if batch:
        bind.execute(subject.insert(), batch)


def downgrade() -> None:
    with op.batch_alter_table("audit_subject", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_subject_entity")
    op.drop_table("audit_subject")
