from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.models import AuditLog


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
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
