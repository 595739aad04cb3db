"""POST /webhooks/hubspot: signed, deduplicated, durable before the answer; own changes ignored."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.connectors.hubspot.events import dedup_key
from app.jobs.schedules import JobContext
from app.models import DealQueue, WebhookEvent
from tests.connectors.hubspot.conftest import hubspot_event as _event

URL = "http://testserver/webhooks/hubspot"


@pytest.fixture
def client(make_app, hubspot_settings) -> TestClient:
    with TestClient(make_app(connectors={}, **hubspot_settings)) as c:
        yield c


def _queued(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(r.deal_id for r in s.exec(select(DealQueue)))


def _stored(engine) -> list[WebhookEvent]:
    with Session(engine) as s:
        return list(s.exec(select(WebhookEvent)))


def test_signed_stage_change_is_stored_and_queues_the_deal(client, fake, engine) -> None:
    statuses = fake.deliver(URL, [_event(fake)], post=client.post)
    assert statuses == [200]
    assert _queued(engine) == ["555"]
    [row] = _stored(engine)
    assert row.source == "hubspot" and row.deal_id == "555" and row.status == "queued"


def test_bad_signature_gets_401_and_nothing_is_stored(client, fake, engine) -> None:
    body, headers = fake.signed_request(URL, [_event(fake)], secret="not-the-secret")
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 401
    assert "signature" in response.json()["error"]["message"]
    assert _stored(engine) == [] and _queued(engine) == []


@pytest.mark.parametrize(
    ("current", "previous", "status"),
    [("rotated-new-secret", "sandbox-client-secret", 200), ("rotated-new-secret", "older", 401)],
)
def test_previous_client_secret_is_accepted_during_a_rotation(
    make_app, hubspot_settings, fake, engine, current, previous, status
) -> None:
    rotated = {
        **hubspot_settings,
        "hubspot_client_secret": SecretStr(current),
        "hubspot_client_secret_previous": SecretStr(previous),
    }
    with TestClient(make_app(connectors={}, **rotated)) as client:
        body, headers = fake.signed_request(URL, [_event(fake)])  # signed with the old secret
        assert client.post(URL, content=body, headers=headers).status_code == status
    assert len(_stored(engine)) == (1 if status == 200 else 0)


def test_a_service_without_the_client_secret_answers_503_not_a_bad_signature(
    make_app, hubspot_settings, fake, engine
) -> None:
    """It was a 401 'invalid HubSpot signature: no client secret configured', counted as a
    rejected delivery: the sender's mistake, though the service is the one not set up. A 503
    says so, and HubSpot delivers again once it is."""
    from app import metrics

    unset = {**hubspot_settings, "hubspot_client_secret": None}
    rejected = metrics.EVENTS.labels(source="hubspot", result="rejected")._value.get()
    with TestClient(make_app(connectors={}, **unset)) as client:
        body, headers = fake.signed_request(URL, [_event(fake)])
        r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 503
    assert r.json()["error"]["message"] == (
        "HubSpot webhooks are not configured on this service (HUBSPOT_CLIENT_SECRET)"
    )
    assert _stored(engine) == []
    assert metrics.EVENTS.labels(source="hubspot", result="rejected")._value.get() == rejected


def test_database_failure_is_503_with_nothing_stored(make_app, hubspot_settings, fake, engine):
    def fail_on_queue(conn, cursor, statement, parameters, context, executemany):
        # The inbox INSERT has already run in this transaction; the queue upsert fails.
        if statement.lstrip().upper().startswith("INSERT INTO DEAL_QUEUE"):
            raise OperationalError(statement, parameters, Exception("disk I/O error"))

    app = make_app(connectors={}, **hubspot_settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        body, headers = fake.signed_request(URL, [_event(fake)])
        event.listen(engine, "before_cursor_execute", fail_on_queue)
        try:
            response = client.post(URL, content=body, headers=headers)
        finally:
            event.remove(engine, "before_cursor_execute", fail_on_queue)
        assert response.status_code == 503
        assert "nothing stored" in response.json()["error"]["message"]
        assert _stored(engine) == [] and _queued(engine) == []
        # HubSpot delivers again and the event lands once.
        assert client.post(URL, content=body, headers=headers).status_code == 200
    assert len(_stored(engine)) == 1 and _queued(engine) == ["555"]


def test_url_encoded_path_is_signed_over_as_received(client, fake, engine) -> None:
    # %68 is not an escape HubSpot decodes: the signature covers the path exactly as sent,
    # while routing sees /webhooks/hubspot.
    url = "http://testserver/webhooks/%68ubspot"
    body, headers = fake.signed_request(url, [_event(fake)])
    assert client.post(url, content=body, headers=headers).status_code == 200
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert len(_stored(engine)) == 1


def test_stale_timestamp_is_refused(client, fake, engine) -> None:
    old = int(time.time() * 1000) - 6 * 60 * 1000
    body, headers = fake.signed_request(URL, [_event(fake)], timestamp_ms=old)
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert _stored(engine) == []


def test_redelivery_with_higher_attempt_number_is_a_duplicate(client, fake, engine) -> None:
    first = client.post(
        URL,
        content=fake.signed_request(URL, [_event(fake)])[0],
        headers=fake.signed_request(URL, [_event(fake)])[1],
    )
    assert first.json()["new"] == 1
    body, headers = fake.signed_request(URL, [_event(fake, attemptNumber=3)])
    again = client.post(URL, content=body, headers=headers).json()
    assert again["duplicates"] == 1 and again["new"] == 0
    assert len(_stored(engine)) == 1


def test_same_event_id_in_another_subscription_is_not_a_duplicate(client, fake, engine) -> None:
    events = [_event(fake), _event(fake, subscriptionId=14)]
    assert dedup_key(events[0]) != dedup_key(events[1])
    body, headers = fake.signed_request(URL, events)
    assert client.post(URL, content=body, headers=headers).json()["new"] == 2


def test_the_same_event_id_for_two_deals_is_two_events(client, fake, engine) -> None:
    """HubSpot documents `eventId` as not guaranteed unique; an import changes many deals at one
    `occurredAt`. Two deals' changes with the same subscription, event id and time were one
    event to the dedup key: the second was answered a duplicate and its deal never queued. The
    key holds the object's id too (a retry carries the same one, so it is still a duplicate)."""
    events = [_event(fake, objectId=555), _event(fake, objectId=556)]
    body, headers = fake.signed_request(URL, events)
    assert client.post(URL, content=body, headers=headers).json()["new"] == 2
    assert _queued(engine) == ["555", "556"]
    body, headers = fake.signed_request(URL, [_event(fake, objectId=556, attemptNumber=2)])
    assert client.post(URL, content=body, headers=headers).json()["duplicates"] == 1


