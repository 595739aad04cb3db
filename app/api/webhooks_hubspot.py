"""POST /webhooks/hubspot: HubSpot's signed webhook batches, acknowledged only once durable.

Order matters: refuse a delivery whose signature headers already fail (401, the body not
read), read at most 20 MB of body (`MAX_BODY_BYTES`, 413 past it), verify the
signature over the raw body (401, nothing stored, if it fails), parse (422 if it is not a JSON
array of at most 100 elements, if it holds NaN/Infinity or nests too deeply; lone surrogates in
its text are stored as U+FFFD), classify, then `store_delivery` commits the events and queue
rows in one transaction; only then 200. A malformed element of a signed delivery (not an
object, no eventId or subscriptionType, mergedObjectIds not a list of integers) is stored for
the record, queues nothing and is named in the answer: HubSpot retries any 4xx but
400/401/403/404/405 ten times and then drops the delivery, so refusing it would lose its good
events. A database failure is a 503 with nothing stored, so HubSpot delivers again.
"""

from __future__ import annotations

import json
import math

import structlog
from fastapi import APIRouter, Request
from pydantic import BaseModel

from app import metrics
from app.api.ingest import NotStored, read_body, refusals, store_delivery, webhook_errors
from app.connectors.hubspot.events import (
    MAX_EVENTS,
    SOURCE,
    classify_events,
    without_lone_surrogates,
)
from app.connectors.hubspot.signatures import request_uri, verify
from app.errors import InvalidRequest, ServiceUnavailable, Unauthorized

log = structlog.get_logger("app.webhooks.hubspot")
router = APIRouter(tags=["webhooks"])
# At most 100 events, and an event carries the new value of its property: a note's text
# (`hs_note_body`, which setup subscribes to) is up to 65,536 characters, 3 bytes each in
# UTF-8 at worst. 1 MB refused a notes import or a burst of pasted e-mail threads with a 413,
# which HubSpot retries and then drops, with the deal changes batched beside them. Anything
# past 100 such events is not HubSpot. `nul.ROUTE_CAPPED` leaves this route its own cap.
MAX_BODY_BYTES = 20 * 1024 * 1024


class HubSpotAck(BaseModel):
    received: int
    new: int
    duplicates: int
    queued_deals: int
    ignored: dict[str, int]
    # What was wrong with each malformed event ("event 3: lacks eventId"), stored, not queued.
    malformed: list[str] = []


def _signed_headers_first(request: Request, settings) -> None:
    """401 before the body is read when the signature headers already fail: none, a timestamp
    missing, malformed or outside the 5-minute window, a version the configuration refuses.
    Anyone reaching the port could make the service read and hold 20 MB of an unsigned body
    first. Only "does not match" needs the body (`_verified_events`)."""
    verdict = verify(
        headers=request.headers,
        method=request.method,
        uri="",
        body=b"",
        secrets=[
            s.get_secret_value()
            for s in (settings.hubspot_client_secret, settings.hubspot_client_secret_previous)
            if s is not None
        ],
        versions=settings.hubspot_signature_versions.split(","),
    )
    if not verdict.ok and "does not match" not in verdict.reason:
        raise Unauthorized(f"invalid HubSpot signature: {verdict.reason}")


