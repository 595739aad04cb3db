"""Engine and sessions. One code path for SQLite (embedded default) and PostgreSQL.

Transactions have one owner: the request dependency or the job runner commits; helpers and
services only flush.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table, event, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from app.errors import WriteSlotBusy

# SQLite's own lower() folds A-Z only: "ÜBERPRÜFUNG" stayed "ÜBERPRÜFUNG", so a search found a
# capital non-ASCII letter on PostgreSQL (its lower() follows the locale) and not on SQLite.
# Every SQLite connection gets this function, Python's str.lower (`search.lower` uses it).
SQLITE_LOWER = "rg_lower"


def py_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def json_dumps(value: Any) -> str:
    """JSON columns, written: orjson (~4x the standard library on deal snapshots, findings
    and references, which every evaluation writes and every re-evaluation reads), falling
    back to `json` for what orjson refuses (integers past 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def json_loads(value: str | bytes) -> Any:
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return json.loads(value)


def make_engine(database_url: str, **kwargs) -> Engine:
    url = make_url(database_url)
    kwargs.setdefault("json_serializer", json_dumps)
    kwargs.setdefault("json_deserializer", json_loads)
    # A failed statement's values (deal names, notes) stay out of exception messages, hence out
    # of logs and of the queue's last_error, which the API shows.
    kwargs.setdefault("hide_parameters", True)
    if url.get_backend_name() == "sqlite":
        file_db = bool(url.database) and url.database != ":memory:"
        file_db = file_db and "mode=memory" not in database_url
        if file_db:
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
            # FULL: a commit is on disk before it returns, so a webhook acknowledged (200) is
            # not lost to a power cut or an OS crash (NORMAL in WAL mode could roll back the last
            # commits, and the CRM does not send an acknowledged event again). About 0.3 ms of
            # fsync a commit on this machine's disk; the ingest writer commits a group at a time.
            cur.execute("PRAGMA synchronous=FULL")
            if checkpointer is not None:  # checkpoints are the checkpointer's; this a backstop
                cur.execute(f"PRAGMA wal_autocheckpoint={WalCheckpointer.BACKSTOP_PAGES}")
            cur.close()
            # pysqlite's own implicit BEGIN is deferred and starts late; we issue BEGIN ourselves.
            dbapi_conn.isolation_level = None
            # lower() as Python folds, for searches (SQLite's folds A-Z only): `search.lower`
            dbapi_conn.create_function(SQLITE_LOWER, 1, py_lower, deterministic=True)

        checkpointer = WalCheckpointer(url.database) if file_db else None
        if checkpointer is not None:
            _CHECKPOINTERS[engine] = checkpointer
        _install_sqlite_write_lock(engine, checkpointer)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(database_url, pool_pre_ping=True, **kwargs)
    if url.get_backend_name() == "postgresql":

        @event.listens_for(engine, "connect")
        def _custom_plans(dbapi_conn, _record) -> None:
            # psycopg prepares a statement on its fifth run; PostgreSQL then settles on a
            # generic plan, chosen with the table sizes of that moment and kept for the
            # connection's life. A `DELETE ... WHERE deal_id IN (500 ids)` first prepared while
            # deal_feature was small kept its sequential scan as the table grew to 100k rows:
            # the 50k-deal re-evaluation went from 7 to 25 s per 5,000 deals. Plans made for
            # each run's values cost a planning pass each and never go stale; statements stay
            # prepared (parsed once).
            cur = dbapi_conn.cursor()
            cur.execute("SET plan_cache_mode = force_custom_plan")
            cur.close()
            dbapi_conn.commit()

    return engine


def wal_checkpointer(engine: Engine) -> WalCheckpointer | None:
    """The checkpointer of a SQLite file engine (None for PostgreSQL and in-memory SQLite)."""
    return _CHECKPOINTERS.get(engine)


_CHECKPOINTERS: weakref.WeakKeyDictionary[Engine, WalCheckpointer] = weakref.WeakKeyDictionary()
_LOCK_HELD = "roadmap_guard_write_lock_held"
WRITE_LOCK_TIMEOUT = 30.0


class WalCheckpointer:
    """Checkpoints a SQLite file's write-ahead log from a thread of its own.

    Why: left to SQLite, the commit that pushes the WAL past 1,000 pages runs the checkpoint
    itself, holding up that writer and every writer queued behind it (the webhook acks) for
    tens of milliseconds; benchmarks/ingest.py showed it as bursts of acks delayed together.
    Here every write commit pokes this thread, which runs `PRAGMA wal_checkpoint(PASSIVE)`
    (waits for no reader or writer) on its own connection, at most every `every` seconds.
    Connections keep an automatic checkpoint at BACKSTOP_PAGES, should this thread fall
    behind. The thread starts on the first commit and ends after `idle` seconds without one.
    """

    BACKSTOP_PAGES = 10_000

    def __init__(self, path: str, *, every: float = 0.2, idle: float = 5.0) -> None:
        self.path = path
        self.every = every
        self.idle = idle
        self.runs = 0
        self._poked = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        with self._lock:
            self._poked.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rg-wal-checkpoint", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                if not self._poked.wait(self.idle):
                    with self._lock:
                        if not self._poked.is_set():
                            self._thread = None
                            return
                self._poked.clear()
                if conn is None:
                    conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.runs += 1
                except sqlite3.Error:
                    pass  # busy or gone: the next poke tries again; the backstop remains
                time.sleep(self.every)
        finally:
            if conn is not None:
                conn.close()
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None


def _install_sqlite_write_lock(engine: Engine, checkpointer: WalCheckpointer | None) -> None:
    """Serialize this process's SQLite write transactions on a Python lock.

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
            raise WriteSlotBusy(
                f"the database is busy with another write (no SQLite write slot within "
                f"{WRITE_LOCK_TIMEOUT:g} s); nothing was written: retry in a moment"
            )
        conn.info[_LOCK_HELD] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _release(info: dict) -> None:
        if info.pop(_LOCK_HELD, False):
            lock.release()

    # Released once COMMIT / ROLLBACK has run, not at SQLAlchemy's "commit" / "rollback"
    # events, which fire before it: released there, the next writer's BEGIN IMMEDIATE met the
    # COMMIT still running (with any WAL checkpoint it triggers) and slept in SQLite's busy
    # handler (1, 2, 5, 10... ms steps).
    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _info(proxied) -> dict:
        record = getattr(proxied, "_connection_record", None)  # the pool's ad hoc proxies
        return record.info if record is not None else proxied.info

    def _commit(dbapi_connection) -> None:
        try:
            do_commit(dbapi_connection)
        finally:
            info = _info(dbapi_connection)
            wrote = info.get(_LOCK_HELD, False)
            _release(info)
        if wrote and checkpointer is not None:
            checkpointer.poke()

    def _rollback(dbapi_connection) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            _release(_info(dbapi_connection))

    dialect.do_commit = _commit  # type: ignore[method-assign]
    dialect.do_rollback = _rollback  # type: ignore[method-assign]

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


def insert_rows(session: Session, table: Table, rows: Sequence[dict]) -> list[int]:
    """Insert `rows` into `table` (integer primary key `id`) and return their ids, in order.

    SQLite: one multi-row INSERT ... RETURNING. PostgreSQL: the ids are drawn from the
    table's sequence first (one `nextval` per row in one statement) and the rows sent as one
    executemany, which psycopg pipelines with a short prepared statement. The multi-row
    INSERT ... RETURNING that SQLAlchemy builds instead is one statement of ~10,000
    placeholders per 1,000 rows, which psycopg re-parses in Python on every run (too long for
    its statement cache): 170 against 43 ms per 1,000 evaluation rows here.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        result = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
        )
        return list(result.scalars())
    ids = list(
        session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": len(rows)},
        ).scalars()
    )
    session.execute(insert(table), [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)])
    return ids
