"""The fake org's Opportunity.Probability behaves as Salesforce's: each stage has a default
probability that a stage change sets, and a rep may override it; a save that does not change
the stage (roadmap-guard writing its own fields, say) leaves the rep's value alone."""

from __future__ import annotations

from datetime import UTC, datetime

from app.connectors.base import DealWriteBack, TaskSpec
from app.rules.model import VerdictStatus


def test_a_reps_probability_survives_our_write_and_a_stage_change_resets_it(connector, fake, rep):
    opp = fake.add_opportunity("Deal", stage="Prospecting")
    assert fake.opportunity(opp)["Probability"] == 10.0  # the stage's default
    rep.Opportunity.update(opp, {"Probability": 35})  # the rep's own judgement
    snap = connector.read_deals([opp])[opp]
    out = connector.write_back(
        [
            DealWriteBack(
                crm="salesforce",
                deal_id=opp,
                status=VerdictStatus.blocked,
                summary="summary blocked",
                block=True,
                checked_at=datetime.now(UTC),
                evaluation_url=None,
                task=TaskSpec(subject="Roadmap problem", body="Do not promise SSO", open=True),
                task_id=None,
                snapshot=snap,
            )
        ]
    )[opp]
    rec = fake.opportunity(opp)
    assert out.error is None and rec["Roadmap_Block__c"] is True
    assert rec["Probability"] == 35  # our save changed no stage: it was reset to 10
    rep.Opportunity.update(opp, {"Description": "call on Monday"})
    assert fake.opportunity(opp)["Probability"] == 35
    rep.Opportunity.update(opp, {"StageName": "Qualification"})
    assert fake.opportunity(opp)["Probability"] == 20.0  # the new stage's default
    rep.Opportunity.update(opp, {"StageName": "Prospecting", "Probability": 15})
    assert fake.opportunity(opp)["Probability"] == 15  # set in the same save: kept


def test_an_opportunity_created_with_a_probability_keeps_it(fake):
    opp = fake.add_opportunity("Deal", stage="Qualification", Probability=55)
    assert fake.opportunity(opp)["Probability"] == 55
