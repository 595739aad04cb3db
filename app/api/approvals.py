"""Approvals: approve one finding on one deal (approver or admin), list, revoke.

The block lifts in the same request: the deal is re-evaluated from its stored snapshot and
queued for write-back, so the CRM shows the approver's name within one worker poll.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from app.api.deals import (
    CrmFilter,
    Cursor,
    Format,
    Limit,
    _known_crm,
    one_snapshot,
    page_request,
    respond,
    wants_csv,
)
from app.api.deps import ApproverPrincipal, Offset, ReadPrincipal, RowId, SafeDateTime, SessionDep
from app.models import Approval
from app.models.types import RequestDate
from app.services import approvals as service
from app.services import queries
from app.services.queries import PageResult

router = APIRouter(tags=["approvals"])

APPROVAL_SORTS = {
    "created_at": Approval.created_at,
    "expires_at": Approval.expires_at,
    "approver": Approval.approver,
    "deal_id": Approval.deal_id,
    "feature_key": Approval.feature_key,
}
# The filters `service.check_list_filters` checks (a value matching nothing is a 422 naming it).
_UNMATCHED = ", naming the values known"
APPROVAL_COLUMNS = [
    "id",
    "crm",
    "deal_id",
    "feature_key",
    "rule_id",
    "promised_date",
    "reason",
    "approver",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "created_at",
    "status",
]


def _with_timezone(value: datetime) -> datetime:
    if value.tzinfo is None:
        # a date alone ("2027-06-30") is read as its midnight, with no zone
        example = value.replace(microsecond=0).isoformat() + "Z"
        raise ValueError(f"must include a timezone, e.g. {example} (UTC)")
    return value


class ApprovalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crm: str = Field(min_length=1, max_length=32)
    deal_id: str = Field(min_length=1, max_length=64)
    feature_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="the feature whose finding is approved; omit for an off-roadmap promise "
        "(then rule_id is required)",
    )
    rule_id: str | None = Field(default=None, max_length=64, description="only this rule's finding")
    # RequestDate: a number (0) was read as 1970-01-01, which the ledger then took as the
    # date promised at signing
    promised_date: RequestDate | None = None
    reason: str = Field(min_length=3, max_length=4000)
    expires_at: SafeDateTime = Field(description="ISO 8601 with a timezone")

    @field_validator("crm")
    @classmethod
    def _crm(cls, crm: str) -> str:
        """A CRM roadmap-guard knows: `HubSpot` or `hubspott` answered 404 "no deal 'D1' in
        crm 'HubSpot'", as if the deal were missing, not the CRM misspelt."""
        crm = crm.strip()
        _known_crm(crm)
        return crm

    @field_validator("deal_id")
    @classmethod
    def _deal_id(cls, deal_id: str) -> str:
        """A deal id pasted from a report or a spreadsheet cell ("12345 ", "12345\n") answered
        404 "no deal '12345 '": no CRM id has surrounding whitespace."""
        if not deal_id.strip():
            raise ValueError("must not be blank")
        return deal_id.strip()

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _with_timezone(value)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class ApprovalPublic(BaseModel):
    """An approval as the API answers it (JSON; the CSV export has these columns but covers)."""

    id: int
    crm: str
    deal_id: str
    feature_key: str | None = Field(description="null: an off-roadmap promise (see rule_id)")
    rule_id: str | None = Field(description="only this rule's finding; null: every rule's")
    promised_date: str | None = Field(
        description="YYYY-MM-DD: the promised date the approval covers (a promise of another "
        "date is not covered); null: any date"
    )
    reason: str
    approver: str = Field(description="the approving API key's name")
    expires_at: str | None = Field(description="ISO 8601, UTC")
    revoked_at: str | None = Field(description="ISO 8601, UTC; null while not revoked")
    revoked_by: str | None = Field(description="role:name of who revoked it")
    created_at: str = Field(description="ISO 8601, UTC")
    covers: list[dict[str, Any]] | None = Field(
        description="the findings it was given for ({rule_id, feature_key, evidence}); null: "
        "made before they were recorded, covers any"
    )
    status: Literal["active", "expired", "revoked"]


class ApprovalChange(ApprovalPublic):
    requeued: list[str] = Field(
        description="ids of the deals whose result changed, queued for the CRM write-back"
    )


class ApprovalPage(BaseModel):
    total: int
    limit: int | None
    offset: int
    sort: str
    items: list[ApprovalPublic]
    next_cursor: str | None = Field(
        description="the `cursor` of the next page (null: this is the last): it continues "
        "after this page's last approval however approvals before it changed meanwhile, where "
        "an offset can repeat or skip one"
    )


