"""Review round 7 of /api/v1/rules: what a valid rule that cannot apply is warned about."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Deal, Rule
from tests.api.test_concurrent_writes import in_parallel, slow_reads

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


@pytest.fixture
def raw_client(app) -> Iterator[TestClient]:
    """A client that answers 500 instead of raising the server's exception in the test."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_parallel_creates_of_one_rule_without_an_id_save_it_once(raw_client, api_key, engine):
    """A script's create without an id timed out and was retried while the first attempt was
    still running: both passed the identical-rule check and both were saved (on PostgreSQL),
    and every deal the rule applies to got each of its findings twice."""
    revops = api_key("revops")
    no_id = {k: v for k, v in NEVER.items() if k != "id"}
    with slow_reads(engine, "rule"):
        answers = in_parallel(
            lambda _: raw_client.post("/api/v1/rules", json=no_id, headers=revops), 4
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 409, 409, 409], [r.text for r in answers]
    refused = [r.json()["error"] for r in answers if r.status_code == 409]
    assert all(e["details"]["identical"] is True for e in refused), refused
    with Session(engine) as s:
        assert list(s.exec(select(Rule.id))) == ["never-sold"]
