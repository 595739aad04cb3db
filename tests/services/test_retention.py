"""Retention: old webhook events and write-back records go, young ones and everything else stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.jobs.schedules import JobContext, load_schedules
from app.models import Evaluation, WebhookEvent, WriteBackLog, utcnow
from app.services import retention


def _event(i: int, age_days: float) -> WebhookEvent:
    return WebhookEvent(
        source="test",
        dedup_key=f"e{i}",
        crm="test",
        status="ignored",
        payload={"i": i},
        received_at=utcnow() - timedelta(days=age_days),
    )


def _ids(engine, model) -> list[int]:
    with Session(engine) as s:
        return sorted(s.exec(select(model.id)))


def _run(engine, settings, state=None) -> dict:
    ctx = JobContext(engine=engine, settings=settings, connectors={}, state=state or {})
    return retention.retention(ctx)


def test_old_events_and_write_records_are_deleted_young_ones_and_evaluations_kept(engine, settings):
    with Session(engine) as s:
        s.add_all([_event(i, 120 if i < 5 else 10) for i in range(8)])
        s.add_all(
            WriteBackLog(crm="test", deal_id=f"D{i}", created_at=utcnow() - timedelta(days=d))
            for i, d in enumerate((400, 400, 30))
        )
        s.add(
            Evaluation(
                crm="test",
                deal_id="D1",
                verdict="blocked",
                created_at=utcnow() - timedelta(days=999),
            )
        )
        s.commit()
    events, logs = _ids(engine, WebhookEvent), _ids(engine, WriteBackLog)

    state = _run(engine, settings)

    assert _ids(engine, WebhookEvent) == events[5:]
    assert _ids(engine, WriteBackLog) == logs[2:]
    assert len(_ids(engine, Evaluation)) == 1  # the record of verdicts is never pruned
    assert state == {
        "deleted": {"webhook_event": 5, "write_back_log": 2},
        "last_run": {"webhook_event": 5, "write_back_log": 2},
        "caught_up": {"webhook_event": True, "write_back_log": True},
    }
    again = _run(engine, settings, state)  # nothing left to delete; totals carried over
    assert again["deleted"] == {"webhook_event": 5, "write_back_log": 2}
    assert again["last_run"] == {"webhook_event": 0, "write_back_log": 0}


def test_deletion_goes_in_batches_and_stops_at_the_first_young_row(engine, settings, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    with Session(engine) as s:
        # 12 old rows, then a young one, then old ones again (ids do not follow time exactly on
        # PostgreSQL): the walk stops in the batch of the young row; rows after it wait.
        s.add_all([_event(i, 100) for i in range(12)])
        s.commit()
        s.add(_event(12, 1))
        s.commit()
        s.add_all([_event(i, 100) for i in range(13, 17)])
        s.commit()
    ids = _ids(engine, WebhookEvent)

    # 4 batches of 3 old rows, then the batch holding the young row loses its 2 old rows and
    # the walk stops there, the 2 old rows past that batch kept for a later run.
    state = _run(engine, settings)
    assert state["last_run"]["webhook_event"] == 14
    assert state["caught_up"] == {"webhook_event": True, "write_back_log": True}
    assert _ids(engine, WebhookEvent) == [ids[12], *ids[15:]]


def test_sparse_ids_are_deleted_by_rows_not_by_id_ranges(engine, settings, monkeypatch):
    # PostgreSQL sequences advance on duplicate deliveries (ON CONFLICT DO NOTHING), so a busy
    # portal's ids can be thousands apart: a batch is a number of rows, and one run goes on
    # until it has caught up.
    monkeypatch.setattr(retention, "BATCH", 4)
    with Session(engine) as s:
        for i in range(30):
            event = _event(i, 100)
            event.id = (i + 1) * 20_000
            s.add(event)
        for i in range(30, 32):
            event = _event(i, 1)
            event.id = (i + 1) * 20_000
            s.add(event)
        s.commit()

    state = _run(engine, settings)

    assert state["last_run"]["webhook_event"] == 30
    assert state["caught_up"]["webhook_event"] is True
    assert _ids(engine, WebhookEvent) == [31 * 20_000, 32 * 20_000]


def test_a_run_stops_at_its_time_budget_and_says_it_is_behind(engine, settings, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    monkeypatch.setattr(retention, "TIME_BUDGET_SECONDS", 0.0)  # one batch, then out of time
    with Session(engine) as s:
        s.add_all([_event(i, 100) for i in range(7)])
        s.commit()

    first = _run(engine, settings)
    assert first["last_run"]["webhook_event"] == 3
    assert first["caught_up"]["webhook_event"] is False
    second = _run(engine, settings, first)
    third = _run(engine, settings, second)
    assert third["last_run"]["webhook_event"] == 1 and third["caught_up"]["webhook_event"]
    assert third["deleted"]["webhook_event"] == 7
    assert _ids(engine, WebhookEvent) == []


def test_zero_keeps_everything_and_short_periods_are_refused(engine, settings):
    with Session(engine) as s:
        s.add(_event(1, 5000))
        s.commit()
    keep = settings.model_copy(update={"webhook_event_retention_days": 0})
    assert _run(engine, keep)["last_run"]["webhook_event"] == 0
    assert len(_ids(engine, WebhookEvent)) == 1
    with pytest.raises(ValueError, match="at least 7 days"):
        type(settings)(_env_file=None, webhook_event_retention_days=3)
    assert "retention" in load_schedules()
