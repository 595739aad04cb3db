"""WORKER_MODE=embedded: the app's lifespan starts the worker and stops it with the app."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from app.jobs.ingest import InboundEvent, ingest_events
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
