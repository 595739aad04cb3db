"""The HTTP API as a contract: what /openapi.json promises and what the routes answer agree,
and malformed requests get the one error body, never a 400 of FastAPI's own or a 500."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import ProductMapping, Rule


def test_a_number_too_long_for_python_is_a_422_saying_so_not_a_400_or_500(client, api_key, engine):
    """Python's int() refuses a literal past 4,300 digits (a ValueError): FastAPI answered any
    JSON body holding one with a 400 "There was an error parsing the body", in no error shape
    the API documents, and the mapping import (which parses its own body) with a 500."""
    headers = {**api_key("revops"), "Content-Type": "application/json"}
    body = b'{"name": "x", "severity": ' + b"9" * 5000 + b"}"
    for path in ("/api/v1/rules", "/api/v1/features", "/api/v1/roadmap/what-if"):
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 422, (path, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["message"] == "body: not valid JSON: a number with more than 4,300 digits"
        assert [d["path"] for d in error["details"]] == ["body"]
    r = client.post(
        "/api/v1/mappings/import",
        content=b'[{"match_kind": "sku", "match_value": "A", "feature_keys": ["sso"], "n": '
        + b"1" * 5000
        + b"}]",
        headers=headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"] == (
        "file: not valid JSON: a number with more than 4,300 digits; nothing was written"
    )
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []
        assert s.exec(select(ProductMapping)).all() == []


def test_a_wrong_method_is_a_405_whose_allow_names_every_method_of_the_path(client, api_key):
    """Starlette's Allow named the methods of the first route on the path alone: PATCH
    /api/v1/rules said 'Allow: GET', though POST creates a rule there."""
    h = api_key("revops")
    r = client.patch("/api/v1/rules", json={}, headers=h)
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == "GET, HEAD, POST"
    r = client.post("/api/v1/features/sso", json={}, headers=h)
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    r = client.delete("/api/v1/mappings", headers=h)
    assert r.headers["allow"] == "GET, HEAD, POST"


def test_head_answers_as_get_without_the_body(client, api_key):
    """HEAD on a GET route was a 405 (FastAPI's routes take only the methods they declare):
    a monitor's HEAD /healthz failed, and so did a client checking a list with HEAD."""
    h = api_key("viewer")
    r = client.head("/healthz")
    assert r.status_code == 200
    assert r.content == b""
    get = client.get("/api/v1/rules", headers=h)
    r = client.head("/api/v1/rules", headers=h)
    assert r.status_code == 200, r.headers
    assert r.content == b""
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == get.headers["content-length"]
    # the same checks as GET: a key, and the route's own query parameters
    assert client.head("/api/v1/rules").status_code == 401
    assert client.head("/api/v1/rules?limit=0", headers=h).status_code == 422
    assert client.head("/api/v1/rules/nope", headers=h).status_code == 404
