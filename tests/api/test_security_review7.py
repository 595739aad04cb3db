"""Security review round 7: what a read-only key can make the service do."""

from __future__ import annotations

from sqlmodel import Session

from app.models import Deal
from app.services.rules_service import MAX_SCOPE_WARNINGS

RULE = {
    "name": "Never sold",
    "severity": "block",
    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
    "message": "{feature.name} will never be built.",
}


def _store_a_deal(engine) -> None:
    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="D1", pipeline="default", stage_id="closedwon"))
        s.commit()


def test_validate_warns_about_at_most_a_hundred_scope_ids_per_list(client, api_key, engine):
    """A viewer's POST /rules/validate of 7 MB of scope.pipelines answered one warning per id:
    170 MB of JSON, after a minute of CPU and 800 MB of memory. Each scope list gets at most
    MAX_SCOPE_WARNINGS warnings, then one saying how many more."""
    _store_a_deal(engine)
    n = MAX_SCOPE_WARNINGS + 400
    rule = {
        **RULE,
        "scope": {
            "pipelines": [f"pipe-{i}" for i in range(n)],
            "stages": [f"stage-{i}" for i in range(n)],
        },
    }
    r = client.post("/api/v1/rules/validate", json=rule, headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    warnings = r.json()["warnings"]
    for name in ("pipelines", "stages"):
        mine = [w for w in warnings if w["path"].startswith(f"scope.{name}[")]
        assert len(mine) == MAX_SCOPE_WARNINGS + 1
        assert [w["path"] for w in mine[:2]] == [f"scope.{name}[0]", f"scope.{name}[1]"]
        assert mine[-1] == {
            "path": f"scope.{name}[{MAX_SCOPE_WARNINGS}]",
            "message": f"and 400 more {name} no stored deal is in from here on",
        }


def test_a_stage_warning_does_not_copy_every_scoped_pipeline(client, api_key, engine):
    """A stage of another pipeline than the rule's named scope.pipelines whole in its warning:
    100 such stages under 100,000 pipelines copied the list 100 times."""
    _store_a_deal(engine)
    pipelines = [f"p{i:05d}" for i in range(500)]
    rule = {**RULE, "scope": {"pipelines": pipelines, "stages": ["closedwon"] * 3}}
    r = client.post("/api/v1/rules/validate", json=rule, headers=api_key("viewer"))
    stage = [w for w in r.json()["warnings"] if w["path"].startswith("scope.stages[")]
    assert len(stage) == 3
    assert len(stage[0]["message"]) < 600, stage[0]["message"]
    assert "p00000" in stage[0]["message"] and "(480 more)" in stage[0]["message"]
    assert "p00499" not in stage[0]["message"]


def test_validate_refuses_a_rule_of_millions_of_values_at_once(client, api_key):
    """A viewer's POST /rules/validate of 4 MB of numbers in scope.pipelines took six minutes
    and 2.7 GB of memory to answer 336 MB: one error per number. A rule holding more than
    MAX_RULE_VALUES values is refused with one error, before its values are checked."""
    from app.rules.schema import MAX_RULE_VALUES

    rule = {**RULE, "scope": {"pipelines": [1] * (MAX_RULE_VALUES + 1)}}
    r = client.post("/api/v1/rules/validate", json=rule, headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is False
    [error] = r.json()["errors"]
    assert f"a rule holds at most {MAX_RULE_VALUES:,} values" in error["msg"]
    # a create says the same, as a 422
    r = client.post("/api/v1/rules", json={**rule, "id": "too-big"}, headers=api_key("revops"))
    assert r.status_code == 422, r.text
    assert "a rule holds at most" in r.text
    # a rule with a long list within the bound is checked as ever: each mistake named
    rule = {**RULE, "scope": {"pipelines": [1] * 3 + ["default"] * 5000}}
    r = client.post("/api/v1/rules/validate", json=rule, headers=api_key("viewer"))
    assert [e["path"] for e in r.json()["errors"]] == [
        "scope.pipelines[0]",
        "scope.pipelines[1]",
        "scope.pipelines[2]",
    ]
