"""Review 8: the database, its migrations and retention, as an operator upgrading, rolling back
and restarting a running install meets them."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from app.db import make_engine
from app.migrate import current_revision, upgrade_to_head


@contextmanager
def _empty_database(db_backend, request, tmp_path) -> Iterator[Engine]:
    """An empty database (PostgreSQL: the run's database, its schema emptied and rebuilt after)."""
    if db_backend == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_database_url"))
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        yield engine
    finally:
        if db_backend == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            SQLModel.metadata.create_all(engine)
        engine.dispose()


def test_an_old_release_starting_on_a_database_a_newer_release_migrated_starts(
    db_backend, request, tmp_path
):
    """A rolling upgrade migrates first and old replicas keep serving (/readyz: ready, with a
    warning). One of them restarting ran `upgrade_to_head`, which failed on alembic's "Can't
    locate revision identified by ..." and the replica could not start. It now leaves the
    database as it is."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        upgrade_to_head(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_next_release'"))
        upgrade_to_head(engine)  # serve's start: no error
        assert current_revision(engine) == "9999_next_release"
        with engine.connect() as conn:  # nothing rebuilt or dropped
            assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