def test_a_change_of_currency_queues_the_deal_and_an_unread_property_does_not(
    client, fake, engine
) -> None:
    """A new currency changes what the deal adds to pipeline totals (amount_in_home_currency);
    a property the evaluation never reads (the deal's description) changes nothing."""
    events = [
        _event(
            fake, eventId=1, objectId=501, propertyName="deal_currency_code", propertyValue="EUR"
        ),
        _event(fake, eventId=2, objectId=502, propertyName="description", propertyValue="x"),
    ]
    body, headers = fake.signed_request(URL, events)
    ack = client.post(URL, content=body, headers=headers).json()
    assert (ack["queued_deals"], ack["ignored"]) == (1, {"not_relevant": 1})
    assert _queued(engine) == ["501"]


def test_a_renamed_deal_is_queued_so_its_task_and_lists_carry_the_new_name(
    client, fake, engine
) -> None:
    """The task's subject ("Roadmap check: Acme is blocked") and the deal lists name the deal;
    a rename was "not relevant" and both kept the old name until something else changed."""
    event = _event(fake, objectId=503, propertyName="dealname", propertyValue="Acme renewal")
    body, headers = fake.signed_request(URL, [event])
    assert client.post(URL, content=body, headers=headers).json()["queued_deals"] == 1
    assert _queued(engine) == ["503"]


