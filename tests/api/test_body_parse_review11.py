"""A route's JSON body over OFF_LOOP_BYTES is parsed and validated in a worker thread
(`nul.OffLoopBodyRoute`): FastAPI parsed and validated it on the event loop, after the body
checks had moved off it (7da1053), holding every webhook ack behind megabytes of JSON. The
answers are the same whichever path a body takes. Security review 11 (helper 157)."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from app.api import deps, nul
from tests.api.test_rules import NEVER
from tests.api.test_simulate import BETA_WARN, _snapshot, seed

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def threads(monkeypatch):
    """Where things ran: `loop` the event loop's thread (the API key's check records it, which
    runs there before the body is read), `parses` the threads `json.loads` read a body over
    OFF_LOOP_BYTES in."""
    seen: dict[str, list[int]] = {"loop": [], "parses": []}
    real_loads = json.loads
    real_check = deps.verified_key

    def loads(text, *args, **kwargs):
        if isinstance(text, bytes | str) and len(text) > nul.OFF_LOOP_BYTES:
            seen["parses"].append(threading.get_ident())
        return real_loads(text, *args, **kwargs)

    async def check(request, key):
        seen["loop"].append(threading.get_ident())
        return await real_check(request, key)

    monkeypatch.setattr(json, "loads", loads)
    monkeypatch.setattr(deps, "verified_key", check)
    return seen


def _padded(doc: object) -> bytes:
    """`doc` as JSON with whitespace past OFF_LOOP_BYTES: the same value, a large body."""
    text = json.dumps(doc)
    return text[:1].encode() + b" " * (nul.OFF_LOOP_BYTES + 1) + text[1:].encode()


def _on_the_old_path(monkeypatch, client, path, body, headers):
    """The answer FastAPI gives `body` parsing and validating it itself (on the event loop)."""
    with monkeypatch.context() as m:
        m.setattr(nul, "OFF_LOOP_BYTES", 10 * nul.MAX_BODY_BYTES)
        r = client.post(path, content=body, headers=headers)
    return r.status_code, r.json()


def test_a_large_json_body_is_parsed_off_the_event_loop(client, api_key, threads) -> None:
    headers = {**api_key("viewer"), **JSON}
    small = client.post("/api/v1/rules/validate", json=NEVER, headers=headers)
    assert small.status_code == 200, small.text
    assert threads["parses"] == []
    large = client.post("/api/v1/rules/validate", content=_padded(NEVER), headers=headers)
    assert (large.status_code, large.json()) == (200, small.json())
    [loop] = set(threads["loop"])
    # the body checks' parse (`RefuseNulMiddleware`) and the route's, neither on the loop
    assert len(threads["parses"]) >= 2
    assert loop not in threads["parses"]


def test_a_large_body_is_validated_off_the_event_loop(client, api_key, engine, monkeypatch) -> None:
    """Posted snapshots are validated (pydantic) in the worker thread too: each one's
    validator canonicalizes its deal id, recorded here with the thread it ran on."""
    from app.connectors import registry

    seed(engine)
    loop: list[int] = []
    validated: list[int] = []
    real_canonical = registry.canonical_deal_id
    real_check = deps.verified_key

    def canonical(crm, deal_id):
        validated.append(threading.get_ident())
        return real_canonical(crm, deal_id)

    async def check(request, key):
        loop.append(threading.get_ident())
        return await real_check(request, key)

    monkeypatch.setattr(registry, "canonical_deal_id", canonical)
    monkeypatch.setattr(deps, "verified_key", check)
    snapshots = [_snapshot(f"x{i}", "SKU-ai").model_dump(mode="json") for i in range(400)]
    body = json.dumps({"rules": [BETA_WARN], "base": "none", "snapshots": snapshots}).encode()
    assert len(body) > nul.OFF_LOOP_BYTES
    headers = {**api_key("revops"), **JSON}
    r = client.post("/api/v1/rules/simulate", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["after"] == {"clear": 0, "warning": 400, "blocked": 0}
    assert len(validated) >= 400
    assert loop and set(loop).isdisjoint(validated)
    old = _on_the_old_path(monkeypatch, client, "/api/v1/rules/simulate", body, headers)
    assert old == (200, r.json())  # the same answer as FastAPI's own parse and validation


BAD_JSON = [
    # broken at its end, after the padding: where it breaks, as FastAPI's parse said it
    b'{"id": "never-sold",' + b" " * (nul.OFF_LOOP_BYTES + 1) + b'"name": }',
    # not UTF-8 text
    b'{"name": "\xff",' + b" " * (nul.OFF_LOOP_BYTES + 1) + b'"id": "x"}',
    # a number too long for Python's int()
    b'{"value": ' + b"9" * 5000 + b"," + b" " * (nul.OFF_LOOP_BYTES + 1) + b'"id": "x"}',
    # two documents
    _padded(NEVER) + b" {}",
]


@pytest.mark.parametrize("body", BAD_JSON, ids=["syntax", "not-utf8", "digits", "two-documents"])
def test_a_large_body_that_is_not_json_is_answered_as_before(
    client, api_key, threads, monkeypatch, body
) -> None:
    headers = {**api_key("revops"), **JSON}
    r = client.post("/api/v1/features", content=body, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"].startswith("body: not valid JSON")
    assert [d["path"] for d in error["details"]] == ["body"]
    assert threads["loop"] and threads["parses"]
    assert set(threads["loop"]).isdisjoint(threads["parses"])
    old = _on_the_old_path(monkeypatch, client, "/api/v1/features", body, headers)
    assert old == (422, r.json())


def test_the_place_a_large_body_breaks_is_said_as_before(client, api_key) -> None:
    body = BAD_JSON[0]
    r = client.post("/api/v1/features", content=body, headers={**api_key("revops"), **JSON})
    at = body.index(b"}")
    assert r.json()["error"]["message"] == (
        f"body: not valid JSON (at character {at}): Expecting value"
    )


@pytest.mark.parametrize(
    "path, doc, content_type",
    [
        # fails validation: FastAPI validates the parsed body again for its errors
        ("/api/v1/features", {"key": "Not A Key", "name": "", "availability": "soon"}, None),
        ("/api/v1/rules", {**NEVER, "severity": "loud", "when": {"op": "eq"}}, None),
        # valid: created
        ("/api/v1/features", {"key": "sso", "name": "SSO", "availability": "beta"}, None),
        # not sent as JSON: 415, as before
        ("/api/v1/features", {"key": "sso", "name": "SSO"}, "text/plain"),
        # a JSON media type of its own
        ("/api/v1/rules/validate", NEVER, "application/merge-patch+json"),
    ],
    ids=["invalid-feature", "invalid-rule", "created", "not-json", "plus-json"],
)
def test_a_large_body_gets_the_answer_a_small_one_gets(
    client, api_key, engine, path, doc, content_type
) -> None:
    headers = {**api_key("revops"), "Content-Type": content_type or "application/json"}
    small = client.post(path, content=json.dumps(doc), headers=headers)
    if small.status_code == 201:  # once more with the large body: the same write
        client.delete(small.headers["Location"], headers=headers).raise_for_status()
    large = client.post(path, content=_padded(doc), headers=headers)
    assert large.status_code == small.status_code, large.text
    assert _untimed(large.json()) == _untimed(small.json())
    assert small.status_code in (200, 201, 415, 422)


def _untimed(answer: dict) -> dict:
    """`answer` without the times a write stamps."""
    if "feature" in answer:
        answer["feature"] = {
            k: v for k, v in answer["feature"].items() if k not in ("created_at", "updated_at")
        }
    return answer


def test_a_mappings_import_is_answered_as_before(client, api_key, engine) -> None:
    """The import reads its own body (CSV, a JSON list, a multipart upload): no body field for
    FastAPI to parse, the same answers as before for a large one."""
    headers = api_key("revops")
    client.post(
        "/api/v1/features",
        json={"key": "sso", "name": "SSO", "availability": "beta"},
        headers=headers,
    ).raise_for_status()
    rows = 6000
    csv = "sku,feature_keys\n" + "".join(f"SKU-{i},sso\n" for i in range(rows))
    assert len(csv) > nul.OFF_LOOP_BYTES
    r = client.post(
        "/api/v1/mappings/import",
        content=csv.encode(),
        headers={**headers, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["unchanged"]) == (rows, 0)
    r = client.post(
        "/api/v1/mappings/import",
        files={"file": ("mappings.csv", csv.encode(), "text/csv")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["unchanged"]) == (0, rows)
    items = [
        {"match_kind": "sku", "match_value": f"SKU-{i}", "feature_keys": ["sso"]}
        for i in range(rows)
    ]
    r = client.post("/api/v1/mappings/import", json=items, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["unchanged"] == rows
    broken = json.dumps(items)[:-2].encode()
    r = client.post("/api/v1/mappings/import", content=broken, headers={**headers, **JSON})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["message"].startswith("invalid JSON at line 1 column ")


def test_every_route_with_a_json_body_parses_a_large_one_off_the_loop(app) -> None:
    """All of the app's routes are built by `OffLoopBodyRoute`, a router added later too."""
    bodies = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.body_field is not None:
            bodies.append(context.path)
            assert isinstance(route, nul.OffLoopBodyRoute), context.path
    assert "/api/v1/rules/simulate" in bodies and "/api/v1/features" in bodies


