"""The `reread` schedule's choice of deals and its pacing (end to end: test_pipeline.py)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import Deal, DealQueue, Evaluation
from app.services import reread
from app.services.catalog import load_catalog_and_matcher


def _deal(s: Session, deal_id: str, matcher: str | None, **values) -> None:
    evaluation = Evaluation(crm="test", deal_id=deal_id, verdict="clear", matcher_version=matcher)
    s.add(evaluation)
    s.flush()
    s.add(Deal(crm="test", deal_id=deal_id, last_evaluation_id=evaluation.id, **values))


def test_only_open_tracked_deals_read_another_way_are_queued_in_paced_chunks(engine, monkeypatch):
    monkeypatch.setattr(reread, "_CHUNK", 2)
    with Session(engine) as s:
        _, current = load_catalog_and_matcher(s)
        for i in range(5):
            _deal(s, f"old-{i}", "an-older-release")
        _deal(s, "none", None)  # evaluated before matcher versions were recorded
        _deal(s, "current", current)
        _deal(s, "closed", "an-older-release", is_closed=True)
        _deal(s, "deleted", "an-older-release", tracked=False)
        s.commit()
        state, queued = reread.reread_after_upgrade(s, {"other": 1})
        s.commit()
        assert queued == 6 and state["other"] == 1 and state["reading"]
        rows = {q.deal_id: q.due_at for q in s.exec(select(DealQueue))}
    assert sorted(rows) == ["none", "old-0", "old-1", "old-2", "old-3", "old-4"]
    dues = sorted(set(rows.values()))
    assert len(dues) == 3  # three chunks of two, each due later than the one before
    assert (dues[1] - dues[0]).total_seconds() == reread.PACE_SECONDS
    with Session(engine) as s:
        assert reread.reread_after_upgrade(s, state) == (state, 0)  # same reading: nothing
