"""A standalone worker's own metrics server (`roadmap-guard worker --metrics-port N`): with
WORKER_MODE=off the outcomes, processing latency and CRM calls happen in the worker process,
so the API's /metrics cannot show them."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.jobs.ingest import InboundEvent, ingest_events
from app.jobs.queue import enqueue_deals
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.metrics import crm_call, start_metrics_server
from tests.jobs.conftest import RecordingProcessor


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_server():
    server = start_metrics_server(0, "127.0.0.1")  # port 0: the OS picks a free one
    yield server
    server.shutdown()
    server.server_close()


def test_worker_metrics_server_serves_outcomes_latency_and_crm_calls(
    engine, worker_settings, metrics_server
):
    base = f"http://127.0.0.1:{metrics_server.server_port}"
    before = _samples(httpx.get(f"{base}/metrics").text)

    def decide(item):
        crm_call("test", "read_deals")  # what a connector does for each CRM call
        return (
            Outcome.done()
            if item.deal_id != "D2"
            else Outcome("dead", error="PermanentError: refused")
        )

    started = time.monotonic()
    ingest_events(
        engine,
        [
            InboundEvent(
                source="test", dedup_key=f"m-{d}", crm="test", deal_id=d, event_type="x", payload={}
            )
            for d in ("D1", "D2", "D3")
        ],
    )
    with Session(engine) as s:  # a roadmap change's re-check: a sweep's latency apart
        enqueue_deals(s, "test", ["R1"], reason="roadmap")
        s.commit()
    Worker(engine, worker_settings, RecordingProcessor(decide)).run_until_empty()
    elapsed = time.monotonic() - started

    response = httpx.get(f"{base}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("roadmap_guard_outcomes_total", crm="test", outcome="done") == 3
    assert delta("roadmap_guard_outcomes_total", crm="test", outcome="dead") == 1
    # done deals only, a rep's change (priority 0) apart from a sweep's re-check (1)
    assert delta("roadmap_guard_processing_seconds_count", priority="0") == 2
    assert delta("roadmap_guard_processing_seconds_count", priority="1") == 1
    # From enqueue to finish, per done deal: more than nothing, less than the test took
    # (stored times are read back at microsecond precision; 10 ms of slack for that).
    assert 0 < delta("roadmap_guard_processing_seconds_sum", priority="0") <= 2 * elapsed + 0.01
    calls = delta(
        "roadmap_guard_crm_calls_total", connector="test", operation="read_deals", result="ok"
    )
    assert calls == 4


def test_worker_healthz_follows_the_worker_loop(engine, worker_settings):
    worker = Worker(
        engine,
        worker_settings.model_copy(update={"worker_poll_seconds": 0.05}),
        RecordingProcessor(),
    )
    server = start_metrics_server(0, "127.0.0.1", health=worker.health)
    base = f"http://127.0.0.1:{server.server_port}"
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
    try:
        thread.start()
        time.sleep(0.2)
        alive = httpx.get(f"{base}/healthz")
        assert alive.status_code == 200
        assert alive.json()["status"] == "ok" and alive.json()["owner"] == worker.owner
        assert worker.health(stale_after=60)[0]

        stop.set()
        thread.join(timeout=10)
        stopped = httpx.get(f"{base}/healthz")
        assert stopped.status_code == 503
        assert stopped.json()["status"] == "unhealthy" and stopped.json()["stopped"] is True
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def test_a_worker_loop_that_stopped_turning_is_unhealthy(engine, worker_settings):
    worker = Worker(engine, worker_settings, RecordingProcessor())
    worker.beat()
    assert worker.health()[0]
    worker._last_beat -= 500  # the loop has not turned for 500 s (stuck somewhere)
    healthy, details = worker.health()
    assert not healthy and details["seconds_since_last_loop"] >= 500


def test_refused_credentials_raise_the_gauge_and_log_once_per_change(caplog):
    from app.metrics import CRM_CREDENTIALS_REFUSED

    gauge = CRM_CREDENTIALS_REFUSED.labels(crm="test-refusing")
    caplog.set_level("INFO", logger="app.metrics")

    def said(level: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelname == level]

    crm_call("test-refusing", "read_deals", "unauthorized")
    crm_call("test-refusing", "read_deals", "unauthorized")
    crm_call("test-refusing", "read_deals", "timeout")  # says nothing about the token
    assert gauge._value.get() == 1
    assert len(said("ERROR")) == 1 and "refused our credentials" in said("ERROR")[0]

    crm_call("test-refusing", "read_deals", "ok")
    crm_call("test-refusing", "read_deals", "ok")
    assert gauge._value.get() == 0
    assert len(said("WARNING")) == 1 and "accepts our credentials again" in said("WARNING")[0]
    assert len(said("ERROR")) == 1
