"""Oversized Salesforce deliveries are refused with 413 before they are read."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from app.api.webhooks_salesforce import MAX_EVENTS_BYTES, MAX_OUTBOUND_BYTES
from app.models import WebhookEvent


def _chunks(total: int):
    size = 65536
    for _ in range(total // size + 2):
        yield b" " * size


def test_oversized_event_batches_and_outbound_messages_get_413(make_app, engine):
    app = make_app(
        connectors={},
        salesforce_events_secret=SecretStr("events-shared-secret"),
        salesforce_outbound_token=SecretStr("outbound-token"),
        salesforce_org_id="00D000000000001AAA",
    )
    client = TestClient(app)
    r = client.post("/webhooks/salesforce/events", content=_chunks(MAX_EVENTS_BYTES))
    assert r.status_code == 413
    assert r.json()["error"]["message"] == f"body larger than {MAX_EVENTS_BYTES} bytes"

    r = client.post(
        "/webhooks/salesforce/outbound?token=outbound-token",
        content=_chunks(MAX_OUTBOUND_BYTES),
        headers={"Content-Type": "text/xml"},
    )
    assert r.status_code == 413
    assert "larger than" in r.text and "soapenv:Fault" in r.text
    with Session(engine) as s:
        assert s.exec(select(WebhookEvent)).all() == []
