"""Credentials stay on the configured origin, secrets stay out of URLs and messages, Jira's
object lists and date fields are read safely, and 429/503 are retried in the call."""

from __future__ import annotations

import base64
from datetime import date

import httpx
import pytest
import respx

from app.connectors.roadmap import (
    HttpJsonSource,
    JiraSource,
    ProductboardSource,
    SourceConfigError,
    SourceError,
    _http,
    validate_config,
)
from app.connectors.roadmap.jira import _strings

URL = "https://roadmap.example.com/api/features"
JIRA = "https://acme.atlassian.net"
JIRA_SEARCH = f"{JIRA}/rest/api/3/search/jql"
PB = "https://api.productboard.com"
X_API_KEY = {
    "url": URL,
    "auth_env": "ROADMAP_SOURCE_TOKEN",
    "auth_header": "X-Api-Key",
    "auth_scheme": "",
}


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(_http, "_sleep", waited.append)
    return waited


# --- finding 2: credentials only to the configured origin -------------------------------------


@respx.mock
def test_redirect_to_another_origin_is_refused_and_the_custom_auth_header_not_sent():
    respx.get(URL).mock(
        return_value=httpx.Response(302, headers={"Location": "https://cdn.other.net/f.json"})
    )
    other = respx.get("https://cdn.other.net/f.json").mock(
        return_value=httpx.Response(200, json={"features": []})
    )
    with pytest.raises(SourceError, match="another origin") as exc:
        HttpJsonSource("acme", X_API_KEY).fetch()
    assert not other.called
    assert "cdn.other.net" in str(exc.value) and "s3cr3t" not in str(exc.value)


@respx.mock
def test_a_same_origin_redirect_is_followed_with_the_credentials():
    respx.get(URL).mock(return_value=httpx.Response(301, headers={"Location": "/api/v2/features"}))
    moved = respx.get("https://roadmap.example.com/api/v2/features").mock(
        return_value=httpx.Response(200, json={"features": [{"key": "a", "name": "A"}]})
    )
    result = HttpJsonSource("acme", X_API_KEY).fetch()
    assert [f.key for f in result.features] == ["a"]
    assert moved.calls[0].request.headers["X-Api-Key"] == "s3cr3t-token"


@respx.mock
def test_a_redirect_to_another_port_or_scheme_is_another_origin():
    respx.get(URL).mock(
        return_value=httpx.Response(
            307, headers={"Location": "http://roadmap.example.com/api/features"}
        )
    )
    plain = respx.get("http://roadmap.example.com/api/features").mock(
        return_value=httpx.Response(200, json={"features": []})
    )
    with pytest.raises(SourceError, match="another origin"):
        HttpJsonSource("acme", X_API_KEY).fetch()
    assert not plain.called


@respx.mock
@pytest.mark.parametrize("config", [X_API_KEY, {"url": URL, "auth_env": "ROADMAP_SOURCE_TOKEN"}])
def test_an_absolute_next_link_to_another_host_is_refused(config):
    respx.get(URL).mock(
        return_value=httpx.Response(
            200,
            json={"features": [{"key": "a", "name": "A"}], "next": "https://third.party.io/p2"},
        )
    )
    third = respx.get("https://third.party.io/p2").mock(
        return_value=httpx.Response(200, json={"features": []})
    )
    with pytest.raises(SourceError, match=r"page 1 'next' https://third\.party\.io/p2"):
        HttpJsonSource("acme", config).fetch()
    assert not third.called


@respx.mock
def test_productboard_links_next_to_another_host_is_refused(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_PB_TOKEN", "pb-secret")
    respx.get(f"{PB}/v2/entities").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [{"id": "f1", "type": "feature", "fields": {"name": "A"}}],
                "links": {"next": "https://evil.example.net/v2/entities?pageCursor=x"},
            },
        )
    )
    evil = respx.get(url__startswith="https://evil.example.net").mock(
        return_value=httpx.Response(200, json={"data": [], "links": {}})
    )
    with pytest.raises(SourceError, match="links.next .*another origin"):
        ProductboardSource("pb", {"token_env": "ROADMAP_SOURCE_PB_TOKEN"}).fetch()
    assert not evil.called


@respx.mock
def test_jira_redirect_to_another_origin_does_not_get_the_basic_credentials():
    respx.get(JIRA_SEARCH).mock(
        return_value=httpx.Response(302, headers={"Location": "https://login.other.org/search"})
    )
    other = respx.get("https://login.other.org/search").mock(
        return_value=httpx.Response(200, json={"issues": [], "isLast": True})
    )
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN", "email": "a@b.co"}
    with pytest.raises(SourceError, match="another origin"):
        JiraSource("jira", config).fetch()
    assert not other.called


