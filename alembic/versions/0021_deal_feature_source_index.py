"""deal_feature (crm, source, source_id) index: the deals a deleted line item or note referenced.

HubSpot's deletion events name only the deleted line item or note; the deals it gave a feature
reference to are found in the dependency index by its id (`hubspot.jobs._deals_referencing`),
which read the whole table without this index. The downgrade drops it.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deal_feature_source", ["crm", "source", "source_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_feature_source")
