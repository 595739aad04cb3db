"""The deal queue and worker on SQLite and PostgreSQL: dedup, leases, retries, dead, replay."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from app.connectors.base import (
    CREDENTIALS_RETRY_SECONDS,
    CredentialsError,
    PermanentError,
    TransientError,
)
from app.jobs import queue
from app.jobs.ingest import InboundEvent, ingest_events
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.models import DealQueue, WebhookEvent
from app.services.pipeline import STORED_SNAPSHOT_REASONS
from tests.jobs.conftest import Clock, RecordingProcessor


def _events(n_deals: int, per_deal: int = 3, prefix: str = "e") -> list[InboundEvent]:
    return [
        InboundEvent(
            source="test",
            dedup_key=f"{prefix}-{d}-{k}",
            crm="test",
            deal_id=f"D{d}",
            event_type="deal.updated",
            payload={"n": k},
        )
        for d in range(n_deals)
        for k in range(per_deal)
    ]


def _count(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _row(engine, deal_id: str) -> DealQueue:
    with Session(engine) as s:
        return s.exec(select(DealQueue).where(DealQueue.deal_id == deal_id)).one()


def test_duplicate_delivery_stores_once_and_processes_once(engine, worker_settings):
    events = _events(5)
    first = ingest_events(engine, events)
    again = ingest_events(engine, events)
    assert (first.new, first.duplicates) == (15, 0)
    assert (again.new, again.duplicates, again.queued_deals) == (0, 15, 0)
    assert _count(engine, WebhookEvent) == 15
    assert _count(engine, DealQueue) == 5

    processor = RecordingProcessor()
    Worker(engine, worker_settings, processor).run_until_empty()
    ingest_events(engine, events)  # a late redelivery after processing queues nothing
    Worker(engine, worker_settings, processor).run_until_empty()
    assert sorted(processor.deal_ids()) == [f"D{d}" for d in range(5)]


def test_concurrent_duplicate_delivery_stores_once_and_processes_once(engine, worker_settings):
    events = _events(20, per_deal=5)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def deliver(order: int) -> None:
        batch = events[::-1] if order % 2 else events  # different orders, same events
        barrier.wait()
        try:
            ingest_events(engine, batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _count(engine, WebhookEvent) == 100
    assert _count(engine, DealQueue) == 20

    processor = RecordingProcessor()
    workers = [Worker(engine, worker_settings, processor, owner=f"w{i}") for i in range(3)]
    runners = [threading.Thread(target=w.run_until_empty) for w in workers]
    for t in runners:
        t.start()
    for t in runners:
        t.join()
    assert sorted(processor.deal_ids()) == sorted(f"D{d}" for d in range(20))


def test_killed_worker_deals_run_again_after_lease_expiry_and_late_outcome_is_ignored(
    engine, worker_settings, clock: Clock
):
    ingest_events(engine, _events(3, per_deal=1))
    crashed = Worker(engine, worker_settings, RecordingProcessor(), owner="crashed", clock=clock)
    abandoned = crashed.claim()  # claimed, then the process "dies": nothing recorded
    assert len(abandoned) == 3

    survivor_proc = RecordingProcessor()
    survivor = Worker(engine, worker_settings, survivor_proc, owner="survivor", clock=clock)
    assert survivor.run_once() == 0  # the lease still holds
    clock.advance(worker_settings.lease_seconds + 1)
    taken = survivor.claim()
    assert sorted(i.deal_id for i in taken) == ["D0", "D1", "D2"]
    assert all(item.attempts == 2 for item in taken)

    # The crashed worker wakes up mid-run of the survivor and reports: it holds no lease now.
    late = {item.id: Outcome("dead", error="stale") for item in abandoned}
    assert crashed.record(abandoned, late) == 0
    assert {(_row(engine, d).status, _row(engine, d).lease_owner) for d in ("D0", "D1")} == {
        ("running", "survivor")
    }
    assert survivor.record(taken, survivor_proc.process(taken)) == 3
    assert crashed.record(abandoned, late) == 0  # and after the survivor finished
    for deal in ("D0", "D1", "D2"):
        row = _row(engine, deal)
        assert (row.status, row.last_error, row.lease_owner) == ("done", None, None)
    assert survivor.run_once() == 0  # exactly once in effect
    assert sorted(survivor_proc.deal_ids()) == ["D0", "D1", "D2"]


def test_retry_after_is_a_floor_for_the_next_attempt(engine, worker_settings, clock: Clock):
    ingest_events(engine, _events(1, per_deal=1))
    processor = RecordingProcessor(
        lambda _i: Outcome.from_exception(TransientError("429 from CRM", retry_after=300))
    )
    worker = Worker(engine, worker_settings, processor, clock=clock)
    before = clock()
    assert worker.run_once() == 1
    row = _row(engine, "D0")
    assert row.status == "pending"
    assert "429 from CRM" in row.last_error
    # The backoff window for attempt 1 is 2 s; the remote asked for 300 s.
    assert row.due_at >= before + timedelta(seconds=300)
    assert row.due_at <= clock() + timedelta(seconds=301)
    clock.advance(299)
    assert worker.run_once() == 0
    clock.advance(2)
    assert worker.run_once() == 1


def test_backoff_is_exponential_with_full_jitter_and_capped():
    rng = random.Random(7)
    for attempts, window in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 60.0)]:
        delays = [queue.retry_delay(attempts, base=2.0, cap=60.0, rng=rng) for _ in range(300)]
        assert all(0 <= d <= window for d in delays)
        assert max(delays) > window * 0.8  # jitter spans the window
        assert min(delays) < window * 0.2
    assert queue.retry_delay(1, base=2.0, cap=60.0, retry_after=30, rng=rng) >= 30


def test_dead_after_max_attempts_keeps_error_and_replay_brings_it_back(
    engine, worker_settings, clock: Clock
):
    ingest_events(engine, _events(1, per_deal=1))
    failing = RecordingProcessor(lambda _i: Outcome("retry", error="CRM timeout"))
    worker = Worker(engine, worker_settings, failing, clock=clock)
    for _ in range(worker_settings.max_attempts):
        clock.advance(worker_settings.backoff_cap_seconds + 1)
        assert worker.run_once() == 1
    row = _row(engine, "D0")
    assert row.status == "dead"
    assert row.attempts == worker_settings.max_attempts
    assert "CRM timeout" in row.last_error and "gave up after 3 attempts" in row.last_error
    clock.advance(worker_settings.backoff_cap_seconds + 1)
    assert worker.run_once() == 0  # dead rows are not claimed

    with Session(engine) as s:
        assert queue.replay_dead(s) == [row.id]
        s.commit()
    ok = RecordingProcessor()
    assert Worker(engine, worker_settings, ok, clock=clock).run_once() == 1
    assert ok.seen[0].attempts == 1  # a fresh attempt budget
    assert _row(engine, "D0").status == "done"


def test_permanent_error_is_dead_at_once(engine, worker_settings):
    ingest_events(engine, _events(2, per_deal=1))
    processor = RecordingProcessor(
        lambda i: (
            Outcome.from_exception(PermanentError("missing scope"))
            if i.deal_id == "D0"
            else Outcome.done()
        )
    )
    Worker(engine, worker_settings, processor).run_once()
    dead, done = _row(engine, "D0"), _row(engine, "D1")
    assert (dead.status, dead.attempts) == ("dead", 1)
    assert "missing scope" in dead.last_error
    assert done.status == "done"


def test_refused_credentials_hold_the_deal_without_spending_attempts(
    engine, worker_settings, clock: Clock
):
    ingest_events(engine, _events(1, per_deal=1))
    refusing = RecordingProcessor(
        lambda _i: Outcome.from_exception(CredentialsError("HTTP 401: token expired"))
    )
    worker = Worker(engine, worker_settings, refusing, clock=clock)
    for _ in range(worker_settings.max_attempts * 3):  # a retry would be dead after 3
        before = clock()
        assert worker.run_once() == 1
        row = _row(engine, "D0")
        assert (row.status, row.attempts) == ("pending", 0)
        assert "CredentialsError: HTTP 401: token expired" in row.last_error
        assert row.due_at >= before + timedelta(seconds=CREDENTIALS_RETRY_SECONDS)
        clock.advance(CREDENTIALS_RETRY_SECONDS + 1)
    assert [i.attempts for i in refusing.seen] == [1] * worker_settings.max_attempts * 3

    ok = RecordingProcessor()
    assert Worker(engine, worker_settings, ok, clock=clock).run_once() == 1
    assert _row(engine, "D0").status == "done"


def test_credentials_refused_inside_the_processor_hold_the_batch(engine, worker_settings):
    ingest_events(engine, _events(2, per_deal=1))

    class Refused:
        def process(self, batch):
            raise CredentialsError("Salesforce refused the login (400): invalid_grant")

    Worker(engine, worker_settings, Refused()).run_once()
    for deal in ("D0", "D1"):
        row = _row(engine, deal)
        assert (row.status, row.attempts) == ("pending", 0)
        assert "invalid_grant" in row.last_error


def test_processor_exception_and_missing_outcomes_are_retries(engine, worker_settings):
    ingest_events(engine, _events(2, per_deal=1))

    class Exploding:
        def process(self, batch):
            raise RuntimeError("bug in the pipeline")

    Worker(engine, worker_settings, Exploding()).run_once()
    for deal in ("D0", "D1"):
        row = _row(engine, deal)
        assert (row.status, row.attempts) == ("pending", 1)
        assert "RuntimeError: bug in the pipeline" in row.last_error

    class Forgetful:
        def process(self, batch):
            return {}

    clock = Clock()
    clock.advance(120)
    Worker(engine, worker_settings, Forgetful(), clock=clock).run_once()
    row = _row(engine, "D0")
    assert (row.status, row.attempts) == ("pending", 2)
    assert "no outcome" in row.last_error


def test_event_while_running_runs_the_deal_again_after_it_finishes(engine, worker_settings):
    ingest_events(engine, _events(1, per_deal=1, prefix="first"))
    processor = RecordingProcessor()
    worker = Worker(engine, worker_settings, processor)
    items = worker.claim()
    # A change arrives while the deal is being evaluated: the run in hand may have read it stale.
    result = ingest_events(engine, _events(1, per_deal=1, prefix="second"))
    assert result.queued_deals == 1
    assert _count(engine, DealQueue) == 1
    running = _row(engine, "D0")
    assert (running.status, running.rerun) == ("running", True)

    worker.record(items, processor.process(items))
    row = _row(engine, "D0")
    assert (row.status, row.rerun, row.attempts) == ("pending", False, 0)
    assert worker.run_once() == 1
    assert _row(engine, "D0").status == "done"
    assert processor.deal_ids() == ["D0", "D0"]


def test_stop_finishes_the_batch_in_hand(engine, worker_settings):
    ingest_events(engine, _events(2, per_deal=1))
    started, proceed = threading.Event(), threading.Event()

    def slow(item):
        started.set()
        proceed.wait(5)
        return Outcome.done()

    worker = Worker(engine, worker_settings, RecordingProcessor(slow), grace_seconds=5)
    stop = threading.Event()
    loop = threading.Thread(target=worker.run_forever, args=(stop,))
    loop.start()
    assert started.wait(5)
    stop.set()  # what SIGTERM does
    time.sleep(0.2)
    proceed.set()
    loop.join(5)
    assert not loop.is_alive()
    assert {_row(engine, d).status for d in ("D0", "D1")} == {"done"}


def test_stop_releases_the_batch_when_processing_outlasts_the_grace_period(engine, worker_settings):
    ingest_events(engine, _events(2, per_deal=1))
    started, never = threading.Event(), threading.Event()

    def stuck(item):
        started.set()
        never.wait(10)
        return Outcome.done()

    worker = Worker(engine, worker_settings, RecordingProcessor(stuck), grace_seconds=0.2)
    stop = threading.Event()
    loop = threading.Thread(target=worker.run_forever, args=(stop,))
    loop.start()
    assert started.wait(5)
    stop.set()
    loop.join(5)
    assert not loop.is_alive()
    for deal in ("D0", "D1"):
        row = _row(engine, deal)
        assert (row.status, row.lease_owner, row.attempts) == ("pending", None, 0)
    never.set()
    # Another worker takes them at once, without waiting for a lease to expire.
    other = RecordingProcessor()
    assert Worker(engine, worker_settings, other).run_once() == 2


def test_lease_is_renewed_while_a_slow_batch_runs(engine, worker_settings):
    # model_copy does not validate: a lease far below the production minimum, to stay fast (a
    # second: 0.3 s expired on a loaded 2-core machine before the renewal thread ran).
    fast = worker_settings.model_copy(update={"lease_seconds": 1.0, "worker_poll_seconds": 0.05})
    ingest_events(engine, _events(1, per_deal=1))
    started, proceed = threading.Event(), threading.Event()

    def slow(item):
        started.set()
        proceed.wait(5)
        return Outcome.done()

    slow_worker = Worker(engine, fast, RecordingProcessor(slow), owner="slow")
    stop = threading.Event()
    loop = threading.Thread(target=slow_worker.run_forever, args=(stop,))
    loop.start()
    assert started.wait(5)
    thief = RecordingProcessor()
    other = Worker(engine, fast, thief, owner="other")
    deadline = time.monotonic() + 3.0  # three lease lengths
    while time.monotonic() < deadline:
        other.run_once()
        time.sleep(0.05)
    proceed.set()
    stop.set()
    loop.join(5)
    assert thief.seen == []
    assert _row(engine, "D0").status == "done"


def test_an_event_needing_a_crm_read_wins_over_a_snapshot_only_reason(engine, worker_settings):
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["D1", "D2"], reason="roadmap")
        s.commit()
    worker = Worker(engine, worker_settings, RecordingProcessor())
    items = worker.claim()
    ingest_events(engine, [InboundEvent("test", "x1", "test", "D1")])  # while running
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["D2"], reason="approval")  # snapshot-only again
        s.commit()
    worker.record(items, {i.id: Outcome.done() for i in items})
    assert _row(engine, "D1").reason == "webhook"  # the rerun reads the CRM
    assert _row(engine, "D2").reason == "roadmap"
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["D3"], reason="roadmap")
        queue.enqueue_deals(s, "test", ["D3"], reason="reconcile")  # while pending
        s.commit()
    assert _row(engine, "D3").reason == "reconcile"
    # Every reason the pipeline evaluates from the stored snapshot gives way to a read.
    for reason in sorted(STORED_SNAPSHOT_REASONS):
        with Session(engine) as s:
            queue.enqueue_deals(s, "test", [f"W-{reason}"], reason="webhook")
            queue.enqueue_deals(s, "test", [f"W-{reason}"], reason=reason)  # while pending
            s.commit()
        assert _row(engine, f"W-{reason}").reason == "webhook", reason


def test_a_webhook_for_a_deal_queued_for_later_is_served_now_but_a_retry_keeps_its_wait(
    engine, worker_settings
):
    """A paced backfill (or reread) queues deals due later; a webhook for one of them must not
    wait that long. A retry's backoff stays: chatter does not bypass it."""
    later = queue.utcnow() + timedelta(minutes=40)
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["B1", "R1"], reason="backfill", due_at=later)
        s.commit()
    with Session(engine) as s:  # R1 failed once: a retry, due later
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == "R1")).one()
        row.attempts = 1
        s.add(row)
        s.commit()
    before = queue.utcnow()
    ingest_events(engine, [InboundEvent("test", "w1", "test", "B1"),
                           InboundEvent("test", "w2", "test", "R1")])  # fmt: skip
    b1, r1 = _row(engine, "B1"), _row(engine, "R1")
    assert (b1.reason, r1.reason) == ("webhook", "webhook")
    assert before - timedelta(seconds=1) <= b1.due_at <= queue.utcnow()
    assert r1.due_at == later
    with Session(engine) as s:  # a later due time never postpones a row
        queue.enqueue_deals(s, "test", ["B1"], reason="backfill", due_at=later)
        s.commit()
    assert _row(engine, "B1").due_at == b1.due_at


