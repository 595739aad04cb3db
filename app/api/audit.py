"""/api/v1/audit: the record of every change (who, when, before and after), newest first.

Every write through the API and the CLI appends to the audit log in the transaction of the
change itself (app/services/audit.py); this is where RevOps, engineering and approvers read it
back: "who switched this rule on", "when did SSO become coming_soon", "who revoked that key".
The viewer role (dashboards, shared screens) does not: the log names people and holds the
configuration's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, BeforeValidator, StringConstraints
from sqlalchemy import and_, func, or_
from sqlmodel import select

from app.api.deps import Offset, Page, PageLimit, Principal, SafeDateTime, SessionDep, require_roles
from app.errors import InvalidRequest
from app.models import AuditLog
from app.models.core import AuditSubject
from app.models.types import as_utc
from app.security import Role
from app.services.audit import EntityType

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

AuditPrincipal = Annotated[
    Principal, Depends(require_roles(Role.revops, Role.engineering, Role.approver))
]


def _blank_is_none(value: object) -> object:
    """An empty filter (`actor=`, a form's "any") filters nothing, as on the other lists: it
    answered an empty page ("nobody changed anything"), and `entity_type=` or `since=` a 422."""
    return None if value == "" else value


# Each filter of the log, its empty value read as absent (the lengths sit on the text itself:
# a Query's max_length would be applied to that None as well).
Blank = BeforeValidator(_blank_is_none)
Text255 = Annotated[str, StringConstraints(max_length=255)]
Text64 = Annotated[str, StringConstraints(max_length=64)]


class AuditEntry(BaseModel):
    id: int
    created_at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any


class AuditPage(Page[AuditEntry]):
    pass


@router.get(
    "",
    summary="The audit log, newest first (filter by entity, actor, action, time)",
    operation_id="list_audit",
)
def list_audit(
    session: SessionDep,
    _p: AuditPrincipal,
    entity_type: Annotated[EntityType | None, Blank, Query(description="what changed")] = None,
    entity_id: Annotated[
        Text255 | None,
        Blank,
        Query(
            description="with entity_type: one entity's history (for a feature, also the "
            "roadmap source refreshes, mapping edits and deletes that changed it)",
        ),
    ] = None,
    actor: Annotated[
        Text255 | None,
        Blank,
        Query(
            description="role:name as recorded (revops:alice), or a name alone (alice, as "
            "approvals name their approver): that name under any role (a name holding a "
            "colon, ops:dana, is found as both)",
        ),
    ] = None,
    action: Annotated[
        Text64 | None,
        Blank,
        Query(description="exact (rule.update), or a prefix ending in '.' (rule.)"),
    ] = None,
    since: Annotated[
        SafeDateTime | None, Blank, Query(description="at or after (ISO 8601)")
    ] = None,
    until: Annotated[SafeDateTime | None, Blank, Query(description="before (ISO 8601)")] = None,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> AuditPage:
    if entity_id is not None and entity_type is None:
        raise InvalidRequest.at(
            ("query", "entity_type"),
            "required with entity_id: ids are only unique within a type",
            type="missing",
        )
    # a time without a zone is UTC, as the query below reads it (and one of each compared)
    since, until = (None if t is None else as_utc(t) for t in (since, until))
    if since is not None and until is not None and since >= until:
        raise InvalidRequest.at(
            ("query", "since"),
            f"since must be before until ({since.isoformat()} is not before {until.isoformat()})",
            input=since.isoformat(),
        )
    conditions = []
    if entity_id is not None:
        # the entity's own entries, and those of others that name it as a further subject
        # (a roadmap source's refresh, mapping edit or delete, for the features it changed)
        also = select(AuditSubject.audit_id).where(
            AuditSubject.entity_type == entity_type, AuditSubject.entity_id == entity_id
        )
        conditions.append(
            or_(
                and_(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id),
                AuditLog.id.in_(also),
            )
        )
    elif entity_type is not None:
        conditions.append(AuditLog.entity_type == entity_type)
    if actor is not None:
        # Entries record "role:name"; a name alone (what approvals and the API keys list
        # show) answered an empty page, read as "alice changed nothing". A name may hold a
        # colon itself (a key named "ops:dana" acts as "admin:ops:dana"): the value is always
        # also read as a name, the whole of what follows the recorded role (the part before
        # the first colon), so "dana" is not "ops:dana" and "ops:dana" finds that key.
        role = func.substr(AuditLog.actor, 1, func.length(AuditLog.actor) - len(actor) - 1)
        named = and_(AuditLog.actor.endswith(f":{actor}", autoescape=True), ~role.contains(":"))
        conditions.append(or_(AuditLog.actor == actor, named))
    if action is not None:
        if action.endswith("."):
            conditions.append(AuditLog.action.startswith(action, autoescape=True))
        else:
            conditions.append(AuditLog.action == action)
    if since is not None:
        conditions.append(AuditLog.created_at >= since)  # naive: UTC (UTCDateTime)
    if until is not None:
        conditions.append(AuditLog.created_at < until)
    total = session.exec(select(func.count()).select_from(AuditLog).where(*conditions)).one()
    rows = session.exec(
        select(AuditLog)
        .where(*conditions)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return AuditPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[AuditEntry.model_validate(r, from_attributes=True) for r in rows],
    )
