"""Review round 7 of the queue and the worker."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlmodel import Session, select

from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.models import DealQueue, utcnow
from tests.jobs.conftest import Clock, RecordingProcessor

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


def test_a_run_an_event_reran_is_observed_from_when_it_was_wanted(engine, worker_settings):
    """roadmap_guard_processing_seconds (the rep's wait, the alert) observed a run that an
    event reran (the rep edited the deal again while it ran, common in a backlog) as no wait
    at all: the recording starts the next cycle and read its new `queued_at` back."""
    from app import metrics

    def p0() -> tuple[float, float]:
        child = metrics.PROCESSING_SECONDS.labels(priority="0")
        return child._sum.get(), sum(b.get() for b in child._buckets)

    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D0"], reason="webhook")
    with Session(engine) as s:  # queued 40 minutes ago: a backlog
        row = s.exec(select(DealQueue)).one()
        row.queued_at = utcnow() - timedelta(minutes=40)
        s.add(row)
        s.commit()

    def edited_meanwhile(item):
        with session_scope(engine) as s:
            enqueue_deals(s, "test", [item.deal_id], reason="webhook")
        return Outcome.done()

    worker = Worker(engine, worker_settings, RecordingProcessor(edited_meanwhile))
    (sum_before, count_before) = p0()
    assert worker.run_until_empty(max_batches=1) == 1
    assert dict(worker.tally) == {"rerun": 1}
    (sum_after, count_after) = p0()
    assert count_after - count_before == 1
    assert sum_after - sum_before >= 40 * 60
    row = _row(engine, "D0")  # the next run is waited for from the end of this one
    assert row.status == "pending" and utcnow() - row.queued_at < timedelta(minutes=1)


def test_a_deal_buried_after_one_lost_attempt_keeps_the_errors_before_it(engine, worker_settings):
    """A deal that timed out at the CRM twice, then lost its third and last attempt to a
    killed worker, went dead saying its worker "stopped without recording an outcome, 3
    times": the operator went looking for a deal that kills its worker, and the CRM's error
    was gone."""
    from app.connectors.base import TransientError

    clock = Clock()
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D0"], reason="webhook")
    timing_out = RecordingProcessor(
        lambda _item: Outcome.from_exception(TransientError("HubSpot 504: gateway timeout"))
    )
    worker = Worker(engine, worker_settings, timing_out, owner="w", clock=clock)
    for _ in range(worker_settings.max_attempts - 1):
        assert worker.run_once() == 1
        clock.advance(worker_settings.backoff_cap_seconds + 1)
    assert worker.claim()  # the last attempt; the worker is killed while it runs
    clock.advance(worker_settings.lease_seconds + 1)
    assert worker.claim() == []

    row = _row(engine, "D0")
    assert (row.status, row.attempts) == ("dead", worker_settings.max_attempts)
    assert "3 times" not in row.last_error
    assert "on the last of its 3 attempts" in row.last_error
    assert row.last_error.endswith("the error before: TransientError: HubSpot 504: gateway timeout")


def test_a_timed_out_batch_is_not_given_back_at_stop_with_its_attempt(engine, worker_settings):
    """A deal that hangs its batch (past BATCH_TIMEOUT_SECONDS: /healthz says stuck, and the
    orchestrator restarts the worker with a SIGTERM) was released at the stop with its attempt
    given back: it went round the workers forever, never counted, never dead. Its leases are
    left to expire instead, so the attempt counts and the lost-lease protections apply."""
    # model_copy does not validate: a timeout and a grace far below the production minimums.
    fast = worker_settings.model_copy(
        update={"worker_poll_seconds": 0.05, "batch_timeout_seconds": 0.2}
    )
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D0"], reason="webhook")
    started, never = threading.Event(), threading.Event()

    def hang(_item):
        started.set()
        never.wait(30)
        return Outcome.done()

    clock = Clock()
    hung = Worker(engine, fast, RecordingProcessor(hang), owner="hung", grace_seconds=0.1)
    stop = threading.Event()
    loop = threading.Thread(target=hung.run_forever, args=(stop,))
    loop.start()
    try:
        assert started.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while not hung.health()[1]["stuck"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert hung.health()[1]["stuck"]
        stop.set()  # SIGTERM, from the orchestrator restarting the unhealthy worker
        loop.join(WAIT)
        assert not loop.is_alive()
        row = _row(engine, "D0")
        assert (row.status, row.lease_owner, row.attempts) == ("running", "hung", 1)

        # Once the lease has run out, the next worker takes it with the attempt counted.
        clock.advance(fast.lease_seconds + 1)
        other = Worker(engine, fast, RecordingProcessor(), owner="other", clock=clock)
        assert [i.attempts for i in other.claim()] == [2]
    finally:
        never.set()


def test_the_error_kept_at_a_burial_does_not_grow_without_end(engine, worker_settings):
    """Each burial keeps the error before it, a previous burial's included (a sweep revives a
    dead row, it crashes its workers again): the text stays within record_outcomes' bound."""
    clock = Clock()
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D0"], reason="webhook")
    with Session(engine) as s:
        row = s.exec(select(DealQueue)).one()
        row.last_error = "x" * 3990
        s.add(row)
        s.commit()
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    for _ in range(worker_settings.max_attempts):
        assert worker.claim()
        clock.advance(worker_settings.lease_seconds + 1)
    assert worker.claim() == []
    row = _row(engine, "D0")
    assert row.status == "dead" and len(row.last_error) == 4000
    assert row.last_error.startswith("the worker processing this deal stopped")
