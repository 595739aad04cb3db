"""The roadmap source clients against respx-mocked APIs answering in their documented shapes."""

from __future__ import annotations

import base64
from datetime import date

import httpx
import pytest
import respx

from app.connectors.roadmap import (
    DEFAULT_STATUS_MAPPINGS,
    HttpJsonSource,
    JiraSource,
    ProductboardSource,
    SourceConfigError,
    SourceError,
    apply_status_mapping,
    config_warnings,
    normalised_status_mapping,
    shown_config,
    status_mapping_errors,
    unmapped_statuses,
    validate_config,
)
from app.rules.model import Availability

URL = "https://roadmap.example.com/api/features"


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


@respx.mock
def test_http_source_follows_next_links_and_sends_auth_from_env():
    respx.get(URL, params={"page": "2"}).mock(
        return_value=httpx.Response(
            200,
            json={
                "features": [
                    {
                        "key": "scim",
                        "name": "SCIM",
                        "status": "planned",
                        "target_date": "2026-09-30",
                    }
                ],
                "next": None,
            },
        )
    )
    # respx tries routes in order: the page-2 route (with its query) must come first.
    first = respx.get(URL).mock(
        return_value=httpx.Response(
            200,
            headers={"ETag": '"v1"'},
            json={
                "features": [
                    {"key": "sso", "name": "Single sign-on", "status": "GA", "aliases": ["SSO"]}
                ],
                "next": "/api/features?page=2",
            },
        )
    )
    source = HttpJsonSource("acme", {"url": URL, "auth_env": "ROADMAP_SOURCE_TOKEN"})
    result = source.fetch()
    assert [f.key for f in result.features] == ["sso", "scim"]
    # page 1's ETag says nothing of page 2: a paged catalog keeps none and is read whole
    assert result.etag is None and result.pages == 2 and not result.not_modified
    assert result.features[1].target_date == date(2026, 9, 30)
    assert result.locations == ["page 1 features[0]", "page 2 features[0]"]
    assert result.features[0].source_status == "GA"
    assert first.calls[0].request.headers["Authorization"] == "Bearer s3cr3t-token"


@respx.mock
def test_http_source_cursor_pagination():
    route = respx.get(URL)
    route.side_effect = [
        httpx.Response(200, json={"features": [{"key": "a", "name": "A"}], "next_cursor": "c2"}),
        httpx.Response(200, json={"features": [{"key": "b", "name": "B"}]}),
    ]
    result = HttpJsonSource("acme", {"url": URL}).fetch()
    assert [f.key for f in result.features] == ["a", "b"]
    assert route.calls[1].request.url.params["cursor"] == "c2"


@respx.mock
def test_http_source_keeps_the_etag_of_a_one_page_catalog():
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, headers={"ETag": '"v7"'}, json={"features": [{"key": "a", "name": "A"}]}
        )
    )
    assert HttpJsonSource("acme", {"url": URL}).fetch().etag == '"v7"'


@respx.mock
def test_http_source_304_keeps_catalog():
    route = respx.get(URL).mock(return_value=httpx.Response(304))
    result = HttpJsonSource("acme", {"url": URL}).fetch(etag='"v1"')
    assert result.not_modified and result.features == []
    assert route.calls[0].request.headers["If-None-Match"] == '"v1"'


@respx.mock
def test_http_source_errors_name_the_problem_without_the_secret():
    respx.get(URL).mock(return_value=httpx.Response(500, text="boom"))
    with pytest.raises(SourceError, match="HTTP 500") as exc:
        HttpJsonSource("acme", {"url": URL, "auth_env": "ROADMAP_SOURCE_TOKEN"}).fetch()
    assert "s3cr3t" not in str(exc.value)


@respx.mock
def test_http_source_bad_item_is_refused_with_its_path():
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, json={"features": [{"key": "a", "name": "A"}, {"name": "x"}]}
        )
    )
    with pytest.raises(SourceError, match=r"features\[1\]\.key"):
        HttpJsonSource("acme", {"url": URL}).fetch()


