"""Every error answer has the same body, a failure we did not foresee included."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError, field_validator

from app.errors import InvalidRequest, validation_details


def test_an_unexpected_failure_is_a_500_with_the_error_body_and_no_internals(app):
    def broken() -> dict:
        raise RuntimeError("secret internals: dsn=postgresql://user:pw@db")

    app.add_api_route("/test/broken", broken, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/test/broken")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "error": {
            "code": "internal",
            "message": "internal error: the request failed on our side; "
            "the service log has the details",
        }
    }
    assert "secret" not in r.text


def test_a_body_of_the_wrong_shape_lists_every_mistake_with_its_path(client, api_key):
    r = client.post(
        "/api/v1/features",
        json={"key": "bad key", "name": "", "availability": "soon", "extra": 1},
        headers=api_key("revops"),
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    paths = [d["path"] for d in error["details"]]
    assert sorted(paths) == ["availability", "extra", "key", "name"]
    assert error["message"].startswith(f"{paths[0]}: ")
    assert error["message"].endswith("(and 3 more)")
    # FastAPI's own list stays for clients written against it.
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {("body", p) for p in paths}


def test_a_query_parameter_mistake_is_named_with_where_it_was(client, api_key):
    r = client.get("/api/v1/features?limit=0", headers=api_key("viewer"))
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert (detail["path"], detail["loc"]) == ("query.limit", ["query", "limit"])


def test_unknown_paths_and_wrong_methods_answer_with_the_error_body(client, api_key):
    r = client.get("/api/v1/no-such-thing", headers=api_key("viewer"))
    assert r.status_code == 404
    assert r.json()["error"] == {"code": "not_found", "message": "Not Found"}
    r = client.put("/api/v1/features", headers=api_key("revops"))
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]


def test_ids_and_offsets_beyond_64_bits_are_a_422_not_a_500(app, api_key):
    """Ids and offsets are 64-bit: a larger one failed inside the driver (SQLite: OverflowError;
    PostgreSQL: out of range) and answered 500. Found by schemathesis."""
    big_id = big_offset = 2**63
    admin = api_key("admin")
    requests = [
        ("GET", f"/api/v1/mappings/{big_id}"),
        ("PUT", f"/api/v1/mappings/{big_id}"),
        ("DELETE", f"/api/v1/mappings/{big_id}"),
        ("POST", f"/api/v1/approvals/{big_id}/revoke"),
        ("POST", f"/api/v1/queue/{big_id}/retry"),
        ("DELETE", f"/api/v1/admin/api-keys/{big_id}"),
        ("GET", f"/api/v1/deals?offset={big_offset}"),
        ("GET", f"/api/v1/features?offset={big_offset}"),
        ("GET", f"/api/v1/mappings?offset={big_offset}"),
        ("GET", f"/api/v1/audit?offset={big_offset}"),
        ("GET", f"/api/v1/queue?offset={big_offset}"),
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, url in requests:
            r = client.request(method, url, headers=admin, json={"feature_keys": ["x"]})
            assert r.status_code == 422, (method, url, r.status_code, r.text)
            assert "less than or equal to" in r.json()["error"]["message"]
        # The largest id a BIGINT column holds (past INTEGER's) is well formed, and not found.
        assert client.get(f"/api/v1/mappings/{2**63 - 1}", headers=admin).status_code == 404
        assert client.post(f"/api/v1/queue/{2**63 - 1}/retry", headers=admin).status_code == 404
        assert client.get(f"/api/v1/features?offset={2**63 - 1}", headers=admin).status_code == 200


def test_dates_at_the_ends_of_the_calendar_are_a_422_not_a_500(app, api_key):
    """A day added to an inclusive end, or a time zone converted to UTC, overflowed at year 1
    and 9999 and answered 500."""
    admin = api_key("admin")
    requests = [
        ("GET", "/api/v1/commitments?signed_to=9999-12-31", None),
        ("GET", "/api/v1/commitments?signed_from=0001-01-01", None),
        ("GET", "/api/v1/audit?since=0001-01-01T00:00:00%2B01:00", None),
        ("GET", "/api/v1/audit?until=9999-12-31T23:00:00-05:00", None),
        (
            "POST",
            "/api/v1/approvals",
            {
                "crm": "hubspot",
                "deal_id": "1",
                "feature_key": "sso",
                "reason": "ok then",
                "expires_at": "9999-12-31T23:00:00-05:00",
            },
        ),  # fmt: skip
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, url, body in requests:
            r = client.request(method, url, headers=admin, json=body)
            assert r.status_code == 422, (method, url, r.status_code, r.text)
            assert "must be between 0001-01-02 and 9999-12-30" in r.text, r.text
        assert client.get("/api/v1/commitments?signed_to=9999-12-30", headers=admin).is_success
        assert client.get("/api/v1/audit?until=9999-12-30T23:00:00-05:00", headers=admin).is_success


def test_a_date_in_a_query_is_a_date_not_a_unix_time(client, api_key):
    """pydantic reads "0" as Unix time: close_from=0 filtered from 1970-01-01 (every deal),
    and "86400" was 1970-01-02. Every date filter refuses a number and says what it wants."""
    viewer = api_key("viewer")
    for url in (
        "/api/v1/deals?close_from=0",
        "/api/v1/deals?close_to=86400",
        "/api/v1/features/sso/deals?close_from=0",
        "/api/v1/exposure?close_to=0",
        "/api/v1/commitments?close_from=0",
        "/api/v1/commitments?signed_to=1.5",
        "/api/v1/reports/commitments?from=0",
    ):
        r = client.get(url, headers=viewer)
        assert r.status_code == 422, (url, r.text)
        body = r.json()["error"]
        assert body["code"] == "invalid_request"
        assert "must be a date as YYYY-MM-DD (e.g. 2027-03-31), not a number" in body["message"]
    assert client.get("/api/v1/deals?close_from=2027-01-01", headers=viewer).status_code == 200


def test_a_date_or_time_that_does_not_parse_says_how_to_write_one(client, api_key):
    """pydantic says "input is too short" for "Q3 2027"; the answer says what to write."""
    r = client.post(
        "/api/v1/features",
        json={
            "key": "scim",
            "name": "SCIM",
            "availability": "coming_soon",
            "target_date": "Q3 2027",
        },
        headers=api_key("revops"),
    )
    assert r.status_code == 422
    assert r.json()["error"]["message"] == (
        "target_date: Input should be a valid date or datetime, input is too short; "
        "write a date as YYYY-MM-DD (e.g. 2027-09-30)"
    )
    r = client.get("/api/v1/audit?since=yesterday", headers=api_key("admin"))
    assert r.status_code == 422
    assert r.json()["error"]["message"].endswith(
        "; write a time as ISO 8601 with its offset (e.g. 2027-09-30T17:00:00Z)"
    )


def test_rows_with_ids_past_32_bits_are_stored_and_reached_through_the_api(app, api_key, engine):
    """INTEGER ids (and SERIAL's sequence) ended at 2,147,483,647 on PostgreSQL: the tables fed by
    every webhook and rewritten by every evaluation would reach it. Ids are 64-bit (0007)."""
    from datetime import timedelta

    from sqlmodel import Session, select

    from app.models import DealFeature, DealQueue, utcnow

    big = 2**31 + 7
    with Session(engine) as s:
        s.add(
            DealQueue(
                id=big,
                crm="test",
                deal_id="D1",
                status="dead",
                reason="webhook",
                attempts=5,
                due_at=utcnow() - timedelta(minutes=1),
                last_error="PermanentError: refused",
            )
        )
        s.add(DealFeature(id=big, crm="test", deal_id="D1", feature_key="sso", source="note"))
        s.commit()
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post(f"/api/v1/queue/{big}/retry", headers=api_key("admin"))
        assert r.status_code == 200, r.text
        assert (r.json()["id"], r.json()["status"]) == (big, "pending")
    with Session(engine) as s:
        assert s.exec(select(DealFeature.id)).one() == big


CSV = b"match_kind,match_value,feature_keys\nsku,SKU-1,sso\n"


def test_a_nul_character_in_a_request_is_the_same_422_on_every_database(app, api_key, engine):
    """PostgreSQL cannot store a NUL in text (a write was a 422 there, a filter too), SQLite
    stored it: the same request now gets the same answer on both, before any route runs, and
    nothing is written. Found by schemathesis (a NUL in a filter or a name)."""
    revops = api_key("revops")
    message = (
        "a value in the request cannot be stored: text cannot contain NUL (0x00) characters; "
        "nothing was written"
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        sso = {"key": "sso", "name": "Single sign-on"}
        assert client.post("/api/v1/features", json=sso, headers=revops).status_code == 201
        for r in (
            client.post("/api/v1/features", json={"key": "nul", "name": "A\u0000B"}, headers=revops),
            client.post("/api/v1/features", content=b'{"key": "nul", "name": "A\x00B"}',
                        headers={**revops, "content-type": "application/json"}),
            client.get("/api/v1/deals?crm=hub%00spot", headers=revops),
            client.get("/api/v1/features/nul%00", headers=revops),
            client.post("/api/v1/mappings/import", files={"file": ("m.csv", CSV.replace(b"SKU-1", b"SKU\x00-1"))},
                        headers=revops),
        ):  # fmt: skip
            assert r.status_code == 422, r.text
            assert r.json()["error"] == {"code": "invalid", "message": message}
            assert r.headers["x-request-id"]
        assert client.get("/api/v1/features/nul", headers=revops).status_code == 404
        r = client.post("/api/v1/mappings/import", files={"file": ("m.csv", CSV)},
                        headers=revops)  # fmt: skip
        assert r.status_code == 200, r.text  # the same import without the NUL goes through
        # A backslash before "u0000" is text, not a NUL: stored as written.
        r = client.post(
            "/api/v1/features", json={"key": "path", "name": "C:\\u0000 drive"}, headers=revops
        )
        assert r.status_code == 201, r.text
        assert client.get("/api/v1/features/path", headers=revops).json()["name"] == (
            "C:\\u0000 drive"
        )


def test_an_api_body_over_the_cap_is_a_413_before_any_route_runs(app, api_key):
    """Bodies are read whole (to look for NUL characters) and capped: 8 MB, room for the 5 MB
    mappings import with its framing; no key is needed to be refused."""
    with TestClient(app, raise_server_exceptions=False) as client:
        big = b"sku,SKU-1,sso\n" * (9 * 1024 * 1024 // 14)
        r = client.post("/api/v1/mappings/import", content=big,
                        headers={**api_key("revops"), "content-type": "text/csv"})  # fmt: skip
        assert r.status_code == 413, r.text
        assert r.json()["error"] == {
            "code": "payload_too_large",
            "message": "request body larger than 8 MB",
        }
        r = client.post("/api/v1/features", content=b"x" * (8 * 1024 * 1024 + 1))
        assert r.status_code == 413
        # Under the cap the route decides, as before: its own 5 MB import limit.
        r = client.post("/api/v1/mappings/import", content=big[: 6 * 1024 * 1024],
                        headers={**api_key("revops"), "content-type": "text/csv"})  # fmt: skip
        assert r.status_code == 413 and "import larger than 5 MB" in r.json()["error"]["message"]


def test_a_body_outside_the_api_over_the_cap_is_a_413_while_it_is_read(app):
    """Paths outside /api/ that parse a body before any key is checked (the sign-in form,
    /webhooks/test before its fix) are capped at the same 8 MB: a declared length at once, a
    chunked body as soon as it passes the cap, with the same error body."""
    too_large = {"code": "payload_too_large", "message": "request body larger than 8 MB"}
    big = b"api_key=" + b"x" * (8 * 1024 * 1024)

    def chunked():
        for i in range(0, len(big), 1024 * 1024):
            yield big[i : i + 1024 * 1024]

    form = {"content-type": "application/x-www-form-urlencoded"}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/dashboard/signin", content=big, headers=form)
        assert r.status_code == 413, r.text
        assert r.json()["error"] == too_large
        r = client.post("/dashboard/signin", content=chunked(), headers=form)
        assert r.status_code == 413, r.text
        assert r.json()["error"] == too_large
        # Under the cap the route decides, as before.
        r = client.post("/dashboard/signin", content=b"api_key=nope", headers=form)
        assert r.status_code in (401, 404), r.text


def test_nan_infinity_and_overflowing_numbers_are_a_422_with_their_path(app, api_key, engine):
    """Python's json reads NaN, Infinity and 1e999 (as inf), none of which JSON has: a rule
    whose value was one was stored with null there, and every later evaluation refused it; an
    error answer echoing one could not be written (a 500). Refused before any route runs, with
    where it was, and nothing written."""
    from sqlmodel import Session, select

    from app.models import Rule

    rule = (
        '{"name": "Big", "severity": "block", "applies_to": "deal", "message": "big",'
        ' "when": {"field": "deal.amount", "op": "gt", "value": %s}}'
    )
    revops = {**api_key("revops"), "content-type": "application/json"}
    with TestClient(app, raise_server_exceptions=False) as client:
        for token, shown in (("1e309", "Infinity"), ("-1E+400", "-Infinity"), ("NaN", "NaN"),
                             ("Infinity", "Infinity")):  # fmt: skip
            for path in ("/api/v1/rules", "/api/v1/rules/validate"):
                r = client.post(path, content=(rule % token).encode(), headers=revops)
                assert r.status_code == 422, (token, path, r.text)
                said = (
                    "numbers must be finite (JSON has no NaN or Infinity, "
                    f"and nothing beyond ±1.8e308); got {shown}; nothing was written"
                )
                assert r.json()["error"] == {
                    "code": "invalid_request",
                    "message": f"when.value: {said}",
                    "details": [
                        {
                            "loc": ["when", "value"],
                            "path": "when.value",
                            "msg": said,
                            "type": "finite_number",
                        }
                    ],
                }
        # Inside a list, and a text value spelling the words is still text.
        body = rule % "[1, 2, NaN]"
        r = client.post("/api/v1/rules/validate", content=body.replace('"gt"', '"in"').encode(),
                        headers=revops)  # fmt: skip
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("when.value[2]: ")
        assert r.json()["error"]["details"][0]["loc"] == ["when", "value", 2]
        assert r.json()["detail"][0]["loc"] == ["body", "when", "value", 2]
        r = client.post(
            "/api/v1/rules",
            json={"name": "NaN Infinity 1e999", "severity": "warning", "applies_to": "deal",
                  "message": "Infinity", "when": {"field": "deal.amount", "op": "gt", "value": 1e300}},
            headers=api_key("revops"),
        )  # fmt: skip
        assert r.status_code == 201, r.text
    with Session(engine) as s:
        assert [rule.name for rule in s.exec(select(Rule))] == ["NaN Infinity 1e999"]


def test_a_non_finite_value_echoed_in_a_422_is_written_as_text(app):
    """A query value read as NaN and refused: the answer echoes it as text, not a 500."""
    from fastapi import Query

    def bounded(x: float = Query(le=1)) -> dict:
        return {"x": x}

    app.add_api_route("/test/bounded", bounded, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/test/bounded?x=inf")
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["input"] == "inf"


def test_every_api_route_refuses_a_query_parameter_it_does_not_define(client, api_key):
    """A misspelt filter answered with everything on /features, /rules, /audit and /mappings
    (only the deal and approval lists refused one): every /api/ route now names it."""
    viewer = api_key("viewer")
    for path, typo, hint in (
        ("/api/v1/features?availabilty=never", "availabilty", "; did you mean 'availability'?"),
        ("/api/v1/rules?enbled=true", "enbled", "; did you mean 'enabled'?"),
        ("/api/v1/audit?entity=rule", "entity", "; did you mean 'entity_id'?"),
        ("/api/v1/mappings?colour=red", "colour", "; allowed here: feature_key, limit, "),
        ("/api/v1/roadmap/sources?all=1", "all", "; allowed here: limit, offset"),
        ("/api/v1/rules/schema?all=1", "all", "; this route takes none"),
    ):
        r = client.get(path, headers=viewer)
        assert r.status_code == 422, (path, r.text)
        error = r.json()["error"]
        # the shape every other query mistake has (invalid_request, {loc, path, msg, type})
        assert error["code"] == "invalid_request"
        [detail] = error["details"]
        assert detail["loc"] == ["query", typo] and detail["path"] == f"query.{typo}"
        assert detail["type"] == "extra_forbidden"
        assert detail["msg"].startswith(f"unknown query parameter '{typo}'{hint}")
        assert error["message"] == f"query.{typo}: {detail['msg']}"
    r = client.get("/api/v1/features?availabilty=never&q=x&zz=1", headers=viewer)
    assert [d["path"] for d in r.json()["error"]["details"]] == ["query.availabilty", "query.zz"]
    assert r.json()["error"]["message"].endswith("(and 1 more)")
    assert client.get("/api/v1/rules?enabled=true", headers=viewer).status_code == 200
    # Outside /api/ nothing changes: a health check with a cache-buster still answers.
    assert client.get("/healthz?nocache=1").status_code == 200


def test_a_key_that_is_not_allowed_is_answered_with_the_key_meant_or_the_keys_allowed(
    client, api_key
):
    """pydantic's "Extra inputs are not permitted" names neither; the answer follows the key's
    location through the body's model, inside lists, optional fields and rule unions."""
    revops = api_key("revops")

    def msgs(r) -> dict[str, str]:
        assert r.status_code == 422, r.text
        return {d["path"]: d["msg"] for d in r.json()["error"]["details"]}

    r = client.post("/api/v1/rules/simulate", json={"snapshot": []}, headers=revops)
    assert msgs(r)["snapshot"].endswith("; did you mean 'snapshots'?")
    deal = {
        "crm": "hubspot",
        "deal_id": "1",
        "stage": {"id": "s", "probabilty": 0.3},
        "line_items": [{"id": "li", "nam": "x"}],
    }
    r = client.post("/api/v1/rules/simulate", json={"snapshots": [deal]}, headers=revops)
    assert msgs(r) == {
        "snapshots[0].stage.probabilty": "Extra inputs are not permitted; did you mean "
        "'probability'?",
        "snapshots[0].line_items[0].nam": "Extra inputs are not permitted; did you mean 'name'?",
    }
    # A key from another shape: nothing is close, so the keys allowed there are listed.
    r = client.post("/api/v1/mappings", json={"sku": "A-1", "feature_keys": ["x"]}, headers=revops)
    assert msgs(r)["sku"] == (
        "Extra inputs are not permitted; allowed here: match_kind, match_value, feature_keys"
    )
    rule = {
        "name": "Big deals",
        "severity": "info",
        "applies_to": "deal",
        "when": {"field": "deal.amount", "op": "gt", "value": {"field": "deal.amount", "day": 1}},
        "message": "m",
        "scoep": {},
    }
    for path in ("/api/v1/rules", "/api/v1/rules/validate"):
        r = client.post(path, json=rule, headers=revops)
        found = (
            msgs(r) if r.status_code == 422 else {e["path"]: e["msg"] for e in r.json()["errors"]}
        )
        assert found["scoep"].endswith("; did you mean 'scope'?")
        assert found["when.value.day"].endswith("; allowed here: field, offset_days")


def test_the_openapi_document_declares_each_routes_error_answers_with_the_error_body(
    client, api_key
):
    """A client generated from the OpenAPI document knows which errors each route gives and
    what they look like; real answers match what is declared."""
    from app.errors import ErrorResponse

    doc = client.get("/openapi.json").json()
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    operations = [
        (path, method, op)
        for path, ops in doc["paths"].items()
        if path.startswith("/api/")
        for method, op in ops.items()
    ]
    assert len(operations) > 40
    for path, method, op in operations:
        declared = set(op["responses"])
        expected = {"401", "403", "422", "503"}
        writes = method in ("post", "put", "patch", "delete")
        expected |= {"404"} if "{" in path or writes else set()
        expected |= {"409"} if writes else set()
        assert expected <= declared, (method, path, declared)
        for code in expected:
            assert op["responses"][code]["content"]["application/json"]["schema"] == ref
    assert "text/csv" in doc["paths"]["/api/v1/deals"]["get"]["responses"]["200"]["content"]
    assert "text/csv" not in doc["paths"]["/api/v1/rules"]["get"]["responses"]["200"]["content"]
    # ... and the answers are the declared body
    for r in (
        client.get("/api/v1/rules/nope", headers=api_key("viewer")),  # 404
        client.get("/api/v1/rules"),  # 401
        client.post("/api/v1/rules", json={}, headers=api_key("viewer")),  # 403
        client.post("/api/v1/rules", json={"name": 1}, headers=api_key("revops")),  # 422
        client.get("/api/v1/rules?colour=red", headers=api_key("viewer")),  # 422
    ):
        assert r.status_code in (401, 403, 404, 422), r.text
        assert ErrorResponse.model_validate(r.json()).error.message


def test_the_openapi_document_declares_the_webhooks_refusals(client, api_key):
    """Webhook routes declare their refusals too: JSON ones with the error body, the
    Salesforce Outbound Message route with its SOAP faults; a real refusal is the body
    declared."""
    from app.errors import ErrorResponse

    paths = client.get("/openapi.json").json()["paths"]
    ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, codes in (
        ("/webhooks/hubspot", {"401", "413", "422", "503"}),
        ("/webhooks/salesforce/events", {"401", "413", "422", "503"}),
        ("/webhooks/test", {"401", "403", "413", "422", "503"}),
    ):
        responses = paths[path]["post"]["responses"]
        assert codes <= set(responses), (path, set(responses))
        for code in codes:
            assert responses[code]["content"]["application/json"]["schema"] == ref
            assert responses[code]["description"]
    outbound = paths["/webhooks/salesforce/outbound"]["post"]["responses"]
    for code in ("400", "401", "403", "413", "500", "503"):
        assert set(outbound[code]["content"]) == {"text/xml"}, code
    r = client.post("/webhooks/test", json={"events": []}, headers=api_key("revops"))
    assert r.status_code == 422
    assert ErrorResponse.model_validate(r.json()).error.details
    r = client.post("/webhooks/test", json={"events": []}, headers=api_key("viewer"))
    assert r.status_code == 403
    assert ErrorResponse.model_validate(r.json()).error.message


def test_a_body_that_is_not_json_says_so_and_where(client, api_key):
    """FastAPI answered a body that is not UTF-8 with a 400 'There was an error parsing the
    body', unlike every other malformed body, and one that does not parse with a mistake at
    path "[1]"."""
    headers = {**api_key("revops"), "Content-Type": "application/json"}
    r = client.post("/api/v1/roadmap/what-if", content=b'{"a": "\xff"}', headers=headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["message"] == "body: not valid JSON: not UTF-8 text (invalid start byte at byte 7)"
    assert [d["path"] for d in error["details"]] == ["body"]
    r = client.post("/api/v1/rules", content=b"{bad", headers=headers)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["message"] == (
        "body: not valid JSON (at character 1): Expecting property name enclosed in double quotes"
    )
    assert [d["path"] for d in error["details"]] == ["body"]


def _nested(depth: int, shape: str) -> bytes:
    """JSON nested `depth` levels: arrays, objects, or the two alternating, with siblings."""
    opening = {"[": b"[", "{": b'{"a":', "alternating": None, "siblings": None}[shape]
    body = b"1"
    for level in range(depth):
        if opening is not None:
            body = opening + body + (b"]" if opening == b"[" else b"}")
        elif shape == "alternating":
            body = b'{"a":' + body + b"}" if level % 2 else b"[" + body + b"]"
        elif level == 0:
            body = b"[" + body + b"]"
        else:  # flat neighbours above the innermost level do not make it deeper
            body = b'[{}, [], {"b": 1}, [2], ' + body + b"]"
    return body


@pytest.mark.parametrize("shape", ["[", "{", "alternating", "siblings"])
def test_json_too_deep_counts_the_levels_exactly(shape):
    from app.errors import MAX_JSON_DEPTH, json_too_deep

    for depth in range(MAX_JSON_DEPTH - 3, MAX_JSON_DEPTH + 6):
        assert json_too_deep(_nested(depth, shape)) is (depth > MAX_JSON_DEPTH), depth


def test_a_body_nested_too_deeply_is_a_422_saying_so_and_nothing_is_written(
    client, api_key, engine
):
    """Python's parser gives up near 1,000 levels with a RecursionError, which FastAPI
    answered with a 400 'There was an error parsing the body'; bodies up to there reached the
    routes. Past MAX_JSON_DEPTH it is the usual 422, the same on every route."""
    from sqlmodel import Session, select

    from app.errors import MAX_JSON_DEPTH
    from app.models import AuditLog, Feature

    revops = api_key("revops")
    json_type = {**revops, "Content-Type": "application/json"}

    def feature(aliases: bytes) -> bytes:
        return b'{"key": "deep", "name": "Deep", "aliases": ' + aliases + b"}"

    deep = 3000
    cases = [
        ("/api/v1/rules/validate", b"[" * deep + b"]" * deep, json_type),
        ("/api/v1/rules/validate", b'{"a":' * deep + b"1" + b"}" * deep, json_type),
        ("/api/v1/features", feature(b"[" * deep + b"]" * deep), json_type),
        ("/api/v1/features", feature(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH), json_type),
        (
            "/api/v1/features",
            feature(b"[" * deep + b"]" * deep),
            {**revops, "Content-Type": "application/merge-patch+json"},
        ),
    ]
    for path, body, headers in cases:
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 422, (path, r.text[:200])
        error = r.json()["error"]
        assert error["code"] == "invalid_request"
        assert (
            error["message"] == f"body: not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
        )
        assert [(d["path"], d["type"]) for d in error["details"]] == [("body", "json_invalid")]
    with Session(engine) as s:
        assert s.exec(select(Feature).where(Feature.key == "deep")).first() is None
        assert s.exec(select(AuditLog)).all() == []
    # At the limit, and brackets inside strings, are the route's to judge.
    within = b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1)
    r = client.post("/api/v1/features", content=feature(within), headers=json_type)
    assert r.status_code == 422 and r.json()["error"]["message"].startswith("aliases[0]:")
    in_text = feature(b'["' + b"{[" * 100 + b'\\"' + b"[" * 40 + b'", "' + b"[" * 200 + b'"]')
    r = client.post("/api/v1/features", content=in_text, headers=json_type)
    assert r.status_code == 201, r.text


def test_a_body_too_deep_for_the_parser_outside_the_api_is_the_same_422(app):
    """Outside /api/ no middleware looks at the body: the parser's RecursionError (FastAPI's
    400 'There was an error parsing the body') is answered as the same 422."""
    from fastapi import Body

    from app.errors import MAX_JSON_DEPTH

    def takes_json(body: list = Body()) -> dict:
        return {"n": len(body)}

    app.add_api_route("/test/json", takes_json, methods=["POST"])
    with TestClient(app) as client:
        r = client.post(
            "/test/json",
            content=b"[" * 5000 + b"]" * 5000,
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == {
        "code": "invalid_request",
        "message": f"body: not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels",
        "details": [
            {
                "loc": ["body"],
                "path": "body",
                "msg": f"not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels",
                "type": "json_invalid",
            }
        ],
    }


def test_a_one_value_query_parameter_given_twice_is_refused_naming_it(client, api_key):
    """?crm=hubspot&crm=salesforce answered for 'salesforce' alone, as if the first value had
    not been sent (exposure's availability did so too; it takes several now); a parameter
    that takes a list still takes them all."""
    viewer = api_key("viewer")
    r = client.get("/api/v1/exposure?crm=hubspot&crm=salesforce", headers=viewer)
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert (detail["path"], detail["msg"]) == (
        "query.crm",
        "given 2 times; this parameter takes one value",
    )
    r = client.get("/api/v1/deals?limit=5&limit=7&sort=amount", headers=viewer)
    assert [d["path"] for d in r.json()["error"]["details"]] == ["query.limit"]
    r = client.get("/api/v1/features?availability=beta&availability=never", headers=viewer)
    assert r.status_code == 200, r.text  # a list: documented as repeatable


@pytest.mark.parametrize(
    ("sort", "says"),
    [
        ("amount,,name", "sort key 2 is empty"),
        (",amount", "sort key 1 is empty"),
        ("-", "sort key 1 is empty"),
        ("amount,-amount", "sort key 'amount' is given twice (keys 1 and 2)"),
    ],
)
def test_a_sort_with_an_empty_or_repeated_key_is_refused(client, api_key, sort, says):
    r = client.get("/api/v1/deals", params={"sort": sort}, headers=api_key("viewer"))
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.sort" and detail["msg"].startswith(says), detail


def _psycopg_error(name: str, sqlstate: str, message: str):
    """`psycopg.errors.<name>` as SQLAlchemy wraps it (OperationalError, its DBAPIError)."""
    import psycopg.errors
    from sqlalchemy.exc import DBAPIError

    orig = getattr(psycopg.errors, name)(message)
    assert orig.sqlstate == sqlstate
    return DBAPIError.instance("UPDATE deal_queue SET ...", {}, orig, psycopg.Error)


@pytest.mark.parametrize(
    ("name", "sqlstate"),
    [("DeadlockDetected", "40P01"), ("SerializationFailure", "40001")],
)
def test_a_deadlock_or_serialization_failure_is_a_503_to_retry_not_a_500(
    app, name, sqlstate, caplog
):
    from sqlalchemy.exc import OperationalError

    error = _psycopg_error(name, sqlstate, "deadlock detected\nDETAIL: Process 4242 waits")
    assert isinstance(error, OperationalError)

    def collided() -> dict:
        raise error

    app.add_api_route("/test/collided", collided, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/test/collided")
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "1"
    body = r.json()["error"]
    assert body["code"] == "unavailable"
    assert "collided with concurrent work" in body["message"]
    assert "can be sent again" in body["message"]
    assert body["details"] == {"reason": "database_collision", "error": name}
    assert "4242" not in r.text  # not the driver's message
    logged = [r for r in caplog.records if "request collided" in r.getMessage()]
    assert logged and {r.levelname for r in logged} == {"WARNING"}  # not an internal error
    assert not [r for r in caplog.records if r.levelno >= 40]


def test_other_database_errors_are_not_turned_into_a_collision(app):
    import psycopg.errors

    from app.errors import database_collision

    # a unique violation (class 23), a syntax error (42601), a query canceled (57014)
    for name, sqlstate in [
        ("UniqueViolation", "23505"),
        ("SyntaxError", "42601"),
        ("QueryCanceled", "57014"),
    ]:
        assert not database_collision(_psycopg_error(name, sqlstate, "no")), name
    assert database_collision(_psycopg_error("DeadlockDetected", "40P01", "deadlock"))
    assert not database_collision(psycopg.errors.DeadlockDetected("not wrapped"))

    def wrong() -> dict:
        raise _psycopg_error("SyntaxError", "42601", "syntax error at or near")

    app.add_api_route("/test/wrong", wrong, methods=["GET"])
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/test/wrong")
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "internal"


class _Expiry(BaseModel):
    when: str
    count: int = 0

    @field_validator("when")
    @classmethod
    def _check(cls, value: str) -> str:
        raise ValueError("must include a timezone, e.g. 2026-12-31T00:00:00Z")


def test_a_validator_s_own_message_is_not_prefixed_with_value_error():
    """pydantic says "Value error, must include a timezone": the prefix tells nobody anything.
    Every 422 invalid_request renders pydantic's errors through `validation_details`."""
    try:
        _Expiry.model_validate({"when": "2026-12-31", "count": "x"})
    except ValidationError as exc:
        errors = exc.errors()
    assert errors[0]["msg"].startswith("Value error, ")
    details = validation_details(errors)
    assert [d["msg"] for d in details] == [
        "must include a timezone, e.g. 2026-12-31T00:00:00Z",
        "Input should be a valid integer, unable to parse string as an integer",
    ]
    assert InvalidRequest(errors).message == (
        "when: must include a timezone, e.g. 2026-12-31T00:00:00Z (and 1 more)"
    )
