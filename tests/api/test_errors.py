"""Every error answer has the same body, a failure we did not foresee included."""

from __future__ import annotations

from fastapi.testclient import TestClient


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
    """The databases store 64-bit integers: a larger id or offset failed inside the driver
    (SQLite: OverflowError; PostgreSQL: out of range) and answered 500. Found by schemathesis."""
    huge = 2**64
    admin = api_key("admin")
    requests = [
        ("GET", f"/api/v1/mappings/{huge}"),
        ("PUT", f"/api/v1/mappings/{huge}"),
        ("DELETE", f"/api/v1/mappings/{huge}"),
        ("POST", f"/api/v1/approvals/{huge}/revoke"),
        ("POST", f"/api/v1/queue/{huge}/retry"),
        ("DELETE", f"/api/v1/admin/api-keys/{huge}"),
        ("GET", f"/api/v1/deals?offset={huge}"),
        ("GET", f"/api/v1/features?offset={huge}"),
        ("GET", f"/api/v1/mappings?offset={huge}"),
        ("GET", f"/api/v1/audit?offset={huge}"),
        ("GET", f"/api/v1/queue?offset={huge}"),
    ]
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, url in requests:
            r = client.request(method, url, headers=admin, json={"feature_keys": ["x"]})
            assert r.status_code == 422, (method, url, r.status_code, r.text)
            assert "less than or equal to 9223372036854775807" in r.json()["error"]["message"]
        # The largest 64-bit id is a well-formed id that does not exist.
        r = client.get(f"/api/v1/mappings/{2**63 - 1}", headers=admin)
        assert r.status_code == 404
