"""/api/v1/features: registry CRUD, search, roles, every validation path, audit."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.models import AuditLog
from app.models import Feature as FeatureRow


def _create(client, headers, **body):
    payload = {"key": "sso", "name": "Single sign-on", "availability": "available", **body}
    return client.post("/api/v1/features", json=payload, headers=headers)


def test_create_get_update_delete_registry_feature_with_audit(client, api_key, engine):
    revops = api_key("revops")
    r = _create(client, revops, aliases=["SSO", " sso ", "SAML"], skus=["SKU-SSO"])
    assert r.status_code == 201, r.text
    assert r.json()["feature"]["aliases"] == ["SSO", "SAML"]  # stripped, case-blind dedup
    assert r.json()["feature"]["editable"] is True

    got = client.get("/api/v1/features/sso", headers=api_key("viewer")).json()
    assert got["name"] == "Single sign-on" and got["source"] == "registry"

    r = client.patch(
        "/api/v1/features/sso",
        json={"availability": "coming_soon", "target_date": "2026-12-31", "guidance": "Say Q4."},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["feature"]["availability"] == "coming_soon"
    assert r.json()["feature"]["skus"] == ["SKU-SSO"]  # untouched by a partial update

    assert client.delete("/api/v1/features/sso", headers=revops).status_code == 200
    assert client.get("/api/v1/features/sso", headers=revops).status_code == 404

    with Session(engine) as s:
        actions = [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id))]
        update = s.exec(select(AuditLog).where(AuditLog.action == "feature.update")).one()
    assert actions == ["feature.create", "feature.update", "feature.delete"]
    assert update.before["availability"] == "available"
    assert update.after["availability"] == "coming_soon"
    assert update.actor == "revops:test-revops"


def test_list_search_filter_and_paginate(client, api_key):
    revops = api_key("revops")
    for key, name, availability, aliases in [
        ("sso", "Single sign-on", "available", ["SAML"]),
        ("scim", "SCIM provisioning", "coming_soon", []),
        ("offline", "Offline mode", "never", []),
    ]:
        assert _create(client, revops, key=key, name=name, availability=availability,
                       aliases=aliases).status_code == 201  # fmt: skip
    viewer = api_key("viewer")
    r = client.get("/api/v1/features?q=saml", headers=viewer).json()
    assert [f["key"] for f in r["items"]] == ["sso"]
    r = client.get(
        "/api/v1/features?availability=never&availability=coming_soon", headers=viewer
    ).json()
    assert [f["key"] for f in r["items"]] == ["offline", "scim"]
    r = client.get("/api/v1/features?limit=2&offset=2", headers=viewer).json()
    assert r["total"] == 3 and [f["key"] for f in r["items"]] == ["sso"]


def test_search_reads_each_alias_not_the_json_it_is_stored_as(client, api_key):
    """q= searched the aliases column cast to text: `", "` or `[` matched every feature with
    two aliases, and an alias SQLite stores escaped (Straße as `Stra\\u00dfe`) was not found."""
    revops = api_key("revops")
    for key, aliases in [("sso", ["SAML", "SAML SSO"]), ("geo", ["Straße"]), ("scim", [])]:
        r = _create(client, revops, key=key, name=key.upper(), aliases=aliases)
        assert r.status_code == 201, r.text
    for q, keys in [
        ('", "', []), ("[", []), ('"', []), ("saml ss", ["sso"]), ("ml", ["sso"]),
        ("straße", ["geo"]), ("stra", ["geo"]), ("%", []), ("sc", ["scim"]),
    ]:  # fmt: skip
        r = client.get("/api/v1/features", params={"q": q}, headers=api_key("viewer")).json()
        assert [f["key"] for f in r["items"]] == keys, q
        assert r["total"] == len(keys)


def test_validation_errors_have_paths(client, api_key):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/features",
        json={"key": "bad key!", "name": "", "availability": "soon", "confidence": 2, "extra": 1},
        headers=revops,
    )
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert {
        ("body", "key"),
        ("body", "name"),
        ("body", "availability"),
        ("body", "confidence"),
        ("body", "extra"),
    } <= locs
    r = client.post("/api/v1/features", json={"name": "No key"}, headers=revops)
    assert r.status_code == 422 and ("body", "key") in {tuple(e["loc"]) for e in r.json()["detail"]}
    assert _create(client, revops).status_code == 201
    r = client.patch("/api/v1/features/sso", json={"target_date": "31/12/2026"}, headers=revops)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "target_date"]
    r = client.patch(
        "/api/v1/features/sso", json={"name": None, "availability": None}, headers=revops
    )
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {
        ("body", "name"),
        ("body", "availability"),
    }
    r = client.get("/api/v1/features?limit=0", headers=revops)
    assert r.status_code == 422


def test_duplicate_key_409_unknown_404(client, api_key):
    revops = api_key("revops")
    assert _create(client, revops).status_code == 201
    r = _create(client, revops)
    assert r.status_code == 409 and "already exists" in r.json()["error"]["message"]
    assert (
        client.patch("/api/v1/features/nope", json={"name": "x"}, headers=revops).status_code == 404
    )
    assert client.delete("/api/v1/features/nope", headers=revops).status_code == 404
    assert client.get("/api/v1/features/nope", headers=revops).status_code == 404


def test_external_source_feature_is_read_only_here(client, api_key, engine):
    with Session(engine) as s:
        s.add(FeatureRow(key="ROAD-1", name="Audit log", source="jira", availability="beta"))
        s.commit()
    revops = api_key("revops")
    r = client.patch("/api/v1/features/ROAD-1", json={"availability": "available"}, headers=revops)
    assert r.status_code == 409
    assert "owned by roadmap source 'jira'" in r.json()["error"]["message"]
    assert client.delete("/api/v1/features/ROAD-1", headers=revops).status_code == 409
    r = _create(client, revops, key="ROAD-1")
    assert r.status_code == 409


def test_feature_used_by_a_mapping_cannot_be_deleted(client, api_key):
    revops = api_key("revops")
    assert _create(client, revops).status_code == 201
    r = client.post(
        "/api/v1/mappings",
        json={"match_kind": "sku", "match_value": "SSO-1", "feature_keys": ["sso"]},
        headers=revops,
    )
    assert r.status_code == 201, r.text
    r = client.delete("/api/v1/features/sso", headers=revops)
    assert (
        r.status_code == 409
        and r.json()["error"]["details"]["mappings"][0]["match_value"] == "SSO-1"
    )


def test_roles(client, api_key):
    for role in ("engineering", "viewer", "approver"):
        headers = api_key(role)
        assert client.get("/api/v1/features", headers=headers).status_code == 200
        assert _create(client, headers).status_code == 403
    assert client.get("/api/v1/features").status_code == 401
    assert _create(client, api_key("admin")).status_code == 201


def test_deleting_a_feature_a_rule_names_says_which_rule(client, api_key):
    """A rule naming the deleted key can no longer match: the delete says so (it was silent),
    without refusing it (the rule may be about to change too)."""
    revops = api_key("revops")
    for key in ("sso", "scim"):
        assert _create(client, revops, key=key, name=key.upper()).status_code == 201
    rule = {
        "id": "sso-watch",
        "name": "SSO watch",
        "severity": "info",
        "when": {"field": "feature.key", "op": "in", "value": ["scim", "sso"]},
        "message": "{feature.name}",
    }
    assert client.post("/api/v1/rules", json=rule, headers=revops).status_code == 201
    r = client.delete("/api/v1/features/sso", headers=revops)
    assert r.status_code == 200, r.text
    assert r.json()["warnings"] == [
        {
            "rule_id": "sso-watch",
            "path": "when.value[1]",
            "message": "rule 'sso-watch' names feature 'sso' at when.value[1]: that condition "
            "cannot match until a feature with that key exists again",
        }
    ]
    client.post("/api/v1/rules/sso-watch/disable", headers=revops)
    r = client.delete("/api/v1/features/scim", headers=revops)
    assert r.json()["warnings"] == []  # a switched-off rule is not in force


# --- a feature's own SKU or product id that a product mapping already names ---------------------


def _line_item_features(engine, **codes) -> list[str]:
    """What the catalog makes a deal's line item with these codes reference."""
    from app.rules.model import LineItem
    from app.services.catalog import load_catalog

    with Session(engine) as s:
        return load_catalog(s).features_for_line_item(LineItem(id="li-1", **codes))[0]


