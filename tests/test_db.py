"""app/db.py and app/migrate.py: SQLite connection settings, and migrations that replicas
starting together can all run (a PostgreSQL advisory lock serializes them)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, text

from app.db import WalCheckpointer, make_engine, wal_checkpointer
from app.migrate import MIGRATION_LOCK_ID, at_head, upgrade_to_head
from app.models.types import storable
from tests.conftest import PG_URL, scratch_pg_database


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database of its own (migrations start from nothing)."""
    if not PG_URL:
        pytest.skip("TEST_POSTGRES_URL is not set: PostgreSQL half of the suite not run")
    with scratch_pg_database("rg_migrate") as url:
        yield url


# One replica: connect, wait for the common start time, migrate. Processes, as replicas are
# (alembic's `context` and `op` are module-level proxies: threads of one process cannot each
# run their own upgrade).
_REPLICA = """
import sys, time
from sqlalchemy import text
from app.db import WalCheckpointer, make_engine, wal_checkpointer
from app.migrate import upgrade_to_head
engine = make_engine(sys.argv[1], pool_size=1)
with engine.connect() as conn:
    conn.execute(text("SELECT 1"))
time.sleep(max(float(sys.argv[2]) - time.time(), 0))
upgrade_to_head(engine)
print("migrated")
"""


def _replicas_migrate_at_once(url: str, n: int) -> list[subprocess.CompletedProcess]:
    start_at = time.time() + 8  # after every interpreter has started and connected
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REPLICA, url, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_replicas_migrating_an_empty_postgresql_database_at_once_all_succeed(fresh_pg_url):
    results = _replicas_migrate_at_once(fresh_pg_url, 4)
    failed = [r.stderr[-1500:] for r in results if r.returncode != 0]
    assert failed == [], "\n---\n".join(failed)
    engine = make_engine(fresh_pg_url)
    try:
        assert at_head(engine)
        assert "deal_queue" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_a_migration_waits_while_another_process_holds_the_migration_lock(fresh_pg_url):
    holder = make_engine(fresh_pg_url, pool_size=1)
    engine = make_engine(fresh_pg_url, pool_size=1)
    done = threading.Event()
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            upgrade_to_head(engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    try:
        with holder.begin() as conn:  # "another replica" mid-migration
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
            thread = threading.Thread(target=migrate, daemon=True)
            thread.start()
            assert not done.wait(1.5), "the upgrade did not wait for the lock"
            assert "alembic_version" not in inspect(holder).get_table_names()
        assert done.wait(60), "the upgrade never went on after the lock was released"
        assert errors == []
        assert at_head(engine)
    finally:
        holder.dispose()
        engine.dispose()


def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        for _ in range(2):  # every pooled connection, not just the first
            with engine.connect() as conn:
                pragmas = {
                    name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in (
                        "journal_mode",
                        "busy_timeout",
                        "foreign_keys",
                        "synchronous",
                        "wal_autocheckpoint",
                    )
                }
            assert pragmas == {
                "journal_mode": "wal",
                "busy_timeout": 30000,
                "foreign_keys": 1,
                # FULL: an acknowledged webhook survives a power cut (NORMAL with WAL could roll
                # back the last commits, and the CRM never sends an acknowledged event again)
                "synchronous": 2,
                "wal_autocheckpoint": WalCheckpointer.BACKSTOP_PAGES,  # the checkpointer's job
            }
        assert (tmp_path / "pragmas.db-wal").exists()
    finally:
        engine.dispose()


def _wal_frames(path) -> int:
    """Frames in the WAL not yet copied into the database (a PASSIVE checkpoint's report)."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        _busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return log - done


def test_writes_are_checkpointed_by_a_thread_of_their_own_off_the_commit(tmp_path):
    """Commits never run the checkpoint (below the backstop); the checkpointer thread does,
    after the write commits poke it, and ends when writes stop."""
    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{path}")
    checkpointer = wal_checkpointer(engine)
    assert checkpointer is not None
    checkpointer.every, checkpointer.idle = 0.0, 0.2
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        ran = checkpointer.runs
        for _ in range(20):  # ~2,000 pages: past SQLite's default autocheckpoint of 1,000
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 100) INSERT INTO t SELECT hex(randomblob(2000)) FROM n"
                )
        deadline = time.monotonic() + 10
        while checkpointer._thread is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer._thread is None  # idle: gone
        assert checkpointer.runs > ran
        assert _wal_frames(path) == 0  # everything written is in the database file
    finally:
        engine.dispose()


def test_the_write_lock_is_held_until_commit_has_run(tmp_path):
    """The next writer of this process starts only once COMMIT has returned: with SQLite's busy
    timeout at 0 on its connection, it would fail with 'database is locked' otherwise (the
    lock was released at SQLAlchemy's commit event, before COMMIT)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}", pool_size=2)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x TEXT)")
        errors: list[BaseException] = []
        go = threading.Barrier(2)

        def writer(n: int) -> None:
            go.wait()
            for _ in range(n):
                try:
                    with engine.begin() as conn:
                        conn.exec_driver_sql("PRAGMA busy_timeout=0")
                        conn.exec_driver_sql(
                            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                            "WHERE i < 200) INSERT INTO t SELECT hex(randomblob(500)) FROM n"
                        )
                except Exception as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=writer, args=(40,)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2 * 40 * 200
    finally:
        engine.dispose()


def test_postgresql_statements_are_planned_for_their_values_never_generically(fresh_pg_url):
    """psycopg prepares a statement on its fifth run, after which PostgreSQL may settle on a
    generic plan made for the table sizes of that moment and keep it for the connection's
    life (a sequential scan kept as the table grows). Every connection plans each run."""
    engine = make_engine(fresh_pg_url, pool_size=1)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (id integer PRIMARY KEY, v text)"))
        with engine.connect() as conn:
            conn.rollback()  # the setting is the session's, not a transaction's
            assert conn.execute(text("SHOW plan_cache_mode")).scalar() == "force_custom_plan"
            for i in range(12):
                conn.execute(text("SELECT v FROM t WHERE id = :id"), {"id": i}).all()
            generic, custom = conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE 'SELECT v FROM t WHERE id = %'"
                )
            ).one()
        assert (generic, custom) == (0, custom) and custom > 0
    finally:
        engine.dispose()


