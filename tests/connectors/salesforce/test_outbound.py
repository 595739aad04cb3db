"""POST /webhooks/salesforce/outbound with SOAP bodies written from the outbound messaging WSDL."""

from __future__ import annotations

from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, select

from app.connectors.salesforce.outbound import OutboundMessageError, parse_outbound_message
from app.models import DealQueue, WebhookEvent
from app.sandbox.salesforce import outbound_message

FIXTURES = Path(__file__).parent / "fixtures"
# From Salesforce's outbound messaging WSDL: notificationsResponse { Ack: boolean } in this
# namespace (elementFormDefault="qualified"), inside a SOAP 1.1 envelope.
SOAP_ENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
OUTBOUND = "{http://soap.sforce.com/2005/09/outbound}"
ORG18 = "00D000000000062EAA"
TOKEN = "s3cret-url-token"
URL = f"/webhooks/salesforce/outbound?token={TOKEN}"
INTEGRATION_USER = "005000000000001"  # 15-char on purpose: compared in either form


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def sf_client(make_app):
    app = make_app(
        connectors={},
        salesforce_org_id=ORG18,
        salesforce_outbound_token=TOKEN,
        salesforce_integration_user_id=INTEGRATION_USER,
    )
    return TestClient(app)


def post(client: TestClient, body: bytes, url: str = URL):
    return client.post(url, content=body, headers={"Content-Type": "text/xml; charset=utf-8"})


def stored(engine) -> list[WebhookEvent]:
    with Session(engine) as s:
        return list(s.exec(select(WebhookEvent).order_by(WebhookEvent.id)))


