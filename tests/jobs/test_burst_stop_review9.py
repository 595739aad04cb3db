"""`worker --burst` stopped by a signal: it finishes and records the batch in hand and claims
no other (it died mid-batch, its leases holding those deals from every worker)."""

from __future__ import annotations

import threading

from sqlmodel import Session, select

from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.worker import Worker
from app.models import DealQueue
from tests.jobs.conftest import RecordingProcessor


def test_a_stopped_burst_records_its_batch_and_claims_no_other(engine, worker_settings):
    one = worker_settings.model_copy(update={"worker_batch_size": 1})
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D1", "D2", "D3"])
    stop = threading.Event()

    def decide(item):
        stop.set()  # SIGTERM arrives while the first batch runs
        return RecordingProcessor().decide(item)

    processor = RecordingProcessor(decide)
    assert Worker(engine, one, processor, owner="burst").run_until_empty(stop_event=stop) == 1
    with Session(engine) as s:
        rows = {r.deal_id: r for r in s.exec(select(DealQueue))}
    done = [d for d, r in rows.items() if r.status == "done"]
    assert processor.deal_ids() == done and len(done) == 1
    # the others stay queued, leased to nobody: another worker takes them at once
    assert sorted((r.status, r.lease_owner) for d, r in rows.items() if d not in done) == [
        ("pending", None),
        ("pending", None),
    ]


def test_the_cli_burst_listens_for_the_signal(cli_db, monkeypatch, capsys):
    from app import cli
    from app.jobs import worker as worker_module

    db = cli_db

    installed: list[threading.Event] = []

    def install(event):
        installed.append(event)
        event.set()  # as if SIGTERM came before the first claim

    monkeypatch.setattr(worker_module, "install_signal_handlers", install)
    with session_scope(db) as s:
        enqueue_deals(s, "test", ["D1"])
    capsys.readouterr()
    assert cli.main(["worker", "--burst"]) == 0
    assert len(installed) == 1
    out = capsys.readouterr().out
    assert "claimed 0 deals" in out and "stopped by a signal: the rest stays queued" in out
    with Session(db) as s:
        assert [r.status for r in s.exec(select(DealQueue))] == ["pending"]


def test_the_cli_queue_shows_the_dead_deals_errors(cli_db, capsys):
    """`roadmap-guard queue` showed counts only: an operator saw "dead 2" and had to use the
    API to read why before `replay-dead`."""
    from app import cli

    with Session(cli_db) as s:
        enqueue_deals(s, "test", [f"D{i}" for i in range(12)])
        s.flush()
        for row in s.exec(select(DealQueue).where(DealQueue.deal_id != "D0")):
            row.status, row.attempts = "dead", 8
            row.last_error = f"PermanentError: deal {row.deal_id} refused by the CRM"
            s.add(row)
        s.commit()
    capsys.readouterr()
    assert cli.main(["queue"]) == 0
    lines = capsys.readouterr().out.splitlines()
    shown = [line for line in lines if "PermanentError" in line]
    assert len(shown) == cli.DEAD_SHOWN
    assert all(line.startswith("  test/D") and "(8 attempts)" in line for line in shown)
    assert "  ... 1 more (GET /api/v1/queue lists them all)" in lines
