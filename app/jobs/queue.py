"""The deal queue: one row per (crm, deal), coalescing any number of events into one run.

States: pending → running (leased) → done | pending (retry) | dead. A held retry (the CRM
refused our credentials, `Outcome.hold`) gives its attempt back, so it never reaches dead.
An enqueue while running sets `rerun`, so the deal runs again after the current run ends: the
run in flight may have read the deal before the change that caused the event.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import (
    JSON,
    SmallInteger,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from app import metrics
from app.connectors.base import MAX_RETRY_AFTER
from app.connectors.registry import canonical_deal_id
from app.jobs.types import Outcome, QueueItem
from app.models import DealQueue, UTCDateTime, utcnow

log = structlog.get_logger("app.queue")

# Queue reasons the pipeline evaluates from the stored snapshot, without reading the CRM
# (app.services.pipeline.STORED_SNAPSHOT_REASONS is this set): a reason that needs a read never
# gives way to one of these when rows coalesce.
SNAPSHOT_ONLY_REASONS = ("roadmap", "approval", "ledger", "reread")

# Reasons that sweep many deals at once and that nobody is watching deal by deal: a roadmap or
# rule change's re-checks (up to every open deal), a backfill, the scheduled rereads, the
# ledger's follow-ups. Their rows have priority 1, every other reason's (a CRM change: webhook,
# reconcile; a product owner's approval) priority 0, and a claim takes due priority-0 rows
# before priority-1 rows. Without it a rep's edit queued behind a 50,000-deal rule change
# waited for all of them (about a minute on PostgreSQL, benchmarks/reevaluate.py).
SWEEP_REASONS = ("roadmap", "backfill", "reread", "ledger")
PRIORITIES = (0, 1)
# A tenth of each claim (of 10 rows or more) is kept for due sweep rows while priority-0 rows
# fill the rest: a flood of webhooks (a bulk edit in the CRM) slows a roadmap change's
# re-checks, which carry new blocks, but cannot stop them.
SWEEP_SHARE = 0.1


def priority_of(reason: str) -> int:
    return 1 if reason in SWEEP_REASONS else 0


def _deal_ids_source(dialect: str):
    """The batch's deal ids as a one-column table from ONE bound parameter, a JSON array (as
    the inbox insert takes its events): json_each on SQLite, json_array_elements_text on
    PostgreSQL. One parameter set instead of one per row: SQLAlchemy's per-row bind processing
    was most of the ingest path's CPU."""
    ids = bindparam("deal_ids", type_=String)
    if dialect == "postgresql":
        return func.json_array_elements_text(cast(ids, JSON)).table_valued("value").render_derived()
    return func.json_each(ids).table_valued("value")


def _upsert_statement(dialect: str):
    """The coalescing upsert, built once per dialect and executed with one parameter set
    (`crm`, `reason`, `priority`, `due_at`, `now`, `deal_ids`): its compiled form is cached."""
    stmt = _UPSERTS.get(dialect)
    if stmt is not None:
        return stmt
    table = DealQueue.__table__
    source = _deal_ids_source(dialect)
    now = bindparam("now", type_=UTCDateTime())
    rows = select(
        bindparam("crm", type_=String),
        source.c.value,
        literal("pending"),
        bindparam("reason", type_=String),
        bindparam("priority", type_=SmallInteger),
        bindparam("due_at", type_=UTCDateTime()),
        literal(0),
        literal(False),
        now,
        now,
    ).where(true())  # SQLite: INSERT ... SELECT needs a WHERE before ON CONFLICT (parser)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).from_select(
        [
            "crm",
            "deal_id",
            "status",
            "reason",
            "priority",
            "due_at",
            "attempts",
            "rerun",
            "queued_at",
            "updated_at",
        ],
        rows,
    )
    running = table.c.status == "running"
    idle = or_(table.c.status == "done", table.c.status == "dead")
    snapshot_only = or_(*(insert.excluded.reason == r for r in SNAPSHOT_ONLY_REASONS))
    stmt = insert.on_conflict_do_update(
        index_elements=["crm", "deal_id"],
        set_={
            "status": case((running, literal("running")), else_=literal("pending")),
            "rerun": case((running, literal(True)), else_=table.c.rerun),
            # A retry keeps its due time (its backoff is not bypassed by chatter); a row not
            # tried yet takes the earlier of the two (a webhook for a deal a paced backfill or
            # reread queued for later is served now); a finished or dead one is due now.
            "due_at": case(
                (idle, insert.excluded.due_at),
                (
                    and_(table.c.attempts == 0, insert.excluded.due_at < table.c.due_at),
                    insert.excluded.due_at,
                ),
                else_=table.c.due_at,
            ),
            "attempts": case((idle, literal(0)), else_=table.c.attempts),
            # When the row last became wanted, for roadmap_guard_processing_seconds: now when
            # a finished or dead row is queued again, or when a waiting row becomes more
            # urgent (a rep's webhook for a deal a paced backfill queued 40 minutes ago is
            # waited for from the webhook, not the backfill). A running row keeps it: its rerun
            # starts a new cycle when it is recorded.
            "queued_at": case(
                (idle, insert.excluded.queued_at),
                (
                    and_(not_(running), insert.excluded.priority < table.c.priority),
                    insert.excluded.queued_at,
                ),
                else_=table.c.queued_at,
            ),
            # A reason that needs a CRM read (webhook, reconcile...) wins over one that
            # re-evaluates the stored snapshot, or the change behind the event is never read.
            # A dead row is no exception: its read (or its evaluation) failed, so a sweep
            # reviving it must not turn it into a snapshot-only run whose `done` would hide
            # the unread change. Only a done row (its read succeeded) takes the new reason.
            "reason": case(
                (table.c.status == "done", insert.excluded.reason),
                (
                    and_(table.c.status == "dead", table.c.reason.in_(SNAPSHOT_ONLY_REASONS)),
                    insert.excluded.reason,
                ),
                (snapshot_only, table.c.reason),
                else_=insert.excluded.reason,
            ),
            # The more urgent of the two: a webhook for a deal a roadmap change queued is a
            # rep's edit, served before the sweep's rows (SWEEP_REASONS).
            "priority": case(
                (idle, insert.excluded.priority),
                (insert.excluded.priority < table.c.priority, insert.excluded.priority),
                else_=table.c.priority,
            ),
            "updated_at": func.coalesce(insert.excluded.updated_at, table.c.updated_at),
        },
    )
    _UPSERTS[dialect] = stmt
    return stmt


