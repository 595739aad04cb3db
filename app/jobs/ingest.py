"""The ingest contract every webhook endpoint uses.

In one transaction: insert the events idempotently (ON CONFLICT DO NOTHING on (source,
dedup_key)), upsert one queue row per deal that a *new* event touches, commit. The endpoint
answers only after `ingest_events` returns, so an acknowledgement means the event is durable.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from sqlalchemy import JSON, String, Text, bindparam, cast, column, func, true, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.db import session_scope
from app.jobs.queue import enqueue_deals, queue_ids
from app.models import UTCDateTime, WebhookEvent, utcnow
from app.models.types import NUL_IN_JSON, storable


@dataclass(frozen=True)
class InboundEvent:
    source: str  # the webhook route: hubspot | salesforce_outbound | salesforce_events | test
    dedup_key: str  # unique per source, derived from what the CRM documents as identity
    crm: str
    deal_id: str | None
    event_type: str | None = None
    payload: dict = field(default_factory=dict)
    # False: store for the record but queue nothing (e.g. our own write coming back).
    actionable: bool = True
    # True: a row of ours made from a delivered event (each other deal a HubSpot merge names),
    # stored and queued, but not counted as received, new or a duplicate: the sender's ack
    # and the webhook metrics count what the sender sent.
    derived: bool = False


@dataclass
class IngestResult:
    received: int = 0
    new: int = 0
    duplicates: int = 0
    queued_deals: int = 0
    by_source: dict[str, dict[str, int]] = field(default_factory=dict)


def ingest_events(
    engine_or_session: Engine | Session, events: Sequence[InboundEvent]
) -> IngestResult:
    """Store and queue `events` atomically. Raises on any database error: nothing is written."""
    if isinstance(engine_or_session, Session):
        return _ingest(engine_or_session, events)
    with Session(engine_or_session) as session:
        try:
            result = _ingest(session, events)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise


class IngestWriter:
    """Commits webhook deliveries for one engine from ONE thread, each transaction taking
    every delivery that is waiting (group commit); each caller still gets its own result, and
    its answer only after the commit.

    Why: a database takes one writer at a time (SQLite always; on PostgreSQL concurrent
    deliveries of the same deal meet on the queue row anyway). With a thread per request, eight
    concurrent deliveries meant eight threads queueing for the write lock while competing for
    the GIL with the request parsing: whoever held the lock waited for the interpreter between
    its statements, so the lock was held two to three times as long as the work, and a
    delivery could lose the race for it several times (ack p99 three times the median). One
    writer thread never waits for the lock, deliveries are served in arrival order, and the
    BEGIN/COMMIT of a busy moment is shared.

    Failure isolation: if a grouped transaction fails, nothing of it is committed and every
    delivery in it is tried again alone, so one bad delivery fails only its own request.
    The thread starts on the first delivery and ends after `idle_seconds` without one, or at
    `close()` once the deliveries waiting then are committed (a later delivery starts it again:
    an app may be started and stopped more than once, as tests do).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_events: int = 2000,
        idle_seconds: float = 5.0,
        name: str = "rg-ingest-writer",
    ) -> None:
        self.engine = engine
        self.max_events = max_events
        self.idle_seconds = idle_seconds
        self.name = name
        self._pending: deque[tuple[Sequence[InboundEvent], Future[IngestResult]]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self.transactions = 0  # counters for tests and metrics
        self.deliveries = 0

    def submit(self, events: Sequence[InboundEvent]) -> Future[IngestResult]:
        future: Future[IngestResult] = Future()
        with self._cond:
            self._pending.append((events, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        return future

    async def ingest(self, events: Sequence[InboundEvent]) -> IngestResult:
        """`ingest_events` for an async endpoint: waits for the commit without blocking the
        event loop. Raises what `ingest_events` raises."""
        return await asyncio.wrap_future(self.submit(events))

    def close(self, timeout: float = 30.0) -> None:
        """Commit the deliveries waiting now and stop the thread (at shutdown)."""
        with self._cond:
            self._closing = True
            thread = self._thread
            self._cond.notify()
        try:
            if thread is not None:
                thread.join(timeout)
        finally:
            with self._cond:
                self._closing = False

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending and not self._closing:
                    self._cond.wait(self.idle_seconds)
                if not self._pending:
                    self._thread = None  # idle or closing: the next submit starts a new one
                    return
                group = [self._pending.popleft()]
                size = len(group[0][0])
                while self._pending and size + len(self._pending[0][0]) <= self.max_events:
                    group.append(self._pending.popleft())
                    size += len(group[-1][0])
            self._commit(group)

    def _commit(self, group: list[tuple[Sequence[InboundEvent], Future[IngestResult]]]) -> None:
        live = [(events, f) for events, f in group if f.set_running_or_notify_cancel()]
        if live:
            self._store(live)

    def _store(self, live: list[tuple[Sequence[InboundEvent], Future[IngestResult]]]) -> None:
        try:
            with session_scope(self.engine) as session:
                deferred: dict[str, set[str]] = {}
                results = [_ingest(session, events, deferred=deferred) for events, _f in live]
                _enqueue_deferred(session, deferred)
        except Exception as exc:
            if len(live) == 1:
                live[0][1].set_exception(exc)
            else:
                for item in live:  # alone, so only the failing delivery fails
                    self._store([item])
            return
        self.transactions += 1
        self.deliveries += len(live)
        for (_events, future), result in zip(live, results, strict=True):
            future.set_result(result)


def _rows_json(events: Sequence[InboundEvent]) -> tuple[dict[tuple[str, str], InboundEvent], str]:
    """The delivery's distinct events by (source, key), and their rows as JSON."""
    # Within one delivery the same key may repeat; keep the first.
    unique: dict[tuple[str, str], InboundEvent] = {}
    for ev in events:
        unique.setdefault((ev.source, ev.dedup_key), ev)
    return unique, json.dumps(
        [
            {
                "source": ev.source,
                "dedup_key": ev.dedup_key,
                "crm": ev.crm,
                "deal_id": ev.deal_id,
                "event_type": ev.event_type,
                "status": "queued" if ev.actionable and ev.deal_id else "ignored",
                "payload": ev.payload,
            }
            for ev in unique.values()
        ]
    )


def _storable_event(ev: InboundEvent) -> InboundEvent:
    return replace(
        ev,
        dedup_key=storable(ev.dedup_key),
        deal_id=storable(ev.deal_id),
        event_type=storable(ev.event_type),
        payload=storable(ev.payload),
    )


def _ingest(
    session: Session,
    events: Sequence[InboundEvent],
    *,
    deferred: dict[str, set[str]] | None = None,
) -> IngestResult:
    """Store one delivery's events and queue the deals its new events name. With `deferred`
    (the writer's group commit), the deals are added to it instead, for `_enqueue_deferred`
    to queue those of the whole group at once; `queued_deals` counts this delivery's own."""
    result = IngestResult(received=sum(not ev.derived for ev in events))
    if not events:
        return result
    unique, rows_json = _rows_json(events)
    if NUL_IN_JSON in rows_json:  # a NUL in some text: see `storable`
        events = [_storable_event(ev) for ev in events]
        unique, rows_json = _rows_json(events)
    dialect = session.get_bind().dialect.name
    # RETURNING (source, dedup_key) of the new rows, fetched in one call (not row by row).
    returned = session.execute(
        _insert_statement(dialect), {"rows": rows_json, "received_at": utcnow()}
    ).all()
    inserted = {(source, key) for source, key in returned}  # plain tuples: Row hashes slowly

    to_queue: dict[str, set[str]] = {}
    for ev in events:
        counts = result.by_source.setdefault(ev.source, {"new": 0, "duplicate": 0})
        counts["duplicate"] += not ev.derived
    for key, ev in unique.items():
        if key in inserted:
            if not ev.derived:
                counts = result.by_source[ev.source]
                counts["new"] += 1
                counts["duplicate"] -= 1
                result.new += 1
            if ev.actionable and ev.deal_id:
                to_queue.setdefault(ev.crm, set()).add(ev.deal_id)
    result.duplicates = result.received - result.new
    if deferred is None:
        for crm, deal_ids in sorted(to_queue.items()):
            result.queued_deals += enqueue_deals(session, crm, deal_ids, reason="webhook")
        return result
    for crm, deal_ids in to_queue.items():
        result.queued_deals += len(queue_ids(crm, deal_ids))
        deferred.setdefault(crm, set()).update(deal_ids)
    return result


def _enqueue_deferred(session: Session, deferred: dict[str, set[str]]) -> None:
    """Queue a group's deals with ONE upsert per CRM, its deal ids sorted (`queue_ids`), CRMs
    in sorted order: the group's queue rows are locked in the (crm, deal_id) order every
    multi-row writer of the queue uses (app.jobs.queue, "Lock order"). One upsert per delivery
    locked them in delivery order (delivery 1's D2, then delivery 2's D1) and deadlocked with
    a worker recording D1 and D2: PostgreSQL aborted one of the two transactions."""
    for crm, deal_ids in sorted(deferred.items()):
        enqueue_deals(session, crm, deal_ids, reason="webhook")


_INBOX_COLUMNS = ("source", "dedup_key", "crm", "deal_id", "event_type", "status", "payload")
_INSERTS: dict[str, object] = {}


def _insert_statement(dialect: str):
    """INSERT ... SELECT over the delivery's events passed as ONE JSON parameter (json_each on
    SQLite, json_to_recordset on PostgreSQL), ON CONFLICT DO NOTHING, RETURNING the new keys.
    One parameter set per delivery instead of one per event: per-row bind processing was most
    of the ack's CPU. Built once per dialect, so its compiled form is cached."""
    stmt = _INSERTS.get(dialect)
    if stmt is not None:
        return stmt
    table = WebhookEvent.__table__
    received_at = bindparam("received_at", type_=UTCDateTime())
    if dialect == "postgresql":
        events = (
            func.json_to_recordset(cast(bindparam("rows", type_=String), JSON))
            .table_valued(
                *(column(name, JSON if name == "payload" else Text) for name in _INBOX_COLUMNS)
            )
            .render_derived(with_types=True)
        )
        values = [events.c[name] for name in _INBOX_COLUMNS]
        insert = postgresql.insert
    else:
        events = func.json_each(bindparam("rows", type_=String)).table_valued("value")
        values = [func.json_extract(events.c.value, f"$.{name}") for name in _INBOX_COLUMNS]
        insert = sqlite.insert
    # SQLite: a WHERE before ON CONFLICT (parser). ORDER BY: concurrent deliveries of the same
    # events lock the unique index in one order (in delivery order, two PostgreSQL transactions
    # deadlocked on each other's keys).
    rows = select(*values, received_at).where(true()).order_by(values[0], values[1])
    stmt = (
        insert(table)
        .from_select([*_INBOX_COLUMNS, "received_at"], rows)
        .on_conflict_do_nothing(index_elements=["source", "dedup_key"])
        .returning(table.c.source, table.c.dedup_key)
    )
    _INSERTS[dialect] = stmt
    return stmt


def seen_keys(session: Session, source: str, keys: Sequence[str]) -> set[str]:
    """Which of `keys` are already in the inbox (for callers that pre-filter)."""
    rows = session.exec(
        select(WebhookEvent.dedup_key).where(
            tuple_(WebhookEvent.source, WebhookEvent.dedup_key).in_([(source, k) for k in keys])
        )
    )
    return set(rows)
