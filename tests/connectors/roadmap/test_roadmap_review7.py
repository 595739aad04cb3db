"""Review round 7 of the roadmap sources: each test fails without its fix."""

from __future__ import annotations

import httpx
import pytest
import respx

from app.connectors.roadmap import HttpJsonSource, JiraSource, SourceError

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


def _page(*features):
    return {"features": list(features)}


def test_a_refresh_overtaken_by_another_does_not_store_its_older_read_over_it(engine):
    """The schedule's slow read began while a feature was Planned; RevOps then set it to
    Won't do in the tool and refreshed through the API, which stored `never` at once. When the
    schedule's read finished it was stored over it: the feature was `coming_soon` again (its
    deals re-warned the other way) until the next scheduled refresh."""
    from sqlmodel import Session, select

    from app.db import session_scope
    from app.models import Feature as FeatureRow
    from app.models import RoadmapSource
    from app.services.roadmap_refresh import refresh_source

    mapping = {"Planned": "coming_soon", "Won't do": "never"}
    with session_scope(engine) as s:
        s.add(RoadmapSource(name="acme", kind="http", config={"url": URL}, status_mapping=mapping))
    answers = []

    def answer(request):
        answers.append(request)
        if len(answers) == 1:  # the slow read: another refresh reads and stores meanwhile
            overtaking = refresh_source(engine, "acme", actor="revops:ana")
            assert overtaking.ok and overtaking.updated == 0 and overtaking.created == 1
            return httpx.Response(
                200, json=_page({"key": "sso", "name": "SSO", "status": "Planned"})
            )
        return httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "Won't do"}))

    with respx.mock:
        respx.get(URL).mock(side_effect=answer)
        result = refresh_source(engine, "acme")
    assert result.ok is False and "another refresh of this source stored" in result.error
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)
    with Session(engine) as s:
        rows = s.exec(select(FeatureRow).where(FeatureRow.source == "acme")).all()
        assert [(r.key, r.source_status, r.availability) for r in rows] == [
            ("sso", "Won't do", "never")
        ]
        row = s.get(RoadmapSource, "acme")
        # the source stays as the refresh that stored left it: a success, no error
        assert row.last_error is None and row.last_success_at is not None


@respx.mock
def test_a_list_field_sent_as_null_is_an_empty_list():
    """`"aliases": null` (how Go's encoding/json writes an empty slice) failed the whole
    refresh with `features[0].aliases: Input should be a valid list`, while a null status or
    target date is read as none."""
    feature = {"key": "sso", "name": "SSO", "aliases": None, "skus": None, "product_ids": None}
    respx.get(URL).mock(return_value=httpx.Response(200, json={"features": [feature]}))
    (read,) = HttpJsonSource("acme", {"url": URL}).fetch().features
    assert (read.aliases, read.skus, read.product_ids) == ([], [], [])


JIRA = "https://acme.atlassian.net"
JIRA_CONFIG = {
    "base_url": JIRA,
    "jql": "project = ROAD",
    "token_env": "ROADMAP_SOURCE_TOKEN",
    "email": "revops@acme.example",
}


@respx.mock
def test_jira_serving_an_expired_token_as_anonymous_fails_the_refresh_naming_the_token():
    """Jira Cloud answers a search with an expired API token as the anonymous user: 200, no
    issues, and `X-Seraph-LoginReason: AUTHENTICATED_FAILED`. Read as an empty roadmap, a new
    source "succeeded" with 0 features, and an existing one was refused as "would remove all
    of the source's features", neither naming the token."""
    respx.get(f"{JIRA}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            200,
            headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
            json={"issues": [], "isLast": True},
        )
    )
    with pytest.raises(SourceError) as caught:
        JiraSource("jira", JIRA_CONFIG).fetch()
    message = str(caught.value)
    assert "did not accept the credentials" in message
    assert "ROADMAP_SOURCE_TOKEN (config.token_env) is wrong, expired or revoked" in message
    assert "config.email revops@acme.example" in message
    assert "s3cr3t-token" not in message


@respx.mock
def test_a_jql_error_jira_gives_the_anonymous_user_names_the_credentials_not_the_jql():
    """As the anonymous user the JQL's project does not exist: the 400 said only "The value
    'ROAD' does not exist for the field 'project'", sending RevOps to fix a JQL that is fine."""
    respx.get(f"{JIRA}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            400,
            headers={"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"},
            json={"errorMessages": ["The value 'ROAD' does not exist for the field 'project'."]},
        )
    )
    with pytest.raises(SourceError) as caught:
        JiraSource("jira", JIRA_CONFIG).fetch()
    message = str(caught.value)
    assert "did not accept the credentials" in message and "CAPTCHA" in message
    assert "log in once in a browser as revops@acme.example" in message


@respx.mock
def test_jira_login_ok_is_read_as_before():
    respx.get(f"{JIRA}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            200,
            headers={"X-Seraph-LoginReason": "OK"},
            json={
                "issues": [
                    {
                        "id": "1",
                        "key": "ROAD-1",
                        "fields": {"summary": "SSO", "status": {"name": "Done"}, "duedate": None},
                    }
                ],
                "isLast": True,
            },
        )
    )
    assert [f.key for f in JiraSource("jira", JIRA_CONFIG).fetch().features] == ["ROAD-1"]


