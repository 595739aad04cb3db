"""Review round 7 of the queue and the worker."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.models import DealQueue, utcnow
from tests.jobs.conftest import RecordingProcessor

WAIT = 10.0  # seconds: a bound on every wait, so a regression fails instead of hanging


def _row(engine, deal_id: str) -> DealQueue:
    with Session(engine) as s:
        return s.exec(select(DealQueue).where(DealQueue.deal_id == deal_id)).one()


def test_a_burst_batch_longer_than_its_lease_keeps_its_deals(engine, worker_settings):
    """`worker --burst` (Worker.run_once) did not renew its leases: a batch outlasting
    LEASE_SECONDS (a CRM rate limit, a large backfill) was claimed again by the running
    workers, processed twice, and the burst's own outcomes were dropped as stale."""
    # model_copy does not validate: a lease far below the production minimum, to stay fast.
    fast = worker_settings.model_copy(update={"lease_seconds": 3.0})
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D0"], reason="backfill")
    thief = RecordingProcessor()
    other = Worker(engine, fast, thief, owner="other")
    taken: list[int] = []

    def slow(item):
        # Until this batch's lease has run out (not renewed) or been renewed past its first
        # expiry, then the other worker looks for due work.
        first = _row(engine, item.deal_id).lease_expires_at
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            row = _row(engine, item.deal_id)
            if row.lease_expires_at > first or row.lease_expires_at < utcnow():
                break
            time.sleep(0.05)
        taken.append(other.run_once())
        return Outcome.done()

    burst = Worker(engine, fast, RecordingProcessor(slow), owner="burst")
    assert burst.run_until_empty(max_batches=1) == 1
    assert taken == [0] and thief.seen == []
    assert dict(burst.tally) == {"done": 1}
    row = _row(engine, "D0")
    assert (row.status, row.attempts) == ("done", 1)
