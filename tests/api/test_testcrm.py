"""The test CRM's routes: put a deal (as a CRM change: queued), see what roadmap-guard wrote
back on it, delete it. The body is a deal snapshot whose `crm` and `deal_id` the path gives."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.jobs.worker import Worker
from app.models import Deal, DealQueue, Feature, TestCrmDeal
from app.services.pipeline import DealPipeline
from app.services.rules_service import install_default_rules

NOTE = "Call with their CTO. We promised offline mode for the field team by March."


@pytest.fixture
def web(make_app, engine):
    from fastapi.testclient import TestClient

    with Session(engine) as s:
        s.add(Feature(key="offline", name="Offline mode", availability="never"))
        install_default_rules(s)
        s.commit()
    with TestClient(make_app(connectors={"test": TestCrmConnector(engine)})) as c:
        yield c


def _deal(**more) -> dict:
    return {
        "name": "Contoso Field Services",
        "amount": "48000",
        "stage": {"id": "negotiation", "label": "Negotiation", "probability": 0.6},
        "close_date": (date.today() + timedelta(days=45)).isoformat(),
        "notes": [{"id": "n1", "body": NOTE}],
        **more,
    }


def _drain(engine, settings) -> None:
    pipeline = DealPipeline(engine, settings, {"test": TestCrmConnector(engine)})
    Worker(engine, settings, pipeline).run_until_empty()


def test_a_deal_put_without_crm_or_id_goes_through_the_whole_flow(web, engine, settings, api_key):
    revops, viewer = api_key("revops"), api_key("viewer")
    answer = web.put("/api/v1/test-crm/deals/T-1", json=_deal(), headers=revops)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"deal_id": "T-1", "queued": 1}
    with Session(engine) as s:
        stored = s.get(TestCrmDeal, "T-1").snapshot
        queued = s.exec(select(DealQueue.deal_id, DealQueue.reason)).all()
    assert (stored["crm"], stored["deal_id"], stored["name"]) == (
        "test",
        "T-1",
        "Contoso Field Services",
    )
    assert queued == [("T-1", "webhook")]
    _drain(engine, settings)
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
    assert (deal.crm, deal.deal_id, deal.verdict) == ("test", "T-1", "blocked")
    record = web.get("/api/v1/test-crm/deals/T-1", headers=viewer).json()
    assert (record["properties"]["status"], record["properties"]["block"]) == ("blocked", True)
    assert "Offline mode" in record["properties"]["summary"]
    assert len(record["tasks"]) == 1
    # the same body with crm and deal_id spelt out is the same deal
    again = web.put(
        "/api/v1/test-crm/deals/T-1", json=_deal(crm="test", deal_id="T-1"), headers=revops
    )
    assert again.status_code == 202, again.text
    gone = web.delete("/api/v1/test-crm/deals/T-1", headers=revops)
    assert gone.json() == {"deal_id": "T-1", "deleted": True}
    _drain(engine, settings)
    with Session(engine) as s:
        assert s.exec(select(Deal.tracked)).one() is False
    # deleting it again is no error; a deal the test CRM never had is a 404, nothing queued
    assert web.delete("/api/v1/test-crm/deals/T-1", headers=revops).status_code == 202
    _drain(engine, settings)
    nope = web.delete("/api/v1/test-crm/deals/nope", headers=revops)
    assert nope.status_code == 404
    assert nope.json()["error"]["message"] == "no deal 'nope' in the test CRM"
    with Session(engine) as s:
        assert s.exec(select(DealQueue).where(DealQueue.deal_id == "nope")).all() == []


def test_a_body_naming_another_deal_or_crm_is_refused_naming_each_field(web, engine, api_key):
    revops = api_key("revops")
    answer = web.put(
        "/api/v1/test-crm/deals/T-1", json=_deal(crm="hubspot", deal_id="T-2"), headers=revops
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert [(d["path"], d["msg"]) for d in error["details"]] == [
        ("crm", "must be 'test' (or left out), not 'hubspot'"),
        ("deal_id", "must be 'T-1' (or left out), not 'T-2'"),
    ]
    assert "crm must be 'test'" in error["message"]
    shape = web.put("/api/v1/test-crm/deals/T-1", json=_deal(stage=["won"]), headers=revops)
    assert shape.status_code == 422
    assert [d["path"] for d in shape.json()["error"]["details"]] == ["stage"]
    with Session(engine) as s:  # nothing stored, nothing queued
        assert s.exec(select(TestCrmDeal)).all() == []
        assert s.exec(select(DealQueue)).all() == []


def test_a_stage_given_by_its_id_and_items_without_ids_are_filled_in(web, engine, api_key):
    """The shape a person types: `"stage": "negotiation"`, line items and notes with no `id`.
    Ids are given by place, so putting the same body again names the same items."""
    body = _deal(
        stage="negotiation",
        line_items=[{"name": "Licence", "sku": "L-1"}, {"id": "mine", "name": "Support"}],
        notes=[{"body": NOTE}, {"body": "Second call."}],
    )
    answer = web.put("/api/v1/test-crm/deals/T-1", json=body, headers=api_key("revops"))
    assert answer.status_code == 202, answer.text
    with Session(engine) as s:
        stored = s.get(TestCrmDeal, "T-1").snapshot
    assert stored["stage"] == {
        "id": "negotiation", "label": None, "is_won": False, "is_closed": False,
        "probability": None,
    }  # fmt: skip
    assert [i["id"] for i in stored["line_items"]] == ["li-1", "mine"]
    assert [n["id"] for n in stored["notes"]] == ["n-1", "n-2"]
    bad = web.put(
        "/api/v1/test-crm/deals/T-1",
        json=_deal(line_items=[{"name": "x", "colour": "red"}]),
        headers=api_key("revops"),
    )
    assert bad.status_code == 422
    assert [d["path"] for d in bad.json()["error"]["details"]] == ["line_items[0].colour"]
