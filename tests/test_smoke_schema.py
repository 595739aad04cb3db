from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.db import make_engine
from app.migrate import at_head, upgrade_to_head


def test_migrations_build_the_models_schema(db_backend, request, tmp_path):
    """`alembic upgrade head` yields exactly the tables and columns the models declare."""
    if db_backend == "postgresql":
        url = request.getfixturevalue("pg_database_url")
        engine = make_engine(url)
        with engine.begin() as conn:  # a clean public schema for this check
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade_to_head(engine)
        assert at_head(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        if db_backend == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            SQLModel.metadata.create_all(engine)
        engine.dispose()
