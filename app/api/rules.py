"""/api/v1/rules: CRUD with every version kept, enable/disable, validate without saving, the
JSON Schema, and simulation of draft rules against stored or posted deals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.api.deps import (
    CREATED,
    EngineDep,
    Offset,
    Page,
    PageLimit,
    ReadPrincipal,
    RevOpsPrincipal,
    SessionDep,
    created_at,
)
from app.api.streaming import Progress, progress_stream
from app.db import read_only
from app.errors import ErrorResponse
from app.rules.schema import RuleDefinition, rule_json_schema
from app.services import rules_service as svc
from app.services.simulate import (
    SimulateRequest,
    SimulationResult,
    refuse_deleted_ids,
    run_simulation,
)

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])


class RulePublic(BaseModel):
    id: str
    name: str
    enabled: bool
    version: int
    builtin: bool
    definition: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RuleWarning(BaseModel):
    path: str
    message: str


class RuleChange(RulePublic):
    deals_queued: int = 0  # open deals queued to be evaluated with the new rules
    warnings: list[RuleWarning] = Field(
        default_factory=list,
        description="valid but probably not meant, e.g. a feature key the roadmap lacks",
    )


class RuleDeleted(BaseModel):
    id: str
    deleted: bool = Field(description="always true: the rule no longer applies")
    deals_queued: int = Field(
        description="open deals queued to be evaluated without it (0 if it was switched off)"
    )


class RuleVersionPublic(BaseModel):
    rule_id: str
    version: int
    enabled: bool
    definition: dict[str, Any]
    actor: str | None
    created_at: datetime


class RuleListed(RulePublic):
    deleted_at: datetime | None = Field(
        default=None, description="when it was deleted (with deleted=true; else null)"
    )
    deleted_by: str | None = Field(
        default=None, description="who deleted it, as the audit log says (role:name), if recorded"
    )


class RulePage(Page[RuleListed]):
    pass


class RuleVersionPage(Page[RuleVersionPublic]):
    pass


class ValidationError_(BaseModel):
    loc: list[str | int]
    path: str
    msg: str
    type: str


class ValidationReport(BaseModel):
    valid: bool
    errors: list[ValidationError_]
    warnings: list[RuleWarning] = Field(default_factory=list)


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description='the ETag a GET of the rule answered ("3", its version): the write is a '
        "412 if the rule changed since; without it the write goes through whatever changed",
    ),
]
PRECONDITION = {
    412: {
        "model": ErrorResponse,
        "description": "If-Match names another version than the rule's: it changed since it "
        "was read; nothing was written (details: the version and ETag stored)",
    }
}


def _tagged(response: Response, row) -> None:
    response.headers["ETag"] = svc.etag(row)


def _public(row, queued: int | None = None, session=None):
    data = svc.rule_public(row)
    if queued is None:
        return RulePublic(**data)
    warnings = svc.warnings(session, row.definition) if session is not None else []
    return RuleChange(**data, deals_queued=queued, warnings=warnings)


@router.get("", summary="List rules, by id (paged)", operation_id="list_rules")
def list_rules(
    session: SessionDep,
    _p: ReadPrincipal,
    enabled: Annotated[bool | None, Query()] = None,
    deleted: Annotated[
        bool,
        Query(
            description="true: the deleted rules instead, with when and by whom (restore one "
            "with POST /api/v1/rules/{id}/restore)"
        ),
    ] = False,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> RulePage:
    total, rows = svc.list_rules(
        session, enabled=enabled, deleted=deleted, limit=limit, offset=offset
    )
    by = svc.deleted_by(session, [r.id for r in rows]) if deleted else {}
    items = [
        RuleListed(**svc.rule_public(r), deleted_at=r.deleted_at, deleted_by=by.get(r.id))
        for r in rows
    ]
    return RulePage(total=total, limit=limit, offset=offset, items=items)


@router.get("/schema", summary="The JSON Schema of a rule definition", operation_id="rule_schema")
def rule_schema(_p: ReadPrincipal) -> dict[str, Any]:
    return rule_json_schema()


@router.post(
    "/validate",
    summary="Validate a rule without saving: every mistake with its JSON path",
    operation_id="validate_rule",
)
def validate_rule(
    _p: ReadPrincipal,
    session: SessionDep,
    body: Annotated[Any, Body(description="a rule definition (see /api/v1/rules/schema)")],
) -> ValidationReport:
    definition, errors = svc.validate(body)
    warnings = svc.warnings(session, definition) if definition is not None else []
    return ValidationReport(valid=not errors, errors=errors, warnings=warnings)


@router.post(
    "/simulate",
    summary="Run draft rules against stored (or posted) deals; writes nothing",
    description=(
        "Returns verdict counts before and after, and the deals whose result changed "
        "(paginate with offset/limit). With `stream=true` the answer is NDJSON: "
        '`{"type":"progress","processed":n,"total":N}` lines, then `{"type":"result",...}`.'
    ),
    operation_id="simulate_rules",
    responses={
        200: {
            "content": {
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "description": "with stream=true: one JSON object a line (progress, then "
                    "result or error)",
                }
            }
        }
    },
)
def simulate(
    body: SimulateRequest,
    engine: EngineDep,
    _p: RevOpsPrincipal,
    stream: Annotated[bool, Query(description="stream progress as NDJSON")] = False,
) -> SimulationResult:
    if not stream:
        # Its own session, rolled back (the request's session would commit), and read-only:
        # on SQLite it takes no write slot, so a long import does not hold it up.
        with Session(read_only(engine)) as session:
            try:
                return run_simulation(session, body)
            finally:
                session.rollback()

    with Session(read_only(engine)) as session:  # refused before the stream starts, as a 422
        try:
            refuse_deleted_ids(session, body)
        finally:
            session.rollback()

    def run(progress: Progress) -> SimulationResult:
        with Session(read_only(engine)) as session:
            try:
                return run_simulation(session, body, progress=progress)
            finally:
                session.rollback()

    return progress_stream(run, name="rules-simulate")  # type: ignore[return-value]


@router.post(
    "",
    status_code=201,
    summary="Create a rule",
    operation_id="create_rule",
    responses=CREATED,
)
def create_rule(
    body: RuleDefinition, session: SessionDep, principal: RevOpsPrincipal, response: Response
) -> RuleChange:
    row, queued = svc.create_rule(session, body, actor=principal.actor)
    created_at(response, f"{router.prefix}/{quote(row.id, safe='')}", svc.etag(row))
    return _public(row, queued, session)


@router.get(
    "/{rule_id}",
    summary="One rule (its ETag: the version, for If-Match on a write)",
    operation_id="get_rule",
)
def get_rule(
    rule_id: str, session: SessionDep, _p: ReadPrincipal, response: Response
) -> RulePublic:
    row = svc.get_rule(session, rule_id)
    _tagged(response, row)
    return _public(row)


@router.put(
    "/{rule_id}",
    summary="Replace a rule (a new version)",
    description='The body replaces the rule\'s definition; without `"enabled"` the rule stays '
    "switched on or off as it was. With If-Match (the ETag of a GET), a rule changed since is "
    "a 412 and nothing is written.",
    operation_id="update_rule",
    responses=PRECONDITION,
)
def update_rule(
    rule_id: str,
    body: RuleDefinition,
    session: SessionDep,
    principal: RevOpsPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> RuleChange:
    row, queued = svc.update_rule(session, rule_id, body, actor=principal.actor, if_match=if_match)
    _tagged(response, row)
    return _public(row, queued, session)


@router.delete(
    "/{rule_id}",
    summary="Delete a rule (versions are kept)",
    operation_id="delete_rule",
    responses=PRECONDITION,
)
def delete_rule(
    rule_id: str, session: SessionDep, principal: RevOpsPrincipal, if_match: IfMatch = None
) -> RuleDeleted:
    queued = svc.delete_rule(session, rule_id, actor=principal.actor, if_match=if_match)
    return RuleDeleted(id=rule_id, deleted=True, deals_queued=queued)


@router.get(
    "/{rule_id}/versions",
    summary="A rule's versions, oldest first (paged)",
    operation_id="list_rule_versions",
)
def versions(
    rule_id: str,
    session: SessionDep,
    _p: ReadPrincipal,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> RuleVersionPage:
    total, rows = svc.list_versions(session, rule_id, limit=limit, offset=offset)
    return RuleVersionPage(
        total=total,
        limit=limit,
        offset=offset,
        items=[
            RuleVersionPublic(
                rule_id=v.rule_id,
                version=v.version,
                enabled=v.enabled,
                definition=v.definition,
                actor=v.actor,
                created_at=v.created_at,
            )
            for v in rows
        ],
    )


@router.post(
    "/{rule_id}/enable", summary="Enable a rule", operation_id="enable_rule", responses=PRECONDITION
)
def enable(
    rule_id: str,
    session: SessionDep,
    principal: RevOpsPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> RuleChange:
    row, queued = svc.set_enabled(session, rule_id, True, actor=principal.actor, if_match=if_match)
    _tagged(response, row)
    return _public(row, queued, session)


@router.post(
    "/{rule_id}/disable",
    summary="Disable a rule",
    operation_id="disable_rule",
    responses=PRECONDITION,
)
def disable(
    rule_id: str,
    session: SessionDep,
    principal: RevOpsPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> RuleChange:
    row, queued = svc.set_enabled(session, rule_id, False, actor=principal.actor, if_match=if_match)
    _tagged(response, row)
    return _public(row, queued, session)


@router.post(
    "/{rule_id}/restore",
    summary="Restore a deleted rule (disabled; enable it after a simulation)",
    operation_id="restore_rule",
)
def restore(
    rule_id: str, session: SessionDep, principal: RevOpsPrincipal, response: Response
) -> RulePublic:
    row = svc.restore_rule(session, rule_id, actor=principal.actor)
    _tagged(response, row)
    return _public(row)
