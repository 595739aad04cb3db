"""The commitment ledger: promises recorded when deals were won, and which ones broke."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from app.api.deals import (
    CrmFilter,
    Cursor,
    Format,
    Limit,
    _check_range,
    answer_with_filters,
    one_snapshot,
    page_request,
    respond,
    wants_csv,
)
from app.api.deps import Offset, QueryDate, ReadPrincipal, SafeDate, SessionDep
from app.models import Commitment
from app.services import queries
from app.services.queries import DealFilters, PageResult, currency_label, money
from app.services.search import contains_text
from app.services.search import lower as search_lower

router = APIRouter(tags=["commitments"])

COMMITMENT_SORTS = {
    "signed_at": Commitment.signed_at,
    "close_date": Commitment.close_date,
    "promised_date": Commitment.promised_date,
    # What the deal was worth in the company currency (its own amount where not converted).
    "amount": func.coalesce(Commitment.amount_home, Commitment.amount),
    "feature_key": Commitment.feature_key,
    "flagged_at": Commitment.flagged_at,
    "deal_name": Commitment.deal_name,
}
COMMITMENT_COLUMNS = [
    "id",
    "crm",
    "deal_id",
    "deal_name",
    "account_name",
    "owner_id",
    "owner_name",
    "pipeline",
    "close_date",
    "promise_key",
    "feature_key",
    "rule_id",
    "feature_name",
    "availability_at_signing",
    "target_date_at_signing",
    "promised_date",
    "hedged",
    "amount",
    "currency",
    "amount_home",
    "home_currency",
    "approver",
    "approval_id",
    "evidence",
    "signed_at",
    "recorded_at",
    "withdrawn_at",
    "flagged",
    "flagged_at",
    "flag_reason",
    "task_requested",
    "deal_deleted_in_crm",
]


def commitment_conditions(
    *,
    feature: str | None = None,
    crm: str | None = None,
    owner: str | None = None,
    pipeline: str | None = None,
    pipeline_ids: tuple[tuple[str, str], ...] = (),
    close_from: date | None = None,
    close_to: date | None = None,
    flagged: bool | None = None,
    hedged: bool | None = None,
    signed_from: SafeDate | None = None,
    signed_to: SafeDate | None = None,
    timezone: str = "UTC",
    deal_deleted: bool | None = None,
    withdrawn: bool | None = None,
) -> list:
    conds = []
    if withdrawn is True:
        conds.append(Commitment.withdrawn_at.is_not(None))
    elif withdrawn is False:
        conds.append(Commitment.withdrawn_at.is_(None))
    if feature:
        conds.append(Commitment.feature_key == feature)
    if crm:
        conds.append(Commitment.crm == crm)
    if owner:
        conds.append(queries.commitment_owner(owner))
    if pipeline_ids:  # a pipeline named as the CRM names it (`queries.check_filter_values`)
        conds.append(
            or_(*(and_(Commitment.crm == c, Commitment.pipeline == p) for c, p in pipeline_ids))
        )
    elif pipeline:
        conds.append(Commitment.pipeline == pipeline)
    if close_from:
        conds.append(Commitment.close_date >= close_from)
    if close_to:
        conds.append(Commitment.close_date <= close_to)
    if flagged is True:
        conds.append(Commitment.flagged_at.is_not(None))
    elif flagged is False:
        conds.append(Commitment.flagged_at.is_(None))
    if hedged is not None:
        conds.append(Commitment.hedged == hedged)
    if deal_deleted is not None:
        gone = queries.commitment_deal_gone()
        conds.append(gone if deal_deleted else ~gone)
    if signed_from:
        conds.append(Commitment.signed_at >= _start_of(signed_from, timezone))
    if signed_to:  # inclusive: the whole of the last day
        conds.append(Commitment.signed_at < _start_of(signed_to + timedelta(days=1), timezone))
    return conds


def ledger_totals(session: Session, conds: list) -> dict[str, Any]:
    """What the entries matched are worth, over every page: `deals` (each once, however many
    features it was promised) and `amount`, each deal's amount once in the company currency
    where the CRM converted it (as the leadership report adds it), with exposure's currency
    label. "How much signed business was promised SSO", or, with flagged=true, rides on a
    broken promise: the sum of one deal's three entries would count it three times."""
    currency = case(
        (Commitment.amount_home.is_not(None), Commitment.home_currency),
        else_=Commitment.currency,
    )
    per_deal = (
        select(
            func.max(func.coalesce(Commitment.amount_home, Commitment.amount)).label("amount"),
            func.max(currency).label("currency"),
        )
        .where(*conds)
        .group_by(Commitment.crm, Commitment.deal_id)
        .subquery("per_deal")
    )
    priced = per_deal.c.amount.is_not(None)
    deals, amount, low, high, unlabelled = session.execute(
        select(
            func.count(),
            func.sum(per_deal.c.amount),
            func.min(case((priced, per_deal.c.currency))),
            func.max(case((priced, per_deal.c.currency))),
            func.coalesce(
                func.sum(case((and_(priced, per_deal.c.currency.is_(None)), 1), else_=0)), 0
            ),
        )
    ).one()
    return {
        "deals": int(deals),
        "amount": money(amount),
        **currency_label(low, high, unlabelled),
    }


