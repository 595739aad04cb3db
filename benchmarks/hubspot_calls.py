"""HubSpot API calls per evaluated deal, counted by the fake HubSpot; and signed ingest speed.

    .venv/bin/python benchmarks/hubspot_calls.py [--deals 1000] [--batch 500]

1. One deal (10 line items, 3 notes), blocked, through the worker and the pipeline: calls
   including write-back (pipelines cache cold, then warm).
2. A burst of N deals (10 line items, 3 notes each) through the worker with batch size B.
3. Signed 100-event webhook batches through POST /webhooks/hubspot (TestClient, SQLite)
   against the in-process ceiling: ingest_events on the same events without HTTP/signature.

Targets (issue 4): <= 5 calls for one deal incl. write-back; <= 0.25 calls per deal in the burst.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401
from app.connectors.hubspot import HubSpotConnector
from app.connectors.hubspot.client import HubSpotApi
from app.connectors.hubspot.ratelimit import TokenBucket
from app.db import make_engine
from app.jobs.queue import enqueue_deals
from app.jobs.worker import Worker
from app.sandbox.demo import _seed_roadmap
from app.sandbox.hubspot import FakeHubSpot
from app.services.pipeline import DealPipeline
from app.settings import Settings


def _line_items(i: int) -> list[dict]:
    items = [{"name": f"Seat pack {j}", "hs_sku": f"SKU-SEAT-{j}", "quantity": 5} for j in range(8)]
    items.append({"name": "SAML SSO", "hs_sku": "SKU-SSO", "quantity": 1})
    items.append({"name": "AI forecasting add-on", "hs_sku": "SKU-AI-FC", "quantity": 1})
    return items


NOTES = [
    "<p>Kick-off call went well.</p>",
    "<p>They asked whether predictive forecasting is ready.</p>",
    "<p>Security review next week; they need the audit trail.</p>",
]


def _world(tmp: Path, fake: FakeHubSpot, batch: int):
    engine = make_engine(f"sqlite:///{tmp / 'bench.db'}")
    SQLModel.metadata.create_all(engine)
    _seed_roadmap(engine)
    settings = Settings(
        _env_file=None,
        database_url=str(engine.url),
        worker_mode="off",
        worker_batch_size=batch,
        public_base_url="http://testserver",
        log_format="console",
        log_level="WARNING",
        install_default_rules=False,
        hubspot_access_token=SecretStr(fake.access_token),
        hubspot_client_secret=SecretStr(fake.client_secret),
        hubspot_app_id=fake.app_id,
        hubspot_portal_id=fake.portal_id,
        hubspot_api_base=fake.base_url,
    )
    connector = HubSpotConnector(
        HubSpotApi(
            access_token=fake.access_token,
            api_base=fake.base_url,
            timeout=30,
            bucket=TokenBucket(100_000),
        ),
        portal_id=fake.portal_id,
        app_id=fake.app_id,
    )
    connectors = {"hubspot": connector}
    worker = Worker(engine, settings, DealPipeline(engine, settings, connectors))
    return engine, settings, connectors, worker


def _run(engine, worker, deal_ids: list[str]) -> float:
    with Session(engine) as s:
        enqueue_deals(s, "hubspot", deal_ids, reason="webhook")
        s.commit()
    started = time.perf_counter()
    while worker.run_once():
        pass
    return time.perf_counter() - started


def one_deal() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeHubSpot() as fake:
        engine, _settings, _c, worker = _world(Path(tmp), fake, 50)
        first = fake.add_deal("One", line_items=_line_items(0), notes=NOTES, emit=False)
        second = fake.add_deal("Two", line_items=_line_items(1), notes=NOTES, emit=False)
        fake.reset_calls()
        _run(engine, worker, [first])
        cold = fake.total_calls()
        cold_detail = dict(fake.calls)
        fake.reset_calls()
        _run(engine, worker, [second])
        warm = fake.total_calls()
        warm_detail = dict(fake.calls)
        fake.reset_calls()
        fake.ui_set_stage(second, "contractsent")
        _run(engine, worker, [second])
        again = fake.total_calls()
        again_detail = dict(fake.calls)
    print("1. one deal (10 line items, 3 notes), blocked, first evaluation:")
    print(f"   pipelines cache cold: {cold} calls  {cold_detail}")
    print(f"   pipelines cache warm: {warm} calls  {warm_detail}")
    print(
        f"   re-evaluation after a stage change (nothing to write): {again} calls  {again_detail}"
    )


def burst(n: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeHubSpot() as fake:
        engine, _settings, _c, worker = _world(Path(tmp), fake, batch)
        ids = [
            fake.add_deal(f"Deal {i}", line_items=_line_items(i), notes=NOTES, emit=False)
            for i in range(n)
        ]
        fake.reset_calls()
        seconds = _run(engine, worker, ids)
        calls = fake.total_calls()
        detail = dict(fake.calls)
        tasks = sum(1 for _ in fake.objects["tasks"])
    print(f"2. burst of {n} deals (10 line items, 3 notes each), worker batch {batch}:")
    print(
        f"   {calls} calls = {calls / n:.3f} per deal; {tasks} tasks; {seconds:.1f} s "
        f"({n / seconds:.0f} deals/s)"
    )
    for key, value in sorted(detail.items(), key=lambda kv: -kv[1]):
        print(f"     {value:5d}  {key}")


def ingest(rounds: int = 30) -> None:
    from fastapi.testclient import TestClient

    from app.connectors.hubspot.events import classify_events
    from app.jobs.ingest import ingest_events
    from app.main import create_app

    with tempfile.TemporaryDirectory() as tmp, FakeHubSpot() as fake:
        engine, settings, _c, _w = _world(Path(tmp), fake, 50)
        app = create_app(settings=settings, engine=engine, connectors={})

        def batch(offset: int) -> list[dict]:
            return [
                {
                    "eventId": offset + i,
                    "subscriptionId": 13,
                    "portalId": int(fake.portal_id),
                    "appId": int(fake.app_id),
                    "occurredAt": 1_700_000_000_000 + offset + i,
                    "subscriptionType": "deal.propertyChange",
                    "attemptNumber": 0,
                    "objectId": 1_000_000 + (offset + i) % 5000,
                    "propertyName": "dealstage",
                    "propertyValue": "contractsent",
                    "changeSource": "CRM_UI",
                }
                for i in range(100)
            ]

        url = "http://testserver/webhooks/hubspot"
        http_times, ceiling_times = [], []
        with TestClient(app) as client:
            for r in range(rounds):
                body, headers = fake.signed_request(url, batch(r * 100))
                t = time.perf_counter()
                response = client.post(url, content=body, headers=headers)
                http_times.append(time.perf_counter() - t)
                assert response.status_code == 200, response.text
        for r in range(rounds):
            events = classify_events(
                batch(1_000_000 + r * 100), portal_id=fake.portal_id, app_id=fake.app_id
            ).events
            t = time.perf_counter()
            ingest_events(engine, events)
            ceiling_times.append(time.perf_counter() - t)
    http_ms = statistics.median(http_times) * 1000
    ceiling_ms = statistics.median(ceiling_times) * 1000
    print("3. signed 100-event batches, SQLite:")
    print(
        f"   POST /webhooks/hubspot median {http_ms:.1f} ms/batch ({100 / http_ms * 1000:.0f} "
        f"events/s); in-process ingest_events ceiling {ceiling_ms:.1f} ms/batch; "
        f"ratio {http_ms / ceiling_ms:.2f}x"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    one_deal()
    burst(args.deals, args.batch)
    ingest()
    return 0


if __name__ == "__main__":
    sys.exit(main())
