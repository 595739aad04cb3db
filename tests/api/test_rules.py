"""/api/v1/rules: CRUD, versions, enable/disable, validate, schema, and the default pack."""

from __future__ import annotations

import pytest
from sqlmodel import Session, delete, select

from app.models import AuditLog, Deal, DealQueue, Rule, RuleVersion, utcnow

NEVER = {
    "id": "never-sold",
    "name": "Never sold",
    "severity": "block",
    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
    "message": "{feature.name} will never be built. {feature.guidance}",
}


def test_create_version_enable_disable_delete_with_audit(client, api_key, engine):
    revops = api_key("revops")
    r = client.post("/api/v1/rules", json=NEVER, headers=revops)
    assert r.status_code == 201, r.text
    assert (r.json()["id"], r.json()["version"], r.json()["enabled"]) == ("never-sold", 1, True)

    changed = {**NEVER, "severity": "warning"}
    r = client.put("/api/v1/rules/never-sold", json=changed, headers=revops)
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.post("/api/v1/rules/never-sold/disable", headers=revops)
    assert (r.json()["version"], r.json()["enabled"]) == (3, False)
    assert client.get("/api/v1/rules?enabled=true", headers=revops).json()["items"] == []
    r = client.post("/api/v1/rules/never-sold/enable", headers=revops)
    assert (r.json()["version"], r.json()["enabled"]) == (4, True)

    r = client.get("/api/v1/rules/never-sold/versions", headers=api_key("viewer")).json()
    versions = r["items"]
    assert [(v["version"], v["enabled"], v["definition"]["severity"]) for v in versions] == [
        (1, True, "block"),
        (2, True, "warning"),
        (3, False, "warning"),
        (4, True, "warning"),
    ]
    assert versions[0]["actor"] == "revops:test-revops"

    assert client.delete("/api/v1/rules/never-sold", headers=revops).status_code == 200
    assert client.get("/api/v1/rules/never-sold", headers=revops).status_code == 404
    with Session(engine) as s:
        entries = list(
            s.exec(select(AuditLog).where(AuditLog.entity_type == "rule").order_by(AuditLog.id))
        )
        assert len(s.exec(select(RuleVersion)).all()) == 4  # kept after deletion
    actions = [a.action for a in entries]
    assert actions == ["rule.create", "rule.update", "rule.disable", "rule.enable", "rule.delete"]

    def seen(state: dict | None) -> tuple | None:  # (version, enabled, severity)
        return state and (state["version"], state["enabled"], state["severity"])

    assert [(seen(a.before), seen(a.after)) for a in entries] == [
        (None, (1, True, "block")),
        ((1, True, "block"), (2, True, "warning")),
        ((2, True, "warning"), (3, False, "warning")),
        ((3, False, "warning"), (4, True, "warning")),
        ((4, True, "warning"), None),
    ]
    assert entries[0].after["when"] == NEVER["when"]
    assert entries[1].after["message"] == NEVER["message"]


