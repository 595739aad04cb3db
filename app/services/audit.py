from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from sqlalchemy import insert
from sqlmodel import Session

from app.connectors.roadmap.config import shown_config
from app.models import AuditLog
from app.models.core import AuditSubject

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
    subjects: Iterable[tuple[EntityType, str | int]] = (),
) -> AuditLog:
    """Append to the audit log in the caller's transaction: the change and its record commit together.

    `subjects`: further (entity_type, entity_id) the entry concerns, besides its own (the
    features a roadmap source's refresh changed): the audit filter by entity finds the entry
    under each of them too (table audit_subject)."""
    row = AuditLog(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=scrub(entity_type, before),
        after=scrub(entity_type, after),
    )
    session.add(row)
    others = dict.fromkeys(
        (t, str(i)) for t, i in subjects if (t, str(i)) != (entity_type, str(entity_id))
    )
    if others:
        session.flush()  # the entry's id
        # One executemany, not an ORM object each: a mapping import names every mapping it
        # changed (100,000 of them), which as objects cost seconds of flush.
        session.execute(
            insert(AuditSubject),
            [{"audit_id": row.id, "entity_type": t, "entity_id": i} for t, i in others],
        )
    return row


def scrub(entity_type: str, value: Any) -> Any:
    """What the log keeps of a changed entity: a roadmap source's config as its readers are
    shown it (`shown_config`: a credential in a URL, or pasted into `auth_scheme` before that
    was refused, as `***`), never the secret itself. The API refuses such configs now, so for
    new edits this changes nothing but the `before` of a source stored earlier; migration 0016
    scrubs the entries written before. Anything else is kept as it is."""
    if entity_type == "roadmap_source" and isinstance(value, dict):
        config = value.get("config")
        if isinstance(config, dict):
            return {**value, "config": shown_config(config)}
    return value
