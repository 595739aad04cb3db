"""Jira's connector on what production Jira instances answer (respx, documented shapes)."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.roadmap import JiraSource, SourceError

BASE = "https://acme.atlassian.net"
CONFIG = {"base_url": BASE, "jql": "project = ROAD", "token_env": "ROADMAP_SOURCE_TOKEN"}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


def _issue(key: str, status: str, category: str | None, resolution: str | None) -> dict:
    state: dict = {"name": status}
    if category is not None:
        state["statusCategory"] = {"id": 3, "key": category, "name": category}
    return {
        "id": key,
        "key": key,
        "fields": {
            "summary": key,
            "status": state,
            "resolution": {"id": "1", "name": resolution} if resolution else None,
            "duedate": None,  # a requested field Jira has is answered, if only as null
        },
    }


@respx.mock
def test_a_resolution_left_on_a_reopened_issue_does_not_override_its_status():
    # A reopen transition that does not clear the resolution leaves "Won't Do" on an issue the
    # team is working on again: read by its resolution it would be `never`.
    respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            200,
            json={
                "issues": [
                    _issue("ROAD-1", "In Progress", "indeterminate", "Won't Do"),
                    _issue("ROAD-2", "Backlog", "new", "Duplicate"),
                    _issue("ROAD-3", "Done", "done", "Won't Do"),
                    _issue("ROAD-4", "Closed", None, "Won't Fix"),  # no category: as before
                ],
                "isLast": True,
            },
        )
    )
    result = JiraSource("jira", CONFIG).fetch()
    assert [f.source_status for f in result.features] == [
        "In Progress",
        "Backlog",
        "Won't Do",
        "Won't Fix",
    ]


SERVER = "https://jira.acme.example"
SERVER_CONFIG = {**CONFIG, "base_url": SERVER, "api": "server"}


def _server_page(start: int, total: int, numbers: list[int]) -> httpx.Response:
    issues = [_issue(f"ROAD-{n}", "In Progress", "indeterminate", None) for n in numbers]
    return httpx.Response(
        200, json={"startAt": start, "maxResults": 2, "total": total, "issues": issues}
    )


@respx.mock
def test_server_paging_reads_again_when_an_issue_is_deleted_between_two_pages():
    # ROAD-1 is deleted after page 1 is read: every startAt after it moves by one, so
    # startAt=2 begins at ROAD-4 and ROAD-3 was never read; stored as is, its feature would
    # be deleted (and the deals counting on it blocked) until the next refresh.
    route = respx.get(f"{SERVER}/rest/api/2/search")
    route.side_effect = [
        _server_page(0, 4, [1, 2]),
        _server_page(2, 3, [4]),
        _server_page(0, 3, [2, 3]),  # read again from the start
        _server_page(2, 3, [4]),
    ]
    result = JiraSource("jira-dc", SERVER_CONFIG).fetch()
    assert [f.key for f in result.features] == ["ROAD-2", "ROAD-3", "ROAD-4"]
    assert result.pages == 2 and route.call_count == 4


@respx.mock
def test_an_issue_answered_twice_in_one_read_reads_the_search_again():
    route = respx.get(f"{BASE}/rest/api/3/search/jql")
    route.side_effect = [
        httpx.Response(
            200, json={"issues": [_issue("ROAD-1", "Done", "done", None)], "nextPageToken": "t2"}
        ),
        httpx.Response(
            200, json={"issues": [_issue("ROAD-1", "Done", "done", None)], "isLast": True}
        ),
        httpx.Response(
            200, json={"issues": [_issue("ROAD-1", "Done", "done", None)], "nextPageToken": "t2"}
        ),
        httpx.Response(
            200, json={"issues": [_issue("ROAD-2", "Done", "done", None)], "isLast": True}
        ),
    ]
    result = JiraSource("jira", CONFIG).fetch()
    assert [f.key for f in result.features] == ["ROAD-1", "ROAD-2"]


@respx.mock
def test_results_that_change_between_pages_twice_in_a_row_fail_the_refresh_saying_why():
    route = respx.get(f"{SERVER}/rest/api/2/search")
    route.side_effect = [
        _server_page(0, 4, [1, 2]),
        _server_page(2, 5, [3, 4]),
        _server_page(0, 5, [1, 2]),
        _server_page(2, 6, [3, 4]),
    ]
    with pytest.raises(SourceError) as caught:
        JiraSource("jira-dc", SERVER_CONFIG).fetch()
    message = str(caught.value)
    assert "changed while its pages were read, twice in a row" in message
    assert "page 1 counted 5 issues, page 2 6" in message
    assert "ORDER BY key" in message and "last good catalog is kept" in message


FIELDS = [  # GET /rest/api/3/field: every system and custom field
    {"id": "duedate", "name": "Due date", "custom": False, "schema": {"type": "date"}},
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    {
        "id": "customfield_10015",
        "name": "Start date",
        "custom": True,
        "schema": {"type": "date", "customId": 10015},
    },
    {
        "id": "customfield_10234",
        "name": "Target end",
        "custom": True,
        "schema": {"type": "date", "customId": 10234},
    },
]


def _undated(key: str) -> dict:
    # what Jira answers when asked for a field it does not have: the field is left out
    return {"id": key, "key": key, "fields": {"summary": key, "status": {"name": "Done"}}}


@respx.mock
def test_a_target_date_field_this_jira_does_not_have_fails_the_refresh_naming_its_date_fields():
    # customfield_10015 is "Start date" on one Cloud site and nothing on another: copied from
    # elsewhere, every target date vanished silently, blocking every deal promised a date.
    respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            200, json={"issues": [_undated("ROAD-1"), _undated("ROAD-2")], "isLast": True}
        )
    )
    fields = respx.get(f"{BASE}/rest/api/3/field").mock(
        return_value=httpx.Response(200, json=FIELDS)
    )
    config = {**CONFIG, "target_date_field": "customfield_10999"}
    with pytest.raises(SourceError) as caught:
        JiraSource("jira", config).fetch()
    message = str(caught.value)
    assert "config.target_date_field 'customfield_10999' is not a field of this Jira" in message
    assert "customfield_10234 (Target end)" in message and "duedate (Due date)" in message
    assert "Summary" not in message and "last good catalog is kept" in message
    assert fields.call_count == 1


@respx.mock
def test_a_target_date_field_that_exists_but_no_issue_answered_is_read_as_empty():
    respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(200, json={"issues": [_undated("ROAD-1")], "isLast": True})
    )
    respx.get(f"{BASE}/rest/api/3/field").mock(return_value=httpx.Response(200, json=FIELDS))
    config = {**CONFIG, "target_date_field": "customfield_10234"}
    result = JiraSource("jira", config).fetch()
    assert [(f.key, f.target_date) for f in result.features] == [("ROAD-1", None)]


@respx.mock
def test_the_field_list_is_not_read_when_an_issue_answers_the_date_field():
    search = respx.get(f"{SERVER}/rest/api/2/search").mock(
        return_value=_server_page(0, 1, [1])  # "duedate": null on the issue
    )
    fields = respx.get(f"{SERVER}/rest/api/2/field").mock(return_value=httpx.Response(200, json=[]))
    assert [f.key for f in JiraSource("jira-dc", SERVER_CONFIG).fetch().features] == ["ROAD-1"]
    assert search.call_count == 1 and fields.call_count == 0


@respx.mock
def test_a_jira_error_answer_is_quoted_by_its_messages_in_full():
    # Jira's ErrorCollection: quoted as raw JSON cut at 200 characters, the second message,
    # the one naming the field at fault, was lost.
    first = "Error in the JQL Query: " + "the query is too long to read at a glance " * 3
    respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            400,
            json={
                "errorMessages": [first, "Field 'Target end' does not exist."],
                "errors": {"jql": "Check the project key."},
                "warningMessages": [],
            },
        )
    )
    with pytest.raises(SourceError) as caught:
        JiraSource("jira", CONFIG).fetch()
    message = str(caught.value)
    assert "answered HTTP 400: Error in the JQL Query: " in message
    assert "; Field 'Target end' does not exist.; jql: Check the project key." in message
    assert "errorMessages" not in message


@respx.mock
def test_an_aliases_field_this_jira_does_not_have_fails_the_refresh_too():
    issue = {"id": "1", "key": "ROAD-1", "fields": {"summary": "SSO", "duedate": None}}
    respx.get(f"{BASE}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(200, json={"issues": [issue], "isLast": True})
    )
    respx.get(f"{BASE}/rest/api/3/field").mock(return_value=httpx.Response(200, json=FIELDS))
    with pytest.raises(SourceError) as caught:
        JiraSource("jira", {**CONFIG, "aliases_field": "lables"}).fetch()
    message = str(caught.value)
    assert "config.aliases_field 'lables' is not a field of this Jira" in message
    assert "target_date_field" not in message  # duedate was answered (as null)


@respx.mock
def test_a_data_center_read_as_cloud_says_to_set_api_to_server():
    # "cloud" is the default: a Data Center source saved without `api` searched a path that
    # Data Center does not have, and last_error said only "answered HTTP 404".
    respx.get(f"{SERVER}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(404, text="<html>Oops, you've found a dead link.</html>")
    )
    with pytest.raises(SourceError) as caught:
        JiraSource("jira-dc", {**CONFIG, "base_url": SERVER}).fetch()
    message = str(caught.value)
    assert "answered HTTP 404" in message
    assert 'if this is one, set config.api to "server"' in message
    respx.get(f"{SERVER}/rest/api/2/search").mock(return_value=httpx.Response(404))
    with pytest.raises(SourceError, match="a context path such as /jira"):
        JiraSource("jira-dc", SERVER_CONFIG).fetch()
