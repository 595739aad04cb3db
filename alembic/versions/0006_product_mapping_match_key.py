"""product_mapping.match_key: a mapping is unique per kind on its value as the catalog matches
line items (whitespace collapsed, case folded: app.rules.catalog), no longer on the exact text,
so "AI-ADDON" and "ai-addon" cannot both be mapped

Existing mappings that now collide were already one product to the catalog, which merged their
feature keys for every matching line item. The migration keeps that meaning: per kind and
normalised value the oldest mapping (lowest id) stays, with its own value, and receives the
feature keys of the others (its keys first, then theirs by id, each key once); the others are
deleted. Every merge is written to the audit log (action `mapping.merge`, actor
`system:migration-0006`, before: the merged mappings, after: the kept one), so nothing a deal
matched changes and nothing is lost without a trace. The downgrade restores the old constraint
but not the merged rows.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types
from app.rules.catalog import norm_code as _norm_code  # the catalog's matching, not a copy of it

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = 'system:migration-0006'

_mapping = sa.table(
    'product_mapping',
    sa.column('id', sa.Integer),
    sa.column('match_kind', sa.String),
    sa.column('match_value', sa.String),
    sa.column('match_key', sa.String),
    sa.column('feature_keys', sa.JSON),
)
_audit = sa.table(
    'audit_log',
    sa.column('actor', sa.String),
    sa.column('action', sa.String),
    sa.column('entity_type', sa.String),
    sa.column('entity_id', sa.String),
    sa.column('before', sa.JSON),
    sa.column('after', sa.JSON),
    sa.column('created_at', app.models.types.UTCDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table('product_mapping', schema=None) as batch_op:
        batch_op.add_column(sa.Column('match_key', sqlmodel.sql.sqltypes.AutoString(length=765), nullable=True))
    _merge_and_key(op.get_bind())
    with op.batch_alter_table('product_mapping', schema=None) as batch_op:
        batch_op.alter_column('match_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=765), nullable=False)
        batch_op.drop_constraint('uq_product_mapping', type_='unique')
        batch_op.create_unique_constraint('uq_product_mapping_key', ['match_kind', 'match_key'])


def _merge_and_key(conn: sa.Connection) -> None:
    rows = conn.execute(
        sa.select(_mapping.c.id, _mapping.c.match_kind, _mapping.c.match_value, _mapping.c.feature_keys)
        .order_by(_mapping.c.id)
    ).all()
    groups: dict[tuple[str, str], list] = {}
    for row in rows:
        groups.setdefault((row.match_kind, _norm_code(row.match_value)), []).append(row)
    now = app.models.types.utcnow()
    for (_kind, key), (kept, *merged) in groups.items():
        keys = list(dict.fromkeys(k for r in (kept, *merged) for k in (r.feature_keys or [])))
        conn.execute(
            sa.update(_mapping)
            .where(_mapping.c.id == kept.id)
            .values(match_key=key, feature_keys=keys)
        )
        if not merged:
            continue
        conn.execute(sa.delete(_mapping).where(_mapping.c.id.in_([r.id for r in merged])))
        conn.execute(
            sa.insert(_audit).values(
                actor=ACTOR,
                action='mapping.merge',
                entity_type='product_mapping',
                entity_id=str(kept.id),
                before={'mappings': [_json(r, r.feature_keys) for r in (kept, *merged)]},
                after=_json(kept, keys),
                created_at=now,
            )
        )


def _json(row, feature_keys) -> dict:
    return {
        'id': row.id,
        'match_kind': row.match_kind,
        'match_value': row.match_value,
        'feature_keys': list(feature_keys or []),
    }


def downgrade() -> None:
    with op.batch_alter_table('product_mapping', schema=None) as batch_op:
        batch_op.drop_constraint('uq_product_mapping_key', type_='unique')
        batch_op.create_unique_constraint('uq_product_mapping', ['match_kind', 'match_value'])
        batch_op.drop_column('match_key')