def test_a_deleted_rule_can_be_restored_disabled_with_its_history(client, api_key, engine):
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    assert client.delete("/api/v1/rules/never-sold", headers=revops).status_code == 200

    r = client.post("/api/v1/rules", json=NEVER, headers=revops)  # the id is not free again
    assert r.status_code == 409
    assert "POST /api/v1/rules/never-sold/restore" in r.json()["error"]["message"]

    r = client.post("/api/v1/rules/never-sold/restore", headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["enabled"]) == (2, False)  # off until enabled
    assert client.get("/api/v1/rules/never-sold", headers=revops).status_code == 200
    r = client.post("/api/v1/rules/never-sold/restore", headers=revops)
    assert r.status_code == 409 and "is not deleted" in r.json()["error"]["message"]
    assert client.post("/api/v1/rules/ghost/restore", headers=revops).status_code == 404
    assert (
        client.post("/api/v1/rules/never-sold/restore", headers=api_key("viewer")).status_code
        == 403
    )

    r = client.post("/api/v1/rules/never-sold/enable", headers=revops)
    assert (r.json()["version"], r.json()["enabled"]) == (3, True)
    with Session(engine) as s:
        actions = [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["rule.create", "rule.delete", "rule.restore", "rule.enable"]


def test_bad_rule_is_refused_with_every_path(client, api_key, engine):
    bad = {
        "name": "",
        "severity": "fatal",
        "when": {
            "all": [
                {"field": "feature.availability", "op": "eq", "value": "someday"},
                {"field": "deal.amount", "op": "after", "value": 10},
                {"field": "feature.colour", "op": "eq", "value": "red"},
            ]
        },
        "message": "{feature.nmae}",
        "surprise": 1,
    }
    r = client.post("/api/v1/rules", json=bad, headers=api_key("revops"))
    assert r.status_code == 422
    locs = {tuple(e["loc"][1:]) for e in r.json()["detail"]}
    assert {
        ("name",),
        ("severity",),
        ("surprise",),
        ("when", "all", 0, "value"),
        ("when", "all", 1, "op"),
        ("when", "all", 2, "field"),
        ("message",),
    } <= locs
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []

    r = client.post("/api/v1/rules/validate", json=bad, headers=api_key("viewer"))
    assert r.status_code == 200
    report = r.json()
    assert report["valid"] is False
    assert "when.all[1].op" in {e["path"] for e in report["errors"]}
    r = client.post("/api/v1/rules/validate", json=NEVER, headers=api_key("viewer"))
    assert r.json() == {"valid": True, "errors": [], "warnings": []}
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []  # validate saves nothing


def test_wrong_compare_to_field_value_is_one_mistake_at_its_path(client, api_key, engine):
    late = {
        **NEVER,
        "id": "late",
        "when": {
            "field": "feature.target_date",
            "op": "after",
            "value": {"field": "deal.close_date", "days": 3},
        },
    }
    r = client.post("/api/v1/rules", json=late, headers=api_key("revops"))
    assert r.status_code == 422
    assert [(e["loc"], e["type"]) for e in r.json()["detail"]] == [
        (["body", "when", "value", "days"], "extra_forbidden")
    ]
    report = client.post("/api/v1/rules/validate", json=late, headers=api_key("viewer")).json()
    assert [e["path"] for e in report["errors"]] == ["when.value.days"]
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []


def test_a_misspelt_choice_is_answered_with_the_value_meant(client, api_key, engine):
    """A typo in a closed vocabulary names the likely value, on create and on validate; a value
    like nothing allowed gets the list alone."""
    typo = {
        **NEVER,
        "severity": "blok",
        "when": {
            "all": [
                {"field": "feature.availabilty", "op": "eq", "value": "never"},
                {"field": "deal.amount", "op": "zzz", "value": 1},
            ]
        },
    }
    r = client.post("/api/v1/rules", json=typo, headers=api_key("revops"))
    assert r.status_code == 422
    msgs = {e["path"]: e["msg"] for e in r.json()["error"]["details"]}
    assert msgs["severity"].endswith("; did you mean 'block'?")
    assert msgs["when.all[0].field"].endswith("; did you mean 'feature.availability'?")
    assert "did you mean" not in msgs["when.all[1].op"]
    assert r.json()["error"]["message"].startswith("severity: Input should be")
    report = client.post("/api/v1/rules/validate", json=typo, headers=api_key("viewer")).json()
    assert {e["path"]: e["msg"] for e in report["errors"]} == msgs
    with Session(engine) as s:
        assert s.exec(select(Rule)).all() == []


def test_conflicts_and_not_found(client, api_key):
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 409
    r = client.put("/api/v1/rules/never-sold", json={**NEVER, "id": "other"}, headers=revops)
    assert r.status_code == 422 and "ids do not change" in r.json()["error"]["message"]
    assert client.put("/api/v1/rules/nope", json=NEVER, headers=revops).status_code == 404
    assert client.post("/api/v1/rules/nope/enable", headers=revops).status_code == 404
    assert client.get("/api/v1/rules/nope/versions", headers=revops).status_code == 404
    no_id = {k: v for k, v in NEVER.items() if k != "id"}
    r = client.post("/api/v1/rules", json={**no_id, "severity": "warning"}, headers=revops)
    assert r.status_code == 201 and r.json()["id"] == "never-sold-2"  # slug of the name, unique
    assert (
        client.post("/api/v1/rules", json=NEVER, headers=api_key("engineering")).status_code == 403
    )


def test_schema_endpoint_and_openapi_component(client, api_key):
    schema = client.get("/api/v1/rules/schema", headers=api_key("viewer")).json()
    assert "when" in schema["properties"] and schema["additionalProperties"] is False
    openapi = client.get("/openapi.json").json()
    assert "RuleDefinition" in openapi["components"]["schemas"]
    body = openapi["paths"]["/api/v1/rules"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["$ref"].endswith("/RuleDefinition")


def test_rule_change_queues_open_deals_only(client, api_key, engine):
    with Session(engine) as s:
        for deal_id, closed in (("open-1", False), ("won-1", True)):
            s.add(Deal(crm="test", deal_id=deal_id, is_closed=closed, snapshot={"x": 1}))
        s.commit()
    r = client.post("/api/v1/rules", json=NEVER, headers=api_key("revops"))
    assert r.json()["deals_queued"] == 1
    with Session(engine) as s:
        queued = [(q.deal_id, q.reason) for q in s.exec(select(DealQueue))]
    assert queued == [("open-1", "roadmap")]


def test_default_rules_install_once_and_leave_edits_alone(engine):
    from app.rules.default_pack import DEFAULT_RULES
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        assert install_default_rules(s) == len(DEFAULT_RULES) >= 7
        s.commit()
        installed = s.exec(select(AuditLog).where(AuditLog.action == "rule.install_default"))
        assert {(a.actor, a.before, a.after["id"], a.after["version"]) for a in installed} == {
            ("system:default-rules", None, r["id"], 1) for r in DEFAULT_RULES
        }
        first = s.exec(select(Rule)).first()
        first.enabled = False
        s.add(first)
        s.commit()
        assert install_default_rules(s) == 0
        s.commit()
        assert s.get(Rule, first.id).enabled is False
        assert all(r.builtin for r in s.exec(select(Rule)))


def test_default_rules_nobody_changed_follow_the_pack_and_edited_ones_stay(engine):
    """An install made by an earlier release keeps that release's default wording unless the
    start-up brings the rules nobody touched up to the pack."""
    from app.rules.default_pack import DEFAULT_RULES
    from app.rules.schema import RuleDefinition
    from app.services.rules_service import (
        DEFAULTS_ACTOR,
        install_default_rules,
        set_enabled,
        update_rule,
    )

    untouched, edited, switched_off, deleted = (r["id"] for r in DEFAULT_RULES[:4])
    with Session(engine) as s:
        install_default_rules(s)
        s.add(Deal(crm="test", deal_id="open-1", is_closed=False, snapshot={"x": 1}))
        s.commit()
        # As an earlier release installed them: another message, written by the installer.
        for rule_id in (untouched, edited, switched_off, deleted):
            row = s.get(Rule, rule_id)
            row.definition = {**row.definition, "message": "Old wording."}
            version = s.exec(select(RuleVersion).where(RuleVersion.rule_id == rule_id)).one()
            version.definition = row.definition
            s.add_all([row, version])
        s.commit()
        old = s.get(Rule, edited).definition
        mine = {**old, "message": "Our own wording."}
        update_rule(s, edited, RuleDefinition.model_validate(mine), actor="revops:ann")
        set_enabled(s, switched_off, False, actor="revops:ann")
        s.get(Rule, deleted).deleted_at = utcnow()
        s.commit()
        s.exec(delete(DealQueue))
        s.commit()

        assert install_default_rules(s) == 0  # nothing new to insert
        s.commit()
        pack = {r["id"]: r for r in DEFAULT_RULES}
        row = s.get(Rule, untouched)
        assert row.definition["message"] == pack[untouched]["message"] != "Old wording."
        assert (row.version, row.enabled) == (2, True)
        [audit_row] = s.exec(select(AuditLog).where(AuditLog.action == "rule.update_default"))
        assert (audit_row.actor, audit_row.entity_id) == (DEFAULTS_ACTOR, untouched)
        assert audit_row.before["message"] == "Old wording."
        assert s.get(Rule, edited).definition["message"] == "Our own wording."
        assert s.get(Rule, switched_off).definition["message"] == "Old wording."
        assert s.get(Rule, deleted).definition["message"] == "Old wording."
        # the open deal is evaluated again with the new wording
        assert [q.deal_id for q in s.exec(select(DealQueue))] == ["open-1"]
        # a second start-up (or a parallel one) finds the pack in place
        install_default_rules(s)
        s.commit()
        assert s.get(Rule, untouched).version == 2
        assert (
            len(s.exec(select(AuditLog).where(AuditLog.action == "rule.update_default")).all()) == 1
        )


def test_a_rule_without_an_id_is_named_after_its_name_accents_dropped(client, api_key):
    body = {k: v for k, v in NEVER.items() if k != "id"}
    r = client.post("/api/v1/rules", json={**body, "name": "Überprüfung: café SSO"},
                    headers=api_key("revops"))  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["id"] == "uberprufung-cafe-sso"


def test_ids_that_are_routes_are_not_given_to_rules(client, api_key):
    """GET /api/v1/rules/schema is the JSON Schema: a rule called "Schema" gets another id, and
    an explicit one of those ids is refused with its path."""
    h = api_key("revops")
    body = {k: v for k, v in NEVER.items() if k != "id"}
    for name in ("Schema", "Validate", "Simulate"):
        r = client.post("/api/v1/rules", json={**body, "name": name}, headers=h)
        assert r.status_code == 201, r.text
        rule_id = r.json()["id"]
        assert rule_id == f"{name.lower()}-2"
        assert client.get(f"/api/v1/rules/{rule_id}", headers=h).json()["name"] == name
    r = client.post("/api/v1/rules", json={**NEVER, "id": "schema"}, headers=h)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", "id"]]
    assert "reserved" in r.json()["detail"][0]["msg"]


def test_a_rule_naming_more_keys_than_a_statement_may_bind_is_checked_in_chunks(client, api_key):
    """70,000 keys: past PostgreSQL's 65,535 bound parameters in one statement (a 500 there).
    The warnings name the first 100 unknown keys and count the rest."""
    revops = api_key("revops")
    r = client.post("/api/v1/features", json={"key": "k1", "name": "K one"}, headers=revops)
    assert r.status_code == 201, r.text
    keys = [f"k{i}" for i in range(70_000)]
    rule = {**NEVER, "id": "many-keys", "when": {"field": "feature.key", "op": "in", "value": keys}}
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    assert len(warnings) == 101
    assert [w["path"] for w in warnings[:2]] == ["when.value[0]", "when.value[2]"]  # k1 known
    assert warnings[-1] == {
        "path": "when.value[101]",
        "message": "and 69899 more feature keys not on the roadmap from here on",
    }


def test_a_feature_key_the_roadmap_lacks_is_a_warning_not_a_refusal(client, api_key):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/features",
        json={"key": "sso", "name": "Single sign-on", "availability": "available"},
        headers=revops,
    )
    assert r.status_code == 201, r.text
    rule = {
        "id": "key-watch",
        "name": "Key watch",
        "severity": "info",
        "when": {
            "any": [
                {"field": "feature.key", "op": "in", "value": ["sso", "scmi"]},
                {"not": {"field": "feature.key", "op": "eq", "value": "sso"}},
            ]
        },
        "message": "{feature.name} is watched.",
    }
    expected = [
        {
            "path": "when.any[0].value[1]",
            "message": "'scmi' is not a feature key on the roadmap: this condition cannot "
            "match until a feature with that key exists",
        }
    ]
    r = client.post("/api/v1/rules/validate", json=rule, headers=api_key("viewer"))
    assert r.status_code == 200
    assert (r.json()["valid"], r.json()["warnings"]) == (True, expected)

    r = client.post("/api/v1/rules", json=rule, headers=revops)
    assert r.status_code == 201, r.text
    assert r.json()["warnings"] == expected
    fixed = {**rule, "when": {"field": "feature.key", "op": "in", "value": ["sso"]}}
    r = client.put("/api/v1/rules/key-watch", json=fixed, headers=revops)
    assert r.status_code == 200 and r.json()["warnings"] == []
    r = client.post("/api/v1/rules/key-watch/disable", headers=revops)
    assert r.status_code == 200 and r.json()["warnings"] == []
    r = client.put("/api/v1/rules/key-watch", json=rule, headers=revops)
    assert r.json()["enabled"] is False  # an edit leaves a switched-off rule off
    # Switching on a rule that names a key the roadmap lacks says so, as create and edit do.
    r = client.post("/api/v1/rules/key-watch/enable", headers=revops)
    assert r.status_code == 200 and r.json()["warnings"] == expected


def test_an_edit_without_enabled_keeps_the_rule_on_or_off(client, api_key, engine):
    """PUT replaces the definition; a body without "enabled" leaves the switch as it was (an
    edit to a switched-off rule's message switched it back on, and queued every open deal)."""
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    assert client.post("/api/v1/rules/never-sold/disable", headers=revops).status_code == 200
    edited = {k: v for k, v in NEVER.items() if k != "id"} | {"message": "Never. {feature.name}"}
    r = client.put("/api/v1/rules/never-sold", json=edited, headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["enabled"], r.json()["deals_queued"]) == (3, False, 0)
    assert r.json()["definition"]["enabled"] is False
    r = client.put("/api/v1/rules/never-sold", json={**edited, "enabled": True}, headers=revops)
    assert (r.json()["version"], r.json()["enabled"]) == (4, True)
    r = client.put(
        "/api/v1/rules/never-sold", json={**edited, "severity": "warning"}, headers=revops
    )
    assert (r.json()["version"], r.json()["enabled"]) == (5, True)
    versions = client.get("/api/v1/rules/never-sold/versions", headers=revops).json()["items"]
    assert [v["enabled"] for v in versions] == [True, False, False, True, True]


def test_a_rule_that_never_applies_or_shows_nothing_is_warned_about(client, api_key):
    """An empty scope list matches no deal, and {matched.*} in a deal rule whose condition
    names no references is always empty: both were accepted without a word."""
    dead = {
        "name": "Dead",
        "severity": "warning",
        "applies_to": "deal",
        "scope": {"pipelines": [], "stages": []},
        "when": {"field": "deal.amount", "op": "gt", "value": 1000},
        "message": "{matched.count} features: {matched.features}",
    }
    r = client.post("/api/v1/rules/validate", json=dead, headers=api_key("viewer"))
    assert r.status_code == 200 and r.json()["valid"] is True
    warnings = {w["path"]: w["message"] for w in r.json()["warnings"]}
    assert set(warnings) == {"scope.pipelines", "scope.stages", "message"}
    assert "matches no deal" in warnings["scope.pipelines"]
    assert "always 0 and empty" in warnings["message"]
    r = client.post("/api/v1/rules", json=dead, headers=api_key("revops"))
    assert r.status_code == 201 and len(r.json()["warnings"]) == 3
    counted = {
        **dead,
        "scope": {"pipelines": ["default"]},
        "when": {"count_references": {"op": "gte", "value": 2}},
    }
    r = client.post("/api/v1/rules/validate", json=counted, headers=api_key("viewer"))
    assert r.json()["warnings"] == []


def test_blank_name_or_message_is_refused_but_a_stored_one_still_loads(client, api_key, engine):
    """Whitespace is no name and no message for the rep: refused on create, edit and validate.
    A rule stored before the check (written straight to the table here) must still load, or
    one old rule would stop every evaluation."""
    from app.services.catalog import load_rules

    revops = api_key("revops")
    blank = NEVER | {"name": " \t", "message": "\n "}
    r = client.post("/api/v1/rules", json=blank, headers=revops)
    assert r.status_code == 422
    problems = {tuple(e["loc"][1:]): e["msg"] for e in r.json()["detail"]}
    assert "must not be blank" in problems[("name",)]
    assert "must not be blank" in problems[("message",)]
    report = client.post("/api/v1/rules/validate", json=blank, headers=revops).json()
    assert {e["path"] for e in report["errors"]} == {"name", "message"}
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    r = client.put("/api/v1/rules/never-sold", json=NEVER | {"message": "  "}, headers=revops)
    assert r.status_code == 422
    with Session(engine) as s:
        row = s.get(Rule, "never-sold")
        assert row.version == 1 and row.definition["message"] == NEVER["message"]
        row.definition = {**row.definition, "name": "  "}
        s.add(row)
        s.commit()
    with Session(engine) as s:
        assert [r.definition.name for r in load_rules(s)] == ["  "]
    schema = client.get("/api/v1/rules/schema", headers=revops).json()
    assert schema["properties"]["name"]["pattern"] == r"\S"


def test_versions_and_rules_are_listed_a_page_at_a_time(client, api_key):
    """A rule's version history and the rule list came back whole (every version of a rule
    edited daily for years); they are paged with limit/offset like every other list."""
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    for n in range(6):  # versions 2..7
        body = {**NEVER, "message": f"edit {n}"}
        assert client.put("/api/v1/rules/never-sold", json=body, headers=revops).status_code == 200
    url = "/api/v1/rules/never-sold/versions"
    page = client.get(f"{url}?limit=3", headers=revops).json()
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 0)
    assert [v["version"] for v in page["items"]] == [1, 2, 3]
    page = client.get(f"{url}?limit=3&offset=6", headers=revops).json()
    assert [v["version"] for v in page["items"]] == [7]
    assert client.get(f"{url}?offset=7", headers=revops).json()["items"] == []
    page = client.get(url, headers=revops).json()
    assert (page["total"], page["limit"], len(page["items"])) == (7, 50, 7)

    for n in range(3):
        body = {**NEVER, "id": f"rule-{n}", "name": f"Rule {n}"}
        assert client.post("/api/v1/rules", json=body, headers=revops).status_code == 201
    everything = client.get("/api/v1/rules", headers=revops).json()
    ids = [r["id"] for r in everything["items"]]
    assert everything["total"] == len(ids) and ids == sorted(ids) and "rule-1" in ids
    page = client.get("/api/v1/rules?limit=2&offset=1", headers=revops).json()
    assert (page["total"], [r["id"] for r in page["items"]]) == (len(ids), ids[1:3])


