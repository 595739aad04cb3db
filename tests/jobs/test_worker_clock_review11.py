"""Review 11: leases and due times are written with each worker's clock. A worker compares its
clock with the database server's when it starts and warns when they differ by more than a few
seconds (a clock behind by 2/3 of LEASE_SECONDS has its leases lapse between renewals)."""

from __future__ import annotations

from structlog.testing import capture_logs

from app.jobs.worker import Worker
from tests.jobs.conftest import RecordingProcessor


def _skew_warnings(logs: list[dict]) -> list[dict]:
    return [e for e in logs if "clock differs from the database server" in e["event"]]


def test_a_worker_warns_when_its_clock_is_off_from_the_databases(engine, worker_settings, clock):
    clock.advance(-300)  # five minutes behind
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    with capture_logs() as logs:
        skew = worker.check_clock()
    assert skew is not None and -310 < skew < -290
    [warning] = _skew_warnings(logs)
    assert warning["log_level"] == "warning" and warning["leases_lapse_early"] is True


def test_a_worker_on_time_says_nothing(engine, worker_settings, clock):
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    with capture_logs() as logs:
        skew = worker.check_clock()
    assert skew is not None and abs(skew) < 5
    assert _skew_warnings(logs) == []


def test_the_loop_checks_its_clock_when_it_starts(engine, worker_settings, clock):
    """Through run_forever (the standalone and the embedded worker), stopping at once."""
    import threading

    clock.advance(120)
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    stop = threading.Event()
    stop.set()
    with capture_logs() as logs:
        worker.run_forever(stop)
    [warning] = _skew_warnings(logs)
    assert 110 < warning["skew_seconds"] < 130 and warning["leases_lapse_early"] is False
