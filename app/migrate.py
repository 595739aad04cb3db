"""Alembic from code: `roadmap-guard migrate`, `serve` (at every start), /readyz."""

from __future__ import annotations

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from app.db import read_only

ROOT = Path(__file__).resolve().parent.parent
log = structlog.get_logger("app.migrate")


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "alembic"))
    cfg.attributes["database_url"] = database_url
    return cfg


# The pg_advisory_xact_lock key: any constant bigint, the same in every replica (this one is
# the first 63 bits of sha256("roadmap-guard:migrate")). Advisory locks are per database, so
# other databases on the same server never wait on it.
MIGRATION_LOCK_ID = 697278457190361188


def upgrade_to_head(engine: Engine) -> None:
    """Upgrade to the latest revision in one transaction; a no-op at head.

    Replicas may start together (`serve` migrates at start): on PostgreSQL the transaction
    first takes an advisory lock, so one process migrates while the others wait, then find
    the schema at head and do nothing. Without it two processes both see an empty
    `alembic_version` and the second fails on a duplicate CREATE TABLE. On SQLite the
    transaction begins IMMEDIATE (app/db.py): the database's write lock serializes it.

    A database at a revision this code does not know (a newer release migrated it: a rolling
    upgrade migrates first, and its migrations are additive for one release) is left as it
    is, with a warning: an old replica restarting meanwhile starts and serves, as /readyz
    says it may, instead of failing on alembic's "Can't locate revision".
    """
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            _lock_migrations(conn)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and not known_revision(current):
            if not inspect(conn).has_table("deal_queue"):
                # not a newer roadmap-guard: another application's migrations in this database
                raise RuntimeError(
                    f"the database is at migration {current!r}, which is not roadmap-guard's "
                    "and has none of its tables: DATABASE_URL names another application's "
                    "database"
                )
            log.warning(
                "the database is at a newer migration than this code: nothing migrated; "
                "finish rolling out the new release (or downgrade the database with it)",
                database_revision=current,
                code_revision=head_revision(),
            )
            return
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _lock_migrations(conn: Connection) -> None:
    """Hold the migration lock until this transaction ends (commit or rollback)."""
    got = conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
    if got.scalar():
        return
    log.info("another process is migrating this database: waiting for it")
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str | None:
    return _scripts().get_current_head()


def known_revision(revision: str) -> bool:
    """Whether this code's migrations include `revision` (a newer release's do not)."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    # A read: on SQLite it takes no write slot (app/db.py), so /readyz and `migrate` answer
    # while a long write (a mapping import) holds it, instead of failing with WriteSlotBusy.
    with read_only(engine).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
