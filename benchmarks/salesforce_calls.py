"""Salesforce API calls per opportunity, counted by the fake Salesforce (real simple-salesforce).

    .venv/bin/python -m benchmarks.salesforce_calls [--deals 1000] [--batch 50 200]

1. One opportunity (10 line items, 3 notes: 1 classic Note, 2 enhanced ContentNotes, one of
   them 600+ characters so its body is past the 255-character TextPreview), blocked, through the
   worker and the pipeline, including write-back: org-facts cache cold, then warm, then a
   re-evaluation after a stage change that writes nothing.
2. A burst of N opportunities (10 line items, 3 notes each) through the worker, per batch size:
   first read, then the same N re-queued (note bodies cached by version).
Both with the RoadmapGuardNotes Apex REST resource that `setup salesforce` installs (the long
bodies of a batch in one POST) and without it (404: one blob GET per long note).

Targets (issue 5): <= 3 calls for one opportunity; <= 0.05 calls per opportunity in the burst.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr
from sqlmodel import Session, SQLModel

import app.models  # noqa: F401
from app.connectors.salesforce import SalesforceConnector
from app.db import make_engine
from app.jobs.queue import enqueue_deals
from app.jobs.worker import Worker
from app.sandbox.demo import _seed_roadmap
from app.sandbox.salesforce import INTEGRATION_USER, FakeSalesforce, FakeSalesforceServer
from app.services.pipeline import DealPipeline
from app.settings import Settings


def _line_items() -> list[dict]:
    items = [{"name": f"Seat pack {j}", "code": f"SKU-SEAT-{j}", "quantity": 5} for j in range(8)]
    items.append({"name": "SAML SSO", "code": "SKU-SSO"})
    items.append({"name": "AI forecasting add-on", "code": "SKU-AI-FC"})
    return items


NOTE = "Kick-off call went well."
CONTENT_NOTES = [
    "<p>They asked whether predictive forecasting is ready.</p>",
    "<p>Security review next week. "
    + "Their CISO walked through the questionnaire line by line with us. " * 9
    + "They need the audit trail.</p>",
]
assert len(CONTENT_NOTES[1]) >= 600


def _server(apex: bool) -> FakeSalesforceServer:
    return FakeSalesforceServer(FakeSalesforce(notes_resource_installed=apex))


def _label(apex: bool) -> str:
    return "with the Apex notes resource" if apex else "without it (blob GET per long note)"


def _world(tmp: Path, srv: FakeSalesforceServer, batch: int):
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
        salesforce_instance_url=srv.instance_url,
        salesforce_access_token=SecretStr("integration-token"),
        salesforce_ca_bundle=srv.ca_bundle,
        salesforce_integration_user_id=INTEGRATION_USER,
        salesforce_timeout_seconds=60,
    )
    connectors = {"salesforce": SalesforceConnector.from_settings(settings)}
    worker = Worker(engine, settings, DealPipeline(engine, settings, connectors))
    return engine, worker


def _run(engine, worker, ids: list[str]) -> float:
    with Session(engine) as s:
        enqueue_deals(s, "salesforce", ids, reason="webhook")
        s.commit()
    started = time.perf_counter()
    while worker.run_once():
        pass
    return time.perf_counter() - started


def _add(fake, name: str) -> str:
    return fake.add_opportunity(
        name,
        stage="Negotiation/Review",
        line_items=_line_items(),
        notes=[NOTE],
        content_notes=CONTENT_NOTES,
    )


def one(apex: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, _server(apex) as srv:
        engine, worker = _world(Path(tmp), srv, 50)
        fake = srv.fake
        first, second = _add(fake, "One"), _add(fake, "Two")
        rows = []
        for label, opp, action in (
            ("org facts cold", first, None),
            ("org facts warm", second, None),
            ("stage change, nothing to write", second, "stage"),
        ):
            if action == "stage":
                fake.opportunity(second)["StageName"] = "Qualification"
            fake.reset_calls()
            _run(engine, worker, [opp])
            rows.append((label, fake.count(), dict(fake.calls_by_kind())))
        verdict = fake.opportunity(first)["Roadmap_Check_Status__c"]
    print(
        f"1. one opportunity (10 line items, 3 notes), verdict {verdict}, incl. write-back, "
        f"{_label(apex)}:"
    )
    for label, calls, detail in rows:
        print(f"   {label:32s} {calls} calls  {detail}")


def burst(n: int, batch: int, apex: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp, _server(apex) as srv:
        engine, worker = _world(Path(tmp), srv, batch)
        fake = srv.fake
        ids = [_add(fake, f"Deal {i}") for i in range(n)]
        rows = []
        for label in ("first read", "re-read, note bodies cached"):
            fake.reset_calls()
            seconds = _run(engine, worker, ids)
            rows.append((label, fake.count(), dict(fake.calls_by_kind()), seconds))
        tasks = len(fake.store["Task"])
        blocked = sum(1 for i in ids if fake.opportunity(i)["Roadmap_Block__c"])
    print(
        f"2. burst of {n} opportunities (10 line items, 3 notes each), worker batch {batch}, "
        f"{_label(apex)}:"
    )
    for label, calls, detail, seconds in rows:
        print(
            f"   {label:28s} {calls} calls = {calls / n:.4f} per opportunity  {detail}; "
            f"{seconds:.1f} s"
        )
    print(f"   {tasks} tasks, {blocked} flagged")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--batch", type=int, nargs="+", default=[50, 200])
    parser.add_argument(
        "--apex", choices=["with", "without", "both"], default="both", help="notes Apex resource"
    )
    args = parser.parse_args()
    modes = {"with": [True], "without": [False], "both": [True, False]}[args.apex]
    for apex in modes:
        one(apex)
    for batch in args.batch:
        for apex in modes:
            burst(args.deals, batch, apex)
    print("targets: <= 3 calls for one opportunity; <= 0.05 per opportunity in the burst")


if __name__ == "__main__":
    main()
