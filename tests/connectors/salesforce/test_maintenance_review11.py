"""Salesforce's read-only mode for planned maintenance (Salesforce Help, "Read-Only Mode": during
site switches, instance migrations and refreshes "you can't ... Perform API write or edit
actions"; the writes are refused with INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE).
Reads still answer. Found by the fake Salesforce fidelity review 11 (helper 162).
"""

from __future__ import annotations

from app.connectors.base import PermanentError, TransientError
from app.connectors.salesforce.errors import MAINTENANCE_RETRY_SECONDS
from app.sandbox.salesforce import MAINTENANCE_CODE
from tests.connectors.salesforce.test_connector import write


def test_a_write_during_read_only_maintenance_is_held_and_lands_afterwards(connector, fake):
    """It was a PermanentError: every deal written in the window went dead with its block
    unwritten, winnable once the org was writable again. Now held (no attempt spent) and
    retried every few minutes; the write lands after the window. Fails without the fix."""
    opp = fake.add_opportunity("Maintenance")
    fake.read_only_mode = True
    snapshot = connector.read_deals([opp])[opp]  # reads answer in read-only mode
    assert snapshot is not None
    outcome = connector.write_back([write(opp, snapshot, note="findings")])[opp]
    assert isinstance(outcome.error, TransientError)
    assert not isinstance(outcome.error, PermanentError)
    assert outcome.error.hold and outcome.error.retry_after == MAINTENANCE_RETRY_SECONDS
    assert MAINTENANCE_CODE in str(outcome.error) and "read-only" in str(outcome.error)
    assert fake.opportunity(opp).get("Roadmap_Block__c") in (None, False)
    assert fake.tasks_of(opp) == []

    fake.read_only_mode = False
    outcome = connector.write_back([write(opp, snapshot, note="findings")])[opp]
    assert outcome.error is None
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert len(fake.tasks_of(opp)) == 1


def test_completing_a_gone_deals_task_during_maintenance_is_tried_again(connector, fake):
    opp = fake.add_opportunity("Gone later")
    snapshot = connector.read_deals([opp])[opp]
    task_id = connector.write_back([write(opp, snapshot)])[opp].task_id
    fake.read_only_mode = True
    [error] = connector.complete_tasks([task_id]).values()
    assert isinstance(error, TransientError) and error.hold
