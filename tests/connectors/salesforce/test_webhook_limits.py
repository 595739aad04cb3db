"""Oversized Salesforce deliveries are refused with 413 before they are read."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlmodel import Session, select

from app.api.webhooks_salesforce import MAX_EVENTS_BYTES, MAX_OUTBOUND_BYTES
from app.connectors.salesforce.events import EVENTS_SOURCE, OUTBOUND_SOURCE
from app.connectors.salesforce.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from app.models import WebhookEvent

SECRET = "events-shared-secret"


@pytest.fixture
def client(make_app) -> TestClient:
    """Both Salesforce routes configured."""
    app = make_app(
        connectors={},
        salesforce_events_secret=SecretStr(SECRET),
        salesforce_outbound_token=SecretStr("outbound-token"),
        salesforce_org_id="00D000000000001AAA",
    )
    return TestClient(app)


def _chunks(total: int):
    size = 65536
    for _ in range(total // size + 2):
        yield b" " * size


def test_oversized_event_batches_and_outbound_messages_get_413(client, engine):
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


def _rejected(source: str) -> float:
    sample = REGISTRY.get_sample_value(
        "roadmap_guard_webhook_events_total", {"source": source, "result": "rejected"}
    )
    return sample or 0.0


def test_every_refused_delivery_is_counted_as_rejected(client):
    """Too large, unsigned, and signed but malformed: each refusal counts once, on both routes."""
    events_before, outbound_before = _rejected(EVENTS_SOURCE), _rejected(OUTBOUND_SOURCE)
    bad_shape = b'{"events": [{"id": "e1", "opportunityId": "not-an-id"}]}'
    stamp = str(int(time.time()))
    events_refusals = [
        (_chunks(MAX_EVENTS_BYTES), {}, 413),
        (bad_shape, {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: "v1=0"}, 401),
        (
            bad_shape,
            {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(SECRET, stamp, bad_shape)},
            422,
        ),
    ]
    for content, headers, status in events_refusals:
        r = client.post("/webhooks/salesforce/events", content=content, headers=headers)
        assert r.status_code == status
    outbound = "/webhooks/salesforce/outbound?token="
    outbound_refusals = [
        (f"{outbound}outbound-token", _chunks(MAX_OUTBOUND_BYTES), 413),
        (f"{outbound}wrong", b"<x/>", 401),
        (f"{outbound}outbound-token", b"<not-soap/>", 400),
    ]
    for url, content, status in outbound_refusals:
        r = client.post(url, content=content, headers={"Content-Type": "text/xml"})
        assert r.status_code == status
    assert _rejected(EVENTS_SOURCE) - events_before == len(events_refusals)
    assert _rejected(OUTBOUND_SOURCE) - outbound_before == len(outbound_refusals)