def test_a_bad_page_size_or_offset_is_a_422_naming_it(client, api_key):
    viewer = api_key("viewer")
    client.post("/api/v1/rules", json=NEVER, headers=api_key("revops"))
    for path in ("/api/v1/rules", "/api/v1/rules/never-sold/versions"):
        for query, param in (("limit=0", "limit"), ("limit=501", "limit"),
                             ("limit=x", "limit"), ("offset=-1", "offset")):  # fmt: skip
            r = client.get(f"{path}?{query}", headers=viewer)
            assert r.status_code == 422, (path, query, r.text)
            error = r.json()["error"]
            assert error["code"] == "invalid_request"
            assert [d["path"] for d in error["details"]] == [f"query.{param}"], (path, query)
    assert client.get("/api/v1/rules/nope/versions?limit=5", headers=viewer).status_code == 404


def test_a_rule_nested_too_deep_is_refused_and_the_audit_stays_readable(client, api_key, engine):
    """Nested past the limit: a 422 at the first level too many on create and validate, and
    nothing stored. Before, a rule nested 253 levels was stored and every audit page holding
    it answered 500 (pydantic's serialiser stops at its depth), for good."""
    from app.rules.schema import MAX_CONDITION_DEPTH

    revops = api_key("revops")
    node: dict = {"field": "feature.key", "op": "eq", "value": "sso"}
    for _ in range(252):
        node = {"not": node}
    deep = NEVER | {"id": "deep", "when": node}
    r = client.post("/api/v1/rules", json=deep, headers=revops)
    assert r.status_code == 422
    (problem,) = r.json()["detail"]
    assert problem["loc"][1:] == ["when", *["not"] * MAX_CONDITION_DEPTH]
    assert f"more than {MAX_CONDITION_DEPTH} levels" in problem["msg"]
    report = client.post("/api/v1/rules/validate", json=deep, headers=revops).json()
    assert report["valid"] is False
    assert [e["path"] for e in report["errors"]] == ["when" + ".not" * MAX_CONDITION_DEPTH]
    with Session(engine) as s:
        assert s.get(Rule, "deep") is None
    assert client.get("/api/v1/audit", headers=api_key("admin")).status_code == 200


