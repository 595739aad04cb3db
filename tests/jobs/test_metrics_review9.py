"""What /metrics says of deals that die: those buried at claim (their worker kept stopping)
count as dead outcomes, as those a worker records dead do."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlmodel import Session, select

from app.jobs import queue
from app.jobs.worker import Worker
from app.models import DealQueue
from tests.jobs.conftest import Clock, RecordingProcessor


def _dead_outcomes(crm: str) -> float:
    labels = {"crm": crm, "outcome": "dead"}
    return REGISTRY.get_sample_value("roadmap_guard_outcomes_total", labels) or 0.0


def test_a_deal_that_kept_killing_its_worker_counts_as_a_dead_outcome(
    engine, worker_settings, clock: Clock
):
    with Session(engine) as s:
        queue.enqueue_deals(s, "metrics9", ["POISON"])
        s.commit()
    before = _dead_outcomes("metrics9")
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    for _ in range(worker_settings.max_attempts):
        assert [i.deal_id for i in worker.claim()] == ["POISON"]  # then the worker is killed
        clock.advance(worker_settings.lease_seconds + 1)
    assert worker.claim() == []  # buried instead of claimed a fourth time
    with Session(engine) as s:
        assert s.exec(select(DealQueue.status)).one() == "dead"
    assert _dead_outcomes("metrics9") == before + 1
    assert worker.claim() == []  # counted once
    assert _dead_outcomes("metrics9") == before + 1