def test_other_portal_and_own_changes_queue_nothing(client, fake, engine) -> None:
    events = [
        _event(fake, eventId=1, portalId=1),
        _event(fake, eventId=2, changeSource="INTEGRATION", sourceId=fake.app_id),
        _event(fake, eventId=3, propertyName="hs_next_step", propertyValue="call"),
        _event(fake, eventId=4, appId=1),
        # the echo of our own write of our property
        _event(fake, eventId=5, propertyName="roadmap_guard_status", propertyValue="blocked",
               changeSource="INTEGRATION", sourceId=fake.app_id),
    ]  # fmt: skip
    body, headers = fake.signed_request(URL, events)
    ack = client.post(URL, content=body, headers=headers).json()
    assert ack["queued_deals"] == 0
    assert ack["ignored"] == {"other_portal": 1, "ours": 2, "not_relevant": 1, "other_app": 1}
    assert _queued(engine) == []
    # every one stored for the record (another portal's and app's were dropped), as ignored
    rows = _stored(engine)
    assert sorted(r.payload["eventId"] for r in rows) == [1, 2, 3, 4, 5]
    assert {r.status for r in rows} == {"ignored"}


@pytest.mark.parametrize(
    "source",
    [{"changeSource": "CRM_UI", "sourceId": "userId:7"}, {"changeSource": "WORKFLOWS"},
     {"changeSource": "INTEGRATION", "sourceId": "9999"}],
)  # fmt: skip
def test_a_hand_edit_of_our_property_queues_the_deal_to_put_it_back(
    client, fake, engine, source
) -> None:
    """A rep (or a workflow, or another app) filling the guard property on a blocked deal to
    pass HubSpot's stage requirement: the deal is read again and the property emptied."""
    event = _event(fake, eventId=6, propertyName="roadmap_guard_clearance", propertyValue="clear",
                   **source)  # fmt: skip
    body, headers = fake.signed_request(URL, [event])
    ack = client.post(URL, content=body, headers=headers).json()
    assert ack["queued_deals"] == 1 and _queued(engine) == ["555"]


def test_an_object_id_hubspot_could_not_send_is_stored_but_queues_nothing(
    client, fake, engine
) -> None:
    events = [
        _event(fake, eventId=1, objectId="abc"),
        _event(fake, eventId=2, objectId=-7),
        _event(fake, eventId=3, objectId=None),
        _event(fake, eventId=4, objectId=True),
        _event(
            fake,
            eventId=5,
            subscriptionType="deal.associationChange",
            fromObjectId="1; DROP",
            toObjectId=20,
            associationType="DEAL_TO_LINE_ITEM",
        ),
        _event(fake, eventId=6, objectId="0042"),  # a number as text: the same deal as 42
        _event(fake, eventId=7, objectId=2**63),  # past HubSpot's 64-bit ids (was queued)
        _event(fake, eventId=8, objectId=2**63 - 1),  # the largest there is
    ]
    body, headers = fake.signed_request(URL, events)
    ack = client.post(URL, content=body, headers=headers).json()
    assert ack["ignored"] == {"bad_object_id": 6}
    assert _queued(engine) == ["42", str(2**63 - 1)]
    assert len(_stored(engine)) == 8  # every event is kept for the record


def test_association_change_queues_the_deal_from_either_side(client, fake, engine) -> None:
    events = [
        _event(
            fake,
            eventId=1,
            subscriptionType="deal.associationChange",
            objectId=10,
            fromObjectId=10,
            toObjectId=20,
            associationType="DEAL_TO_LINE_ITEM",
        ),
        _event(
            fake,
            eventId=2,
            subscriptionType="deal.associationChange",
            objectId=30,
            fromObjectId=40,
            toObjectId=30,
            associationType="NOTE_TO_DEAL",
        ),
        _event(
            fake,
            eventId=3,
            subscriptionType="deal.associationChange",
            objectId=50,
            fromObjectId=50,
            toObjectId=60,
            associationType="DEAL_TO_CONTACT",
        ),
    ]
    body, headers = fake.signed_request(URL, events)
    assert client.post(URL, content=body, headers=headers).status_code == 200
    assert _queued(engine) == ["10", "30"]


