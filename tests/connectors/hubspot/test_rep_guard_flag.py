"""A blocked deal the guard flags (not moves back) while it sits in a won stage: what the rep's
task says, check after check, and once the deal leaves the won stage."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.connectors.base import DealWriteBack, TaskSpec
from app.rules.model import VerdictStatus
from tests.connectors.hubspot.test_end_to_end import SSO, deliver, drain, world  # noqa: F401

TASK_UPDATES = "POST /crm/v3/objects/tasks/batch/update"


def _task(fake, deal: str) -> dict:
    [task] = fake.tasks_for(deal)
    return task


@pytest.mark.slow
def test_a_flagged_won_deal_keeps_its_task_untouched_until_it_leaves_the_won_stage(
    fake,
    world,  # noqa: F811
) -> None:
    """Reached closed-won with no earlier stage to go back to: flagged for manual review. Each
    later webhook of the unchanged deal updated the task again (resetting the rep's "in
    progress" to "not started"); once the deal left the won stage, the flag stayed in the task."""
    deal = fake.add_deal("Acme", stage="closedwon", line_items=[SSO], emit=False)
    fake.update_object("deals", deal, {"amount": 5000})
    deliver(fake, world)
    drain(world)
    task = _task(fake, deal)
    assert "needs manual review" in task["properties"]["hs_task_body"]
    fake.update_object("tasks", task["id"], {"hs_task_status": "IN_PROGRESS"})

    fake.reset_calls()
    for amount in (6000, 7000):
        fake.update_object("deals", deal, {"amount": amount})
        deliver(fake, world)
        drain(world)
    assert fake.calls[TASK_UPDATES] == 0
    assert _task(fake, deal)["properties"]["hs_task_status"] == "IN_PROGRESS"
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"

    fake.ui_set_stage(deal, "contractsent")  # out of the won stage, still blocked
    deliver(fake, world)
    drain(world)
    [task] = fake.tasks_for(deal)
    body = task["properties"]["hs_task_body"]
    assert "manual review" not in body and "Closed won" not in body
    assert "Single Sign-On" in body
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"


def _writeback(snapshot, previous: dict) -> DealWriteBack:
    return DealWriteBack(
        crm="hubspot",
        deal_id=snapshot.deal_id,
        status=VerdictStatus.blocked,
        summary="Blocked: SSO will never be built.",
        block=True,
        checked_at=datetime.now(UTC),
        evaluation_url=f"http://rg/dashboard/deals/hubspot/{snapshot.deal_id}",
        task=TaskSpec(subject="Roadmap: remove SSO", body="SSO will never be built.", open=True),
        task_id=previous.get("task_id"),
        previous=previous,
        snapshot=snapshot,
    )


def test_a_refused_revert_checked_again_does_not_rewrite_the_task(fake, connector) -> None:
    """HubSpot refuses the move back at every check (a pipeline rule): the task quoted the
    refusal with its correlation id, new at every call, so each check rewrote the task."""
    deal = fake.add_deal("A", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    fake.inject("400", 1, path="/deals/batch/update")
    item = _writeback(connector.read_deals([deal])[deal], {})
    out = connector.write_back([item])[deal]
    assert out.error is None and out.reverted_to_stage is None
    body = _task(fake, deal)["properties"]["hs_task_body"]
    assert "could not move this deal back" in body
    assert "(HubSpot refused: Property values were not valid)" in body  # HubSpot's words only
    assert "correlation id" not in body
    # What the pipeline records after that write (the item's task, as written).
    previous = {
        "status": "blocked",
        "summary": item.summary,
        "block": True,
        "evaluation_url": item.evaluation_url,
        "task": {"subject": item.task.subject, "body": item.task.body, "open": True},
        "written_at": datetime.now(UTC).isoformat(),
        "task_id": out.task_id,
    }
    fake.reset_calls()
    fake.inject("400", 1, path="/deals/batch/update")
    again = connector.write_back([_writeback(connector.read_deals([deal])[deal], previous)])
    assert again[deal].error is None
    assert fake.calls[TASK_UPDATES] == 0
    assert len(fake.tasks_for(deal)) == 1


def test_warn_mode_flags_a_won_deal_once_not_at_every_check(fake, api) -> None:
    from app.connectors.hubspot.connector import HubSpotConnector

    connector = HubSpotConnector(api, portal_id=fake.portal_id, guard_mode="warn")
    deal = fake.add_deal("A", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    item = _writeback(connector.read_deals([deal])[deal], {})
    out = connector.write_back([item])[deal]
    assert out.error is None and out.reverted_to_stage is None
    body = _task(fake, deal)["properties"]["hs_task_body"]
    assert "is in &#x27;Closed won&#x27; but has blocking roadmap findings" in body
    previous = {
        "status": "blocked",
        "summary": item.summary,
        "block": True,
        "evaluation_url": item.evaluation_url,
        "task": {"subject": item.task.subject, "body": item.task.body, "open": True},
        "written_at": datetime.now(UTC).isoformat(),
        "task_id": out.task_id,
    }
    fake.reset_calls()
    again = connector.write_back([_writeback(connector.read_deals([deal])[deal], previous)])
    assert again[deal].error is None
    assert fake.calls[TASK_UPDATES] == 0 and "task" not in again[deal].changes


def test_a_flagged_won_deal_tells_the_rep_what_to_do(fake, api, connector) -> None:
    """ "It needs manual review" said nothing of who does what: the deal sat in the won stage."""
    from app.connectors.hubspot.connector import HubSpotConnector

    stranded = fake.add_deal("No earlier stage", stage="closedwon")
    refused = fake.add_deal("Refused", stage="contractsent")
    fake.ui_set_stage(refused, "closedwon")
    snaps = connector.read_deals([stranded, refused])
    fake.inject("400", 1, path="/deals/batch/update")  # the move back of `refused`
    connector.write_back([_writeback(snaps[refused], {}), _writeback(snaps[stranded], {})])
    assert fake.deal(refused)["properties"]["dealstage"] == "closedwon"
    body = _task(fake, stranded)["properties"]["hs_task_body"]
    assert "needs manual review: move it back to an open stage yourself, then resolve" in body
    body = _task(fake, refused)["properties"]["hs_task_body"]
    assert "move it back to &#x27;Contract sent&#x27; yourself (or ask a HubSpot admin to)" in body

    warn = HubSpotConnector(api, portal_id=fake.portal_id, guard_mode="warn")
    deal = fake.add_deal("Warn", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    warn.write_back([_writeback(warn.read_deals([deal])[deal], {})])
    body = _task(fake, deal)["properties"]["hs_task_body"]
    assert "Move it back to an open stage, then resolve them or get an approval." in body
