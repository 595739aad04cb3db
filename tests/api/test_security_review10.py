"""Security review 10 (helper 152): what an unauthenticated caller can make the API do."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.api import nul


def _asgi_post(app, path: str, body: bytes, headers: list[tuple[bytes, bytes]]):
    """POST `body` to `app` over raw ASGI; (status, answer, whether the app read the body)."""
    read = []
    sent: list[dict] = []

    async def receive():
        read.append(True)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    answer = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(answer), bool(read)


# A body that `RefuseNulMiddleware` parses in full (three times) before any route runs: a list
# of small objects with a repeated key's worth of work in each (8 MB of it held the event loop
# for seconds). Small here: the test asserts that it is not read at all.
BODY = b"[" + b",".join([b'{"a":1e100,"b":[1]}'] * 1000) + b"]"


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"authorization", b"Bearer rg_notakeyatallnotakeyatall")],
        [(b"x-api-key", b"rg_notakeyatallnotakeyatall")],
        [(b"authorization", b"Basic dXNlcjpwYXNz")],
    ],
    ids=["no key", "wrong bearer", "wrong x-api-key", "not bearer"],
)
def test_an_api_write_without_a_valid_key_is_refused_before_its_body_is_read(
    app, headers, monkeypatch
):
    parsed = []
    for name in ("duplicate_key", "non_finite_number", "json_too_deep"):
        real = getattr(nul, name)
        monkeypatch.setattr(
            nul, name, lambda body, _real=real, _n=name: parsed.append(_n) or _real(body)
        )
    status, answer, read = _asgi_post(app, "/api/v1/features", BODY, headers)
    assert status == 401, answer
    assert answer["error"]["code"] == "unauthorized"
    assert read is False, "the body was read before the key was checked"
    assert parsed == []


def test_a_keyless_write_carrying_a_nul_is_a_401_not_a_422(client):
    r = client.post(
        "/api/v1/features",
        content=b'{"key": "x", "name": "a\\u0000b"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["error"]["message"].startswith("missing API key")


def test_a_valid_key_still_gets_the_body_checks_and_the_route(app, api_key, monkeypatch):
    parsed = []
    real = nul.duplicate_key
    monkeypatch.setattr(nul, "duplicate_key", lambda body: parsed.append(1) or real(body))
    key = api_key("revops")["Authorization"].encode()
    status, answer, read = _asgi_post(
        app, "/api/v1/features", b'{"key": "sso", "name": "SSO", "name": "Single"}',
        [(b"authorization", key)],
    )  # fmt: skip
    assert read and parsed
    assert status == 422 and answer["error"]["details"][0]["type"] == "duplicate_key"
    status, answer, _ = _asgi_post(
        app, "/api/v1/features", b'{"key": "sso", "name": "SSO"}', [(b"authorization", key)]
    )
    assert status == 201, answer


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("viewer", "/api/v1/features"),
        ("engineering", "/api/v1/rules/simulate"),
        ("approver", "/api/v1/mappings/"),  # with the trailing slash the route is served at
        ("revops", "/api/v1/admin/api-keys"),
        ("viewer", "/api/v1/approvals"),
    ],
)
def test_a_key_whose_role_may_not_write_there_is_refused_before_the_body_is_read(
    app, api_key, role, path
):
    """Any key's holder (a viewer's) could make the service parse 8 MB bodies on the event
    loop before the route's own role check refused them."""
    key = api_key(role)["Authorization"].encode()
    status, answer, read = _asgi_post(app, path, BODY, [(b"authorization", key)])
    assert status == 403, answer
    assert answer["error"]["message"].startswith(f"role '{role}' may not do this")
    assert read is False


def test_a_role_the_route_admits_and_an_unknown_path_still_reach_the_app(app, api_key):
    viewer = api_key("viewer")["Authorization"].encode()
    # every role may ask a what-if: it runs (and says the feature is not on the roadmap)
    status, answer, read = _asgi_post(
        app, "/api/v1/features/nope/what-if", b'{"availability": "never"}',
        [(b"authorization", viewer)],
    )  # fmt: skip
    assert (status, read) == (404, True), answer
    status, answer, _ = _asgi_post(
        app, "/api/v1/no-such-thing", b"{}", [(b"authorization", viewer)]
    )
    assert status == 404, answer


def test_the_routes_own_refusals_are_unchanged_for_a_json_body(client, api_key):
    r = client.post("/api/v1/features", json={"key": "sso", "name": "SSO"},
                    headers=api_key("viewer"))  # fmt: skip
    assert r.status_code == 403, r.text
    assert "www-authenticate" not in r.headers


def test_a_declared_body_over_the_cap_is_still_the_413_without_a_key(client):
    r = client.post("/api/v1/features", content=b"x" * (nul.MAX_BODY_BYTES + 1))
    assert r.status_code == 413


# --- streamed computations (app/api/streaming.py): a bounded number at once -------------------


def _seed_feature(engine) -> None:
    from sqlmodel import Session

    from app.models import Feature

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", availability="coming_soon"))
        s.commit()


def test_a_viewer_cannot_start_streamed_computations_without_bound(
    client, api_key, engine, monkeypatch
):
    """Each `?stream=true` computation ran in a thread of its own with a database session, as
    many as were asked for: any read-only key could start hundreds, until the pool's
    connections were all taken and every other request answered 503."""
    import threading

    from app.api import streaming
    from app.api import what_if as route

    _seed_feature(engine)
    real = route.what_if
    running = threading.Semaphore(0)
    gate = threading.Event()

    def held(*args, **kwargs):
        running.release()
        gate.wait(10)  # set once the fifth ask is answered; bounded if it never is
        return real(*args, **kwargs)

    monkeypatch.setattr(route, "what_if", held)
    viewer = api_key("viewer")
    url = "/api/v1/features/sso/what-if?stream=true"
    answers: list[int] = []

    def ask() -> None:
        answers.append(client.post(url, json={"availability": "never"}, headers=viewer).status_code)

    askers = [threading.Thread(target=ask) for _ in range(streaming.MAX_RUNNING)]
    try:
        for t in askers:
            t.start()
        for _ in askers:  # every one of them computing
            assert running.acquire(timeout=20)
        r = client.post(url, json={"availability": "never"}, headers=viewer)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "busy"
        assert r.headers["retry-after"] == "5"
    finally:
        gate.set()
        deadline = time.monotonic() + 30
        for t in askers:
            t.join(max(0.0, deadline - time.monotonic()))
    assert answers == [200] * streaming.MAX_RUNNING
    # the slots are back once the computations are over
    r = client.post(url, json={"availability": "never"}, headers=viewer)
    assert r.status_code == 200 and r.text.splitlines()[-1].startswith('{"type": "result"')


def test_a_stream_the_server_never_starts_gives_its_slot_back():
    import gc

    from pydantic import BaseModel

    from app.api import streaming

    class Done(BaseModel):
        ok: bool = True

    for _ in range(streaming.MAX_RUNNING + 2):  # never iterated: the client left first
        response = streaming.progress_stream(lambda progress: Done(), name="review10-unread")
        del response
        gc.collect()
    response = streaming.progress_stream(lambda progress: Done(), name="review10-read")
    assert response.media_type == "application/x-ndjson"
