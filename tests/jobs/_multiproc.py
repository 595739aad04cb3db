"""A worker process for test_multiprocess: records when it starts and ends each deal."""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel import Session

from app.db import make_engine
from app.jobs.queue import enqueue_deals
from app.jobs.types import Outcome, QueueItem
from app.jobs.worker import Worker
from app.logging import configure_logging
from app.models import utcnow
from app.settings import Settings


class LoggingProcessor:
    """Writes (deal, worker, start, end) per deal. Even deals get an event while running once,
    so they must run twice, one run strictly after the other."""

    def __init__(self, engine, owner: str) -> None:
        self.engine = engine
        self.owner = owner

    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        started = utcnow()
        time.sleep(0.002 * len(batch))
        with Session(self.engine) as s:
            for item in batch:
                if int(item.deal_id[1:]) % 2 == 0 and item.reason == "seed":
                    enqueue_deals(s, item.crm, [item.deal_id], reason="webhook")
            s.commit()
        time.sleep(0.002 * len(batch))
        ended = utcnow()
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO proc_log (deal_id, owner, reason, started_at, ended_at) "
                    "VALUES (:d, :o, :r, :s, :e)"
                ),
                [
                    {"d": i.deal_id, "o": self.owner, "r": i.reason, "s": started, "e": ended}
                    for i in batch
                ],
            )
        return {i.id: Outcome.done() for i in batch}


def run_worker(database_url: str, owner: str) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        worker_batch_size=7,
        lease_seconds=60,
        log_level="WARNING",
    )
    configure_logging(settings)
    engine = make_engine(database_url)
    worker = Worker(engine, settings, LoggingProcessor(engine, owner), owner=owner)
    idle = 0
    while idle < 3:  # the queue may refill with reruns: stop after a few empty polls
        if worker.run_once():
            idle = 0
        else:
            idle += 1
            time.sleep(0.1)
    engine.dispose()
