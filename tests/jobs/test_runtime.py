"""WORKER_MODE=embedded: the app's lifespan starts the worker and stops it with the app."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from app.jobs.ingest import InboundEvent, ingest_events
from app.jobs.runtime import EmbeddedRuntime
from app.jobs.worker import StopEvent
from tests.jobs.conftest import RecordingProcessor


def test_the_embedded_worker_runs_with_the_app_and_stops_with_it(make_app, engine):
    processor = RecordingProcessor()
    app = make_app(connectors={}, worker_mode="embedded", worker_poll_seconds=0.05)
    app.state.processor_factory = lambda _engine, _settings, _connectors: processor
    with TestClient(app):
        runtime = app.state.runtime
        threads = [runtime.worker_thread, runtime.schedules.thread]
        assert all(t.is_alive() for t in threads)
        ingest_events(engine, [InboundEvent("test", "e1", "test", "D1")])
        deadline = time.monotonic() + 10
        while not processor.seen and time.monotonic() < deadline:
            time.sleep(0.02)
    assert processor.deal_ids() == ["D1"]
    assert not any(t.is_alive() for t in threads)
    assert app.state.runtime is None


def test_an_app_started_without_serve_refuses_an_embedded_worker_that_would_dead_letter(
    make_app,
):
    """A HubSpot secret without the token: `serve` says so before starting; an app started
    another way (uvicorn on app.main:create_app) must not start the worker either."""
    import pytest

    app = make_app(connectors={}, worker_mode="embedded", hubspot_client_secret="s3cret")
    app.state.processor_factory = lambda *_: (_ for _ in ()).throw(AssertionError("built"))
    with pytest.raises(RuntimeError, match="HUBSPOT_ACCESS_TOKEN is not"), TestClient(app):
        pass
    assert app.state.runtime is None
    off = make_app(connectors={}, worker_mode="off", hubspot_client_secret="s3cret")
    with TestClient(off):  # an API beside workers that hold the token
        assert off.state.runtime is None


def test_worker_mode_off_starts_nothing(make_app):
    app = make_app(connectors={})
    app.state.processor_factory = lambda *_: (_ for _ in ()).throw(AssertionError("built"))
    with TestClient(app):
        assert app.state.runtime is None


def test_startup_installs_the_default_rules_when_asked(make_app, engine):
    from sqlalchemy import func
    from sqlmodel import Session, select

    from app.models import Rule

    with TestClient(make_app(connectors={}, install_default_rules=True)):
        pass
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rule)).one() > 0


class _RecordingSchedules:
    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def stop(self, timeout: float) -> None:
        self.timeouts.append(timeout)


def _runtime(worker_thread: threading.Thread) -> tuple[EmbeddedRuntime, _RecordingSchedules]:
    schedules = _RecordingSchedules()
    runtime = EmbeddedRuntime(
        stop_event=StopEvent(),
        worker=None,  # type: ignore[arg-type]  # stop() only joins its thread
        worker_thread=worker_thread,
        schedules=schedules,  # type: ignore[arg-type]
    )
    return runtime, schedules


def test_a_worker_that_used_the_grace_period_leaves_none_to_the_schedules():
    """Both threads stop on one event, in parallel: the process waits `grace` once, not twice
    (a supervisor allowing grace + a few seconds would otherwise kill it mid-job)."""
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, args=(30,), daemon=True)
    stuck.start()
    runtime, schedules = _runtime(stuck)
    try:
        runtime.stop(timeout=0.2)
        assert stuck.is_alive()  # the worker's batch outlived the grace period
        assert len(schedules.timeouts) == 1
        assert schedules.timeouts[0] < 0.1  # what was left of the 0.2 s, not 0.2 s again
    finally:
        release.set()
        stuck.join(30)


def test_a_worker_that_stops_at_once_leaves_the_grace_period_to_the_schedules():
    done = threading.Thread(target=lambda: None)
    done.start()
    runtime, schedules = _runtime(done)
    runtime.stop(timeout=30)
    assert len(schedules.timeouts) == 1
    assert 20 < schedules.timeouts[0] <= 30


def test_a_stop_event_counts_the_grace_period_from_the_first_request():
    stop = StopEvent()
    assert stop.remaining(5) == 5  # no request yet: all of it
    stop.set()
    first = stop.set_at
    assert first is not None
    stop.set()  # a second SIGTERM does not restart the clock
    assert stop.set_at == first
    assert 0 < stop.remaining(5) <= 5
    stop.set_at = first - 10  # as if the request came 10 s ago
    assert stop.remaining(5) == 0.0
    assert stop.is_set()


def test_the_apis_healthz_reports_the_embedded_worker(make_app):
    """`serve`'s worker runs in the API's process: one stuck on a batch, or stopped, processes
    nothing while /healthz (the image's health check) answered ok."""
    processor = RecordingProcessor()
    app = make_app(connectors={}, worker_mode="embedded", worker_poll_seconds=0.05)
    app.state.processor_factory = lambda _engine, _settings, _connectors: processor
    with TestClient(app) as client:
        alive = client.get("/healthz")
        assert alive.status_code == 200
        assert alive.json()["status"] == "ok" and alive.json()["worker"]["stuck"] is False

        app.state.runtime.worker._stuck_since = time.monotonic() - 1000  # a batch that hangs
        stuck = client.get("/healthz")
        assert stuck.status_code == 503
        assert stuck.json()["status"] == "unhealthy" and stuck.json()["worker"]["stuck"] is True
        app.state.runtime.worker._stuck_since = None


def test_the_apis_healthz_without_a_worker_is_the_process_answering(make_app):
    app = make_app(connectors={}, worker_mode="off")
    with TestClient(app) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