def test_more_than_100_events_is_refused_with_nothing_stored(client, fake, engine) -> None:
    events = [_event(fake, eventId=i) for i in range(101)]
    body, headers = fake.signed_request(URL, events)
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 422 and "100" in response.json()["error"]["message"]
    assert _stored(engine) == []


def test_query_string_in_target_url_is_signed_over(client, fake, engine) -> None:
    url = URL + "?tenant=acme%3Aeu"
    body, headers = fake.signed_request(url, [_event(fake)])
    assert client.post(url, content=body, headers=headers).status_code == 200


def test_line_item_change_is_resolved_to_its_deal_by_the_schedule(
    client, fake, engine, settings, connector
) -> None:
    deal = fake.add_deal("Acme", line_items=[{"name": "SSO add-on"}], emit=False)
    [line_item] = fake.associated("deals", deal, "line_items")
    fake.update_object("line_items", line_item, {"quantity": 5})
    assert fake.deliver(URL, post=client.post) == [200]
    assert _queued(engine) == []  # the ack did not call HubSpot
    from app.connectors.hubspot.reconcile import resolve_line_items

    state = resolve_line_items(
        JobContext(engine=engine, settings=settings, connectors={"hubspot": connector})
    )
    assert _queued(engine) == [deal]
    # Resolved events are behind the cursor, or (PostgreSQL, for a minute) remembered.
    assert state["after_event_id"] > 0 or state["recent"]
    again = resolve_line_items(
        JobContext(engine=engine, settings=settings, connectors={"hubspot": connector}, state=state)
    )
    assert again["last_resolved"] == 0


def test_deal_merge_queues_every_deal_it_names(client, fake, engine) -> None:
    # The merge payload HubSpot documents: primaryObjectId, mergedObjectIds (the secondaries),
    # newObjectId (a deal created from the merge), numberOfPropertiesMoved.
    merge = _event(
        fake,
        eventId=7,
        subscriptionType="deal.merge",
        objectId=900,
        primaryObjectId=900,
        mergedObjectIds=[901, 902],
        newObjectId=903,
        numberOfPropertiesMoved=4,
    )
    for key in ("propertyName", "propertyValue"):
        merge.pop(key)
    from app import metrics

    received = metrics.EVENTS.labels(source="hubspot", result="received")
    before = received._value.get()
    body, headers = fake.signed_request(URL, [merge])
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 200
    # one event received and new (it said new 3 of 1 received: the rows made for the deals
    # the merge names counted as delivered), and one in the received metric (was 3)
    ack = response.json()
    assert (ack["received"], ack["new"], ack["duplicates"], ack["queued_deals"]) == (1, 1, 0, 4)
    assert received._value.get() == before + 1
    assert _queued(engine) == ["900", "901", "902", "903"]
    # Redelivered: nothing new is stored or queued.
    body, headers = fake.signed_request(URL, [{**merge, "attemptNumber": 1}])
    again = client.post(URL, content=body, headers=headers).json()
    assert (again["received"], again["new"], again["duplicates"]) == (1, 0, 1)
    assert len(_stored(engine)) == 4


def test_a_nul_character_in_an_event_is_stored_not_a_refused_batch(client, fake, engine) -> None:
    """PostgreSQL text cannot hold NUL: one event carrying one (a deal name pasted from another
    tool) made the whole batch a 503 until HubSpot gave up on it, its other events lost."""
    events = [
        _event(
            fake,
            eventId=1,
            objectId=41,
            subscriptionType="deal.propertyChange",
            propertyName="dealstage",
            propertyValue="contract\u0000sent",
        ),
        _event(fake, eventId=2, objectId=42),
    ]
    body, headers = fake.signed_request(URL, events)
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["new"] == 2
    assert _queued(engine) == ["41", "42"]
    by_id = {e.payload["eventId"]: e.payload for e in _stored(engine)}
    assert by_id[1]["propertyValue"] == "contract\ufffdsent"


