"""Backfill: every open deal of a CRM queued once, each page committed as it is listed."""

from __future__ import annotations

from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.models import DealQueue
from app.rules.model import DealSnapshot, Stage
from app.services.backfill import backfill


def _put(crm: TestCrmConnector, deal_id: str, *, closed: bool = False) -> None:
    stage = Stage(id="won" if closed else "demo", is_won=closed, is_closed=closed)
    crm.put_deal(DealSnapshot(crm="test", deal_id=deal_id, stage=stage))


def test_backfill_queues_open_deals_page_by_page_and_never_twice(engine):
    crm = TestCrmConnector(engine)
    crm.page_size = 2
    for i in range(5):
        _put(crm, f"D{i}")
    _put(crm, "W1", closed=True)
    crm.delete_deal("D4")  # gone from the CRM: not listed

    committed: list[int] = []

    def on_page(page, result) -> None:
        with Session(engine) as s:  # what another connection sees: the page is committed
            committed.append(len(s.exec(select(DealQueue)).all()))
        assert result.total == 4

    result = backfill(engine, crm, actor="test", pace=None, on_page=on_page)
    assert (result.listed, result.queued, result.total) == (4, 4, 4)
    assert committed == [2, 4]
    with Session(engine) as s:
        rows = s.exec(select(DealQueue).order_by(DealQueue.deal_id)).all()
    assert [(r.deal_id, r.reason) for r in rows] == [(f"D{i}", "backfill") for i in range(4)]

    again = backfill(engine, crm, actor="test")
    assert again.listed == 4
    with Session(engine) as s:
        assert len(s.exec(select(DealQueue)).all()) == 4  # one row per deal


def test_backfill_pages_are_due_at_its_pace_so_webhooks_go_first(engine):
    """At 2 deals a minute, the second page of two is due a minute after the first: a webhook
    queued meanwhile (due when it arrives) is claimed before it."""
    from datetime import timedelta

    from app.jobs.queue import claim_batch, enqueue_deals, pending_by_reason
    from app.models import utcnow

    crm = TestCrmConnector(engine)
    crm.page_size = 2
    for i in range(4):
        _put(crm, f"D{i}")
    start = utcnow()
    backfill(engine, crm, actor="test", pace=2)
    with Session(engine) as s:
        due = {r.deal_id: r.due_at for r in s.exec(select(DealQueue))}
        enqueue_deals(s, "test", ["W1"], reason="webhook")
        s.commit()
    assert due["D0"] == due["D1"] and due["D0"] - start < timedelta(seconds=5)
    with Session(engine) as s:  # how far it has got, as GET /api/v1/queue and the CLI say
        assert pending_by_reason(s) == {
            "backfill": {"pending": 4, "not_due": 2},
            "webhook": {"pending": 1, "not_due": 0},
        }
    assert due["D2"] - due["D0"] == timedelta(minutes=1) == due["D3"] - due["D1"]
    claimed = claim_batch(engine, owner="w", limit=10, lease_seconds=60)
    assert sorted(i.deal_id for i in claimed) == ["D0", "D1", "W1"]


def test_an_interrupted_backfill_is_audited_with_its_counts_so_far_and_why(engine):
    import pytest

    from app.connectors.base import DealIdPage, TransientError
    from app.models import AuditLog

    class RateLimited:
        name = "test"

        def open_deal_ids(self):
            yield DealIdPage(ids=[f"A{i}" for i in range(100)], total=300)
            yield DealIdPage(ids=[f"B{i}" for i in range(100)], total=300)
            raise TransientError("429 daily limit", retry_after=3600)

    with pytest.raises(TransientError, match="429 daily limit"):
        backfill(engine, RateLimited(), actor="cli:ops", pace=None)
    with Session(engine) as s:
        assert len(s.exec(select(DealQueue)).all()) == 200  # each page kept
        entry = s.exec(select(AuditLog).where(AuditLog.action == "queue.backfill")).one()
    assert (entry.actor, entry.entity_id) == ("cli:ops", "test")
    assert entry.after == {
        "listed": 200,
        "queued": 200,
        "total": 300,
        "pace": None,
        "interrupted": True,
        "error": "TransientError: 429 daily limit",
        "retry_after": 3600,
    }


def test_a_finished_backfill_is_audited_as_not_interrupted(engine):
    from app.models import AuditLog

    crm = TestCrmConnector(engine)
    _put(crm, "D1")
    backfill(engine, crm, actor="test", pace=None)
    with Session(engine) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "queue.backfill")).one()
    assert entry.after == {"listed": 1, "queued": 1, "pace": None}
