"""Schedules under real faults: the clock jumping, the database refusing the write of a run."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta

import psycopg
from sqlalchemy import event
from sqlmodel import Session, SQLModel

from app.db import make_engine
from app.jobs.schedules import JobContext, Schedule, ScheduleRunner
from app.models import PeriodicJob
from app.models.types import as_utc
from app.settings import Settings
from tests.jobs.conftest import Clock


def _settings(engine) -> Settings:
    return Settings(
        _env_file=None,
        database_url=engine.url.render_as_string(hide_password=False),
        worker_mode="off",
        lease_seconds=60,
    )


def _counting_registry(calls: list[str], interval: int = 600) -> dict[str, Schedule]:
    def run(ctx: JobContext) -> dict:
        calls.append("ran")
        return {}

    return {"sweep": Schedule(name="sweep", interval=lambda s: interval, run=run,
                              enabled=lambda s, c: True)}  # fmt: skip


def test_a_schedule_run_while_the_clock_was_a_day_ahead_runs_again_once_it_is_set_right(engine):
    # The host's clock jumped a day ahead (a VM resumed with a wrong clock), a pass ran the
    # schedule then, and NTP stepped the clock back. Its next run stayed a day away: no
    # reconciliation, retention or roadmap refresh for a day.
    calls: list[str] = []
    clock = Clock()
    runner = ScheduleRunner(
        engine, _settings(engine), {}, owner="w1", schedules=_counting_registry(calls),
        clock=clock,
    )  # fmt: skip
    clock.advance(86_400)
    assert runner.run_due() == ["sweep"]
    clock.advance(-86_400)  # set right
    assert runner.run_due() == ["sweep"]
    assert calls == ["ran", "ran"]
    with Session(engine) as s:
        job = s.get(PeriodicJob, "sweep")
        next_run_at = as_utc(job.next_run_at)
    assert next_run_at <= clock() + timedelta(seconds=600)
    # Its interval holds again, and a runner whose clock is a little behind (within the
    # slack) does not take the schedule early.
    assert runner.run_due() == []
    clock.advance(-30)
    other = ScheduleRunner(
        engine, _settings(engine), {}, owner="w2", schedules=_counting_registry(calls),
        clock=clock,
    )  # fmt: skip
    assert other.run_due() == []
    assert calls == ["ran", "ran"]


def test_a_schedule_leased_by_a_runner_whose_clock_was_a_day_ahead_is_taken_when_it_dies(engine):
    calls: list[str] = []
    ahead, right = Clock(), Clock()
    ahead.advance(86_400)
    dying = ScheduleRunner(
        engine, _settings(engine), {}, owner="ahead", schedules=_counting_registry(calls),
        clock=ahead,
    )  # fmt: skip
    dying._ensure_rows(dying.enabled(), right())
    assert dying._claim("sweep", ahead()) is not None  # then killed mid-run
    survivor = ScheduleRunner(
        engine, _settings(engine), {}, owner="right", schedules=_counting_registry(calls),
        clock=right,
    )  # fmt: skip
    assert survivor.run_due() == ["sweep"]
    assert calls == ["ran"]
    with Session(engine) as s:
        job = s.get(PeriodicJob, "sweep")
        assert (job.lease_owner, job.last_status) == (None, "ok")


def _stateful_registry(calls: list[dict], on_run=None) -> dict[str, Schedule]:
    def run(ctx: JobContext) -> dict:
        calls.append(dict(ctx.state))
        if on_run is not None:
            on_run()
        return {"cursor": ctx.state.get("cursor", 0) + 1}

    return {"sweep": Schedule(name="sweep", interval=lambda s: 600, run=run,
                              enabled=lambda s, c: True)}  # fmt: skip


def test_a_run_is_stored_once_sqlite_is_no_longer_locked_by_another_writer(tmp_path):
    # Another writer holds SQLite's lock past the busy timeout as the run ends: its state (a
    # cursor) was lost and the schedule stayed leased, to run again from the old cursor.
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_conn, _record) -> None:  # 30 s in production
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    SQLModel.metadata.create_all(engine)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def lock_for_a_while() -> None:
        other.execute("BEGIN IMMEDIATE")
        threading.Timer(1.0, lambda: other.execute("ROLLBACK")).start()

    try:
        calls: list[dict] = []
        settings = _settings(engine).model_copy(update={"worker_poll_seconds": 0.2})
        runner = ScheduleRunner(engine, settings, {}, owner="w1",
                                schedules=_stateful_registry(calls, lock_for_a_while))  # fmt: skip
        assert runner.run_due() == ["sweep"]
        with Session(engine) as s:
            job = s.get(PeriodicJob, "sweep")
            assert (job.state, job.lease_owner, job.last_status) == ({"cursor": 1}, None, "ok")
        assert calls == [{}]
    finally:
        other.close()
        engine.dispose()


def test_a_run_is_stored_after_the_postgresql_connection_is_terminated(pg_engine):
    url = pg_engine.url.render_as_string(hide_password=False).replace("+psycopg", "")
    cut: list[int] = []

    @event.listens_for(pg_engine, "before_cursor_execute")
    def _terminate(conn, _cursor, statement, *_args) -> None:
        if (
            cut
            or not statement.startswith("UPDATE periodic_job")
            or "last_finished_at" not in statement
        ):
            return
        pid = conn.connection.dbapi_connection.info.backend_pid
        cut.append(pid)
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))

    calls: list[dict] = []
    settings = _settings(pg_engine).model_copy(update={"worker_poll_seconds": 0.2})
    runner = ScheduleRunner(pg_engine, settings, {}, owner="w1",
                            schedules=_stateful_registry(calls))  # fmt: skip
    try:
        assert runner.run_due() == ["sweep"]
    finally:
        event.remove(pg_engine, "before_cursor_execute", _terminate)
    assert cut
    with Session(pg_engine) as s:
        job = s.get(PeriodicJob, "sweep")
        assert (job.state, job.lease_owner, job.last_status) == ({"cursor": 1}, None, "ok")
    assert calls == [{}]