def queued(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(r.deal_id for r in s.exec(select(DealQueue)))


def assert_acked(r) -> None:
    """The documented notificationsResponse with Ack true, parsed, not compared to our constant."""
    assert r.status_code == 200
    envelope = fromstring(r.content)
    assert envelope.tag == f"{SOAP_ENV}Envelope"
    [body] = envelope
    assert body.tag == f"{SOAP_ENV}Body"
    [response] = body
    assert response.tag == f"{OUTBOUND}notificationsResponse"
    assert [(child.tag, child.text) for child in response] == [(f"{OUTBOUND}Ack", "true")]


def test_one_notification_is_stored_queued_and_acked_with_the_exact_envelope(sf_client, engine):
    r = post(sf_client, fixture("one_notification.xml"))
    assert_acked(r)
    assert r.headers["content-type"].startswith("text/xml")
    events = stored(engine)
    assert [(e.source, e.dedup_key, e.deal_id) for e in events] == [
        ("salesforce_outbound", "04l5g00000ABCdeAAA", "006000000000001AAA")
    ]
    # The session id is a live credential: it is never stored.
    assert "AQ4AQFake" not in str(events[0].payload)
    assert queued(engine) == ["006000000000001AAA"]


def test_many_notifications_queue_each_opportunity(sf_client, engine):
    assert post(sf_client, fixture("many_notifications.xml")).status_code == 200
    assert queued(engine) == ["006000000000001AAA", "006000000000002AAA", "006000000000003AAA"]


def test_a_hundred_notifications_are_accepted_and_a_hundred_and_one_refused(sf_client, engine):
    hundred = [
        (f"04l5g0000{i:06d}", f"0060000000{i:05d}", {"StageName": "Prospecting"})
        for i in range(100)
    ]
    assert post(sf_client, outbound_message(hundred)).status_code == 200
    assert len(stored(engine)) == 100
    extra = [*hundred, ("04l5g0000999999", "006000000099999", {})]
    r = post(sf_client, outbound_message(extra))
    assert r.status_code == 400
    assert "at most 100" in r.text and "soapenv:Fault" in r.text


def test_nil_session_id_is_accepted(sf_client, engine):
    assert_acked(post(sf_client, fixture("nil_session.xml")))
    msg = parse_outbound_message(fixture("nil_session.xml"))
    assert msg.session_id_present is False
    assert parse_outbound_message(fixture("one_notification.xml")).session_id_present is True


def test_fifteen_character_org_id_matches_the_configured_eighteen(sf_client, engine):
    assert post(sf_client, fixture("org_id_15.xml")).status_code == 200
    assert queued(engine) == ["006000000000005AAA"]


def test_configured_fifteen_character_org_id_matches_an_eighteen_in_the_message(make_app, engine):
    app = make_app(connectors={}, salesforce_org_id=ORG18[:15], salesforce_outbound_token=TOKEN)
    assert post(TestClient(app), fixture("one_notification.xml")).status_code == 200


def test_another_org_gets_a_fault_and_nothing_is_stored(sf_client, engine):
    r = post(sf_client, fixture("wrong_org.xml"))
    assert r.status_code == 403
    assert "<faultcode>soapenv:Client</faultcode>" in r.text and "Ack" not in r.text
    assert stored(engine) == [] and queued(engine) == []


@pytest.mark.parametrize(
    "url", ["/webhooks/salesforce/outbound", "/webhooks/salesforce/outbound?token=wrong"]
)
def test_missing_or_wrong_url_token_is_refused(sf_client, engine, url):
    r = post(sf_client, fixture("one_notification.xml"), url=url)
    assert r.status_code == 401 and "soapenv:Fault" in r.text
    assert stored(engine) == []


def test_duplicate_notification_ids_store_once_and_redelivery_is_acked(sf_client, engine):
    assert post(sf_client, fixture("duplicate_ids.xml")).status_code == 200
    assert [e.dedup_key for e in stored(engine)] == ["04l5g00000DUP01AAA", "04l5g00000DUP02AAA"]
    # Salesforce redelivers even after an Ack: acked again, nothing new stored.
    r = post(sf_client, fixture("duplicate_ids.xml"))
    assert_acked(r)
    assert len(stored(engine)) == 2


def test_our_own_change_is_stored_but_not_queued(sf_client, engine):
    assert post(sf_client, fixture("own_change.xml")).status_code == 200
    [event] = stored(engine)
    assert event.status == "ignored" and event.payload["own_change"] is True
    assert queued(engine) == []


def test_line_item_notification_queues_its_opportunity(sf_client, engine):
    assert post(sf_client, fixture("line_item.xml")).status_code == 200
    assert queued(engine) == ["006000000000010AAA"]


@pytest.mark.parametrize("name", ["xxe.xml", "entity_bomb.xml"])
def test_dtd_bodies_are_refused_before_any_entity_is_expanded(sf_client, engine, name):
    with pytest.raises(OutboundMessageError) as info:
        parse_outbound_message(fixture(name))
    # DTDForbidden fires at the DOCTYPE: entity declarations are never processed, let alone expanded.
    assert info.value.code == "forbidden_xml" and "DTDForbidden" in str(info.value)
    r = post(sf_client, fixture(name))
    assert r.status_code == 400 and "DTDs and entities are not accepted" in r.text
    assert stored(engine) == []


def test_malformed_and_non_outbound_bodies_get_client_faults(sf_client, engine):
    assert post(sf_client, b"<not-xml").status_code == 400
    r = post(sf_client, b'<a xmlns="urn:x"/>')
    assert r.status_code == 400 and "SOAP 1.1 Envelope" in r.text
    assert stored(engine) == []


def test_storage_failure_is_a_server_fault_with_500(make_app, engine):
    app = make_app(connectors={}, salesforce_org_id=ORG18, salesforce_outbound_token=TOKEN)
    SQLModel.metadata.tables["webhook_event"].drop(engine)
    try:
        r = post(TestClient(app), fixture("one_notification.xml"))
    finally:
        SQLModel.metadata.tables["webhook_event"].create(engine)
    assert r.status_code == 500
    assert "<faultcode>soapenv:Server</faultcode>" in r.text and "Ack" not in r.text


def test_unconfigured_endpoint_refuses(make_app):
    r = post(TestClient(make_app(connectors={})), fixture("one_notification.xml"))
    assert (
        r.status_code == 503
        and "not configured on this service (SALESFORCE_OUTBOUND_TOKEN)" in r.text
    )
    app = make_app(connectors={}, salesforce_outbound_token=TOKEN)  # the org id missing
    r = post(TestClient(app), fixture("one_notification.xml"))
    assert r.status_code == 503 and "not configured on this service (SALESFORCE_ORG_ID)" in r.text


def test_a_blank_url_token_is_unset(make_app, engine):
    """`SALESFORCE_OUTBOUND_TOKEN=` in a .env file is not a token: 503 as when unset."""
    app = make_app(connectors={}, salesforce_org_id=ORG18, salesforce_outbound_token=" ")
    r = post(
        TestClient(app),
        fixture("one_notification.xml"),
        url="/webhooks/salesforce/outbound?token=%20",
    )
    assert r.status_code == 503 and "not configured" in r.text
    assert stored(engine) == []


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="x-unknown"?><a/>',
        b'<?xml version="1.0" encoding="utf-16"?><a/>',
        b'<?xml version="1.0" encoding="ascii"?><a>\xff</a>',
    ],
)
def test_an_unknown_or_wrong_encoding_is_a_client_fault_not_a_500(sf_client, engine, body):
    """encoding="x-unknown" raised LookupError: a JSON 500, which Salesforce retried."""
    r = post(sf_client, body)
    assert r.status_code == 400, r.text
    assert "<faultcode>soapenv:Client</faultcode>" in r.text and "malformed XML" in r.text
    assert stored(engine) == []


