"""What the webhook routes refuse before doing any work, and how long an ack may wait."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import event
from sqlmodel import Session, select

from app.api.webhooks_hubspot import MAX_BODY_BYTES
from app.connectors.hubspot.signatures import sign_v3
from app.models import DealQueue, WebhookEvent
from tests.connectors.hubspot.conftest import hubspot_event as _event

URL = "http://testserver/webhooks/hubspot"


def _stored(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(WebhookEvent)).all())


@pytest.fixture
def client(make_app, hubspot_settings):
    with TestClient(make_app(connectors={}, **hubspot_settings)) as c:
        yield c


def _plausible() -> dict[str, str]:
    """Signature headers that pass the look before the body is read (the signature itself
    needs the body)."""
    return {
        "X-HubSpot-Signature-v3": "checked-once-the-body-is-read",
        "X-HubSpot-Request-Timestamp": str(int(time.time() * 1000)),
    }


def test_a_body_over_the_limit_is_refused_before_it_is_read(client, fake, engine) -> None:
    big = b"[" + b" " * (MAX_BODY_BYTES + 1) + b"]"
    # Declared length: refused from the header.
    r = client.post(URL, content=big, headers={"Content-Type": "application/json", **_plausible()})
    assert r.status_code == 413
    assert r.json()["error"] == {
        "code": "payload_too_large",
        "message": f"body larger than {MAX_BODY_BYTES} bytes",
    }

    # Chunked (no Content-Length): counted as it arrives.
    def chunks():
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    r = client.post(
        URL, content=chunks(), headers={"Content-Type": "application/json", **_plausible()}
    )
    assert r.status_code == 413
    assert _stored(engine) == 0

    # A delivery under the limit still works.
    body, headers = fake.signed_request(URL, [_event(fake)])
    assert client.post(URL, content=body, headers=headers).status_code == 200


@pytest.mark.parametrize("stamp", ["9" * 5000, "-1700000000000", "1.7e12", " 1700000000000"])
def test_a_malformed_timestamp_is_a_401_not_a_crash(client, fake, engine, stamp) -> None:
    body, headers = fake.signed_request(URL, [_event(fake)])
    r = client.post(URL, content=body, headers={**headers, "X-HubSpot-Request-Timestamp": stamp})
    assert r.status_code == 401
    assert "X-HubSpot-Request-Timestamp" in r.json()["error"]["message"]
    assert _stored(engine) == 0


def test_an_ack_not_confirmed_in_time_is_a_503_and_the_redelivery_a_duplicate(
    make_app, hubspot_settings, fake, engine
) -> None:
    """A commit stuck behind a lock (another process holding SQLite, an overloaded server):
    the sender hears 503 within the bound instead of timing out, the commit lands when the
    lock goes, and the redelivery is recognised."""
    entered, release = threading.Event(), threading.Event()

    def hold(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO DEAL_QUEUE"):
            entered.set()
            release.wait(30)

    app = make_app(connectors={}, webhook_ack_timeout_seconds=0.3, **hubspot_settings)
    with TestClient(app) as client:
        body, headers = fake.signed_request(URL, [_event(fake)])
        event.listen(engine, "before_cursor_execute", hold)
        try:
            r = client.post(URL, content=body, headers=headers)
            assert entered.is_set()
            assert r.status_code == 503
            assert "not confirmed stored within 0.3 s" in r.json()["error"]["message"]
        finally:
            release.set()
            app.state.ingest_writer.close()  # the held commit completes
            event.remove(engine, "before_cursor_execute", hold)
        assert _stored(engine) == 1
        again = client.post(URL, content=body, headers=headers)
        assert again.status_code == 200
        assert (again.json()["new"], again.json()["duplicates"]) == (0, 1)
    with Session(engine) as s:
        assert [q.deal_id for q in s.exec(select(DealQueue))] == ["555"]


def _rejected() -> float:
    sample = REGISTRY.get_sample_value(
        "roadmap_guard_webhook_events_total", {"source": "hubspot", "result": "rejected"}
    )
    return sample or 0.0


def _signed_raw(fake, body: bytes) -> tuple[bytes, dict[str, str]]:
    """A body that is not a valid delivery, correctly signed: the sender's own bug."""
    ts = str(int(time.time() * 1000))
    signature = sign_v3(fake.client_secret, "POST", URL, body, ts)
    return body, {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": ts}


def test_every_refused_delivery_is_counted_as_rejected(client, fake, engine) -> None:
    """A signed body that does not parse is the same alert as a bad signature: the sender's
    payloads are not reaching us. Each refusal counts once; a stored delivery not at all."""
    before = _rejected()
    body, headers = fake.signed_request(URL, [_event(fake)])
    refusals = [
        (b"[" + b" " * (MAX_BODY_BYTES + 1) + b"]", _plausible(), 413),
        (b"[" + b" " * (MAX_BODY_BYTES + 1) + b"]", {}, 401),  # unsigned: refused unread
        (body, {**headers, "X-HubSpot-Signature-v3": "not-it"}, 401),
        (*_signed_raw(fake, b"not json"), 422),
        (*_signed_raw(fake, b'{"eventId": 1}'), 422),  # an object, not an array
    ]
    for content, hdrs, status in refusals:
        assert client.post(URL, content=content, headers=hdrs).status_code == status
    assert _rejected() - before == len(refusals)
    assert client.post(URL, content=body, headers=headers).status_code == 200
    assert _rejected() - before == len(refusals)
    assert _stored(engine) == 1


def test_malformed_events_are_counted_apart(client, fake, engine) -> None:
    """A malformed event in a signed delivery is stored aside (the delivery's other events are
    kept) and counted, so the sender's bug still shows on a dashboard."""

    def malformed() -> float:
        labels = {"source": "hubspot", "result": "malformed"}
        return REGISTRY.get_sample_value("roadmap_guard_webhook_events_total", labels) or 0.0

    before, rejected = malformed(), _rejected()
    body, headers = _signed_raw(fake, b'[{"eventId": 1}, 7]')
    assert client.post(URL, content=body, headers=headers).status_code == 200
    assert malformed() - before == 2 and _rejected() == rejected
    assert _stored(engine) == 2


def test_an_unsigned_delivery_is_refused_before_its_body_is_read(client, engine) -> None:
    """No signature, a stale or malformed timestamp: 401 before a byte of the body is read
    (anyone reaching the port made the service read and hold 20 MB of an unsigned body first).
    Security review 10 (helper 152)."""
    read: list[int] = []

    def chunks():
        for _ in range(4):
            read.append(1)
            yield b" " * 65536

    stale = str(int(time.time() * 1000) - 10 * 60 * 1000)
    for headers in (
        {},
        {"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": stale},
        {"X-HubSpot-Signature-v3": "x", "X-HubSpot-Request-Timestamp": "soon"},
    ):
        read.clear()
        r = client.post(
            URL, content=chunks(), headers={"Content-Type": "application/json", **headers}
        )
        assert r.status_code == 401, r.text
        assert "invalid HubSpot signature" in r.json()["error"]["message"]
        assert len(read) < 4  # the body was not read to its end (4 chunks when it was)
    assert _stored(engine) == 0