def test_missing_env_var_is_a_config_error(monkeypatch):
    monkeypatch.delenv("ROADMAP_SOURCE_TOKEN")
    with pytest.raises(SourceConfigError, match="ROADMAP_SOURCE_TOKEN"):
        HttpJsonSource("acme", {"url": URL, "auth_env": "ROADMAP_SOURCE_TOKEN"}).fetch()


@respx.mock
def test_jira_search_jql_pages_with_next_page_token_and_custom_date_field():
    base = "https://acme.atlassian.net"
    route = respx.get(f"{base}/rest/api/3/search/jql")
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "issues": [
                    {
                        "id": "1",
                        "key": "ROAD-1",
                        "self": f"{base}/rest/api/3/issue/1",
                        "fields": {
                            "summary": "SAML SSO",
                            "status": {"name": "In Progress"},
                            "customfield_10015": "2026-10-01",
                            "labels": ["saml"],
                        },
                    }
                ],
                "nextPageToken": "tok2",
                "isLast": False,
            },
        ),
        httpx.Response(
            200,
            json={
                "issues": [
                    {
                        "id": "2",
                        "key": "ROAD-2",
                        "fields": {"summary": "Offline mode", "status": {"name": "Won't Do"}},
                    }
                ],
                "isLast": True,
            },
        ),
    ]
    source = JiraSource(
        "jira",
        {
            "base_url": base,
            "jql": "project = ROAD",
            "token_env": "ROADMAP_SOURCE_TOKEN",
            "email": "ops@acme.com",
            "target_date_field": "customfield_10015",
            "aliases_field": "labels",
        },
    )
    result = source.fetch()
    assert [f.key for f in result.features] == ["ROAD-1", "ROAD-2"]
    assert result.locations == ["page 1 issues[0]", "page 2 issues[0]"]
    assert result.features[0].target_date == date(2026, 10, 1)
    assert result.features[0].aliases == ["saml"]
    assert result.features[0].url == f"{base}/browse/ROAD-1"
    first, second = route.calls
    assert first.request.url.params["jql"] == "project = ROAD"
    assert "customfield_10015" in first.request.url.params["fields"]
    assert "nextPageToken" not in first.request.url.params
    assert second.request.url.params["nextPageToken"] == "tok2"
    expected = base64.b64encode(b"ops@acme.com:s3cr3t-token").decode()
    assert first.request.headers["Authorization"] == f"Basic {expected}"


@respx.mock
def test_jira_resolution_other_than_done_is_what_a_closed_issue_is_read_as():
    # Jira closes declined work in a Done status with resolution "Won't Do" (the resolution
    # field: {"self", "id", "description", "name"}, null while unresolved).
    base = "https://acme.atlassian.net"

    def issue(key: str, status: str, resolution: str | None) -> dict:
        res = {"self": f"{base}/rest/api/3/resolution/1", "id": "1", "name": resolution}
        return {
            "id": key,
            "key": key,
            "fields": {
                "summary": key,
                "status": {"name": status, "statusCategory": {"key": "done"}},
                "resolution": res if resolution else None,
                "duedate": None,
            },
        }

    route = respx.get(f"{base}/rest/api/3/search/jql").mock(
        return_value=httpx.Response(
            200,
            json={
                "issues": [
                    issue("ROAD-1", "Done", "Won't Do"),
                    issue("ROAD-2", "Done", "Done"),
                    issue("ROAD-3", "In Progress", None),
                    issue("ROAD-4", "Closed", "Duplicate"),
                ],
                "isLast": True,
            },
        )
    )
    config = {"base_url": base, "jql": "project = ROAD", "token_env": "ROADMAP_SOURCE_TOKEN"}
    result = JiraSource("jira", config).fetch()
    assert [f.source_status for f in result.features] == [
        "Won't Do",
        "Done",
        "In Progress",
        "Duplicate",
    ]
    assert "resolution" in route.calls[0].request.url.params["fields"].split(",")
    mapping = DEFAULT_STATUS_MAPPINGS["jira"]
    assert mapping["Won't Do"] == "never" and mapping["Done"] == "available"


