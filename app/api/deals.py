"""Deals and their feature dependencies: lists for engineering, one deal in full.

Also home of the listing conventions every read route of issue 6 shares: `limit`/`offset`
(and `cursor`), `sort=key,-key` over whitelisted keys, unknown query parameters refused (a typo
in a filter must not silently widen an export), and CSV with `?format=csv` or `Accept:
text/csv`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, Field
from sqlmodel import Session

from app.api.deps import Offset, PageLimit, QueryDate, ReadPrincipal, SessionDep, SettingsDep
from app.errors import InvalidRequest, NotFound, did_you_mean
from app.rules.model import KNOWN_CRMS
from app.services import queries
from app.services.queries import DealFilters, PageRequest, PageResult

router = APIRouter(tags=["deals"])


# What the lists and the deal page answer, declared for the OpenAPI document (the routes answer
# JSONResponse or CSV, so these are not applied): it showed `{}` for all three, and a client
# generated from it had no fields to read. tests/api/test_contract_review9.py holds real
# answers to them, key for key.
class DealRow(BaseModel):
    crm: str
    deal_id: str
    name: str | None
    account_name: str | None
    pipeline: str | None
    stage_id: str | None
    stage_label: str | None
    probability: float | None
    amount: float | None
    currency: str | None
    amount_home: float | None = Field(description="in the CRM's company currency, if converted")
    home_currency: str | None
    close_date: date | None
    owner_id: str | None
    owner_name: str | None
    verdict: str | None
    is_closed: bool
    is_won: bool
    url: str | None = Field(description="the deal in its CRM")
    evaluation_url: str = Field(description="the deal's page on the dashboard")
    updated_at: datetime | None


class DealTotals(BaseModel):
    """The deals depending on the feature, all pages, as exposure sums them."""

    deal_count: int
    amount: float
    weighted_amount: float
    currency: str | None
    mixed_currencies: bool


_NEXT_CURSOR = (
    "the `cursor` of the next page (null: this is the last): it continues after this page's "
    "last deal however deals before it changed meanwhile, where an offset can repeat or skip one"
)


class DealPage(BaseModel):
    items: list[DealRow]
    total: int
    limit: int | None
    offset: int
    sort: str
    totals: DealTotals | None = Field(default=None, description="with `feature` only")
    next_cursor: str | None = Field(description=_NEXT_CURSOR)


class ReferenceEvidence(BaseModel):
    """What a reference says and where it was read: one shape for a feature's deals and a
    deal's features."""

    source: str
    source_id: str | None
    evidence: str
    is_commitment: bool
    hedged: bool
    optional: bool
    promised_date: date | None
    needed_by: date | None


class FeatureReferenceRow(ReferenceEvidence):
    score: float


class FeatureDealRow(DealRow):
    references: list[FeatureReferenceRow]
    sources: list[str]
    evidence: list[str]


class FeatureSummary(BaseModel):
    key: str
    name: str
    availability: str
    target_date: date | None


class FeatureDealPage(BaseModel):
    items: list[FeatureDealRow]
    total: int
    limit: int | None
    offset: int
    sort: str
    totals: DealTotals
    feature: FeatureSummary
    next_cursor: str | None = Field(description=_NEXT_CURSOR)


class DealInFull(DealRow):
    deleted_in_crm: bool


class SnapshotLineItem(BaseModel):
    id: str | None
    name: str | None
    sku: str | None
    quantity: float | None
    amount: float | None


class DealSnapshotSummary(BaseModel):
    taken_at: datetime | None
    line_items: list[SnapshotLineItem]
    note_count: int


class DealReferenceRow(ReferenceEvidence):
    feature_key: str | None
    feature_name: str


class EvaluationRow(BaseModel):
    id: int
    verdict: str
    trigger: str
    rules_version: str | None
    finding_count: int
    created_at: datetime


class WriteBackRow(BaseModel):
    id: int
    evaluation_id: int | None
    outcome: str
    changes: Any
    error: str | None
    created_at: datetime


class DealDetail(BaseModel):
    deal: DealInFull
    snapshot: DealSnapshotSummary
    references: list[DealReferenceRow]
    findings: list[dict[str, Any]] = Field(description="the latest evaluation's findings")
    evaluation_id: int | None
    evaluations: list[EvaluationRow]
    write_backs: list[WriteBackRow]
    approvals: list[dict[str, Any]] = Field(description="as GET /api/v1/approvals lists them")
    commitments: list[dict[str, Any]] = Field(description="as GET /api/v1/commitments lists them")


Verdict = Literal["clear", "warning", "blocked"]
DealState = Literal["open", "closed", "won", "all"]
Limit = Annotated[int | None, Query(ge=1, le=queries.MAX_PAGE, description="page size")]
Format = Annotated[Literal["json", "csv"] | None, Query(description="or Accept: text/csv")]


