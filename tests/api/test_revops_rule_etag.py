"""Optimistic concurrency on rules: a GET's ETag (the version) sent back as If-Match makes a
write refuse, with a 412 naming the version stored, when the rule changed since it was read.

Without it, two scripts doing a read-modify-write of one rule each wrote a version, and the
later one silently undid the earlier's change (both answered 200)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import AuditLog, Rule, RuleVersion

NEVER = {
    "id": "never-sold",
    "name": "Never sold",
    "severity": "block",
    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
    "message": "{feature.name} will never be built.",
}


def test_a_write_with_a_stale_if_match_is_a_412_and_writes_nothing(client, api_key, engine):
    revops = api_key("revops")
    r = client.post("/api/v1/rules", json=NEVER, headers=revops)
    assert r.status_code == 201 and r.headers["ETag"] == '"1"', r.text
    read = client.get("/api/v1/rules/never-sold", headers=api_key("viewer"))
    assert read.headers["ETag"] == '"1"'
    tag = read.headers["ETag"]

    # the first script's edit goes through, and answers the new ETag
    r = client.put(
        "/api/v1/rules/never-sold",
        json={**NEVER, "severity": "warning"},
        headers={**revops, "If-Match": tag},
    )
    assert r.status_code == 200 and r.headers["ETag"] == '"2"', r.text

    # the second, which read version 1 too, is refused: every write
    for method, path, body in [
        ("PUT", "/api/v1/rules/never-sold", {**NEVER, "message": "Not on the roadmap."}),
        ("POST", "/api/v1/rules/never-sold/disable", None),
        ("DELETE", "/api/v1/rules/never-sold", None),
    ]:
        r = client.request(method, path, json=body, headers={**revops, "If-Match": tag})
        assert r.status_code == 412, (method, path, r.text)
        error = r.json()["error"]
        assert error["code"] == "precondition_failed"
        assert error["message"].startswith("rule 'never-sold' is at version 2, not the one")
        assert error["details"] == {
            "id": "never-sold",
            "version": 2,
            "etag": '"2"',
            "if_match": '"1"',
        }
    with Session(engine) as s:
        row = s.get(Rule, "never-sold")
        assert (row.version, row.enabled, row.deleted_at) == (2, True, None)
        assert row.definition["severity"] == "warning"
        assert row.definition["message"] == NEVER["message"]
        assert len(s.exec(select(RuleVersion)).all()) == 2
        assert [a.action for a in s.exec(select(AuditLog).order_by(AuditLog.id))][-2:] == [
            "rule.create",
            "rule.update",
        ]

    # the current ETag, a list holding it, an unquoted version, * or no If-Match: written
    r = client.post("/api/v1/rules/never-sold/disable", headers={**revops, "If-Match": '"1", "2"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"3"', r.text
    r = client.post("/api/v1/rules/never-sold/enable", headers={**revops, "If-Match": "3"})
    assert r.status_code == 200 and r.headers["ETag"] == '"4"', r.text
    r = client.post("/api/v1/rules/never-sold/disable", headers={**revops, "If-Match": "*"})
    assert r.status_code == 200, r.text
    r = client.delete("/api/v1/rules/never-sold", headers=revops)
    assert r.status_code == 200, r.text


def test_the_openapi_document_declares_if_match_and_the_412(client):
    spec = client.get("/openapi.json").json()
    for method, path in [
        ("put", "/api/v1/rules/{rule_id}"),
        ("delete", "/api/v1/rules/{rule_id}"),
        ("post", "/api/v1/rules/{rule_id}/enable"),
        ("post", "/api/v1/rules/{rule_id}/disable"),
    ]:
        op = spec["paths"][path][method]
        assert "412" in op["responses"], (method, path)
        headers = [p["name"] for p in op["parameters"] if p["in"] == "header"]
        assert headers == ["If-Match"], (method, path)


def test_the_openapi_document_describes_a_rule_delete_answer(client, api_key):
    """DELETE /api/v1/rules/{id} declared its answer as any object; it names RuleDeleted, and
    answers exactly its fields."""
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/v1/rules/{rule_id}"]["delete"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RuleDeleted"
    }
    fields = spec["components"]["schemas"]["RuleDeleted"]["properties"]
    revops = api_key("revops")
    assert client.post("/api/v1/rules", json=NEVER, headers=revops).status_code == 201
    r = client.delete("/api/v1/rules/never-sold", headers=revops)
    assert r.status_code == 200, r.text
    assert set(r.json()) == set(fields)
    assert r.json() == {"id": "never-sold", "deleted": True, "deals_queued": 0}
