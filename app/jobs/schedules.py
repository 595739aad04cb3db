"""Periodic jobs that exactly one worker in the cluster runs each time they are due.

A domain module registers a job with `@schedule(...)`; the worker (jobs/worker.py) claims due
rows of the `periodic_job` table with a lease, runs the function, stores its returned state.
Modules that define schedules are listed in SCHEDULE_MODULES so every process sees the same set.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.connectors.base import CrmConnector
from app.jobs.queue import lease_lapsed
from app.jobs.streak import FailureStreak
from app.metrics import SCHEDULE_RUNNING_SECONDS
from app.models import PeriodicJob, utcnow
from app.models.types import as_utc
from app.settings import MAX_INTERVAL_SECONDS, Settings

log = structlog.get_logger("app.schedules")

# A run longer than this is logged ("schedule still running") once an hour of it past this.
LONG_RUN_SECONDS = 3600.0
# A next run more than its interval plus this from now was set by a clock ahead of ours: it is
# due now (see ScheduleRunner._claim). Hosts' clocks differ by far less under NTP.
CLOCK_AHEAD_SLACK_SECONDS = 60.0


@dataclass
class JobContext:
    engine: Engine
    settings: Settings
    connectors: dict[str, CrmConnector]
    state: dict[str, Any] = field(default_factory=dict)  # persisted between runs (e.g. a cursor)


@dataclass(frozen=True)
class Schedule:
    name: str
    interval: Callable[[Settings], int]  # seconds
    run: Callable[[JobContext], dict | None]  # returns the new state (or None to keep it)
    enabled: Callable[[Settings, dict[str, CrmConnector]], bool]


SCHEDULES: dict[str, Schedule] = {}

SCHEDULE_MODULES = [
    "app.services.roadmap_refresh",
    "app.services.approvals",
    "app.services.ledger",
    "app.connectors.hubspot.reconcile",
    "app.connectors.salesforce.reconcile",
    "app.services.retention",
    "app.services.reread",
    "app.services.gone_tasks",
]


def schedule(
    name: str,
    *,
    interval: Callable[[Settings], int],
    enabled: Callable[[Settings, dict[str, CrmConnector]], bool] = lambda _s, _c: True,
):
    def _register(fn: Callable[[JobContext], dict | None]):
        SCHEDULES[name] = Schedule(name=name, interval=interval, run=fn, enabled=enabled)
        return fn

    return _register


def load_schedules() -> dict[str, Schedule]:
    for module in SCHEDULE_MODULES:
        importlib.import_module(module)
    return SCHEDULES


# --- the runner ------------------------------------------------------------------------------


def _interval(sched: Schedule, settings: Settings) -> int:
    """The schedule's interval in seconds, kept within 1 s .. a week: settings are bounded at
    start-up; this guards the periodic_job INTEGER column against any other source."""
    return max(1, min(int(sched.interval(settings)), MAX_INTERVAL_SECONDS))


class ScheduleRunner:
    """Runs each due schedule on exactly one worker of the cluster.

    Each pass makes sure a `periodic_job` row exists for every enabled schedule, then takes a
    due row with a conditional UPDATE (due, and unleased or its lease expired): whoever's UPDATE
    matches runs it; everyone else sees 0 rows. The same guard works on SQLite and PostgreSQL.

    While a job runs, a heartbeat thread renews its lease every `renew_every` seconds (default
    LEASE_SECONDS / 3, as the worker renews batch leases), so a run longer than LEASE_SECONDS
    never starts a second time elsewhere; if the runner dies, renewals stop, the lease expires
    and another worker takes the schedule.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        connectors: dict[str, CrmConnector],
        *,
        owner: str,
        schedules: dict[str, Schedule] | None = None,
        clock: Callable[[], datetime] = utcnow,
        renew_every: float | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.connectors = connectors
        self.owner = owner
        self.clock = clock
        self._schedules = schedules
        self.renew_every = (
            renew_every if renew_every is not None else max(settings.lease_seconds / 3, 0.05)
        )
        self._intervals_applied: set[str] = set()  # schedules whose interval this runner set

    def enabled(self) -> dict[str, Schedule]:
        registry = self._schedules if self._schedules is not None else load_schedules()
        return {
            name: s for name, s in registry.items() if s.enabled(self.settings, self.connectors)
        }

    def _ensure_rows(self, schedules: dict[str, Schedule], now: datetime) -> None:
        table = PeriodicJob.__table__
        with self.engine.begin() as conn:
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            for name, sched in sorted(schedules.items()):
                interval = _interval(sched, self.settings)
                conn.execute(
                    insert(table)
                    .values(name=name, interval_seconds=interval, next_run_at=now, state={})
                    .on_conflict_do_nothing(index_elements=["name"])
                )
        fresh = {name: s for name, s in schedules.items() if name not in self._intervals_applied}
        if fresh:
            self._apply_intervals(fresh, now)

    def _apply_intervals(self, schedules: dict[str, Schedule], now: datetime) -> None:
        """Once per runner (at start, and for a schedule enabled later): a row whose stored
        interval differs from this process's settings takes the new interval, and its next run
        comes no later than the last start (or now, never started) plus the new interval. A
        lowered interval takes effect at once instead of after the old one runs out; a raised
        one never pushes a due run later (the next run after it uses the new interval).

        Each row is changed with a compare-and-set on what was read, so several workers
        starting together with the same settings change it once; one that lost the race leaves
        it to the winner. Only once per runner, so two configurations during a rolling restart
        do not rewrite the row on every pass."""
        table = PeriodicJob.__table__
        with self.engine.begin() as conn:
            stored = {
                row.name: row
                for row in conn.execute(
                    select(
                        table.c.name,
                        table.c.interval_seconds,
                        table.c.next_run_at,
                        table.c.last_started_at,
                    ).where(table.c.name.in_(sorted(schedules)))
                )
            }
            for name, sched in sorted(schedules.items()):
                row = stored.get(name)
                interval = _interval(sched, self.settings)
                if row is None or row.interval_seconds == interval:
                    continue
                base = as_utc(row.last_started_at) if row.last_started_at is not None else now
                next_run_at = min(as_utc(row.next_run_at), base + timedelta(seconds=interval))
                changed = conn.execute(
                    update(table)
                    .where(
                        table.c.name == name,
                        table.c.interval_seconds == row.interval_seconds,
                        table.c.next_run_at == row.next_run_at,
                    )
                    .values(interval_seconds=interval, next_run_at=next_run_at)
                ).rowcount
                if changed:
                    log.info(
                        "schedule interval changed",
                        schedule=name,
                        old_interval_seconds=row.interval_seconds,
                        interval_seconds=interval,
                        next_run_at=next_run_at.isoformat(),
                    )
        self._intervals_applied.update(schedules)

    def _claim(self, name: str, now: datetime) -> dict | None:
        table = PeriodicJob.__table__
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.engine.begin() as conn:
            due = table.c.next_run_at <= now
            stored = conn.execute(
                select(table.c.next_run_at, table.c.interval_seconds).where(table.c.name == name)
            ).first()
            if stored is not None:
                next_run_at = as_utc(stored.next_run_at)
                ahead = next_run_at - now - timedelta(seconds=stored.interval_seconds)
                if ahead > timedelta(seconds=CLOCK_AHEAD_SLACK_SECONDS):
                    # Further away than one interval from now: set by a clock that was ahead
                    # (a VM resumed, NTP stepping a wrong clock back, a host's clock skewed). It
                    # kept the schedule from running for as long as the clock had been ahead
                    # (a day's jump: no reconciliation or retention for a day). Due now
                    # instead, compare-and-set on what was read (one claimant runs it).
                    log.warning(
                        "schedule's next run was set by a clock ahead of this one: due now",
                        schedule=name,
                        next_run_at=next_run_at.isoformat(),
                        ahead_seconds=round(ahead.total_seconds()),
                    )
                    due = or_(due, table.c.next_run_at == stored.next_run_at)
            row = conn.execute(
                update(table)
                .where(
                    table.c.name == name,
                    due,
                    or_(
                        table.c.lease_owner.is_(None),
                        lease_lapsed(table.c.lease_expires_at, now),  # a clock ahead's too
                    ),
                )
                .values(lease_owner=self.owner, lease_expires_at=now + lease, last_started_at=now)
                .returning(table.c.state)
            ).first()
        return None if row is None else dict(row.state or {})

    def _renew(self, name: str) -> bool:
        """Heartbeat: push the lease of a running job forward. False if it is no longer ours."""
        table = PeriodicJob.__table__
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.engine.begin() as conn:
            renewed = conn.execute(
                update(table)
                .where(table.c.name == name, table.c.lease_owner == self.owner)
                .values(lease_expires_at=self.clock() + lease)
            ).rowcount
        return renewed == 1

    def _run_leased(self, name: str, sched: Schedule, ctx: JobContext) -> dict | None:
        """Run the job in this thread while a heartbeat thread keeps its lease.

        The lease is renewed for as long as the job runs, so a job that hangs (a call with no
        timeout) keeps its schedule from running anywhere else: the heartbeat also sets
        `roadmap_guard_schedule_running_seconds` and logs "schedule still running" once an
        hour past `LONG_RUN_SECONDS`, for an operator to see and restart that worker (its
        lease is given up at shutdown). It is not cut short: reconciling a large portal the
        first time may rightly take hours."""
        stop = threading.Event()
        started = time.monotonic()
        gauge = SCHEDULE_RUNNING_SECONDS.labels(schedule=name)
        gauge.set(0.001)

        def _heartbeat() -> None:
            warned = 0  # hours past LONG_RUN_SECONDS already logged
            while not stop.wait(self.renew_every):
                running = time.monotonic() - started
                gauge.set(running)
                if running >= LONG_RUN_SECONDS * (warned + 1):
                    warned += 1
                    log.warning(
                        "schedule still running", schedule=name, running_seconds=round(running)
                    )
                try:
                    if not self._renew(name):
                        log.warning("schedule lease lost while running", schedule=name)
                        return
                except Exception:
                    log.exception("schedule lease renewal failed", schedule=name)

        heartbeat = threading.Thread(target=_heartbeat, name=f"rg-lease-{name}", daemon=True)
        heartbeat.start()
        try:
            return sched.run(ctx)
        finally:
            stop.set()
            heartbeat.join()
            gauge.set(0)

    def _finish(self, name: str, interval: int, state: dict | None, error: str | None) -> None:
        table = PeriodicJob.__table__
        now = self.clock()
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_expires_at": None,
            "last_finished_at": now,
            "last_status": "error" if error else "ok",
            "last_error": error,
            "interval_seconds": interval,
            "next_run_at": now + timedelta(seconds=interval),
        }
        if state is not None:
            values["state"] = state
        # Tried again for up to LEASE_SECONDS when the database fails the write (a connection
        # cut, SQLite locked by another writer past its busy timeout), as the worker records
        # deal outcomes: given up at once, the run's state (a reconciliation's cursor) was lost
        # and the schedule stayed leased, to run again from the old state once the lease
        # expired. Safe to repeat: only the lease holder's row is written.
        give_up_at = time.monotonic() + self.settings.lease_seconds
        wait = min(self.settings.worker_poll_seconds, 1.0)
        while True:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        update(table)
                        .where(table.c.name == name, table.c.lease_owner == self.owner)
                        .values(**values)
                    )
                return
            except Exception as exc:
                if time.monotonic() + wait > give_up_at:
                    raise
                log.warning(
                    "storing the schedule's run failed; trying again",
                    schedule=name,
                    error=type(exc).__name__,
                    next_try_in=wait,
                )
                time.sleep(wait)
                wait = min(wait * 2, 10.0)

    def release_leases(self) -> list[str]:
        """Give back every schedule lease this runner holds: for a shutdown that cannot wait
        for a running job. The schedule is due again at once on another worker instead of when
        the lease expires (LEASE_SECONDS); the interrupted run stores no state (jobs keep their
        cursors in the state they return, so the next run starts where the last finished one
        did). Returns the schedules released."""
        table = PeriodicJob.__table__
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(table)
                .where(table.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_expires_at=None)
                .returning(table.c.name)
            ).all()
        names = sorted(row.name for row in rows)
        if names:
            log.warning("schedule leases released at shutdown", schedules=names)
        return names

    def run_due(self, stop_event: threading.Event | None = None) -> list[str]:
        """One pass: run every schedule that is due and not held elsewhere (none after
        `stop_event` is set). Returns names run."""
        schedules = self.enabled()
        if not schedules:
            return []
        self._ensure_rows(schedules, self.clock())
        ran: list[str] = []
        for name, sched in sorted(schedules.items()):
            if stop_event is not None and stop_event.is_set():
                break
            state = self._claim(name, self.clock())
            if state is None:
                continue
            interval = _interval(sched, self.settings)
            ctx = JobContext(self.engine, self.settings, self.connectors, state=dict(state))
            try:
                new_state = self._run_leased(name, sched, ctx)
            except Exception as exc:
                log.exception("schedule failed", schedule=name)
                self._finish(name, interval, None, f"{type(exc).__name__}: {exc}"[:4000])
            else:
                self._finish(name, interval, new_state, None)
                log.info("schedule ran", schedule=name)
            ran.append(name)
        return ran

    def run_forever(self, stop_event: threading.Event, *, poll_seconds: float = 1.0) -> None:
        passes = FailureStreak("schedule pass", poll_seconds)  # a database outage: see there
        while not stop_event.is_set():
            try:
                self.run_due(stop_event)
            except Exception as exc:
                stop_event.wait(passes.failed(exc))
                continue
            passes.ok()
            stop_event.wait(poll_seconds)


class ScheduleThread:
    """A runner's `run_forever` in a daemon thread, as `serve` (embedded) and `worker` run it.

    `stop(timeout)` sets the stop event and waits up to `timeout` for a running job to finish;
    a job still running then has its lease given back, so a restart or another worker runs it
    at once rather than after LEASE_SECONDS.
    """

    def __init__(
        self, runner: ScheduleRunner, stop_event: threading.Event, *, poll_seconds: float
    ) -> None:
        self.runner = runner
        self.stop_event = stop_event
        self.thread = threading.Thread(
            target=runner.run_forever,
            args=(stop_event,),
            kwargs={"poll_seconds": poll_seconds},
            name="rg-schedules",
            daemon=True,
        )

    def start(self) -> ScheduleThread:
        self.thread.start()
        return self

    def stop(self, timeout: float) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.runner.release_leases()
