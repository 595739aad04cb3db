"""HubSpot v3 signatures behind a TLS proxy (security review 10, helper 152): the URL a
delivery is checked against is PUBLIC_BASE_URL and the path received, never the Host or
X-Forwarded-* headers, which anyone sending a request controls. A guard, not a fix."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.connectors.hubspot.conftest import hubspot_event

SPOOFED = {
    "Host": "evil.example",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Prefix": "/hooks",
    "Forwarded": "proto=https;host=evil.example",
}


@pytest.fixture
def client(make_app, hubspot_settings):
    app = make_app(connectors={}, public_base_url="https://rg.example.com", **hubspot_settings)
    with TestClient(app, base_url="http://internal:8000") as c:
        yield c


def test_spoofed_proxy_headers_neither_pass_a_bad_signature_nor_fail_a_good_one(client, fake):
    # Signed for the URL the attacker's headers name: refused whatever they say.
    body, headers = fake.signed_request(
        "https://evil.example/webhooks/hubspot", [hubspot_event(fake, eventId=1)]
    )
    r = client.post("/webhooks/hubspot", content=body, headers={**headers, **SPOOFED})
    assert r.status_code == 401, r.text

    # Signed for PUBLIC_BASE_URL (what HubSpot calls), reaching us over plain http from the
    # proxy with whatever headers: accepted.
    body, headers = fake.signed_request(
        "https://rg.example.com/webhooks/hubspot", [hubspot_event(fake, eventId=2)]
    )
    for extra in ({}, SPOOFED):
        r = client.post("/webhooks/hubspot", content=body, headers={**headers, **extra})
        assert r.status_code == 200, r.text
