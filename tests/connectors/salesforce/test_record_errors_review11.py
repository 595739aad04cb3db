"""One record of a write refused while the others are saved, as sObject Collections report it
("If an item was processed successfully, the success flag shows for that item. Error
information is returned in the errors array", Update Records Using sObject Collections).
UNABLE_TO_LOCK_ROW: another transaction holds the record's lock (Salesforce's StatusCode
list). Fidelity review 11 (helper 162): the fake could not refuse one record this way, so no test
covered it; behaviour unchanged.
"""

from __future__ import annotations

from app.connectors.base import PermanentError, TransientError
from tests.connectors.salesforce.test_connector import write

LOCKED = "unable to obtain exclusive access to this record or 1 records: {}"


def test_a_locked_row_on_the_opportunity_is_retried_and_its_task_is_not_made_twice(connector, fake):
    opp = fake.add_opportunity("Busy")
    snapshot = connector.read_deals([opp])[opp]
    fake.inject_record_error("UNABLE_TO_LOCK_ROW", LOCKED.format(opp), match=opp)
    first = connector.write_back([write(opp, snapshot)])[opp]
    assert isinstance(first.error, TransientError)
    assert not isinstance(first.error, PermanentError)
    assert "UNABLE_TO_LOCK_ROW" in str(first.error)
    assert first.task_id is not None  # the task, a record of its own, was saved
    assert fake.opportunity(opp).get("Roadmap_Block__c") in (None, False)

    again = connector.write_back([write(opp, snapshot, task_id=first.task_id)])[opp]
    assert again.error is None
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert len(fake.tasks_of(opp)) == 1


def test_a_locked_row_on_one_deal_leaves_the_others_of_the_batch_written(connector, fake):
    opps = [fake.add_opportunity(f"Deal {i}") for i in range(3)]
    snapshots = connector.read_deals(opps)
    fake.inject_record_error("UNABLE_TO_LOCK_ROW", LOCKED.format(opps[1]), match=opps[1])
    out = connector.write_back([write(o, snapshots[o]) for o in opps])
    assert isinstance(out[opps[1]].error, TransientError)
    assert out[opps[0]].error is None and out[opps[2]].error is None
    assert fake.opportunity(opps[0])["Roadmap_Block__c"] is True
    assert fake.opportunity(opps[2])["Roadmap_Block__c"] is True
