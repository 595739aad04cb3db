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


def test_every_api_write_declares_the_413_its_body_can_get(client, api_key):
    """Any /api/ body over 8 MB is refused with a 413 before a route runs, but only the
    mappings import declared one: a generated client met an answer its spec did not have."""
    doc = client.get("/openapi.json").json()
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    writes = [
        (path, method, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/")
        for method, op in ops.items()
        if method in ("post", "put", "patch", "delete")
    ]
    assert len(writes) > 25
    for path, method, op in writes:
        assert "413" in op["responses"], (method, path)
        assert op["responses"]["413"]["content"]["application/json"]["schema"] == ref
    from app.api.nul import MAX_BODY_BYTES
    from app.errors import ErrorResponse

    big = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'"}'
    r = client.put(
        "/api/v1/rules/r1",
        content=big,
        headers={**api_key("revops"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert ErrorResponse.model_validate(r.json()).error.code == "payload_too_large"


def test_health_readiness_and_metrics_are_documented_as_they_answer(client):
    """/readyz answers 503 with a reason (a monitor's client raised on an undeclared status),
    /healthz 503 when the embedded worker stops, and /metrics is Prometheus text, which the
    document declared as application/json."""
    from app.api.ops import HealthAnswer, ReadyAnswer

    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for path, model in (("/healthz", HealthAnswer), ("/readyz", ReadyAnswer)):
        responses = doc["paths"][path]["get"]["responses"]
        for code in ("200", "503"):
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{model.__name__}"}
            assert set(schemas[model.__name__]["properties"]) == set(model.model_fields)
    r = client.get("/readyz")  # the test database is built without migrations: not ready
    assert r.status_code == 503
    assert ReadyAnswer.model_validate(r.json()).reason.startswith("migrations not at head")
    HealthAnswer.model_validate(client.get("/healthz").json())
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")


def test_a_201_says_where_the_created_resource_is(client, api_key):
    """Creating a rule, a feature or a mapping answered 201 without a Location (RFC 9110): a
    client had to know how to build the new resource's path; the mapping's id was only in
    the body. Location is its path, declared in the document with the ETag."""
    h = api_key("revops")
    created = [
        client.post(
            "/api/v1/rules",
            json={
                "id": "never-sold",
                "name": "Never sold",
                "severity": "block",
                "when": {"field": "feature.availability", "op": "eq", "value": "never"},
                "message": "{feature.name} will never be built.",
            },
            headers=h,
        ),
        client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=h),
        client.post(
            "/api/v1/mappings",
            json={"match_kind": "sku", "match_value": "SSO-1", "feature_keys": ["sso"]},
            headers=h,
        ),
    ]
    mapping_id = created[2].json()["mapping"]["id"]
    assert [r.status_code for r in created] == [201, 201, 201], [r.text for r in created]
    assert [r.headers.get("location") for r in created] == [
        "/api/v1/rules/never-sold",
        "/api/v1/features/sso",
        f"/api/v1/mappings/{mapping_id}",
    ]
    for r in created:
        read = client.get(r.headers["location"], headers=h)
        assert read.status_code == 200, read.text
        assert read.headers["etag"] == r.headers["etag"]
    doc = client.get("/openapi.json").json()
    for path in ("/api/v1/rules", "/api/v1/features", "/api/v1/mappings"):
        headers = doc["paths"][path]["post"]["responses"]["201"]["headers"]
        assert set(headers) == {"Location", "ETag"}, path


def test_a_json_body_sent_without_a_json_content_type_is_a_415_saying_so(client, api_key, engine):
    """`curl -d '{...}'` sends application/x-www-form-urlencoded: the route read the JSON
    object as text and answered 422 'body: Input should be a valid dictionary or object',
    which it was. It is a 415 naming the Content-Type to send, declared in the document."""
    import json

    body = json.dumps(
        {
            "name": "Never sold",
            "severity": "block",
            "when": {"field": "feature.availability", "op": "eq", "value": "never"},
            "message": "never",
        }
    ).encode()
    h = api_key("revops")
    for sent in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {**h, "Content-Type": sent} if sent else h
        r = client.post("/api/v1/rules", content=body, headers=headers)
        assert r.status_code == 415, (sent, r.text)
        assert r.json()["error"] == {
            "code": "unsupported_media_type",
            "message": "the body must be JSON sent with 'Content-Type: application/json' (got "
            + (f"'{sent}'" if sent else "no Content-Type")
            + "); nothing was written",
        }
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []
    # who may not write hears that first, whatever the body
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert client.post("/api/v1/rules", content=body, headers=form).status_code == 401
    viewer = {**api_key("viewer"), **form}
    assert client.post("/api/v1/rules", content=body, headers=viewer).status_code == 403
    charset = {**h, "Content-Type": "application/json; charset=utf-8"}
    assert client.post("/api/v1/rules", content=body, headers=charset).status_code == 201
    # a write without a body needs no Content-Type
    assert client.post("/api/v1/rules/never-sold/disable", headers=h).status_code == 200
    doc = client.get("/openapi.json").json()
    assert "415" in doc["paths"]["/api/v1/rules"]["post"]["responses"]
    assert "415" not in doc["paths"]["/api/v1/rules/{rule_id}/disable"]["post"]["responses"]


def test_a_key_given_twice_in_a_json_object_is_refused_with_its_path(client, api_key, engine):
    """Python's json keeps the last of a repeated key: a rule written with "severity":
    "warning" and then "severity": "block" was stored blocking closed-won, the first value
    dropped without a word. Refused with where it was, and nothing written."""
    body = (
        b'{"name": "Never sold", "severity": "warning", "message": "never", '
        b'"when": {"field": "feature.availability", "op": "eq", "value": "never"}, '
        b'"severity": "block"}'
    )
    headers = {**api_key("revops"), "Content-Type": "application/json"}
    r = client.post("/api/v1/rules", content=body, headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    # located as every body mistake is: details without "body", FastAPI's detail with it
    assert [(d["loc"], d["path"], d["type"]) for d in error["details"]] == [
        (["severity"], "severity", "duplicate_key")
    ]
    assert r.json()["detail"][0]["loc"] == ["body", "severity"]
    shape = client.post("/api/v1/rules", json={"name": 1}, headers=headers).json()
    assert shape["error"]["details"][0]["loc"] == ["name"]
    assert shape["detail"][0]["loc"] == ["body", "name"]
    assert error["message"].startswith("severity: key 'severity' given more than once")
    nested = body.replace(b'"op": "eq"', b'"op": "eq", "op": "ne"').replace(
        b', "severity": "block"', b""
    )
    r = client.post("/api/v1/rules", content=nested, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["path"] == "when.op"
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []
    # a key repeated in a text value is text
    same = body.replace(b', "severity": "block"', b', "description": "{\\"name\\": 1}"')
    assert client.post("/api/v1/rules", content=same, headers=headers).status_code == 201


def _same_keys(answer, model) -> None:
    """`answer` has exactly `model`'s fields, nested models' too (lists: each item)."""
    import typing

    from pydantic import BaseModel

    assert set(answer) == set(model.model_fields), (model.__name__, sorted(answer))
    for name, info in model.model_fields.items():
        kind, value = info.annotation, answer[name]
        args = [a for a in typing.get_args(kind) if a is not type(None)] or [kind]
        inner = typing.get_args(args[0])[0] if typing.get_origin(args[0]) is list else args[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel) and value is not None:
            for item in value if isinstance(value, list) else [value]:
                _same_keys(item, inner)


def test_the_deal_lists_and_the_deal_page_are_documented_as_they_answer(client, api_key, engine):
    """/openapi.json showed `{}` for GET /api/v1/deals, /features/{key}/deals and
    /deals/{crm}/{id}: a generated client had no fields to read. Each is declared, and real
    answers hold exactly the declared fields, of the declared types."""
    from pydantic import TypeAdapter

    from app.api.deals import DealDetail, DealPage, FeatureDealPage
    from tests.dashboard.seed import seed

    with Session(engine) as s:
        seed(s)
        s.commit()
    h = api_key("viewer")
    doc = client.get("/openapi.json").json()
    for path, model in (
        ("/api/v1/deals", DealPage),
        ("/api/v1/features/{key}/deals", FeatureDealPage),
        ("/api/v1/deals/{crm}/{deal_id}", DealDetail),
    ):
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model.__name__}"
        }
    for url, model in (
        ("/api/v1/deals?state=all", DealPage),
        ("/api/v1/deals?feature=sso", DealPage),
        ("/api/v1/features/sso/deals", FeatureDealPage),
        ("/api/v1/deals/hubspot/h2", DealDetail),  # evaluations, findings, a write-back
        ("/api/v1/deals/hubspot/h3", DealDetail),
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        TypeAdapter(model).validate_python(body)
        if model is DealPage and "totals" not in body:
            body = {**body, "totals": None}
        _same_keys(body, model)
        assert body.get("items", [body]), url
        if url.endswith("/h2"):
            assert body["evaluations"] and body["write_backs"] and body["findings"]


def test_a_streamed_simulation_is_documented_as_ndjson(client, api_key):
    """POST /api/v1/rules/simulate?stream=true answers application/x-ndjson, which the
    document did not list beside the JSON answer: a generated client refused the body."""
    doc = client.get("/openapi.json").json()
    content = doc["paths"]["/api/v1/rules/simulate"]["post"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/x-ndjson"}
    r = client.post("/api/v1/rules/simulate?stream=true", json={}, headers=api_key("revops"))
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.text.splitlines()[-1].startswith('{"type": "result"')


def test_an_api_path_with_a_trailing_slash_is_answered_not_redirected(client, api_key):
    """GET or POST /api/v1/rules/ was a 307 to an absolute URL built from the request's own
    scheme: an empty body for a script reading JSON, and behind a TLS proxy uvicorn does not
    trust, an http:// Location where `curl -L` resent the key in the clear."""
    h = api_key("revops")
    r = client.get("/api/v1/rules/", headers=h, follow_redirects=False)
    assert r.status_code == 200, r.headers
    assert r.json()["items"] == []
    rule = {
        "id": "never-sold",
        "name": "Never sold",
        "severity": "block",
        "when": {"field": "feature.availability", "op": "eq", "value": "never"},
        "message": "never",
    }
    r = client.post("/api/v1/rules/", json=rule, headers=h, follow_redirects=False)
    assert r.status_code == 201, r.text
    r = client.get("/api/v1/rules/never-sold/", headers=h, follow_redirects=False)
    assert r.status_code == 200
    assert client.get("/api/v1/rules/never-sold/", follow_redirects=False).status_code == 401


def test_a_test_crm_deal_id_longer_than_its_column_is_refused_alike_on_every_database(
    make_app, engine, api_key
):
    """PUT /api/v1/test-crm/deals/<65+ characters> was stored on SQLite (and queued for the
    worker) and a 422 'cannot be stored' on PostgreSQL; it is the same 422 on both, at
    path.deal_id, declared in the document, and nothing is written."""
    from fastapi.testclient import TestClient

    from app.connectors.testcrm import TestCrmConnector
    from app.models import DealQueue, TestCrmDeal

    with TestClient(make_app(connectors={"test": TestCrmConnector(engine)})) as web:
        r = web.put("/api/v1/test-crm/deals/" + "d" * 65, json={"stage": "x"}, headers=api_key())
        assert r.status_code == 422, r.text
        assert [d["path"] for d in r.json()["error"]["details"]] == ["path.deal_id"]
        assert (
            web.put(
                "/api/v1/test-crm/deals/" + "d" * 64, json={"stage": "x"}, headers=api_key()
            ).status_code
            == 202
        )
        doc = web.get("/openapi.json").json()
    (param,) = doc["paths"]["/api/v1/test-crm/deals/{deal_id}"]["put"]["parameters"]
    assert param["schema"]["maxLength"] == 64
    with Session(engine) as s:
        assert [d.deal_id for d in s.exec(select(TestCrmDeal))] == ["d" * 64]
        assert [q.deal_id for q in s.exec(select(DealQueue))] == ["d" * 64]