def test_ingest_stores_every_column_and_payload_exactly(engine):
    """The inbox insert reads its rows from one JSON parameter: nothing may be lost or retyped."""
    payload = {
        "objectId": 1234567890123,
        "propertyValue": "Über-Kunde — 50 % off, «SSO» ✓",
        "nested": {"list": [1, 2.5, None, True, "x"], "empty": {}},
        "quote": 'a "b" \\ c',
    }
    before = queue.utcnow()
    result = ingest_events(
        engine,
        [
            InboundEvent("hubspot", "p:1:2:3", "hubspot", "12345", "deal.propertyChange", payload),
            InboundEvent("hubspot", "p:1:2:4", "hubspot", None, None, {}, actionable=True),
            InboundEvent("hubspot", "p:1:2:5", "hubspot", "777", "deal.creation", actionable=False),
        ],
    )
    assert (result.new, result.queued_deals) == (3, 1)
    with Session(engine) as s:
        rows = {r.dedup_key: r for r in s.exec(select(WebhookEvent))}
        [queued] = s.exec(select(DealQueue)).all()
    first = rows["p:1:2:3"]
    assert (first.source, first.crm, first.deal_id, first.event_type, first.status) == (
        "hubspot",
        "hubspot",
        "12345",
        "deal.propertyChange",
        "queued",
    )
    assert first.payload == payload
    assert before <= first.received_at <= queue.utcnow()
    assert (rows["p:1:2:4"].deal_id, rows["p:1:2:4"].event_type, rows["p:1:2:4"].payload) == (
        None,
        None,
        {},
    )
    assert rows["p:1:2:4"].status == rows["p:1:2:5"].status == "ignored"
    assert (queued.crm, queued.deal_id, queued.status, queued.reason) == (
        "hubspot",
        "12345",
        "pending",
        "webhook",
    )
    assert queued.due_at == queued.queued_at and before <= queued.due_at <= queue.utcnow()