_UPSERTS: dict[str, object] = {}


def queue_ids(crm: str, deal_ids: Iterable[str | None]) -> list[str]:
    """The queue's deal ids for `deal_ids`: one form of each id (Salesforce's 18), distinct,
    sorted (the lock order: see "Lock order" above the worker side)."""
    return sorted({canonical_deal_id(crm, d) for d in deal_ids if d})


def enqueue_deals(
    session: Session,
    crm: str,
    deal_ids: Iterable[str],
    *,
    reason: str = "webhook",
    due_at: datetime | None = None,
) -> int:
    """Upsert one queue row per deal in the caller's transaction. Returns how many deals.

    The rows are locked in `queue_ids` order. A transaction that enqueues for several CRMs
    must do it in sorted CRM order, one call per CRM (app.jobs.ingest does), or it may
    deadlock with a worker recording outcomes (see "Lock order" below)."""
    ids = queue_ids(crm, deal_ids)
    if not ids:
        return 0
    now = utcnow()
    params = {
        "crm": crm,
        "reason": reason,
        "priority": priority_of(reason),
        "due_at": due_at or now,
        "now": now,
        "deal_ids": json.dumps(ids),
    }
    session.execute(_upsert_statement(session.get_bind().dialect.name), params)
    return len(ids)


# --- worker side: claim, record, release ------------------------------------------------------
#
# Every state change below is a conditional UPDATE that re-checks what the row must still be
# (claimable; or running under this owner and this attempt). That guard is what makes the queue
# correct on both databases: on PostgreSQL it complements FOR UPDATE SKIP LOCKED, on SQLite the
# BEGIN IMMEDIATE of app/db.py serializes writers and the guard is the same code.
#
# Lock order (PostgreSQL). A transaction that writes several queue rows and waits for their
# locks takes them in (crm, deal_id) order, code point order (Python's sort, COLLATE "C"):
# enqueue_deals (its ids sorted, one call per CRM in CRM order), record_outcomes and
# replay_dead (SELECT ... ORDER BY crm, deal_id FOR UPDATE first), extend_leases and release
# (row by row in that order). Two writers taking the same rows in different orders deadlock:
# the ingest writer's group commit (delivery 1's D2, then delivery 2's D1) against a worker
# recording D1 and D2 in id order had PostgreSQL abort one of them, and an aborted recording
# left its deals running until their leases expired, then ran them again. claim_batch never
# waits for a lock (FOR UPDATE SKIP LOCKED; its UPDATE touches only rows it locked).


def _lock_order(table) -> tuple:
    return (table.c.crm.collate("C"), table.c.deal_id.collate("C"))


def _lock_rows(conn: Connection, ids: Sequence[int], *condition) -> list[int]:
    """PostgreSQL: lock the rows of `ids` (or, with no ids, those matching `condition`) in
    the queue's lock order before writing them. Returns the locked ids; on SQLite (one writer
    at a time) it only reads them."""
    table = DealQueue.__table__
    if not ids and not condition:
        return []
    where = [*condition]
    if ids:
        where.append(table.c.id.in_(ids))
    pick = select(table.c.id).where(*where)
    if conn.dialect.name == "postgresql":
        pick = pick.order_by(*_lock_order(table)).with_for_update()
    return [row.id for row in conn.execute(pick)]


