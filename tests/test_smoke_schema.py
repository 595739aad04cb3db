from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from app.db import make_engine
from app.migrate import alembic_config, at_head, upgrade_to_head


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


def test_migrations_build_the_models_schema(db_backend, request, tmp_path):
    """`alembic upgrade head` yields exactly the tables and columns the models declare."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        upgrade_to_head(engine)
        assert at_head(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())


@contextmanager
def _at_revision(engine: Engine, revision: str) -> Iterator[Connection]:
    """A transaction on `engine` migrated to `revision`: rows written in it have that schema."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        yield conn


def test_0003_backfills_the_availability_copied_onto_deal_feature(db_backend, request, tmp_path):
    """Rows written before 0003 get their feature's availability; keys off the roadmap and
    rows without a feature are unknown."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0002") as conn:
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


def test_0004_marks_one_primary_row_per_deal_and_availability(db_backend, request, tmp_path):
    """Rows written before 0004: per deal and availability, the primary row with the lowest id
    stands for it; other rows (a second feature of that availability, non-primary rows) not."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0003") as conn:
            conn.execute(
                text(
                    "INSERT INTO deal_feature (id, crm, deal_id, feature_key, feature_name, "
                    "source, evidence, is_commitment, score, is_primary, deal_open, availability)"
                    " VALUES (:id, 'test', :d, :k, '', 'note', '', false, 100, :p, true, :a)"
                ),
                [
                    {"id": 1, "d": "d1", "k": "sso", "p": False, "a": "never"},
                    {"id": 2, "d": "d1", "k": "sso", "p": True, "a": "never"},
                    {"id": 3, "d": "d1", "k": "api", "p": True, "a": "available"},
                    {"id": 4, "d": "d1", "k": "scim", "p": True, "a": "never"},
                    {"id": 5, "d": "d2", "k": "scim", "p": True, "a": "never"},
                    {"id": 6, "d": "d2", "k": None, "p": False, "a": "unknown"},
                ],  # fmt: skip
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            first = conn.execute(
                text("SELECT id FROM deal_feature WHERE availability_first ORDER BY id")
            ).scalars()
            assert list(first) == [2, 3, 5]


def test_0008_labels_existing_rows_with_their_deals_own_currency(db_backend, request, tmp_path):
    """Rows written before 0008 add their deal's own amount: they are labelled with the deal's
    own currency (none where the deal has none), and the deal has no converted amount yet."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0007") as conn:
            conn.execute(
                text(
                    "INSERT INTO deal (id, crm, deal_id, name, is_won, is_closed, snapshot, "
                    "tracked, crm_task_open, written, created_at, updated_at, amount, currency) "
                    "VALUES (:id, 'test', :d, '', false, false, '{}', true, false, '{}', "
                    "'2026-12-01 00:00:00', '2026-12-01 00:00:00', 100, :c)"
                ),
                [{"id": 1, "d": "d1", "c": "EUR"}, {"id": 2, "d": "d2", "c": None}],
            )
            conn.execute(
                text(
                    "INSERT INTO deal_feature (id, crm, deal_id, feature_key, feature_name, "
                    "source, evidence, is_commitment, score, is_primary, deal_open, amount)"
                    " VALUES (:id, 'test', :d, 'sso', '', 'note', '', false, 100, true, true, 100)"
                ),
                [{"id": 1, "d": "d1"}, {"id": 2, "d": "d2"}, {"id": 3, "d": "gone"}],
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            labels = conn.execute(text("SELECT id, currency FROM deal_feature ORDER BY id")).all()
            homes = conn.execute(text("SELECT amount_home, home_currency FROM deal")).all()
        assert [tuple(r) for r in labels] == [(1, "EUR"), (2, None), (3, None)]
        assert [tuple(r) for r in homes] == [(None, None), (None, None)]


def test_0007_widens_ids_and_their_sequences_keeping_the_rows(db_backend, request, tmp_path):
    """Rows written before 0007 keep their ids; new rows go on past INTEGER's last value, which
    the SERIAL sequence refused before (its own type was INTEGER too); downgrade narrows back."""
    if db_backend != "postgresql":
        pytest.skip("SQLite ids are its 64-bit rowid already: 0007 changes nothing there")
    event = (
        "INSERT INTO webhook_event (source, dedup_key, crm, status, payload, received_at) "
        "VALUES ('test', :k, 'test', 'ignored', '{}', CURRENT_TIMESTAMP) RETURNING id"
    )
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0006") as conn:
            assert conn.execute(text(event), {"k": "old"}).scalar() == 1
        upgrade_to_head(engine)
        with engine.begin() as conn:
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('webhook_event', 'id'), 2147483647)")
            )
            assert conn.execute(text(event), {"k": "new"}).scalar() == 2147483648
            rows = conn.execute(text("SELECT dedup_key, id FROM webhook_event")).all()
            assert dict(rows) == {"old": 1, "new": 2147483648}
            conn.execute(text("DELETE FROM webhook_event WHERE dedup_key = 'new'"))
            conn.execute(text("SELECT setval(pg_get_serial_sequence('webhook_event', 'id'), 1)"))
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0006")
        with engine.connect() as conn:
            kind = conn.execute(
                text(
                    "SELECT data_type FROM information_schema.columns "
                    "WHERE table_name = 'webhook_event' AND column_name = 'id'"
                )
            ).scalar()
        assert kind == "integer"
        upgrade_to_head(engine)


def test_0010_adds_needed_by_to_deal_feature_and_downgrade_drops_it(db_backend, request, tmp_path):
    """Rows written before 0010 keep their promised date and have no needed-by date until the
    deal is evaluated again; the column takes a date; downgrade drops it."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0009") as conn:
            conn.execute(
                text(
                    "INSERT INTO deal_feature (id, crm, deal_id, feature_key, feature_name, "
                    "source, evidence, is_commitment, promised_date, score, is_primary, "
                    "deal_open) VALUES (1, 'test', 'd1', 'scim', '', 'note', '', true, "
                    "'2027-03-31', 100, true, true)"
                )
            )
        upgrade_to_head(engine)
        with engine.begin() as conn:
            before = conn.execute(text("SELECT promised_date, needed_by FROM deal_feature")).one()
            conn.execute(text("UPDATE deal_feature SET needed_by = '2027-09-30' WHERE id = 1"))
            after = conn.execute(text("SELECT needed_by FROM deal_feature")).scalar()
        assert (str(before[0]), before[1], str(after)) == ("2027-03-31", None, "2027-09-30")
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0009")
        columns = {c["name"] for c in inspect(engine).get_columns("deal_feature")}
        assert "needed_by" not in columns and "promised_date" in columns
        upgrade_to_head(engine)