@respx.mock
def test_an_empty_target_date_is_none_and_a_bad_one_still_fails_naming_it():
    features = [
        {"key": "a", "name": "A", "target_date": ""},
        {"key": "b", "name": "B", "target_date": "  "},
        {"key": "c", "name": "C", "target_date": "2026-09-30"},
    ]
    respx.get(URL).mock(return_value=httpx.Response(200, json={"features": features}))
    read = HttpJsonSource("acme", {"url": URL}).fetch().features
    assert [f.target_date.isoformat() if f.target_date else None for f in read] == [
        None,
        None,
        "2026-09-30",
    ]
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, json={"features": [{"key": "a", "name": "A", "target_date": "Q3"}]}
        )
    )
    with pytest.raises(SourceError, match=r"page 1 features\[0\]\.target_date"):
        HttpJsonSource("acme", {"url": URL}).fetch()


GATEWAY = "https://api.atlassian.com/ex/jira/11223344-a1b2-3b33-c444-def123456789"


def _one_issue(key: str) -> dict:
    fields = {"summary": "SSO", "status": {"name": "Done"}, "duedate": None}
    return {"issues": [{"id": "1", "key": key, "fields": fields}], "isLast": True}


@respx.mock
def test_an_issue_read_through_atlassians_api_gateway_links_to_the_site():
    """Through https://api.atlassian.com/ex/jira/<cloudId> (OAuth 2.0, scoped API tokens) each
    feature's link was <gateway>/browse/ROAD-1, a page the gateway does not serve: the link a
    salesperson follows from the CRM was broken. The site's URL comes from serverInfo."""
    respx.get(f"{GATEWAY}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(200, json=_one_issue("ROAD-1"))
    )
    info = respx.get(f"{GATEWAY}/rest/api/3/serverInfo").mock(
        return_value=httpx.Response(
            200,
            json={
                "baseUrl": "https://acme.atlassian.net",
                "version": "1001.0.0-SNAPSHOT",
                "deploymentType": "Cloud",
            },
        )
    )
    (feature,) = JiraSource("jira", {**JIRA_CONFIG, "base_url": GATEWAY}).fetch().features
    assert feature.url == "https://acme.atlassian.net/browse/ROAD-1"
    assert info.calls[0].request.headers["Authorization"].startswith("Basic ")


@respx.mock
def test_a_site_url_is_not_asked_of_a_site_itself():
    search = respx.get(f"{JIRA}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(200, json=_one_issue("ROAD-1"))
    )
    (feature,) = JiraSource("jira", JIRA_CONFIG).fetch().features
    assert feature.url == f"{JIRA}/browse/ROAD-1"
    assert len(respx.calls) == len(search.calls) == 1


def test_an_overlong_status_or_url_fails_or_drops_by_name_instead_of_a_database_error(engine):
    """PostgreSQL refuses a status past 128 characters or a url past 1024 (the feature table's
    VARCHARs): the whole refresh failed with "unexpected DataError while storing:
    (psycopg.errors.StringDataRightTruncation) ...", while SQLite stored them."""
    from sqlmodel import Session, select

    from app.db import session_scope
    from app.models import Feature as FeatureRow
    from app.models import RoadmapSource
    from app.services.roadmap_refresh import refresh_source

    with session_scope(engine) as s:
        s.add(RoadmapSource(name="acme", kind="http", config={"url": URL}, status_mapping={}))
    long_url = "https://roadmap.example.com/sso?" + "q" * 1100
    with respx.mock:
        route = respx.get(URL)
        route.mock(
            return_value=httpx.Response(
                200, json=_page({"key": "sso", "name": "SSO", "status": "GA", "url": long_url})
            )
        )
        stored = refresh_source(engine, "acme")
        assert stored.ok, stored.error
        assert stored.urls_dropped == 1
        route.mock(
            return_value=httpx.Response(
                200, json=_page({"key": "sso", "name": "SSO", "status": "S" * 129})
            )
        )
        refused = refresh_source(engine, "acme")
    assert refused.ok is False
    assert "page 1 features[0].status: 129 characters" in refused.error
    assert "a status name is at most 128" in refused.error
    assert "DataError" not in refused.error
    with Session(engine) as s:
        (row,) = s.exec(select(FeatureRow).where(FeatureRow.source == "acme")).all()
        assert (row.source_status, row.url) == ("GA", None)  # the last good catalog


def test_an_etag_longer_than_the_source_holds_is_not_kept_and_the_refresh_succeeds(engine):
    """An ETag past the 255 characters `roadmap_source.etag` holds made PostgreSQL refuse the
    store: every refresh of the source failed ("unexpected DataError while storing") and its
    catalog went stale for good."""
    from sqlmodel import Session

    from app.db import session_scope
    from app.models import RoadmapSource
    from app.services.roadmap_refresh import refresh_source

    with session_scope(engine) as s:
        s.add(RoadmapSource(name="acme", kind="http", config={"url": URL}, status_mapping={}))
    long_etag = '"' + "e" * 300 + '"'
    with respx.mock:
        route = respx.get(URL).mock(
            return_value=httpx.Response(
                200,
                headers={"ETag": long_etag},
                json=_page({"key": "sso", "name": "SSO", "status": "GA"}),
            )
        )
        first = refresh_source(engine, "acme")
        second = refresh_source(engine, "acme")
    assert first.ok and first.created == 1, first.error
    assert second.ok and not second.not_modified
    assert "If-None-Match" not in route.calls[1].request.headers  # read whole, as without one
    with Session(engine) as s:
        assert s.get(RoadmapSource, "acme").etag is None
