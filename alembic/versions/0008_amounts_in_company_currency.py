"""Amounts in the CRM's company currency: deal.amount_home and deal.home_currency (what the
CRM converted the amount to, with its own rates), the same on commitment (at signing: the
leadership report adds these), deal_feature.currency (which currency the
row's `amount` is in: the company currency once its deal is evaluated again, until then the
deal's own, copied here), and ix_deal_feature_split covering `currency` so the exposure split
labels its totals without reading the table

Existing deals keep NULL amount_home until they are read from their CRM again (the next
webhook, reconciliation or `backfill`); their rows keep adding their own amounts, labelled
with their own currency, and exposure says so (`mixed_currencies`) where currencies differ.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SPLIT = [
    "deal_open",
    "is_primary",
    "availability_first",
    "availability",
    "amount",
    "probability",
    "crm",
    "pipeline",
    "owner_id",
    "owner_name",
    "close_date",
]


def upgrade() -> None:
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount_home", sa.Numeric(18, 2), nullable=True))
        batch_op.add_column(
            sa.Column("home_currency", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount_home", sa.Numeric(18, 2), nullable=True))
        batch_op.add_column(
            sa.Column("home_currency", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch_op.drop_index("ix_deal_feature_split")
    # The rows' amounts are their deals' own (UPDATE ... FROM: SQLite 3.33+, PostgreSQL).
    op.execute(
        "UPDATE deal_feature SET currency = deal.currency FROM deal "
        "WHERE deal.crm = deal_feature.crm AND deal.deal_id = deal_feature.deal_id "
        "AND deal.currency IS NOT NULL"
    )
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.create_index("ix_deal_feature_split", [*SPLIT, "currency"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_feature_split")
        batch_op.drop_column("currency")
        batch_op.create_index("ix_deal_feature_split", SPLIT, unique=False)
    with op.batch_alter_table("commitment", schema=None) as batch_op:
        batch_op.drop_column("home_currency")
        batch_op.drop_column("amount_home")
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_column("home_currency")
        batch_op.drop_column("amount_home")
