"""The roadmap task of an opportunity gone since: completed through the real simple-salesforce
client against the fake org, as the pipeline asks once it untracks the deal."""

from __future__ import annotations

from app.connectors.base import TransientError
from app.sandbox.salesforce import INTEGRATION_USER
from tests.connectors.salesforce.test_connector import write


def _blocked_with_task(connector, fake, name="Deal", **kw):
    opp = fake.add_opportunity(name, **kw)
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert out.error is None and out.task_open
    return opp, out.task_id


def _hidden(fake, opp) -> None:
    """Private sharing hides the opportunity from the integration user: the read reports it
    gone (logged at error level), and its task, still there, is completed."""
    fake.private_opportunities.add(opp)


def test_a_task_deleted_with_its_opportunity_counts_as_done(connector, fake):
    """Salesforce deletes an opportunity's activities with it: the update answers
    ENTITY_IS_DELETED, and there is nothing left to complete."""
    opp, task_id = _blocked_with_task(connector, fake)
    other, other_task = _blocked_with_task(connector, fake, "Other")
    fake.delete("Opportunity", opp)
    assert connector.read_deals([opp])[opp] is None  # the pipeline untracks it

    assert connector.complete_tasks([task_id]) == {task_id: None}

    assert task_id in fake.recycle_bin["Task"]
    [still] = fake.tasks_of(other)
    assert still["Id"] == other_task and not still["IsClosed"]


def test_the_task_of_an_opportunity_read_as_gone_is_completed_in_the_orgs_closed_status(
    connector, fake
):
    opp, task_id = _blocked_with_task(connector, fake)
    _hidden(fake, opp)
    assert connector.read_deals([opp])[opp] is None

    assert connector.complete_tasks([task_id]) == {task_id: None}

    task = fake.store["Task"][task_id]
    assert task["Status"] == connector.facts.status_done and task["IsClosed"]
    assert task["Subject"].startswith("[roadmap-guard]")  # its text is left as it was


def test_many_tasks_are_completed_in_one_composite_call(connector, fake):
    opps = [_blocked_with_task(connector, fake, f"Deal {i}") for i in range(3)]
    fake.delete("Opportunity", opps[0][0])
    fake.reset_calls()
    task_ids = [t for _o, t in opps]

    assert connector.complete_tasks(task_ids) == dict.fromkeys(task_ids)

    assert fake.count() == 1  # the org facts are fresh: one Composite call for all three
    assert all(fake.store["Task"][t]["IsClosed"] for t in task_ids[1:])


def test_a_task_owned_by_a_rep_who_left_is_completed_as_the_integration_user(connector, fake):
    rep = fake.add_user("Gone Rep")
    opp, task_id = _blocked_with_task(connector, fake, owner_id=rep)
    assert fake.store["Task"][task_id]["OwnerId"] == rep
    fake.set_user_active(rep, False)
    _hidden(fake, opp)

    assert connector.complete_tasks([task_id]) == {task_id: None}

    task = fake.store["Task"][task_id]
    assert task["IsClosed"] and task["OwnerId"] == INTEGRATION_USER


def test_an_unavailable_org_leaves_the_task_to_a_later_pass(connector, fake):
    opp, task_id = _blocked_with_task(connector, fake)
    _hidden(fake, opp)
    fake.inject("unavailable", 1, match="/composite")

    result = connector.complete_tasks([task_id])

    assert isinstance(result[task_id], TransientError)
    assert not fake.store["Task"][task_id]["IsClosed"]
    assert connector.complete_tasks([task_id]) == {task_id: None}
    assert fake.store["Task"][task_id]["IsClosed"]