def _mapping(client, headers, kind, value, keys) -> int:
    body = {"match_kind": kind, "match_value": value, "feature_keys": keys}
    r = client.post("/api/v1/mappings", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["mapping"]["id"]


def test_a_feature_claiming_a_mapped_sku_warns_naming_what_deals_will_reference(
    client, api_key, engine
):
    revops = api_key("revops")
    for key in ("sso", "copilot"):
        assert _create(client, revops, key=key, name=key.upper()).status_code == 201
    sku_mapping = _mapping(client, revops, "sku", "AI-ADDON", ["sso"])
    pid_mapping = _mapping(client, revops, "product_id", "pid-7", ["copilot"])

    r = client.patch(
        "/api/v1/features/copilot",
        json={"skus": ["", " ai-addon ", "OTHER"], "product_ids": ["PID-7"]},
        headers=revops,
    )
    assert r.status_code == 200, r.text  # a warning, not a refusal: stored as sent
    assert r.json()["feature"]["skus"] == ["ai-addon", "OTHER"]
    assert r.json()["feature"]["product_ids"] == ["PID-7"]
    assert "deals_reevaluated" in r.json()
    sku_warning, pid_warning = r.json()["warnings"]
    assert sku_warning == {
        "path": "skus[1]",  # the index as sent, the blank one counted
        "message": f"mapping {sku_mapping} already maps sku 'AI-ADDON' to sso; a feature's own "
        "SKUs add to what a mapping names, so a deal selling it will reference sso, copilot, "
        "not only sso",
        "match_kind": "sku",
        "match_value": "ai-addon",
        "claimed_by": ["sso"],
        "deals_will_reference": ["sso", "copilot"],
    }
    # The mapping already delivers this very feature: redundant, said as such.
    assert {k: v for k, v in pid_warning.items() if k != "message"} == {
        "path": "product_ids[0]",
        "match_kind": "product_id",
        "match_value": "PID-7",
        "claimed_by": ["copilot"],
        "deals_will_reference": ["copilot"],
    }
    assert pid_warning["message"] == (
        f"mapping {pid_mapping} already maps product_id 'pid-7' to copilot: this product id "
        "repeats it; a deal selling it references copilot either way"
    )
    # The warnings say what the catalog does.
    assert _line_item_features(engine, sku="AI-ADDON") == ["sso", "copilot"]
    assert _line_item_features(engine, product_id="pid-7") == ["copilot"]

    # A new feature claiming it too: every claimant is named; a product id mapping does not
    # cover a SKU spelt the same, nor does an unmapped SKU warn.
    r = _create(client, revops, key="copilot-pro", name="Copilot Pro", skus=["AI-ADDON", "pid-7"])
    assert r.status_code == 201, r.text
    (warning,) = r.json()["warnings"]
    assert (warning["path"], warning["claimed_by"], warning["deals_will_reference"]) == (
        "skus[0]",
        ["sso"],
        ["sso", "copilot", "copilot-pro"],
    )
    assert warning["message"].endswith(
        "will reference sso, copilot, copilot-pro, not only sso, copilot"
    )
    assert _line_item_features(engine, sku="AI-ADDON") == ["sso", "copilot", "copilot-pro"]
    assert _line_item_features(engine, sku="pid-7") == ["copilot-pro"]

    # An edit that does not send skus or product_ids does not repeat the warnings.
    for body in ({"availability": "beta"}, {"skus": []}, {"product_ids": None}):
        r = client.patch("/api/v1/features/copilot", json=body, headers=revops)
        assert (r.status_code, r.json()["warnings"]) == (200, []), body
    assert (
        _create(client, revops, key="audit", name="Audit", skus=["AUD-1"]).json()["warnings"] == []
    )


def test_an_alias_longer_than_a_name_is_refused_with_its_path(client, api_key):
    revops = api_key("revops")
    body = {"key": "sso", "name": "Single sign-on", "aliases": ["SSO", "a" * 256]}
    r = client.post("/api/v1/features", json=body, headers=revops)
    assert r.status_code == 422
    assert [tuple(e["loc"]) for e in r.json()["detail"]] == [("body", "aliases", 1)]
    assert client.get("/api/v1/features/sso", headers=revops).status_code == 404
    body["aliases"] = ["SSO", "a" * 255]
    assert client.post("/api/v1/features", json=body, headers=revops).status_code == 201
    r = client.patch("/api/v1/features/sso", json={"aliases": ["b" * 300]}, headers=revops)
    assert r.status_code == 422
    assert [tuple(e["loc"]) for e in r.json()["detail"]] == [("body", "aliases", 0)]


def test_blank_guidance_and_url_are_stored_as_none(client, api_key):
    revops = api_key("revops")
    body = {"key": "sso", "name": "SSO", "guidance": "  \n ", "url": " "}
    r = client.post("/api/v1/features", json=body, headers=revops)
    assert r.status_code == 201, r.text
    assert (r.json()["feature"]["guidance"], r.json()["feature"]["url"]) == (None, None)
    r = client.patch("/api/v1/features/sso", json={"guidance": " Say Q3. "}, headers=revops)
    assert r.json()["feature"]["guidance"] == "Say Q3."
    r = client.patch("/api/v1/features/sso", json={"guidance": "\t"}, headers=revops)
    assert r.json()["feature"]["guidance"] is None


@pytest.mark.parametrize("value", [0, 1735689600, "0", 2027.5])
def test_a_number_for_a_target_date_is_refused_not_read_as_unix_time(client, api_key, value):
    # pydantic alone reads 0 as 1970-01-01: a feature "due" in 1970 blocks every dated promise
    revops = api_key("revops")
    r = client.post(
        "/api/v1/features", json={"key": "t0", "name": "T0", "target_date": value}, headers=revops
    )
    assert r.status_code == 422, r.text
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "target_date"] and "not a number" in error["msg"]
    assert client.get("/api/v1/features/t0", headers=revops).status_code == 404
    assert _create(client, revops).status_code == 201
    r = client.patch("/api/v1/features/sso", json={"target_date": value}, headers=revops)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "target_date"]