def test_an_unknown_key_in_a_negated_condition_is_said_to_exclude_nothing(client, api_key):
    """`ne`, `not_in` and `eq` under `not` with a misspelt key match every reference: the
    warning says the condition excludes nothing, not that it cannot match; a double negation
    cannot match again."""
    revops = api_key("revops")
    for key, name in (("sso", "Single sign-on"), ("scim", "SCIM provisioning")):
        r = client.post(
            "/api/v1/features",
            json={"key": key, "name": name, "availability": "available"},
            headers=revops,
        )
        assert r.status_code == 201, r.text
    rule = {
        "id": "only-sso-scim",
        "name": "Only SSO and SCIM",
        "severity": "block",
        "when": {
            "any": [
                {"field": "feature.key", "op": "not_in", "value": ["sso", "scmi"]},
                {"field": "feature.key", "op": "ne", "value": "scmi"},
                {"not": {"field": "feature.key", "op": "eq", "value": "scmi"}},
                {"not": {"field": "feature.key", "op": "ne", "value": "scmi"}},
                {"field": "feature.key", "op": "eq", "value": "scmi"},
            ]
        },
        "message": "{feature.name} may not be promised",
    }
    excludes = "'scmi' is not a feature key: this condition excludes nothing (did you mean 'scim'?)"
    cannot = (
        "'scmi' is not a feature key on the roadmap: this condition cannot match until a "
        "feature with that key exists (did you mean 'scim'?)"
    )
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.json()["warnings"] == [
        {"path": "when.any[0].value[1]", "message": excludes},
        {"path": "when.any[1].value", "message": excludes},
        {"path": "when.any[2].not.value", "message": excludes},
        {"path": "when.any[3].not.value", "message": cannot},
        {"path": "when.any[4].value", "message": cannot},
    ]
    watch = {**rule, "id": "not-sso", "when": {"field": "feature.key", "op": "ne", "value": "sso"}}
    assert client.post("/api/v1/rules", json=watch, headers=revops).status_code == 201
    r = client.delete("/api/v1/features/sso", headers=revops)
    assert r.json()["warnings"] == [
        {
            "rule_id": "not-sso",
            "path": "when.value",
            "message": "rule 'not-sso' names feature 'sso' at when.value: that condition "
            "excludes nothing until a feature with that key exists again",
        }
    ]


