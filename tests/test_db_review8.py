"""Review 8: the database, its migrations and retention, as an operator upgrading, rolling back
and restarting a running install meets them."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from app.db import make_engine
from app.migrate import current_revision, upgrade_to_head
from app.models import utcnow
from tests.test_smoke_schema import _empty_database


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


def test_retention_deleting_every_stored_event_does_not_hand_their_ids_out_again(engine, settings):
    """SQLite gives a new row the highest id stored plus one. Retention deleted every event
        once all were old (a quiet week at WEBHOOK_EVENT_RETENTION_DAYS=7, a paused portal), and
        the next delivery got id 1 again: below the HubSpot line-item resolver's cursor (the last
        event id it resolved), so the line-item changes delivered after that were never resolved
        to their deals. webhook_event is AUTOINCREMENT on SQLite now (migration 0025): a new event's
    id stays above every id handed out before."""
    from app.jobs.schedules import JobContext
    from app.models import WebhookEvent, WriteBackLog
    from app.services import retention

    old = utcnow() - timedelta(days=120)
    with Session(engine) as s:
        s.add_all(
            WebhookEvent(
                source="hubspot",
                dedup_key=f"e{i}",
                crm="hubspot",
                event_type="line_item.propertyChange",
                payload={"i": i},
                received_at=old,
            )
            for i in range(5)
        )
        s.add_all(WriteBackLog(crm="hubspot", deal_id=f"D{i}", created_at=old) for i in range(3))
        s.commit()
        cursor = max(s.exec(select(WebhookEvent.id)))  # the resolver has seen every event
        last_log = max(s.exec(select(WriteBackLog.id)))

    ctx = JobContext(engine=engine, settings=settings, connectors={}, state={})
    retention.retention(ctx)

    with Session(engine) as s:
        assert len(s.exec(select(WebhookEvent.id)).all()) <= 1  # the old ones went
        fresh = WebhookEvent(source="hubspot", dedup_key="new", crm="hubspot", payload={})
        log = WriteBackLog(crm="hubspot", deal_id="D9")
        s.add_all([fresh, log])
        s.commit()
        assert fresh.id > cursor  # the resolver's `WebhookEvent.id > cursor` finds it
        assert log.id > last_log


def test_0025_rebuilds_webhook_event_with_autoincrement_keeping_rows(tmp_path):
    """An install upgraded to 0025 keeps its events (ids, the dedup constraint) and never
    hands an id out again once every event is deleted; the downgrade keeps the rows too."""
    from alembic import command

    from app.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    insert = text(
        "INSERT INTO webhook_event (source, dedup_key, crm, deal_id, event_type, status, "
        "payload, received_at) VALUES ('hubspot', :k, 'hubspot', NULL, NULL, 'queued', "
        "'{\"a\": 1}', '2026-01-01 00:00:00.000000')"
    )
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0024")
            conn.execute(insert, [{"k": "a"}, {"k": "b"}, {"k": "c"}])
        upgrade_to_head(engine)
        with engine.begin() as conn:
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'webhook_event'")
            ).scalar_one()
            rows = conn.execute(text("SELECT id, dedup_key FROM webhook_event ORDER BY id")).all()
            with pytest.raises(Exception, match="UNIQUE"), conn.begin_nested():
                conn.execute(insert, {"k": "a"})
            conn.execute(text("DELETE FROM webhook_event"))  # retention took them all
            conn.execute(insert, {"k": "d"})
            new_id = conn.execute(
                text("SELECT id FROM webhook_event WHERE dedup_key = 'd'")
            ).scalar_one()
        assert "AUTOINCREMENT" in sql.upper()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b"), (3, "c")]
        assert new_id == 4
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0024")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM webhook_event")).scalars().all() == [4]
        upgrade_to_head(engine)
    finally:
        engine.dispose()


def test_reading_the_revision_does_not_wait_for_sqlites_write_slot(tmp_path, monkeypatch):
    """/readyz and `roadmap-guard migrate` read the database's revision. On SQLite that read
    took the process's one write slot: behind a long write (a large mapping import) it waited
    up to 30 s and failed with WriteSlotBusy, and /readyz answered 503 "database unreachable",
    taking the embedded service out of its load balancer. It now reads as a reader (WAL)."""
    import app.db
    from tests.api.test_ops_review8 import _long_write

    # (the slot's wait cut to 1 s: waiting for it fails with WriteSlotBusy, not a slow answer)
    monkeypatch.setattr(app.db, "WRITE_LOCK_TIMEOUT", 1.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade_to_head(engine)
        head = current_revision(engine)
        with _long_write(engine):
            assert current_revision(engine) == head
    finally:
        engine.dispose()


def test_0025_starts_event_ids_past_the_line_item_resolvers_cursor(tmp_path):
    """An install whose events were all deleted before 0025 already handed out ids below the
    HubSpot line-item resolver's cursor: after 0025 the next event's id is past that cursor,
    so the resolver (`id > cursor`) sees the events delivered from then on."""
    from alembic import command

    from app.migrate import alembic_config

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    insert = text(
        "INSERT INTO webhook_event (source, dedup_key, crm, status, payload, received_at) "
        "VALUES ('hubspot', :k, 'hubspot', 'queued', '{}', '2026-12-01 00:00:00.000000')"
    )
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0024")
            # ids 1-2 handed out again after retention emptied the table; the resolver is at 40
            conn.execute(insert, [{"k": "a"}, {"k": "b"}])
            conn.execute(
                text(
                    "INSERT INTO periodic_job (name, interval_seconds, next_run_at, state) "
                    "VALUES ('hubspot_line_items', 30, '2026-12-01 00:00:00.000000', :s)"
                ),
                {"s": '{"after_event_id": 40, "recent": []}'},
            )
        upgrade_to_head(engine)
        with engine.begin() as conn:
            conn.execute(insert, {"k": "c"})
            new_id = conn.execute(
                text("SELECT id FROM webhook_event WHERE dedup_key = 'c'")
            ).scalar_one()
        assert new_id == 41
    finally:
        engine.dispose()


def test_another_applications_migrations_are_not_taken_for_a_newer_release(tmp_path):
    """A revision this code does not know, in a database with none of roadmap-guard's tables,
    is another application's: start-up stops saying so rather than serving on it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('ae1027a6acf')"))
        with pytest.raises(RuntimeError, match="another application's database"):
            upgrade_to_head(engine)
        assert current_revision(engine) == "ae1027a6acf"
    finally:
        engine.dispose()


