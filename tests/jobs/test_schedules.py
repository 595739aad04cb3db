"""Periodic jobs: one run per due time across the cluster, state kept, failures recorded."""

from __future__ import annotations

import multiprocessing
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from app.jobs.schedules import JobContext, Schedule, ScheduleRunner, ScheduleThread
from app.models import PeriodicJob, utcnow
from tests.jobs._schedule_proc import LEASE_SECONDS, run_forever_job
from tests.jobs.conftest import Clock


def _registry(calls: list[dict], *, fail: bool = False, enabled: bool = True, interval: int = 600):
    def run(ctx: JobContext) -> dict:
        calls.append(dict(ctx.state))
        if fail:
            raise RuntimeError("roadmap API down")
        return {"cursor": ctx.state.get("cursor", 0) + 1}

    return {
        "refresh": Schedule(
            name="refresh",
            interval=lambda s: interval,
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


def _wait_for(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout  # generous: a spawned process on a busy machine
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_running_schedule_keeps_its_lease_past_lease_seconds_until_its_runner_dies(
    engine, settings
):
    """Runner A (a process) runs `slow` for longer than its lease: A's heartbeat renews the
    lease, so runner B cannot start it a second time once the original lease time has passed.
    Then A is killed: the renewals stop, the lease runs out, and B takes the schedule."""
    settings = settings.model_copy(update={"lease_seconds": LEASE_SECONDS})
    spawn = multiprocessing.get_context("spawn")
    offset = spawn.Value("d", 0.0)  # seconds added to both runners' clocks

    def clock() -> datetime:
        return utcnow() + timedelta(seconds=offset.value)

    calls: list[dict] = []
    registry = {
        "slow": Schedule(
            name="slow",
            interval=lambda s: 600,
            run=lambda ctx: calls.append(dict(ctx.state)) or {"taken_over": True},
            enabled=lambda s, c: True,
        )
    }
    b = ScheduleRunner(engine, settings, {}, owner="b", schedules=registry, clock=clock)

    a = spawn.Process(target=run_forever_job, args=(settings.database_url, "a", offset))
    a.start()
    try:
        _wait_for(lambda: (_job(engine, "slow") or PeriodicJob()).lease_owner == "a", "A's claim")
        first_expiry = _job(engine, "slow").lease_expires_at

        offset.value += LEASE_SECONDS + 1  # the original lease is over; A is still running
        _wait_for(
            lambda: (
                _job(engine, "slow").lease_expires_at
                > first_expiry + timedelta(seconds=LEASE_SECONDS)
            ),
            "A to renew its lease",
        )
        assert b.run_due() == []
        assert _job(engine, "slow").lease_owner == "a" and calls == []
    finally:
        a.kill()  # the runner dies mid-run: no finish, no more renewals
        a.join(60)

    assert b.run_due() == []  # its last renewal still holds
    offset.value += LEASE_SECONDS + 1
    assert b.run_due() == ["slow"]
    job = _job(engine, "slow")
    assert (job.lease_owner, job.last_status, job.state) == (None, "ok", {"taken_over": True})
    assert len(calls) == 1


def test_a_stop_that_cannot_wait_for_a_running_job_gives_its_lease_back(engine, settings):
    """SIGTERM while a job runs longer than the grace: the lease is released, so another worker
    runs the schedule at once (not after LEASE_SECONDS); the interrupted run stores no state."""
    started, release = threading.Event(), threading.Event()

    def slow(ctx: JobContext) -> dict:
        started.set()
        release.wait(30)
        return {"from": "interrupted run"}

    registry = {
        "slow": Schedule(name="slow", interval=lambda s: 600, run=slow, enabled=lambda s, c: True)
    }
    a = ScheduleRunner(engine, settings, {}, owner="a", schedules=registry)
    thread = ScheduleThread(a, threading.Event(), poll_seconds=0.05).start()
    try:
        assert started.wait(30)
        assert _job(engine, "slow").lease_owner == "a"
        thread.stop(timeout=0.1)  # the job is still running
        assert thread.thread.is_alive()
        assert _job(engine, "slow").lease_owner is None

        calls: list[dict] = []
        registry_b = _registry(calls)
        registry_b["slow"] = registry_b.pop("refresh")
        b = ScheduleRunner(engine, settings, {}, owner="b", schedules=registry_b)
        assert b.run_due() == ["slow"]
    finally:
        release.set()
        thread.thread.join(30)
    job = _job(engine, "slow")
    # A's late finish changes nothing: the lease it would finish under is no longer its own.
    assert (job.lease_owner, job.state) == (None, {"cursor": 1})


def test_a_stop_waits_for_a_job_that_finishes_within_the_grace(engine, settings):
    calls: list[dict] = []
    runner = ScheduleRunner(engine, settings, {}, owner="a", schedules=_registry(calls))
    thread = ScheduleThread(runner, threading.Event(), poll_seconds=0.05).start()
    _wait_for(lambda: calls, "the first run")
    thread.stop(timeout=30)
    assert not thread.thread.is_alive()
    job = _job(engine)
    assert (job.lease_owner, job.last_status, job.state) == (None, "ok", {"cursor": 1})


def test_a_lowered_interval_takes_effect_at_the_next_start_not_after_the_old_one(engine, settings):
    calls: list[dict] = []
    clock = Clock()
    week = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, interval=604800), clock=clock
    )
    assert week.run_due() == ["refresh"]
    started = _job(engine).last_started_at
    clock.advance(600)
    # The operator restarts the worker with a 60 s interval: due 60 s after the last start.
    minute = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, interval=60), clock=clock
    )
    assert minute.run_due() == ["refresh"]
    job = _job(engine)
    assert job.interval_seconds == 60
    assert job.last_started_at > started
    assert len(calls) == 2


