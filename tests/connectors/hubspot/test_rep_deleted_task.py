"""The roadmap task as the rep lives with it: one the rep deleted is made again while there is
something to do, not only to be marked completed; a completed one keeps its due date."""

from __future__ import annotations

from datetime import UTC, datetime

from app.connectors.base import DealWriteBack, TaskSpec
from app.rules.model import VerdictStatus

TASK_CREATES = "POST /crm/v3/objects/tasks/batch/create"


def _item(snapshot, status: VerdictStatus, *, task_id=None, previous=None) -> DealWriteBack:
    blocked = status == VerdictStatus.blocked
    return DealWriteBack(
        crm="hubspot",
        deal_id=snapshot.deal_id,
        status=status,
        summary="Blocked: SSO will never be built." if blocked else "Roadmap check clear.",
        block=blocked,
        checked_at=datetime.now(UTC),
        evaluation_url=None,
        task=TaskSpec(
            subject="Roadmap check: Acme is blocked" if blocked else "Roadmap check: Acme is clear",
            body="SSO will never be built." if blocked else "Nothing left to do.",
            open=blocked,
        ),
        task_id=task_id,
        previous=previous or {},
        snapshot=snapshot,
    )


def test_a_deleted_task_is_not_made_again_only_to_be_completed(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    first = connector.write_back([_item(connector.read_deals([deal])[deal], VerdictStatus.blocked)])
    task_id = first[deal].task_id
    assert task_id and first[deal].error is None
    fake.delete_object("tasks", task_id)  # the rep deleted it, then fixed the deal

    previous = {
        "status": "blocked",
        "block": True,
        "task": {"subject": "Roadmap check: Acme is blocked", "body": "x", "open": True},
        "written_at": datetime.now(UTC).isoformat(),
    }
    snap = connector.read_deals([deal])[deal]
    fake.reset_calls()
    out = connector.write_back(
        [_item(snap, VerdictStatus.clear, task_id=task_id, previous=previous)]
    )[deal]
    assert out.error is None
    assert fake.calls[TASK_CREATES] == 0 and fake.tasks_for(deal) == []
    assert "task" not in out.changes  # nothing was completed
    props = fake.deal(deal)["properties"]
    assert props["roadmap_guard_status"] == "clear"
    assert props["roadmap_guard_clearance"] == "clear"
    assert not props.get("roadmap_guard_task_id")  # no longer points at the deleted task


def test_a_deleted_task_is_made_again_while_the_deal_is_still_blocked(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    first = connector.write_back([_item(connector.read_deals([deal])[deal], VerdictStatus.blocked)])
    task_id = first[deal].task_id
    fake.delete_object("tasks", task_id)
    previous = {
        "status": "blocked",
        "block": True,
        "task": {"subject": "older", "body": "older", "open": True},
        "written_at": datetime.now(UTC).isoformat(),
    }
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back(
        [_item(snap, VerdictStatus.blocked, task_id=task_id, previous=previous)]
    )[deal]
    assert out.error is None and out.task_open
    [task] = fake.tasks_for(deal)
    assert task["id"] == out.task_id != task_id
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"


def test_a_completed_task_keeps_its_due_date(fake, connector) -> None:
    """Completing the task moved its due date to the day after (the whole task, due date
    included, was sent); the rep's history then showed it due after it was done."""
    deal = fake.add_deal("Acme")
    first = connector.write_back([_item(connector.read_deals([deal])[deal], VerdictStatus.blocked)])
    task_id = first[deal].task_id
    fake.update_object("tasks", task_id, {"hs_timestamp": "1800000000000"})  # due then
    previous = {
        "status": "blocked",
        "block": True,
        "task": {"subject": "Roadmap check: Acme is blocked", "body": "x", "open": True},
        "written_at": datetime.now(UTC).isoformat(),
    }
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back(
        [_item(snap, VerdictStatus.clear, task_id=task_id, previous=previous)]
    )[deal]
    assert out.error is None and out.changes["task"] == "completed"
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "COMPLETED"
    assert task["properties"]["hs_timestamp"] == "1800000000000"
