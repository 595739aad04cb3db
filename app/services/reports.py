"""The leadership report, per quarter: off-roadmap commitments signed (count, amount, who
approved), findings overridden by approvals, how long warnings take to resolve, and which
features hold the most blocked pipeline.

Quarters are the company's fiscal quarters (FISCAL_YEAR_START_MONTH; labelled "2026-Q3" when
the fiscal year is the calendar year, "FY2027-Q1" otherwise, a fiscal year named by the year it
ends in, as notes' "FY27" is read), and days are days in BUSINESS_TIMEZONE: a commitment signed
at 6 pm in San Francisco on 31 March is in the quarter of 31 March (`Quarters`). Counting and
summing happen in SQL. Time to resolution
(docs/views.md defines it): an evaluation is "open" while it has a block or warning finding
that is not approved; an episode runs from the first open evaluation to the first evaluation
that is not, or to the deal's closing, whichever comes first. SQL marks each evaluation open or
not (a JSON test over its findings, per dialect) and keeps only the transitions (LAG, on SQLite
≥ 3.25 and PostgreSQL alike); Python pairs them per deal and takes the median.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from app.models import Approval, Commitment, Deal, Evaluation
from app.models.types import as_utc
from app.services.queries import (
    amounts_currency,
    commitment_deal_gone,
    exposure_csv_currency,
    money,
)

# Promises on features that already exist are not "off-roadmap".
ON_ROADMAP = ("available", "beta")
# The approvers' lines of promises no one approved (see ledger.on_evaluated).
NOT_APPROVED_COMING_SOON = "(not approved: coming soon)"
NOT_APPROVED_BLOCKED = "(not approved: signed while blocked)"
# How an overrides line with no value is named: an approval names its approver always, and a
# feature unless it approved an off-roadmap promise.
_OFF_ROADMAP = {"by_approver": "(unknown)", "by_feature": "(off-roadmap promise)"}


def quarter_index(day: date, fiscal_year_start: int = 1) -> int:
    """The fiscal quarter holding `day`, counted from the one starting in month
    `fiscal_year_start` of year 0: consecutive quarters have consecutive numbers."""
    return (day.year * 12 + day.month - fiscal_year_start) // 3


class Quarters:
    """The fiscal quarters that hold the local days `start`..`end`, their bounds as instants
    (local midnights, in UTC), and which quarter a day, an instant, or (in SQL) a timestamp
    column falls in. Bounds are compared, never converted in SQL: no time zone functions, the
    same on SQLite and PostgreSQL."""

    def __init__(
        self, start: date, end: date, *, fiscal_year_start: int = 1, timezone: str = "UTC"
    ) -> None:
        self.fy_start = fiscal_year_start
        self.zone = ZoneInfo(timezone)
        self.first_index = self._index(start)
        indexes = range(self.first_index, self._index(end) + 1)
        self.labels = [self._label(i) for i in indexes]
        self.starts = [self._first_day(i) for i in indexes]
        # instants: the start of each quarter and the end of the last
        after = self._first_day(indexes.stop)
        self.bounds = [self.instant(day) for day in [*self.starts, after]]
        self.last_day = after - timedelta(days=1)  # of the last quarter, whatever `end` is

    def _index(self, day: date) -> int:
        return quarter_index(day, self.fy_start)

    def _first_day(self, index: int) -> date:
        months = index * 3 + self.fy_start - 1
        return date(months // 12, months % 12 + 1, 1)

    def _label(self, index: int) -> str:
        first = self._first_day(index)
        if self.fy_start == 1:
            return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
        months_in = (first.month - self.fy_start) % 12
        fiscal_year = first.year + (first.month >= self.fy_start)
        return f"FY{fiscal_year:04d}-Q{months_in // 3 + 1}"

    def instant(self, day: date) -> datetime:
        """The local midnight starting `day`, in UTC."""
        return datetime.combine(day, time.min, tzinfo=self.zone).astimezone(UTC)

    def of_day(self, day: date) -> str | None:
        offset = self._index(day) - self.first_index
        return self.labels[offset] if 0 <= offset < len(self.labels) else None

    def of_instant(self, moment: datetime) -> str | None:
        return self.of_day(_utc(moment).astimezone(self.zone).date())

    def sql_index(self, column: Any) -> ColumnElement[int]:
        """SQL: the position in `labels` of the quarter holding the timestamp `column` (-1
        outside them). Aware bounds, as every timestamp filter here compares."""
        whens = [(column < bound, i - 1) for i, bound in enumerate(self.bounds[1:], start=1)]
        return case(*whens, else_=-1) if whens else literal(-1)


def commitments_report(
    session: Session,
    *,
    start: date,
    end: date,
    crm: str | None = None,
    top: int = 5,
    fiscal_year_start: int = 1,
    timezone: str = "UTC",
) -> dict[str, Any]:
    """Everything between `start` and `end` (inclusive local days), grouped by fiscal quarter
    (`Quarters`)."""
    periods = Quarters(start, end, fiscal_year_start=fiscal_year_start, timezone=timezone)
    lo, hi = periods.instant(start), periods.instant(end + timedelta(days=1))
    labels = periods.labels
    quarters: dict[str, dict[str, Any]] = {
        q: {
            "quarter": q,
            "commitments": {
                "count": 0,
                "deals": 0,
                "amount": 0.0,
                "currency": None,
                "mixed_currencies": False,
                "approvers": [],
            },
            "overridden_findings": {
                "count": 0,
                "by_approver": [],
                "by_feature": [],
                "revoked": 0,
            },
            "resolution": {"resolved": 0, "median_hours": None},
            "top_blocked_features": [],
        }
        for q in labels
    }

    # 1. Off-roadmap commitments signed, per quarter and approver.
    off_roadmap = or_(
        Commitment.approval_id.is_not(None),
        Commitment.availability_at_signing.is_(None),
        Commitment.availability_at_signing.not_in(ON_ROADMAP),
    )
    conds = [
        Commitment.signed_at >= lo,
        Commitment.signed_at < hi,
        off_roadmap,
        Commitment.withdrawn_at.is_(None),  # the deal left won since: not signed business
        ~commitment_deal_gone(),  # deleted or merged away in the CRM: not signed business
    ]
    if crm:
        conds.append(Commitment.crm == crm)
    # The quarter in a subquery, grouped on by name: PostgreSQL does not see two renderings
    # of one expression with bound parameters as the same in SELECT and GROUP BY.
    signed = (
        select(
            periods.sql_index(Commitment.signed_at).label("q"),
            # Who approved, or why no one did: a coming-soon promise needs no approval; one
            # with a rule is a block no one approved, signed all the same.
            func.coalesce(
                Commitment.approver,
                case(
                    (Commitment.rule_id.is_not(None), literal(NOT_APPROVED_BLOCKED)),
                    else_=literal(NOT_APPROVED_COMING_SOON),
                ),
            ).label("approver"),
            Commitment.crm,
            Commitment.deal_id,
            # In the company currency where the CRM converted the amount (see pipeline_amount).
            func.coalesce(Commitment.amount_home, Commitment.amount, 0).label("amount"),
            case(
                (Commitment.amount_home.is_not(None), Commitment.home_currency),
                else_=Commitment.currency,
            ).label("currency"),
        )
        .where(*conds)
        .subquery("signed")
    )
    # One row per deal (and approver): a deal that promised three features counts three
    # commitments but adds its amount once, to the quarter and to each approver's line.
    rows = session.execute(
        select(
            signed.c.q,
            signed.c.approver,
            signed.c.crm,
            signed.c.deal_id,
            func.count().label("n"),
            func.max(signed.c.amount).label("amount"),
            func.max(signed.c.currency).label("currency"),
        ).group_by(signed.c.q, signed.c.approver, signed.c.crm, signed.c.deal_id)
    ).all()
    # quarter -> approver -> [promises, amount, the currency of each amount added]
    per_approver: dict[str, dict[str, list]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0.0, set()])
    )
    deal_amounts: dict[str, dict[tuple[str, str], Any]] = defaultdict(dict)
    currencies: dict[str, set[str | None]] = defaultdict(set)
    for index, approver, crm_name, deal_id, n, amount, currency in rows:
        if not 0 <= index < len(labels):
            continue
        q = labels[index]
        quarters[q]["commitments"]["count"] += n
        deal_amounts[q][(crm_name, deal_id)] = amount
        if amount:
            currencies[q].add(currency)
        entry = per_approver[q][approver]
        entry[0] += n
        entry[1] = money(entry[1] + money(amount))
        if amount:
            entry[2].add(currency)
    for q, amounts in deal_amounts.items():
        block = quarters[q]["commitments"]
        block["deals"] = len(amounts)
        block["amount"] = money(sum(money(a) for a in amounts.values()))
        # As exposure labels a sum: an amount of no known currency beside a USD one makes the
        # total's currency not known, not `mixed` (which says several known currencies).
        block.update(amounts_currency(currencies[q]))
    for q, approvers in per_approver.items():
        # Each line labelled as the quarter's total is: one approver's GBP deal the CRM did
        # not convert beside a USD one is a sum of no one currency.
        quarters[q]["commitments"]["approvers"] = [
            {"approver": name, "count": n, "amount": amount, **amounts_currency(codes)}
            for name, (n, amount, codes) in sorted(
                approvers.items(), key=lambda kv: (-kv[1][1], kv[0])
            )
        ]

    # 2. Findings overridden: approvals granted in the quarter and not revoked since (an expired
    # approval did override its finding while it ran; a revoked one is counted apart).
    aconds = [Approval.created_at >= lo, Approval.created_at < hi]
    if crm:
        aconds.append(Approval.crm == crm)
    granted = (
        select(
            periods.sql_index(Approval.created_at).label("q"),
            Approval.approver,
            Approval.feature_key,
            Approval.revoked_at.is_not(None).label("revoked"),
        )
        .where(*aconds)
        .subquery("granted")
    )
    for index, n in session.execute(
        select(granted.c.q, func.count()).where(granted.c.revoked).group_by(granted.c.q)
    ).all():
        if 0 <= index < len(labels):
            quarters[labels[index]]["overridden_findings"]["revoked"] += n
    for dimension, column in (
        ("by_approver", granted.c.approver),
        ("by_feature", granted.c.feature_key),
    ):
        grouped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for index, value, n in session.execute(
            select(granted.c.q, column, func.count())
            .where(~granted.c.revoked)
            .group_by(granted.c.q, column)
        ).all():
            if 0 <= index < len(labels):
                # An approval without a feature covers an off-roadmap promise (its rule's
                # sentences), never "any" feature, which "(any)" said.
                grouped[labels[index]][value or _OFF_ROADMAP[dimension]] += n
        for q, counts in grouped.items():
            quarters[q]["overridden_findings"][dimension] = [
                {dimension.removeprefix("by_"): k, "count": v}
                for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ]
            if dimension == "by_approver":
                quarters[q]["overridden_findings"]["count"] = sum(counts.values())

    # 3. Time from first warning to resolution, by the quarter it was resolved in.
    durations: dict[str, list[float]] = defaultdict(list)
    for started, resolved in _resolved_episodes(session, lo, hi, crm):
        q = periods.of_instant(resolved)
        if q is not None:
            durations[q].append((resolved - started).total_seconds() / 3600)
    for q, hours in durations.items():
        quarters[q]["resolution"] = {
            "resolved": len(hours),
            "median_hours": round(statistics.median(hours), 2),
        }

    # 4. Blocked pipeline by feature, by the quarter the blocked deals are due to close: whole
    # quarters, from the first one's first day to the last one's last, not `start` to `end`.
    # It is open pipeline, not history: `to` (default today) left out every blocked deal due
    # later in the current quarter, the ones the quarter's number still depends on, and a
    # `from` inside a quarter the deals of its earlier days, still open and overdue.
    blocked = _blocked_by_feature(session, periods.starts[0], periods.last_day, crm, periods)
    for q, features in blocked.items():
        if q is not None:
            ranked = sorted(features.items(), key=lambda kv: (-kv[1][1], kv[0]))[:top]
            # Each feature's label as exposure gives it: GBP deals the CRM did not convert
            # added to USD ones make a sum of no one currency, said by `mixed_currencies`.
            quarters[q]["top_blocked_features"] = [
                {
                    "feature_key": k,
                    "deal_count": n,
                    "amount": money(a),
                    **amounts_currency(codes),
                }
                for k, (n, a, codes) in ranked
            ]

    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "crm": crm,
        "quarters": [quarters[q] for q in labels],
    }


def _open_finding(session: Session) -> ColumnElement[bool]:
    """SQL: the evaluation has a block or warning finding that is not approved."""
    if session.get_bind().dialect.name == "postgresql":
        elems = func.json_array_elements(Evaluation.findings).table_valued("value").alias("f")
        severity = elems.c.value.op("->>")("severity")
        unapproved = func.coalesce(elems.c.value.op("->>")("approved"), "false") != "true"
    else:
        elems = func.json_each(Evaluation.findings).table_valued("value").alias("f")
        severity = func.json_extract(elems.c.value, "$.severity")
        unapproved = func.coalesce(func.json_extract(elems.c.value, "$.approved"), 0) == 0
    return exists(
        select(literal(1)).select_from(elems).where(severity.in_(("block", "warning")), unapproved)
    )


def _resolved_episodes(
    session: Session, lo: datetime, hi: datetime, crm: str | None
) -> list[tuple[datetime, datetime]]:
    """(first open evaluation, its resolution) per episode resolved in [lo, hi).

    Resolution: the first later evaluation that is not open, or the deal's closing if sooner.
    """
    # A clear verdict has no block or warning finding: only the others need the JSON test.
    is_open = case((Evaluation.verdict == "clear", 0), (_open_finding(session), 1), else_=0)
    order = (Evaluation.created_at, Evaluation.id)
    window = {"partition_by": (Evaluation.crm, Evaluation.deal_id), "order_by": order}
    marked = select(
        Evaluation.crm,
        Evaluation.deal_id,
        Evaluation.id,
        Evaluation.created_at,
        is_open.label("open"),
        func.lag(is_open).over(**window).label("prev_open"),
    )
    if crm:
        marked = marked.where(Evaluation.crm == crm)
    marked = marked.where(Evaluation.created_at < hi).subquery("marked")
    # Transitions only: the evaluation that opens an episode, or the one that ends it.
    transitions = session.execute(
        select(marked.c.crm, marked.c.deal_id, marked.c.open, marked.c.created_at)
        .where(
            or_(
                and_(
                    marked.c.open == 1,
                    or_(marked.c.prev_open.is_(None), marked.c.prev_open == 0),
                ),
                and_(marked.c.open == 0, marked.c.prev_open == 1),
            )
        )
        .order_by(marked.c.crm, marked.c.deal_id, marked.c.created_at, marked.c.id)
    ).all()
    closed_at = _closed_at(session, crm)
    episodes: list[tuple[datetime, datetime]] = []
    for deal, rows in groupby(transitions, key=lambda r: (r.crm, r.deal_id)):
        closing = closed_at.get(deal)
        started: datetime | None = None
        for row in rows:
            at = _utc(row.created_at)
            if closing is not None and at >= closing:
                break  # the deal closed first: whatever was open ends with it
            if row.open:
                started = at
            elif started is not None:
                episodes.append((started, at))
                started = None
        if started is not None and closing is not None:
            episodes.append((started, closing))
    return [(a, b) for a, b in episodes if lo <= b < hi]


def _closed_at(session: Session, crm: str | None) -> dict[tuple[str, str], datetime]:
    """When each closed deal was first evaluated closed: the first evaluation of the snapshot
    its latest evaluation read (same `snapshot_hash`). A deal edited after closing counts from
    the first evaluation after that edit: later, never earlier, than the closing."""
    latest = aliased(Evaluation)
    conds = [Deal.is_closed.is_(True), Evaluation.snapshot_hash == latest.snapshot_hash]
    if crm:
        conds.append(Deal.crm == crm)
    rows = session.execute(
        select(Evaluation.crm, Evaluation.deal_id, func.min(Evaluation.created_at))
        .join(Deal, and_(Deal.crm == Evaluation.crm, Deal.deal_id == Evaluation.deal_id))
        .join(latest, latest.id == Deal.last_evaluation_id)
        .where(*conds)
        .group_by(Evaluation.crm, Evaluation.deal_id)
    ).all()
    return {(c, d): _utc(at) for c, d, at in rows}


def _utc(value: datetime | str) -> datetime:
    # Window results over a subquery lose the column type on SQLite: parse what comes back.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


def _blocked_by_feature(
    session: Session, start: date, end: date, crm: str | None, periods: Quarters
) -> dict[str | None, dict[str, list]]:
    """Attribute each blocked open deal's amount to the features of its unapproved blocking
    findings (from its latest evaluation), by close-date quarter. Only blocked deals are read."""
    conds = [
        Deal.verdict == "blocked",
        Deal.is_closed.is_(False),
        Deal.tracked.is_(True),
        Deal.close_date >= start,
        Deal.close_date <= end,
    ]
    if crm:
        conds.append(Deal.crm == crm)
    rows = session.execute(
        # In the CRM's company currency when it converted the amount (see pipeline_amount).
        # Its currency: the company currency where converted, else the deal's own.
        select(
            Deal.close_date,
            func.coalesce(Deal.amount_home, Deal.amount),
            case((Deal.amount_home.is_not(None), Deal.home_currency), else_=Deal.currency),
            Evaluation.findings,
        )
        .join(Evaluation, Evaluation.id == Deal.last_evaluation_id)
        .where(*conds)
    ).all()
    # feature -> [deals, amount, the currency of each amount added]
    out: dict[str | None, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0, []]))
    for close_date, amount, currency, findings in rows:
        keys = {
            f.get("feature_key")
            for f in findings or []
            if f.get("severity") == "block" and not f.get("approved") and f.get("feature_key")
        }
        for key in keys:
            entry = out[periods.of_day(close_date)][key]
            entry[0] += 1
            entry[1] += float(amount or 0)
            if amount is not None:
                entry[2].append(currency)
    return out


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per quarter × section × item, so a spreadsheet can pivot it."""
    rows: list[dict[str, Any]] = []
    for q in report["quarters"]:
        c = q["commitments"]
        rows.append({"quarter": q["quarter"], "section": "commitments", "item": "total",
                     "count": c["count"], "amount": c["amount"],
                     "currency": exposure_csv_currency(c)})  # fmt: skip
        # The deals that made the promises (the JSON's `deals`): the total's count is promises,
        # and a CSV reader could not tell three promises of one deal from three deals.
        rows.append({"quarter": q["quarter"], "section": "commitments", "item": "deals",
                     "count": c["deals"]})  # fmt: skip
        for a in c["approvers"]:
            rows.append({"quarter": q["quarter"], "section": "commitments_by_approver",
                         "item": a["approver"], "count": a["count"], "amount": a["amount"],
                         "currency": exposure_csv_currency(a)})  # fmt: skip
        o = q["overridden_findings"]
        rows.append({"quarter": q["quarter"], "section": "overridden_findings", "item": "total",
                     "count": o["count"]})  # fmt: skip
        rows.append({"quarter": q["quarter"], "section": "overridden_findings", "item": "revoked",
                     "count": o["revoked"]})  # fmt: skip
        for a in o["by_approver"]:
            rows.append({"quarter": q["quarter"], "section": "overridden_by_approver",
                         "item": a["approver"], "count": a["count"]})  # fmt: skip
        for f in o["by_feature"]:
            rows.append({"quarter": q["quarter"], "section": "overridden_by_feature",
                         "item": f["feature"], "count": f["count"]})  # fmt: skip
        r = q["resolution"]
        rows.append({"quarter": q["quarter"], "section": "warning_resolution", "item": "median_hours",
                     "count": r["resolved"], "value": r["median_hours"]})  # fmt: skip
        for f in q["top_blocked_features"]:
            rows.append({"quarter": q["quarter"], "section": "top_blocked_features",
                         "item": f["feature_key"], "count": f["deal_count"], "amount": f["amount"],
                         "currency": exposure_csv_currency(f)})  # fmt: skip
    return rows


# `currency`: a row's amount's currency, `mixed` or empty, as the exposure CSVs say it.
REPORT_COLUMNS = ["quarter", "section", "item", "count", "amount", "value", "currency"]
