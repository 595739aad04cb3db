"""Security review round 7 of the roadmap sources: each test fails without its fix."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.roadmap import JiraSource

GATEWAY = "https://api.atlassian.com/ex/jira/11223344-a1b2-3b33-c444-def123456789"
CONFIG = {
    "base_url": GATEWAY,
    "jql": "project = ROAD",
    "token_env": "ROADMAP_SOURCE_TOKEN",
    "email": "pm@acme.com",
}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


def _fetch_with_site(base_url: object) -> str | None:
    fields = {"summary": "SSO", "status": {"name": "Done"}, "duedate": None}
    with respx.mock:
        respx.get(f"{GATEWAY}/rest/api/3/search/jql").mock(
            return_value=httpx.Response(
                200, json={"issues": [{"id": "1", "key": "ROAD-1", "fields": fields}]}
            )
        )
        respx.get(f"{GATEWAY}/rest/api/3/serverInfo").mock(
            return_value=httpx.Response(200, json={"baseUrl": base_url, "deploymentType": "Cloud"})
        )
        (feature,) = JiraSource("jira", CONFIG).fetch().features
    return feature.url


@pytest.mark.parametrize(
    "base_url",
    [
        # opens evil.example: "acme.atlassian.net" is the user name
        "https://acme.atlassian.net@evil.example",
        "https://acme.atlassian.net:x@evil.example/",
        # /browse/ROAD-1 lands in the query or fragment: every link opens one page
        "https://acme.atlassian.net?next=https://evil.example",
        "https://acme.atlassian.net#",
        # no host; characters no URL holds
        "https:///evil.example",
        'https://acme.atlassian.net/"><script>',
        "https://acme.atlassian.net\\@evil.example",
    ],
)
def test_a_server_info_base_url_that_is_not_a_plain_site_url_makes_no_link(base_url):
    """serverInfo's `baseUrl` began every issue link (the dashboard's, the CRM notes') once its
    scheme was http(s): "https://acme.atlassian.net@evil.example/browse/ROAD-1", which reads as
    Atlassian and opens evil.example, was written into every deal's note. Such a base is not
    used: the links stay on the configured base URL."""
    assert _fetch_with_site(base_url) == f"{GATEWAY}/browse/ROAD-1"


@pytest.mark.parametrize(
    ("base_url", "link"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net/browse/ROAD-1"),
        ("https://acme.atlassian.net/", "https://acme.atlassian.net/browse/ROAD-1"),
        ("https://jira.acme.com:8443/jira", "https://jira.acme.com:8443/jira/browse/ROAD-1"),
    ],
)
def test_a_plain_site_url_is_still_where_issues_link(base_url, link):
    assert _fetch_with_site(base_url) == link
