"""HubSpot webhook deliveries as real traffic makes them (review 8)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import DealQueue, WebhookEvent
from tests.connectors.hubspot.conftest import hubspot_event as _event

URL = "http://testserver/webhooks/hubspot"
# HubSpot's limit on a note's text (hs_note_body): "limited to 65,536 characters".
NOTE_BODY_LIMIT = 65_536


@pytest.fixture
def client(make_app, hubspot_settings):
    # A generous ack bound: these tests are about what is accepted, not how fast (20 MB
    # deliveries on a machine running other suites).
    app = make_app(connectors={}, webhook_ack_timeout_seconds=30.0, **hubspot_settings)
    with TestClient(app) as c:
        yield c


def _note_edit(fake, event_id: int, note_id: int, text: str) -> dict:
    """A generic `object.propertyChange` of a note's hs_note_body, as HubSpot sends it: the
    new value of the property travels in the event."""
    return _event(
        fake,
        eventId=event_id,
        subscriptionType="object.propertyChange",
        objectTypeId="0-46",
        objectId=note_id,
        propertyName="hs_note_body",
        propertyValue=text,
    )


@pytest.mark.parametrize("char", ["a", "日"], ids=["ascii", "three-byte-utf8"])
def test_a_full_batch_of_long_notes_is_stored_not_refused_as_too_large(
    client, fake, engine, char
) -> None:
    """The subscription setup asks for (`object.propertyChange: note (hs_note_body)`) carries
    each edited note's text, up to 65,536 characters, and HubSpot batches up to 100 events: a
    notes import or a burst of pasted e-mail threads made deliveries of several MB. The route
    refused any body over 1 MB with a 413, which HubSpot retries and then drops: the note
    edits, and the deal changes batched with them, were lost."""
    text = f"<p>We promised SSO by Q3. {char * (NOTE_BODY_LIMIT - 40)}</p>"
    assert len(text) <= NOTE_BODY_LIMIT
    events = [_note_edit(fake, 1000 + i, 9000 + i, text) for i in range(99)]
    events.append(_event(fake, eventId=1, objectId=42))  # a deal change in the same batch
    body, headers = fake.signed_request(URL, events)
    assert len(body) > 6_000_000
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text[:500]
    ack = r.json()
    assert (ack["received"], ack["new"], ack["queued_deals"]) == (100, 100, 1)
    with Session(engine) as s:
        assert len(s.exec(select(WebhookEvent)).all()) == 100
        assert [q.deal_id for q in s.exec(select(DealQueue)).all()] == ["42"]


def test_a_target_url_entered_with_a_trailing_slash_is_served_not_redirected(
    client, fake, engine
) -> None:
    """A target URL set in HubSpot as `.../webhooks/hubspot/` got a 307 to the URL without the
    slash, on http:// (as the service sees itself behind a TLS proxy): a delivery HubSpot
    counts as failed, nothing stored. It is served, its signature checked over the URL
    HubSpot called (with the slash)."""
    url = URL + "/"
    body, headers = fake.signed_request(url, [_event(fake, eventId=7, objectId=77)])
    r = client.post(url, content=body, headers=headers, follow_redirects=False)
    assert r.status_code == 200, (r.status_code, r.headers.get("location"))
    assert r.json()["queued_deals"] == 1
    with Session(engine) as s:
        assert [q.deal_id for q in s.exec(select(DealQueue)).all()] == ["77"]
