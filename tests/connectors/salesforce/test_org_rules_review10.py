"""An org's own validation rule refusing roadmap-guard's write holds the deal, never kills it.

FIELD_CUSTOM_VALIDATION_EXCEPTION on our update of the roadmap fields ("Close Date cannot be in
the past") sent the deal dead with no block written: the rep could win it, and nothing wrote
the block once the admin added the bypass or the rep fixed the record. These run the real
simple-salesforce client against the fake org, through the queue and the worker.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from app import metrics
from app.connectors.base import PermanentError
from app.connectors.salesforce.errors import OrgRuleRefused
from app.connectors.salesforce.setup import BYPASS_PERMISSION
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.models import Deal, DealQueue, WriteBackLog, utcnow
from app.sandbox.salesforce import INTEGRATION_USER
from tests.connectors.salesforce import test_e2e
from tests.connectors.salesforce.test_connector import write
from tests.connectors.salesforce.test_e2e import SEATS, SSO, notify, our_tasks

seeded = test_e2e.seeded  # the end-to-end fixtures: the service and its seeded roadmap
service = test_e2e.service


def _close_date_in_the_past(old: dict, new: dict) -> str | None:
    past = new.get("CloseDate") and new["CloseDate"] < date.today().isoformat()
    return "Close Date cannot be in the past" if not new.get("IsClosed") and past else None


def _task_needs_a_type(old: dict, new: dict) -> str | None:
    return None if new.get("Type") else "Every task needs a type"


def _row(engine, opp: str) -> DealQueue:
    with Session(engine) as s:
        return s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one()


def _later(worker: Worker, minutes: int) -> Worker:
    """The same worker, its clock `minutes` ahead: the held deal's retry is due."""
    return Worker(
        worker.engine,
        worker.settings,
        worker.processor,
        clock=lambda: utcnow() + timedelta(minutes=minutes),
    )


def test_a_rule_refusing_the_roadmap_fields_is_held_not_permanent(connector, fake):
    fake.add_rule(_close_date_in_the_past, honours_bypass=True)
    opp = fake.add_opportunity("Overdue renewal", CloseDate="2025-01-31")
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert isinstance(out.error, OrgRuleRefused) and not isinstance(out.error, PermanentError)
    outcome = Outcome.from_exception(out.error)
    assert outcome.kind == "retry" and outcome.hold and outcome.retry_after == 300
    text = str(out.error)
    assert "Close Date cannot be in the past" in text
    assert f"NOT($Permission.{BYPASS_PERMISSION})" in text and "Opportunity validation" in text
    assert "Held, not dead" in text and "the block is written" in text
    assert out.written["fields"]["block"] is None  # nothing claimed that was not written
    fake.assign_permission_set(INTEGRATION_USER)  # the admin assigns the bypass
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert out.error is None and fake.opportunity(opp)["Roadmap_Block__c"] is True


@pytest.mark.slow
def test_held_until_the_admin_adds_the_bypass_then_the_block_lands(service, fake, engine, caplog):
    client, worker = service
    fake.add_rule(_close_date_in_the_past, honours_bypass=True)  # the clause is in the rule...
    opp = fake.add_opportunity(  # ...but the permission set is not assigned yet
        "Overdue renewal",
        stage="Negotiation/Review",
        line_items=[SSO, SEATS],
        CloseDate="2025-01-31",
    )
    with caplog.at_level(logging.ERROR, logger="app.connectors.salesforce.connector"):
        notify(client, opp)
        assert worker.run_until_empty() == 1
    row = _row(engine, opp)
    assert row.status == "pending", row.last_error  # held: it was dead
    assert row.attempts == 0  # given back: the deal never runs out of attempts meanwhile
    assert row.priority == 1  # waits as a sweep's row, as other held deals do
    assert row.due_at > utcnow() + timedelta(minutes=4)
    assert row.last_error.startswith("OrgRuleRefused: another validation rule refused")
    assert "Close Date cannot be in the past" in row.last_error
    assert f"NOT($Permission.{BYPASS_PERMISSION})" in row.last_error
    assert any("Close Date cannot be in the past" in r.getMessage() for r in caplog.records)
    assert fake.opportunity(opp).get("Roadmap_Block__c") is not True
    # The connection works: no credentials alarm for an org rule.
    assert metrics.CRM_CREDENTIALS_REFUSED.labels(crm="salesforce")._value.get() == 0
    assert worker.run_until_empty() == 0  # not retried in a tight loop

    # Retried while nothing changed: still held, still no attempt spent.
    assert _later(worker, 6).run_until_empty() == 1
    assert _row(engine, opp).status == "pending" and _row(engine, opp).attempts == 0

    fake.assign_permission_set(INTEGRATION_USER)  # the admin fixes it; no replay needed
    assert _later(worker, 20).run_until_empty() == 1
    rec = fake.opportunity(opp)
    assert rec["Roadmap_Block__c"] is True and rec["Roadmap_Check_Status__c"] == "blocked"
    assert len(our_tasks(fake, opp)) == 1  # the task made by the first attempt, not a second
    row = _row(engine, opp)
    assert row.status == "done"
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        assert deal.written["block"] is True and deal.write_started_at is None
        outcomes = [
            w.outcome for w in s.exec(select(WriteBackLog).where(WriteBackLog.deal_id == opp))
        ]
    assert outcomes.count("error") == 2 and outcomes[-1] == "ok"