def test_a_changed_interval_pulls_the_next_run_in_but_never_pushes_it_later(engine, settings):
    calls: list[dict] = []
    clock = Clock()
    hour = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, interval=3600), clock=clock
    )
    assert hour.run_due() == ["refresh"]
    started = _job(engine).last_started_at

    # Lowered to 10 minutes, 2 minutes after the run: next at start + 10 min, not yet due.
    clock.advance(120)
    ten = ScheduleRunner(
        engine, settings, {}, owner="b", schedules=_registry(calls, interval=600), clock=clock
    )
    assert ten.run_due() == []
    job = _job(engine)
    assert (job.interval_seconds, job.next_run_at) == (600, started + timedelta(seconds=600))

    # Raised to a day: the run due at start + 10 min stays there.
    day = ScheduleRunner(
        engine, settings, {}, owner="c", schedules=_registry(calls, interval=86400), clock=clock
    )
    assert day.run_due() == []
    job = _job(engine)
    assert (job.interval_seconds, job.next_run_at) == (86400, started + timedelta(seconds=600))
    clock.advance(481)
    assert day.run_due() == ["refresh"]  # due as the 10-minute setting said
    job = _job(engine)
    assert job.next_run_at >= clock() + timedelta(seconds=86400 - 5)  # then a day apart


def test_a_schedule_never_started_with_a_lowered_interval_is_due_from_now(engine, settings):
    calls: list[dict] = []
    clock = Clock()
    with Session(engine) as s:  # a row from an older release, never run, due in a week
        s.add(
            PeriodicJob(
                name="refresh",
                interval_seconds=604800,
                next_run_at=clock() + timedelta(days=7),
                state={},
            )
        )
        s.commit()
    runner = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, interval=60), clock=clock
    )
    assert runner.run_due() == []
    job = _job(engine)
    assert job.interval_seconds == 60
    assert abs((job.next_run_at - (clock() + timedelta(seconds=60))).total_seconds()) < 5
    clock.advance(61)
    assert runner.run_due() == ["refresh"]


def test_workers_starting_together_with_a_new_interval_change_it_once_and_run_once(
    engine, settings
):
    calls: list[dict] = []
    clock = Clock()
    old = ScheduleRunner(
        engine, settings, {}, owner="a", schedules=_registry(calls, interval=604800), clock=clock
    )
    assert old.run_due() == ["refresh"]
    clock.advance(120)
    registry = _registry(calls, interval=60)
    barrier = threading.Barrier(4)
    ran: list[list[str]] = []

    def go(i: int) -> None:
        runner = ScheduleRunner(
            engine, settings, {}, owner=f"w{i}", schedules=registry, clock=clock
        )
        barrier.wait()
        ran.append(runner.run_due())

    threads = [threading.Thread(target=go, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ran) == [[], [], [], ["refresh"]]
    assert len(calls) == 2
    job = _job(engine)
    assert job.interval_seconds == 60


def test_a_long_run_is_shown_in_a_gauge_and_logged_not_cut_short(engine, settings, monkeypatch):
    """A run that hangs keeps its schedule from running anywhere else (its lease is renewed):
    nothing said so. The heartbeat sets roadmap_guard_schedule_running_seconds while it runs
    (0 after) and logs "schedule still running" past LONG_RUN_SECONDS; the run is not cut."""
    from structlog.testing import capture_logs

    from app.jobs import schedules as schedules_module
    from app.metrics import SCHEDULE_RUNNING_SECONDS

    monkeypatch.setattr(schedules_module, "LONG_RUN_SECONDS", 0.2)
    seen: list[float] = []

    def run(ctx: JobContext) -> dict:
        deadline = time.monotonic() + 0.6
        while time.monotonic() < deadline:  # a long run, observed from inside it
            time.sleep(0.05)
            seen.append(SCHEDULE_RUNNING_SECONDS.labels(schedule="slow")._value.get())
        return {"done": True}

    registry = {
        "slow": Schedule(name="slow", interval=lambda s: 600, run=run, enabled=lambda s, c: True)
    }
    runner = ScheduleRunner(engine, settings, {}, owner="a", schedules=registry, renew_every=0.05)
    with capture_logs() as logs:
        assert runner.run_due() == ["slow"]
    assert max(seen) >= 0.3  # the gauge followed the run
    assert SCHEDULE_RUNNING_SECONDS.labels(schedule="slow")._value.get() == 0
    still = [e for e in logs if e["event"] == "schedule still running"]
    assert still and all(e["schedule"] == "slow" for e in still)
    assert len(still) < 6  # once per LONG_RUN_SECONDS past it, not at every renewal
    assert _job(engine, "slow").state == {"done": True}  # it ran to its end
