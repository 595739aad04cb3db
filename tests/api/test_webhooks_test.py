"""POST /webhooks/test: the test connector's ingest route, acked only after commit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.api import webhooks_test as route
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


@pytest.fixture
def parsed(monkeypatch) -> list[bytes]:
    """Every body the route parses."""
    seen: list[bytes] = []
    real = route.TestDelivery.model_validate_json

    def spy(data, **kwargs):
        seen.append(data)
        return real(data, **kwargs)

    monkeypatch.setattr(route.TestDelivery, "model_validate_json", spy)
    return seen


def test_the_key_is_checked_before_the_body_is_read_or_parsed(client, api_key, engine, parsed):
    """An unauthenticated 9 MB body used to be read and parsed whole before the key check
    (a 60 MB one doubled the service's memory): now it is a 401, or a 413 past the cap."""
    body = _delivery(("e1", "D1"))
    assert client.post("/webhooks/test", json=body).status_code == 401
    for role in ("viewer", "engineering"):
        assert client.post("/webhooks/test", json=body, headers=api_key(role)).status_code == 403
    assert parsed == []
    one = b'{"id":"x","deal_id":"1"}'
    big = b'{"events":[' + b",".join([one] * (9 * 1024 * 1024 // len(one))) + b"]}"
    json_type = {"content-type": "application/json"}

    def chunked():
        for i in range(0, len(big), 1024 * 1024):
            yield big[i : i + 1024 * 1024]

    for headers in (json_type, {**json_type, **api_key("revops")}):
        for content in (big, chunked()):
            r = client.post("/webhooks/test", content=content, headers=headers)
            assert r.status_code in (401, 413), r.text
            if "authorization" in {k.lower() for k in headers}:
                assert r.status_code == 413
                assert r.json()["error"]["code"] == "payload_too_large"
    assert parsed == []
    assert _counts(engine) == (0, 0)


def test_a_body_that_is_not_json_is_a_422_like_any_malformed_delivery(client, api_key, engine):
    r = client.post(
        "/webhooks/test",
        content=b'{"events": [',
        headers={**api_key("revops"), "content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_request"
    assert _counts(engine) == (0, 0)


def test_a_body_that_is_not_utf8_is_a_422_not_a_500(app, api_key):
    """Found by schemathesis: the validation error carried the raw bytes, and shaping the
    error body failed on them."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(
            "/webhooks/test",
            content=b"r\xcb\x00\x1bFC\x01}\x86",
            headers={**api_key("admin"), "Content-Type": "application/json"},
        )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"]
