"""Seconds to find the open deals a big roadmap import can affect (`dependent_open_deals`).

    .venv/bin/python -m benchmarks.fanout_import [--features 10000] [--aliases 3] [--deals 2000]
        [--baseline-features 500]

A first import of a roadmap of N features brings every name and alias as new terms at once.
Past `fanout.TERMS_READ_ALL` new terms every open deal is a dependent and no per-term LIKE
pre-filter is built. The script prints, on a scratch SQLite database with `--deals` open
deals (stored snapshots with notes), the seconds `dependent_open_deals` takes for the import's
scope as the app runs it, and, in the same process, for `--baseline-features` features with
the pre-filter forced (TERMS_READ_ALL raised): what building the patterns costs per term, the
cost the threshold avoids. Also with no open deal at all (nothing to look in: nothing built).
No assertions: figures only.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlmodel import Session, SQLModel

from app.db import make_engine
from app.models import Deal, Feature, utcnow
from app.services import fanout
from app.services.pipeline import apply_snapshot
from benchmarks._data import make_deals, make_features


def _scope(rows: list[Feature]) -> fanout.ChangeScope:
    scope = fanout.ChangeScope()
    for row in rows:
        scope.merge(fanout.feature_scope(None, row))
    return scope


def _seconds(engine, scope: fanout.ChangeScope, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        with Session(engine) as s:
            start = time.perf_counter()
            fanout.dependent_open_deals(s, scope)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=10000)
    parser.add_argument("--aliases", type=int, default=3)
    parser.add_argument("--deals", type=int, default=2000)
    parser.add_argument("--baseline-features", type=int, default=500)
    args = parser.parse_args(argv)

    features = make_features(args.features, aliases=args.aliases)
    rows = [
        Feature(key=f.key, name=f.name, aliases=f.aliases, availability=f.availability.value,
                skus=f.skus, product_ids=f.product_ids)
        for f in features
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'fanout.db'}")
        SQLModel.metadata.create_all(engine)
        scope = _scope(rows)
        empty = _seconds(engine, scope, runs=1)
        with Session(engine) as s:
            now = utcnow()
            for snap in make_deals(features[:1000], args.deals, notes_kb=2):
                deal = Deal(crm=snap.crm, deal_id=snap.deal_id)
                apply_snapshot(deal, snap, now)
                s.add(deal)
            s.commit()
        full = _seconds(engine, scope, runs=1)
        small = _scope(rows[: args.baseline_features])
        threshold = fanout.TERMS_READ_ALL
        fanout.TERMS_READ_ALL = 10**9  # the pre-filter forced, whatever the number of terms
        try:
            baseline = _seconds(engine, small, runs=1)
        finally:
            fanout.TERMS_READ_ALL = threshold
        engine.dispose()
    per_term = baseline / max(1, len(small.terms))
    print(f"import of {args.features} features x {1 + args.aliases} names: "
          f"{len(scope.terms)} new terms, {len(scope.line_values)} line values; "
          f"TERMS_READ_ALL {threshold}")  # fmt: skip
    print(f"no open deal:                 {empty:.3f} s")
    print(f"{args.deals} open deals:             {full:.3f} s (every open deal a dependent)")
    print(f"pre-filter forced, {len(small.terms)} terms: {baseline:.3f} s "
          f"({per_term * 1e3:.1f} ms a term; x{len(scope.terms)} terms ~ "
          f"{per_term * len(scope.terms):.0f} s for the import)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
