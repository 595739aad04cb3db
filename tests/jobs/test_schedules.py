"""Periodic jobs: one run per due time across the cluster, state kept, failures recorded."""

from __future__ import annotations

import threading

from sqlmodel import Session

from app.jobs.schedules import JobContext, Schedule, ScheduleRunner
from app.models import PeriodicJob
from tests.jobs.conftest import Clock


def _registry(calls: list[dict], *, fail: bool = False, enabled: bool = True):
    def run(ctx: JobContext) -> dict:
        calls.append(dict(ctx.state))
        if fail:
            raise RuntimeError("roadmap API down")
        return {"cursor": ctx.state.get("cursor", 0) + 1}

    return {
        "refresh": Schedule(
            name="refresh",
            interval=lambda s: 600,
            run=run,
            enabled=lambda s, c: enabled,
        )
    }


def _job(engine, name: str = "refresh") -> PeriodicJob:
    with Session(engine) as s:
        return s.get(PeriodicJob, name)


def test_a_due_schedule_runs_once_and_carries_its_state(engine, settings):
    calls: list[dict] = []
    clock = Clock()
    runner = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls), clock=clock
    )
    assert runner.run_due() == ["refresh"]
    assert runner.run_due() == []  # not due again for 600 s
    clock.advance(601)
    assert runner.run_due() == ["refresh"]
    assert calls == [{}, {"cursor": 1}]
    job = _job(engine)
    assert (job.state, job.last_status, job.interval_seconds) == ({"cursor": 2}, "ok", 600)


def test_concurrent_runners_run_each_due_schedule_once(engine, settings):
    calls: list[dict] = []
    registry = _registry(calls)
    barrier = threading.Barrier(4)

    def go(i: int) -> None:
        runner = ScheduleRunner(engine, settings, {}, owner=f"w{i}", schedules=registry)
        barrier.wait()
        runner.run_due()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_a_failing_schedule_records_the_error_and_runs_again_next_interval(engine, settings):
    calls: list[dict] = []
    clock = Clock()
    runner = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, fail=True), clock=clock
    )
    started = clock()
    assert runner.run_due() == ["refresh"]
    job = _job(engine)
    assert job.last_status == "error"
    assert "RuntimeError: roadmap API down" in job.last_error
    assert job.lease_owner is None
    assert job.next_run_at >= started.replace(microsecond=0)
    clock.advance(601)
    assert runner.run_due() == ["refresh"]
    assert len(calls) == 2


def test_a_disabled_schedule_gets_no_row_and_never_runs(engine, settings):
    calls: list[dict] = []
    runner = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, enabled=False)
    )
    assert runner.run_due() == []
    assert _job(engine) is None and calls == []
