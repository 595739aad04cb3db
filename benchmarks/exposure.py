"""Latency of the exposure and feature-dependency queries at scale.

Seeds 50,000 open deals (plus 5,000 closed ones the queries must skip) referencing 1,000
features with a skewed popularity (a few features sit in thousands of deals, as SSO does in
real pipelines), then times requests through the real app (TestClient, real auth, real JSON):

  GET /api/v1/exposure                      (first page, default sort by amount)
  GET /api/v1/exposure?crm=...&owner=...    (filtered)
  GET /api/v1/exposure?promised=true|false  (promises apart from mentions)
  GET /api/v1/exposure?optional=true|false  (nice-to-haves apart from needs)
  GET /api/v1/features/{key}/deals          (hottest feature, and random ones)

on SQLite (a file, WAL) and on PostgreSQL when TEST_POSTGRES_URL is set (a scratch database
is created and dropped). Prints p50/p95 in milliseconds; the target is p95 <= 200 ms.

    .venv/bin/python benchmarks/exposure.py [--deals 50000] [--features 1000] [--requests 40]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

from app.db import make_engine
from app.main import create_app
from app.models import Deal, DealFeature, Feature, utcnow
from app.rules.model import FeatureReference
from app.security import Role, create_api_key
from app.services.queries import dependency_values
from app.settings import Settings

AVAILABILITY = ["available", "beta", "coming_soon", "uncertain", "never", "unknown"]
STAGES = [("qualified", 0.2), ("demo", 0.35), ("proposal", 0.5), ("negotiation", 0.8)]


def seed(engine, n_deals: int, n_features: int, rng: random.Random) -> int:
    now = utcnow()
    keys = [f"feature-{i:04d}" for i in range(n_features)]
    weights = [1 / (i + 1) for i in range(n_features)]  # Zipf-like popularity
    availability = {k: AVAILABILITY[i % 6] for i, k in enumerate(keys)}
    with engine.begin() as conn:
        conn.execute(
            insert(Feature),
            [
                {"key": k, "name": f"Feature {i}", "availability": availability[k],
                 "aliases": [], "skus": [], "product_ids": [], "source": "registry",
                 "created_at": now, "updated_at": now}
                for i, k in enumerate(keys)
            ],
        )  # fmt: skip
        deals, refs = [], []
        total = n_deals + n_deals // 10
        for i in range(total):
            crm = "hubspot" if i % 2 else "salesforce"
            stage, prob = rng.choice(STAGES)
            closed = i >= n_deals
            deal = {
                "crm": crm, "deal_id": f"d{i}", "name": f"Deal {i}",
                "pipeline": rng.choice(["default", "enterprise", "smb"]),
                "stage_id": "closedwon" if closed else stage, "stage_label": stage.title(),
                "probability": 1.0 if closed else prob, "is_won": closed, "is_closed": closed,
                "amount": Decimal(rng.randrange(1_000, 500_000)), "currency": "USD",
                "close_date": date(2026, 1, 1) + timedelta(days=rng.randrange(0, 540)),
                "owner_id": f"owner-{rng.randrange(200)}", "owner_name": None,
                "tracked": True, "verdict": rng.choice(["clear", "warning", "blocked"]),
                "snapshot": {}, "written": {}, "crm_task_open": False,
                "created_at": now, "updated_at": now,
            }  # fmt: skip
            deals.append(deal)
            references = [
                FeatureReference(feature_key=key, feature_name=key, source=source,
                                 evidence=f"quote about {key}", is_commitment=promise,
                                 # a tenth of the other note mentions are nice-to-haves
                                 optional=source == "note" and not promise and wish < 0.1)
                for key in dict.fromkeys(rng.choices(keys, weights=weights, k=rng.randint(1, 3)))
                for source in rng.sample(["line_item", "note"], k=rng.randint(1, 2))
                for promise, wish in [(rng.random() < 0.1, rng.random())]
            ]  # fmt: skip
            # The rows the pipeline would store (primary flag, copied deal facts).
            refs += dependency_values(Deal(**deal), references, availability)
            if len(deals) >= 5000:
                conn.execute(insert(Deal), deals)
                conn.execute(insert(DealFeature), refs)
                deals, refs = [], []
        if deals:
            conn.execute(insert(Deal), deals)
            conn.execute(insert(DealFeature), refs)
        ref_count = conn.execute(text("SELECT count(*) FROM deal_feature")).scalar_one()
    if engine.dialect.name == "postgresql":  # what autovacuum does to a settled table
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return ref_count


def timed(client: TestClient, headers: dict, urls: list[str]) -> tuple[float, float]:
    samples = []
    for url in urls:
        start = time.perf_counter()
        r = client.get(url, headers=headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def run(url: str, label: str, args) -> None:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    rng = random.Random(7)
    t0 = time.perf_counter()
    refs = seed(engine, args.deals, args.features, rng)
    print(f"[{label}] seeded {args.deals:,} open deals, {args.features:,} features, "
          f"{refs:,} references in {time.perf_counter() - t0:.1f}s")  # fmt: skip
    with Session(engine) as s:
        _, key = create_api_key(s, name="bench", role=Role.engineering, created_by="bench")
        s.commit()
        # owners that have HubSpot deals: an owner with none is a 422 (a filter matching nothing)
        owners = sorted(
            s.connection()
            .execute(text("SELECT DISTINCT owner_id FROM deal WHERE crm = 'hubspot'"))
            .scalars()
        )
    settings = Settings(_env_file=None, database_url=url, worker_mode="off", log_format="console",
                        install_default_rules=False, log_level="WARNING")  # fmt: skip
    headers = {"Authorization": f"Bearer {key}"}
    n = args.requests
    with TestClient(create_app(settings=settings, engine=engine, connectors={})) as client:
        client.get("/api/v1/exposure", headers=headers)  # warm caches and the pool
        cases = {
            "baseline: GET /api/v1/deals?limit=1": ["/api/v1/deals?limit=1&sort=name"] * n,
            "exposure (all open deals)": ["/api/v1/exposure"] * n,
            "exposure (crm + owner + close range)": [
                f"/api/v1/exposure?crm=hubspot&owner={rng.choice(owners)}"
                "&close_from=2026-03-01&close_to=2026-12-31" for _ in range(n)],
            "exposure?promised=true": ["/api/v1/exposure?promised=true"] * n,
            "exposure?promised=false": ["/api/v1/exposure?promised=false"] * n,
            "exposure?optional=false": ["/api/v1/exposure?optional=false"] * n,
            "exposure?optional=true": ["/api/v1/exposure?optional=true"] * n,
            "exposure CSV, all features": ["/api/v1/exposure?format=csv"] * max(5, n // 4),
            "exposure CSV, all features x stages": [
                "/api/v1/exposure?format=csv&csv_rows=stage"] * max(5, n // 4),
            "features/{hottest}/deals": ["/api/v1/features/feature-0000/deals"] * n,
            "features/{hottest}/deals?optional=false": [
                "/api/v1/features/feature-0000/deals?optional=false"] * n,
            "features/{random}/deals": [
                f"/api/v1/features/feature-{rng.randrange(args.features):04d}/deals"
                for _ in range(n)],
        }  # fmt: skip
        # Machine-speed yardstick in the same process: one full scan of the dependency index.
        scan = []
        for _ in range(n):
            start = time.perf_counter()
            with engine.connect() as conn:
                conn.execute(text("SELECT count(*), sum(score) FROM deal_feature")).one()
            scan.append((time.perf_counter() - start) * 1000)
        print(f"[{label}] {'baseline: full scan of deal_feature (SQL)':40s} "
              f"p50 {statistics.median(scan):7.1f} ms")  # fmt: skip
        for name, urls in cases.items():
            p50, p95 = timed(client, headers, urls)
            print(f"[{label}] {name:40s} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   (n={len(urls)})")
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=50_000)
    parser.add_argument("--features", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if args.only != "postgresql":
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/bench.db", "sqlite", args)
    pg = os.environ.get("TEST_POSTGRES_URL")
    if args.only != "sqlite":
        if not pg:
            print("[postgresql] skipped: TEST_POSTGRES_URL is not set")
            return 0
        admin_url = make_url(pg.replace("postgresql://", "postgresql+psycopg://", 1))
        admin = make_engine(admin_url.render_as_string(hide_password=False),
                            isolation_level="AUTOCOMMIT", pool_size=1)  # fmt: skip
        name = f"rg_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(
                admin_url.set(database=name).render_as_string(hide_password=False),
                "postgresql",
                args,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
