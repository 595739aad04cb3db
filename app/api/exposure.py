"""Exposure: per feature, how many open deals and how much pipeline depend on it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from app.api.deals import (
    CrmFilter,
    Cursor,
    Format,
    Limit,
    OwnerFilter,
    PipelineFilter,
    _check_range,
    answer_with_filters,
    one_snapshot,
    page_request,
    respond,
    wants_csv,
)
from app.api.deps import Offset, QueryDate, ReadPrincipal, SessionDep
from app.errors import InvalidRequest
from app.rules.model import Availability
from app.services import queries
from app.services.queries import DealFilters

router = APIRouter(tags=["exposure"])

EXPOSURE_SORTS = ["amount", "weighted_amount", "deal_count", "feature_key"]


@router.get(
    "/api/v1/exposure",
    summary="Per feature: open deals and pipeline by stage, raw and probability-weighted",
)
def get_exposure(
    request: Request,
    session: SessionDep,
    _principal: ReadPrincipal,
    pipeline: PipelineFilter = None,
    owner: OwnerFilter = None,
    crm: CrmFilter = None,
    close_from: QueryDate | None = None,
    close_to: QueryDate | None = None,
    availability: Annotated[
        list[Availability] | None,
        Query(description="features of these availabilities only (repeat it for several)"),
    ] = None,
    promised: Annotated[
        bool | None,
        Query(
            description="true: count, per feature, only the deals promised it or buying it (a "
            "commitment in a note, or a line item); false: only those that mention or ask about "
            "it. The availability split counts a deal promised at least one feature of that "
            "availability (true), or only mentioning its features of it (false)."
        ),
    ] = None,
    optional: Annotated[
        bool | None,
        Query(
            description="false: count, per feature, only the deals that need it, were promised "
            "it or buy it, leaving out those that only called it nice to have; true: only those. "
            "The availability split counts a deal that needs at least one feature of that "
            "availability (false), or only called its features of it nice to have (true)."
        ),
    ] = None,
    limit: Limit = None,
    offset: Offset = 0,
    sort: Annotated[str | None, Query(description=f"one of {EXPOSURE_SORTS}")] = None,
    cursor: Cursor = None,
    format: Format = None,
    csv_rows: Annotated[
        Literal["feature", "stage"] | None,
        Query(description="CSV: one row per feature (the default) or per stage"),
    ] = None,
):
    one_snapshot(session)
    csv = wants_csv(request, format)
    if csv_rows is not None and not csv:  # asked for rows of a CSV, answered JSON: say so
        raise InvalidRequest.at(
            ("query", "csv_rows"),
            "applies to a CSV answer (format=csv or Accept: text/csv); the JSON answer has "
            "each feature's stages in by_stage",
            input=csv_rows,
        )
    page = page_request(request, limit, offset, sort, "-amount", csv, cursor)
    _check_range(close_from, close_to)
    filters = DealFilters(
        crm=crm,
        pipeline=pipeline,
        owner=owner,
        close_from=close_from,
        close_to=close_to,
        promised=promised,
        optional=optional,
    )
    result = answer_with_filters(
        request,
        session,
        filters,
        lambda f: queries.exposure(
            session,
            f,
            page,
            availability=[a.value for a in availability or ()],
            # A CSV holds the rows alone: no split; stages only in the one-row-per-stage form.
            by_stage=not csv or csv_rows == "stage",
            split=not csv,
        ),
    )
    if csv and csv_rows == "stage":
        return respond(
            result,
            csv=True,
            columns=queries.EXPOSURE_STAGE_COLUMNS,
            rows=queries.exposure_stage_rows(result.items),
            filename="exposure-by-stage.csv",
        )
    return respond(
        result,
        csv=csv,
        columns=queries.EXPOSURE_COLUMNS,
        rows=queries.exposure_feature_rows(result.items) if csv else None,
        filename="exposure.csv",
    )
