"""4 worker processes on PostgreSQL over 500 due deals: each run once, never two at a time."""

from __future__ import annotations

import multiprocessing
from collections import defaultdict

import pytest
from sqlalchemy import text
from sqlmodel import Session

from app.jobs.queue import enqueue_deals
from tests.jobs._multiproc import run_worker


@pytest.mark.slow
def test_four_worker_processes_never_process_a_deal_twice_at_once(pg_engine):
    with pg_engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS proc_log"))
        conn.execute(
            text(
                "CREATE TABLE proc_log (deal_id text, owner text, reason text, "
                "started_at timestamptz, ended_at timestamptz)"
            )
        )
    deals = [f"D{n}" for n in range(500)]
    with Session(pg_engine) as s:
        enqueue_deals(s, "test", deals, reason="seed")
        s.commit()

    url = pg_engine.url.render_as_string(hide_password=False)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=run_worker, args=(url, f"p{i}")) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]

    with pg_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT deal_id, owner, reason, started_at, ended_at FROM proc_log")
        ).all()
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM deal_queue GROUP BY status")).all()
        )
        conn.execute(text("DROP TABLE proc_log"))
    runs: dict[str, list] = defaultdict(list)
    for r in rows:
        runs[r.deal_id].append(r)
    assert set(runs) == set(deals)
    for deal, deal_runs in runs.items():
        # Even deals got an event while running: exactly one rerun, after the first run.
        expected = 2 if int(deal[1:]) % 2 == 0 else 1
        assert len(deal_runs) == expected, deal
        ordered = sorted(deal_runs, key=lambda r: r.started_at)
        for a, b in zip(ordered, ordered[1:], strict=False):
            assert a.ended_at <= b.started_at, f"{deal} ran twice at once"
    assert len({r.owner for r in rows}) == 4  # the work was actually shared
    assert statuses == {"done": 500}
