"""A deal whose worker stopped on its last attempt (no outcome, the lease ran out) goes dead at
the next claim, unless an event for it (a rep's edit, a roadmap change) arrived while that last
attempt ran: then it is retried afresh, as a dead outcome recorded with a rerun is. The edit was
dropped: the deal lay dead, its block never re-checked against the edit, until an operator
replayed it."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlmodel import Session, select

from app.jobs import queue
from app.jobs.worker import Worker
from app.models import DealQueue
from tests.jobs.conftest import Clock, RecordingProcessor


def _outcomes(crm: str, outcome: str) -> float:
    labels = {"crm": crm, "outcome": outcome}
    return REGISTRY.get_sample_value("roadmap_guard_outcomes_total", labels) or 0.0


def _row(engine) -> DealQueue:
    with Session(engine) as s:
        return s.exec(select(DealQueue)).one()


def _kill_every_attempt(engine, worker: Worker, clock: Clock, attempts: int, *, edit_at_last: bool):
    for attempt in range(1, attempts + 1):
        assert [(i.deal_id, i.attempts) for i in worker.claim()] == [("POISON", attempt)]
        if edit_at_last and attempt == attempts:
            with Session(engine) as s:  # the rep edits the deal while the last attempt runs
                queue.enqueue_deals(s, "bury10", ["POISON"])
                s.commit()
        clock.advance(worker.settings.lease_seconds + 1)  # the worker was killed


def test_an_edit_during_the_last_killed_attempt_is_run_afresh(engine, worker_settings, clock):
    with Session(engine) as s:
        queue.enqueue_deals(s, "bury10", ["POISON"])
        s.commit()
    dead, revived = _outcomes("bury10", "dead"), _outcomes("bury10", "dead_rerun")
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    _kill_every_attempt(engine, worker, clock, worker_settings.max_attempts, edit_at_last=True)

    assert worker.claim() == []  # the claim that buries it: pending again, due now
    row = _row(engine)
    assert (row.status, row.attempts, row.rerun, row.lease_owner) == ("pending", 0, False, None)
    assert row.last_error.startswith("the worker processing this deal stopped without")
    assert _outcomes("bury10", "dead") == dead  # not counted dead: it was not given up
    assert _outcomes("bury10", "dead_rerun") == revived + 1

    items = worker.claim()  # the edit is processed, with a full budget
    assert [(i.deal_id, i.attempts) for i in items] == [("POISON", 1)]
    worker.record(items, RecordingProcessor().process(items))
    assert _row(engine).status == "done"


def test_without_an_edit_it_still_goes_dead(engine, worker_settings, clock):
    with Session(engine) as s:
        queue.enqueue_deals(s, "bury10b", ["POISON"])
        s.commit()
    dead = _outcomes("bury10b", "dead")
    worker = Worker(engine, worker_settings, RecordingProcessor(), owner="w", clock=clock)
    _kill_every_attempt(engine, worker, clock, worker_settings.max_attempts, edit_at_last=False)
    assert worker.claim() == []
    assert worker.claim() == []
    row = _row(engine)
    assert (row.status, row.attempts) == ("dead", worker_settings.max_attempts)
    assert _outcomes("bury10b", "dead") == dead + 1
