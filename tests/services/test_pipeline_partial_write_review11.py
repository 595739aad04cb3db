"""record_write after a write that landed in part: the task that landed is recorded, nothing
else (the connector reports it with a "task" change, as both connectors do)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from app.connectors.base import DealWriteBack, PermanentError, TaskSpec, WriteOutcome
from app.rules.model import VerdictStatus
from app.services.pipeline import record_write

NOW = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
BEFORE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OLD = {
    "status": "clear",
    "summary": "",
    "block": False,
    "evaluation_url": "http://testserver/d/1",
    "task": {"subject": "Roadmap check", "body": "old", "open": False, "owner_id": "7"},
}
TASK = TaskSpec(subject="Roadmap check", body="SSO will never be built", open=True, owner_id="7")


def _deal():
    return SimpleNamespace(
        last_evaluation_id=3,
        crm_task_id="T1",
        crm_task_open=False,
        written=dict(OLD),
        written_verdict="clear",
        written_at=BEFORE,
        write_started_at=NOW,
    )


def _plan() -> DealWriteBack:
    return DealWriteBack(
        crm="hubspot",
        deal_id="D1",
        status=VerdictStatus.blocked,
        summary="Blocked: SSO will never be built.",
        block=True,
        checked_at=NOW,
        evaluation_url="http://testserver/d/1",
        task=TASK,
        task_id="T1",
    )


def test_a_failed_write_whose_task_landed_records_the_task_and_nothing_else() -> None:
    result = WriteOutcome(
        deal_id="D1",
        task_id="T1",
        task_open=True,
        changes={"roadmap_guard_status": "blocked", "task": "open"},
        error=PermanentError("refused"),
    )
    values, log = record_write(None, _plan(), result, NOW, _deal())
    assert values["written"]["task"] == {
        "subject": "Roadmap check",
        "body": "SSO will never be built",
        "open": True,
        "owner_id": "7",
    }
    # The rest stays what the last full write recorded: it may be what was refused.
    assert {k: v for k, v in values["written"].items() if k != "task"} == {
        k: v for k, v in OLD.items() if k != "task"
    }
    assert values["written_verdict"] == "clear" and values["written_at"] == BEFORE
    assert values["write_started_at"] == NOW  # not confirmed: the retry still looks
    assert values["crm_task_id"] == "T1" and values["crm_task_open"] is True
    assert log["outcome"] == "error" and log["changes"]["task"] == "open"


def test_a_failed_write_whose_task_did_not_land_records_no_task() -> None:
    result = WriteOutcome(
        deal_id="D1",
        task_id="T1",
        task_open=False,
        changes={"roadmap_guard_status": "blocked"},
        error=PermanentError("refused"),
    )
    values, _log = record_write(None, _plan(), result, NOW, _deal())
    assert values["written"] == OLD and values["crm_task_open"] is False