def test_a_delete_refused_for_many_mappings_gives_their_count_and_the_first_few(client, api_key):
    """The 409 listed every mapping in the way (150,000: an 11.8 MB answer): the count, the
    first 50 by id, and that the list is cut short."""
    revops = api_key("revops")
    assert _create(client, revops).status_code == 201
    csv = "sku,feature_keys\n" + "".join(f"SSO-{n:02},sso\n" for n in range(60))
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    r = client.delete("/api/v1/features/sso", headers=revops)
    assert r.status_code == 409
    error = r.json()["error"]
    assert "used by 60 product mapping(s)" in error["message"]
    assert "/api/v1/mappings?feature_key=sso" in error["message"]
    assert (error["details"]["total"], error["details"]["truncated"]) == (60, True)
    assert [m["match_value"] for m in error["details"]["mappings"]] == [
        f"SSO-{n:02}" for n in range(50)
    ]


def test_a_delete_refused_by_exactly_fifty_mappings_lists_them_all(client, api_key):
    """The first 50 are read, and counted only when there may be more: at 50, all of them,
    not cut short; mappings naming only a longer key ("sso-v2") do not count."""
    revops = api_key("revops")
    assert _create(client, revops).status_code == 201
    assert _create(client, revops, key="sso-v2", name="SSO v2").status_code == 201
    rows = [f"SSO-{n:02},sso|sso-v2\n" if n % 2 else f"SSO-{n:02},sso\n" for n in range(50)]
    csv = "sku,feature_keys\n" + "".join(rows) + "V2-ONLY,sso-v2\n"
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    error = client.delete("/api/v1/features/sso", headers=revops).json()["error"]
    assert (error["details"]["total"], error["details"]["truncated"]) == (50, False)
    assert len(error["details"]["mappings"]) == 50
    error = client.delete("/api/v1/features/sso-v2", headers=revops).json()["error"]
    assert (error["details"]["total"], error["details"]["truncated"]) == (26, False)
    assert error["details"]["mappings"][-1]["match_value"] == "V2-ONLY"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "ftp://files.example.com/sso",
        "roadmap.example.com/sso",
        "https://",
        # a user part before the host: reads as the roadmap's, opens evil.example
        "https://roadmap.example.com@evil.example/sso",
        "https://roadmap.example.com:pw@evil.example/sso",
        "https://roadmap example.com/sso",
    ],
)
def test_a_feature_url_must_be_a_web_link(client, api_key, engine, url):
    """It is shown in the CRM ({feature.url} in a rule's message) and on the dashboard: any
    text was accepted, "javascript:alert(1)" included. Refused on create and on edit, with
    nothing written."""
    revops = api_key("revops")
    r = _create(client, revops, url=url)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "url"
    assert "must be an http or https URL" in detail["msg"]
    assert _create(client, revops, url="https://roadmap.example.com/f/sso").status_code == 201
    r = client.patch("/api/v1/features/sso", json={"url": url}, headers=revops)
    assert r.status_code == 422, r.text
    got = client.get("/api/v1/features/sso", headers=revops).json()
    assert got["url"] == "https://roadmap.example.com/f/sso"
    for cleared in ("", None):  # blank or null clears it, as before
        r = client.patch("/api/v1/features/sso", json={"url": cleared}, headers=revops)
        assert r.status_code == 200 and r.json()["feature"]["url"] is None


