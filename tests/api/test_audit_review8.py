"""Review 8: the audit log as an auditor reads it (who, when, before and after)."""

from __future__ import annotations


def test_an_actor_filter_reads_a_name_holding_a_colon_as_that_name(client, api_key):
    """A key's name may hold a colon: "ops:dana" acting as admin is recorded "admin:ops:dana".
    `actor=ops:dana` (the name approvals and the key list show) was read as role "ops", name
    "dana" and answered an empty page ("ops:dana changed nothing"), while `actor=dana` listed
    ops:dana's changes as dana's. A value is now also read as the whole name after the role."""
    colon = api_key("revops", name="ops:dana")
    dana = api_key("revops", name="dana")
    for headers, key in ((colon, "sso"), (dana, "scim")):
        r = client.post("/api/v1/features", json={"key": key, "name": key}, headers=headers)
        assert r.status_code == 201, r.text

    def actors(actor):
        r = client.get("/api/v1/audit", params={"actor": actor}, headers=dana)
        assert r.status_code == 200, r.text
        return [(e["actor"], e["entity_id"]) for e in r.json()["items"]]

    assert actors("ops:dana") == [("revops:ops:dana", "sso")]
    assert actors("revops:ops:dana") == [("revops:ops:dana", "sso")]
    assert actors("dana") == [("revops:dana", "scim")]
    assert actors("revops:dana") == [("revops:dana", "scim")]
    assert actors("engineering:dana") == []
    assert actors("ana") == []


def test_an_empty_filter_filters_nothing(client, api_key):
    """A form's "any" sends its filters empty. `actor=` and `action=` answered an empty page
    ("nobody changed anything") and `entity_type=` or `since=` a 422; as on the other lists,
    an empty filter now filters nothing."""
    revops = api_key("revops", name="alice")
    r = client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=revops)
    assert r.status_code == 201, r.text

    for params in (
        {"actor": ""},
        {"action": ""},
        {"entity_type": "", "entity_id": ""},
        {"entity_type": "feature", "entity_id": ""},
        {"since": "", "until": ""},
        {"actor": "", "action": "", "entity_type": "", "entity_id": "", "since": "", "until": ""},
    ):
        r = client.get("/api/v1/audit", params=params, headers=revops)
        assert r.status_code == 200, (params, r.text)
        assert [(e["action"], e["entity_id"]) for e in r.json()["items"]] == [
            ("feature.create", "sso")
        ], params
    # a filter given still filters
    r = client.get("/api/v1/audit", params={"actor": "alice", "action": "rule."}, headers=revops)
    assert r.json()["total"] == 0


def test_a_page_of_the_audit_log_is_read_through_its_index(engine):
    """The audit log lists newest first (created_at, id) and filters by time; with no index on
    created_at every page sorted every entry ever written (the log is never pruned: about half
    a second a page on SQLite at 50,000 entries). Migration 0026 adds (created_at, id)."""
    from sqlalchemy import inspect, text

    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("audit_log")}
    assert indexes.get("ix_audit_created") == ["created_at", "id"]
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT * FROM audit_log WHERE created_at >= "
                        "'2026-01-01' ORDER BY created_at DESC, id DESC LIMIT 50"
                    )
                )
            )
        assert "ix_audit_created" in plan and "TEMP B-TREE" not in plan, plan