def _table_ddl(engine: Engine) -> dict[str, tuple[str, ...]]:
    """Each table's CREATE TABLE as SQLite stores it, its lines sorted (columns added by a
    migration sit last), quotes and spacing aside: AUTOINCREMENT, defaults and lengths count."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL")
        ).all()
    out = {}
    for name, sql in rows:
        if name in ("alembic_version", "sqlite_sequence"):
            continue
        body = sql.replace('"', "").split("(", 1)[1].rsplit(")", 1)[0]
        parts, depth, start = [], 0, 0
        for i, ch in enumerate(body + ","):  # split at the commas outside parentheses
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == "," and depth == 0:
                parts.append(" ".join(body[start:i].split()))
                start = i + 1
        out[name] = tuple(sorted(parts))
    return out


def test_a_fresh_sqlite_database_migrated_equals_one_made_from_the_models(tmp_path):
    """`serve` migrates (alembic), the tests build from the models: the two must be the same
    tables, to AUTOINCREMENT (0024, 0025) and server defaults, which the autogenerate
    comparison does not look at."""
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    built = make_engine(f"sqlite:///{tmp_path / 'built.db'}")
    try:
        upgrade_to_head(migrated)
        SQLModel.metadata.create_all(built)
        assert _table_ddl(migrated) == _table_ddl(built)
    finally:
        migrated.dispose()
        built.dispose()


def test_migrations_give_every_column_the_models_server_default(db_backend, request, tmp_path):
    """A column a migration adds to rows that exist needs the model's server default (the
    writers of the release before do not send it): compared as the autogenerate check is,
    server defaults included."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with _empty_database(db_backend, request, tmp_path) as engine:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_server_default": True})
            assert compare_metadata(context, SQLModel.metadata) == []
