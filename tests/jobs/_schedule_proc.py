"""A schedule runner process for test_schedules: it claims `slow`, whose run never ends, and
keeps renewing the lease until the test kills the process. Its clock is real time plus an
offset shared with the test (a multiprocessing.Value of seconds), so the test moves both
runners' clocks together."""

from __future__ import annotations

import time
from datetime import timedelta

from app.db import make_engine
from app.jobs.schedules import JobContext, Schedule, ScheduleRunner
from app.logging import configure_logging
from app.models import utcnow
from app.settings import Settings

LEASE_SECONDS = 60


def _never_ends(_ctx: JobContext) -> dict:
    while True:
        time.sleep(1)


def run_forever_job(database_url: str, owner: str, offset) -> None:
    settings = Settings(
        _env_file=None, database_url=database_url, lease_seconds=LEASE_SECONDS, log_level="ERROR"
    )
    configure_logging(settings)
    registry = {
        "slow": Schedule(
            name="slow", interval=lambda s: 600, run=_never_ends, enabled=lambda s, c: True
        )
    }
    runner = ScheduleRunner(
        make_engine(database_url),
        settings,
        {},
        owner=owner,
        schedules=registry,
        clock=lambda: utcnow() + timedelta(seconds=offset.value),
        renew_every=0.05,
    )
    runner.run_due()