def test_a_wrongly_typed_enabled_offset_or_amount_is_a_422_at_its_path(client, api_key):
    revops = api_key("revops")
    later = {"field": "feature.target_date", "op": "after"}
    bodies = [
        ({**NEVER, "enabled": "off"}, "enabled"),
        ({**NEVER, "scope": {"min_amount": True}}, "scope.min_amount"),
        (
            {
                **NEVER,
                "when": {**later, "value": {"field": "deal.close_date", "offset_days": "30"}},
            },
            "when.value.offset_days",
        ),
        (
            {
                **NEVER,
                "when": {**later, "value": {"field": "deal.close_date", "offset_days": True}},
            },
            "when.value.offset_days",
        ),
    ]
    for body, path in bodies:
        r = client.post("/api/v1/rules", json=body, headers=revops)
        assert r.status_code == 422, (path, r.text)
        assert [e["path"] for e in r.json()["error"]["details"]] == [path], r.text
    assert client.get("/api/v1/rules", headers=revops).json()["total"] == 0
    # Each says what to write and what was written, not only "Input should be a valid boolean".
    said = {
        path: client.post("/api/v1/rules", json=body, headers=revops).json()["error"]["details"][0][
            "msg"
        ]
        for body, path in bodies[:3]
    }
    assert said["enabled"].endswith('write true or false, without quotes (got "off")')
    assert said["when.value.offset_days"].endswith(
        'write a whole number, without quotes (got "30")'
    )
    assert "(got true)" in said["scope.min_amount"]