# --- finding 3: no secrets in URLs, none in messages --------------------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "words"),
    [
        ("http", {"url": "https://user:pw@roadmap.example.com/f"}, "user-info"),
        ("http", {"url": "https://roadmap.example.com/f?team=a&api_key=LIVE"}, "'api_key'"),
        ("http", {"url": "https://roadmap.example.com/f?apiKey=1&sig=2"}, "'apiKey', 'sig'"),
        ("http", {"url": "https://roadmap.example.com/f?access_token=1"}, "'access_token'"),
        ("http", {"url": "https://roadmap.example.com/f?X-Amz-Signature=1"}, "Signature"),
        ("http", {"url": "https://roadmap.example.com/f?key=1"}, "'key'"),
        ("http", {"url": "https://roadmap.example.com/f?password=1"}, "'password'"),
        (
            "jira",
            {
                "base_url": "https://me:tok@acme.atlassian.net",
                "jql": "x",
                "token_env": "ROADMAP_SOURCE_T",
            },
            "user-info",
        ),
        (
            "productboard",
            {"token_env": "ROADMAP_SOURCE_T", "base_url": f"{PB}?token=abc"},
            "'token'",
        ),
    ],
)
def test_a_url_carrying_a_secret_is_refused_naming_the_field(kind, config, words):
    errors = validate_config(kind, config)
    field = "url" if kind == "http" else "base_url"
    assert [(e["path"], e["type"]) for e in errors] == [(f"config.{field}", "secret_in_url")]
    assert words in errors[0]["msg"]
    assert "LIVE" not in errors[0]["msg"] and "pw" not in errors[0]["msg"]
    with pytest.raises(SourceConfigError, match="secrets are not stored"):
        {"http": HttpJsonSource, "jira": JiraSource, "productboard": ProductboardSource}[kind](
            "s", config
        )


def test_an_ordinary_query_is_accepted():
    assert validate_config("http", {"url": "https://r.example.com/f?team=a&page=1&sort=key"}) == []


@respx.mock
def test_error_messages_carry_no_query_values():
    url = "https://roadmap.example.com/f?team=payments-7f3a"
    respx.get(url__startswith="https://roadmap.example.com/f").mock(
        return_value=httpx.Response(500, text="boom")
    )
    with pytest.raises(SourceError, match="HTTP 500") as exc:
        HttpJsonSource("acme", {"url": url}).fetch()
    assert "payments-7f3a" not in str(exc.value)
    assert "https://roadmap.example.com/f?team=***" in str(exc.value)


@pytest.mark.parametrize(
    ("config", "body"),
    [
        (X_API_KEY, "invalid key s3cr3t-token"),
        ({"url": URL, "auth_env": "ROADMAP_SOURCE_TOKEN"}, '{"got": "Bearer s3cr3t-token"}'),
    ],
)
@respx.mock
def test_a_credential_echoed_in_an_error_body_is_not_repeated(config, body):
    # The message becomes the source's last_error (every API reader sees it) and a log line.
    respx.get(URL).mock(return_value=httpx.Response(401, text=body))
    with pytest.raises(SourceError, match="HTTP 401") as exc:
        HttpJsonSource("acme", config).fetch()
    assert "s3cr3t" not in str(exc.value) and "***" in str(exc.value)


@respx.mock
def test_jira_token_echoed_by_a_throttled_answer_is_not_repeated(sleeps):
    respx.get(JIRA_SEARCH).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "120"}, text="token s3cr3t-token")
    )
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN", "email": "a@b.co"}
    with pytest.raises(SourceError, match="HTTP 429") as exc:
        JiraSource("jira", config).fetch()
    assert "s3cr3t" not in str(exc.value) and "token ***" in str(exc.value)


@respx.mock
def test_an_error_body_without_credentials_is_kept_whole():
    respx.get(URL).mock(return_value=httpx.Response(406, text="need application/json here"))
    with pytest.raises(SourceError, match="need application/json here"):
        HttpJsonSource("acme", X_API_KEY).fetch()


# --- a next page that points back: refused at once, not read MAX_PAGES times ------------------


