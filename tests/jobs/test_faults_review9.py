"""The worker under real faults: the database refusing the outcome write (SQLite locked by
another writer, a PostgreSQL connection terminated)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import psycopg
from sqlalchemy import event
from sqlmodel import Session, SQLModel, select

from app.db import make_engine
from app.jobs import queue
from app.jobs.ingest import InboundEvent, ingest_events
from app.jobs.types import Outcome, QueueItem
from app.jobs.worker import Worker
from app.models import DealQueue
from app.settings import Settings
from tests.jobs.conftest import Clock, RecordingProcessor


def _settings(engine) -> Settings:
    return Settings(
        _env_file=None,
        database_url=engine.url.render_as_string(hide_password=False),
        worker_mode="off",
        worker_batch_size=50,
        worker_poll_seconds=0.2,
        lease_seconds=60,
        max_attempts=3,
    )


def _deliver(engine, n: int) -> None:
    ingest_events(
        engine,
        [
            InboundEvent(source="test", dedup_key=f"e{d}", crm="test", deal_id=f"D{d}")
            for d in range(n)
        ],
    )


def _rows(engine) -> list[DealQueue]:
    with Session(engine) as s:
        return list(s.exec(select(DealQueue).order_by(DealQueue.deal_id)))


class _FaultAtEnd:
    """Done for every deal; `fault()` runs once, after the first batch is processed, before
    the worker records it."""

    def __init__(self, fault) -> None:
        self.fault = fault
        self.seen: list[str] = []

    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        self.seen += [i.deal_id for i in batch]
        if self.fault is not None:
            self.fault, fault = None, self.fault
            fault()
        return {i.id: Outcome.done() for i in batch}


def test_outcomes_are_recorded_once_sqlite_is_no_longer_locked_by_another_writer(tmp_path):
    # Another process (a `sqlite3` shell, a script, a second roadmap-guard) holds the write lock
    # past the busy timeout just when the worker records its batch. The recording used to be
    # given up: the deals sat `running` for LEASE_SECONDS, then ran a second time.
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn, _record) -> None:  # 30 s in production: a test waits less
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    SQLModel.metadata.create_all(engine)
    try:
        _deliver(engine, 3)
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        released = threading.Event()

        def lock_for_a_while() -> None:
            other.execute("BEGIN IMMEDIATE")
            threading.Timer(1.0, lambda: (other.execute("ROLLBACK"), released.set())).start()

        processor = _FaultAtEnd(lock_for_a_while)
        assert Worker(engine, _settings(engine), processor).run_once() == 3
        assert released.is_set()
        rows = _rows(engine)
        assert [(r.deal_id, r.status, r.attempts, r.lease_owner) for r in rows] == [
            ("D0", "done", 1, None),
            ("D1", "done", 1, None),
            ("D2", "done", 1, None),
        ]
        assert sorted(processor.seen) == ["D0", "D1", "D2"]  # each run once
        other.close()
    finally:
        engine.dispose()


def test_outcomes_are_recorded_after_the_postgresql_connection_is_terminated(pg_engine):
    # pg_terminate_backend (a failover, an admin, a pooler restart) cuts the worker's connection
    # in the middle of recording the batch; the worker loop records it again on a new one.
    _deliver(pg_engine, 3)
    url = pg_engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    cut: list[int] = []

    @event.listens_for(pg_engine, "before_cursor_execute")
    def _terminate(conn, _cursor, statement, *_args) -> None:
        if cut or not statement.startswith("UPDATE deal_queue") or "finished_at" not in statement:
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        cut.append(pid)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    try:
        processor = _FaultAtEnd(None)
        worker = Worker(pg_engine, _settings(pg_engine), processor)
        stop = threading.Event()
        loop = threading.Thread(target=worker.run_forever, args=(stop,))
        loop.start()
        try:
            for _ in range(100):
                if [r.status for r in _rows(pg_engine)] == ["done"] * 3:
                    break
                stop.wait(0.1)
        finally:
            stop.set()
            loop.join(10)
    finally:
        event.remove(pg_engine, "before_cursor_execute", _terminate)
    assert cut  # the fault happened
    rows = _rows(pg_engine)
    assert [(r.deal_id, r.status, r.attempts, r.lease_owner) for r in rows] == [
        ("D0", "done", 1, None),
        ("D1", "done", 1, None),
        ("D2", "done", 1, None),
    ]
    assert sorted(processor.seen) == ["D0", "D1", "D2"]
    assert worker.tally["done"] == 3


def test_deals_leased_by_a_worker_whose_clock_was_a_day_ahead_are_taken_when_it_dies(engine):
    # A worker on a VM resumed with its clock a day ahead claims a batch and is killed. Its
    # leases ran a day past the other workers' clocks: its deals waited a day.
    _deliver(engine, 2)
    ahead, right = Clock(), Clock()
    ahead.advance(86_400)
    settings = _settings(engine)
    assert len(Worker(engine, settings, RecordingProcessor(), owner="ahead", clock=ahead).claim())
    # killed: no renewal, no outcome
    survivor = Worker(engine, settings, RecordingProcessor(), owner="right", clock=right)
    taken = survivor.claim()
    assert [(i.deal_id, i.attempts) for i in taken] == [("D0", 2), ("D1", 2)]
    # A live worker's lease, however long LEASE_SECONDS is, is never taken.
    assert survivor.claim() == []
    right.advance(settings.lease_seconds - 1)
    assert queue.claim_batch(engine, owner="x", limit=10, lease_seconds=3600, now=right()) == []


def test_a_worker_killed_with_sigkill_inside_a_write_leaves_its_deals_to_the_next_one(
    engine, tmp_path
):
    # The process is killed for real (SIGKILL) while it holds a write transaction: the
    # database must take writes again (an acknowledged webhook), the half-write is gone, and
    # once its lease has run out another worker runs the deal, counting the lost attempt.
    _deliver(engine, 2)
    url = engine.url.render_as_string(hide_password=False)
    script = Path(__file__).with_name("_killed_worker_review9.py")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, str(script), url, str(tmp_path)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(600):
            if (tmp_path / "claimed").exists() or proc.poll() is not None:
                break
            threading.Event().wait(0.05)
        assert (tmp_path / "claimed").exists(), (
            proc.stderr.read().decode()[-2000:] if proc.poll() is not None else "not claimed"
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    # A webhook arriving now is stored and queued (the killed writer's lock is gone).
    ingest_events(engine, [InboundEvent(source="test", dedup_key="late", crm="test", deal_id="D9")])
    rows = {r.deal_id: r for r in _rows(engine)}
    assert [(d, r.status, r.lease_owner, r.last_error) for d, r in sorted(rows.items())] == [
        ("D0", "running", "doomed", None),
        ("D1", "running", "doomed", None),
        ("D9", "pending", None, None),
    ]
    clock = Clock()
    survivor = Worker(
        engine, _settings(engine), RecordingProcessor(), owner="survivor", clock=clock
    )
    late = survivor.claim()
    assert [i.deal_id for i in late] == ["D9"]  # the killed worker's lease still holds
    survivor.record(late, {i.id: Outcome.done() for i in late})
    clock.advance(61)
    taken = survivor.claim()
    assert [(i.deal_id, i.attempts) for i in taken] == [("D0", 2), ("D1", 2)]
    survivor.record(taken, {i.id: Outcome.done() for i in taken})
    assert [(r.deal_id, r.status) for r in _rows(engine)] == [
        ("D0", "done"),
        ("D1", "done"),
        ("D9", "done"),
    ]
