"""PostgreSQL: the writers of the deal queue lock its rows in one order, (crm, deal_id), so the
ingest writer's group commit and a worker recording outcomes never deadlock; a recording that
does meet a deadlock (a writer outside that order) is run again, not lost.

Each test forces its interleaving with events: one transaction holds a queue row and stops,
the other starts and waits for a row lock, then the first goes on. SQLite takes one writer at a
time (BEGIN IMMEDIATE), so there is nothing to interleave there: PostgreSQL only."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager

import pytest
from sqlalchemy import event, text
from sqlmodel import Session, select

import app.jobs.ingest as ingest_module
from app.db import session_scope
from app.jobs.ingest import InboundEvent, IngestWriter
from app.jobs.queue import (
    claim_batch,
    enqueue_deals,
    extend_leases,
    record_outcomes,
    release,
    replay_dead,
)
from app.jobs.types import Outcome
from app.models import DealQueue


@contextmanager
def _database_errors(engine):
    """Every error the driver raised on `engine` meanwhile (both threads' connections)."""
    seen: list[BaseException] = []

    def _on_error(context) -> None:
        seen.append(context.original_exception)

    event.listen(engine, "handle_error", _on_error)
    try:
        yield seen
    finally:
        event.remove(engine, "handle_error", _on_error)


def _deadlocks(errors: list[BaseException]) -> list[str]:
    """The deadlocks met, each once (an error may be reported more than once): PostgreSQL's
    message names the processes and the transaction, so it tells two deadlocks apart."""
    found = {str(e): e for e in errors if getattr(e, "sqlstate", None) == "40P01"}
    return [type(e).__name__ for e in found.values()]


def _wait_for_a_lock_wait(engine, timeout: float = 10.0) -> None:
    """Until a session of this database waits for a lock (the second transaction blocked)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited for a lock")


def _claimed(engine, ids_in_order: list[str]):
    """Queue rows created in this order (so their ids are in this order), all claimed."""
    for deal_id in ids_in_order:
        with session_scope(engine) as s:
            enqueue_deals(s, "test", [deal_id], reason="webhook")
    items = claim_batch(engine, owner="w", limit=10, lease_seconds=60)
    assert sorted(i.deal_id for i in items) == sorted(ids_in_order)
    return items


def _record(engine, items, into: dict) -> None:
    try:
        into["record"] = [
            r.kind
            for r in record_outcomes(
                engine,
                owner="w",
                outcomes=[(i, Outcome.done()) for i in items],
                max_attempts=5,
                backoff_base=1,
                backoff_cap=10,
            )
        ]
    except Exception as exc:  # the thread reports it; the test asserts on it
        into["record"] = type(getattr(exc, "orig", exc)).__name__


def _statuses(engine) -> dict[str, tuple[str, bool]]:
    with Session(engine) as s:
        return {q.deal_id: (q.status, q.rerun) for q in s.exec(select(DealQueue)).all()}


def test_a_group_commit_and_a_recording_of_the_same_deals_do_not_deadlock(pg_engine, monkeypatch):
    # Delivery 1 names D2, delivery 2 names D1; the worker records D1 and D2. Queuing each
    # delivery's deals in turn locked D2 then D1, the recording D1 then D2: a deadlock, and an
    # aborted recording left both deals running until their leases expired.
    engine = pg_engine
    items = _claimed(engine, ["D1", "D2"])
    first_queued, go = threading.Event(), threading.Event()
    real_enqueue = ingest_module.enqueue_deals
    calls: list[list[str]] = []

    def enqueue_then_stop(session, crm, deal_ids, **kwargs):
        n = real_enqueue(session, crm, deal_ids, **kwargs)
        calls.append(sorted(deal_ids))
        if len(calls) == 1:  # the group's transaction holds its first queue rows
            first_queued.set()
            assert go.wait(10)
        return n

    monkeypatch.setattr(ingest_module, "enqueue_deals", enqueue_then_stop)
    writer = IngestWriter(engine)
    group = [  # two deliveries waiting together: committed here as one group
        ([InboundEvent("test", "e-2", "test", "D2", "deal.updated")], Future()),
        ([InboundEvent("test", "e-1", "test", "D1", "deal.updated")], Future()),
    ]
    futures = [f for _events, f in group]
    res: dict = {}
    with _database_errors(engine) as errors:
        ingest = threading.Thread(target=writer._commit, args=(group,))
        ingest.start()
        assert first_queued.wait(10)
        record = threading.Thread(target=_record, args=(engine, items, res))
        record.start()
        _wait_for_a_lock_wait(engine)  # the recording waits for the group's rows
        go.set()
        ingest.join(30)
        record.join(30)
    assert _deadlocks(errors) == []
    assert writer.transactions == 1  # the group was not split by a failure
    assert [f.result(0).queued_deals for f in futures] == [1, 1]  # each delivery its own
    assert res["record"] == ["rerun", "rerun"]  # an event came while they ran
    assert _statuses(engine) == {"D1": ("pending", False), "D2": ("pending", False)}


def _in_lock_order_against(engine, second, res: dict) -> list[str]:
    """A transaction queuing D1, then D2 (the lock order: a group commit of deliveries for two
    CRMs takes one CRM's rows, then the other's) stopped between the two, `second` started
    meanwhile: the deadlocks met."""
    first_locked, go = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with session_scope(engine) as s:
                enqueue_deals(s, "test", ["D1"], reason="webhook")
                first_locked.set()
                assert go.wait(10)
                enqueue_deals(s, "test", ["D2"], reason="webhook")
            res["writer"] = "ok"
        except Exception as exc:
            res["writer"] = type(getattr(exc, "orig", exc)).__name__

    with _database_errors(engine) as errors:
        w = threading.Thread(target=writer)
        w.start()
        assert first_locked.wait(10)
        other = threading.Thread(target=second)
        other.start()
        _wait_for_a_lock_wait(engine)
        go.set()
        w.join(30)
        other.join(30)
    return _deadlocks(errors)


def _kept(call, res: dict, key: str):
    def run() -> None:
        try:
            res[key] = call()
        except Exception as exc:
            res[key] = type(getattr(exc, "orig", exc)).__name__

    return run


def test_a_recording_locks_its_rows_in_deal_order_not_id_order(pg_engine):
    # D2's row has the lower id: a recording that locked in id order (D2, then D1) deadlocked.
    engine = pg_engine
    items = _claimed(engine, ["D2", "D1"])
    assert [i.deal_id for i in sorted(items, key=lambda i: i.id)] == ["D2", "D1"]
    res: dict = {}
    deadlocks = _in_lock_order_against(engine, lambda: _record(engine, items, res), res)
    assert deadlocks == []
    assert res == {"writer": "ok", "record": ["rerun", "rerun"]}


@pytest.mark.parametrize("call", ["extend_leases", "release"])
def test_lease_renewal_and_release_lock_in_deal_order_not_id_order(pg_engine, call):
    engine = pg_engine
    items = _claimed(engine, ["D2", "D1"])  # handed out in id order: D2, D1
    res: dict = {}
    if call == "extend_leases":
        second = _kept(
            lambda: extend_leases(engine, owner="w", items=items, lease_seconds=60), res, call
        )
    else:
        second = _kept(lambda: release(engine, owner="w", items=items), res, call)
    assert _in_lock_order_against(engine, second, res) == []
    assert res == {"writer": "ok", call: 2}


def test_replaying_dead_rows_locks_them_in_deal_order(pg_engine):
    engine = pg_engine
    items = _claimed(engine, ["D2", "D1"])
    record_outcomes(
        engine,
        owner="w",
        outcomes=[(i, Outcome("dead", error="boom")) for i in items],
        max_attempts=1,
        backoff_base=1,
        backoff_cap=10,
    )
    assert _statuses(engine) == {"D1": ("dead", False), "D2": ("dead", False)}
    res: dict = {}

    def replay() -> list[int]:
        with session_scope(engine) as s:
            return replay_dead(s)

    assert _in_lock_order_against(engine, _kept(replay, res, "replay"), res) == []
    # the writer revived both first; the replay found none dead any more
    assert res == {"writer": "ok", "replay": []}
    assert _statuses(engine) == {"D1": ("pending", False), "D2": ("pending", False)}


def test_a_recording_aborted_by_a_deadlock_is_recorded_again(pg_engine):
    # A writer outside the lock order (D2, then D1) against the recording (D1, D2): PostgreSQL
    # aborts the recording (it waited first, so its deadlock check runs first). Its outcomes
    # are recorded again instead of the deals staying running until their leases expire.
    engine = pg_engine
    items = _claimed(engine, ["D1", "D2"])
    first_locked, go = threading.Event(), threading.Event()
    res: dict = {}

    def writer() -> None:
        try:
            with session_scope(engine) as s:
                enqueue_deals(s, "test", ["D2"], reason="webhook")
                first_locked.set()
                assert go.wait(10)
                time.sleep(0.3)  # the recording's deadlock check (after 1 s) comes first
                enqueue_deals(s, "test", ["D1"], reason="webhook")
            res["writer"] = "ok"
        except Exception as exc:
            res["writer"] = type(getattr(exc, "orig", exc)).__name__

    with _database_errors(engine) as errors:
        w = threading.Thread(target=writer)
        w.start()
        assert first_locked.wait(10)
        record = threading.Thread(target=_record, args=(engine, items, res))
        record.start()
        _wait_for_a_lock_wait(engine)
        go.set()
        w.join(30)
        record.join(30)
    # At least the one deadlock forced here (a loaded machine may report it twice: the
    # statement's error and its rollback's); what matters is what was recorded after it.
    assert "DeadlockDetected" in _deadlocks(errors)
    assert res == {"writer": "ok", "record": ["rerun", "rerun"]}
    assert _statuses(engine) == {"D1": ("pending", False), "D2": ("pending", False)}