def _row(row: Approval, now: datetime) -> dict:
    return {**queries.approval_row(row), "status": queries.approval_status(row, now)}


@router.post(
    "/api/v1/approvals",
    status_code=201,
    summary="Approve one finding on one deal",
    operation_id="create_approval",
    response_model=ApprovalChange,
)
def create_approval(body: ApprovalCreate, session: SessionDep, principal: ApproverPrincipal):
    row, changed = service.create_approval(
        session,
        actor=principal.actor,
        approver=principal.name,
        crm=body.crm,
        deal_id=body.deal_id,
        feature_key=body.feature_key,
        rule_id=body.rule_id,
        promised_date=body.promised_date,
        reason=body.reason,
        expires_at=body.expires_at,
    )
    now = service.utcnow()
    return {**_row(row, now), "requeued": changed}


@router.post(
    "/api/v1/approvals/{approval_id}/revoke",
    summary="Revoke: the finding blocks again",
    operation_id="revoke_approval",
    response_model=ApprovalChange,
)
def revoke_approval(approval_id: RowId, session: SessionDep, principal: ApproverPrincipal):
    row, changed = service.revoke_approval(session, approval_id, actor=principal.actor)
    return {**_row(row, service.utcnow()), "requeued": changed}


class ApprovalExtend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: SafeDateTime = Field(description="the new expiry, later than the current one")

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _with_timezone(value)


@router.post(
    "/api/v1/approvals/{approval_id}/extend",
    summary="Extend: a later expiry for an approval still in force",
    operation_id="extend_approval",
    response_model=ApprovalPublic,
)
def extend_approval(
    approval_id: RowId, body: ApprovalExtend, session: SessionDep, principal: ApproverPrincipal
):
    row = service.extend_approval(session, approval_id, body.expires_at, actor=principal.actor)
    return _row(row, service.utcnow())


@router.get(
    "/api/v1/approvals",
    summary="Approvals, filtered; CSV with ?format=csv",
    operation_id="list_approvals",
    response_model=ApprovalPage,
)
def list_approvals(
    request: Request,
    session: SessionDep,
    _principal: ReadPrincipal,
    crm: CrmFilter = None,
    deal_id: Annotated[
        str | None,
        Query(description="a deal's id; one no deal or approval carries is refused" + _UNMATCHED),
    ] = None,
    feature: str | None = None,
    approver: Annotated[
        str | None,
        Query(
            description="the approving key's name, any case; one no approval or approving key "
            "carries is refused" + _UNMATCHED
        ),
    ] = None,
    status: Literal["active", "expired", "revoked"] | None = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {sorted(APPROVAL_SORTS)}")] = None,
    cursor: Cursor = None,
    format: Format = None,
):
    one_snapshot(session)  # the total and the page agree
    csv = wants_csv(request, format)
    page = page_request(request, limit, offset, sort, "-created_at", csv, cursor)
    if feature:  # a typo is a 422 naming the key meant, not an empty list
        queries.check_feature_filter(session, feature, approvals=True)
    now = service.utcnow()
    conds = service.list_approvals(
        session,
        crm=crm,
        deal_id=deal_id,
        feature_key=feature,
        approver=approver,
        status=status,
        now=now,
    )
    total = session.execute(select(func.count()).select_from(Approval).where(*conds)).scalar_one()
    if not total and ((deal_id or "").strip() or (approver or "").strip()):
        # an empty answer: a value that matches nothing is a 422 naming it, not "nothing
        # pending" (a known one, e.g. a deal never needing an approval, is the empty answer)
        service.check_list_filters(session, crm=crm, deal_id=deal_id, approver=approver)
    # by cursor too: an approval given between two page requests (at the top of the default
    # -created_at) pushed every later one down, and the next page by offset repeated one
    ks = queries.keyset(page, APPROVAL_SORTS, [Approval.id])
    stmt = (
        select(Approval, *(c.label(f"keyset_{i}") for i, c in enumerate(ks.columns)))
        .where(*conds, *([] if ks.after is None else [ks.after]))
        .order_by(*ks.order)
        .offset(page.offset)
        .limit(page.limit)
    )
    rows = session.execute(stmt).all()
    items = [_row(row[0], now) for row in rows]
    full = page.limit is not None and len(rows) == page.limit
    result = PageResult(
        items=items,
        total=total,
        limit=page.limit,
        offset=page.offset,
        sort=page.sort,
        extra={"next_cursor": queries.next_cursor(page, tuple(rows[-1][1:]) if full else None)},
    )
    return respond(result, csv=csv, columns=APPROVAL_COLUMNS, filename="approvals.csv")
