"""Webhook bodies cut short on the way in (review 8).

A proxy that times out, or a sender that goes away mid-upload, ends the request before its
Content-Length was read: the server reports a disconnect. `read_body` let Starlette's
ClientDisconnect escape the route, so each such request was an unhandled exception: a 500, a
traceback logged as "Exception in ASGI application" by the server, nothing counted as a
refusal. Operators alert on both (a 5xx rate, error logs) for what is a sender's or proxy's
incomplete request: it is refused as such (400, counted as rejected, one warning), nothing
stored."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlmodel import Session, select

from app.models import WebhookEvent
from app.sandbox.salesforce import ORG_ID

TOKEN = "outbound-url-token"


def _rejected(source: str) -> float:
    sample = REGISTRY.get_sample_value(
        "roadmap_guard_webhook_events_total", {"source": source, "result": "rejected"}
    )
    return sample or 0.0


def _cut_short(app, path: str, query: bytes, body: bytes, headers: dict[str, str]) -> list[dict]:
    """POST `body` declaring twice its length, sending half of it, then the disconnect the
    server reports when the connection closes early. Returns what the app sent."""
    messages = [
        {"type": "http.request", "body": body[: len(body) // 2], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        if messages:
            return messages.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "server": ("testserver", 80),
        "client": ("203.0.113.9", 50000),
        "app": app,
    }

    async def run() -> None:
        await app(scope, receive, send)

    asyncio.run(run())
    return sent


@pytest.mark.parametrize(
    ("path", "query", "source", "content_type"),
    [
        ("/webhooks/hubspot", b"", "hubspot", "application/json"),
        ("/webhooks/salesforce/events", b"", "salesforce_events", "application/json"),
        (
            "/webhooks/salesforce/outbound",
            f"token={TOKEN}".encode(),
            "salesforce_outbound",
            "text/xml; charset=utf-8",
        ),
    ],
)
def test_a_body_cut_short_is_refused_as_such_not_a_500(
    make_app, engine, path, query, source, content_type
):
    app = make_app(
        connectors={},
        hubspot_client_secret=SecretStr("hubspot-client-secret"),
        salesforce_events_secret=SecretStr("events-shared-secret"),
        salesforce_outbound_token=SecretStr(TOKEN),
        salesforce_org_id=ORG_ID,
    )
    before = _rejected(source)
    body = b"x" * 4096
    sent = _cut_short(app, path, query, body, {"content-type": content_type})  # no exception
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 400
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"cut short" in answer
    assert _rejected(source) - before == 1
    with Session(engine) as s:
        assert s.exec(select(WebhookEvent)).all() == []