def _known_crm(crm: str | None) -> str | None:
    """A CRM filter names one roadmap-guard knows: `crm=HubSpot` or `crm=hubspott` matched no
    deal and answered an empty list, no exposure and a report of zeros, read as "no pipeline
    there" rather than as the typo it was. Empty (`crm=`, a form's "any") filters nothing, as
    before."""
    if crm and crm not in KNOWN_CRMS:
        raise ValueError(
            f"unknown CRM '{crm}'{did_you_mean(crm, KNOWN_CRMS)} (one of: "
            + ", ".join(KNOWN_CRMS)
            + ")"
        )
    return crm


# The `crm` filter of every read route of issue 6 (`_known_crm`).
CrmFilter = Annotated[
    str | None, AfterValidator(_known_crm), Query(description=" or ".join(KNOWN_CRMS))
]


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def page_request(
    request: Request,
    limit: int | None,
    offset: int,
    sort: str | None,
    default_sort: str,
    csv: bool,
    cursor: str | None = None,
) -> PageRequest:
    if limit is None:
        limit = queries.CSV_MAX_ROWS if csv else 50
    if cursor is not None and offset:
        raise InvalidRequest.at(
            ("query", "offset"),
            "give a cursor or an offset, not both: the cursor says where the page starts",
            input=offset,
        )
    return PageRequest(
        limit=limit,
        offset=offset,
        sort=sort or default_sort,
        cursor=cursor,
        listing=request.scope["path"],
        filters=queries.cursor_filters(_filter_params(request)),
    )


def _filter_params(request: Request) -> list[tuple[str, str]]:
    """The query parameters of the request for its cursor's filter fingerprint
    (`queries.cursor_filters`), a filter given with its default value left out: `?state=open`
    lists what no `state` lists, and a cursor of one is a cursor of the other."""
    route = request.scope.get("route")
    defaults = {
        p.alias: p.field_info.default
        for p in (route.dependant.query_params if route is not None else ())
        if isinstance(p.field_info.default, str)
    }
    return [
        (name, value)
        for name, value in request.query_params.multi_items()
        if defaults.get(name) != value
    ]


# The filters `answer_with_filters` checks (a value matching nothing is a 422 naming it).
_UNMATCHED = "; a value no deal carries is refused, naming the values known"
PipelineFilter = Annotated[
    str | None,
    Query(description="the pipeline's id, or its name in the CRM (any case)" + _UNMATCHED),
]
OwnerFilter = Annotated[str | None, Query(description="owner id or name" + _UNMATCHED)]
StageFilter = Annotated[str | None, Query(description="stage id or label" + _UNMATCHED)]


# The `cursor` of the deal lists, the ledger, exposure and approvals (`queries.keyset`).
Cursor = Annotated[
    str | None,
    Query(
        description="the `next_cursor` of the page before: the rows after its last one, in "
        "the same sort (stable while rows change; an offset shifts when one before it goes). "
        "Only on the list that gave it, with the same filters and sort (else a 422)",
    ),
]


def respond(
    result: PageResult | dict[str, Any],
    *,
    csv: bool,
    columns: Sequence[str] = (),
    rows: list[dict[str, Any]] | None = None,
    filename: str = "export.csv",
) -> JSONResponse | StreamingResponse:
    if csv:
        data = rows if rows is not None else result.items  # type: ignore[union-attr]
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if isinstance(result, PageResult):
            headers["X-Total-Count"] = str(result.total)
        return StreamingResponse(
            queries.to_csv(data, columns), media_type="text/csv; charset=utf-8", headers=headers
        )
    body = result.as_json() if isinstance(result, PageResult) else result
    return JSONResponse(body)


def one_snapshot(session: Session) -> None:
    """Every statement of the request reads the database as it was at the first one. On
    PostgreSQL (READ COMMITTED) each statement read its own snapshot: a deal committed between a
    list's count and its page was on the page and not in `total` (or a feature's `totals` and
    its rows disagreed), so the numbers of one answer did not add up. REPEATABLE READ costs a
    read-only transaction nothing and can fail none. SQLite's transaction holds one snapshot
    already. Called before the request's first statement (a later call is ignored)."""
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def answer_with_filters(
    request: Request,
    session: Session,
    filters: DealFilters,
    run: Callable[[DealFilters], PageResult],
    *,
    ledger: bool = False,
) -> PageResult:
    """`run(filters)`, the one way every list and total of issue 6 takes the `pipeline`,
    `owner` and `stage` filters: an empty answer has its filter values checked
    (`queries.check_filter_values`), so a value that matches nothing is a 422 naming it and the
    values known, not an empty list read as "no exposure"; a pipeline given by its name in the
    CRM is answered for the pipeline so named. An answer with rows is returned as it is: its
    filters matched."""
    result = run(filters)
    if result.total or not (filters.pipeline or filters.owner or filters.stage):
        return result
    connectors = getattr(request.app.state, "connectors", None) or {}
    resolved = queries.check_filter_values(
        session, filters, lambda: queries.crm_pipeline_names(connectors), ledger=ledger
    )
    return result if resolved == filters else run(resolved)


_PROMISED = (
    "true: deals promised the feature or buying it (a commitment in a note, or a line item); "
    "false: deals that only mention or ask about it"
)
_OPTIONAL = (
    "true: deals that only called the feature nice to have (a wish, not a need); false: the "
    "others, deals that need it, were promised it or buy it"
)