def _signed_raw(fake, body: bytes) -> dict[str, str]:
    from app.connectors.hubspot.signatures import sign_v3

    ts = str(int(time.time() * 1000))
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": sign_v3(fake.client_secret, "POST", URL, body, ts),
        "X-HubSpot-Request-Timestamp": ts,
    }


@pytest.mark.parametrize(
    ("key", "merged"),
    [
        ("mergedObjectIds", "901"),
        ("mergedObjectIds", 901),
        ("mergedObjectIds", [901, "902"]),
        ("mergedObjectIds", [True]),
        ("mergedObjectIds", {"a": 1}),
        ("mergedObjectIds", [901, 10**30]),  # past int64: dropped without a word before
        ("mergedObjectIds", [0]),
        ("primaryObjectId", 10**30),
        ("primaryObjectId", "900"),
        ("newObjectId", -3),
    ],
)
def test_merge_ids_that_are_not_hubspot_object_ids_are_stored_but_queue_nothing(
    client, fake, engine, key, merged
) -> None:
    """A bare integer was a 500 (retried forever); a string "901" queued deals 9, 0 and 1."""
    merge = _event(fake, eventId=8, subscriptionType="deal.merge", objectId=900)
    merge[key] = merged
    body, headers = fake.signed_request(URL, [merge, _event(fake, eventId=9, objectId=42)])
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["malformed"] == [
        "event 0: mergedObjectIds, primaryObjectId or newObjectId is not a HubSpot object id "
        "(a positive 64-bit integer; mergedObjectIds a list of them)"
    ]
    assert _queued(engine) == ["42"]
    assert sorted(e.payload.get("eventId") for e in _stored(engine)) == [8, 9]


def test_a_malformed_event_is_kept_aside_and_the_deliverys_other_events_are_stored(
    client, fake, engine
) -> None:
    """HubSpot retries any 4xx but 400/401/403/404/405 ten times, then drops the delivery: a
    422 for one bad event lost every good event with it."""
    no_id = _event(fake, objectId=41)
    del no_id["eventId"]
    events = [_event(fake, eventId=1, objectId=42), no_id, "deal.creation", {"eventId": 5}]
    body, headers = fake.signed_request(URL, events)
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    ack = r.json()
    assert ack["malformed"] == [
        "event 1: lacks eventId",
        "event 2: not an event object but str",
        "event 3: lacks subscriptionType",
    ]
    assert (ack["received"], ack["new"], ack["ignored"]) == (4, 4, {"malformed": 3})
    assert _queued(engine) == ["42"]  # nothing for deal 41: the event has no identity to track
    rows = _stored(engine)
    assert sorted(r.dedup_key.startswith("malformed:") for r in rows) == [False, True, True, True]
    assert {r.status for r in rows if r.payload.get("objectId") != 42} == {"ignored"}
    assert {"value": "deal.creation"} in [r.payload for r in rows]
    # HubSpot's redelivery of the same events (a higher attemptNumber) stores nothing new
    again = [dict(e, attemptNumber=2) if isinstance(e, dict) else e for e in events]
    body, headers = fake.signed_request(URL, again)
    ack = client.post(URL, content=body, headers=headers).json()
    assert (ack["new"], ack["duplicates"]) == (0, 4)
    assert len(_stored(engine)) == 4


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (
            b'[{"eventId":6,"subscriptionId":1,"portalId":62515,"occurredAt":1,'
            b'"subscriptionType":"deal.propertyChange","objectId":557,'
            b'"propertyName":"amount","propertyValue":NaN}]',
            "NaN",
        ),
        (b'[{"eventId":6,"subscriptionType":"deal.creation","objectId":-Infinity}]', "Infinity"),
        # deep enough to exhaust the stack while its text is cleaned, not while parsed
        (b"[" + b"[" * 600 + b"]" * 600 + b"]", "nested more than 32 deep"),
    ],
)
def test_json_hubspot_cannot_send_is_a_422_not_a_500(client, fake, engine, body, reason) -> None:
    r = client.post(URL, content=body, headers=_signed_raw(fake, body))
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert reason in error["message"]
    # the shape of every other 422 (README): code invalid_request, details at path "body"
    assert error["code"] == "invalid_request" and error["message"].startswith("body: ")
    [detail] = error["details"]
    assert (detail["loc"], detail["path"]) == (["body"], "body") and reason in detail["msg"]
    assert _stored(engine) == [] and _queued(engine) == []