def test_a_claim_takes_the_oldest_due_work_first_expired_leases_included(engine):
    """Due pending rows and running rows whose lease expired are claimed together, oldest
    `due_at` first, up to the limit; rows not yet due and live leases are left alone."""
    from app.models import utcnow

    now = utcnow()
    rows = {
        "pending-old": ("pending", now - timedelta(minutes=30), None),
        "expired": ("running", now - timedelta(minutes=20), now - timedelta(seconds=1)),
        "pending-mid": ("pending", now - timedelta(minutes=10), None),
        "pending-new": ("pending", now - timedelta(minutes=5), None),
        "live-lease": ("running", now - timedelta(minutes=40), now + timedelta(minutes=5)),
        "not-due": ("pending", now + timedelta(minutes=1), None),
    }
    with Session(engine) as s:
        for deal_id, (status, due_at, lease) in rows.items():
            s.add(
                DealQueue(
                    crm="test",
                    deal_id=deal_id,
                    status=status,
                    due_at=due_at,
                    lease_owner="other" if lease else None,
                    lease_expires_at=lease,
                )
            )
        s.commit()

    first = queue.claim_batch(engine, owner="w1", limit=3, lease_seconds=60, now=now)
    assert sorted(i.deal_id for i in first) == ["expired", "pending-mid", "pending-old"]
    rest = queue.claim_batch(engine, owner="w1", limit=3, lease_seconds=60, now=now)
    assert [i.deal_id for i in rest] == ["pending-new"]
    assert _row(engine, "live-lease").lease_owner == "other"
    assert _row(engine, "not-due").status == "pending"


