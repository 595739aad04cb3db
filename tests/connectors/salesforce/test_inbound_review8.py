"""Salesforce deliveries as admins wire them and as real traffic makes them (review 8)."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from app.connectors.salesforce.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from app.models import DealQueue, WebhookEvent
from app.sandbox.salesforce import ORG_ID, outbound_message

SECRET = "events-shared-secret"
TOKEN = "outbound-url-token"
OPPORTUNITY = "006000000000001AAA"


@pytest.fixture
def client(make_app) -> TestClient:
    """Both Salesforce routes configured."""
    app = make_app(
        connectors={},
        salesforce_events_secret=SecretStr(SECRET),
        salesforce_outbound_token=SecretStr(TOKEN),
        salesforce_org_id=ORG_ID,
    )
    return TestClient(app)


def _queued(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(r.deal_id for r in s.exec(select(DealQueue)))


def _stored(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(WebhookEvent)).all())


def _signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(SECRET, stamp, body),
    }


def test_endpoint_urls_entered_with_a_trailing_slash_are_served_not_redirected(client, engine):
    """An admin who entered `.../webhooks/salesforce/events/` in the Named Credential, or the
    Outbound Message URL as `.../outbound/?token=...`, got a 307 to the URL without the slash
    (and with http://, as the service sees itself behind a TLS proxy). Salesforce follows no
    redirect: the Apex callout logged a 307, the Outbound Message was retried for 24 hours and
    dropped, and nothing was ever stored."""
    body = (
        b'{"events": [{"id": "job-1:006000000000001AAA", "opportunityId": "006000000000001AAA"}]}'
    )
    r = client.post(
        "/webhooks/salesforce/events/", content=body, headers=_signed(body), follow_redirects=False
    )
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))
    assert r.json()["new"] == 1

    message = outbound_message([("04l000000000001AAA", "006000000000002AAA", {})])
    r = client.post(
        f"/webhooks/salesforce/outbound/?token={TOKEN}",
        content=message,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        follow_redirects=False,
    )
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))
    assert b"<Ack>true</Ack>" in r.content
    assert _stored(engine) == 2
    assert _queued(engine) == ["006000000000001AAA", "006000000000002AAA"]
    # The documented URLs are the ones the OpenAPI document lists: the slash forms are not.
    paths = client.get("/openapi.json").json()["paths"]
    assert "/webhooks/salesforce/events" in paths
    assert "/webhooks/salesforce/events/" not in paths
