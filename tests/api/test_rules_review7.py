"""Review round 7 of /api/v1/rules: what a valid rule that cannot apply is warned about."""

from __future__ import annotations

from sqlmodel import Session

from app.models import Deal

NEVER = {
    "id": "never-sold",
    "name": "Never sold",
    "severity": "block",
    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
    "message": "{feature.name} will never be built.",
}


def test_scope_pipelines_no_stored_deal_is_in_are_warned_about(client, api_key, engine):
    """`"pipelines": ["Sales Pipeline"]` (HubSpot's label of its "default" pipeline) made a
    rule that never applied, and nothing said so (a stage id no deal is in was warned about)."""
    revops = api_key("revops")
    rule = {**NEVER, "scope": {"pipelines": ["Sales Pipeline", "Default", "default", "enterprize"]}}
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.json()["warnings"] == []  # no deal stored yet: nothing to compare with
    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="D1", pipeline="default"))
        s.add(Deal(crm="hubspot", deal_id="D2", pipeline="enterprise"))
        s.add(Deal(crm="salesforce", deal_id="006A", pipeline=None))
        s.commit()
    r = client.post("/api/v1/rules/validate", json=rule, headers=revops)
    assert r.json()["valid"] is True
    warnings = r.json()["warnings"]
    assert [w["path"] for w in warnings] == [
        "scope.pipelines[0]",
        "scope.pipelines[1]",
        "scope.pipelines[3]",
    ]
    assert warnings[0]["message"] == (
        "no stored deal is in pipeline 'Sales Pipeline': scope.pipelines takes pipeline ids "
        "(HubSpot's 'default' or a number, not the pipeline's label; a Salesforce opportunity "
        "has none), and this one may never apply"
    )
    assert warnings[1]["message"].endswith("(did you mean 'default'?)")
    assert warnings[2]["message"].endswith("(did you mean 'enterprise'?)")
    # saved anyway, with the same warnings
    r = client.post("/api/v1/rules", json=rule, headers=revops)
    assert r.status_code == 201, r.text
    assert [w["path"] for w in r.json()["warnings"]] == [w["path"] for w in warnings]
    # ids deals are in: nothing to say
    ok = {**NEVER, "id": "ok", "scope": {"pipelines": ["default", "enterprise"]}}
    assert client.post("/api/v1/rules/validate", json=ok, headers=revops).json()["warnings"] == []