def test_a_number_past_a_double_is_kept_as_its_text_and_the_delivery_stored(
    client, fake, engine
) -> None:
    """1e400 reads as inf, which neither database stores: the delivery was a 503 on every
    retry and the good event beside it was lost."""
    body = (
        b'[{"eventId":5,"subscriptionId":1,"portalId":%s,"occurredAt":1,'
        b'"subscriptionType":"deal.propertyChange","objectId":555,'
        b'"propertyName":"dealstage","propertyValue":"closedwon"},'
        b'{"eventId":6,"subscriptionId":1,"portalId":%s,"occurredAt":1,'
        b'"subscriptionType":"deal.propertyChange","objectId":556,'
        b'"propertyName":"amount","propertyValue":1e400}]'
    ) % (str(fake.portal_id).encode(), str(fake.portal_id).encode())
    r = client.post(URL, content=body, headers=_signed_raw(fake, body))
    assert r.status_code == 200, r.text
    assert _queued(engine) == ["555", "556"]
    by_id = {e.payload["eventId"]: e.payload for e in _stored(engine)}
    assert by_id[6]["propertyValue"] == "1e400"


def test_a_lone_surrogate_is_stored_as_a_replacement_character(client, fake, engine) -> None:
    """A lone surrogate (JSON "\\ud800") cannot be encoded in UTF-8: PostgreSQL refused the
    insert and the whole batch was a 5xx on every retry. Stored as U+FFFD, like a NUL."""
    body = (
        b'[{"eventId":5,"subscriptionId":1,"portalId":%s,"occurredAt":1,'
        b'"subscriptionType":"deal.propertyChange","objectId":556,'
        b'"propertyName":"dealstage","propertyValue":"won \\ud800 \\udc00","k\\udfff":1},'
        b'{"eventId":6,"subscriptionId":1,"portalId":%s,"occurredAt":1,'
        b'"subscriptionType":"deal.creation","objectId":557,"emoji":"\\ud83d\\ude00"}]'
    ) % (str(fake.portal_id).encode(), str(fake.portal_id).encode())
    r = client.post(URL, content=body, headers=_signed_raw(fake, body))
    assert r.status_code == 200, r.text
    assert _queued(engine) == ["556", "557"]
    by_id = {e.payload["eventId"]: e.payload for e in _stored(engine)}
    assert by_id[5]["propertyValue"] == "won \ufffd \ufffd"
    assert by_id[5]["k\ufffd"] == 1
    assert by_id[6]["emoji"] == "\U0001f600"  # a valid pair is one character, kept


def test_identity_fields_too_long_for_the_dedup_key_are_stored_under_a_digest(
    client, fake, engine
) -> None:
    """portalId:subscriptionId:eventId:occurredAt over 255 characters failed the insert on
    PostgreSQL (a 5xx on every retry): a digest of it is stored, stable across redeliveries."""
    odd = _event(fake, eventId="9" * 300, objectId=43)
    body, headers = fake.signed_request(URL, [odd, _event(fake, eventId=2, objectId=44)])
    r = client.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert _queued(engine) == ["43", "44"]
    keys = sorted(e.dedup_key for e in _stored(engine))
    assert all(len(k) <= 255 for k in keys) and any(k.startswith("sha256:") for k in keys)
    body, headers = fake.signed_request(URL, [{**odd, "attemptNumber": 1}])
    assert client.post(URL, content=body, headers=headers).json()["duplicates"] == 1