def _start_of(day: date, timezone: str) -> datetime:
    """The midnight starting `day` where the sales team works (BUSINESS_TIMEZONE), in UTC: the
    days the leadership report counts signatures in. Days in UTC put a deal signed at 8 pm on
    31 March in Los Angeles in Q2 here and in Q1 in the report, so the two never agreed."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


@router.get("/api/v1/commitments", summary="The commitment ledger; CSV with ?format=csv")
def list_commitments(
    request: Request,
    session: SessionDep,
    _principal: ReadPrincipal,
    feature: str | None = None,
    crm: CrmFilter = None,
    owner: Annotated[
        str | None,
        Query(description="deal owner id or name; a value no deal or entry carries is refused"),
    ] = None,
    pipeline: Annotated[
        str | None,
        Query(
            description="the deal's pipeline when won: its id, or its name in the CRM (any "
            "case); a value no deal or entry carries is refused"
        ),
    ] = None,
    close_from: Annotated[QueryDate | None, Query(description="deal close date, from")] = None,
    close_to: Annotated[
        QueryDate | None, Query(description="deal close date, to (inclusive)")
    ] = None,
    flagged: bool | None = None,
    hedged: Annotated[
        bool | None,
        Query(description="true: promises said with a hedge ('might', 'hopefully'); false: firm"),
    ] = None,
    signed_from: Annotated[
        SafeDate | None, Query(description="signed on or after this day (BUSINESS_TIMEZONE)")
    ] = None,
    signed_to: Annotated[
        SafeDate | None, Query(description="signed on or before this day (BUSINESS_TIMEZONE)")
    ] = None,
    deal_deleted: Annotated[
        bool | None,
        Query(
            description="true: entries of deals deleted or merged away in the CRM since; false: "
            "the others (a duplicate cleaned up is not signed business twice)"
        ),
    ] = None,
    withdrawn: Annotated[
        bool | None,
        Query(
            description="true: entries of deals that left their won stage since (lost, "
            "reopened): no longer signed business; false: the promises that stand"
        ),
    ] = None,
    q: Annotated[str | None, Query(description="text in deal or account name")] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {sorted(COMMITMENT_SORTS)}")] = None,
    cursor: Cursor = None,
    format: Format = None,
):
    one_snapshot(session)
    csv = wants_csv(request, format)
    page = page_request(request, limit, offset, sort, "-signed_at", csv, cursor)
    _check_range(signed_from, signed_to, ("signed_from", "signed_to"))
    _check_range(close_from, close_to)
    if feature:
        queries.check_feature_filter(session, feature, ledger=True)

    def run(filters: DealFilters) -> PageResult:
        conds = commitment_conditions(
            feature=feature,
            crm=filters.crm,
            owner=filters.owner,
            pipeline=filters.pipeline,
            pipeline_ids=filters.pipeline_ids,
            close_from=close_from,
            close_to=close_to,
            flagged=flagged,
            hedged=hedged,
            signed_from=signed_from,
            signed_to=signed_to,
            timezone=request.app.state.settings.business_timezone,
            deal_deleted=deal_deleted,
            withdrawn=withdrawn,
        )
        if q:  # literal text, any case: "100%" is no wildcard (`contains_text`)
            text = q.lower()
            dialect = session.get_bind().dialect.name
            conds.append(
                or_(
                    contains_text(search_lower(Commitment.deal_name, dialect), text),
                    contains_text(search_lower(Commitment.account_name, dialect), text),
                )
            )
        total = session.execute(
            select(func.count()).select_from(Commitment).where(*conds)
        ).scalar_one()
        # by cursor too: a win signed between two page requests (at the top of the default
        # -signed_at) shifted every later entry, and the next page repeated one
        ks = queries.keyset(page, COMMITMENT_SORTS, [Commitment.id])
        stmt = (
            select(Commitment, *(c.label(f"keyset_{i}") for i, c in enumerate(ks.columns)))
            .where(*conds, *([] if ks.after is None else [ks.after]))
            .order_by(*ks.order)
            .offset(page.offset)
            .limit(page.limit)
        )
        rows = session.execute(stmt).all()
        items = queries.commitment_rows(session, [row[0] for row in rows])
        full = page.limit is not None and len(rows) == page.limit
        extra = {} if csv else {"totals": ledger_totals(session, conds)}
        extra["next_cursor"] = queries.next_cursor(page, tuple(rows[-1][1:]) if full else None)
        return PageResult(
            items=items,
            total=total,
            limit=page.limit,
            offset=page.offset,
            sort=page.sort,
            extra=extra,
        )

    # the owner and pipeline filters as the other lists take them (`answer_with_filters`)
    filters = DealFilters(crm=crm, owner=owner, pipeline=pipeline)
    result = answer_with_filters(request, session, filters, run, ledger=True)
    return respond(result, csv=csv, columns=COMMITMENT_COLUMNS, filename="commitments.csv")