def test_0013_marks_promised_rows_and_puts_a_promise_first_of_its_availability(
    db_backend, request, tmp_path
):
    """Rows written before 0013: a commitment or a line item is `promised`; per deal and
    availability, the promised primary row with the lowest id now stands for it (else the
    primary row with the lowest id); downgrade drops the column and keeps the marks."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0012") as conn:
            conn.execute(
                text(
                    "INSERT INTO deal_feature (id, crm, deal_id, feature_key, feature_name, "
                    "source, evidence, is_commitment, score, is_primary, deal_open, "
                    "availability, availability_first) VALUES "
                    "(:id, 'test', :d, :k, '', :s, '', :c, 100, :p, true, :a, :f)"
                ),
                [
                    {"id": 1, "d": "d1", "k": "api", "s": "note", "c": False, "p": True, "a": "never", "f": True},
                    {"id": 2, "d": "d1", "k": "sso", "s": "note", "c": False, "p": False, "a": "never", "f": False},
                    {"id": 3, "d": "d1", "k": "sso", "s": "line_item", "c": False, "p": True, "a": "never", "f": False},
                    {"id": 4, "d": "d1", "k": "scim", "s": "note", "c": True, "p": True, "a": "never", "f": False},
                    {"id": 5, "d": "d2", "k": "scim", "s": "note", "c": True, "p": True, "a": "never", "f": True},
                    {"id": 6, "d": "d2", "k": "api", "s": "note", "c": False, "p": True, "a": "available", "f": True},
                ],
            )  # fmt: skip
        upgrade_to_head(engine)
        with engine.connect() as conn:
            promised = conn.execute(text("SELECT id FROM deal_feature WHERE promised ORDER BY id"))
            first = conn.execute(
                text("SELECT id FROM deal_feature WHERE availability_first ORDER BY id")
            )
            assert (list(promised.scalars()), list(first.scalars())) == ([3, 4, 5], [3, 5, 6])
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0012")
        columns = {c["name"] for c in inspect(engine).get_columns("deal_feature")}
        assert "promised" not in columns and "availability_first" in columns
        upgrade_to_head(engine)


def test_0015_marks_nice_to_haves_from_the_latest_evaluation_and_ranks_needs_first(
    db_backend, request, tmp_path
):
    """Rows written before 0015: a note mention is `optional` when the deal's latest evaluation
    stored that reference (feature and note) as a nice-to-have; per deal and feature a required
    mention becomes the primary row, and per deal and availability a required primary row
    stands for it. A deal whose latest evaluation has no nice-to-have is left as it was."""
    import json

    def ref(key: str, note: str, **more) -> dict:
        return {"feature_key": key, "feature_name": key, "source": "note", "source_id": note,
                "evidence": "", **more}  # fmt: skip

    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0014") as conn:
            conn.execute(
                text(
                    "INSERT INTO evaluation (id, crm, deal_id, verdict, findings, \"references\", "
                    "trigger, created_at) VALUES (:id, 'test', :d, 'clear', '[]', :refs, "
                    "'webhook', '2026-12-01 00:00:00')"
                ),
                [
                    {"id": 10, "d": "d1", "refs": json.dumps([
                        ref("sso", "n1", optional=True), ref("sso", "n2"),
                        ref("api", "n1", optional=True), ref("scim", "n3"),
                    ])},
                    # d2: an older evaluation called API nice to have, its latest does not
                    {"id": 11, "d": "d2", "refs": json.dumps([ref("api", "n9", optional=True)])},
                    {"id": 12, "d": "d2", "refs": json.dumps([ref("api", "n9")])},
                ],
            )  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO deal (crm, deal_id, name, is_won, is_closed, snapshot, tracked, "
                    "crm_task_open, written, last_evaluation_id, created_at, updated_at) VALUES "
                    "('test', :d, '', false, false, '{}', true, false, '{}', :e, "
                    "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                ),
                [{"d": "d1", "e": 10}, {"d": "d2", "e": 12}],
            )
            conn.execute(
                text(
                    "INSERT INTO deal_feature (id, crm, deal_id, feature_key, feature_name, "
                    "source, source_id, evidence, is_commitment, score, is_primary, deal_open, "
                    "availability, availability_first, promised) VALUES "
                    "(:id, 'test', :d, :k, '', 'note', :n, '', false, 100, :p, true, :a, :f, false)"
                ),
                [
                    {"id": 1, "d": "d1", "k": "sso", "n": "n1", "p": True, "a": "coming_soon", "f": True},
                    {"id": 2, "d": "d1", "k": "sso", "n": "n2", "p": False, "a": "coming_soon", "f": False},
                    {"id": 3, "d": "d1", "k": "api", "n": "n1", "p": True, "a": "never", "f": True},
                    {"id": 4, "d": "d1", "k": "scim", "n": "n3", "p": True, "a": "never", "f": False},
                    {"id": 5, "d": "d2", "k": "api", "n": "n9", "p": True, "a": "available", "f": True},
                ],
            )  # fmt: skip
        upgrade_to_head(engine)
        with engine.connect() as conn:

            def ids(where: str) -> list[int]:
                return list(
                    conn.execute(
                        text(f"SELECT id FROM deal_feature WHERE {where} ORDER BY id")
                    ).scalars()
                )

            assert (ids("optional"), ids("is_primary"), ids("availability_first")) == (
                [1, 3],
                [2, 3, 4, 5],
                [2, 4, 5],
            )
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0014")
        columns = {c["name"] for c in inspect(engine).get_columns("deal_feature")}
        assert "optional" not in columns and "availability_first" in columns
        upgrade_to_head(engine)


def test_0016_scrubs_secrets_from_roadmap_source_audit_entries(db_backend, request, tmp_path):
    """Entries written before the API refused them kept a token pasted into auth_scheme and a
    URL's credentials; after 0016 they read as the source's readers are shown them. Other
    entries, and the parts of a config that hold no secret, are untouched."""
    import json

    secret = {
        "url": "https://bob:hunter2@roadmap.example.com/api?token=t0psecret&page=1",
        "auth_env": "ROADMAP_SOURCE_ACME_TOKEN",
        "auth_scheme": "sk_live_abc123",
    }
    clean = {"url": "https://roadmap.example.com/api", "auth_scheme": "Bearer"}
    rows = [
        (1, "roadmap_source", "roadmap_source.update", {"name": "acme", "config": secret},
         {"name": "acme", "config": clean}),
        (2, "roadmap_source", "roadmap_source.create", None, {"name": "acme", "config": secret}),
        (3, "roadmap_source", "roadmap_source.create", None, {"name": "ok", "config": clean}),
        (4, "feature", "feature.update", None, {"config": secret}),
    ]  # fmt: skip
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0015") as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, actor, action, entity_type, entity_id, before, "
                    "after, created_at) VALUES (:id, 'revops:a', :action, :type, 'acme', :b, :a, "
                    "'2026-12-01 00:00:00')"
                ),
                [
                    {"id": i, "type": t, "action": action, "a": json.dumps(after),
                     "b": None if before is None else json.dumps(before)}
                    for i, t, action, before, after in rows
                ],
            )  # fmt: skip
        upgrade_to_head(engine)
        with engine.connect() as conn:
            stored = {
                id_: (before, after)
                for id_, before, after in conn.execute(
                    text("SELECT id, before, after FROM audit_log ORDER BY id")
                )
            }
            nulls = conn.execute(
                text("SELECT id FROM audit_log WHERE before IS NULL ORDER BY id")
            ).scalars()
            assert list(nulls) == [2, 3, 4]  # still SQL NULL, not a JSON null
    loaded = {i: tuple(json.loads(v) if isinstance(v, str) else v for v in pair)
              for i, pair in stored.items()}  # fmt: skip
    scrubbed = {
        "url": "https://roadmap.example.com/api?token=***&page=1",
        "auth_env": "ROADMAP_SOURCE_ACME_TOKEN",
        "auth_scheme": "***",
    }
    assert loaded[1] == ({"name": "acme", "config": scrubbed}, {"name": "acme", "config": clean})
    assert loaded[2] == (None, {"name": "acme", "config": scrubbed})
    assert loaded[3] == (None, {"name": "ok", "config": clean})
    assert loaded[4] == (None, {"config": secret})  # not a source's entry
    for text_ in (json.dumps(loaded[1]), json.dumps(loaded[2])):
        assert "hunter2" not in text_ and "t0psecret" not in text_ and "sk_live" not in text_


def test_0017_gives_queued_sweeps_priority_1_and_downgrade_restores_the_index(
    db_backend, request, tmp_path
):
    """Rows queued before 0017 take their reason's priority (a sweep's 1, a CRM change's or an
    approval's 0), new rows default to 0, and the claim index leads with status, priority."""
    reasons = ["webhook", "roadmap", "backfill", "reread", "ledger", "reconcile", "approval"]
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0016") as conn:
            conn.execute(
                text(
                    "INSERT INTO deal_queue (crm, deal_id, status, reason, due_at, attempts, "
                    "rerun, queued_at, updated_at) VALUES ('hubspot', :reason, 'pending', "
                    ":reason, '2026-12-01 00:00:00', 0, false, '2026-12-01 00:00:00', "
                    "'2026-12-01 00:00:00')"
                ),
                [{"reason": r} for r in reasons],
            )
        upgrade_to_head(engine)
        with engine.begin() as conn:
            got = dict(conn.execute(text("SELECT reason, priority FROM deal_queue")).all())
            conn.execute(
                text(
                    "INSERT INTO deal_queue (crm, deal_id, status, reason, due_at, attempts, "
                    "rerun, queued_at, updated_at) VALUES ('hubspot', 'new', 'pending', "
                    "'webhook', '2026-12-01 00:00:00', 0, false, '2026-12-01 00:00:00', "
                    "'2026-12-01 00:00:00')"
                )
            )
            new = conn.execute(
                text("SELECT priority FROM deal_queue WHERE deal_id = 'new'")
            ).scalar_one()
        assert got == {
            "webhook": 0,
            "roadmap": 1,
            "backfill": 1,
            "reread": 1,
            "ledger": 1,
            "reconcile": 0,
            "approval": 0,
        }
        assert new == 0
        claim = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("deal_queue")}
        assert claim["ix_deal_queue_claim"] == ["status", "priority", "due_at", "id"]
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0016")
        columns = {c["name"] for c in inspect(engine).get_columns("deal_queue")}
        assert "priority" not in columns
        claim = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("deal_queue")}
        assert claim["ix_deal_queue_claim"] == ["status", "due_at", "id"]
        upgrade_to_head(engine)