def test_search_finds_a_capital_non_ascii_letter_in_either_case(client, api_key):
    """SQLite's lower() folds A-Z only: a feature named "ÜBERPRÜFUNG" (or with the alias
    "ÉCLAIR") was not found on SQLite even by its name as written, while PostgreSQL found it.
    Both databases now answer alike."""
    revops = api_key("revops")
    for key, name, aliases in [
        ("audit-de", "ÜBERPRÜFUNG", []),
        ("pastry", "Pastry sync", ["ÉCLAIR"]),
        ("geo", "Straßen", []),
        ("plain", "Plain", []),
    ]:
        r = _create(client, revops, key=key, name=name, aliases=aliases)
        assert r.status_code == 201, r.text
    viewer = api_key("viewer")
    for q, keys in [
        ("ÜBERPRÜFUNG", ["audit-de"]), ("überprüfung", ["audit-de"]), ("Überprüf", ["audit-de"]),
        ("ÉCLAIR", ["pastry"]), ("éclair", ["pastry"]),
        ("STRASSEN", []), ("straßen", ["geo"]), ("PLAIN", ["plain"]),
    ]:  # fmt: skip
        r = client.get("/api/v1/features", params={"q": q}, headers=viewer).json()
        assert [f["key"] for f in r["items"]] == keys, q
        assert r["total"] == len(keys), q