def transaction_collision(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL 40P01, 40001): the transaction was
    rolled back because of concurrent work, and running it again may succeed."""
    from app.errors import database_collision

    return database_collision(exc)


# No lease runs further ahead than this (LEASE_SECONDS is at most 3,600; a minute for clocks
# that differ a little): one that does was written by a clock ahead of ours (a VM resumed with
# a wrong clock, set right since) and is taken as expired. Its worker, if alive, renews it with
# its own clock; if it died, its deals waited for as long as that clock had been ahead.
LEASE_FROM_A_CLOCK_AHEAD = timedelta(seconds=3600 + 60)


def lease_lapsed(expires_at, now: datetime):
    """A lease that has run out, or that a clock ahead of ours wrote (LEASE_FROM_A_CLOCK_AHEAD)."""
    return or_(expires_at < now, expires_at > now + LEASE_FROM_A_CLOCK_AHEAD)


def _claimable_parts(now: datetime) -> tuple:
    """What may be claimed: due pending rows of each priority, and running rows whose lease
    expired. Each pending part fixes `status` and `priority`, so its rows are one range of
    `ix_deal_queue_claim` read in `due_at` order and the read stops at the limit: ordering
    by priority across one `status = 'pending'` range instead would walk every not-yet-due
    row of a paced backfill before finding none due."""
    table = DealQueue.__table__
    return (
        *(
            and_(table.c.status == "pending", table.c.priority == p, table.c.due_at <= now)
            for p in PRIORITIES
        ),
        and_(table.c.status == "running", lease_lapsed(table.c.lease_expires_at, now)),
    )


def _claimable(now: datetime):
    return or_(*_claimable_parts(now))


# `status = 'pending'` written out, not bound: the planners use the partial index
# ix_deal_queue_pending_crm (WHERE status = 'pending') only for a query whose condition says so
# in its text (SQLite; PostgreSQL's generic plans).
_PENDING = DealQueue.__table__.c.status == literal_column("'pending'")


# The CRMs that have pending rows, in one statement: one index seek each on
# ix_deal_queue_pending_crm (the next CRM after the last found), never a scan of the backlog (a
# SELECT DISTINCT read every pending row). Plain SQL: SQLite and PostgreSQL both run it; SQLite
# is told the index (without statistics its planner took ix_deal_queue_claim, read every pending
# row and sorted them).
_PENDING_CRMS_SQL = """
WITH RECURSIVE crms(crm) AS (
    SELECT (SELECT crm FROM deal_queue {hint} WHERE status = 'pending' ORDER BY crm LIMIT 1)
    UNION ALL
    SELECT (
        SELECT q.crm FROM deal_queue AS q {hint}
        WHERE q.status = 'pending' AND q.crm > crms.crm ORDER BY q.crm LIMIT 1
    )
    FROM crms WHERE crms.crm IS NOT NULL
)
SELECT crm FROM crms WHERE crm IS NOT NULL
"""
_PENDING_CRMS = {
    "sqlite": text(_PENDING_CRMS_SQL.format(hint="INDEXED BY ix_deal_queue_pending_crm")),
    "postgresql": text(_PENDING_CRMS_SQL.format(hint="")),
}


def _pending_crms(conn: Connection) -> list[str]:
    return list(conn.execute(_PENDING_CRMS[conn.dialect.name]).scalars())


def _pending_due(crm: str, priority: int, now: datetime):
    """One CRM's due pending rows of one priority: one range of ix_deal_queue_pending_crm."""
    table = DealQueue.__table__
    return and_(_PENDING, table.c.crm == crm, table.c.priority == priority, table.c.due_at <= now)


def _shared_by_crm(rows: list[tuple[int, datetime, int, str]]) -> list[tuple]:
    """Rows (priority, due_at, id, crm) of one priority in claim order: each CRM's oldest
    first, the CRMs taking turns (the 1st of each CRM by due time, then the 2nd of each...).
    A CRM with fewer due rows leaves its turns to the others, so a claim is shared equally
    among the CRMs that have due rows and is never smaller for it: 1,000 due HubSpot rows and
    10 Salesforce rows make a claim of 50 with the 10 Salesforce rows and 40 HubSpot ones."""
    turns: Counter[str] = Counter()
    ranked = []
    for row in sorted(rows, key=lambda r: (r[1], r[2])):
        ranked.append((turns[row[3]], row))
        turns[row[3]] += 1
    return [row for _turn, row in sorted(ranked, key=lambda t: (t[0], t[1][1], t[1][2]))]


