"""A database outage through the worker's claim and the schedule runner's pass: one traceback,
then a line a minute, the tries slowing to one a minute; the recovery logged once. Each logged a
traceback at every poll (~10 KB a second, ~900 MB a day)."""

from __future__ import annotations

import threading
from itertools import pairwise

from sqlalchemy.exc import OperationalError
from structlog.testing import capture_logs

from app.jobs.schedules import ScheduleRunner
from app.jobs.streak import FailureStreak
from app.jobs.worker import Worker
from tests.jobs.conftest import RecordingProcessor

OUTAGE = OperationalError("SELECT 1", {}, Exception("connection refused"))


def test_a_streak_logs_once_then_a_line_a_minute_and_slows_down():
    now = [0.0]
    streak = FailureStreak("claim", 0.4, clock=lambda: now[0])
    waits = []
    with capture_logs() as logs:
        for _ in range(100):  # tries 0.4 s apart at first, a minute apart at last
            waits.append(streak.failed(OUTAGE))
            now[0] += 0.1 + waits[-1]  # the try itself takes a little
        streak.ok()
        streak.ok()  # no streak: nothing more
    assert waits[:6] == [0.4, 0.8, 1.6, 3.2, 6.4, 12.8] and set(waits[8:]) == {60.0}
    events = [(e["event"], e["log_level"]) for e in logs]
    assert events[0] == ("claim failed", "error") and "exc_info" in logs[0]
    still = [e for e in logs if e["event"] == "claim still failing"]
    # never two lines within a minute: none for the eight tries of the first minute
    seconds = [e["seconds"] for e in still]
    assert seconds[0] >= 60 and all(b - a >= 60 for a, b in pairwise(seconds))
    assert len(still) <= 100 - 8  # at most one a try once tries are a minute apart
    assert still[-1]["failures"] == 100 and still[-1]["error"] == "OperationalError"
    assert events[-1] == ("claim recovered", "info") and logs[-1]["failures"] == 100


def test_the_worker_loop_waits_longer_while_claims_fail(engine, worker_settings, monkeypatch):
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w1")
    stop = threading.Event()
    waits: list[float] = []
    calls = {"n": 0}

    def claim():
        calls["n"] += 1
        if calls["n"] <= 5:
            raise OUTAGE
        stop.set()
        return []

    def wait(seconds=None):
        waits.append(seconds)
        return stop.is_set()

    monkeypatch.setattr(worker, "claim", claim)
    monkeypatch.setattr(stop, "wait", wait)
    with capture_logs() as logs:
        worker._loop(stop)
    base = worker_settings.worker_poll_seconds * 4
    assert waits[:5] == [base, base * 2, base * 4, base * 8, base * 16]
    assert [e["event"] for e in logs].count("claim failed") == 1
    assert "claim recovered" in [e["event"] for e in logs]


def test_the_schedule_runner_waits_longer_while_passes_fail(engine, worker_settings, monkeypatch):
    runner = ScheduleRunner(engine, worker_settings, {}, owner="w1")
    stop = threading.Event()
    waits: list[float] = []
    calls = {"n": 0}

    def run_due(_stop=None):
        calls["n"] += 1
        if calls["n"] <= 3:
            raise OUTAGE
        stop.set()
        return []

    def wait(seconds=None):
        waits.append(seconds)
        return stop.is_set()

    monkeypatch.setattr(runner, "run_due", run_due)
    monkeypatch.setattr(stop, "wait", wait)
    with capture_logs() as logs:
        runner.run_forever(stop, poll_seconds=1.0)
    assert waits == [1.0, 2.0, 4.0, 1.0]
    assert [e["event"] for e in logs].count("schedule pass failed") == 1
