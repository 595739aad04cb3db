"""Deals waiting on a CRM (its rate limit's Retry-After, refused credentials) wait as a sweep's
rows: another CRM's new events are not queued behind them."""

from __future__ import annotations

from sqlmodel import Session, select

from app.connectors.base import TransientError
from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.types import Outcome
from app.jobs.worker import Worker
from app.models import DealQueue
from tests.jobs.conftest import Clock, RecordingProcessor


def _rows(engine) -> dict[str, DealQueue]:
    with Session(engine) as s:
        return {r.deal_id: r for r in s.exec(select(DealQueue))}


def test_deals_held_by_a_rate_limit_do_not_queue_another_crms_webhook(
    engine, worker_settings, clock: Clock
):
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", [f"H{i}" for i in range(5)])
    limited = RecordingProcessor(
        lambda _i: Outcome.from_exception(
            TransientError("429 TEN_SECONDLY_ROLLING", retry_after=10)
        )
    )
    five = worker_settings.model_copy(update={"worker_batch_size": 5})
    assert Worker(engine, five, limited, clock=clock).run_once() == 5
    assert {r.priority for r in _rows(engine).values()} == {1}  # waiting on the remote

    clock.advance(11)  # the pause is over: all five are due, older than anything new
    with session_scope(engine) as s:
        enqueue_deals(s, "salesforce", ["S1"])
    one = worker_settings.model_copy(update={"worker_batch_size": 1})
    served = RecordingProcessor()
    assert Worker(engine, one, served, clock=clock).run_once() == 1
    assert [(i.crm, i.deal_id) for i in served.seen] == [("salesforce", "S1")]


def test_a_new_event_for_a_held_deal_makes_it_urgent_again(engine, worker_settings, clock):
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", ["H1"])
    held = RecordingProcessor(
        lambda _i: Outcome.from_exception(TransientError("credentials refused", hold=True))
    )
    assert Worker(engine, worker_settings, held, clock=clock).run_once() == 1
    assert _rows(engine)["H1"].priority == 1
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", ["H1"])  # the rep edits the deal meanwhile
    assert _rows(engine)["H1"].priority == 0


def test_an_ordinary_failure_keeps_its_priority(engine, worker_settings, clock):
    with session_scope(engine) as s:
        enqueue_deals(s, "hubspot", ["H1"])
    failing = RecordingProcessor(lambda _i: Outcome.from_exception(TransientError("HTTP 502")))
    assert Worker(engine, worker_settings, failing, clock=clock).run_once() == 1
    row = _rows(engine)["H1"]
    assert (row.status, row.priority) == ("pending", 0)
