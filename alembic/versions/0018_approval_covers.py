"""approval.covers: the findings an approval was given for.

An approval covered every finding of its feature (and, without a feature, every off-roadmap
promise of its rule), whatever appeared after it was given: a feature cancelled after its late
date was approved, or a second off-roadmap promise, stayed approved though nobody saw them.
Each approval now records the findings it covers ([{rule_id, feature_key, evidence}]) and the
engine holds it to them (engine._grant_for).

Existing approvals are given the findings their deal's latest evaluation names them on (the
ones they cover now). One whose deal has no such finding keeps NULL and covers as before. The
downgrade drops the column.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.add_column(sa.Column("covers", sa.JSON(), nullable=True))
    bind = op.get_bind()
    approval = sa.table(
        "approval",
        sa.column("id", sa.BigInteger),
        sa.column("crm", sa.String),
        sa.column("deal_id", sa.String),
        sa.column("revoked_at", sa.DateTime),
        sa.column("covers", sa.JSON),
    )
    deal = sa.table(
        "deal",
        sa.column("crm", sa.String),
        sa.column("deal_id", sa.String),
        sa.column("last_evaluation_id", sa.BigInteger),
    )
    evaluation = sa.table("evaluation", sa.column("id", sa.BigInteger), sa.column("findings"))
    rows = bind.execute(
        sa.select(approval.c.id, evaluation.c.findings)
        .select_from(
            approval.join(
                deal, sa.and_(deal.c.crm == approval.c.crm, deal.c.deal_id == approval.c.deal_id)
            ).join(evaluation, evaluation.c.id == deal.c.last_evaluation_id)
        )
        .where(approval.c.revoked_at.is_(None))
    ).all()
    for approval_id, findings in rows:
        if isinstance(findings, str):
            findings = json.loads(findings)
        covers: list[dict] = []
        for f in findings or []:
            entry = {
                "rule_id": f.get("rule_id"),
                "feature_key": f.get("feature_key"),
                "evidence": f.get("evidence"),
            }
            if f.get("approval_id") == approval_id and entry not in covers:
                covers.append(entry)
        if covers:
            bind.execute(
                approval.update().where(approval.c.id == approval_id).values(covers=covers)
            )


def downgrade() -> None:
    with op.batch_alter_table("approval", schema=None) as batch_op:
        batch_op.drop_column("covers")