def test_values_too_long_for_their_columns_do_not_lose_the_message(sf_client, engine):
    """On PostgreSQL a Notification Id over 255 characters or an xsi:type over ~120 failed the
    insert of the whole message (a 500 on every retry). The id is stored under a digest (stable
    across redeliveries), the type is cut; the other notifications are stored and queued."""
    long_id = "X" * 300
    body = outbound_message(
        [("04l000000000004AAA", "006000000000004", {}), (long_id, "006000000000005", {})],
        org_id=ORG18,
    )
    assert_acked(post(sf_client, body))
    assert queued(engine) == ["006000000000004AAA", "006000000000005AAA"]
    assert_acked(post(sf_client, body))  # redelivered: recognised, nothing added
    assert len(stored(engine)) == 2
    assert all(len(e.dedup_key) <= 255 for e in stored(engine))
    odd_type = outbound_message(
        [("04l000000000006AAA", "006000000000006", {})],
        org_id=ORG18,
        sobject_type="Opportunity" + "y" * 200,
    )
    assert_acked(post(sf_client, odd_type))
    row = next(e for e in stored(engine) if e.dedup_key == "04l000000000006AAA")
    assert len(row.event_type) <= 128 and row.deal_id is None and row.status == "ignored"


@pytest.mark.parametrize(
    ("sobject_type", "record_id", "fields"),
    [
        ("Opportunity", "001000000000001", {}),  # an Account id where an opportunity is expected
        ("Task", "00T000000000001", {"WhatId": "001000000000001"}),  # a Task on an Account
        ("OpportunityLineItem", "00k000000000001", {"OpportunityId": "005000000000009"}),
    ],
)
def test_ids_that_are_not_opportunities_are_stored_but_queue_nothing(
    sf_client, engine, sobject_type, record_id, fields
):
    body = outbound_message(
        [("04l000000000007AAA", record_id, fields)], org_id=ORG18, sobject_type=sobject_type
    )
    assert_acked(post(sf_client, body))
    [row] = stored(engine)
    assert row.status == "ignored" and row.deal_id is None
    assert queued(engine) == []