def test_scope_stages_no_stored_deal_is_in_are_warned_about(client, api_key, engine):
    revops = api_key("revops")
    rule = {**NEVER, "scope": {"stages": ["Negotiation", "negotiation", "closing"]}}
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.json()["warnings"] == []  # no deal stored yet: nothing to compare with
    with Session(engine) as s:
        s.add(Deal(crm="test", deal_id="D1", stage_id="negotiation", stage_label="Negotiation"))
        s.commit()
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.json()["warnings"] == [
        {
            "path": "scope.stages[0]",
            "message": "no stored deal is in stage 'Negotiation': scope.stages takes stage ids, "
            "and this one may never apply (did you mean 'negotiation'?)",
        },
        {
            "path": "scope.stages[2]",
            "message": "no stored deal is in stage 'closing': scope.stages takes stage ids, "
            "and this one may never apply",
        },
    ]
    r = client.post("/api/v1/rules", json=rule, headers=revops)
    assert r.status_code == 201 and len(r.json()["warnings"]) == 2


def test_scope_stages_of_another_pipeline_than_the_rules_are_warned_about(client, api_key, engine):
    """Stage ids are per pipeline: a stage only another pipeline's deals are in ("won" of the
    default pipeline under scope.pipelines ["enterprise"]) makes a rule that never applies."""
    revops = api_key("revops")
    with Session(engine) as s:
        for deal_id, pipeline, stage in [
            ("D1", "default", "won"),
            ("D2", "enterprise", "ent-won"),
            ("D3", "enterprise", "negotiation"),
            ("D4", "default", "negotiation"),
        ]:
            s.add(Deal(crm="test", deal_id=deal_id, pipeline=pipeline, stage_id=stage))
        s.commit()
    rule = {
        **NEVER,
        "scope": {"pipelines": ["enterprise"], "stages": ["won", "ent-won", "negotiation"]},
    }
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.json()["warnings"] == [
        {
            "path": "scope.stages[0]",
            "message": "stage 'won' is a stage of pipeline 'default', not of scope.pipelines "
            "['enterprise']: no stored deal of those is in it, and this one may never apply",
        }
    ]
    # without scope.pipelines, any pipeline's stage applies
    unscoped = {**NEVER, "scope": {"stages": ["won", "ent-won"]}}
    assert (
        client.post("/api/v1/rules/validate", json=unscoped, headers=revops).json()["warnings"]
        == []
    )


def test_a_percentage_compared_with_confidence_is_a_422_with_the_fraction_meant(client, api_key):
    rule = {**NEVER, "when": {"field": "feature.confidence", "op": "lt", "value": 80}}
    r = client.post("/api/v1/rules", json=rule, headers=api_key("revops"))
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["path"] == "when.value"
    assert "0.8 for 80%" in r.json()["error"]["details"][0]["msg"]


def test_a_body_id_other_than_the_urls_is_one_invalid_request_at_id(client, api_key):
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    r = client.put("/api/v1/rules/never-sold", json={**NEVER, "id": "other"}, headers=revops)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"] == [
        {
            "loc": ["id"],
            "path": "id",
            "msg": "'other' differs from the rule's id 'never-sold' in the URL: ids do not "
            "change; leave id out or give the URL's",
            "type": "value_error",
        }
    ]


