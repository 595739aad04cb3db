"""Operator endpoints: health, readiness, metrics, the queue view, retry and replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.db import make_engine
from app.jobs import ingest as ingest_module
from app.jobs.queue import enqueue_deals
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.main import create_app
from app.metrics import crm_call
from app.migrate import upgrade_to_head
from app.models import AuditLog, DealQueue, utcnow
from tests.jobs.conftest import RecordingProcessor


@pytest.fixture
def client(make_app):
    with TestClient(make_app(connectors={}), raise_server_exceptions=True) as c:
        yield c


def _seed(engine, **statuses: str) -> dict[str, int]:
    """deal id → status; returns deal id → queue row id."""
    with Session(engine) as s:
        enqueue_deals(s, "test", list(statuses))
        s.flush()
        rows = s.exec(select(DealQueue)).all()
        for row in rows:
            row.status = statuses[row.deal_id]
            if row.status == "dead":
                row.attempts = 8
                row.last_error = f"PermanentError: {row.deal_id} refused"
            if row.status == "running":
                row.lease_owner = "w1"
            s.add(row)
        s.commit()
        return {r.deal_id: r.id for r in rows}


def test_healthz_needs_no_key(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_503_until_migrations_are_at_head(settings, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    app = create_app(settings=settings, engine=engine, connectors={})
    with TestClient(app) as c:
        before = c.get("/readyz")
        assert before.status_code == 503
        assert "roadmap-guard migrate" in before.json()["reason"]
        upgrade_to_head(engine)
        after = c.get("/readyz")
    assert after.status_code == 200
    assert after.json()["status"] == "ok"
    engine.dispose()


def test_readyz_is_ready_with_a_warning_when_the_database_is_newer_than_the_code(
    settings, tmp_path
):
    # Rolling upgrade: the new release migrates first; the old replicas must stay ready.
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from app.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'rolling.db'}")
    upgrade_to_head(engine)
    app = create_app(settings=settings, engine=engine, connectors={})
    with TestClient(app) as c:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_next_release'"))
        ahead = c.get("/readyz")
        assert ahead.status_code == 200
        assert ahead.json()["status"] == "ok"
        assert "newer migration (9999_next_release)" in ahead.json()["warning"]

        older = ScriptDirectory.from_config(alembic_config("sqlite://")).get_base()
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
        behind = c.get("/readyz")
        assert behind.status_code == 503
        assert "roadmap-guard migrate" in behind.json()["reason"]
    engine.dispose()


def test_readyz_is_503_when_the_database_is_unreachable(settings):
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(settings=settings, engine=engine, connectors={})) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable")


def _samples(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics, parsed: (name, sorted labels) → value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_metrics_report_queue_depth_and_webhook_counts(client, engine, api_key):
    _seed(engine, D1="pending", D2="pending", D3="dead")
    client.post(
        "/webhooks/test",
        json={"events": [{"id": "m1", "deal_id": "D9"}]},
        headers=api_key("revops"),
    )
    body = client.get("/metrics").text
    assert 'roadmap_guard_queue_depth{status="pending"} 3.0' in body
    assert 'roadmap_guard_queue_depth{status="dead"} 1.0' in body
    assert 'roadmap_guard_webhook_events_total{result="received",source="test"}' in body


def test_metrics_still_answer_while_the_database_is_down(settings, make_app):
    with TestClient(make_app(connectors={})) as c:
        up = _samples(c)
        assert up[("roadmap_guard_metrics_database_up", ())] == 1.0
        assert ("roadmap_guard_queue_depth", (("status", "pending"),)) in up
    down_engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    app = create_app(settings=settings, engine=down_engine, connectors={})
    with TestClient(app, raise_server_exceptions=True) as c:
        response = c.get("/metrics")
    assert response.status_code == 200
    down = {
        s.name: s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert down["roadmap_guard_metrics_database_up"] == 0.0
    assert "roadmap_guard_queue_depth" not in down  # skipped, not reported stale
    assert "python_info" in down  # the rest of the registry is still rendered
    down_engine.dispose()


def test_metrics_count_duplicates_rejections_outcomes_latency_and_crm_calls(
    client, engine, api_key, settings, monkeypatch
):
    """Each counter moves by exactly what happened (the registry is per process, so the test
    compares before and after)."""
    headers = api_key("revops")
    before = _samples(client)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    first = {"events": [{"id": "x1", "deal_id": "D1"}, {"id": "x2", "deal_id": "D2"}]}
    assert client.post("/webhooks/test", json=first, headers=headers).status_code == 200
    redelivery = {"events": [*first["events"], {"id": "x3", "deal_id": "D3"}]}
    ack = client.post("/webhooks/test", json=redelivery, headers=headers).json()
    assert (ack["new"], ack["duplicates"]) == (1, 2)

    def database_down(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    with monkeypatch.context() as m:
        m.setattr(ingest_module, "_ingest", database_down)
        down = {"events": [{"id": "y1", "deal_id": "D4"}, {"id": "y2", "deal_id": "D4"}]}
        assert client.post("/webhooks/test", json=down, headers=headers).status_code == 503

    refused = {"D2"}
    processor = RecordingProcessor(
        lambda item: (
            Outcome("dead", error="PermanentError: refused")
            if item.deal_id in refused
            else Outcome.done()
        )
    )
    assert Worker(engine, settings, processor).run_until_empty() == 3
    crm_call("test", "read_deals")
    crm_call("test", "read_deals")
    crm_call("test", "update_deal", "rate_limited")

    after = _samples(client)
    events = "roadmap_guard_webhook_events_total"
    assert delta(events, source="test", result="received") == 3
    assert delta(events, source="test", result="duplicate") == 2
    assert delta(events, source="test", result="rejected") == 2
    outcomes = "roadmap_guard_outcomes_total"
    assert delta(outcomes, crm="test", outcome="done") == 2
    assert delta(outcomes, crm="test", outcome="dead") == 1
    latency = "roadmap_guard_processing_seconds"  # finished evaluations of webhooks: priority 0
    assert delta(f"{latency}_count", priority="0") == 2
    assert delta(f"{latency}_sum", priority="0") > 0
    assert delta(f"{latency}_bucket", le="+Inf", priority="0") == 2
    calls = "roadmap_guard_crm_calls_total"
    assert delta(calls, connector="test", operation="read_deals", result="ok") == 2
    assert delta(calls, connector="test", operation="update_deal", result="rate_limited") == 1
    assert after[("roadmap_guard_queue_depth", (("status", "done"),))] == 2
    assert after[("roadmap_guard_queue_depth", (("status", "dead"),))] == 1


def test_queue_view_counts_and_pages_dead_rows_with_their_errors(client, engine, api_key):
    _seed(engine, D1="pending", D2="dead", D3="dead", D4="dead", D5="running")
    headers = api_key("viewer")
    page = client.get("/api/v1/queue?limit=2", headers=headers).json()
    assert page["counts"] == {"pending": 1, "running": 1, "done": 0, "dead": 3}
    assert page["pending_by_reason"] == {"webhook": {"pending": 1, "not_due": 0}}
    assert (page["rows"]["status"], page["rows"]["total"]) == ("dead", 3)
    assert len(page["rows"]["items"]) == 2
    rest = client.get("/api/v1/queue?limit=2&offset=2", headers=headers).json()
    deals = {i["deal_id"] for i in page["rows"]["items"] + rest["rows"]["items"]}
    assert deals == {"D2", "D3", "D4"}
    assert rest["rows"]["items"][0]["last_error"].startswith("PermanentError:")
    running = client.get("/api/v1/queue?status=running", headers=headers).json()
    assert [i["deal_id"] for i in running["rows"]["items"]] == ["D5"]
    with Session(engine) as s:
        enqueue_deals(s, "test", ["R1"], reason="roadmap")
        s.commit()
    pending = client.get("/api/v1/queue?status=pending", headers=headers).json()
    by_deal = {i["deal_id"]: (i["reason"], i["priority"]) for i in pending["rows"]["items"]}
    assert by_deal == {"D1": ("webhook", 0), "R1": ("roadmap", 1)}
    assert client.get("/api/v1/queue?status=lost", headers=headers).status_code == 422
    assert client.get("/api/v1/queue?limit=0", headers=headers).status_code == 422


def test_retrying_a_dead_row_makes_it_due_now_and_is_audited(client, engine, api_key):
    ids = _seed(engine, D1="dead", D2="running", D3="done")
    headers = api_key("revops", name="ops-alice")
    started = utcnow()
    response = client.post(f"/api/v1/queue/{ids['D1']}/retry", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["attempts"]) == ("pending", 0)
    with Session(engine) as s:
        row = s.get(DealQueue, ids["D1"])
        assert row.status == "pending" and row.due_at >= started.replace(microsecond=0)
        entry = s.exec(select(AuditLog).where(AuditLog.action == "queue.retry")).one()
    assert entry.actor == "revops:ops-alice"
    assert (entry.before["status"], entry.after["status"]) == ("dead", "pending")

    assert client.post(f"/api/v1/queue/{ids['D2']}/retry", headers=headers).status_code == 409
    assert client.post(f"/api/v1/queue/{ids['D3']}/retry", headers=headers).status_code == 409
    assert client.post("/api/v1/queue/999999/retry", headers=headers).status_code == 404
    viewer = api_key("viewer")
    assert client.post(f"/api/v1/queue/{ids['D1']}/retry", headers=viewer).status_code == 403


def test_replaying_dead_rows_requeues_all_of_them_and_is_audited(client, engine, api_key):
    ids = _seed(engine, D1="dead", D2="dead", D3="done")
    response = client.post("/api/v1/queue/replay-dead", headers=api_key("revops"))
    assert response.json() == {"replayed": 2, "ids": sorted([ids["D1"], ids["D2"]])}
    with Session(engine) as s:
        statuses = {r.deal_id: (r.status, r.attempts) for r in s.exec(select(DealQueue))}
        entry = s.exec(select(AuditLog).where(AuditLog.action == "queue.replay_dead")).one()
    assert statuses == {"D1": ("pending", 0), "D2": ("pending", 0), "D3": ("done", 0)}
    assert entry.after["replayed"] == 2
    again = client.post("/api/v1/queue/replay-dead", headers=api_key("admin"))
    assert again.json()["replayed"] == 0


def test_a_retry_never_turns_a_row_claimed_meanwhile_back_into_pending(engine):
    """The operator's request read the row pending; a worker claimed it before the write:
    the retry changes nothing (the API answers 409) rather than let a second worker take it."""
    from app.jobs import queue

    ids = _seed(engine, D1="pending")
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(DealQueue, ids["D1"])  # what the request read
        s.expunge(row)
    assert row.status == "pending"
    [claimed] = queue.claim_batch(
        engine, owner="worker-1", limit=10, lease_seconds=60, now=utcnow() + timedelta(hours=1)
    )
    assert claimed.deal_id == "D1"
    with Session(engine) as s:
        s.add(row)
        assert queue.retry_now(s, row) is False
        s.commit()
        assert (row.status, row.lease_owner) == ("running", "worker-1")