@router.get(
    "/api/v1/deals",
    summary="Deals, filtered by feature, verdict, owner and stage",
    response_model=None,  # the answer is sent as built; DealPage documents it
    responses={200: {"model": DealPage}},
)
def list_deals(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: ReadPrincipal,
    feature: str | None = None,
    promised: Annotated[bool | None, Query(description=_PROMISED)] = None,
    optional: Annotated[bool | None, Query(description=_OPTIONAL)] = None,
    verdict: Verdict | None = None,
    owner: OwnerFilter = None,
    stage: StageFilter = None,
    pipeline: PipelineFilter = None,
    crm: CrmFilter = None,
    state: DealState = "open",
    close_from: QueryDate | None = None,
    close_to: QueryDate | None = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {sorted(queries.DEAL_SORTS)}")] = None,
    cursor: Cursor = None,
    format: Format = None,
):
    one_snapshot(session)
    csv = wants_csv(request, format)
    page = page_request(request, limit, offset, sort, "-amount", csv, cursor)
    filters = DealFilters(
        crm=crm,
        pipeline=pipeline,
        owner=owner,
        stage=stage,
        verdict=verdict,
        close_from=close_from,
        close_to=close_to,
        state=state,
        feature=feature,
        promised=promised,
        optional=optional,
    )
    how = [
        name
        for name, value in (("promised", promised), ("optional", optional))
        if value is not None
    ]
    if how and feature is None:
        raise InvalidRequest(
            [
                {
                    "loc": ("query", "feature"),
                    "msg": f"required with {name}: {name} says how a deal depends on a feature",
                    "type": "missing",
                    "input": None,
                }
                for name in how
            ]
        )
    _check_range(close_from, close_to)
    if feature:
        queries.check_feature_filter(session, feature)
    result = answer_with_filters(
        request,
        session,
        filters,
        lambda f: queries.list_deals(session, f, page, base_url=settings.public_base_url),
    )
    return respond(result, csv=csv, columns=queries.DEAL_COLUMNS, filename="deals.csv")


@router.get(
    "/api/v1/features/{key}/deals",
    summary="Open deals that depend on a feature, with the quoted evidence",
    response_model=None,  # the answer is sent as built; FeatureDealPage documents it
    responses={200: {"model": FeatureDealPage}},
)
def deals_for_feature(
    key: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: ReadPrincipal,
    promised: Annotated[bool | None, Query(description=_PROMISED)] = None,
    optional: Annotated[bool | None, Query(description=_OPTIONAL)] = None,
    verdict: Verdict | None = None,
    owner: OwnerFilter = None,
    stage: StageFilter = None,
    pipeline: PipelineFilter = None,
    crm: CrmFilter = None,
    state: DealState = "open",
    close_from: QueryDate | None = None,
    close_to: QueryDate | None = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {sorted(queries.DEAL_SORTS)}")] = None,
    cursor: Cursor = None,
    format: Format = None,
):
    one_snapshot(session)
    csv = wants_csv(request, format)
    page = page_request(request, limit, offset, sort, "-amount", csv, cursor)
    _check_range(close_from, close_to)
    filters = DealFilters(
        crm=crm,
        pipeline=pipeline,
        owner=owner,
        stage=stage,
        verdict=verdict,
        close_from=close_from,
        close_to=close_to,
        state=state,
        promised=promised,
        optional=optional,
    )
    result = answer_with_filters(
        request,
        session,
        filters,
        lambda f: queries.feature_deals(session, key, f, page, base_url=settings.public_base_url),
    )
    return respond(
        result, csv=csv, columns=queries.FEATURE_DEAL_COLUMNS, filename=f"{key}-deals.csv"
    )


@router.get(
    "/api/v1/deals/{crm}/{deal_id}",
    summary="One deal: findings, references, history",
    response_model=None,  # the answer is sent as built; DealDetail documents it
    responses={200: {"model": DealDetail}},
)
def get_deal(
    crm: str,
    deal_id: str,
    session: SessionDep,
    settings: SettingsDep,
    _principal: ReadPrincipal,
    history_limit: PageLimit = 50,
):
    if crm not in KNOWN_CRMS:
        # `/deals/HubSpot/123` answered "no deal '123' in crm 'HubSpot'": the deal looked
        # missing, not the CRM misspelt.
        raise NotFound(
            f"unknown CRM '{crm}'{did_you_mean(crm, KNOWN_CRMS)} (one of: "
            + ", ".join(KNOWN_CRMS)
            + ")"
        )
    return queries.deal_detail(
        session, crm, deal_id, base_url=settings.public_base_url, history_limit=history_limit
    )


def _check_range(
    start: date | None, end: date | None, names: tuple[str, str] = ("close_from", "close_to")
) -> None:
    if start and end and start > end:
        raise InvalidRequest.at(
            ("query", names[0]),
            f"{names[0]} {start.isoformat()} is after {names[1]} {end.isoformat()}",
            input=start.isoformat(),
        )