def _server_issue(base: str, number: int, status: str, due: str | None = None) -> dict:
    # the Jira Server / Data Center v2 search shape ("JIRA REST API Example - Query issues")
    return {
        "expand": "html",
        "id": str(10000 + number),
        "self": f"{base}/rest/api/2/issue/ROAD-{number}",
        "key": f"ROAD-{number}",
        "fields": {"summary": f"Feature {number}", "status": {"name": status}, "duedate": due},
    }


@respx.mock
def test_jira_server_pages_with_start_at_until_total_even_when_the_server_caps_max_results():
    base = "https://jira.acme.internal/jira"
    route = respx.get(f"{base}/rest/api/2/search")
    pages = [
        [_server_issue(base, 1, "In Progress", "2027-03-31"), _server_issue(base, 2, "Done")],
        [_server_issue(base, 3, "Backlog"), _server_issue(base, 4, "Won't Do")],
        [_server_issue(base, 5, "Beta")],
    ]
    route.side_effect = [
        httpx.Response(
            200,
            json={
                "expand": "schema,names",
                "startAt": start,
                "maxResults": 2,  # capped by the server below the 100 asked for
                "total": 5,
                "issues": issues,
            },
        )
        for start, issues in zip((0, 2, 4), pages, strict=True)
    ]
    source = JiraSource(
        "jira-dc",
        {
            "base_url": base,
            "api": "server",
            "jql": "project = ROAD ORDER BY key",
            "token_env": "ROADMAP_SOURCE_TOKEN",
        },
    )
    result = source.fetch()
    assert [f.key for f in result.features] == [f"ROAD-{n}" for n in range(1, 6)]
    assert result.pages == 3
    assert result.features[0].target_date == date(2027, 3, 31)
    assert result.features[0].source_status == "In Progress"
    assert result.features[0].url == f"{base}/browse/ROAD-1"
    params = [call.request.url.params for call in route.calls]
    assert [p["startAt"] for p in params] == ["0", "2", "4"]
    assert {p["maxResults"] for p in params} == {"100"}
    assert params[0]["jql"] == "project = ROAD ORDER BY key"
    assert "duedate" in params[0]["fields"] and "nextPageToken" not in params[0]
    assert route.calls[0].request.headers["Authorization"] == "Bearer s3cr3t-token"


@respx.mock
def test_jira_server_stops_on_an_empty_page_and_refuses_a_page_without_total():
    base = "https://jira.acme.internal"
    config = {
        "base_url": base,
        "api": "server",
        "jql": "project = ROAD",
        "token_env": "ROADMAP_SOURCE_T",
    }
    route = respx.get(f"{base}/rest/api/2/search")
    route.side_effect = [
        httpx.Response(200, json={"startAt": 0, "maxResults": 50, "total": 9, "issues": []})
    ]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROADMAP_SOURCE_T", "pat")
        # an empty page before `total` is reached stops the read as a failure: stored, the
        # catalog would lose the issues the search counts (Data Center past its search window)
        with pytest.raises(SourceError, match="answered no issues, though the search counts 9"):
            JiraSource("j", config).fetch()
        route.side_effect = [httpx.Response(200, json={"issues": [_server_issue(base, 1, "Done")]})]
        with pytest.raises(SourceError, match="no 'total'"):
            JiraSource("j", config).fetch()