def test_a_deleted_rule_is_said_to_be_deleted_by_every_route(client, api_key):
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    assert client.delete("/api/v1/rules/never-sold", headers=revops).status_code == 200
    said = "rule 'never-sold' was deleted (restore it with POST /api/v1/rules/never-sold/restore)"
    for method, path in (
        ("GET", "/api/v1/rules/never-sold"),
        ("POST", "/api/v1/rules/never-sold/enable"),
        ("POST", "/api/v1/rules/never-sold/disable"),
        ("DELETE", "/api/v1/rules/never-sold"),
    ):
        r = client.request(method, path, headers=revops)
        assert (r.status_code, r.json()["error"]["message"]) == (404, said), (method, path)
    r = client.put("/api/v1/rules/never-sold", json=NEVER, headers=revops)
    assert (r.status_code, r.json()["error"]["message"]) == (404, said)
    r = client.post("/api/v1/rules", json=NEVER, headers=revops)
    assert r.status_code == 409
    assert r.json()["error"]["message"] == (
        f"{said}, then PUT the new definition, or choose another id"
    )
    r = client.get("/api/v1/rules/nothing", headers=revops)
    assert r.json()["error"]["message"] == "rule 'nothing' does not exist"


def test_the_deleted_rules_are_listed_with_when_and_by_whom_to_restore_them(client, api_key):
    alice, bob = api_key("revops", name="alice"), api_key("revops", name="bob")
    other = {**NEVER, "id": "also-never", "name": "Also never"}
    for body in (NEVER, other):
        assert client.post("/api/v1/rules", json=body, headers=alice).status_code == 201
    assert client.delete("/api/v1/rules/never-sold", headers=bob).status_code == 200

    viewer = api_key("viewer")
    r = client.get("/api/v1/rules", params={"deleted": "true"}, headers=viewer)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1
    (item,) = page["items"]
    assert (item["id"], item["enabled"], item["deleted_by"]) == ("never-sold", False, "revops:bob")
    assert item["deleted_at"] is not None
    assert item["definition"]["when"] == NEVER["when"]
    # the rules in force, as before: the deleted one is not among them, and says no deletion
    listed = client.get("/api/v1/rules", headers=viewer).json()["items"]
    assert "never-sold" not in {i["id"] for i in listed}
    also = next(i for i in listed if i["id"] == "also-never")
    assert (also["deleted_at"], also["deleted_by"]) == (None, None)
    r = client.get("/api/v1/rules", params={"deleted": "false"}, headers=viewer)
    assert r.json()["items"] == listed
    # the enabled filter still applies; a bad value is a 422
    r = client.get("/api/v1/rules", params={"deleted": "true", "enabled": "true"}, headers=viewer)
    assert r.json()["total"] == 0
    assert client.get("/api/v1/rules?deleted=maybe", headers=viewer).status_code == 422

    # restored: listed in force again, no longer among the deleted
    assert client.post("/api/v1/rules/never-sold/restore", headers=alice).status_code == 200
    r = client.get("/api/v1/rules", params={"deleted": "true"}, headers=viewer)
    assert r.json() == {"total": 0, "limit": 50, "offset": 0, "items": []}
    listed = client.get("/api/v1/rules", headers=viewer).json()["items"]
    assert "never-sold" in {i["id"] for i in listed}


@pytest.mark.parametrize(
    ("when", "path"),
    [
        # the review's case: an availability allow-list, then one outside it
        ({"all": [{"field": "feature.availability", "op": "in", "value": ["coming_soon", "uncertain"]},
                  {"field": "feature.availability", "op": "eq", "value": "never"}]}, "when.all"),
        ({"not": {"all": [{"field": "reference.source", "op": "eq", "value": "note"},
                          {"field": "reference.source", "op": "eq", "value": "line_item"}]}},
         "when.not.all"),
        ({"any_reference": {"all": [{"field": "feature.key", "op": "in", "value": ["sso"]},
                                    {"field": "feature.key", "op": "in", "value": ["scim"]}]}},
         "when.any_reference.all"),
    ],
)  # fmt: skip
def test_conditions_that_can_never_all_hold_are_warned_about(client, api_key, when, path):
    """`in [coming_soon, uncertain]` with `eq never` validated clean, and the rule never fired."""
    rule = {**NEVER, "id": "nothing", "when": when}
    if "any_reference" in when:
        rule.update(applies_to="deal", message="{deal.name} sells something impossible.")
    report = client.post("/api/v1/rules/validate", json=rule, headers=api_key("viewer")).json()
    assert report["valid"] is True, report
    # (the feature keys of the last case are not on this roadmap: warned about too)
    [warning] = [w for w in report["warnings"] if "admit no value" in w["message"]]
    assert warning["path"] == path


def test_conditions_that_can_hold_together_are_not_warned_about(client, api_key):
    from app.rules.default_pack import DEFAULT_RULES

    together = {"all": [
        {"field": "feature.availability", "op": "in", "value": ["coming_soon", "uncertain"]},
        {"field": "feature.availability", "op": "eq", "value": "uncertain"},
        {"field": "feature.availability", "op": "ne", "value": "never"},
    ]}  # fmt: skip
    viewer = api_key("viewer")
    for rule in [{**NEVER, "id": "ok", "when": together}, *DEFAULT_RULES]:
        report = client.post("/api/v1/rules/validate", json=rule, headers=viewer).json()
        assert report == {"valid": True, "errors": [], "warnings": []}, rule["id"]


