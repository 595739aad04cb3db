"""Migration 0006: mappings that differ only in case or spacing are merged into the oldest, with
the feature keys the catalog already gave them together, and the merge is audited."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from app.db import json_loads
from app.migrate import alembic_config, upgrade_to_head
from tests.test_smoke_schema import _at_revision, _empty_database


def test_0006_merges_mappings_that_differ_in_case_or_spacing(db_backend, request, tmp_path):
    with _empty_database(db_backend, request, tmp_path) as engine:
        with _at_revision(engine, "0005") as conn:
            conn.execute(
                text(
                    "INSERT INTO product_mapping (id, match_kind, match_value, feature_keys, "
                    "created_at, updated_at) VALUES (:id, :kind, :value, :keys, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                [
                    {"id": 1, "kind": "sku", "value": "AI-ADDON", "keys": '["sso"]'},
                    {"id": 2, "kind": "sku", "value": "ai-addon", "keys": '["scim", "sso"]'},
                    {"id": 3, "kind": "name", "value": "Audit  Pack", "keys": '["audit"]'},
                    {"id": 4, "kind": "sku", "value": " Ai-Addon", "keys": '["api"]'},
                    {"id": 5, "kind": "name", "value": "audit pack", "keys": '["audit"]'},
                    {"id": 6, "kind": "product_id", "value": "ai-addon", "keys": '["x"]'},
                    {"id": 7, "kind": "sku", "value": "OTHER", "keys": '["y"]'},
                ],  # fmt: skip
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, match_kind, match_value, match_key, feature_keys "
                    "FROM product_mapping ORDER BY id"
                )
            ).all()
            merges = conn.execute(
                text("SELECT actor, action, entity_id, before, after FROM audit_log ORDER BY id")
            ).all()
        stored = [(r[0], r[1], r[2], r[3], _list(r[4])) for r in rows]
        assert stored == [
            (1, "sku", "AI-ADDON", "ai-addon", ["sso", "scim", "api"]),
            (3, "name", "Audit  Pack", "audit pack", ["audit"]),
            (6, "product_id", "ai-addon", "ai-addon", ["x"]),
            (7, "sku", "OTHER", "other", ["y"]),
        ]
        assert [(m[0], m[1], m[2]) for m in merges] == [
            ("system:migration-0006", "mapping.merge", "1"),
            ("system:migration-0006", "mapping.merge", "3"),
        ]
        before, after = _dict(merges[0][3]), _dict(merges[0][4])
        assert [m["id"] for m in before["mappings"]] == [1, 2, 4]
        assert before["mappings"][1]["feature_keys"] == ["scim", "sso"]
        assert after == {
            "id": 1,
            "match_kind": "sku",
            "match_value": "AI-ADDON",
            "feature_keys": ["sso", "scim", "api"],
        }
        unique = {
            c["name"]: c["column_names"]
            for c in inspect(engine).get_unique_constraints("product_mapping")
        }
        assert unique == {"uq_product_mapping_key": ["match_kind", "match_key"]}

        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.downgrade(cfg, "0005")
        unique = {
            c["name"]: c["column_names"]
            for c in inspect(engine).get_unique_constraints("product_mapping")
        }
        assert unique == {"uq_product_mapping": ["match_kind", "match_value"]}
        assert "match_key" not in {
            c["name"] for c in inspect(engine).get_columns("product_mapping")
        }


def _list(value) -> list:
    return json_loads(value) if isinstance(value, str) else value


def _dict(value) -> dict:
    return json_loads(value) if isinstance(value, str) else value
