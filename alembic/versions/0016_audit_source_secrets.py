"""Scrub secrets from roadmap sources' audit entries written before the API refused them.

A source's create, edit and delete copy its config into the audit log (`before`, `after`).
Before `auth_scheme` was limited to the scheme word, a token pasted there ('sk_live_...',
'Bearer abc...') was stored, and so was a URL with credentials in it before those were
refused: the audit log, which RevOps, engineering and approvers read, kept them. Each such
entry's configs are rewritten as readers are shown them (`services.audit.scrub`, which
`audit.record` now applies to every new entry): the secret becomes `***`. Entries without a
secret are left untouched. Not reversible: the downgrade keeps the scrubbed entries.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.services.audit import scrub  # what the log keeps, not a copy of it

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_audit = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger),
    sa.column("entity_type", sa.String),
    sa.column("action", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
)
# The entries that copy a source's config (a refresh's entries hold feature diffs, no config).
_ACTIONS = ("roadmap_source.create", "roadmap_source.update", "roadmap_source.delete")


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(_audit.c.id, _audit.c.before, _audit.c.after).where(
            _audit.c.entity_type == "roadmap_source", _audit.c.action.in_(_ACTIONS)
        )
    ).all()
    for id_, before, after in rows:
        # only the columns that change: an absent side stays SQL NULL, not JSON null
        values = {
            name: scrubbed
            for name, value in (("before", before), ("after", after))
            if (scrubbed := scrub("roadmap_source", value)) != value
        }
        if values:
            conn.execute(sa.update(_audit).where(_audit.c.id == id_).values(**values))


def downgrade() -> None:
    pass
