"""Jira's connector on what production Jira instances answer (respx, documented shapes)."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.roadmap import JiraSource

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