def claim_batch(
    engine: Engine,
    *,
    owner: str,
    limit: int,
    lease_seconds: float,
    now: datetime | None = None,
    max_attempts: int | None = None,
) -> list[QueueItem]:
    """Lease up to `limit` due deals to `owner`, priority 0 first (SWEEP_REASONS) but for
    `SWEEP_SHARE` of the claim; within a priority the CRMs with due rows share the claim
    (`_shared_by_crm`), each CRM's oldest `due_at` first. Expired leases (a crashed worker)
    are due; one whose row already used `max_attempts` goes `dead` instead of being claimed:
    each of its attempts ended with the worker gone and no outcome (a deal whose processing
    kills the worker, OOM or segfault, would otherwise be claimed forever)."""
    now = now or utcnow()
    table = DealQueue.__table__
    parts = _claimable_parts(now)
    with engine.begin() as conn:
        # One pick per CRM with pending rows and per priority, each read in order from
        # `ix_deal_queue_pending_crm` (crm, priority, due_at, id; pending rows only) and
        # stopped after `limit` rows, and one for expired leases. One query with the
        # conditions OR-ed gathered and sorted every due row on each claim (70 ms per claim
        # with 20,000 deals queued by one roadmap change); one pick per priority across the
        # CRMs took the oldest first, so 50,000 deals of a HubSpot import (or held by its
        # rate limit) came before a Salesforce deal queued a minute later (see _shared_by_crm).
        found: list[tuple[int, datetime, int, str]] = []  # (priority, due_at, id, crm)
        abandoned: dict[int, list[int]] = {}  # attempts -> ids of expired rows out of attempts
        suspects: list[tuple[int, datetime, int, str]] = []  # expired again, after a try
        buried: list[tuple[str, str]] = []  # (crm, outcome) of the rows buried here
        picks = [
            (False, _pending_due(crm, priority, now))
            for crm in _pending_crms(conn)
            for priority in PRIORITIES
        ]
        picks.append((True, parts[-1]))
        for expired, condition in picks:
            pick = (
                select(table.c.priority, table.c.due_at, table.c.id, table.c.crm, table.c.attempts)
                .where(condition)
                .order_by(
                    *(
                        (table.c.status, table.c.priority)
                        if expired
                        else (table.c.crm, table.c.priority)
                    ),
                    table.c.due_at,
                    table.c.id,
                )
                .limit(limit)
            )
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            for priority, due_at, id_, crm, attempts in conn.execute(pick):
                if expired and max_attempts is not None and attempts >= max_attempts:
                    abandoned.setdefault(attempts, []).append(id_)
                else:
                    found.append((priority, due_at, id_, crm))
                    if expired and attempts >= 2:
                        suspects.append((priority, due_at, id_, crm))
        for attempts, dead_ids in abandoned.items():
            buried += _bury_abandoned(conn, dead_ids, attempts=attempts, now=now)
        if suspects:
            # Back from an expired lease again: its worker may have died of this very deal.
            # Alone, a deal that kills its worker takes no batchmate with it to `dead`.
            found = [min(suspects)]
        urgent = _shared_by_crm([row for row in found if row[0] == 0])
        sweep = _shared_by_crm([row for row in found if row[0] != 0])
        taken = urgent[: limit - min(len(sweep), int(limit * SWEEP_SHARE))]
        ids = [row[2] for row in [*taken, *sweep[: limit - len(taken)]]]
        rows = []
        if ids:
            rows = conn.execute(
                update(table)
                .where(table.c.id.in_(ids), _claimable(now))
                .values(
                    status="running",
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    started_at=now,
                    attempts=table.c.attempts + 1,
                    rerun=False,
                    updated_at=now,
                )
                .returning(
                    table.c.id,
                    table.c.crm,
                    table.c.deal_id,
                    table.c.attempts,
                    table.c.reason,
                    table.c.priority,
                )
            ).all()
    # Burials are deals that died (or died and were wanted again: dead_rerun): counted with
    # the workers' recorded outcomes, as those a worker records are, once the claim that made
    # them is committed (an alert on
    # outcomes_total{outcome="dead"} missed every deal that kept killing its worker).
    for crm, outcome in buried:
        metrics.OUTCOMES.labels(crm=crm, outcome=outcome).inc()
    items = [
        QueueItem(
            id=r.id,
            crm=r.crm,
            deal_id=r.deal_id,
            attempts=r.attempts,
            reason=r.reason,
            priority=r.priority,
        )
        for r in rows
    ]
    items.sort(key=lambda i: i.id)
    return items