def test_a_reps_change_is_claimed_before_a_sweep_queued_earlier(engine, worker_settings):
    """A roadmap change queued every open deal; a webhook a moment later must not wait for all
    of them. Within a priority the oldest due row still comes first, and a sweep's rows run
    once nothing more urgent is due."""
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", [f"R{i}" for i in range(5)], reason="roadmap")
        queue.enqueue_deals(s, "test", ["B1"], reason="backfill")
        s.commit()
    ingest_events(engine, [InboundEvent("test", "w1", "test", "W1")])
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["A1"], reason="approval")
        queue.enqueue_deals(s, "test", ["R4"], reason="reconcile")  # a queued sweep row, read
        s.commit()
    first = queue.claim_batch(engine, owner="w1", limit=4, lease_seconds=60)
    # (a batch is handed over in id order) the three urgent rows, and the oldest of the sweep
    assert {i.deal_id for i in first} == {"W1", "A1", "R4", "R0"}
    second = queue.claim_batch(engine, owner="w1", limit=2, lease_seconds=60)
    assert {i.deal_id for i in second} == {"R1", "R2"}
    rest = queue.claim_batch(engine, owner="w1", limit=10, lease_seconds=60)
    assert {i.deal_id for i in rest} == {"R3", "B1"}


def test_a_flood_of_urgent_rows_leaves_a_tenth_of_each_claim_to_the_sweep(engine):
    """A bulk edit in the CRM (a webhook per deal, faster than the workers drain them) must not
    stop a roadmap change's re-checks, which carry new blocks: a tenth of a claim of ten or more
    goes to due sweep rows, the oldest first; a smaller claim serves urgent rows only."""
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", [f"R{i}" for i in range(5)], reason="roadmap")
        queue.enqueue_deals(s, "test", [f"W{i:02d}" for i in range(40)], reason="webhook")
        s.commit()
    first = queue.claim_batch(engine, owner="w1", limit=20, lease_seconds=60)
    assert sorted(i.deal_id for i in first) == ["R0", "R1"] + [f"W{i:02d}" for i in range(18)]
    small = queue.claim_batch(engine, owner="w1", limit=5, lease_seconds=60)
    assert sorted(i.deal_id for i in small) == [f"W{i:02d}" for i in range(18, 23)]
    # when the urgent rows run short the sweep fills the claim
    rest = queue.claim_batch(engine, owner="w1", limit=30, lease_seconds=60)
    assert sorted(i.deal_id for i in rest) == ["R2", "R3", "R4"] + [
        f"W{i:02d}" for i in range(23, 40)
    ]


