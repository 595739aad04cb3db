"""The `gone_tasks` sweep goes round the untracked deals with open tasks: it queued the first
BATCH by deal id every run, so when those kept failing (a completion the CRM refuses, dead and
revived by each run) the others were never queued."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.models import Deal, DealQueue, utcnow
from app.services import gone_tasks


def _gone(s: Session, deal_id: str, untouched: timedelta) -> None:
    s.add(
        Deal(
            crm="test",
            deal_id=deal_id,
            tracked=False,
            crm_task_id=f"T-{deal_id}",
            crm_task_open=True,
            updated_at=utcnow() - untouched,
        )
    )


def test_deals_whose_completion_keeps_failing_do_not_starve_the_others(engine, monkeypatch):
    monkeypatch.setattr(gone_tasks, "BATCH", 2)
    with Session(engine) as s:
        # Read and found gone again two hours ago by the last run's queue items; their tasks'
        # completion was refused (dead).
        _gone(s, "A", timedelta(hours=2))
        _gone(s, "B", timedelta(hours=2))
        _gone(s, "C", timedelta(days=30))  # untracked a month ago, never swept
        s.add(DealQueue(crm="test", deal_id="A", status="dead", reason="reconcile", attempts=8))
        s.add(DealQueue(crm="test", deal_id="B", status="dead", reason="reconcile", attempts=8))
        s.commit()
        assert gone_tasks.queue_gone_tasks(s, ["test"]) == {"test": 2}
        s.commit()
        pending = sorted(
            q.deal_id for q in s.exec(select(DealQueue).where(DealQueue.status == "pending"))
        )
    assert "C" in pending