def _bury_abandoned(
    conn: Connection, ids: list[int], *, attempts: int, now: datetime
) -> list[tuple[str, str]]:
    """Expired leases whose rows used every attempt: `dead`, never claimed again by itself.
    Returns (crm, outcome) per row: "dead", or "dead_rerun" for a row an event reached while
    it ran (a rep's edit, a roadmap change): that one is pending again, due now, with a fresh
    attempt budget, as `record_outcomes` does for a dead outcome with a rerun. The edit was
    dropped before: the deal lay dead, its block never re-checked, until an operator replayed
    it; an edit arriving a second later (after the burial) revived it.

    Only the last attempt is known to have ended without an outcome: the earlier ones may have
    failed and been recorded (a CRM timing out), and what the last of those said is kept after
    this one, else an operator read "stopped ... N times" and went looking for a deal that
    kills its worker."""
    table = DealQueue.__table__
    rerun = table.c.rerun
    at_now = literal(now, UTCDateTime())
    error = (
        "the worker processing this deal stopped without recording an outcome (its lease "
        f"expired: killed, out of memory, crashed?) on the last of its {attempts} attempts; "
        "not claimed again"
    )
    before = func.coalesce(literal("; the error before: ") + table.c.last_error, literal(""))
    buried = conn.execute(
        update(table)
        .where(
            table.c.id.in_(ids),
            table.c.status == "running",
            lease_lapsed(table.c.lease_expires_at, now),
            table.c.attempts == attempts,
        )
        .values(
            status=case((rerun, literal("pending")), else_=literal("dead")),
            due_at=case((rerun, at_now), else_=table.c.due_at),
            attempts=case((rerun, literal(0)), else_=table.c.attempts),
            queued_at=case((rerun, at_now), else_=table.c.queued_at),
            lease_owner=None,
            lease_expires_at=None,
            finished_at=now,
            rerun=False,
            last_error=func.substr(literal(error) + before, 1, 4000),  # as record_outcomes
            held=False,
            updated_at=now,
        )
        .returning(table.c.crm, table.c.deal_id, table.c.status, table.c.last_error)
    ).all()
    for row in buried:
        if row.status == "dead":
            log.error("deal dead: its worker stopped without an outcome", crm=row.crm,
                      deal_id=row.deal_id, attempts=attempts, last_error=row.last_error)  # fmt: skip
        else:
            log.warning("deal retried afresh: its worker stopped without an outcome, and an "
                        "event for it arrived meanwhile", crm=row.crm, deal_id=row.deal_id,
                        attempts=attempts, last_error=row.last_error)  # fmt: skip
    return [(row.crm, "dead" if row.status == "dead" else "dead_rerun") for row in buried]


def _held(item: QueueItem, owner: str):
    """Still ours: running, leased to `owner`, and the same attempt (a fencing token)."""
    table = DealQueue.__table__
    return and_(
        table.c.id == item.id,
        table.c.status == "running",
        table.c.lease_owner == owner,
        table.c.attempts == item.attempts,
    )