def test_an_import_is_decoded_off_the_event_loop(client, api_key, threads, monkeypatch) -> None:
    """A 5 MB import decoded (and looked at for a workbook) on the loop, twice for a file
    that is not UTF-8: now in the thread that imports it."""
    from app.api import mappings

    decoded: list[int] = []
    real_decode = mappings.decode_import

    def decode(raw, content_type):
        decoded.append(threading.get_ident())
        return real_decode(raw, content_type)

    monkeypatch.setattr(mappings, "decode_import", decode)
    headers = {**api_key("revops"), "Content-Type": "text/csv"}
    csv = b"sku,feature_keys\n" + b"SKU-1,\xe9\n" * 10_000
    r = client.post("/api/v1/mappings/import", content=csv, headers=headers)
    assert r.status_code == 422, r.text  # not UTF-8, said as before
    assert r.json()["error"]["message"].startswith(
        "import must be UTF-8 text: line 2 has byte 0xE9, which is not UTF-8 (in Windows-1252 "
        "it is 'é')"
    )
    assert len(decoded) == 1
    assert threads["loop"] and set(threads["loop"]).isdisjoint(decoded)


def test_a_large_upload_is_parsed_letting_the_event_loop_run(client, api_key, monkeypatch) -> None:
    """A multipart upload is parsed as it is received, on the event loop: a large one reaches
    the parser in slices, and between two of them the loop runs other work (a callback the
    parser scheduled at the previous slice has run)."""
    import asyncio

    import python_multipart

    sizes: list[int] = []
    ran_between: list[bool] = []
    real_write = python_multipart.MultipartParser.write

    def write(self, data):
        if data:
            if sizes:
                ran_between.append(flag[0])
            sizes.append(len(data))
            flag[:] = [False]
            asyncio.get_running_loop().call_soon(flag.__setitem__, 0, True)
        return real_write(self, data)

    flag = [False]
    monkeypatch.setattr(python_multipart.MultipartParser, "write", write)
    headers = api_key("revops")
    client.post(
        "/api/v1/features",
        json={"key": "sso", "name": "SSO", "availability": "beta"},
        headers=headers,
    ).raise_for_status()
    csv = ("sku,feature_keys\n" + "".join(f"SKU-{i},sso\n" for i in range(20_000))).encode()
    r = client.post(
        "/api/v1/mappings/import",
        files={"file": ("mappings.csv", csv, "text/csv")},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 20_000
    assert sum(sizes) > len(csv) and len(sizes) > 2
    assert max(sizes) <= nul.OFF_LOOP_BYTES
    assert all(ran_between)


def _old_nul_pattern():
    import re

    return re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000")


def test_a_nul_is_found_where_the_pattern_found_it() -> None:
    """`has_nul` (plain searches) answers as the pattern it replaced, which took 0.3-0.7 s over
    8 MB holding the GIL, on every sequence of up to six of these pieces."""
    from itertools import product

    pattern = _old_nul_pattern()
    pieces = [b"\\", b"u0000", b"\\u0000", b"x", b"\x00", b'"']
    checked = 0
    for n in range(7):
        for parts in product(pieces, repeat=n):
            body = b"".join(parts)
            assert nul.has_nul(body) == (pattern.search(body) is not None), body
            checked += 1
    assert checked == sum(6**n for n in range(7))


def test_a_literal_past_the_largest_double_is_refused(client, api_key) -> None:
    """'1' and 400 zeros '.0' is read as inf, with no exponent for the non-finite check to
    see: it passed to the route. Refused as NaN and Infinity are, small or large."""
    headers = {**api_key("revops"), **JSON}
    huge = "1" + "0" * 400 + ".0"
    small = ('{"key": "sso", "name": "SSO", "confidence": ' + huge + "}").encode()
    large = small[:-1] + b"," + b" " * (nul.OFF_LOOP_BYTES + 1) + b'"url": null}'
    for body in (small, large, small.replace(b".0}", b"e-300}")):
        r = client.post("/api/v1/features", content=body, headers=headers)
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        if body.endswith(b"e-300}"):  # 1e100: finite, and more than 1 (the route's answer)
            assert detail["type"] != "finite_number"
        else:
            assert (detail["path"], detail["type"]) == ("confidence", "finite_number")
            assert "got Infinity" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "small, path, kind",
    [
        (b'{"key": "sso", "name": "SSO", "aliases": [{"x": 1, "x": 2}]}', "aliases[0].x", "dup"),
        (b'{"key": "sso", "name": "SSO", "confidence": NaN}', "confidence", "NaN"),
        (b'{"key": "sso", "name": "SSO", "skus": [1e999]}', "skus[0]", "Infinity"),
        (b'{"key": "sso", "name": "SSO", "url": -Infinity}', "url", "-Infinity"),
    ],
)
def test_a_large_body_is_checked_once_with_the_same_answers(
    client, api_key, monkeypatch, small, path, kind
) -> None:
    """A large body's repeated keys and non-finite numbers are found in one parse, with no
    pattern searched over it first (each took 0.1-0.3 s over 8 MB holding the GIL): the same
    422 as for the small body."""
    searched: list[int] = []
    pattern = nul._MAYBE_NON_FINITE

    class Recording:
        def search(self, body):
            searched.append(len(body))
            return pattern.search(body)

    monkeypatch.setattr(nul, "_MAYBE_NON_FINITE", Recording())
    headers = {**api_key("revops"), **JSON}
    answers = []
    for body in (small, small[:1] + b" " * (nul.OFF_LOOP_BYTES + 1) + small[1:]):
        r = client.post("/api/v1/features", content=body, headers=headers)
        assert r.status_code == 422, r.text
        answers.append(r.json())
    assert answers[0] == answers[1]
    [detail] = answers[0]["error"]["details"]
    assert detail["path"] == path
    assert (
        (detail["type"] == "duplicate_key")
        if kind == "dup"
        else (f"got {kind};" in answers[0]["error"]["message"])
    )
    assert all(size <= nul.OFF_LOOP_BYTES for size in searched)
