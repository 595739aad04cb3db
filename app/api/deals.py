"""Deals and their feature dependencies: lists for engineering, one deal in full.

Also home of the listing conventions every read route of issue 6 shares: `limit`/`offset`,
`sort=key,-key` over whitelisted keys, unknown query parameters refused (a typo in a filter
must not silently widen an export), and CSV with `?format=csv` or `Accept: text/csv`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator

from app.api.deps import Offset, PageLimit, QueryDate, ReadPrincipal, SessionDep, SettingsDep
from app.errors import InvalidRequest, NotFound, did_you_mean
from app.rules.model import KNOWN_CRMS
from app.services import queries
from app.services.queries import DealFilters, PageRequest, PageResult

router = APIRouter(tags=["deals"])

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
    request: Request, limit: int | None, offset: int, sort: str | None, default_sort: str, csv: bool
) -> PageRequest:
    if limit is None:
        limit = queries.CSV_MAX_ROWS if csv else 50
    return PageRequest(limit=limit, offset=offset, sort=sort or default_sort)


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


_PROMISED = (
    "true: deals promised the feature or buying it (a commitment in a note, or a line item); "
    "false: deals that only mention or ask about it"
)
_OPTIONAL = (
    "true: deals that only called the feature nice to have (a wish, not a need); false: the "
    "others, deals that need it, were promised it or buy it"
)


@router.get("/api/v1/deals", summary="Deals, filtered by feature, verdict, owner and stage")
def list_deals(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _principal: ReadPrincipal,
    feature: str | None = None,
    promised: Annotated[bool | None, Query(description=_PROMISED)] = None,
    optional: Annotated[bool | None, Query(description=_OPTIONAL)] = None,
    verdict: Verdict | None = None,
    owner: Annotated[str | None, Query(description="owner id or name")] = None,
    stage: Annotated[str | None, Query(description="stage id or label")] = None,
    pipeline: str | None = None,
    crm: CrmFilter = None,
    state: DealState = "open",
    close_from: QueryDate | None = None,
    close_to: QueryDate | None = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {sorted(queries.DEAL_SORTS)}")] = None,
    format: Format = None,
):
    csv = wants_csv(request, format)
    page = page_request(request, limit, offset, sort, "-amount", csv)
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
    result = queries.list_deals(session, filters, page, base_url=settings.public_base_url)
    return respond(result, csv=csv, columns=queries.DEAL_COLUMNS, filename="deals.csv")


@router.get(
    "/api/v1/features/{key}/deals",
    summary="Open deals that depend on a feature, with the quoted evidence",
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
    owner: str | None = None,
    stage: str | None = None,
    pipeline: str | None = None,
    crm: CrmFilter = None,
    state: DealState = "open",
    close_from: QueryDate | None = None,
    close_to: QueryDate | None = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {sorted(queries.DEAL_SORTS)}")] = None,
    format: Format = None,
):
    csv = wants_csv(request, format)
    page = page_request(request, limit, offset, sort, "-amount", csv)
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
    result = queries.feature_deals(session, key, filters, page, base_url=settings.public_base_url)
    return respond(
        result, csv=csv, columns=queries.FEATURE_DEAL_COLUMNS, filename=f"{key}-deals.csv"
    )


@router.get("/api/v1/deals/{crm}/{deal_id}", summary="One deal: findings, references, history")
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