def test_a_source_filter_naming_no_roadmap_source_is_a_422(client, api_key, engine):
    """`source=registy` or `source=Jira` answered an empty page, read as "no features
    there" rather than as the typo it was. A source that is configured, the built-in registry,
    or one features are still listed under is a filter; any other name is a 422 at
    query.source naming the one meant and the ones there are."""
    from sqlmodel import Session

    from app.models import Feature, RoadmapSource

    revops = api_key("revops")
    assert _create(client, revops, key="sso", name="SSO").status_code == 201
    with Session(engine) as s:
        s.add(RoadmapSource(name="jira", kind="jira", config={}, status_mapping={}))
        s.add(Feature(key="OLD-1", name="Old one", source="retired"))  # its source removed
        s.commit()
    viewer = api_key("viewer")

    def keys(source):
        r = client.get("/api/v1/features", params={"source": source}, headers=viewer)
        assert r.status_code == 200, r.text
        return [f["key"] for f in r.json()["items"]]

    assert keys("registry") == ["sso"]
    assert keys("jira") == []  # configured, nothing fetched yet
    assert keys("retired") == ["OLD-1"]
    for given, meant in (("registy", "registry"), ("Jira", "jira")):
        r = client.get("/api/v1/features", params={"source": given}, headers=viewer)
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["path"] == "query.source"
        assert detail["msg"] == (
            f"unknown roadmap source '{given}'; did you mean '{meant}'? "
            "(one of: jira, registry, retired)"
        )