def test_0018_binds_existing_approvals_to_the_findings_they_cover_now(
    db_backend, request, tmp_path
):
    """An approval made before 0018 is given the findings its deal's latest evaluation names
    it on; one that covers nothing there (or is revoked) keeps NULL and covers as before."""
    import json

    def finding(rule: str, key: str | None, approval: int | None, evidence: str = "") -> dict:
        return {"rule_id": rule, "feature_key": key, "evidence": evidence, "severity": "block",
                "message": "", "approved": approval is not None, "approval_id": approval}  # fmt: skip

    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0017") as conn:
            findings = [
                finding("never-blocks", "sso", 1),
                finding("never-blocks", "sso", 1),  # a second mention: one entry
                finding("unknown-promised", None, 2, "We'll build a SAP connector."),
                finding("unknown-promised", None, None, "And a blockchain ledger."),
            ]
            conn.execute(
                text(
                    'INSERT INTO evaluation (id, crm, deal_id, verdict, findings, "references", '
                    "trigger, created_at) VALUES (10, 'test', 'd1', 'blocked', :f, '[]', "
                    "'webhook', '2026-12-01 00:00:00')"
                ),
                {"f": json.dumps(findings)},
            )
            conn.execute(
                text(
                    "INSERT INTO deal (crm, deal_id, name, is_won, is_closed, snapshot, tracked, "
                    "crm_task_open, written, last_evaluation_id, created_at, updated_at) VALUES "
                    "('test', 'd1', '', false, false, '{}', true, false, '{}', 10, "
                    "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO approval (id, crm, deal_id, feature_key, rule_id, reason, "
                    "approver, revoked_at, created_at) VALUES (:id, 'test', 'd1', :k, :r, 'ok', "
                    "'pat', :revoked, '2026-12-01 00:00:00')"
                ),
                [
                    {"id": 1, "k": "sso", "r": None, "revoked": None},
                    {"id": 2, "k": None, "r": "unknown-promised", "revoked": None},
                    {"id": 3, "k": "scim", "r": None, "revoked": None},  # covers nothing now
                    {"id": 4, "k": "sso", "r": None, "revoked": "2026-12-02 00:00:00"},
                ],
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            covers = {
                i: json.loads(c) if isinstance(c, str) else c
                for i, c in conn.execute(text("SELECT id, covers FROM approval ORDER BY id"))
            }
        assert covers == {
            1: [{"rule_id": "never-blocks", "feature_key": "sso", "evidence": ""}],
            2: [
                {
                    "rule_id": "unknown-promised",
                    "feature_key": None,
                    "evidence": "We'll build a SAP connector.",
                }
            ],
            3: None,
            4: None,
        }
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0017")
        assert "covers" not in {c["name"] for c in inspect(engine).get_columns("approval")}
        upgrade_to_head(engine)


def test_0019_names_the_features_existing_source_entries_list_and_downgrade_drops_it(
    db_backend, request, tmp_path
):
    """A source's refresh, mapping edit or delete written before 0019 is given the features its
    entry lists (before.features) as further subjects, so the audit filter by feature finds it;
    other entries get none. Downgrade drops the table."""
    import json

    rows = [
        (1, "roadmap_source", "roadmap.refresh", {"features": {"sso": None, "scim": {"name": "S"}}}),
        (2, "roadmap_source", "roadmap_source.update",
         {"name": "acme", "status_mapping": {}, "features": {"sso": {"availability": "beta"}}}),
        (3, "roadmap_source", "roadmap_source.delete", {"name": "acme", "features": {"dark": {}}}),
        (4, "roadmap_source", "roadmap_source.update", {"name": "acme", "enabled": True}),
        (5, "roadmap_source", "roadmap_source.create", None),
        (6, "feature", "feature.update", {"features": {"x": {}}}),
    ]  # fmt: skip
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0018") as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_log (id, actor, action, entity_type, entity_id, before, "
                    "after, created_at) VALUES (:id, 'revops:a', :action, :type, 'acme', :b, "
                    "'{}', '2026-12-01 00:00:00')"
                ),
                [
                    {"id": i, "type": t, "action": action,
                     "b": None if before is None else json.dumps(before)}
                    for i, t, action, before in rows
                ],
            )  # fmt: skip
        upgrade_to_head(engine)
        with engine.connect() as conn:
            subjects = conn.execute(
                text(
                    "SELECT audit_id, entity_type, entity_id FROM audit_subject "
                    "ORDER BY audit_id, entity_id"
                )
            ).all()
        assert [tuple(r) for r in subjects] == [
            (1, "feature", "scim"),
            (1, "feature", "sso"),
            (2, "feature", "sso"),
            (3, "feature", "dark"),
        ]
        assert "ix_audit_subject_entity" in {
            i["name"] for i in inspect(engine).get_indexes("audit_subject")
        }
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0018")
        assert "audit_subject" not in inspect(engine).get_table_names()
        upgrade_to_head(engine)
        assert "audit_subject" in inspect(engine).get_table_names()


