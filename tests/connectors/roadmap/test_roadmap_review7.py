"""Review round 7 of the roadmap sources: each test fails without its fix."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.roadmap import HttpJsonSource

URL = "https://roadmap.example.com/api/features"


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


@respx.mock
def test_a_cursor_page_keeps_the_query_of_the_configured_url():
    """A url that selects what to read (`?team=payments`) paged by `next_cursor`: page 2 was
    requested as `...?cursor=c2`, the query dropped (httpx replaces a URL's query with the
    request's params), so it read every team's features into this source."""
    route = respx.get(URL)
    route.side_effect = [
        httpx.Response(200, json={"features": [{"key": "a", "name": "A"}], "next_cursor": "c2"}),
        httpx.Response(200, json={"features": [{"key": "b", "name": "B"}], "next_cursor": "c3"}),
        httpx.Response(200, json={"features": [{"key": "c", "name": "C"}]}),
    ]
    source = HttpJsonSource("acme", {"url": f"{URL}?team=payments&cursor=start"})
    result = source.fetch()
    assert [f.key for f in result.features] == ["a", "b", "c"]
    queries = [call.request.url.params for call in route.calls]
    assert [q.get_list("team") for q in queries] == [["payments"]] * 3
    # the cursor the server gave replaces the configured one, never repeated next to it
    assert [q.get_list("cursor") for q in queries] == [["start"], ["c2"], ["c3"]]
