"""The worker: claim a batch of due deals, hand it to the processor, record each outcome.

Any number of workers (threads, processes, machines) share one queue: claims are leased rows,
so a crashed worker's deals come back when its lease expires, and an outcome is written only
while the lease is still this worker's (see app/jobs/queue.py).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.engine import Engine

from app import metrics
from app.jobs import queue
from app.jobs.streak import FailureStreak
from app.jobs.types import Outcome, Processor, QueueItem
from app.models import utcnow
from app.settings import Settings

log = structlog.get_logger("app.worker")

Clock = Callable[[], datetime]


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# Leases and due times are written with each worker's clock (and enqueues with the API's). A
# worker whose clock is behind the others' by more than 2/3 of LEASE_SECONDS has its leases seen
# as expired between two renewals (every LEASE_SECONDS / 3): another worker takes its deals
# while it still runs them (its outcomes are then dropped as stale: run twice, never wrong). A
# clock ahead claims retries early and keeps a dead worker's deals longer (up to an hour, see
# queue.LEASE_FROM_A_CLOCK_AHEAD). NTP keeps clocks within milliseconds; at start a worker
# compares its clock with the database server's and warns past this many seconds.
CLOCK_SKEW_WARNING_SECONDS = 5.0


def database_clock(engine: Engine) -> datetime:
    """The database server's current time, UTC (PostgreSQL's clock_timestamp(); SQLite's is
    this machine's)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        raw = conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)