def test_a_key_in_another_case_is_a_404_naming_the_key_meant(client, api_key):
    """Feature keys and rule ids are case-sensitive: GET /api/v1/features/SSO (or a PATCH or
    DELETE of it, or GET /api/v1/rules/Never-Sold) said only that it does not exist."""
    revops = api_key("revops")
    assert _create(client, revops, key="sso", name="SSO").status_code == 201
    rule = {"id": "never-sold", "name": "Never sold", "severity": "block",
            "when": {"field": "feature.availability", "op": "eq", "value": "never"},
            "message": "no"}  # fmt: skip
    assert client.post("/api/v1/rules", json=rule, headers=revops).status_code == 201
    for method, path, body in [
        ("GET", "/api/v1/features/SSO", None),
        ("PATCH", "/api/v1/features/Sso", {"name": "SSO 2"}),
        ("DELETE", "/api/v1/features/SSO", None),
    ]:
        r = client.request(method, path, json=body, headers=revops)
        assert r.status_code == 404, r.text
        given = path.rsplit("/", 1)[1]
        assert r.json()["error"]["message"] == (
            f"feature '{given}' does not exist; did you mean 'sso'? (keys are case-sensitive)"
        )
    r = client.get("/api/v1/features/nope", headers=revops)
    assert r.json()["error"]["message"] == "feature 'nope' does not exist"
    for method, path in [
        ("GET", "/api/v1/rules/Never-Sold"),
        ("PUT", "/api/v1/rules/NEVER-SOLD"),
        ("POST", "/api/v1/rules/Never-Sold/disable"),
    ]:
        r = client.request(method, path, json=rule if method == "PUT" else None, headers=revops)
        assert r.status_code == 404, r.text
        given = path.split("/")[4]
        assert r.json()["error"]["message"] == (
            f"rule '{given}' does not exist; did you mean 'never-sold'? (rule ids are lower case)"
        )
    r = client.get("/api/v1/rules/nope", headers=revops)
    assert r.json()["error"]["message"] == "rule 'nope' does not exist"


def test_a_confidence_written_as_a_percentage_says_the_fraction_meant(client, api_key):
    """confidence is 0 to 1; 80 (meaning 80%) answered only "less than or equal to 1". It is
    said with the fraction meant, on create and on edit; above 100 keeps pydantic's words."""
    revops = api_key("revops")
    r = _create(client, revops, key="sso", name="SSO", confidence=80)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert (detail["path"], detail["msg"]) == ("confidence", "is 0 to 1: 0.8 for 80%; got 80")
    assert _create(client, revops, key="sso", name="SSO", confidence=0.8).status_code == 201
    r = client.patch("/api/v1/features/sso", json={"confidence": 65.5}, headers=revops)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["msg"] == "is 0 to 1: 0.655 for 65.5%; got 65.5"
    r = client.patch("/api/v1/features/sso", json={"confidence": 250}, headers=revops)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["msg"] == "Input should be less than or equal to 1"
    for value in (1, 0, None):
        r = client.patch("/api/v1/features/sso", json={"confidence": value}, headers=revops)
        assert r.status_code == 200 and r.json()["feature"]["confidence"] == value, r.text


def test_a_feature_read_back_whole_can_be_sent_to_an_edit_or_a_create(client, api_key, engine):
    """Read, change, send back: a feature from GET /api/v1/features/{key} sent whole to the
    PATCH (or to POST, copying it) had key, source, source_status, source_id, created_at,
    updated_at and editable each refused as "Extra inputs are not permitted". Those are what
    the API answers, not what it writes: they are left out; a key other than the URL's is
    still a 422, since keys do not change."""
    from sqlmodel import Session, select

    from app.models import AuditLog

    revops = api_key("revops")
    assert _create(client, revops, key="sso", name="SSO", skus=["ENT-SSO"]).status_code == 201
    read = client.get("/api/v1/features/sso", headers=revops).json()
    assert {"key", "source", "created_at", "updated_at", "editable"} <= set(read)
    r = client.patch(
        "/api/v1/features/sso",
        json={**read, "availability": "beta", "guidance": "Sell as beta."},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    feature = r.json()["feature"]
    assert (feature["availability"], feature["guidance"], feature["source"]) == (
        "beta",
        "Sell as beta.",
        "registry",
    )
    assert feature["skus"] == ["ENT-SSO"] and feature["created_at"] == read["created_at"]
    with Session(engine) as s:
        [entry] = s.exec(select(AuditLog).where(AuditLog.action == "feature.update")).all()
    assert (entry.before["availability"], entry.after["availability"]) == (
        read["availability"],
        "beta",
    )
    assert read["availability"] != "beta"

    r = client.patch("/api/v1/features/sso", json={**read, "key": "sso-2"}, headers=revops)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "key" and "keys do not change" in detail["msg"]

    copy = {**read, "key": "sso-copy", "name": "SSO copy", "skus": []}
    r = client.post("/api/v1/features", json=copy, headers=revops)
    assert r.status_code == 201, r.text
    assert r.json()["feature"]["source"] == "registry"
    # anything else unknown is still named
    r = client.patch("/api/v1/features/sso", json={**read, "availablity": "beta"}, headers=revops)
    assert r.status_code == 422
    assert [d["path"] for d in r.json()["error"]["details"]] == ["availablity"]