def _verified_events(request: Request, settings, body: bytes) -> list[object]:
    """The delivery's events, once its signature and shape are checked (401 / 422 otherwise).
    Each element may still be malformed: `classify_events` stores such an event aside."""
    secrets = [
        s.get_secret_value()
        for s in (settings.hubspot_client_secret, settings.hubspot_client_secret_previous)
        if s is not None
    ]
    uri = request_uri(
        settings.public_base_url,
        request.scope.get("raw_path", b"").decode("latin-1") or request.url.path,
        request.scope.get("query_string", b"").decode("latin-1"),
    )
    verdict = verify(
        headers=request.headers,
        method=request.method,
        uri=uri,
        body=body,
        secrets=secrets,
        versions=settings.hubspot_signature_versions.split(","),
    )
    if not verdict.ok:
        if verdict.version == "v3" and "does not match" in verdict.reason:
            # HubSpot signs the target URL it called: a PUBLIC_BASE_URL that differs from it
            # (http behind a TLS proxy, another host, a path prefix) fails every delivery, and
            # "does not match" alone did not say what was compared. The URL goes to the log,
            # without its query (which may carry a token); the answer names the settings.
            log.warning(
                "HubSpot v3 signature does not match",
                signed_as=f"{request.method} {uri.partition('?')[0]}",
                hint="HubSpot signs the target URL of the app's webhooks: PUBLIC_BASE_URL must "
                "be that URL's scheme and host, HUBSPOT_CLIENT_SECRET the app's client secret",
            )
            raise Unauthorized(
                "invalid HubSpot signature: v3 signature does not match (check that "
                "PUBLIC_BASE_URL is the scheme and host of the webhook target URL set in "
                "HubSpot, and HUBSPOT_CLIENT_SECRET the app's client secret)"
            )
        raise Unauthorized(f"invalid HubSpot signature: {verdict.reason}")
    events = _parse(body)
    if not isinstance(events, list):
        raise _refused("must be a JSON array of event objects", "list_type")
    if len(events) > MAX_EVENTS:
        raise _refused(f"at most {MAX_EVENTS} events per delivery, got {len(events)}", "too_long")
    # One malformed event is not a reason to refuse the others (`events.malformed`).
    return [without_lone_surrogates(e) for e in events]


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float | str:
    """A JSON number past a double ("1e400") as the text it was: Python reads it as inf, which
    neither database stores (the delivery was a 503 on every retry, its good events lost with
    it). HubSpot sends property values as text anyway."""
    value = float(text)
    return value if math.isfinite(value) else text


# HubSpot's events are a list of flat objects; anything much deeper is no delivery of theirs
# (and walking it, `without_lone_surrogates`, would exhaust the stack: a 500, retried).
MAX_DEPTH = 32


def _too_deep(value: object, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _parse(body: bytes) -> object:
    """JSON as HubSpot writes it: NaN and Infinity (which Python accepts, and the databases
    then refuse to store) are a 422, a number past a double is kept as its text (`_finite`),
    and nesting deeper than any delivery of theirs is a 422 (a RecursionError was a 500, which
    HubSpot retries)."""
    try:
        parsed = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise _refused("not JSON HubSpot sends: nested too deeply") from None
    except ValueError as exc:
        raise _refused(f"not JSON: {exc}", "json_invalid") from None
    if _too_deep(parsed):
        raise _refused(f"not JSON HubSpot sends: nested more than {MAX_DEPTH} deep")
    return parsed


def _refused(msg: str, kind: str = "value_error") -> InvalidRequest:
    """The delivery's body refused as a whole: the usual 422 shape, at path `body`."""
    return InvalidRequest.at(("body",), msg, type=kind)


# The target URL as an admin may enter it, with a trailing slash, is served too (hidden from
# the OpenAPI document): redirected (307, to http:// behind a TLS proxy), every delivery failed.
@router.post("/webhooks/hubspot/", include_in_schema=False)
@router.post(
    "/webhooks/hubspot",
    summary="HubSpot webhook deliveries (signature v3; v1/v2 when configured); 200 means stored",
    responses=webhook_errors(400, 401, 413, 422, 503),
)
async def receive_hubspot(request: Request) -> HubSpotAck:
    settings = request.app.state.settings
    if settings.hubspot_client_secret is None:  # not a bad signature: HubSpot delivers again
        raise ServiceUnavailable(
            "HubSpot webhooks are not configured on this service (HUBSPOT_CLIENT_SECRET)"
        )
    with refusals(SOURCE):
        _signed_headers_first(request, settings)
        body = await read_body(request, MAX_BODY_BYTES)
        events = _verified_events(request, settings, body)
    classified = classify_events(
        events,
        portal_id=settings.hubspot_portal_id,
        app_id=settings.hubspot_app_id,
        guard_property=settings.hubspot_guard_property,
    )
    try:
        result = await store_delivery(request, SOURCE, classified.events)
    except NotStored as exc:
        raise ServiceUnavailable(exc.message) from exc
    ignored_total = sum(classified.ignored.values())
    if ignored_total:
        metrics.EVENTS.labels(source=SOURCE, result="ignored").inc(ignored_total)
    if classified.problems:  # the sender's bug, stored aside: alert on it like a refusal
        metrics.EVENTS.labels(source=SOURCE, result="malformed").inc(len(classified.problems))
    return HubSpotAck(
        received=len(events),
        new=result.new,
        duplicates=result.duplicates,
        queued_deals=result.queued_deals,
        ignored=classified.ignored,
        malformed=classified.problems,
    )