def test_a_row_keeps_the_more_urgent_priority_while_it_waits(engine, worker_settings):
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["D1"], reason="webhook")
        queue.enqueue_deals(s, "test", ["D1"], reason="roadmap")  # while pending
        queue.enqueue_deals(s, "test", ["D2"], reason="roadmap")
        s.commit()
    assert (_row(engine, "D1").reason, _row(engine, "D1").priority) == ("webhook", 0)
    assert (_row(engine, "D2").reason, _row(engine, "D2").priority) == ("roadmap", 1)
    worker = Worker(engine, worker_settings, RecordingProcessor())
    items = worker.claim()
    with Session(engine) as s:  # an approval while D2 runs: its rerun is urgent
        queue.enqueue_deals(s, "test", ["D2"], reason="approval")
        s.commit()
    worker.record(items, {i.id: Outcome.done() for i in items})
    assert (_row(engine, "D2").status, _row(engine, "D2").priority) == ("pending", 0)
    worker.record(worker.claim(), {})  # D2 again
    with Session(engine) as s:  # finished rows start afresh with the new reason's priority
        queue.enqueue_deals(s, "test", ["D1"], reason="reread")
        s.commit()
    assert _row(engine, "D1").priority == 1


def test_a_not_yet_due_urgent_row_does_not_hold_back_a_due_sweep(engine):
    """A webhook's retry waiting out its backoff is not claimed, nor does it stop the due
    roadmap rows behind it; a paced backfill's later rows stay put."""
    now = queue.utcnow()
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["W1"], reason="webhook", due_at=now + timedelta(minutes=5))
        queue.enqueue_deals(s, "test", ["B1"], reason="backfill", due_at=now + timedelta(hours=1))
        queue.enqueue_deals(s, "test", ["R1"], reason="roadmap", due_at=now)
        s.commit()
    claimed = queue.claim_batch(engine, owner="w1", limit=10, lease_seconds=60, now=now)
    assert [i.deal_id for i in claimed] == ["R1"]