@respx.mock
def test_productboard_last_page_pointing_back_at_the_first_is_refused():
    first = f"{PB}/v2/entities?pageCursor=p1"
    respx.get(url__startswith=f"{PB}/v2/entities").mock(
        return_value=httpx.Response(200, json={"data": [], "links": {"next": first}})
    )
    with pytest.raises(SourceError, match="links.next repeats an earlier page"):
        ProductboardSource("pb", {"token_env": "ROADMAP_SOURCE_TOKEN"}).fetch()
    assert respx.calls.call_count == 2  # page 1, then its cursor once: never page 3


@pytest.mark.parametrize("link", [{"next": "?page=2"}, {"next_cursor": "c2"}])
@respx.mock
def test_http_source_next_link_or_cursor_seen_before_is_refused(link):
    respx.get(url__startswith=URL).mock(
        return_value=httpx.Response(200, json={"features": [{"key": "a", "name": "A"}], **link})
    )
    with pytest.raises(SourceError, match="page 2 'next(_cursor)?' repeats an earlier page"):
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert respx.calls.call_count == 2


@respx.mock
def test_jira_next_page_token_seen_before_is_refused():
    respx.get(JIRA_SEARCH).mock(
        return_value=httpx.Response(200, json={"issues": [], "nextPageToken": "t1"})
    )
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN"}
    with pytest.raises(SourceError, match="search page 2 nextPageToken repeats an earlier page"):
        JiraSource("jira", config).fetch()
    assert respx.calls.call_count == 2


# --- finding 4: Jira object lists and date fields -----------------------------------------------


def test_jira_alias_lists_read_value_then_name_and_never_give_none():
    assert _strings([{"id": "1", "name": "Platform"}, {"id": "2", "value": "Audit"}]) == [
        "Platform",
        "Audit",
    ]
    assert _strings([{"accountId": "x", "displayName": "Ada"}]) == ["Ada"]
    assert _strings([{"id": "3"}, {"name": None}, 7, None, "", "sso"]) == ["sso"]
    assert _strings({"id": "4", "value": "Single"}) == ["Single"]
    assert "None" not in _strings([{"id": "10000"}])


def _issue(key, **fields):
    base = {"summary": key, "status": {"name": "Done"}, "duedate": None}
    return {"id": key, "key": key, "fields": {**base, **fields}}


@respx.mock
def test_jira_components_as_aliases_give_their_names():
    respx.get(JIRA_SEARCH).mock(
        return_value=httpx.Response(
            200,
            json={
                "issues": [
                    _issue("RM-1", components=[{"id": "10000", "name": "Audit trail"}]),
                    _issue("RM-2", components=[{"id": "10001", "self": "https://x"}]),
                ],
                "isLast": True,
            },
        )
    )
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN", "email": "a@b.co"}
    result = JiraSource("jira", {**config, "aliases_field": "components"}).fetch()
    assert [f.aliases for f in result.features] == [["Audit trail"], []]


@respx.mock
def test_jira_date_field_that_yields_no_date_for_any_issue_is_a_refresh_error():
    respx.get(JIRA_SEARCH).mock(
        return_value=httpx.Response(
            200,
            json={
                "issues": [
                    _issue("RM-1", fixVersions=[{"id": "1", "name": "2027.1"}]),
                    _issue("RM-2", fixVersions=[]),
                ],
                "isLast": True,
            },
        )
    )
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN", "email": "a@b.co"}
    with pytest.raises(SourceError, match="'fixVersions' gave no date for any issue.*RM-1"):
        JiraSource("jira", {**config, "target_date_field": "fixVersions"}).fetch()


@respx.mock
def test_jira_issues_without_due_dates_are_not_an_error():
    respx.get(JIRA_SEARCH).mock(
        return_value=httpx.Response(
            200,
            json={
                "issues": [_issue("RM-1", duedate=None), _issue("RM-2", duedate="2027-03-31")],
                "isLast": True,
            },
        )
    )
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN", "email": "a@b.co"}
    result = JiraSource("jira", config).fetch()
    assert [f.target_date for f in result.features] == [None, date(2027, 3, 31)]
    route = respx.routes[0]
    basic = base64.b64encode(b"a@b.co:s3cr3t-token").decode()
    assert route.calls[0].request.headers["Authorization"] == f"Basic {basic}"


# --- finding 6: 429 / 503 retried in the call ---------------------------------------------------


@respx.mock
def test_a_throttled_page_is_retried_after_retry_after_and_the_refresh_completes(sleeps):
    respx.get(URL, params={"page": "2"}).side_effect = [
        httpx.Response(429, headers={"Retry-After": "2"}, text="slow down"),
        httpx.Response(200, json={"features": [{"key": "b", "name": "B"}]}),
    ]
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, json={"features": [{"key": "a", "name": "A"}], "next": "?page=2"}
        )
    )
    result = HttpJsonSource("acme", {"url": URL}).fetch()
    assert [f.key for f in result.features] == ["a", "b"]
    assert sleeps == [2.0]