def test_jira_api_must_be_cloud_or_server():
    config = {
        "base_url": "https://x",
        "jql": "project = X",
        "token_env": "ROADMAP_SOURCE_T",
        "api": "dc",
    }
    assert [(e["path"], e["type"]) for e in validate_config("jira", config)] == [
        ("config.api", "literal_error")
    ]
    with pytest.raises(SourceConfigError, match="config.api"):
        JiraSource("j", config)
    assert validate_config("jira", {**config, "api": "server"}) == []


def test_config_lists_every_mistake_with_its_path_and_type():
    config = {"url": URL, "timeout_seconds": "x", "auth_evn": "FOO", "auth_scheme": "Bearer abc"}
    errors = validate_config("http", config)
    assert {(e["path"], e["type"]) for e in errors} == {
        ("config.timeout_seconds", "float_type"),
        ("config.auth_evn", "extra_forbidden"),
        ("config.auth_scheme", "secret_in_config"),  # a token pasted after the scheme
    }
    assert all(e["loc"][0] == "config" for e in errors)
    bounded = validate_config("http", {"url": URL, "timeout_seconds": -1})
    assert [(e["path"], e["type"]) for e in bounded] == [("config.timeout_seconds", "greater_than")]
    pb = validate_config("productboard", {"token_env": "PB TOKEN", "key_prefix": "pb /"})
    assert {e["path"] for e in pb} == {"config.token_env", "config.key_prefix"}
    jira = validate_config("jira", {"base_url": "https://x", "jql": "p = X", "token_env": "ROADMAP_SOURCE_T",
                                    "page_size": 0, "target_date_field": "due date"})  # fmt: skip
    assert {e["path"] for e in jira} == {"config.page_size", "config.target_date_field"}
    assert validate_config("registry", {}) == []
    assert [e["path"] for e in validate_config("registry", {"url": URL})] == ["config.url"]


def test_connectors_read_their_config_through_the_same_model():
    # before: the stored string reached float() inside the refresh ("unexpected ValueError")
    with pytest.raises(SourceConfigError) as exc:
        HttpJsonSource("acme", {"url": URL, "timeout_seconds": "x", "auth_evn": "FOO"})
    assert "config.timeout_seconds" in str(exc.value) and "config.auth_evn" in str(exc.value)
    with pytest.raises(SourceConfigError, match="config.page_size"):
        JiraSource("j", {"base_url": "https://x", "jql": "p = X", "token_env": "ROADMAP_SOURCE_T",
                         "page_size": "100"})  # fmt: skip
    with pytest.raises(SourceConfigError, match="config.key_prefix"):
        ProductboardSource("pb", {"token_env": "ROADMAP_SOURCE_T", "key_prefix": "pb /"})


def test_status_mapping_errors_name_contradictions_and_keep_agreeing_duplicates_once():
    assert status_mapping_errors({"GA": "available", "ga": "available"}) == []
    errors = status_mapping_errors(
        {"GA": "available", " ga ": "never", "Beta": "beta", " ": "beta"}
    )
    assert [(e["path"], e["type"]) for e in errors] == [
        ("status_mapping. ", "blank_status"),
        ("status_mapping. ga ", "conflicting_status"),
    ]
    assert "'GA' and ' ga '" in errors[1]["msg"]
    assert normalised_status_mapping({"GA": "available", "ga": Availability.available}) == {
        "GA": "available"
    }


def test_status_mapping_is_case_blind_and_unmapped_becomes_unknown():
    from app.rules.model import Feature

    features = [
        Feature(key="a", name="A", source_status="in progress"),
        Feature(key="b", name="B", source_status="Parked"),
    ]
    mapping = {"In Progress": "coming_soon"}
    mapped = apply_status_mapping(features, mapping)
    assert [f.availability for f in mapped] == [Availability.coming_soon, Availability.unknown]
    # a feature without a status is listed under "(none)" (it was left out)
    assert unmapped_statuses(["in progress", "Parked", None], mapping) == ["(none)", "Parked"]


