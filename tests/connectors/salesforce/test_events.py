"""POST /webhooks/salesforce/events: HMAC over timestamp + raw body, then the events batch."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from app.connectors.salesforce.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    sign,
    verify,
)
from app.models import DealQueue, WebhookEvent

SECRET = "events-shared-secret"
URL = "/webhooks/salesforce/events"


@pytest.fixture
def events_client(make_app):
    app = make_app(
        connectors={},
        salesforce_events_secret=SecretStr(SECRET),
        salesforce_integration_user_id="005000000000001AAA",
    )
    return TestClient(app)


def signed(body: bytes, *, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(ts if ts is not None else int(time.time()))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: sign(secret, stamp, body),
        "Content-Type": "application/json",
    }


def batch(*events: dict) -> bytes:
    return json.dumps({"events": list(events)}).encode()


def test_known_answer_signature():
    # HMAC-SHA256(key="secret", msg="1700000000.{}") computed independently with openssl:
    # printf '1700000000.{}' | openssl dgst -sha256 -hmac secret
    assert sign("secret", "1700000000", b"{}") == (
        "v1=b8569b78799ff9e3cbff0fc2d63a33a2b57f3282abd07c37ae5e8e7d79a5f163"
    )
    verify("secret", "1700000000", sign("secret", "1700000000", b"{}"), b"{}", now=1700000100)
    with pytest.raises(SignatureError, match="window"):
        verify("secret", "1700000000", sign("secret", "1700000000", b"{}"), b"{}", now=1700000301)
    with pytest.raises(SignatureError, match="does not match"):
        verify("secret", "1700000000", sign("secret", "1700000000", b"{}"), b"{ }", now=1700000000)


def test_signed_batch_is_stored_and_queued_with_15_char_ids_normalised(events_client, engine):
    body = batch(
        {
            "id": "flow-1",
            "opportunityId": "006000000000001",
            "changed": ["StageName"],
            "source": "flow",
        },
        {"id": "apex-1", "opportunityId": "006000000000002AAA", "changed": ["Amount"]},
    )
    r = events_client.post(URL, content=body, headers=signed(body))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "received": 2,
        "new": 2,
        "duplicates": 0,
        "queued_deals": 2,
        "malformed": [],
    }
    with Session(engine) as s:
        assert sorted(q.deal_id for q in s.exec(select(DealQueue))) == [
            "006000000000001AAA",
            "006000000000002AAA",
        ]
    again = events_client.post(URL, content=body, headers=signed(body))
    assert again.json()["duplicates"] == 2


def test_changes_by_the_integration_user_are_not_queued(events_client, engine):
    body = batch(
        {"id": "e1", "opportunityId": "006000000000003AAA", "changedById": "005000000000001"}
    )
    assert events_client.post(URL, content=body, headers=signed(body)).json()["queued_deals"] == 0
    with Session(engine) as s:
        assert [e.status for e in s.exec(select(WebhookEvent))] == ["ignored"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {TIMESTAMP_HEADER: "123", SIGNATURE_HEADER: "v1=00"},
        # past any unix time: overflowed the window check (a 500, no secret needed)
        {TIMESTAMP_HEADER: "9" * 400, SIGNATURE_HEADER: "v1=00"},
        {TIMESTAMP_HEADER: "-" + "9" * 400, SIGNATURE_HEADER: "v1=00"},
        "stale",
        "wrong-secret",
    ],
)
def test_bad_signatures_get_401_and_nothing_is_stored(events_client, engine, headers):
    body = batch({"id": "e1", "opportunityId": "006000000000003AAA"})
    if headers == "stale":
        headers = signed(body, ts=int(time.time()) - 301)
    elif headers == "wrong-secret":
        headers = signed(body, secret="other")
    r = events_client.post(URL, content=body, headers=headers)
    assert r.status_code == 401
    with Session(engine) as s:
        assert list(s.exec(select(WebhookEvent))) == []


def test_bad_shape_is_a_precise_422(events_client, engine):
    body = batch({"id": "e1", "opportunityId": "not-an-id"})
    r = events_client.post(URL, content=body, headers=signed(body))
    assert r.status_code == 422
    detail = r.json()["error"]["details"]
    assert detail[0]["loc"] == ["events", 0, "opportunityId"]
    assert "Salesforce id" in detail[0]["msg"]


def test_a_malformed_event_is_stored_aside_and_the_others_are_kept(events_client, engine):
    """A Flow or an Apex queueable does not send a refused batch again: one bad event must not
    cost the good ones. It is stored for the record, named in the answer, and queues nothing."""
    body = (
        b'{"events": [{"id": "e1", "opportunityId": "006000000000003"},'
        b' {"id": "e2", "opportunityId": "not-an-id"}, 7,'
        b' {"id": "e4", "opportunityId": "006000000000004", "score": NaN}]}'
    )
    r = events_client.post(URL, content=body, headers=signed(body))
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["received"], answer["new"], answer["queued_deals"]) == (4, 4, 1)
    assert answer["malformed"] == [
        "event 1: opportunityId: must be a 15- or 18-character Salesforce id",
        "event 2: event: Input should be a valid dictionary or instance of OpportunityEvent",
        "event 3: score: Extra inputs are not permitted; allowed here: id, opportunityId, "
        "changed, changedById, source",
    ]
    with Session(engine) as s:
        assert [q.deal_id for q in s.exec(select(DealQueue))] == ["006000000000003AAA"]
        stored = {e.dedup_key: e for e in s.exec(select(WebhookEvent))}
    aside = [e for key, e in stored.items() if key.startswith("malformed:")]
    assert len(aside) == 3 and {(e.status, e.deal_id) for e in aside} == {("ignored", None)}
    by_id = {e.payload["event"].get("id"): e for e in aside if "id" in e.payload["event"]}
    assert by_id["e2"].payload["errors"][0]["loc"] == ["events", 1, "opportunityId"]
    # NaN has no place in a JSON column: kept as text
    assert any("unstorable" in e.payload["event"] for e in aside)
    again = events_client.post(URL, content=body, headers=signed(body))
    assert again.json()["duplicates"] == 4


def test_a_batch_with_no_valid_event_is_a_422_naming_each(events_client, engine):
    body = batch({"id": "e1", "opportunityId": "bad"}, {"opportunityId": "006000000000003"})
    r = events_client.post(URL, content=body, headers=signed(body))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    # the path docs/salesforce.md promises, and each mistake's type (they were {loc, msg})
    assert [(d["loc"], d["path"], d["type"]) for d in error["details"]] == [
        (["events", 0, "opportunityId"], "events[0].opportunityId", "value_error"),
        (["events", 1, "id"], "events[1].id", "missing"),
    ]
    assert error["message"].startswith("events[0].opportunityId: must be a 15- or 18-character")
    with Session(engine) as s:
        assert list(s.exec(select(WebhookEvent))) == []


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_events_secret_is_unset_not_an_empty_hmac_key(make_app, engine, blank):
    """`SALESFORCE_EVENTS_SECRET=` in a .env file gives SecretStr(''): used as the HMAC key,
    anyone could sign events. It is a 503, as when the secret is unset."""
    client = TestClient(make_app(connectors={}, salesforce_events_secret=SecretStr(blank)))
    body = batch({"id": "e1", "opportunityId": "006000000000003AAA"})
    r = client.post(URL, content=body, headers=signed(body, secret=blank))
    assert r.status_code == 503, r.text
    assert "SALESFORCE_EVENTS_SECRET" in r.json()["error"]["message"]
    with Session(engine) as s:
        assert list(s.exec(select(WebhookEvent))) == []
    with pytest.raises(SignatureError, match="no events secret"):
        verify(blank, "1700000000", sign(blank, "1700000000", b"{}"), b"{}", now=1700000000)


def test_ids_that_are_not_opportunities_are_stored_but_queue_nothing(events_client, engine):
    """An Account (001...) or User (005...) id is not a deal: reading it as one fails."""
    body = batch(
        {"id": "e1", "opportunityId": "001000000000001AAA"},
        {"id": "e2", "opportunityId": "005000000000002"},
        {"id": "e3", "opportunityId": "006000000000003"},
    )
    r = events_client.post(URL, content=body, headers=signed(body))
    assert r.json() == {
        "received": 3,
        "new": 3,
        "duplicates": 0,
        "queued_deals": 1,
        "malformed": [],
    }
    with Session(engine) as s:
        rows = {e.dedup_key: (e.status, e.deal_id) for e in s.exec(select(WebhookEvent))}
        assert [q.deal_id for q in s.exec(select(DealQueue))] == ["006000000000003AAA"]
    assert rows["e1"] == ("ignored", None) and rows["e2"] == ("ignored", None)


def test_a_timestamp_in_milliseconds_is_named_as_such():
    """Apex's `Datetime.now().getTime()` and JavaScript's `Date.now()` are milliseconds: a
    sender that forgot `/ 1000` was told only "must be unix seconds"; the answer says the value
    looks like milliseconds."""
    ms = "1700000000000"
    with pytest.raises(SignatureError, match="looks like milliseconds"):
        verify("secret", ms, sign("secret", ms, b"{}"), b"{}", now=1700000000)
    with pytest.raises(SignatureError, match="must be unix seconds$"):
        verify("secret", "soon", "v1=00", b"{}", now=1700000000)
