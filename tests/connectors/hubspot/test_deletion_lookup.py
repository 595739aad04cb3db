"""The deals a deleted line item or note referenced are found through an index: HubSpot's
deletion events name only the deleted object, and the lookup by its id read the whole
dependency index (one row per deal and feature) without one."""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session

from app.connectors.hubspot.reconcile import _deals_referencing
from app.models import DealFeature


def test_the_deals_of_a_deleted_line_item_or_note_are_found_by_index(engine, db_backend):
    with Session(engine) as s:
        for i in range(200):
            s.add(
                DealFeature(
                    crm="hubspot",
                    deal_id=f"d{i}",
                    feature_key="sso",
                    feature_name="SSO",
                    source="note" if i % 2 else "line_item",
                    source_id=f"obj{i}",
                    evidence="We promised SSO.",
                )
            )
        s.commit()
    with engine.begin() as conn:  # the planner's statistics, as a live database has them
        conn.exec_driver_sql("ANALYZE deal_feature" if db_backend == "postgresql" else "ANALYZE")
    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "deal_feature" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as s:
            found = _deals_referencing(s, {"line_item": ["obj4"], "note": ["obj7", "gone"]})
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert found == {"d4", "d7"}
    assert seen
    with engine.connect() as conn:
        for statement, parameters in seen:
            if db_backend == "postgresql":  # a table this small is read whole otherwise
                conn.exec_driver_sql("SET enable_seqscan = off")
                plan = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
            else:
                plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            text = " ".join(str(part) for row in plan for part in row)
            assert "ix_deal_feature_source" in text, text
