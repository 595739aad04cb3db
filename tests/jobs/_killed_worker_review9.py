"""A worker process for test_faults_review9: it claims a batch and, while processing it, holds a
write transaction open on the deal rows (as the pipeline does while it stores a read), writes
`claimed` in the directory given, and waits there to be killed with SIGKILL."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import update

from app.db import make_engine
from app.jobs.types import Outcome, QueueItem
from app.jobs.worker import Worker
from app.models import DealQueue
from app.settings import Settings


class HangingProcessor:
    def __init__(self, engine, gate: Path) -> None:
        self.engine = engine
        self.gate = gate

    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        with self.engine.begin() as conn:  # a write transaction, never committed
            conn.execute(
                update(DealQueue.__table__)
                .where(DealQueue.__table__.c.id.in_([i.id for i in batch]))
                .values(last_error="half-written by the killed worker")
            )
            (self.gate / "claimed").write_text(",".join(i.deal_id for i in batch))
            time.sleep(300)
        return {}


def main(database_url: str, gate: str) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        worker_mode="off",
        lease_seconds=60,
        log_level="WARNING",
    )
    engine = make_engine(database_url)
    Worker(engine, settings, HangingProcessor(engine, Path(gate)), owner="doomed").run_once()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
