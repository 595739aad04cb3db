"""deal_feature.optional: the customer called the feature nice to have ("Offline mode would be
nice to have"), so exposure and a feature's deals can leave wishes out of what deals need
(`GET /api/v1/exposure?optional=false`).

The note reader marks it on each reference (`FeatureReference.optional`, stored with the
evaluation's references as JSON since the reader learned it); existing rows are backfilled
from the deal's latest evaluation, matched on feature and note. A deal's primary row per
feature and its row standing for each availability then prefer a required mention to a
nice-to-have (`queries.evidence_rank`, `queries.dependency_values`): both are re-derived for
the deals that have a nice-to-have row. The column sits last in both covering indexes, like
`promised` (0013): without it the filtered aggregates read the table for every row.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = [
    "deal_open",
    "is_primary",
    "feature_key",
    "pipeline",
    "stage_id",
    "stage_label",
    "amount",
    "probability",
    "crm",
    "owner_id",
    "owner_name",
    "close_date",
    "currency",
    "promised",
]
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
    "currency",
    "promised",
]

# The stored references of each deal's latest evaluation, one per row `r`, and the fields of
# `r` compared with the dependency row: JSON arrays are unnested per dialect.
_ELEMENTS = {
    "postgresql": (
        'json_array_elements(e."references") AS r',
        "(r->>'optional') = 'true'",
        "r->>'feature_key'",
        "r->>'source_id'",
        "IS NOT DISTINCT FROM",
    ),
    "sqlite": (
        'json_each(e."references") AS r',
        "json_extract(r.value, '$.optional') = 1",
        "json_extract(r.value, '$.feature_key')",
        "json_extract(r.value, '$.source_id')",
        "IS",
    ),
}
_DEALS_WITH_OPTIONAL = "(crm, deal_id) IN (SELECT crm, deal_id FROM deal_feature WHERE optional)"


def _indexes(extra: list[str]) -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_feature_open")
        batch_op.drop_index("ix_deal_feature_split")
        batch_op.create_index("ix_deal_feature_open", [*OPEN, *extra], unique=False)
        batch_op.create_index("ix_deal_feature_split", [*SPLIT, *extra], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("optional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    elements, is_optional, feature_key, source_id, same = _ELEMENTS[op.get_bind().dialect.name]
    op.execute(
        "UPDATE deal_feature SET optional = true "
        "WHERE source = 'note' AND NOT is_commitment AND EXISTS ("
        f"SELECT 1 FROM deal AS d JOIN evaluation AS e ON e.id = d.last_evaluation_id, {elements} "
        "WHERE d.crm = deal_feature.crm AND d.deal_id = deal_feature.deal_id "
        f"AND {is_optional} AND {feature_key} = deal_feature.feature_key "
        f"AND deal_feature.source_id {same} {source_id})"
    )
    # Per deal and feature, the strongest evidence: a commitment, a line item, a required
    # mention, then the lowest id (the order the pipeline writes and ranks the rows in).
    op.execute(
        "UPDATE deal_feature SET is_primary = (ranked.rn = 1) FROM ("
        "SELECT id, row_number() OVER (PARTITION BY crm, deal_id, feature_key "
        "ORDER BY is_commitment DESC, source = 'line_item' DESC, optional, id) AS rn "
        f"FROM deal_feature WHERE feature_key IS NOT NULL AND {_DEALS_WITH_OPTIONAL}) AS ranked "
        "WHERE deal_feature.id = ranked.id"
    )
    # Per deal and availability: a promised primary row, then a required one, then the lowest
    # id (what queries.mark_availability_first derives).
    op.execute(
        "UPDATE deal_feature SET availability_first = (ranked.rn = 1) FROM ("
        "SELECT id, row_number() OVER (PARTITION BY crm, deal_id, availability "
        "ORDER BY promised DESC, optional, id) AS rn "
        f"FROM deal_feature WHERE is_primary AND {_DEALS_WITH_OPTIONAL}) AS ranked "
        "WHERE deal_feature.id = ranked.id"
    )
    op.execute(
        "UPDATE deal_feature SET availability_first = false "
        f"WHERE availability_first AND NOT is_primary AND {_DEALS_WITH_OPTIONAL}"
    )
    _indexes(["optional"])


def downgrade() -> None:
    # The primary rows and availability_first stay as they are: still one per deal and feature,
    # and per deal and availability.
    _indexes([])
    with op.batch_alter_table("deal_feature", schema=None) as batch_op:
        batch_op.drop_column("optional")
