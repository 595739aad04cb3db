"""Time to re-evaluate the stored open deals after ONE roadmap feature changes.

    .venv/bin/python -m benchmarks.reevaluate [--deals 50000] [--features 1000] [--notes-kb 2]

Worst case on purpose: every stored deal carries the changed feature (a line item with its
SKU), so the fan-out re-evaluates all of them from their stored snapshots (no CRM read), stores
a new evaluation for each whose result changed and queues them for write-back, all in the one
transaction of the feature edit. First the what-if of edit 1 is timed (read-only: every deal
evaluated twice, nothing written); then three edits:

1. availability available → never, evaluated inline (the fan-out's limit lifted): every
   verdict changes (N evaluations stored, N queued);
2. a target-date change on the same feature that changes no verdict (nothing stored or queued);
3. availability never → available with the fan-out's default limit: 50,000 dependents exceed
   it, so the edit only queues them; then a worker (DealPipeline, `--batch-size` 500; the
   setting's default is 200) with a counting no-op CRM drains the queue. Timed: the edit, and
   the edit plus the drain (every deal re-checked and every changed one written back).

Runs on SQLite (a temporary file) and, if TEST_POSTGRES_URL is set, also on a fresh PostgreSQL
database created and dropped by the script. Deals have `--line-items` line items and
`--notes-kb` KB of notes (smaller than the per-deal benchmark so 50,000 deals fit in memory and
disk quickly). On PostgreSQL each timed phase starts after `VACUUM (ANALYZE)`, standing in for
autovacuum (see `_vacuum`; `--no-vacuum` leaves it out). The garbage collector is tuned at the
start as `serve` and `worker` tune theirs (`--python-gc` keeps Python's settings). Target: ≤ 60 s for 50,000 deals.
Prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, select
from tqdm import tqdm

import app.models  # noqa: F401  (every table on the metadata)
from app.connectors.base import WriteOutcome
from app.db import make_engine, read_only
from app.jobs.worker import Worker
from app.main import tune_garbage_collector
from app.models import Deal, Evaluation, ProductMapping, utcnow
from app.models import Feature as FeatureRow
from app.models.core import mapping_match_key
from app.rules.model import LineItem
from app.services import fanout, features_service
from app.services.pipeline import DealPipeline, apply_snapshot, reevaluate_stored
from app.services.rules_service import install_default_rules
from app.services.what_if import WhatIfRequest, what_if
from app.settings import Settings
from benchmarks._data import make_deal, make_features, make_mappings

HOT = "hot-feature"


def _seed(engine: Engine, args: argparse.Namespace) -> None:
    features = make_features(args.features, aliases=3)
    now = utcnow()
    with Session(engine) as s:
        s.execute(
            insert(FeatureRow),
            [
                {
                    **f.model_dump(mode="json"),
                    "availability": f.availability.value,
                    "target_date": f.target_date,
                    "created_at": now,
                    "updated_at": now,
                }
                for f in features
            ],  # fmt: skip
        )
        s.add(
            FeatureRow(
                key=HOT,
                name="Hot feature",
                availability="available",
                skus=["SKU-HOT"],
                created_at=now,
                updated_at=now,
            )  # fmt: skip
        )
        s.execute(
            insert(ProductMapping),
            [
                {
                    **m.model_dump(),
                    # Core inserts skip the model's before_insert hook that sets it.
                    "match_key": mapping_match_key(m.match_value),
                    "created_at": now,
                    "updated_at": now,
                }
                for m in make_mappings(features)
            ],
        )
        install_default_rules(s)
        s.commit()

    rng = random.Random(7)
    batch: list[dict] = []
    with Session(engine) as s:
        for i in tqdm(range(args.deals), desc="generate + store deals", unit="deal"):
            snap = make_deal(
                features, rng, deal_id=f"D{i:06d}", line_items=args.line_items,
                notes_kb=args.notes_kb, notes=2,
            )  # fmt: skip
            snap.line_items.append(LineItem(id=f"D{i:06d}-hot", name="Hot add-on", sku="SKU-HOT"))
            deal = Deal(crm="hubspot", deal_id=snap.deal_id)
            apply_snapshot(deal, snap, now)
            row = deal.model_dump(exclude={"id"})
            batch.append(row)
            if len(batch) >= 2000:
                s.execute(insert(Deal), batch)
                batch.clear()
        if batch:
            s.execute(insert(Deal), batch)
        s.commit()


def _initial_evaluation(engine: Engine, n: int) -> float:
    """Evaluate every deal once so the dependency index and last evaluations exist."""
    t0 = time.perf_counter()
    with Session(engine) as s:
        ids = list(s.exec(select(Deal.deal_id).order_by(Deal.deal_id)))
    step = 5000
    for start in tqdm(range(0, len(ids), step), desc="initial evaluation", unit="5k deals"):
        with Session(engine) as s:
            reevaluate_stored(s, "hubspot", ids[start : start + step], trigger="webhook")
            s.commit()
    return time.perf_counter() - t0


def _edit(engine: Engine, update: features_service.FeatureUpdate) -> tuple[float, int, int]:
    t0 = time.perf_counter()
    with Session(engine) as s:
        _, fanout = features_service.update_feature(s, HOT, update, actor="benchmark")
        s.commit()
    return time.perf_counter() - t0, fanout.candidates, fanout.requeued_count


class _CountingCrm:
    """A CRM that reads nothing (stored-snapshot re-checks need no read) and accepts writes."""

    name = "hubspot"

    def __init__(self) -> None:
        self.reads = self.writes = 0

    def read_deals(self, deal_ids):
        self.reads += len(deal_ids)
        return {}

    def write_back(self, items):
        self.writes += len(items)
        return {i.deal_id: WriteOutcome(deal_id=i.deal_id) for i in items}

    def changed_deal_ids(self, since):
        return []


def _drain(engine: Engine, batch_size: int) -> tuple[float, _CountingCrm]:
    settings = Settings(
        _env_file=None,
        database_url=engine.url.render_as_string(hide_password=False),
        worker_batch_size=batch_size,
    )
    crm = _CountingCrm()
    worker = Worker(engine, settings, DealPipeline(engine, settings, {"hubspot": crm}))
    t0 = time.perf_counter()
    with tqdm(desc="worker drain", unit="deals") as bar:
        while n := worker.run_once():
            bar.update(n)
    return time.perf_counter() - t0, crm


def _vacuum(engine: Engine, args: argparse.Namespace) -> None:
    """On PostgreSQL, `VACUUM (ANALYZE)` before a timed phase: what autovacuum (on by default,
    off on this development machine's server) does in the background between roadmap edits.
    Without it every phase starts on the dead rows of the ones before, and the planner has no
    statistics for tables loaded in seconds. `--no-vacuum` measures that state instead."""
    if args.no_vacuum or engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))


def run(engine: Engine, label: str, args: argparse.Namespace) -> None:
    SQLModel.metadata.create_all(engine)
    t0 = time.perf_counter()
    _seed(engine, args)
    seed_s = time.perf_counter() - t0
    initial_s = _initial_evaluation(engine, args.deals)
    with Session(engine) as s:
        evaluations = s.exec(select(Evaluation.id)).all()
    print(f"\n[{label}] seeded {args.deals} deals in {seed_s:.1f} s; initial evaluation "
          f"{initial_s:.1f} s ({len(evaluations)} evaluations)")  # fmt: skip
    # The what-if of the same edit first: read-only, every deal evaluated twice.
    t0 = time.perf_counter()
    with Session(read_only(engine)) as s:
        answer = what_if(s, HOT, WhatIfRequest(availability="never", limit=0))
    seconds = time.perf_counter() - t0
    print(f"[{label}] what-if availability available→never (writes nothing): {seconds:.1f} s for "
          f"{answer.deals} open deals ({answer.deals / seconds:,.0f} deals/s), "
          f"{answer.newly_blocked.deal_count} would be blocked")  # fmt: skip

    default_limit = fanout.INLINE_LIMIT
    fanout.INLINE_LIMIT = 10**9  # 1 and 2: measure the inline re-evaluation itself
    try:
        _vacuum(engine, args)
        seconds, candidates, queued = _edit(
            engine, features_service.FeatureUpdate(availability="never")
        )
        with Session(engine) as s:
            in_queue = s.exec(text("SELECT count(*) FROM deal_queue")).one()[0]  # type: ignore[call-overload]
        print(f"[{label}] inline, availability available→never: {seconds:.1f} s for {candidates} "
              f"open deals ({candidates / seconds:,.0f} deals/s), {queued} verdicts changed, "
              f"{in_queue} queue rows; target ≤ 60 s for 50,000")  # fmt: skip
        _vacuum(engine, args)
        seconds, candidates, queued = _edit(
            engine, features_service.FeatureUpdate(target_date=date(2027, 3, 31))
        )
        print(f"[{label}] inline, target-date change, no verdict change: {seconds:.1f} s for "
              f"{candidates} deals ({candidates / seconds:,.0f} deals/s), {queued} queued")  # fmt: skip
    finally:
        fanout.INLINE_LIMIT = default_limit
    _drain(
        engine, args.batch_size
    )  # write back the queued changes of edit 1, so edit 3 starts from a settled state
    _vacuum(engine, args)
    seconds, candidates, _ = _edit(engine, features_service.FeatureUpdate(availability="available"))
    drain_s, crm = _drain(engine, args.batch_size)
    print(f"[{label}] deferred (batch {args.batch_size}), availability never→available: edit "
          f"{seconds:.1f} s (queued "
          f"{candidates}), worker drain {drain_s:.1f} s, total {seconds + drain_s:.1f} s "
          f"({candidates / (seconds + drain_s):,.0f} deals/s); CRM reads {crm.reads}, "
          f"writes {crm.writes}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=1000)
    parser.add_argument("--line-items", type=int, default=5)
    parser.add_argument("--notes-kb", type=float, default=2)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=500,
        help="the worker's WORKER_BATCH_SIZE for the deferred case (the setting's default is 200)",
    )
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="PostgreSQL: no VACUUM (ANALYZE) before each timed phase (see _vacuum)",
    )
    parser.add_argument(
        "--python-gc",
        action="store_true",
        help="keep Python's garbage-collector settings (the service's `serve` and `worker` "
        "tune them at start: app.main.tune_garbage_collector, GC_GEN0_THRESHOLD)",
    )
    args = parser.parse_args(argv)
    if not args.python_gc:  # as the processes doing this work in production do
        tune_garbage_collector(Settings(_env_file=None).gc_gen0_threshold)
    print(f"{args.deals} deals, {args.features} features, {args.line_items + 1} line items and "
          f"{args.notes_kb} KB of notes per deal, default rule pack")  # fmt: skip

    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
            try:
                run(engine, "sqlite", args)
            finally:
                engine.dispose()

    pg = os.environ.get("TEST_POSTGRES_URL")
    if pg:
        admin_url = make_url(pg.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = make_engine(
            admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        name = f"rg_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
        try:
            run(engine, "postgresql", args)
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()
    else:
        print("TEST_POSTGRES_URL not set: PostgreSQL not measured")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