def retry_delay(
    attempts: int,
    *,
    base: float,
    cap: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next attempt: full-jitter exponential backoff, never before Retry-After.

    Full jitter (uniform over [0, min(cap, base * 2**(attempts-1))]) spreads a burst of failures
    over the window instead of sending them back in lockstep. A remote's Retry-After is a floor.
    """
    window = min(cap, base * 2 ** max(attempts - 1, 0))
    backoff = (rng or random).uniform(0, window)
    floor = float(retry_after or 0.0)
    if not math.isfinite(floor) or floor < 0:  # nan, inf: no usable floor (it crashed recording)
        floor = 0.0
    return max(min(floor, MAX_RETRY_AFTER), backoff)


@dataclass(frozen=True)
class RecordedOutcome:
    item: QueueItem
    kind: str  # done | retry | dead | rerun | stale
    queued_at: datetime | None = None
    due_at: datetime | None = None


def record_outcomes(
    engine: Engine,
    *,
    owner: str,
    outcomes: Sequence[tuple[QueueItem, Outcome]],
    max_attempts: int,
    backoff_base: float,
    backoff_cap: float,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> list[RecordedOutcome]:
    """Store each outcome, only where this owner still holds the lease ('stale' otherwise).

    `rerun` (an event arrived while running) is read inside the UPDATE, never before it, so an
    enqueue racing with this write is never lost: done or dead then become pending, due now.
    """
    now = now or utcnow()
    common = {
        "lease_owner": None,
        "lease_expires_at": None,
        "finished_at": now,
        "rerun": False,
        "updated_at": now,
    }
    # Finished rows with the same kind, error and attempt number take identical values: one
    # fenced UPDATE per group (a batch of 500 done deals is one statement, not 500).
    groups: dict[tuple[str, str | None, int], list[QueueItem]] = {}
    retries: list[tuple[QueueItem, Outcome, str | None]] = []
    for item, outcome in outcomes:
        kind = outcome.kind
        error = (outcome.error or "")[:4000] or None
        if kind == "retry" and item.attempts >= max_attempts and not outcome.hold:
            kind = "dead"
            error = f"{error or 'retry'} (gave up after {item.attempts} attempts)"
        if kind == "retry":
            retries.append((item, outcome, error))
        else:
            groups.setdefault((kind, error, item.attempts), []).append(item)
    # Run again once if PostgreSQL aborts it for a deadlock or a serialization failure with a
    # writer that does not take the queue's lock order: nothing of it was written, and a
    # recording lost leaves the deals running until their leases expire, then runs them again.
    for tries_left in (1, 0):
        try:
            recorded = _record(
                engine, owner=owner, groups=groups, retries=retries, common=common, now=now,
                backoff_base=backoff_base, backoff_cap=backoff_cap, rng=rng,
            )  # fmt: skip
            break
        except DBAPIError as exc:
            if not tries_left or not transaction_collision(exc):
                raise
            log.warning("recording outcomes collided with concurrent work; recording again",
                        owner=owner, deals=len(outcomes), error=type(exc.orig).__name__)  # fmt: skip
    # In the order given; a row no longer held by this owner is stale (its outcome dropped).
    return [recorded.get(item.id) or RecordedOutcome(item, "stale") for item, _ in outcomes]


def _record(
    engine: Engine,
    *,
    owner: str,
    groups: dict[tuple[str, str | None, int], list[QueueItem]],
    retries: list[tuple[QueueItem, Outcome, str | None]],
    common: dict,
    now: datetime,
    backoff_base: float,
    backoff_cap: float,
    rng: random.Random | None,
) -> dict[int, RecordedOutcome]:
    """record_outcomes' transaction: its rows locked in the queue's lock order first."""
    table = DealQueue.__table__
    rerun = table.c.rerun
    recorded: dict[int, RecordedOutcome] = {}
    every = [item.id for items in groups.values() for item in items]
    every += [item.id for item, _o, _e in retries]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for start in range(0, len(every), 5000):  # one bound parameter per id
                _lock_rows(conn, every[start : start + 5000])
        for (kind, error, attempts), items in groups.items():
            final = "done" if kind == "done" else "dead"
            values = {
                **common,
                "status": case((rerun, literal("pending")), else_=literal(final)),
                "due_at": case((rerun, literal(now, UTCDateTime())), else_=table.c.due_at),
                "attempts": case((rerun, literal(0)), else_=table.c.attempts),
                "queued_at": case((rerun, literal(now, UTCDateTime())), else_=table.c.queued_at),
                "last_error": None if kind == "done" else error,
                "held": False,
            }
            by_id = {item.id: item for item in items}
            for start in range(0, len(items), 500):  # SQLite caps bound parameters
                ids = [item.id for item in items[start : start + 500]]
                # When the run that ends here was wanted, for a row an event reran: the UPDATE
                # starts its next cycle (queued_at now) and RETURNING gives the new value, so the
                # finished run's wait was observed as none (the rows are locked, or SQLite's one
                # writer holds them, so no event lands in between).
                wanted = dict(
                    conn.execute(
                        select(table.c.id, table.c.queued_at).where(
                            table.c.id.in_(ids), rerun.is_(True)
                        )
                    ).all()
                )
                rows = conn.execute(
                    update(table)
                    .where(
                        table.c.id.in_(ids),
                        table.c.status == "running",
                        table.c.lease_owner == owner,
                        table.c.attempts == attempts,
                    )
                    .values(**values)
                    .returning(table.c.id, table.c.status, table.c.queued_at, table.c.due_at)
                )
                for row in rows:
                    # A row that is pending again had an event arrive while it ran.
                    got = (
                        kind
                        if row.status != "pending"
                        else ("rerun" if kind == "done" else "dead_rerun")
                    )
                    queued_at = (
                        wanted.get(row.id, row.queued_at) if got == "rerun" else row.queued_at
                    )
                    recorded[row.id] = RecordedOutcome(by_id[row.id], got, queued_at, row.due_at)
        for item, outcome, error in retries:
            delay = retry_delay(
                item.attempts,
                base=backoff_base,
                cap=backoff_cap,
                retry_after=outcome.retry_after,
                rng=rng,
            )
            values = {
                **common,
                "status": "pending",
                "due_at": now + timedelta(seconds=delay),
                "last_error": error,
                # held (attempt given back) or backing off (attempt spent): what the operator
                # listings tell apart
                "held": outcome.hold,
            }
            if outcome.hold:  # this attempt is given back (see Outcome.hold)
                values["attempts"] = table.c.attempts - 1
            if outcome.hold or outcome.retry_after is not None:
                # Waiting on the remote (a rate limit's Retry-After, refused credentials): as a
                # sweep's row. They all come due together, older than any new event, and sorted
                # ahead of it: a Salesforce webhook waited behind 10,000 deals held by a HubSpot
                # 429 (51 batches, growing with the backlog). A new event for one of them makes
                # it urgent again (`enqueue_deals` keeps the more urgent priority).
                values["priority"] = 1
            row = conn.execute(
                update(table)
                .where(_held(item, owner))
                .values(**values)
                .returning(table.c.queued_at, table.c.due_at)
            ).first()
            if row is not None:
                recorded[item.id] = RecordedOutcome(item, "retry", row.queued_at, row.due_at)
    return recorded


def _in_lock_order(items: Sequence[QueueItem]) -> list[QueueItem]:
    """Row by row in the queue's lock order (claim_batch hands items out in id order)."""
    return sorted(items, key=lambda item: (item.crm, item.deal_id))


def extend_leases(
    engine: Engine,
    *,
    owner: str,
    items: Sequence[QueueItem],
    lease_seconds: float,
    now: datetime | None = None,
) -> int:
    """Heartbeat: keep rows leased while a slow batch is still being processed."""
    if not items:
        return 0
    now = now or utcnow()
    table = DealQueue.__table__
    count = 0
    with engine.begin() as conn:
        for item in _in_lock_order(items):
            count += conn.execute(
                update(table)
                .where(_held(item, owner))
                .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=now)
            ).rowcount
    return count