@pytest.mark.parametrize(
    ("status", "listed"),
    [
        (None, "(none)"),
        ("", "(none)"),
        ("   ", "(none)"),
        ("(none)", "(none)"),
        ("(NONE)", "(NONE)"),
    ],
)
def test_a_feature_without_a_status_has_the_status_none_which_can_be_mapped(status, listed):
    """No status (missing, null, blank) was unknown whatever the mapping said, unlisted in
    unmapped_statuses, and a mapping for "" refused: it is the status "(none)" now."""
    from app.connectors.roadmap import NO_STATUS, map_status, status_mapping_errors

    assert NO_STATUS == "(none)"
    assert map_status(status, {"GA": "available"}) == Availability.unknown
    assert map_status(status, {"(none)": "uncertain"}) == Availability.uncertain
    assert unmapped_statuses([status], {"GA": "available"}) == [listed]
    assert unmapped_statuses([status], {"(None)": "uncertain"}) == []
    assert status_mapping_errors({"(none)": "uncertain"}) == []


def test_a_blank_status_name_in_a_mapping_is_refused_pointing_at_none():
    from app.connectors.roadmap import status_mapping_errors

    [error] = status_mapping_errors({"  ": "uncertain"})
    assert error["type"] == "blank_status"
    assert error["msg"] == (
        "a status name must not be blank; features without a status are mapped under '(none)'"
    )


def test_config_validation_refuses_secrets_and_missing_fields():
    errors = validate_config("jira", {"base_url": "ftp://x", "api_token": "abc"})
    by_path = {e["path"]: e for e in errors}
    assert {"config.jql", "config.token_env", "config.api_token", "config.base_url"} <= set(by_path)
    assert by_path["config.api_token"]["type"] == "secret_in_config"
    assert "secrets are not stored" in by_path["config.api_token"]["msg"]
    assert validate_config("http", {"url": URL, "auth_env": "ROADMAP_SOURCE_TOKEN"}) == []


def test_jira_cloud_without_email_warns_that_an_api_token_needs_basic_auth(monkeypatch):
    from app.connectors.roadmap import config_warnings

    cloud = {
        "base_url": "https://acme.atlassian.net",
        "jql": "p = X",
        "token_env": "ROADMAP_SOURCE_TOKEN",
    }
    (warning,) = config_warnings("jira", cloud)
    assert warning.startswith("config.email:")
    assert config_warnings("jira", {**cloud, "email": "ops@acme.com"}) == []
    oauth = {**cloud, "base_url": "https://api.atlassian.com/ex/jira/1a2b"}
    assert config_warnings("jira", oauth) == []  # an OAuth 2.0 bearer token: fine
    monkeypatch.delenv("ROADMAP_SOURCE_TOKEN")
    assert [w.split(":")[0] for w in config_warnings("jira", oauth)] == ["config.token_env"]


@pytest.mark.parametrize(
    "scheme",
    ["sk_live_abc123DEF456", "Bearer abc123def456", "Bearer:abc123def456", "Token\u00a0abc123",
     "abc123def456ghi789", "Abcdefghijklmnopqrstu", "-Custom", "Custom\n"],
)  # fmt: skip
def test_auth_scheme_is_a_scheme_word_in_the_connectors_own_model(scheme):
    """The connector's model took any auth_scheme without a space up to 64 characters
    ('sk_live_...'): the API refused those with a check of its own, while a refresh read such
    a stored config as valid. The model is the one place of the rule now."""
    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_T", "auth_scheme": scheme}
    errors = validate_config("http", config)
    assert [(e["path"], e["type"]) for e in errors] == [("config.auth_scheme", "secret_in_config")]
    assert errors[0]["msg"].startswith("auth_scheme is the scheme word only")
    assert "auth_env" in errors[0]["msg"] and scheme.strip() not in str(errors)
    with pytest.raises(SourceConfigError, match="config.auth_scheme") as exc:
        HttpJsonSource("acme", config)
    assert scheme.strip() not in str(exc.value)
    assert shown_config(config)["auth_scheme"] == "***"
    warnings = config_warnings("http", config)
    assert any(w.startswith("config.auth_scheme: stored with") for w in warnings)
    assert scheme.strip() not in str(warnings)


