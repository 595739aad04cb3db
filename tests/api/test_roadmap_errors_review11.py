"""A roadmap source's last error as each role reads it: revops and admin whole; the other read
roles see the source's own refusal ("HTTP 500 ...") as it is, and an unexpected exception's text
(a bug, an unforeseen payload, a database error while storing: SQL, parameters, hostnames)
withheld, as GET /api/v1/queue does for a deal's error."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.services import roadmap_refresh

URL = "https://roadmap.example.com/features"
SECRET = "SELECT token FROM vault WHERE host='db-7.internal:5432'"


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_ACME_TOKEN", "tok")


@pytest.fixture
def mock_api():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="testserver").pass_through()
        yield router


def _source(client, headers) -> None:
    body = {
        "name": "acme",
        "kind": "http",
        "config": {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"},
        "status_mapping": {"GA": "available"},
    }
    assert client.post("/api/v1/roadmap/sources", json=body, headers=headers).status_code == 201


def _last_error(client, headers) -> tuple[str | None, str | None]:
    one = client.get("/api/v1/roadmap/sources/acme", headers=headers).json()["last_error"]
    items = client.get("/api/v1/roadmap/sources", headers=headers).json()["items"]
    (listed,) = [s["last_error"] for s in items if s["name"] == "acme"]
    return one, listed


def test_an_unexpected_refresh_error_is_withheld_from_other_roles(
    client, api_key, monkeypatch
) -> None:
    revops = api_key("revops")
    _source(client, revops)

    def broken(*args, **kwargs):
        raise RuntimeError(SECRET)

    monkeypatch.setattr(roadmap_refresh, "build_source", broken)
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert r["ok"] is False and SECRET in r["error"]  # the operator who refreshed reads it

    for role in ("revops", "admin"):
        one, listed = _last_error(client, api_key(role))
        assert SECRET in one and SECRET in listed
    for role in ("engineering", "viewer", "approver"):
        one, listed = _last_error(client, api_key(role))
        assert (
            one
            == listed
            == "acme: unexpected error: ask an operator (revops and admin read the error)"
        )


def test_a_sources_own_refusal_is_shown_to_every_role(client, api_key, mock_api) -> None:
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(return_value=httpx.Response(500, text="maintenance"))
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"] is False
    for role in ("revops", "viewer", "engineering"):
        one, listed = _last_error(client, api_key(role))
        assert "HTTP 500" in one and one == listed