def release(
    engine: Engine, *, owner: str, items: Sequence[QueueItem], now: datetime | None = None
) -> int:
    """Give unfinished rows back (shutdown): pending, due now, this attempt not counted."""
    if not items:
        return 0
    now = now or utcnow()
    table = DealQueue.__table__
    count = 0
    with engine.begin() as conn:
        for item in _in_lock_order(items):
            count += conn.execute(
                update(table)
                .where(_held(item, owner))
                .values(
                    status="pending",
                    due_at=now,
                    attempts=table.c.attempts - 1,
                    lease_owner=None,
                    lease_expires_at=None,
                    rerun=False,
                    updated_at=now,
                )
            ).rowcount
    return count


# --- operator side: counts, retry, replay ------------------------------------------------------

STATUSES = ("pending", "running", "done", "dead")


def pending_after_error():
    """The rows waiting after an error: held while the CRM refuses (an org's validation rule or
    inactive picklist value, a HubSpot property rule, refused credentials, a rate limit:
    retried without spending attempts) or backing off before the next attempt. What
    `roadmap-guard queue` lists under "after an error" and GET /api/v1/queue counts as
    `pending_with_error`."""
    table = DealQueue.__table__
    return and_(table.c.status == "pending", table.c.last_error.is_not(None))


def queue_counts(session_or_conn: Session | Connection) -> dict[str, int]:
    table = DealQueue.__table__
    rows = session_or_conn.execute(
        select(table.c.status, func.count()).group_by(table.c.status)
    ).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update({status: n for status, n in rows})
    return counts


PRIORITIES = (0, 1)


def oldest_due_seconds(
    session_or_conn: Session | Connection, *, now: datetime | None = None
) -> dict[int, float]:
    """Per priority, how long the longest-waiting pending row has been due (0 when none is
    due): the queue's lag, which depth alone does not show (10,000 rows due a second ago are
    fine; one row due an hour ago is not). One index seek a priority on ix_deal_queue_claim
    (status, priority, due_at), never a scan, so a scrape stays cheap under any backlog."""
    now = now or utcnow()
    table = DealQueue.__table__
    ages: dict[int, float] = {}
    for priority in PRIORITIES:
        first = session_or_conn.execute(
            select(table.c.due_at)
            .where(table.c.status == "pending", table.c.priority == priority)
            .order_by(table.c.due_at)
            .limit(1)
        ).scalar()
        ages[priority] = max(0.0, (now - first).total_seconds()) if first is not None else 0.0
    return ages