def test_a_create_repeating_a_stored_rule_is_a_409_naming_it(client, api_key, engine):
    """A create without an id, sent again (a script retrying after a timeout whose first
    attempt went through), made a second identical rule ("never-sold-2"): every deal it
    applies to then carried each finding twice. It is a 409 naming the rule it repeats;
    a create with a taken id says what holds the id and whether the body is that very rule."""
    revops = api_key("revops")
    no_id = {k: v for k, v in NEVER.items() if k != "id"}
    r = client.post("/api/v1/rules", json=no_id, headers=revops)
    assert r.status_code == 201 and r.json()["id"] == "never-sold", r.text

    r = client.post("/api/v1/rules", json=no_id, headers=revops)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "conflict"
    assert error["message"].startswith("rule 'never-sold' has this same definition (version 1)")
    assert error["details"] == {
        "existing": {
            "id": "never-sold",
            "name": "Never sold",
            "version": 1,
            "enabled": True,
            "builtin": False,
        },
        "identical": True,
    }
    with Session(engine) as s:
        assert [row.id for row in s.exec(select(Rule))] == ["never-sold"]

    # switched off, the same body still names it, and says how to switch it on
    assert client.post("/api/v1/rules/never-sold/disable", headers=revops).status_code == 200
    r = client.post("/api/v1/rules", json=no_id, headers=revops)
    assert r.status_code == 409, r.text
    assert "POST /api/v1/rules/never-sold/enable" in r.json()["error"]["message"]
    assert r.json()["error"]["details"]["existing"]["version"] == 2

    # another message, or another name, is another rule
    r = client.post("/api/v1/rules", json={**no_id, "message": "Do not sell it."}, headers=revops)
    assert r.status_code == 201 and r.json()["id"] == "never-sold-2", r.text
    r = client.post("/api/v1/rules", json={**no_id, "name": "Never sold (EMEA)"}, headers=revops)
    assert r.status_code == 201, r.text
    # a deleted rule is not in force: repeating it creates it anew
    assert client.delete("/api/v1/rules/never-sold-2", headers=revops).status_code == 200
    r = client.post("/api/v1/rules", json={**no_id, "message": "Do not sell it."}, headers=revops)
    assert r.status_code == 201 and r.json()["id"] == "never-sold-3", r.text

    # an id taken: what holds it, and whether the body is that very rule
    r = client.post("/api/v1/rules", json={**no_id, "id": "never-sold-3", "message": "Do not sell it."}, headers=revops)  # fmt: skip
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"]["identical"] is True
    assert "with this same definition (version 1)" in r.json()["error"]["message"]
    r = client.post("/api/v1/rules", json={**no_id, "id": "never-sold-3"}, headers=revops)
    assert r.status_code == 409, r.text
    assert r.json()["error"]["details"]["identical"] is False
    assert r.json()["error"]["details"]["existing"]["id"] == "never-sold-3"
    assert "PUT /api/v1/rules/never-sold-3" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    "change",
    [
        {"when": [{"field": "feature.key", "op": "eq", "value": "a"}]},
        {"when": {"all": [5, "x"]}},
        {"scope": ["negotiation"]},
        {"when": {"count_references": 3}, "applies_to": "deal"},
    ],
)
def test_validate_says_what_a_create_of_the_same_body_says(client, api_key, change):
    """POST /api/v1/rules/validate is the pre-flight of a create, but answered an object where
    a list was sent with "Input should be a valid dictionary or instance of Condition" (a
    class of ours), where the create says "... or object to extract fields from": the
    same mistakes, in the same words, at the same paths."""
    revops = api_key("revops")
    body = {**{k: v for k, v in NEVER.items() if k != "id"}, **change}
    created = client.post("/api/v1/rules", json=body, headers=revops)
    assert created.status_code == 422, created.text
    checked = client.post("/api/v1/rules/validate", json=body, headers=revops)
    assert checked.status_code == 200 and checked.json()["valid"] is False, checked.text
    assert checked.json()["errors"] == created.json()["error"]["details"]
    assert "RuleDefinition" not in checked.text and "Condition" not in checked.text


def test_a_stored_rule_that_no_longer_validates_is_left_out_not_every_evaluation(
    client, api_key, engine
):
    """A rule written to the table by hand (or in a vocabulary an upgrade dropped) that does
    not validate even leniently stopped every evaluation: loading the rules raised, so no deal
    was checked against the rules still good. It is left out and said at error level."""
    from structlog.testing import capture_logs

    from app.services.catalog import load_rules

    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    with Session(engine) as s:
        s.add(Rule(id="broken", name="Broken", definition={**NEVER, "severity": "apocalyptic"}))
        s.commit()
    with Session(engine) as s, capture_logs() as logs:
        loaded = [r.id for r in load_rules(s)]
    assert "never-sold" in loaded and "broken" not in loaded
    [said] = [e for e in logs if e["event"].startswith("stored rule unreadable")]
    assert said["rule_id"] == "broken" and said["log_level"] == "error"
    assert said["first_error"].startswith("severity:")
    # ... and RevOps can see it and delete it
    listed = client.get("/api/v1/rules", headers=revops)
    assert listed.status_code == 200, listed.text
    assert client.delete("/api/v1/rules/broken", headers=revops).status_code in (200, 204)
