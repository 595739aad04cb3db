"""The leadership report, per quarter: off-roadmap commitments signed (count, amount, who
approved), findings overridden by approvals, how long warnings take to resolve, and which
features hold the most blocked pipeline.

Quarters are calendar quarters in UTC. Counting and summing happen in SQL. Time to resolution
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

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from app.models import Approval, Commitment, Deal, Evaluation
from app.services.queries import money

# Promises on features that already exist are not "off-roadmap".
ON_ROADMAP = ("available", "beta")


def quarter_of(moment: date | datetime) -> str:
    return f"{moment.year:04d}-Q{(moment.month - 1) // 3 + 1}"


def quarter_bounds(label: str) -> tuple[date, date]:
    year_text, _, q_text = label.rpartition("-Q")
    year, q = int(year_text), int(q_text)
    start = date(year, 3 * (q - 1) + 1, 1)
    end = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return start, end


def _aware(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _quarters(start: date, end: date) -> list[str]:
    labels, cursor = [], date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    while cursor <= end:
        labels.append(quarter_of(cursor))
        cursor = quarter_bounds(labels[-1])[1]
    return labels


def commitments_report(
    session: Session,
    *,
    start: date,
    end: date,
    crm: str | None = None,
    top: int = 5,
) -> dict[str, Any]:
    """Everything between `start` and `end` (inclusive days), grouped by quarter."""
    lo, hi = _aware(start), _aware(end + timedelta(days=1))
    labels = _quarters(start, end)
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
    conds = [Commitment.signed_at >= lo, Commitment.signed_at < hi, off_roadmap]
    if crm:
        conds.append(Commitment.crm == crm)
    year = func.extract("year", Commitment.signed_at)
    month = func.extract("month", Commitment.signed_at)
    # One row per deal (and approver): a deal that promised three features counts three
    # commitments but adds its amount once, to the quarter and to each approver's line.
    rows = session.execute(
        select(
            year.label("y"),
            month.label("m"),
            Commitment.approver,
            Commitment.crm,
            Commitment.deal_id,
            func.count().label("n"),
            # In the company currency where the CRM converted the amount (see pipeline_amount).
            func.max(func.coalesce(Commitment.amount_home, Commitment.amount, 0)).label("amount"),
            func.max(
                case(
                    (Commitment.amount_home.is_not(None), Commitment.home_currency),
                    else_=Commitment.currency,
                )
            ).label("currency"),
        )
        .where(*conds)
        .group_by(year, month, Commitment.approver, Commitment.crm, Commitment.deal_id)
    ).all()
    per_approver: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    deal_amounts: dict[str, dict[tuple[str, str], Any]] = defaultdict(dict)
    currencies: dict[str, set[str | None]] = defaultdict(set)
    for y, m, approver, crm_name, deal_id, n, amount, currency in rows:
        q = quarter_of(date(int(y), int(m), 1))
        if q not in quarters:
            continue
        quarters[q]["commitments"]["count"] += n
        deal_amounts[q][(crm_name, deal_id)] = amount
        if amount:
            currencies[q].add(currency)
        entry = per_approver[q][approver or "(not approved: coming soon)"]
        entry[0] += n
        entry[1] = money(entry[1] + money(amount))
    for q, amounts in deal_amounts.items():
        block = quarters[q]["commitments"]
        block["deals"] = len(amounts)
        block["amount"] = money(sum(money(a) for a in amounts.values()))
        seen = currencies[q]
        block["currency"] = next(iter(seen)) if len(seen) == 1 else None
        block["mixed_currencies"] = len(seen) > 1
    for q, approvers in per_approver.items():
        quarters[q]["commitments"]["approvers"] = [
            {"approver": name, "count": n, "amount": amount}
            for name, (n, amount) in sorted(approvers.items(), key=lambda kv: (-kv[1][1], kv[0]))
        ]

    # 2. Findings overridden: approvals granted in the quarter and not revoked since (an expired
    # approval did override its finding while it ran; a revoked one is counted apart).
    aconds = [Approval.created_at >= lo, Approval.created_at < hi]
    if crm:
        aconds.append(Approval.crm == crm)
    ay = func.extract("year", Approval.created_at)
    am = func.extract("month", Approval.created_at)
    for y, m, n in session.execute(
        select(ay, am, func.count())
        .where(*aconds, Approval.revoked_at.is_not(None))
        .group_by(ay, am)
    ).all():
        q = quarter_of(date(int(y), int(m), 1))
        if q in quarters:
            quarters[q]["overridden_findings"]["revoked"] += n
    aconds.append(Approval.revoked_at.is_(None))
    for dimension, column in (
        ("by_approver", Approval.approver),
        ("by_feature", Approval.feature_key),
    ):
        grouped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for y, m, value, n in session.execute(
            select(ay, am, column, func.count()).where(*aconds).group_by(ay, am, column)
        ).all():
            q = quarter_of(date(int(y), int(m), 1))
            if q in quarters:
                grouped[q][value or "(any)"] += n
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
        q = quarter_of(resolved)
        if q in quarters:
            durations[q].append((resolved - started).total_seconds() / 3600)
    for q, hours in durations.items():
        quarters[q]["resolution"] = {
            "resolved": len(hours),
            "median_hours": round(statistics.median(hours), 2),
        }

    # 4. Blocked pipeline by feature, by the quarter the blocked deals are due to close.
    for q, features in _blocked_by_feature(session, start, end, crm).items():
        if q in quarters:
            ranked = sorted(features.items(), key=lambda kv: (-kv[1][1], kv[0]))[:top]
            quarters[q]["top_blocked_features"] = [
                {"feature_key": k, "deal_count": n, "amount": money(a)} for k, (n, a) in ranked
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
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _blocked_by_feature(
    session: Session, start: date, end: date, crm: str | None
) -> dict[str, dict[str, list]]:
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
        select(Deal.close_date, func.coalesce(Deal.amount_home, Deal.amount), Evaluation.findings)
        .join(Evaluation, Evaluation.id == Deal.last_evaluation_id)
        .where(*conds)
    ).all()
    out: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for close_date, amount, findings in rows:
        keys = {
            f.get("feature_key")
            for f in findings or []
            if f.get("severity") == "block" and not f.get("approved") and f.get("feature_key")
        }
        for key in keys:
            entry = out[quarter_of(close_date)][key]
            entry[0] += 1
            entry[1] += float(amount or 0)
    return out


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One CSV row per quarter × section × item, so a spreadsheet can pivot it."""
    rows: list[dict[str, Any]] = []
    for q in report["quarters"]:
        c = q["commitments"]
        rows.append({"quarter": q["quarter"], "section": "commitments", "item": "total",
                     "count": c["count"], "amount": c["amount"]})  # fmt: skip
        for a in c["approvers"]:
            rows.append({"quarter": q["quarter"], "section": "commitments_by_approver",
                         "item": a["approver"], "count": a["count"], "amount": a["amount"]})  # fmt: skip
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
                         "item": f["feature_key"], "count": f["deal_count"], "amount": f["amount"]})  # fmt: skip
    return rows


REPORT_COLUMNS = ["quarter", "section", "item", "count", "amount", "value"]
