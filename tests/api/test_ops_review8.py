"""Readiness and metrics behind a long write on SQLite (the embedded default)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

import app.db
from app.api import ops
from app.db import make_engine
from app.migrate import upgrade_to_head


@contextmanager
def _long_write(engine) -> Iterator[None]:
    """A write transaction held open in another thread (a large mapping import)."""
    held, release = threading.Event(), threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            held.set()
            release.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert held.wait(5)
        yield
    finally:
        release.set()
        writer.join()


def test_readyz_and_metrics_do_not_wait_for_sqlites_write_slot(tmp_path, monkeypatch):
    """/readyz ran SELECT 1 and /metrics read the queue depth on a plain connection, which on
    SQLite waits for the process's one write slot: behind a long write readiness answered 503
    "database unreachable" (the service taken out of its load balancer) and the queue-depth
    gauges went blank with database_up 0. Both read as WAL readers now."""
    monkeypatch.setattr(app.db, "WRITE_LOCK_TIMEOUT", 1.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        upgrade_to_head(engine)
        with _long_write(engine):
            answer = ops.readyz(engine)
            assert answer.status_code == 200, answer.body
            ops._scrape(engine)
            assert ops.SCRAPE_DATABASE_UP._value.get() == 1
    finally:
        engine.dispose()