def test_json_columns_keep_what_orjson_alone_cannot(engine):
    """JSON columns go through orjson, with the standard library behind it for integers past
    64 bits, and non-string keys become strings as `json` makes them."""
    from sqlmodel import Session

    from app.db import json_dumps, json_loads
    from app.models import WriteBackLog

    assert json_loads(json_dumps({"big": 2**70, 1: "one"})) == {"big": 2**70, "1": "one"}
    with Session(engine) as s:
        row = WriteBackLog(crm="test", deal_id="D1", changes={"amount": 2**70, "ok": [1.5]})
        s.add(row)
        s.commit()
        row_id = row.id
    with Session(engine) as s:
        assert s.get(WriteBackLog, row_id).changes == {"amount": 2**70, "ok": [1.5]}


def test_insert_rows_returns_each_row_its_own_id(engine):
    """db.insert_rows: ids in the order of the rows given (drawn from the sequence first on
    PostgreSQL), each pointing at the row written for it."""
    from sqlmodel import Session

    from app.db import insert_rows
    from app.models import WriteBackLog, utcnow

    rows = [
        {"crm": "test", "deal_id": f"D{i}", "changes": {}, "created_at": utcnow()} for i in range(7)
    ]
    with Session(engine) as s:
        ids = insert_rows(s, WriteBackLog.__table__, rows)
        s.commit()
    assert len(set(ids)) == 7
    with Session(engine) as s:
        assert [s.get(WriteBackLog, i).deal_id for i in ids] == [f"D{i}" for i in range(7)]
    with Session(engine) as s:
        assert insert_rows(s, WriteBackLog.__table__, []) == []


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=st.sampled_from("a\x00\ufffd ")),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(_json)
def test_storable_replaces_every_nul_and_returns_clean_values_untouched(value):
    cleaned = storable(value)
    assert "\\u0000" not in json.dumps(cleaned)
    if "\\u0000" not in json.dumps(value):
        assert cleaned is value  # nothing copied on the common path
    else:
        assert json.dumps(cleaned) == json.dumps(value).replace("\\u0000", "\\ufffd")


def test_a_failed_statement_does_not_carry_its_values_into_messages(tmp_path):
    """Error messages reach logs and the queue's last_error (shown by the API): a deal's name or
    note must not ride along in them."""
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (v TEXT NOT NULL UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "Acme secret deal"})
    with pytest.raises(Exception) as err, engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (:v)"), {"v": "Acme secret deal"})
    assert "UNIQUE" in str(err.value) and "Acme secret deal" not in str(err.value)
    engine.dispose()