@respx.mock
def test_503_without_retry_after_backs_off_and_gives_up_after_three_tries(sleeps):
    route = respx.get(URL).mock(return_value=httpx.Response(503, text="maintenance"))
    with pytest.raises(SourceError, match=r"HTTP 503 \(3 tries\)"):
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert route.call_count == 3 and sleeps == [1.0, 2.0]


@respx.mock
def test_a_retry_after_beyond_the_budget_is_not_waited_for(sleeps):
    route = respx.get(URL).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "120"}, text="later")
    )
    with pytest.raises(SourceError, match=r"HTTP 429 \(1 try\) \(Retry-After: 120\)"):
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert route.call_count == 1 and sleeps == []


@respx.mock
def test_retry_waits_add_up_to_at_most_the_budget(sleeps):
    route = respx.get(URL)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": "20"}),
        httpx.Response(429, headers={"Retry-After": "20"}),
        httpx.Response(200, json={"features": []}),
    ]
    with pytest.raises(SourceError, match="HTTP 429"):
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert sleeps == [20.0] and route.call_count == 2


def test_retry_after_as_an_http_date():
    response = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert _http.retry_after_seconds(response, 1) == 0.0  # in the past: retry now


# --- Jira's X-RateLimit-Reset when a 429 comes without Retry-After ----------------------------


@respx.mock
def test_a_jira_429_with_only_x_ratelimit_reset_waits_until_the_reset(sleeps, monkeypatch):
    """Jira Cloud's rate-limiting page: a 429 "may be accompanied by Retry-After and
    X-RateLimit-Reset" (ISO 8601, yyyy-MM-ddTHH:mmZ). Without Retry-After the wait was the
    blind 1 s backoff: the retry came back before the reset and failed again."""
    from datetime import UTC, datetime

    now = datetime(2026, 12, 7, 13, 44, 50, tzinfo=UTC)

    class _Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return now

    monkeypatch.setattr(_http, "datetime", _Clock)
    respx.get(JIRA_SEARCH).side_effect = [
        httpx.Response(429, headers={"X-RateLimit-Reset": "2026-12-07T13:45Z"}, text="{}"),
        httpx.Response(200, json={"issues": [_issue("RM-1")], "isLast": True}),
    ]
    config = {"base_url": JIRA, "jql": "x", "token_env": "ROADMAP_SOURCE_TOKEN", "email": "a@b.co"}
    result = JiraSource("jira", config).fetch()
    assert [f.key for f in result.features] == ["RM-1"]
    assert sleeps == [10.0]


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"X-RateLimit-Reset": "17"}, 17.0),  # seconds to wait
        ({"X-RateLimit-Reset": "2026-12-07T13:45:30Z"}, 40.0),  # ISO 8601 with seconds
        ({"X-RateLimit-Reset": "2026-12-07T13:45:30+00:00"}, 40.0),
        ({"X-RateLimit-Reset": "1796651110"}, 20.0),  # a Unix time: 13:45:10
        ({"X-RateLimit-Reset": "1796000000"}, 0.0),  # a Unix time in the past: now
        ({"X-RateLimit-Reset": "2026-12-07T13:40Z"}, 0.0),  # past: retry now
        ({"X-RateLimit-Reset": "soon"}, 2.0),  # not a time: the backoff (attempt 2)
        ({"X-RateLimit-Reset": "nan"}, 2.0),
        ({"Retry-After": "5", "X-RateLimit-Reset": "100"}, 5.0),  # Retry-After first
    ],
)
def test_x_ratelimit_reset_forms(monkeypatch, headers, seconds):
    from datetime import UTC, datetime

    class _Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 7, 13, 44, 50, tzinfo=UTC)

    monkeypatch.setattr(_http, "datetime", _Clock)
    assert _http.retry_after_seconds(httpx.Response(429, headers=headers), 2) == seconds


@respx.mock
def test_a_reset_beyond_the_budget_is_named_in_the_error(sleeps):
    respx.get(URL).mock(
        return_value=httpx.Response(429, headers={"X-RateLimit-Reset": "3600"}, text="later")
    )
    with pytest.raises(SourceError, match=r"HTTP 429 \(1 try\) \(X-RateLimit-Reset: 3600\)"):
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert sleeps == []
