"""The queue's lag: how long the longest-waiting pending deal has been due, by priority."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from app.jobs.queue import claim_batch, enqueue_deals, oldest_due_seconds
from app.models import utcnow


def test_oldest_due_is_the_longest_wait_per_priority_and_zero_when_none_is_due(engine):
    now = utcnow()
    with Session(engine) as s:
        assert oldest_due_seconds(s, now=now) == {0: 0.0, 1: 0.0}  # an empty queue
        enqueue_deals(s, "test", ["W1"], reason="webhook", due_at=now - timedelta(seconds=90))
        enqueue_deals(s, "test", ["W2"], reason="webhook", due_at=now - timedelta(seconds=30))
        enqueue_deals(s, "test", ["R1"], reason="roadmap", due_at=now - timedelta(seconds=600))
        enqueue_deals(s, "test", ["L1"], reason="backfill", due_at=now + timedelta(seconds=900))
        s.commit()
        ages = oldest_due_seconds(s, now=now)
    assert ages == {0: 90.0, 1: 600.0}


def test_a_row_not_due_yet_or_running_is_no_lag(engine):
    now = utcnow()
    with Session(engine) as s:
        enqueue_deals(s, "test", ["W1"], reason="webhook", due_at=now + timedelta(seconds=60))
        enqueue_deals(s, "test", ["W2"], reason="webhook", due_at=now - timedelta(seconds=5))
        s.commit()
    claimed = claim_batch(engine, owner="w1", limit=10, lease_seconds=60)
    assert [item.deal_id for item in claimed] == ["W2"]  # running now: no longer waiting
    with Session(engine) as s:
        assert oldest_due_seconds(s, now=now) == {0: 0.0, 1: 0.0}


def test_metrics_report_the_queue_lag_by_priority(client, engine):
    from prometheus_client.parser import text_string_to_metric_families

    now = utcnow()
    with Session(engine) as s:
        enqueue_deals(s, "test", ["W1"], reason="webhook", due_at=now - timedelta(minutes=10))
        s.commit()
    response = client.get("/metrics")
    assert response.status_code == 200
    lag = {
        s.labels["priority"]: s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name == "roadmap_guard_queue_oldest_due_seconds"
    }
    assert set(lag) == {"0", "1"}
    assert 600 <= lag["0"] < 900  # ten minutes due, read a moment later
    assert lag["1"] == 0.0
