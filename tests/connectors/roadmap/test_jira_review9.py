"""Jira searches whose JQL is too long for a URL go as the search's documented POST form."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from app.connectors.roadmap import JiraSource, SourceError

BASE = "https://acme.atlassian.net"
SERVER = "https://jira.acme.example"
# a curated roadmap list: 400 keys make a JQL of ~4,400 characters (the config takes 8,000),
# past what a GET URL is held to
LONG_JQL = "key in (" + ", ".join(f"ROAD-{n}" for n in range(1, 401)) + ") ORDER BY key"
CONFIG = {"base_url": BASE, "jql": LONG_JQL, "token_env": "ROADMAP_SOURCE_TOKEN"}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


def _issue(key: str) -> dict:
    return {
        "id": key,
        "key": key,
        "fields": {
            "summary": key,
            "status": {"name": "Done"},
            "resolution": None,
            "duedate": "2026-03-31",
            "labels": [],
        },
    }


@respx.mock
def test_a_long_jql_is_searched_with_the_cloud_post_body_and_paged_by_token():
    refused = respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(414, text="URI Too Long")
    )
    search = respx.post(f"{BASE}/rest/api/3/search/jql")
    search.side_effect = [
        httpx.Response(200, json={"issues": [_issue("ROAD-1")], "nextPageToken": "t2"}),
        httpx.Response(200, json={"issues": [_issue("ROAD-2")], "isLast": True}),
    ]
    result = JiraSource("jira", {**CONFIG, "aliases_field": "labels"}).fetch()
    assert [f.key for f in result.features] == ["ROAD-1", "ROAD-2"]
    assert refused.call_count == 0
    first, second = (json.loads(call.request.content) for call in search.calls)
    assert first == {
        "jql": LONG_JQL,
        "fields": ["summary", "status", "resolution", "duedate", "labels"],
        "maxResults": 100,
    }
    assert second == {**first, "nextPageToken": "t2"}
    request = search.calls[0].request
    assert request.url.query == b"" and request.headers["Content-Type"] == "application/json"


@respx.mock
def test_a_long_jql_is_searched_with_the_server_post_body_and_paged_by_start_at():
    search = respx.post(f"{SERVER}/rest/api/2/search")
    search.side_effect = [
        httpx.Response(
            200, json={"startAt": 0, "maxResults": 1, "total": 2, "issues": [_issue("ROAD-1")]}
        ),
        httpx.Response(
            200, json={"startAt": 1, "maxResults": 1, "total": 2, "issues": [_issue("ROAD-2")]}
        ),
    ]
    config = {**CONFIG, "base_url": SERVER, "api": "server"}
    result = JiraSource("jira-dc", config).fetch()
    assert [f.key for f in result.features] == ["ROAD-1", "ROAD-2"]
    bodies = [json.loads(call.request.content) for call in search.calls]
    assert [b["startAt"] for b in bodies] == [0, 1]
    assert bodies[0]["jql"] == LONG_JQL and bodies[0]["fields"][:2] == ["summary", "status"]


@respx.mock
def test_a_short_jql_is_still_a_get():
    search = respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(200, json={"issues": [_issue("ROAD-1")], "isLast": True})
    )
    result = JiraSource("jira", {**CONFIG, "jql": "project = ROAD"}).fetch()
    assert [f.key for f in result.features] == ["ROAD-1"]
    assert search.calls[0].request.url.params["jql"] == "project = ROAD"


def _server_page(start: int, total: int, keys: list[str]) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "startAt": start,
            "maxResults": 2,
            "total": total,
            "issues": [_issue(k) for k in keys],
        },
    )


@respx.mock
def test_a_data_center_page_with_no_issues_before_the_total_fails_the_refresh():
    # Past its search window (max_result_window, 10,000 by default) Data Center answers no
    # issues; read as the end of the search, the catalog lost every issue after it.
    respx.get(f"{SERVER}/rest/api/2/search").side_effect = [
        _server_page(0, 4, ["ROAD-1", "ROAD-2"]),
        _server_page(2, 4, []),
    ]
    config = {**CONFIG, "jql": "project = ROAD", "base_url": SERVER, "api": "server"}
    with pytest.raises(SourceError) as caught:
        JiraSource("jira-dc", config).fetch()
    message = str(caught.value)
    assert "(startAt=2) answered no issues, though the search counts 4" in message
    assert "last good catalog is kept" in message


@respx.mock
def test_a_data_center_search_with_no_issues_at_all_is_an_empty_read():
    respx.get(f"{SERVER}/rest/api/2/search").mock(return_value=_server_page(0, 0, []))
    config = {**CONFIG, "jql": "project = ROAD", "base_url": SERVER, "api": "server"}
    assert JiraSource("jira-dc", config).fetch().features == []


def _version(name: str, release: str | None) -> dict:
    # a Version as the search answers it in fixVersions or a version picker field
    version = {"self": f"{BASE}/rest/api/3/version/1", "id": "1", "name": name}
    version |= {"archived": False, "released": False}
    return version | ({"releaseDate": release} if release else {})


@respx.mock
def test_fix_versions_as_the_target_date_field_give_the_latest_release_date():
    def issue(key: str, versions: list | dict | None) -> dict:
        fields = {"summary": key, "status": {"name": "In Progress"}, "resolution": None}
        return {"id": key, "key": key, "fields": fields | {"fixVersions": versions}}

    respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            200,
            json={
                "issues": [
                    issue("ROAD-1", [_version("2026.2", "2026-06-30")]),
                    issue(
                        "ROAD-2",
                        [_version("2026.2", "2026-06-30"), _version("2026.3", "2026-09-30")],
                    ),
                    issue("ROAD-3", [_version("2026.2", "2026-06-30"), _version("Later", None)]),
                    issue("ROAD-4", []),
                    issue("ROAD-5", _version("2026.4", "2026-12-15")),  # a version picker
                ],
                "isLast": True,
            },
        )
    )
    config = {**CONFIG, "jql": "project = ROAD", "target_date_field": "fixVersions"}
    result = JiraSource("jira", config).fetch()
    assert [(f.key, str(f.target_date)) for f in result.features] == [
        ("ROAD-1", "2026-06-30"),
        ("ROAD-2", "2026-09-30"),
        ("ROAD-3", "None"),  # the last version has no date yet
        ("ROAD-4", "None"),
        ("ROAD-5", "2026-12-15"),
    ]
