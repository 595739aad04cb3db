"""The `reread` schedule during a rolling upgrade: an older worker, still running, claims some of
the rows the new release's job queued and re-evaluates them with the old reading, recording
nothing new (to it the stored references still hold). Those deals kept the old reading for good:
the job had recorded the new code's digest and never looked again."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import Deal, DealQueue, Evaluation
from app.services import reread
from app.services.catalog import load_catalog_and_matcher


def _deal(s: Session, deal_id: str, matcher: str | None) -> None:
    evaluation = Evaluation(crm="test", deal_id=deal_id, verdict="clear", matcher_version=matcher)
    s.add(evaluation)
    s.flush()
    s.add(Deal(crm="test", deal_id=deal_id, last_evaluation_id=evaluation.id))


def _run_rows(s: Session, ran: dict[str, str | None]) -> None:
    """The queued rows ran: `done` (`dead` where the value is "dead"); a deal whose value is a
    matcher was re-evaluated under it (a new release's worker), else nothing was recorded (an
    older worker, for which the stored references still held)."""
    for row in s.exec(select(DealQueue).where(DealQueue.status == "pending")):
        outcome = ran.get(row.deal_id)
        row.status = "dead" if outcome == "dead" else "done"
        s.add(row)
        if outcome not in (None, "dead"):
            deal = s.exec(select(Deal).where(Deal.deal_id == row.deal_id)).one()
            s.get(Evaluation, deal.last_evaluation_id).matcher_version = outcome
    s.commit()


def _queued(s: Session) -> list[str]:
    return sorted(q.deal_id for q in s.exec(select(DealQueue).where(DealQueue.status == "pending")))


def test_deals_an_older_worker_took_during_a_rolling_upgrade_are_queued_again(engine):
    with Session(engine) as s:
        _, current = load_catalog_and_matcher(s)
        for deal_id in ("A", "B", "C", "D"):
            _deal(s, deal_id, "an-older-release")
        s.commit()
        state, queued = reread.reread_after_upgrade(s, {})
        s.commit()
        assert queued == 4
        # While the rows it queued wait, a run queues nothing more.
        assert reread.reread_after_upgrade(s, state) == (state, 0)

        # A new worker re-read A; an older one took B and C (nothing recorded); D failed.
        _run_rows(s, {"A": current, "D": "dead"})
        state, queued = reread.reread_after_upgrade(s, state)
        s.commit()
        assert queued == 2 and _queued(s) == ["B", "C"]  # not A (read), not D (dead)

        _run_rows(s, {"B": current, "C": current})
        state, queued = reread.reread_after_upgrade(s, state)
        s.commit()
        assert queued == 0 and _queued(s) == []
        # Settled: a later run does not look again.
        _deal(s, "E", "an-older-release")
        s.commit()
        assert reread.reread_after_upgrade(s, state) == (state, 0)


def test_the_checks_after_an_upgrade_end(engine):
    """An older worker that keeps taking the rows does not make the job queue them forever."""
    with Session(engine) as s:
        _deal(s, "A", "an-older-release")
        s.commit()
        state, queued = reread.reread_after_upgrade(s, {})
        s.commit()
        rounds = [queued]
        for _ in range(reread.RECHECKS + 3):
            _run_rows(s, {})  # the older worker again: nothing recorded
            state, queued = reread.reread_after_upgrade(s, state)
            s.commit()
            rounds.append(queued)
    assert rounds == [1] + [1] * reread.RECHECKS + [0] * 3


def test_a_state_left_by_the_previous_release_is_not_checked_again(engine):
    """A job state recorded before the checks existed (no `rechecks`) is settled as it was."""
    with Session(engine) as s:
        _deal(s, "A", "an-older-release")
        s.commit()
        state = {"reading": reread.reading_version()}
        assert reread.reread_after_upgrade(s, state) == (state, 0)