def test_an_unusable_retry_after_never_breaks_the_backoff():
    """A remote's Retry-After of nan or inf crashed the outcome recording (every outcome of
    the batch lost); a huge one is at most a day."""
    for value in (float("nan"), float("inf"), -5.0):
        delay = queue.retry_delay(3, base=1.0, cap=60.0, retry_after=value)
        assert 0.0 <= delay <= 60.0
    assert queue.retry_delay(1, base=1.0, cap=60.0, retry_after=1e12) == 86_400.0


def test_a_salesforce_id_is_queued_in_one_form_whatever_form_it_came_in(engine):
    """A 15-character Salesforce id (reports and Classic URLs show it) is queued as the
    18-character one the connector reads and the deal is stored under: one row for both
    forms, and the read finds it (keyed under the 15-character form, the pipeline read it as
    gone). Other CRMs' ids are kept as given."""
    with Session(engine) as s:
        queue.enqueue_deals(s, "salesforce", ["006000000000001", "006000000000001AAA"])
        queue.enqueue_deals(s, "hubspot", ["006000000000001"])
        s.commit()
        rows = sorted((r.crm, r.deal_id) for r in s.exec(select(DealQueue)))
    assert rows == [("hubspot", "006000000000001"), ("salesforce", "006000000000001AAA")]