def test_generic_object_subscriptions_queue_deals_as_the_legacy_ones_do(
    client, fake, engine, settings, connector
) -> None:
    """An app subscribed the generic way (HubSpot's "object.*" subscription types, the object
    type in objectTypeId) gets "object.propertyChange" for a deal's stage, and associations
    named by object type ids. Every such event was "not relevant": no deal was queued."""
    from app.connectors.hubspot.reconcile import resolve_line_items

    fake.webhook_format = "generic"
    deal = fake.add_deal("Acme", line_items=[{"name": "SSO add-on"}], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    other = fake.add_deal("Globex", emit=False)
    note = fake.create_object("notes", {"hs_note_body": "SSO by Q3"}, emit=False)
    fake.associate("notes", note, "deals", other)
    events = fake.drain_events()
    assert {e["subscriptionType"] for e in events} == {
        "object.propertyChange",
        "object.associationChange",
    }
    assert fake.deliver(URL, events, post=client.post) == [200]
    assert _queued(engine) == sorted([deal, other])

    [line_item] = fake.associated("deals", deal, "line_items")
    fake.update_object("line_items", line_item, {"quantity": 5})
    with Session(engine) as s:
        for row in s.exec(select(DealQueue)):
            s.delete(row)
        s.commit()
    assert fake.deliver(URL, post=client.post) == [200]
    resolve_line_items(
        JobContext(engine=engine, settings=settings, connectors={"hubspot": connector})
    )
    assert _queued(engine) == [deal]


def test_a_notes_edit_from_a_generic_subscription_is_resolved_to_its_deal(
    client, fake, engine, settings, connector
) -> None:
    """A rep rewrites a note on the deal ("SSO: committed for Q3"): the generic subscription
    sends an object.propertyChange of the note (objectTypeId 0-46), naming the note. It was
    stored as "not relevant" and the deal kept its verdict until something else changed."""
    from app.connectors.hubspot.reconcile import resolve_line_items

    fake.webhook_format = "generic"
    deal = fake.add_deal("Acme", notes=["Customer asked about SSO"], emit=False)
    [note] = fake.associated("deals", deal, "notes")
    fake.update_object("notes", note, {"hs_note_body": "We commit to SSO by Q3"})
    [event] = fake.drain_events()
    assert (event["subscriptionType"], event["objectTypeId"]) == ("object.propertyChange", "0-46")
    assert fake.deliver(URL, [event], post=client.post) == [200]
    assert _queued(engine) == []  # the ack did not call HubSpot
    resolve_line_items(
        JobContext(engine=engine, settings=settings, connectors={"hubspot": connector})
    )
    assert _queued(engine) == [deal]


def test_legacy_subscriptions_report_no_note_on_a_deal_so_setup_offers_the_generic_ones(
    fake,
) -> None:
    """HubSpot's legacy associationChange covers contacts, companies, deals, tickets, line
    items and products. The sandbox sent a DEAL_TO_NOTE event no HubSpot portal sends, so
    tests passed on notes a real portal never reports; only a generic subscription does."""
    from app.connectors.hubspot.setup import instructions

    deal = fake.add_deal("Acme", emit=False)
    note = fake.create_object("notes", {"hs_note_body": "SSO by Q3"}, emit=False)
    fake.associate("notes", note, "deals", deal)
    assert fake.drain_events() == []
    fake.webhook_format = "generic"
    fake.associate("notes", note, "deals", deal)
    [event] = fake.drain_events()
    assert (event["fromObjectTypeId"], event["toObjectTypeId"]) == ("0-3", "0-46")
    assert "object.associationChange: deal (line items), note (deals)" in instructions(
        "https://rg.example.com", "roadmap_guard_clearance"
    )
