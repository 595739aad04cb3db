"""POST /webhooks/test: the test connector's ingest route, acked only after commit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.models import DealQueue, WebhookEvent


@pytest.fixture
def client(make_app):
    with TestClient(make_app(connectors={}), raise_server_exceptions=False) as c:
        yield c


def _delivery(*pairs: tuple[str, str]) -> dict:
    return {"events": [{"id": e, "deal_id": d, "type": "deal.updated"} for e, d in pairs]}


def _counts(engine) -> tuple[int, int]:
    with Session(engine) as s:
        inbox = s.exec(select(func.count()).select_from(WebhookEvent)).one()
        queued = s.exec(select(func.count()).select_from(DealQueue)).one()
    return inbox, queued


def test_events_are_stored_and_queued_once_per_deal(client, api_key, engine):
    body = _delivery(("e1", "D1"), ("e2", "D1"), ("e3", "D2"))
    first = client.post("/webhooks/test", json=body, headers=api_key("revops"))
    assert first.status_code == 200
    assert first.json() == {"received": 3, "new": 3, "duplicates": 0, "queued_deals": 2}
    again = client.post("/webhooks/test", json=body, headers=api_key("admin"))
    assert again.json() == {"received": 3, "new": 0, "duplicates": 3, "queued_deals": 0}
    assert _counts(engine) == (3, 2)
    with Session(engine) as s:
        row = s.exec(select(WebhookEvent).where(WebhookEvent.dedup_key == "e3")).one()
    assert (row.source, row.crm, row.deal_id, row.event_type) == (
        "test",
        "test",
        "D2",
        "deal.updated",
    )


def test_a_database_failure_after_the_inbox_insert_answers_5xx_and_stores_nothing(
    client, api_key, engine
):
    headers = api_key("revops")

    def fail_on_queue(conn, cursor, statement, parameters, context, executemany):
        # The inbox INSERT has already run in this transaction; the queue upsert fails.
        if statement.lstrip().upper().startswith("INSERT INTO DEAL_QUEUE"):
            raise OperationalError(statement, parameters, Exception("disk I/O error"))

    event.listen(engine, "before_cursor_execute", fail_on_queue)
    try:
        response = client.post("/webhooks/test", json=_delivery(("e1", "D1")), headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", fail_on_queue)
    assert response.status_code == 503
    assert "nothing stored" in response.json()["error"]["message"]
    assert _counts(engine) == (0, 0)
    # The sender retries and the event lands exactly once.
    retry = client.post("/webhooks/test", json=_delivery(("e1", "D1")), headers=headers)
    assert retry.json()["new"] == 1
    assert _counts(engine) == (1, 1)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"events": []},
        {"events": [{"id": "e1"}]},
        {"events": [{"id": "", "deal_id": "D1"}]},
        {"events": [{"id": "e1", "deal_id": "D1", "surprise": True}]},
        {"events": "e1"},
    ],
)
def test_a_malformed_delivery_is_422_and_stores_nothing(client, api_key, engine, body):
    response = client.post("/webhooks/test", json=body, headers=api_key("revops"))
    assert response.status_code == 422
    assert _counts(engine) == (0, 0)


def test_only_admin_and_revops_keys_may_deliver(client, api_key, engine):
    body = _delivery(("e1", "D1"))
    assert client.post("/webhooks/test", json=body).status_code == 401
    for role in ("viewer", "engineering", "approver"):
        assert client.post("/webhooks/test", json=body, headers=api_key(role)).status_code == 403
    assert _counts(engine) == (0, 0)


def test_the_request_id_is_echoed_or_generated(client, api_key):
    headers = {**api_key("revops"), "X-Request-ID": "req-123"}
    response = client.post("/webhooks/test", json=_delivery(("e1", "D1")), headers=headers)
    assert response.headers["x-request-id"] == "req-123"
    generated = client.get("/healthz").headers["x-request-id"]
    again = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == len(again) == 32 and generated != again
    assert int(generated, 16) >= 0  # hex
    bogus = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert bogus != "bad id\n"