def test_a_scheme_word_or_nothing_is_a_valid_auth_scheme():
    for scheme in ("Bearer", "Token", "Basic", "Api-Key", "SSWS", "", "Abcdefghijklmnopqrst"):
        config = {"url": URL, "auth_env": "ROADMAP_SOURCE_T", "auth_scheme": scheme}
        assert validate_config("http", config) == [], scheme
        assert shown_config(config)["auth_scheme"] == scheme
        assert not any("auth_scheme" in w for w in config_warnings("http", config))
    assert [e["type"] for e in validate_config("http", {"url": URL, "auth_scheme": 7})] == [
        "string_type"
    ]


# --- which environment variables a source may read (security fix) ------------------------------


@pytest.mark.parametrize(
    ("kind", "config", "path"),
    [
        ("http", {"url": URL, "auth_env": "HUBSPOT_CLIENT_SECRET"}, "config.auth_env"),
        ("http", {"url": URL, "auth_env": "ROADMAP_SOURCE_ALLOWED_HOSTS"}, "config.auth_env"),
        ("http", {"url": URL, "auth_env": "ROADMAP_SOURCE_"}, "config.auth_env"),
        ("productboard", {"token_env": "DATABASE_URL"}, "config.token_env"),
        ("jira", {"base_url": URL, "jql": "x", "token_env": "AWS_SECRET_ACCESS_KEY"},
         "config.token_env"),
        ("jira", {"base_url": URL, "jql": "x", "token_env": "roadmap_source_jira"},
         "config.token_env"),
    ],
)  # fmt: skip
def test_a_source_may_name_only_a_roadmap_source_variable(kind, config, path):
    """A source's config named ANY variable of the process, and its value was sent to the URL
    the config chose (HUBSPOT_CLIENT_SECRET, DATABASE_URL, ...)."""
    [error] = validate_config(kind, config)
    assert (error["path"], error["type"]) == (path, "env_name_prefix")
    assert "ROADMAP_SOURCE_" in error["msg"] and config[path.split(".")[1]] in error["msg"]


def test_a_roadmap_source_variable_is_accepted():
    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"}
    assert validate_config("http", config) == []
    jira = {"base_url": URL, "jql": "x", "token_env": "ROADMAP_SOURCE_JIRA_TOKEN"}
    assert validate_config("jira", jira) == []


def test_secret_from_env_reads_no_other_variable_whatever_the_config_says(monkeypatch):
    """Defence in depth: a config stored before the rule (or reaching it another way)."""
    from app.connectors.roadmap.base import secret_from_env

    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", "hs-secret-123")
    with pytest.raises(SourceConfigError) as caught:
        secret_from_env({"auth_env": "HUBSPOT_CLIENT_SECRET"}, "auth_env")
    message = str(caught.value)
    assert "hs-secret-123" not in message
    assert message.startswith("config.auth_env names HUBSPOT_CLIENT_SECRET, which is not read")
    assert "ROADMAP_SOURCE_HUBSPOT_CLIENT_SECRET" in message
    monkeypatch.setenv("ROADMAP_SOURCE_ACME", "tok")
    assert secret_from_env({"auth_env": "ROADMAP_SOURCE_ACME"}, "auth_env") == "tok"


def test_a_stored_config_naming_another_variable_warns_to_rename_it():
    [warning] = config_warnings("http", {"url": URL, "auth_env": "ACME_ROADMAP_TOKEN"})
    assert warning.startswith("config.auth_env: ACME_ROADMAP_TOKEN is not read")
    assert "ROADMAP_SOURCE_ACME_ROADMAP_TOKEN" in warning
