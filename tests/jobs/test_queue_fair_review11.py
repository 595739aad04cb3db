"""Review 11: a claim is shared among the CRMs with due rows; held and backing-off retries are
told apart (`held`); an operator's replay or retry clears the row's old error; migration 0027."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import inspect, select, text
from sqlmodel import Session, SQLModel

from app.db import make_engine, session_scope
from app.jobs.queue import (
    claim_batch,
    enqueue_deals,
    pending_after_error,
    record_outcomes,
    replay_dead,
    retry_now,
)
from app.jobs.types import Outcome
from app.models import DealQueue, utcnow


def _rows(engine) -> dict[str, DealQueue]:
    with Session(engine) as s:
        return {r.deal_id: r for r in s.exec(select(DealQueue)).scalars()}


def _record(engine, items, outcome: Outcome, *, max_attempts: int = 3):
    return record_outcomes(
        engine,
        owner="w",
        outcomes=[(item, outcome) for item in items],
        max_attempts=max_attempts,
        backoff_base=1.0,
        backoff_cap=10.0,
        rng=random.Random(1),
    )


def test_a_flood_for_one_crm_does_not_starve_the_other_crms_due_deals(engine):
    """1,000 due HubSpot rows older than 10 due Salesforce rows: one claim of 50 takes the 10
    Salesforce rows and fills the rest with HubSpot's oldest. Before, the claim took the 50
    oldest due rows, all HubSpot: the Salesforce deals waited for the whole import."""
    now = utcnow()
    with session_scope(engine) as s:
        enqueue_deals(
            s, "hubspot", [f"H{i:04d}" for i in range(1000)], due_at=now - timedelta(hours=1)
        )
        enqueue_deals(s, "salesforce", [f"S{i:02d}" for i in range(10)], due_at=now)
    items = claim_batch(engine, owner="w", limit=50, lease_seconds=60, now=now)
    by_crm = {
        crm: sorted(i.deal_id for i in items if i.crm == crm) for crm in {i.crm for i in items}
    }
    assert len(by_crm["salesforce"]) == 10
    assert by_crm["hubspot"] == [f"H{i:04d}" for i in range(40)]  # HubSpot's oldest, in order
    assert len(items) == 50


def test_two_floods_share_each_claim_and_priority_0_still_comes_first(engine):
    """Both CRMs flooded: each claim is split evenly. A sweep's rows (priority 1) of one CRM do
    not take an urgent row's place: priority 0 first, shared, then the sweep's share."""
    now = utcnow()
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", [f"H{i:03d}" for i in range(100)], due_at=now)
        enqueue_deals(s, "salesforce", [f"S{i:03d}" for i in range(100)], due_at=now)
        enqueue_deals(s, "test", [f"T{i:03d}" for i in range(100)], reason="roadmap", due_at=now)
    items = claim_batch(engine, owner="w", limit=20, lease_seconds=60, now=now)
    crms = [i.crm for i in items]
    assert crms.count("hubspot") == 9 and crms.count("salesforce") == 9  # SWEEP_SHARE: 2 left
    assert crms.count("test") == 2


def test_a_claim_skips_rows_not_due_and_takes_expired_leases_of_any_crm(engine):
    now = utcnow()
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", ["LATER"], due_at=now + timedelta(hours=1))
        enqueue_deals(s, "salesforce", ["S1"], due_at=now)
    first = claim_batch(engine, owner="a", limit=10, lease_seconds=60, now=now)
    assert [i.deal_id for i in first] == ["S1"]
    again = claim_batch(
        engine, owner="b", limit=10, lease_seconds=60, now=now + timedelta(minutes=2)
    )
    assert [i.deal_id for i in again] == ["S1"]  # expired, taken over; LATER still not due


def test_held_retries_are_told_apart_from_backing_off_ones(engine):
    """`held`: the CRM refused us (the attempt given back) vs a transient error (attempt spent);
    any later outcome clears it."""
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", ["HELD", "BACKOFF", "DONE"])
    items = {i.deal_id: i for i in claim_batch(engine, owner="w", limit=10, lease_seconds=60)}
    _record(engine, [items["HELD"]], Outcome("retry", error="CredentialsError: 401", hold=True))
    _record(engine, [items["BACKOFF"]], Outcome("retry", error="TransientError: timed out"))
    _record(engine, [items["DONE"]], Outcome.done())
    rows = _rows(engine)
    assert rows["HELD"].held is True and rows["HELD"].attempts == 0
    assert rows["BACKOFF"].held is False and rows["BACKOFF"].attempts == 1
    assert rows["DONE"].held is False
    later = utcnow() + timedelta(hours=1)
    again = claim_batch(engine, owner="w", limit=10, lease_seconds=60, now=later)
    assert {i.deal_id for i in again} == {"HELD", "BACKOFF"}
    _record(engine, [i for i in again if i.deal_id == "HELD"], Outcome("retry", error="x"))
    assert _rows(engine)["HELD"].held is False  # now an ordinary retry, counting attempts


def test_replaying_or_retrying_clears_the_old_error(engine):
    """A replayed dead deal kept its old last_error until it ran: `roadmap-guard queue` and
    GET /api/v1/queue listed it as failing ("after an error", pending_with_error)."""
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D1", "D2"])
    items = claim_batch(engine, owner="w", limit=10, lease_seconds=60)
    _record(engine, items, Outcome("dead", error="PermanentError: refused"))
    assert all(r.last_error for r in _rows(engine).values())
    with session_scope(engine) as s:
        assert replay_dead(s)
    rows = _rows(engine)
    assert [(r.status, r.last_error, r.held) for r in rows.values()] == [
        ("pending", None, False)
    ] * 2
    with Session(engine) as s:
        assert s.execute(select(DealQueue.id).where(pending_after_error())).all() == []
    # retry_now (POST /api/v1/queue/{id}/retry) on a held row: due now, error cleared
    items = claim_batch(engine, owner="w", limit=10, lease_seconds=60)
    _record(engine, items, Outcome("retry", error="CredentialsError: 401", hold=True))
    with session_scope(engine) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == "D1")).scalars().one()
        assert row.held and retry_now(s, row)
        assert (row.last_error, row.held) == (None, False)


def test_0027_adds_held_and_the_fair_claim_index_and_downgrade_drops_them(
    db_backend, request, tmp_path
):
    from alembic import command

    from app.migrate import alembic_config, upgrade_to_head

    if db_backend == "postgresql":
        engine = make_engine(request.getfixturevalue("pg_database_url"))
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    else:
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        command.upgrade(cfg, "0026")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO deal_queue (crm, deal_id, status, reason, priority, due_at, "
                    "attempts, rerun, last_error, queued_at, updated_at) VALUES ('hubspot', "
                    "'OLD', 'pending', 'webhook', 0, '2026-12-01 00:00:00', 1, false, 'e', "
                    "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                )
            )
        upgrade_to_head(engine)
        with engine.connect() as conn:
            held = conn.execute(text("SELECT held FROM deal_queue")).scalar_one()
        assert held in (False, 0)
        indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("deal_queue")}
        assert indexes["ix_deal_queue_pending_crm"] == ["crm", "priority", "due_at", "id"]
        command.downgrade(cfg, "0026")
        columns = {c["name"] for c in inspect(engine).get_columns("deal_queue")}
        assert "held" not in columns
        indexes = {i["name"] for i in inspect(engine).get_indexes("deal_queue")}
        assert "ix_deal_queue_pending_crm" not in indexes and "ix_deal_queue_claim" in indexes
        with engine.connect() as conn:
            assert conn.execute(text("SELECT deal_id FROM deal_queue")).scalars().all() == ["OLD"]
        upgrade_to_head(engine)
    finally:
        if db_backend == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            SQLModel.metadata.create_all(engine)
        engine.dispose()
