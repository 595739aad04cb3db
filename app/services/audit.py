from __future__ import annotations

from typing import Any, Literal

from sqlmodel import Session

from app.models import AuditLog

# What the audit log records changes of: the /api/v1/audit filter takes exactly these.
EntityType = Literal[
    "rule", "feature", "product_mapping", "roadmap_source", "approval", "api_key", "deal_queue"
]


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: EntityType,
    entity_id: str | int,
    before: Any = None,
    after: Any = None,
) -> AuditLog:
    """Append to the audit log in the caller's transaction: the change and its record commit together."""
    row = AuditLog(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
    )
    session.add(row)
    return row
