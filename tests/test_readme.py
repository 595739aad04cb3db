"""The README is part of the product: its configuration table and commands must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_configuration_table():
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", README, flags=re.MULTILINE))
    declared = {name.upper() for name in Settings.model_fields}
    assert declared - documented == set(), "settings missing from README's table"
    assert documented - declared == set(), "README documents settings that do not exist"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in README
    assert "exec python3 tasks.py test" in ci


def _readme_test_crm_put() -> tuple[str, dict]:
    """The test CRM example as README prints it: the deal id in the URL, the body after -d."""
    import json

    found = re.search(
        r"curl -X PUT .*?/api/v1/test-crm/deals/(\S+) -d '(.*?)'", README, flags=re.DOTALL
    )
    assert found, "README has no test CRM example"
    return found.group(1), json.loads(found.group(2))


def test_the_readme_test_crm_example_is_accepted_and_checked(make_app, engine, settings, api_key):
    """Posted verbatim: a string stage and line items and notes without ids are the shape a
    person types; the stored snapshot has the full shape, and the deal goes through the flow."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.worker import Worker
    from app.models import Deal, Feature, TestCrmDeal
    from app.services.pipeline import DealPipeline
    from app.services.rules_service import install_default_rules

    deal_id, body = _readme_test_crm_put()
    with Session(engine) as s:
        s.add(Feature(key="offline", name="Offline mode", availability="never"))
        install_default_rules(s)
        s.commit()
    with TestClient(make_app(connectors={"test": TestCrmConnector(engine)})) as web:
        answer = web.put(f"/api/v1/test-crm/deals/{deal_id}", json=body, headers=api_key("revops"))
        assert answer.status_code == 202, answer.text
        connectors = {"test": TestCrmConnector(engine)}
        Worker(engine, settings, DealPipeline(engine, settings, connectors)).run_until_empty()
        record = web.get(f"/api/v1/test-crm/deals/{deal_id}", headers=api_key("viewer")).json()
    with Session(engine) as s:
        stored = s.get(TestCrmDeal, deal_id).snapshot
        verdict = s.exec(select(Deal.verdict).where(Deal.deal_id == deal_id)).one()
    assert stored["stage"]["id"] == body["stage"]
    assert [i["id"] for i in stored["line_items"]] == ["li-1"]
    assert [n["id"] for n in stored["notes"]] == ["n-1"]
    assert verdict == "blocked"
    assert record["properties"]["status"] == "blocked"
