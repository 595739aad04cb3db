"""Engine and sessions. One code path for SQLite (embedded default) and PostgreSQL.

Transactions have one owner: the request dependency or the job runner commits; helpers and
services only flush.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine


def make_engine(database_url: str, **kwargs) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # WAL: readers never block the writer; busy_timeout: writers queue instead of failing.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()
            # pysqlite's own implicit BEGIN is deferred and starts late; we issue BEGIN ourselves.
            dbapi_conn.isolation_level = None

        _install_sqlite_write_lock(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(database_url, pool_pre_ping=True, **kwargs)


_LOCK_HELD = "roadmap_guard_write_lock_held"
WRITE_LOCK_TIMEOUT = 30.0


def _install_sqlite_write_lock(engine: Engine) -> None:
    """Serialize this process's SQLite write transactions on a Python lock, FIFO-fair.

    Every write transaction starts with BEGIN IMMEDIATE, so a transaction that reads and then
    writes cannot fail halfway on a lock upgrade. Without the lock, threads of one process
    waiting for SQLite's write lock sleep in its busy handler (up to 100 ms a retry, unfair),
    which made webhook acks wait seconds at the tail under concurrent senders. Connections
    opened with `execution_options(read_only=True)` take a plain deferred BEGIN and no lock:
    WAL lets them read while a writer works. Other processes still meet busy_timeout.
    """
    lock = threading.Lock()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        if conn.get_execution_options().get("read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        if not lock.acquire(timeout=WRITE_LOCK_TIMEOUT):
            raise TimeoutError(f"no SQLite write slot within {WRITE_LOCK_TIMEOUT:.0f}s")
        conn.info[_LOCK_HELD] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _release(info: dict) -> None:
        if info.pop(_LOCK_HELD, False):
            lock.release()

    @event.listens_for(engine, "commit")
    def _commit(conn) -> None:
        _release(conn.info)

    @event.listens_for(engine, "rollback")
    def _rollback(conn) -> None:
        _release(conn.info)

    @event.listens_for(engine.pool, "checkin")
    def _checkin(_dbapi_conn, record) -> None:
        # A connection returned mid-transaction (its Connection was never closed cleanly).
        _release(record.info)


def read_only(engine: Engine) -> Engine:
    """The same engine, for transactions that only read (no write lock on SQLite)."""
    return engine.execution_options(read_only=True)


def is_postgres(engine_or_session) -> bool:
    bind = (
        engine_or_session.get_bind()
        if isinstance(engine_or_session, Session)
        else engine_or_session
    )
    return bind.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work for jobs and CLI: commit on success, roll back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
