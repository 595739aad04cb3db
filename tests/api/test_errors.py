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
