"""/api/v1/audit: the audit log read back, newest first, filtered and paged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlmodel import Session

from app.models import AuditLog


def _feature(client, headers, key: str, **body):
    payload = {"key": key, "name": key.upper() + " feature", "availability": "available", **body}
    r = client.post("/api/v1/features", json=payload, headers=headers)
    assert r.status_code == 201, r.text


def test_changes_made_through_the_api_are_read_back_newest_first(client, api_key):
    revops = api_key("revops", name="alice")
    _feature(client, revops, "sso")
    _feature(client, revops, "scim")
    r = client.patch("/api/v1/features/sso", json={"availability": "never"}, headers=revops)
    assert r.status_code == 200, r.text

    r = client.get("/api/v1/audit?entity_type=feature", headers=api_key("engineering"))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3
    assert [(e["action"], e["entity_id"]) for e in page["items"]] == [
        ("feature.update", "sso"),
        ("feature.create", "scim"),
        ("feature.create", "sso"),
    ]
    update = page["items"][0]
    assert update["actor"] == "revops:alice"
    assert update["before"]["availability"] == "available"
    assert update["after"]["availability"] == "never"

    # One entity's history; an action prefix; paging.
    r = client.get(
        "/api/v1/audit?entity_type=feature&entity_id=sso", headers=api_key("approver")
    ).json()
    assert [e["action"] for e in r["items"]] == ["feature.update", "feature.create"]
    r = client.get("/api/v1/audit?action=feature.", headers=revops).json()
    assert r["total"] == 3
    r = client.get("/api/v1/audit?action=feature.create&limit=1&offset=1", headers=revops).json()
    assert (r["total"], r["limit"], r["offset"]) == (2, 1, 1)
    assert [e["entity_id"] for e in r["items"]] == ["sso"]
    r = client.get("/api/v1/audit?actor=revops:bob", headers=revops).json()
    assert (r["total"], r["items"]) == (0, [])


def test_a_time_window_selects_by_when_the_change_was_made(client, api_key, engine):
    now = datetime.now(UTC)
    with Session(engine) as s:
        for days, entity in [(10, "old"), (1, "recent")]:
            s.add(
                AuditLog(
                    actor="cli",
                    action="rule.update",
                    entity_type="rule",
                    entity_id=entity,
                    created_at=now - timedelta(days=days),
                )
            )
        s.commit()
    headers = api_key("revops")
    since = (now - timedelta(days=2)).isoformat()
    r = client.get("/api/v1/audit", params={"entity_type": "rule", "since": since}, headers=headers)
    assert [e["entity_id"] for e in r.json()["items"]] == ["recent"]
    # An offset other than UTC names the same moment.
    until = (now - timedelta(days=2)).astimezone(timezone(timedelta(hours=-5)))
    r = client.get(
        "/api/v1/audit",
        params={"entity_type": "rule", "until": until.isoformat()},
        headers=headers,
    )
    assert [e["entity_id"] for e in r.json()["items"]] == ["old"]


def test_bad_filters_say_what_is_wrong(client, api_key):
    headers = api_key("revops")
    r = client.get("/api/v1/audit?entity_id=sso", headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {
            "loc": ["query", "entity_type"],
            "path": "query.entity_type",
            "msg": "required with entity_id: ids are only unique within a type",
            "type": "missing",
        }
    ]
    r = client.get(
        "/api/v1/audit?since=2026-05-01T00:00:00Z&until=2026-04-01T00:00:00Z", headers=headers
    )
    assert r.status_code == 422
    assert "since must be before until" in r.json()["error"]["message"]
    r = client.get("/api/v1/audit?limit=0&since=yesterday", headers=headers)
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["detail"]} == {
        ("query", "limit"),
        ("query", "since"),
    }
    # one time without a zone (UTC) and one with: compared as such (a 500 before)
    for query in ("since=2026-01-01T00:00:00&until=2026-01-02T00:00:00Z",
                  "since=2026-01-02T00:00:00%2B14:00&until=2026-01-02T00:00:00"):  # fmt: skip
        assert client.get(f"/api/v1/audit?{query}", headers=headers).status_code == 200, query
    r = client.get(
        "/api/v1/audit?since=2026-01-02T00:00:00Z&until=2026-01-02T00:00:00", headers=headers
    )
    assert r.status_code == 422 and "since must be before until" in r.json()["error"]["message"]
    # a number is no time (it was read as Unix time: since=0 was 1970)
    r = client.get("/api/v1/audit?since=0", headers=headers)
    assert r.status_code == 422 and "not a number" in r.json()["detail"][0]["msg"]
    # The type as the OpenAPI document said it ("mapping") is stored as product_mapping: an
    # unknown type answered an empty page; now it is named, with the type meant.
    r = client.get("/api/v1/audit?entity_type=mapping", headers=headers)
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.entity_type"
    assert "'product_mapping'" in detail["msg"] and "roadmap_source" in detail["msg"]
    assert (
        client.get("/api/v1/audit?entity_type=product_mapping", headers=headers).status_code == 200
    )


def test_the_viewer_role_and_anonymous_callers_cannot_read_it(client, api_key):
    assert client.get("/api/v1/audit", headers=api_key("viewer")).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_an_entry_is_found_under_its_further_subjects_only_by_their_id(client, api_key, engine):
    """audit.record(subjects=...): the entry is also one of each subject's history (with its
    other filters applied), not one of every entry of the subject's type."""
    from app.services import audit

    with Session(engine) as s:
        audit.record(
            s,
            actor="system:t",
            action="roadmap.refresh",
            entity_type="roadmap_source",
            entity_id="acme",
            subjects=[("feature", "sso"), ("feature", "scim"), ("feature", "sso")],
        )
        s.commit()
    engineering = api_key("engineering")

    def actions(**params):
        r = client.get("/api/v1/audit", params=params, headers=engineering)
        assert r.status_code == 200, r.text
        return [(e["action"], e["entity_id"]) for e in r.json()["items"]]

    found = [("roadmap.refresh", "acme")]
    assert actions(entity_type="feature", entity_id="sso") == found
    assert actions(entity_type="feature", entity_id="scim") == found
    assert actions(entity_type="feature", entity_id="dark") == []
    assert actions(entity_type="feature", entity_id="sso", actor="revops:x") == []
    assert actions(entity_type="feature") == []  # the source's entry, not a feature's
    assert actions(entity_type="roadmap_source", entity_id="acme") == found
    assert actions(entity_type="rule", entity_id="sso") == []


def test_an_actor_filter_with_a_name_alone_finds_that_name_under_any_role(client, api_key):
    """Entries record the actor as role:name; `actor=pat` (the name approvals show as their
    approver, and the admin's key list) answered an empty page, read as "pat changed nothing".
    A name alone matches that name under any role, and only that name: not a longer name
    ending with it, nor a LIKE pattern."""
    pat = api_key("revops", name="pat")
    other = api_key("revops", name="expat")
    pct = api_key("engineering", name="p%t")
    for headers, key in ((pat, "sso"), (other, "scim"), (pct, None)):
        if key is not None:
            r = client.post("/api/v1/features", json={"key": key, "name": key}, headers=headers)
            assert r.status_code == 201, r.text

    def actors(actor):
        r = client.get("/api/v1/audit", params={"actor": actor}, headers=pct)
        assert r.status_code == 200, r.text
        return [(e["actor"], e["entity_id"]) for e in r.json()["items"]]

    assert actors("pat") == [("revops:pat", "sso")]
    assert actors("revops:pat") == [("revops:pat", "sso")]
    assert actors("engineering:pat") == []
    assert actors("expat") == [("revops:expat", "scim")]
    assert actors("p%t") == []
    assert actors("at") == []