def test_a_sweep_reviving_a_dead_row_keeps_its_crm_read(engine, worker_settings):
    """A deal whose webhook went dead (its CRM read failed) and that a roadmap change sweeps
    later is read from the CRM, not re-evaluated from the old snapshot: the change that killed
    it is read, and its `last_error` is cleared only by a run that read it."""
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["DEAD", "DONE"], reason="webhook")
        queue.enqueue_deals(s, "test", ["DEAD-SWEEP"], reason="roadmap")
        s.commit()
    permanent = Outcome.from_exception(PermanentError("400 on read"))
    processor = RecordingProcessor(
        lambda item: Outcome.done() if item.deal_id == "DONE" else permanent
    )
    worker = Worker(engine, worker_settings, processor)
    assert worker.run_once() == 3
    assert _row(engine, "DEAD").status == "dead"
    for reason in sorted(STORED_SNAPSHOT_REASONS):  # every snapshot-only sweep
        with Session(engine) as s:
            queue.enqueue_deals(s, "test", ["DEAD", "DONE", "DEAD-SWEEP"], reason=reason)
            s.commit()
        dead = _row(engine, "DEAD")
        assert (dead.status, dead.reason) == ("pending", "webhook"), reason
        assert dead.last_error == "PermanentError: 400 on read"  # until a run reads it
        assert _row(engine, "DONE").reason == reason  # its read succeeded: the snapshot will do
        assert _row(engine, "DEAD-SWEEP").reason == reason  # it needed no read
        with Session(engine) as s:  # back to what the run left, for the next sweep
            for deal_id, status in (("DEAD", "dead"), ("DONE", "done"), ("DEAD-SWEEP", "dead")):
                row = s.exec(select(DealQueue).where(DealQueue.deal_id == deal_id)).one()
                row.status = status
                s.add(row)
            s.commit()
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["DEAD"], reason="roadmap")
        s.commit()
    processor.decide = lambda _item: Outcome.done()
    assert worker.run_once() == 1
    assert [(i.deal_id, i.reason) for i in processor.seen[-1:]] == [("DEAD", "webhook")]
    assert (_row(engine, "DEAD").status, _row(engine, "DEAD").last_error) == ("done", None)


def test_a_deal_that_kills_its_worker_goes_dead_alone_after_max_attempts(
    engine, worker_settings, clock: Clock
):
    """A deal whose processing kills the worker (OOM, segfault: no outcome, the lease runs out)
    is not claimed forever: once it has used MAX_ATTEMPTS it goes dead with an error saying so.
    Back from a second expired lease, rows are claimed one at a time, so its batchmates finish."""
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["A", "B", "POISON"])
        s.commit()
    processor = RecordingProcessor()
    worker = Worker(engine, worker_settings, processor, owner="w", clock=clock)
    batches = []
    for _ in range(10):
        items = worker.claim()
        batches.append(sorted(i.deal_id for i in items))
        if any(i.deal_id == "POISON" for i in items):
            assert all(i.attempts <= worker_settings.max_attempts for i in items)
        elif items:
            worker.record(items, processor.process(items))
        clock.advance(worker_settings.lease_seconds + 1)  # the killed worker's lease runs out
    assert batches[:6] == [
        ["A", "B", "POISON"],
        ["A", "B", "POISON"],
        ["A"],
        ["B"],
        ["POISON"],
        [],
    ]
    poison = _row(engine, "POISON")
    assert (poison.status, poison.attempts, poison.lease_owner) == ("dead", 3, None)
    assert poison.last_error.startswith("the worker processing this deal stopped without")
    assert "on the last of its 3 attempts; not claimed again" in poison.last_error
    assert "the error before" not in poison.last_error  # it only ever crashed its worker
    assert [_row(engine, d).status for d in ("A", "B")] == ["done", "done"]
    # An operator's replay gives it a fresh budget, as for any dead row.
    with Session(engine) as s:
        assert len(queue.replay_dead(s)) == 1
        s.commit()
    assert [i.deal_id for i in worker.claim()] == ["POISON"]


def test_a_batch_outlasting_the_timeout_gives_up_its_leases_and_reports_stuck(
    engine, worker_settings
):
    """A batch that never returns (a hung CRM call) must not keep its deals leased and the
    worker's /healthz green forever: after BATCH_TIMEOUT_SECONDS its leases are no longer
    renewed, another worker takes the deals once they expire, and health says stuck."""
    # model_copy does not validate: a lease and a timeout far below the production minimums.
    fast = worker_settings.model_copy(
        update={"lease_seconds": 1.0, "worker_poll_seconds": 0.05, "batch_timeout_seconds": 1.5}
    )
    ingest_events(engine, _events(1, per_deal=1))
    started, proceed = threading.Event(), threading.Event()

    def hang(_item):
        started.set()
        proceed.wait(30)
        return Outcome.done()

    hung = Worker(engine, fast, RecordingProcessor(hang), owner="hung")
    stop = threading.Event()
    loop = threading.Thread(target=hung.run_forever, args=(stop,))
    loop.start()
    try:
        assert started.wait(5)
        time.sleep(0.5)
        assert hung.health()[0]  # still within the timeout: renewed, healthy
        other_proc = RecordingProcessor()
        other = Worker(engine, fast, other_proc, owner="other")
        deadline = time.monotonic() + 10
        while not other_proc.seen and time.monotonic() < deadline:
            other.run_once()
            time.sleep(0.05)
        assert other_proc.deal_ids() == ["D0"]  # taken over once the lease expired
        assert _row(engine, "D0").status == "done"
        healthy, details = hung.health()
        assert not healthy and details["stuck"] is True
    finally:
        proceed.set()
        stop.set()
        loop.join(10)
    assert _row(engine, "D0").status == "done"  # the hung batch's late outcome is stale
    assert not hung.health()[0]  # stopped


