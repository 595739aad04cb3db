"""/api/v1/roadmap/sources: config, status mappings, refresh (ETag/304, failures keep the last
good catalog), staleness in the API and the metrics gauge."""

from __future__ import annotations

import json

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
    monkeypatch.setenv("ACME_ROADMAP_TOKEN", "tok")


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
        "config": {"url": URL, "auth_env": "ACME_ROADMAP_TOKEN"},
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
        httpx.Response(503, text="maintenance"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json={"items": []}),
    ]
    assert client.post("/api/v1/roadmap/sources/acme/refresh", headers=revops).json()["ok"]
    for expected in ("HTTP 503", "ConnectError", "no 'features' list"):
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
        json={"name": "pb", "kind": "productboard", "config": {"token_env": "PB_TOKEN"}},
        headers=revops,
    )
    assert r.status_code == 201
    assert r.json()["status_mapping"]["Released"] == "available"  # the kind's default mapping
    names = [
        s["name"]
        for s in client.get("/api/v1/roadmap/sources", headers=api_key("engineering")).json()
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
            "config": {"token_env": "ACME_ROADMAP_TOKEN", "api_version": "1"},
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
    assert r.json() == [
        {"name": "Parked", "availability": "unknown", "mapped": False, "features": 1},
        {"name": "Planned", "availability": "coming_soon", "mapped": True, "features": 0},
    ]
    assert statuses.calls[0].request.headers["X-Version"] == "1"
    r = client.get("/api/v1/roadmap/sources/pb/statuses", headers=revops)
    assert r.status_code == 503 and "HTTP 401" in r.json()["error"]["message"]


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
    assert r.status_code == 422  # the availability's shape: pydantic's own 422
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
    assert source["config"] == {"url": URL, "auth_env": "ACME_ROADMAP_TOKEN"}


def test_unset_auth_env_is_a_warning_not_a_refusal(client, api_key, monkeypatch):
    revops = api_key("revops")
    monkeypatch.delenv("ACME_ROADMAP_TOKEN")
    source = _source(client, revops)  # 201: the variable may be set on the workers only
    assert len(source["warnings"]) == 1
    assert "config.auth_env: environment variable ACME_ROADMAP_TOKEN" in source["warnings"][0]
    monkeypatch.setenv("ACME_ROADMAP_TOKEN", "tok")
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
    assert entry.after == {"orphaned_mappings": body["orphaned_mappings"]}


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
