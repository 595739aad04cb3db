"""Schedules when the clock jumps: a next run set by a clock that was ahead."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

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
