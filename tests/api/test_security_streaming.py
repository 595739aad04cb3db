"""A streamed computation that fails says so without the failure's internals.

The 200 status of `?stream=true` is sent before the work ends, so a failure is an error line.
That line carried `f"{type(exc).__name__}: {exc}"` of any exception: a database error's text
(SQL, bound parameters, the server's address) reached any read-only key, where the usual 500
answer says only "internal error"."""

from __future__ import annotations

import json

from app.errors import NotFound

SECRET = "connection to server at 10.1.2.3 port 5432 failed: password for rg_admin"


def _stream_lines(client, headers) -> list[dict]:
    r = client.post(
        "/api/v1/features/sso/what-if?stream=true", json={"availability": "never"}, headers=headers
    )
    assert r.status_code == 200
    return [json.loads(line) for line in r.text.splitlines()]


def _seed_feature(engine) -> None:
    from sqlmodel import Session

    from app.models import Feature

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", availability="coming_soon"))
        s.commit()


def test_a_streamed_failure_does_not_echo_the_exception_text(client, api_key, engine, monkeypatch):
    from app.api import what_if as route

    _seed_feature(engine)

    def boom(*_args, **_kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(route, "what_if", boom)
    lines = _stream_lines(client, api_key("viewer"))
    [error] = [e for e in lines if e["type"] == "error"]
    assert "10.1.2.3" not in json.dumps(lines)
    assert "RuntimeError" not in error["message"]
    assert error["code"] == "internal"
    assert error["message"].startswith("internal error")


def test_a_streamed_domain_error_keeps_its_message(client, api_key, engine, monkeypatch):
    from app.api import what_if as route

    _seed_feature(engine)

    def gone(*_args, **_kwargs):
        raise NotFound("feature sso was deleted meanwhile")

    monkeypatch.setattr(route, "what_if", gone)
    [error] = [e for e in _stream_lines(client, api_key("viewer")) if e["type"] == "error"]
    assert error == {
        "type": "error",
        "code": "not_found",
        "message": "feature sso was deleted meanwhile",
    }
