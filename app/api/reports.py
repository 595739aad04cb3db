"""The leadership report on commitments, per quarter, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from app.api.deals import CrmFilter, Format, _check_range, one_snapshot, respond, wants_csv
from app.api.deps import QueryDate, ReadPrincipal, SessionDep
from app.errors import InvalidRequest
from app.models.types import utcnow
from app.services import reports

router = APIRouter(tags=["reports"])


MAX_QUARTERS = 20  # in one report
# The default reaches three quarters before the one holding `to`, and `Quarters` the start of the quarter after it:
# at the ends of the calendar (year 1, year 9999) there was none, and the report failed with a
# 500.
FIRST_YEAR, LAST_YEAR = 1900, 9998


@router.get(
    "/api/v1/reports/commitments",
    summary="Per quarter: off-roadmap commitments, overrides, time to resolve, blocked features",
)
def commitments_report(
    request: Request,
    session: SessionDep,
    _principal: ReadPrincipal,
    from_: Annotated[
        QueryDate | None,
        Query(
            alias="from",
            description="first day; default: the start of the quarter three before the one holding `to` "
            "(four quarters in all)",
        ),
    ] = None,
    to: Annotated[QueryDate | None, Query(description="last day; default: today")] = None,
    crm: CrmFilter = None,
    top: Annotated[int, Query(ge=1, le=50, description="features per quarter")] = 5,
    format: Format = None,
):
    one_snapshot(session)  # the quarters' sections, read by several statements, agree
    csv = wants_csv(request, format)
    for name, day in (("from", from_), ("to", to)):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidRequest.at(
                ("query", name),
                f"a date in the years {FIRST_YEAR} to {LAST_YEAR}",
                input=day.isoformat(),
            )
    settings = request.app.state.settings
    fiscal = {
        "fiscal_year_start": settings.fiscal_year_start_month,
        "timezone": settings.business_timezone,
    }
    # today where the sales team works
    end = to or utcnow().astimezone(ZoneInfo(settings.business_timezone)).date()
    if from_ is None:
        # The last four quarters: the one holding `end` (to date) and the three before it. It
        # went a year back from the start of the current quarter: five quarters.
        this = reports.Quarters(end, end, **fiscal).starts[0]
        months = this.year * 12 + this.month - 1 - 9
        start = this.replace(year=months // 12, month=months % 12 + 1)
    else:
        start = from_
    if to is None and start > end:
        # `to` was not given: "is after to 2026-12-07" named a value nobody wrote
        raise InvalidRequest.at(
            ("query", "from"),
            f"from {start.isoformat()} is after today ({end.isoformat()} in "
            f"{settings.business_timezone}), where the report ends without `to`; give `to` "
            "for quarters ahead (blocked pipeline by close date)",
            input=start.isoformat(),
        )
    _check_range(start, end, ("from", "to"))
    fy_start = fiscal["fiscal_year_start"]
    span = reports.quarter_index(end, fy_start) - reports.quarter_index(start, fy_start) + 1
    if span > MAX_QUARTERS:
        raise InvalidRequest.at(
            ("query", "from"),
            f"from {start.isoformat()} to {end.isoformat()} spans more than {MAX_QUARTERS} "
            "quarters",
            input=start.isoformat(),
        )
    report = reports.commitments_report(session, start=start, end=end, crm=crm, top=top, **fiscal)
    if csv:
        return respond(
            report,
            csv=True,
            columns=reports.REPORT_COLUMNS,
            rows=reports.report_rows(report),
            filename="commitments-report.csv",
        )
    return report