def _age_queued(engine, deal_id: str, minutes: float) -> None:
    with Session(engine) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == deal_id)).one()
        row.queued_at = queue.utcnow() - timedelta(minutes=minutes)
        s.add(row)
        s.commit()


def test_processing_latency_counts_from_when_the_deal_was_last_wanted(engine, worker_settings):
    """roadmap_guard_processing_seconds{priority="0"} is what a rep waits for: a webhook for a
    deal a paced backfill queued 40 minutes ago, or a dead deal replayed days later, is waited
    for from the webhook or the replay, not from the row's first enqueue."""
    from app import metrics

    def p0_sum() -> float:
        return metrics.PROCESSING_SECONDS.labels(priority="0")._sum.get()

    later = queue.utcnow() + timedelta(hours=1)
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["BF"], reason="backfill", due_at=later)
        queue.enqueue_deals(s, "test", ["WH"], reason="webhook")
        s.commit()
    _age_queued(engine, "BF", 40)
    _age_queued(engine, "WH", 40)
    before = queue.utcnow()
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["BF", "WH"], reason="webhook")  # the rep edits them
        s.commit()
    assert _row(engine, "BF").queued_at >= before  # became urgent now
    assert _row(engine, "WH").queued_at < before  # already urgent: it has waited 40 minutes
    with Session(engine) as s:  # a sweep does not make it wanted any sooner
        queue.enqueue_deals(s, "test", ["WH"], reason="roadmap")
        s.commit()
    assert _row(engine, "WH").queued_at < before
    _age_queued(engine, "WH", 0)
    worker = Worker(engine, worker_settings, RecordingProcessor())
    start = p0_sum()
    assert worker.run_once() == 2
    assert p0_sum() - start < 60  # not 40 minutes

    # Dead for days, then replayed (or retried) by an operator: waited for from then.
    processor = RecordingProcessor(lambda _i: Outcome.from_exception(PermanentError("400")))
    worker = Worker(engine, worker_settings, processor)
    for deal_id in ("BF", "WH"):
        with Session(engine) as s:
            queue.enqueue_deals(s, "test", [deal_id], reason="webhook")
            s.commit()
    assert worker.run_once() == 2
    _age_queued(engine, "BF", 3 * 24 * 60)
    _age_queued(engine, "WH", 3 * 24 * 60)
    before = queue.utcnow()
    with Session(engine) as s:
        assert queue.retry_now(s, s.exec(select(DealQueue).where(DealQueue.deal_id == "WH")).one())
        assert len(queue.replay_dead(s)) == 1
        s.commit()
    assert _row(engine, "BF").queued_at >= before and _row(engine, "WH").queued_at >= before
    start = p0_sum()
    assert Worker(engine, worker_settings, RecordingProcessor()).run_once() == 2
    assert p0_sum() - start < 60


def test_worker_burst_says_how_the_deals_it_claimed_ended(engine, monkeypatch, capsys, caplog):
    """`worker --burst` claimed three deals, one done, one held (the CRM refused our token),
    one dead: it must not say it processed three. The dead one's log line names no next
    attempt."""
    from app.cli import main

    with Session(engine) as s:
        queue.enqueue_deals(s, "test", ["D-done", "D-held", "D-dead"])
        s.commit()
    outcomes = {
        "D-done": Outcome.done(),
        "D-held": Outcome.from_exception(CredentialsError("401")),
        "D-dead": Outcome.from_exception(PermanentError("400")),
    }
    logged = []
    monkeypatch.setattr(
        Worker, "process", lambda self, items: {i.id: outcomes[i.deal_id] for i in items}
    )
    monkeypatch.setattr(
        "app.jobs.worker.log.warning", lambda event, **kw: logged.append((event, kw))
    )
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("WORKER_MODE", "off")
    assert main(["worker", "--burst"]) == 0
    out = capsys.readouterr().out
    assert "claimed 3 deals: done 1, retrying or held 1, dead 1" in out
    assert "processed" not in out
    by_deal = {kw["deal_id"]: kw for event, kw in logged if event == "deal not processed"}
    assert "next_attempt_at" not in by_deal["D-dead"]
    assert "next_attempt_at" in by_deal["D-held"]
