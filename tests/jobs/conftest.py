"""Helpers for queue/worker tests: a processor that records what it was given."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from app.jobs.types import Outcome, QueueItem
from app.models import utcnow
from app.settings import Settings


class RecordingProcessor:
    """Answers with `decide(item)` (done by default) and remembers every item it saw."""

    def __init__(self, decide: Callable[[QueueItem], Outcome] | None = None) -> None:
        self.decide = decide or (lambda _item: Outcome.done())
        self.seen: list[QueueItem] = []
        self._lock = threading.Lock()

    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        with self._lock:
            self.seen.extend(batch)
        return {item.id: self.decide(item) for item in batch}

    def deal_ids(self) -> list[str]:
        return [i.deal_id for i in self.seen]


class Clock:
    """Real time plus a settable offset: lease expiry and backoff without sleeping."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> datetime:
        self.offset += timedelta(seconds=seconds)
        return self()


@pytest.fixture
def worker_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "worker_batch_size": 50,
            "lease_seconds": 60,
            "max_attempts": 3,
            "backoff_base_seconds": 2.0,
            "backoff_cap_seconds": 60.0,
        }
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pg_engine(request) -> Engine:
    """PostgreSQL only, clean tables (skips without TEST_POSTGRES_URL)."""
    from tests.conftest import _truncate_all

    engine = request.getfixturevalue("_pg_engine")
    _truncate_all(engine)
    return engine