@pytest.mark.slow
def test_the_reps_fix_of_the_record_is_written_at_once(service, fake, rep, engine):
    """The rule passes once the rep moves the close date: the rep's edit (its outbound
    message) makes the held deal urgent again, and the block lands without waiting for the
    retry."""
    client, worker = service
    fake.add_rule(_close_date_in_the_past)  # no bypass clause at all
    opp = fake.add_opportunity(
        "Overdue renewal",
        stage="Negotiation/Review",
        line_items=[SSO, SEATS],
        CloseDate="2025-01-31",
    )
    notify(client, opp)
    worker.run_until_empty()
    held = _row(engine, opp)
    assert held.status == "pending" and held.priority == 1 and held.due_at > utcnow()

    next_month = (date.today() + timedelta(days=30)).isoformat()
    rep.Opportunity.update(opp, {"CloseDate": next_month})
    notify(client, opp, CloseDate=next_month)
    urgent = _row(engine, opp)
    assert urgent.priority == 0 and urgent.due_at <= utcnow()  # due now, ahead of sweeps
    assert worker.run_until_empty() == 1  # same clock: no retry delay waited
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert _row(engine, opp).status == "done"


@pytest.mark.slow
def test_a_task_rule_holds_the_deal_and_keeps_the_block_it_wrote(service, fake, engine):
    """An Activity rule refusing our task: the block (a separate record, the opportunity) is
    written and stays; the deal is held, not dead, and the task is made once the admin adds
    the bypass to the Task rule, with no replay."""
    client, worker = service
    fake.add_rule(_task_needs_a_type, sobject="Task", honours_bypass=True)
    opp = fake.add_opportunity("Pilot", stage="Negotiation/Review", line_items=[SSO, SEATS])
    notify(client, opp)
    worker.run_until_empty()
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True  # the block landed
    assert our_tasks(fake, opp) == []
    row = _row(engine, opp)
    assert row.status == "pending" and row.attempts == 0, row.last_error
    assert "a new roadmap task" in row.last_error and "Every task needs a type" in row.last_error
    assert "Task (or Activity) validation rule" in row.last_error
    assert "the block) were not written" not in row.last_error

    # A retry with the rule still there: the block is still on the record.
    assert _later(worker, 6).run_until_empty() == 1
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert _row(engine, opp).status == "pending"

    fake.assign_permission_set(INTEGRATION_USER)
    assert _later(worker, 20).run_until_empty() == 1
    [task] = our_tasks(fake, opp)
    assert task["IsClosed"] is False
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert _row(engine, opp).status == "done"


def test_a_held_retry_from_a_stored_snapshot_leaves_the_written_fields_alone(connector, fake):
    """A Task rule refuses the task while the fields land: the pipeline records nothing of a
    write whose outcome carries an error, so a held retry planned from the stored snapshot (a
    roadmap or approval re-check) sent the fields again every 5 minutes, moving Roadmap Checked
    At and LastModifiedDate each time; and a verdict turned clear since was compared with that
    snapshot, read before the block was written, so the block stayed on."""
    from app.rules.model import VerdictStatus

    opp = fake.add_opportunity("Deal")
    first = connector.write_back(
        [write(opp, connector.read_deals([opp])[opp], status=VerdictStatus.clear, task_open=False)]
    )[opp]
    assert first.error is None
    stored = connector.read_deals([opp])[opp]  # the snapshot the pipeline keeps: block off
    fake.add_rule(_task_needs_a_type, sobject="Task")
    out = connector.write_back([write(opp, stored)])[opp]
    assert isinstance(out.error, OrgRuleRefused)
    rec = fake.opportunity(opp)
    assert rec["Roadmap_Block__c"] is True
    modified, checked = rec["LastModifiedDate"], rec["Roadmap_Checked_At__c"]

    again = connector.write_back([write(opp, stored)])[opp]  # a held retry, same snapshot
    assert isinstance(again.error, OrgRuleRefused)
    assert "fields" not in again.changes
    rec = fake.opportunity(opp)
    assert (rec["LastModifiedDate"], rec["Roadmap_Checked_At__c"]) == (modified, checked)

    cleared = connector.write_back(
        [write(opp, stored, status=VerdictStatus.clear, task_open=False)]
    )[opp]
    assert cleared.error is None
    assert fake.opportunity(opp)["Roadmap_Block__c"] is False  # the block comes off