class Worker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        processor: Processor,
        *,
        owner: str | None = None,
        clock: Clock = utcnow,
        grace_seconds: float = 20.0,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.processor = processor
        self.owner = owner or default_owner()
        self.clock = clock
        # SIGTERM: how long the batch in hand may still run before its leases are given back.
        self.grace_seconds = grace_seconds
        # Liveness (`health`): the loop beats on every turn, and while a batch runs.
        self._last_beat = time.monotonic()
        self._stopped = False
        # When the batch in hand outlasted BATCH_TIMEOUT_SECONDS (monotonic), else None.
        self._stuck_since: float | None = None
        # Whether the last batch `_process_watched` waited for outlasted BATCH_TIMEOUT_SECONDS.
        self._timed_out = False
        # Recorded outcomes by kind (done, rerun, retry, dead, dead_rerun, stale), since start.
        self.tally: Counter[str] = Counter()

    # --- liveness ---------------------------------------------------------------------------

    def beat(self) -> None:
        self._last_beat = time.monotonic()

    def health(self, stale_after: float | None = None) -> tuple[bool, dict[str, Any]]:
        """(healthy, details) for the worker's /healthz: the loop has turned within
        `stale_after` seconds (default max(120, 10 x poll interval)), has not stopped, and is
        not waiting for a batch that outlasted BATCH_TIMEOUT_SECONDS (stuck).

        A database outage does not make it unhealthy: the loop keeps turning and retrying, and
        a restart would not bring the database back (the API's /readyz reports that)."""
        if stale_after is None:
            stale_after = max(120.0, 10 * self.settings.worker_poll_seconds)
        silent = time.monotonic() - self._last_beat
        stuck = self._stuck_since is not None
        healthy = not self._stopped and not stuck and silent <= stale_after
        return healthy, {
            "owner": self.owner,
            "stopped": self._stopped,
            "stuck": stuck,
            "seconds_since_last_loop": round(silent, 3),
        }

    def check_clock(self) -> float | None:
        """How many seconds this worker's clock is ahead of the database server's (negative:
        behind), logged as a warning past CLOCK_SKEW_WARNING_SECONDS; None if it could not be
        read (logged, never fatal: the loop then copes with the database as it always does)."""
        try:
            before = time.monotonic()
            server = database_clock(self.engine)
            ours = self.clock() - timedelta(seconds=(time.monotonic() - before) / 2)
        except Exception as exc:
            log.warning("cannot compare this worker's clock with the database's",
                        error=type(exc).__name__)  # fmt: skip
            return None
        skew = (ours - server).total_seconds()
        if abs(skew) > CLOCK_SKEW_WARNING_SECONDS:
            log.warning(
                "this worker's clock differs from the database server's: leases and due times "
                "are written with it (keep the machines' clocks synchronized: NTP)",
                skew_seconds=round(skew, 1),
                lease_seconds=self.settings.lease_seconds,
                leases_lapse_early=skew < -self.settings.lease_seconds * 2 / 3,
            )
        return skew

    # --- one step -----------------------------------------------------------------------

    def claim(self) -> list[QueueItem]:
        items = queue.claim_batch(
            self.engine,
            owner=self.owner,
            limit=self.settings.worker_batch_size,
            lease_seconds=self.settings.lease_seconds,
            now=self.clock(),
            max_attempts=self.settings.max_attempts,
        )
        if items:
            log.debug("claimed", count=len(items), deal_ids=[i.deal_id for i in items])
        return items

    def process(self, items: Sequence[QueueItem]) -> dict[int, Outcome]:
        """Run the processor; an exception escaping it is a retry for the whole batch."""
        with structlog.contextvars.bound_contextvars(deal_ids=[i.deal_id for i in items]):
            try:
                return dict(self.processor.process(items))
            except Exception as exc:
                log.exception("batch failed", error=type(exc).__name__)
                failed = Outcome.from_exception(exc)
                if failed.kind == "dead":  # a processor must not end a batch this way: retry
                    failed = Outcome("retry", error=failed.error)
                return {item.id: failed for item in items}

    def record(self, items: Sequence[QueueItem], outcomes: dict[int, Outcome]) -> int:
        """Store outcomes (missing ones are retries). Returns how many were still ours."""
        missing = Outcome("retry", error="processor returned no outcome for this deal")
        results = queue.record_outcomes(
            self.engine,
            owner=self.owner,
            outcomes=[(item, outcomes.get(item.id, missing)) for item in items],
            max_attempts=self.settings.max_attempts,
            backoff_base=self.settings.backoff_base_seconds,
            backoff_cap=self.settings.backoff_cap_seconds,
            now=self.clock(),
        )
        finished = utcnow()
        applied = 0
        for result in results:
            item = result.item
            metrics.OUTCOMES.labels(crm=item.crm, outcome=result.kind).inc()
            self.tally[result.kind] += 1
            if result.kind == "stale":
                log.warning(
                    "outcome ignored: lease lost", deal_id=item.deal_id, attempt=item.attempts
                )
                continue
            applied += 1
            if result.kind in ("done", "rerun") and result.queued_at is not None:
                metrics.PROCESSING_SECONDS.labels(priority=str(item.priority)).observe(
                    max((finished - result.queued_at).total_seconds(), 0.0)
                )
            if result.kind in ("retry", "dead", "dead_rerun"):
                outcome = outcomes.get(item.id, missing)
                details = {}
                if result.kind != "dead" and result.due_at:  # a dead row has no next attempt
                    details["next_attempt_at"] = result.due_at.isoformat()
                log.warning(
                    "deal not processed",
                    deal_id=item.deal_id,
                    crm=item.crm,
                    outcome=result.kind,
                    attempt=item.attempts,
                    error=outcome.error,
                    **details,
                )
        return applied

    def release(self, items: Sequence[QueueItem]) -> int:
        released = queue.release(self.engine, owner=self.owner, items=items, now=self.clock())
        log.info("released batch", count=released, deal_ids=[i.deal_id for i in items])
        return released

    def _extend_leases(self, items: Sequence[QueueItem]) -> None:
        """Renew the leases of the batch being processed (a failure is logged: the next beat
        tries again, and a lease that lapses meanwhile is only taken over, never lost)."""
        try:
            queue.extend_leases(
                self.engine,
                owner=self.owner,
                items=items,
                lease_seconds=self.settings.lease_seconds,
                now=self.clock(),
            )
        except Exception:
            log.exception("lease renewal failed")

    def run_once(self) -> int:
        """Claim one batch, process it, record it. Returns how many deals were claimed.

        The leases are renewed while the batch runs, as the loop renews them: `worker --burst`
        runs batches here, and a batch outlasting LEASE_SECONDS (a CRM's rate limit, a large
        backfill) was claimed again by the other workers meanwhile, processed twice, and this
        one's outcomes dropped as stale."""
        items = self.claim()
        if not items:
            return 0
        with self._renewing(items):
            outcomes = self.process(items)
        self._record_retrying(items, outcomes, threading.Event())
        return len(items)

    def _record_retrying(
        self,
        items: Sequence[QueueItem],
        outcomes: dict[int, Outcome],
        stop_event: threading.Event,
    ) -> bool:
        """Record the batch's outcomes, trying again for up to LEASE_SECONDS when the database
        fails the write (a connection cut by a failover or `pg_terminate_backend`, SQLite
        locked by another writer past its busy timeout). Returns whether they were stored.

        Trying again is safe: each row is written only while it is still running under this
        owner and attempt, so a write that did land, or a row another worker took meanwhile,
        is `stale`, never written twice. Given up at once, the batch's work was lost: its rows
        stayed running until their leases expired, were processed again, and a deal on its
        last attempt went dead as if its worker had crashed, though it was done. After a stop
        request, only what is left of the grace period is spent on it."""
        give_up_at = time.monotonic() + self.settings.lease_seconds
        wait = min(self.settings.worker_poll_seconds, 1.0)
        failures = 0
        while True:
            self.beat()
            try:
                self.record(items, outcomes)
            except Exception as exc:
                failures += 1
                now = time.monotonic()
                if stop_event.is_set():
                    remaining = getattr(stop_event, "remaining", None)
                    left = remaining(self.grace_seconds) if remaining else 0.0
                    give_up_at = min(give_up_at, now + left)
                if now + wait > give_up_at:
                    log.exception(
                        "recording outcomes failed: its deals run again once their leases expire",
                        deals=len(items),
                        failures=failures,
                    )
                    return False
                if failures == 1:
                    log.warning(
                        "recording outcomes failed; trying again",
                        deals=len(items),
                        error=type(exc).__name__,
                        next_try_in=wait,
                    )
                if stop_event.is_set():
                    time.sleep(wait)
                else:
                    stop_event.wait(wait)  # a stop request cuts it short: see above
                wait = min(wait * 2, 10.0)
                continue
            if failures:
                log.info("recording outcomes recovered", deals=len(items), failures=failures)
            return True

    @contextmanager
    def _renewing(self, items: Sequence[QueueItem]) -> Iterator[None]:
        """Renew the leases of `items` every LEASE_SECONDS / 3 until the block ends."""
        done = threading.Event()
        every = max(self.settings.lease_seconds / 3, 0.05)

        def _renew() -> None:
            while not done.wait(every):
                self._extend_leases(items)

        renewer = threading.Thread(target=_renew, name="worker-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def run_until_empty(
        self, max_batches: int | None = None, stop_event: threading.Event | None = None
    ) -> int:
        """Drain what is due now (CLI `worker --burst`, tests). Returns deals claimed (how
        they ended: `tally`). With `stop_event` (SIGTERM / SIGINT: `install_signal_handlers`),
        the batch in hand is finished and recorded, and no other is claimed: a burst run by a
        scheduler that stops it (a Kubernetes CronJob's deadline) died mid-batch, its leases
        holding those deals from every worker for LEASE_SECONDS."""
        total = batches = 0
        while max_batches is None or batches < max_batches:
            if stop_event is not None and stop_event.is_set():
                break
            n = self.run_once()
            if not n:
                break
            total += n
            batches += 1
        return total

    # --- the loop -----------------------------------------------------------------------

    def run_forever(self, stop_event: threading.Event) -> None:
        """Loop until `stop_event`; then finish the batch in hand or, after the grace period,
        give its leases back so another worker takes it at once instead of after expiry."""
        log.info("worker started", owner=self.owner)
        self.check_clock()
        self._stopped = False
        try:
            self._loop(stop_event)
        finally:
            self._stopped = True
        log.info("worker stopped", owner=self.owner)

    def _loop(self, stop_event: threading.Event) -> None:
        # A database outage fails every claim: one traceback, then a line a minute, and the
        # tries slow down to one a minute (`FailureStreak`).
        claims = FailureStreak("claim", self.settings.worker_poll_seconds * 4)
        while not stop_event.is_set():
            self.beat()
            try:
                items = self.claim()
            except Exception as exc:
                stop_event.wait(claims.failed(exc))
                continue
            claims.ok()
            if not items:
                stop_event.wait(self.settings.worker_poll_seconds)
                continue
            outcomes = self._process_watched(items, stop_event)
            if outcomes is None:
                if self._timed_out:
                    # Not given back: a release returns the attempt, and a deal that hangs its
                    # batch (stuck, then restarted by the orchestrator with a SIGTERM) went
                    # round the workers forever, never counted. Its leases, no longer renewed,
                    # expire: another worker takes it then, counting the attempt, alone after
                    # two, and it goes dead after MAX_ATTEMPTS (see queue.claim_batch).
                    log.warning(
                        "stopping with a timed-out batch: its leases are left to expire",
                        deal_ids=[i.deal_id for i in items],
                    )
                else:
                    self.release(items)
                return
            self._record_retrying(items, outcomes, stop_event)

    def _process_watched(
        self, items: Sequence[QueueItem], stop_event: threading.Event
    ) -> dict[int, Outcome] | None:
        """Process in a helper thread; renew the leases meanwhile; None if abandoned.

        A batch still running after BATCH_TIMEOUT_SECONDS is left to itself: its leases are no
        longer renewed (another worker takes its deals once they expire; its late outcomes
        are `stale`), the loop stops beating and `health` reports it stuck. The thread is not
        killed: if it ever returns, its outcomes are recorded where still ours."""
        box: dict[str, Any] = {}
        ctx = structlog.contextvars.get_contextvars()

        def _run() -> None:
            structlog.contextvars.bind_contextvars(**ctx)
            box["outcomes"] = self.process(items)

        thread = threading.Thread(target=_run, name="worker-batch", daemon=True)
        thread.start()
        heartbeat = max(self.settings.lease_seconds / 3, 0.05)
        next_beat = time.monotonic() + heartbeat
        stop_deadline: float | None = None
        started = time.monotonic()
        give_up_at = started + self.settings.batch_timeout_seconds
        try:
            while True:
                thread.join(timeout=0.05)
                if not thread.is_alive():
                    return box.get("outcomes", {})
                now = time.monotonic()
                if self._stuck_since is None and now >= give_up_at:
                    self._stuck_since = now
                    log.error(
                        "batch timed out: its leases are no longer renewed",
                        deal_ids=[i.deal_id for i in items],
                        running_seconds=round(now - started, 1),
                        batch_timeout_seconds=self.settings.batch_timeout_seconds,
                    )
                if self._stuck_since is None:
                    self.beat()
                if stop_event.is_set():
                    if stop_deadline is None:
                        stop_deadline = now + self.grace_seconds
                        log.info("stopping: finishing the batch in hand", grace=self.grace_seconds)
                    elif now >= stop_deadline:
                        return None
                if self._stuck_since is None and now >= next_beat:
                    next_beat = now + heartbeat
                    self._extend_leases(items)
        finally:
            self._timed_out = self._stuck_since is not None
            if self._timed_out and not thread.is_alive():
                log.warning(
                    "timed-out batch ended",
                    running_seconds=round(time.monotonic() - started, 1),
                )
            self._stuck_since = None


class StopEvent(threading.Event):
    """A stop request that remembers when it came.

    The deal worker and the schedule thread stop on the same event, in parallel, and share
    one grace period counted from the request: a supervisor that allows `grace` plus a little
    (Kubernetes' terminationGracePeriodSeconds, systemd's TimeoutStopSec) must not see the
    process wait `grace` for the worker and then `grace` again for a schedule job.
    """

    set_at: float | None = None

    def set(self) -> None:
        if self.set_at is None:
            self.set_at = time.monotonic()
        super().set()

    def remaining(self, grace: float) -> float:
        """What is left of `grace` since the request (all of it before one came)."""
        if self.set_at is None:
            return grace
        return max(0.0, self.set_at + grace - time.monotonic())


def install_signal_handlers(stop_event: threading.Event) -> None:
    """SIGTERM / SIGINT: stop claiming, finish or release the batch in hand, exit."""

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal received", signal=signal.Signals(signum).name)
        stop_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