def pending_by_reason(
    session_or_conn: Session | Connection, *, now: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Pending rows per reason (webhook, reconcile, roadmap, backfill, ...): how many, and
    how many are not due yet (a paced backfill's later pages, retries backing off), so a long
    backfill or fan-out shows how far it is."""
    now = now or utcnow()
    table = DealQueue.__table__
    later = func.sum(case((table.c.due_at > now, 1), else_=0))
    rows = session_or_conn.execute(
        select(table.c.reason, func.count(), later)
        .where(table.c.status == "pending")
        .group_by(table.c.reason)
    ).all()
    return {reason: {"pending": n, "not_due": int(w or 0)} for reason, n, w in sorted(rows)}


# What a queue row's error says to a role that may not read it whole (GET /api/v1/queue for
# engineering, viewer, approver). A stored error is the exception's class and its text
# (Outcome.from_exception: "ClassName: message"). The connectors' errors are written for whoever
# watches the queue (the CRM's refusal, the org rule to change and how, the rate limit) and are
# shown as they are; any other exception's text (a database error's SQL, hostnames, addresses;
# a bug's values) is replaced by INTERNAL_ERROR. A test checks this list against the classes.
CONNECTOR_ERRORS = frozenset(
    {
        "ConnectorError",
        "TransientError",
        "PermanentError",
        "HeldError",
        "CredentialsError",
        # app/connectors/hubspot/errors.py
        "RefusedError",
        "PropertyRuleRefused",
        "PortalPausedError",
        "MissingScopeError",
        # app/connectors/salesforce/errors.py
        "RequestLimitExceeded",
        "RequestTimedOut",
        "OrgRuleRefused",
        "ApexResourceUnavailable",
        "ApexResourceFailed",
    }
)
# Errors the queue, the worker and the pipeline write themselves (no exception's text).
_OUR_ERRORS = (
    "no connector is configured for CRM",
    "processor returned no outcome",
    "connector returned no outcome",
)
_WORKER_STOPPED = "the worker processing this deal stopped"
_ERROR_BEFORE = "; the error before: "  # _bury_abandoned
INTERNAL_ERROR = "internal error: ask an operator (revops and admin read the error)"
_GAVE_UP = re.compile(r" \(gave up after \d+ attempts\)$")  # record_outcomes


def readable_error(error: str | None) -> str | None:
    """`error` (a queue row's last_error) for a role that may not read every error whole: a
    connector's error or one of our own as it is, any other exception's text replaced by
    INTERNAL_ERROR (keeping "(gave up after N attempts)")."""
    if not error:
        return None
    if error.startswith(_WORKER_STOPPED):
        ours, _, before = error.partition(_ERROR_BEFORE)
        return ours + (_ERROR_BEFORE + readable_error(before) if before else "")
    if error.startswith(_OUR_ERRORS):
        return error
    name = error.split(":", 1)[0] if ":" in error else ""
    if name in CONNECTOR_ERRORS:
        return error
    gave_up = _GAVE_UP.search(error)
    return INTERNAL_ERROR + (gave_up.group(0) if gave_up else "")


RETRYABLE = ("dead", "pending")


def _due_now_afresh(now: datetime) -> dict:
    """A row an operator sends again: pending, due now, with a fresh attempt budget, waited
    for from now (`queued_at`: the processing latency does not count the days it lay dead).
    Its `last_error` is cleared: the operator read it before sending it again (the retry's
    audit entry keeps it), and a replayed deal kept it until it ran, so `roadmap-guard queue`
    and `pending_with_error` counted it as failing. A new error is recorded if it fails again."""
    return {
        "status": "pending",
        "due_at": now,
        "queued_at": now,
        "attempts": 0,
        "last_error": None,
        "held": False,
        "lease_owner": None,
        "lease_expires_at": None,
        "updated_at": now,
    }


def retry_now(session: Session, row: DealQueue, *, now: datetime | None = None) -> bool:
    """A dead (or backing-off pending) row becomes due now with a fresh attempt budget.

    A conditional UPDATE, like every state change here: a worker may claim the row between the
    caller reading it and this write, and a running row must not be turned back into a
    pending one (a second worker would take it while the first still holds it). False, and
    nothing written, when the row is no longer dead or pending."""
    now = now or utcnow()
    table = DealQueue.__table__
    changed = session.execute(
        update(table)
        .where(table.c.id == row.id, table.c.status.in_(RETRYABLE))
        .values(**_due_now_afresh(now))
    ).rowcount
    session.refresh(row)
    return bool(changed)


def replay_dead(session: Session, *, now: datetime | None = None) -> list[int]:
    """Every dead row back to pending, due now, attempts reset. Returns the replayed ids."""
    now = now or utcnow()
    table = DealQueue.__table__
    dead = table.c.status == "dead"
    if session.get_bind().dialect.name != "postgresql":
        rows = session.execute(
            update(table).where(dead).values(**_due_now_afresh(now)).returning(table.c.id)
        ).all()
        return sorted(r.id for r in rows)
    # Locked in the queue's lock order first: one UPDATE over every dead row takes them in
    # whatever order it scans them, and could deadlock with an enqueue of the same deals.
    ids = _lock_rows(session.connection(), [], dead)
    replayed: list[int] = []
    for start in range(0, len(ids), 5000):  # one bound parameter per id
        rows = session.execute(
            update(table)
            .where(dead, table.c.id.in_(ids[start : start + 5000]))
            .values(**_due_now_afresh(now))
            .returning(table.c.id)
        ).all()
        replayed += [r.id for r in rows]
    return sorted(replayed)
