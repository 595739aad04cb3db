from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from app.db import make_engine
from app.migrate import alembic_config, at_head, upgrade_to_head


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


def test_0003_backfills_the_availability_copied_onto_deal_feature(db_backend, request, tmp_path):
    """Rows written before 0003 get their feature's availability; keys off the roadmap and
    rows without a feature are unknown."""
    if db_backend == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_database_url"))
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            conn.execute(
                text(
                    "INSERT INTO feature (key, name, aliases, availability, skus, product_ids, "
                    "source, created_at, updated_at) VALUES (:k, :k, '[]', :a, '[]', '[]', "
                    "'registry', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                [{"k": "sso", "a": "never"}, {"k": "api", "a": "available"}],
            )
            conn.execute(
                text(
                    "INSERT INTO deal_feature (crm, deal_id, feature_key, feature_name, source, "
                    "evidence, is_commitment, score, is_primary, deal_open) VALUES "
                    "('test', :d, :k, '', 'note', '', false, 100, true, true)"
                ),
                [
                    {"d": "d1", "k": "sso"},
                    {"d": "d2", "k": "api"},
                    {"d": "d3", "k": "gone"},
                    {"d": "d4", "k": None},
                ],  # fmt: skip
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT deal_id, availability FROM deal_feature")).all()
        assert dict(rows) == {"d1": "never", "d2": "available", "d3": "unknown", "d4": "unknown"}
    finally:
        if db_backend == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            SQLModel.metadata.create_all(engine)
        engine.dispose()