def test_0020_gives_each_active_name_to_its_oldest_key_and_downgrade_drops_it(
    db_backend, request, tmp_path
):
    """Active keys get their folded name, oldest first; a later active key sharing it (made
    before names were unique) and revoked keys keep NULL, so the unique index can be built."""
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0019") as conn:
            conn.execute(
                text(
                    "INSERT INTO api_key (id, name, role, prefix, key_hash, revoked_at, "
                    "created_at) VALUES (:id, :name, 'viewer', :prefix, 'h', :revoked, "
                    "'2026-12-01 00:00:00')"
                ),
                [
                    {"id": 1, "name": "old dana", "prefix": "rg_1", "revoked": "2026-12-02"},
                    {"id": 2, "name": " Dana ", "prefix": "rg_2", "revoked": None},
                    {"id": 3, "name": "dana", "prefix": "rg_3", "revoked": None},
                    {"id": 4, "name": "OLD DANA", "prefix": "rg_4", "revoked": None},
                    {"id": 5, "name": "Dana", "prefix": "rg_5", "revoked": "2026-12-02"},
                ],
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            names = dict(
                conn.execute(text("SELECT id, active_name FROM api_key ORDER BY id")).all()
            )
        assert names == {1: None, 2: "dana", 3: None, 4: "old dana", 5: None}
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0019")
        assert "active_name" not in {c["name"] for c in inspect(engine).get_columns("api_key")}
        upgrade_to_head(engine)


def test_0022_gives_existing_entries_their_signing_time_as_recorded_at(
    db_backend, request, tmp_path
):
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0021") as conn:
            conn.execute(
                text(
                    "INSERT INTO commitment (id, crm, deal_id, deal_name, promise_key, "
                    "feature_name, evidence, signed_at, task_requested, hedged) VALUES "
                    "(1, 'test', 'd1', '', 'sso', 'SSO', '', '2026-03-15 12:00:00', false, false)"
                )
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            signed, recorded = conn.execute(
                text("SELECT signed_at, recorded_at FROM commitment WHERE id = 1")
            ).one()
        assert recorded == signed and str(recorded).startswith("2026-03-15 12:00:00")
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        columns = {c["name"] for c in inspect(engine).get_columns("commitment")}
        assert "withdrawn_at" in columns  # 0023: entries stand until their deal leaves won
        command.downgrade(cfg, "0021")
        columns = {c["name"] for c in inspect(engine).get_columns("commitment")}
        assert not {"recorded_at", "withdrawn_at"} & columns
        upgrade_to_head(engine)


def test_0024_rebuilds_product_mapping_with_autoincrement_keeping_rows(tmp_path):
    """SQLite reused the highest id once its row was deleted; after 0024 a deleted mapping's id
    is never given to another, the rows and the unique constraint kept."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    insert = text(
        "INSERT INTO product_mapping (match_kind, match_value, match_key, feature_keys, "
        "created_at, updated_at) VALUES ('sku', :v, :v, '[\"sso\"]', '2026-12-01 00:00:00', "
        "'2026-12-01 00:00:00')"
    )
    try:
        with _at_revision(engine, "0023") as conn:
            conn.execute(insert, [{"v": "a"}, {"v": "b"}, {"v": "c"}])
            conn.execute(text("DELETE FROM product_mapping WHERE match_value = 'c'"))
        upgrade_to_head(engine)
        with engine.begin() as conn:
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'product_mapping'")
            ).scalar_one()
            rows = conn.execute(
                text("SELECT id, match_value FROM product_mapping ORDER BY id")
            ).all()
            conn.execute(text("DELETE FROM product_mapping WHERE match_value = 'b'"))
            conn.execute(insert, {"v": "d"})
            new_id = conn.execute(
                text("SELECT id FROM product_mapping WHERE match_value = 'd'")
            ).scalar_one()
            with pytest.raises(Exception, match="UNIQUE"), conn.begin_nested():
                conn.execute(insert, {"v": "a"})
        assert "AUTOINCREMENT" in sql.upper()
        assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]
        # 3 (the row deleted before the rebuild) is lost to SQLite's old rule; 2 is not reused
        assert new_id == 3
    finally:
        engine.dispose()
