"""Salesforce webhooks: Outbound Messages (SOAP) and signed JSON events, acked only once durable.

POST /webhooks/salesforce/outbound?token=...: check the URL token (constant time), parse with
defusedxml (no DTD, no entities), check the OrganizationId (15/18 chars), store the
notifications with `store_delivery` (deduplicated on Notification Id), and only then answer the
exact `notificationsResponse` envelope with <Ack>true</Ack>. Anything else is a SOAP fault, so
Salesforce keeps the message in its queue and retries: a storage failure is a fault with HTTP 500.

POST /webhooks/salesforce/events: JSON from Flow HTTP callouts, Apex or a Platform Event relay,
authenticated by HMAC-SHA256 over "<timestamp>.<raw body>" (see docs/salesforce.md). A
malformed event is stored aside and named in the answer (`malformed`), the batch's others kept:
neither a Flow nor an Apex queueable sends a refused batch again. No valid event at all: 422.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from app import metrics
from app.api.ingest import (
    BodyCutShort,
    NotStored,
    PayloadTooLarge,
    count_refusal,
    read_body,
    refusals,
    store_delivery,
    webhook_errors,
)
from app.connectors.salesforce import signatures
from app.connectors.salesforce.events import (
    EVENTS_SOURCE,
    OUTBOUND_SOURCE,
    json_events,
    malformed_events,
    org_matches,
    outbound_events,
    parse_events,
)
from app.connectors.salesforce.outbound import (
    ACK_ENVELOPE,
    OutboundMessageError,
    fault_envelope,
    parse_outbound_message,
)
from app.errors import InvalidRequest, ServiceUnavailable, Unauthorized

router = APIRouter(tags=["webhooks"])

MAX_OUTBOUND_BYTES = 5 * 1024 * 1024  # 100 notifications with generous field lists
MAX_EVENTS_BYTES = 1024 * 1024
SOAP_TYPE = "text/xml; charset=utf-8"


def _secret(value: object) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def _configured(value: object | None) -> str | None:
    """The secret, or None when unset or blank: `SALESFORCE_EVENTS_SECRET=` in a .env file is
    SecretStr(''), and an empty HMAC key would let anyone sign events."""
    if value is None:
        return None
    secret = _secret(value)
    return secret if secret.strip() else None


def _count_ignored(source: str, events) -> None:
    """Stored events that queue nothing (our own changes, records that are not opportunities):
    `ignored` in roadmap_guard_webhook_events_total, as for HubSpot."""
    ignored = sum(1 for e in events if not (e.actionable and e.deal_id))
    if ignored:
        metrics.EVENTS.labels(source=source, result="ignored").inc(ignored)


def _refused(message: str, status: int) -> Response:
    """A refused outbound message: counted and logged as every webhook refusal is, answered
    with a SOAP fault (Salesforce retries it; the fault's text shows in its delivery log)."""
    count_refusal(OUTBOUND_SOURCE, status, message)
    return _fault(message, status)


def _fault(message: str, status: int, *, client: bool = True) -> Response:
    return Response(
        fault_envelope(message, client=client), status_code=status, media_type=SOAP_TYPE
    )


# The outbound route's faults (Salesforce keeps the message and retries each).
_OUTBOUND_FAULTS = {
    400: "not an Outbound Message envelope, or cut short before its end",
    401: "missing or wrong token in the endpoint URL",
    403: "from an organization this service does not serve",
    413: "message larger than 5 MB",
    500: "the notifications could not be stored",
    503: "outbound messages are not configured",
}


# Each endpoint URL as an admin may enter it, with a trailing slash, is served too (hidden from
# the OpenAPI document): Salesforce follows no redirect, and the 307 to the URL without the
# slash failed every Outbound Message (dropped after 24 hours) and every Apex callout.
@router.post("/webhooks/salesforce/outbound/", include_in_schema=False, response_class=Response)
@router.post(
    "/webhooks/salesforce/outbound",
    summary="Salesforce Outbound Messages (SOAP); the Ack is sent only after the events are stored",
    response_class=Response,
    responses={
        200: {"content": {"text/xml": {}}, "description": "the Ack envelope"},
        **{
            code: {"content": {"text/xml": {}}, "description": f"SOAP fault: {why}"}
            for code, why in _OUTBOUND_FAULTS.items()
        },
    },
)
async def receive_outbound(request: Request, token: str | None = None) -> Response:
    settings = request.app.state.settings
    expected = _configured(settings.salesforce_outbound_token)
    missing = "SALESFORCE_OUTBOUND_TOKEN" if expected is None else None
    missing = missing or (None if settings.salesforce_org_id else "SALESFORCE_ORG_ID")
    if missing:
        return _fault(
            f"outbound messages are not configured on this service ({missing})", 503, client=False
        )
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        return _refused("missing or wrong token in the endpoint URL", 401)
    try:
        body = await read_body(request, MAX_OUTBOUND_BYTES)
    except PayloadTooLarge as exc:
        return _refused(f"message {exc.message}", 413)
    except BodyCutShort as exc:
        return _refused(f"message {exc.message}", 400)
    try:
        message = parse_outbound_message(body)
    except OutboundMessageError as exc:
        return _refused(str(exc), 400)
    if not org_matches(settings.salesforce_org_id, message.organization_id):
        return _refused("message from an organization this service does not serve", 403)
    events = outbound_events(message, integration_user_id=settings.salesforce_integration_user_id)
    try:
        await store_delivery(request, OUTBOUND_SOURCE, events)
    except NotStored as exc:
        return _fault(f"could not store the notifications: {exc.message}", 500, client=False)
    _count_ignored(OUTBOUND_SOURCE, events)
    return Response(ACK_ENVELOPE, status_code=200, media_type=SOAP_TYPE)


class SalesforceEventsAck(BaseModel):
    received: int
    new: int
    duplicates: int
    queued_deals: int
    # What was wrong with each malformed event ("event 2: opportunityId: ..."): stored for the
    # record, nothing queued for it; the batch's other events are kept.
    malformed: list[str] = []


@router.post("/webhooks/salesforce/events/", include_in_schema=False)
@router.post(
    "/webhooks/salesforce/events",
    summary="Signed JSON opportunity events from Flow, Apex or a Platform Event relay",
    responses=webhook_errors(400, 401, 413, 422, 503),
)
async def receive_events(request: Request) -> SalesforceEventsAck:
    settings = request.app.state.settings
    secret = _configured(settings.salesforce_events_secret)
    if secret is None:
        raise ServiceUnavailable(
            "Salesforce JSON events are not configured (SALESFORCE_EVENTS_SECRET)"
        )
    with refusals(EVENTS_SOURCE):
        body = await read_body(request, MAX_EVENTS_BYTES)
        try:
            signatures.verify(
                secret,
                request.headers.get(signatures.TIMESTAMP_HEADER),
                request.headers.get(signatures.SIGNATURE_HEADER),
                body,
            )
        except signatures.SignatureError as exc:
            raise Unauthorized(f"invalid signature: {exc}") from None
        try:
            parsed = parse_events(body)
        except ValidationError as exc:  # not {"events": [...]} with 1 to 200 events
            raise InvalidRequest(exc.errors(include_url=False)) from None
        if not parsed.events:  # nothing usable: the sender's mistake, said in full
            raise InvalidRequest(
                [e for _, _, errors in parsed.malformed for e in errors], rendered=True
            )
    events = json_events(
        parsed.events, integration_user_id=settings.salesforce_integration_user_id
    ) + malformed_events(parsed)
    try:
        result = await store_delivery(request, EVENTS_SOURCE, events)
    except NotStored as exc:
        raise ServiceUnavailable(exc.message) from None
    _count_ignored(EVENTS_SOURCE, events)
    if parsed.malformed:  # the sender's bug, stored aside: alert on it like a refusal
        metrics.EVENTS.labels(source=EVENTS_SOURCE, result="malformed").inc(len(parsed.malformed))
    return SalesforceEventsAck(
        received=result.received,
        new=result.new,
        duplicates=result.duplicates,
        queued_deals=result.queued_deals,
        malformed=parsed.problems(),
    )
