"""The Productboard source against respx-mocked API v2 (the default) and v1, answering in the
shapes documented on developer.productboard.com (see the module docstring of
app/connectors/roadmap/productboard.py for which page says what)."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
import respx

from app.connectors.roadmap import (
    ProductboardSource,
    SourceConfigError,
    SourceError,
    config_warnings,
    validate_config,
)

BASE = "https://api.productboard.com"
ENTITIES = f"{BASE}/v2/entities"
FEATURE_TYPES = {"type[]": ["feature", "subfeature"]}
CONFIG = {"token_env": "ROADMAP_SOURCE_TOKEN"}
AUDIT_ID = "2f0a1c3e-6a7b-4c1d-9e2f-0123456789ab"
DARK_ID = "7d9e8f10-1b2c-4d3e-8f4a-abcdefabcdef"
SUB_ID = "c0ffee00-1234-4abc-9def-00000000cafe"


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "s3cr3t-token")


def _entity(id_: str, type_: str = "feature", **fields) -> dict:
    return {
        "id": id_,
        "type": type_,
        "fields": fields,
        "links": {
            "self": f"{ENTITIES}/{id_}",
            "html": f"https://acme.productboard.com/entity-detail/features/{id_}",
        },
    }


@respx.mock
def test_v2_reads_features_and_subfeatures_across_pages_and_leaves_archived_out():
    page2 = f"{ENTITIES}?pageCursor=eyJwIjoyfQ"
    audit = _entity(
        AUDIT_ID,
        name="Audit log export",
        status={"id": "s1", "name": "Planned"},
        timeframe={"startDate": "2026-04-01", "endDate": "2026-06-30", "granularity": "quarter"},
        archived=False,
    )
    respx.get(page2).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [
                    _entity("0ld", name="Old idea", archived=True),
                    # default responses leave empty fields out: no status, timeframe, archived
                    _entity(DARK_ID, name="Dark mode"),
                    _entity(
                        SUB_ID,
                        "subfeature",
                        name="Dark mode: charts",
                        status={"id": "s2", "name": "In progress"},
                    ),  # fmt: skip
                ],
                "links": {"next": None},
            },
        )
    )
    first = respx.get(ENTITIES, params=FEATURE_TYPES).mock(
        return_value=httpx.Response(200, json={"data": [audit], "links": {"next": page2}})
    )
    result = ProductboardSource("pb", CONFIG).fetch()
    assert [f.key for f in result.features] == [f"pb-{AUDIT_ID}", f"pb-{DARK_ID}", f"pb-{SUB_ID}"]
    assert result.pages == 2
    assert result.locations == [
        "GET /v2/entities page 1 data[0]",
        "GET /v2/entities page 2 data[1]",
        "GET /v2/entities page 2 data[2]",
    ]
    audit_f, dark, sub = result.features
    assert audit_f.name == "Audit log export" and audit_f.source_status == "Planned"
    assert audit_f.target_date == date(2026, 6, 30)
    assert audit_f.url == f"https://acme.productboard.com/entity-detail/features/{AUDIT_ID}"
    assert dark.target_date is None and dark.source_status is None
    assert sub.source_status == "In progress"
    request = first.calls[0].request
    assert request.url.params.get_list("type[]") == ["feature", "subfeature"]
    assert request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert "X-Version" not in request.headers


@respx.mock
def test_v2_skips_entities_that_are_not_features_if_a_cursor_drops_the_type_filter():
    page2 = f"{ENTITIES}?pageCursor=c2"
    respx.get(page2).mock(
        return_value=httpx.Response(
            200, json={"data": [_entity("comp-1", "component", name="Billing")], "links": {}}
        )
    )
    respx.get(ENTITIES, params=FEATURE_TYPES).mock(
        return_value=httpx.Response(
            200, json={"data": [_entity(AUDIT_ID, name="Audit")], "links": {"next": page2}}
        )
    )
    assert [f.key for f in ProductboardSource("pb", CONFIG).fetch().features] == [f"pb-{AUDIT_ID}"]


@respx.mock
def test_v2_malformed_page_or_item_is_a_source_error_naming_where():
    page2 = f"{ENTITIES}?pageCursor=c2"
    respx.get(page2).mock(
        return_value=httpx.Response(200, json={"data": {"id": AUDIT_ID}, "links": {}})
    )
    respx.get(ENTITIES, params=FEATURE_TYPES).mock(
        return_value=httpx.Response(
            200, json={"data": [_entity(AUDIT_ID, name="Audit")], "links": {"next": page2}}
        )
    )
    with pytest.raises(SourceError, match=r"pb: /v2/entities page 2 has no 'data' list"):
        ProductboardSource("pb", CONFIG).fetch()

    respx.get(ENTITIES, params=FEATURE_TYPES).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [
                    _entity(AUDIT_ID, name="Audit"),
                    {"id": DARK_ID, "type": "feature", "name": "v1 shape: name not in fields"},
                ],
                "links": {"next": None},
            },
        )
    )
    with pytest.raises(SourceError, match=r"GET /v2/entities page 1 data\[1\] lacks id or name"):
        ProductboardSource("pb", CONFIG).fetch()


@respx.mock
def test_v2_status_names_come_from_the_feature_configuration_and_its_further_pages():
    more = f"{BASE}/v2/entities/fields/status/values?pageCursor=v2"
    config = respx.get(f"{BASE}/v2/entities/configurations/feature").mock(
        return_value=httpx.Response(
            200,
            json={
                "data": {
                    "type": "feature",
                    "fields": {
                        "name": {"id": "name", "name": "Name", "schema": "TextFieldValue"},
                        "status": {
                            "id": "status",
                            "name": "Status",
                            "path": "/fields/status",
                            "schema": "StatusFieldValue",
                            "values": {
                                "data": [
                                    {"id": "s1", "name": "Planned"},
                                    {"id": "s9", "name": "Parked"},
                                ],
                                "links": {"next": more},
                            },
                        },
                    },
                },
            },
        )
    )
    respx.get(more).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [{"id": "s10", "fields": {"name": "Shipped", "assignedEntityTypes": []}}],
                "links": {"next": None},
            },
        )
    )
    assert ProductboardSource("pb", CONFIG).status_names() == ["Planned", "Parked", "Shipped"]
    assert "X-Version" not in config.calls[0].request.headers


@respx.mock
def test_v2_configuration_without_status_values_is_a_source_error():
    respx.get(f"{BASE}/v2/entities/configurations/feature").mock(
        return_value=httpx.Response(200, json={"data": {"type": "feature", "fields": {}}})
    )
    with pytest.raises(SourceError, match=r"data\.fields\.status\.values\.data"):
        ProductboardSource("pb", CONFIG).status_names()


@respx.mock
def test_v1_is_still_read_with_the_version_header_when_configured():
    page2 = f"{BASE}/features?pageCursor=abc"
    feature = {
        "id": "9f1c",
        "name": "Audit log export",
        "description": "<p>x</p>",
        "type": "feature",
        "archived": False,
        "status": {"id": "s1", "name": "Planned"},
        "links": {"self": f"{BASE}/features/9f1c", "html": "https://acme.productboard.com/f/9f1c"},
        "timeframe": {"startDate": "2026-04-01", "endDate": "2026-06-30", "granularity": "quarter"},
    }
    respx.get(page2).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [
                    {**feature, "id": "old", "archived": True},
                    {
                        **feature,
                        "id": "n1",
                        "type": "subfeature",
                        "name": "Dark mode",
                        "status": {"id": "s2", "name": "New idea"},
                        "timeframe": {
                            "startDate": "none",
                            "endDate": "none",
                            "granularity": "none",
                        },
                    },
                ],
                "links": {"next": None},
            },
        )
    )
    first = respx.get(f"{BASE}/features").mock(
        return_value=httpx.Response(200, json={"data": [feature], "links": {"next": page2}})
    )
    statuses = respx.get(f"{BASE}/feature-statuses").mock(
        return_value=httpx.Response(
            200, json={"data": [{"id": "s1", "name": "Planned", "completed": False}]}
        )
    )
    source = ProductboardSource("pb", {**CONFIG, "api_version": "1"})
    result = source.fetch()
    assert [f.key for f in result.features] == ["pb-9f1c", "pb-n1"]  # archived left out
    assert result.locations == ["GET /features page 1 data[0]", "GET /features page 2 data[1]"]
    audit, dark = result.features
    assert audit.target_date == date(2026, 6, 30) and audit.source_status == "Planned"
    assert audit.url == "https://acme.productboard.com/f/9f1c" and dark.target_date is None
    assert first.calls[0].request.headers["X-Version"] == "1"
    assert first.calls[0].request.headers["Authorization"] == "Bearer s3cr3t-token"
    assert source.status_names() == ["Planned"]
    assert statuses.calls[0].request.headers["X-Version"] == "1"


def test_api_version_is_2_by_default_and_only_1_or_2():
    assert ProductboardSource("pb", CONFIG).settings.api_version == "2"
    errors = validate_config("productboard", {**CONFIG, "api_version": "3"})
    assert [(e["path"], e["type"]) for e in errors] == [("config.api_version", "literal_error")]
    assert errors[0]["msg"] == "Input should be '1' or '2'"
    with pytest.raises(SourceConfigError, match=r"config\.api_version: Input should be '1' or '2'"):
        ProductboardSource("pb", {**CONFIG, "api_version": "3"})
    assert config_warnings("productboard", {**CONFIG, "api_version": "2"}) == []
    assert config_warnings("productboard", {**CONFIG, "api_version": "1"}) == [
        "config.api_version: Productboard sunset REST API v1 on 2026-07-08; "
        "use '2' unless this workspace still answers v1"
    ]


@respx.mock
def test_each_page_is_read_into_features_before_the_next_is_fetched():
    # A 10,000-feature workspace answers 100 pages, each feature with its description and
    # custom fields: the raw pages were all held until the last one came, then converted.
    # Each is now read as it comes (and a bad item fails at once, the rest not fetched).
    page2 = respx.get(f"{ENTITIES}?pageCursor=c2").mock(
        return_value=httpx.Response(200, json={"data": [], "links": {}})
    )
    respx.get(ENTITIES, params=FEATURE_TYPES).mock(
        return_value=httpx.Response(
            200,
            json={
                "data": [{"id": DARK_ID, "type": "feature"}],  # no name
                "links": {"next": f"{ENTITIES}?pageCursor=c2"},
            },
        )
    )
    with pytest.raises(SourceError, match=r"page 1 data\[0\] lacks id or name"):
        ProductboardSource("pb", CONFIG).fetch()
    assert page2.call_count == 0


@respx.mock
def test_a_v1_source_answered_gone_says_to_switch_to_v2():
    # v1 was sunset on 2026-07-08: a source still set to it failed every refresh with a bare
    # "answered HTTP 410".
    respx.get(f"{BASE}/features").mock(
        return_value=httpx.Response(410, json={"message": "API v1 is no longer available"})
    )
    with pytest.raises(SourceError) as caught:
        ProductboardSource("pb", {**CONFIG, "api_version": "1"}).fetch()
    message = str(caught.value)
    assert "answered HTTP 410" in message
    assert 'sunset REST API v1 on 2026-07-08: set config.api_version to "2"' in message
