"""`roadmap-guard demo [--once]`: the whole flow against a sandbox HubSpot, no account needed.

Starts the fake HubSpot (app/sandbox/hubspot.py) and the service (SQLite, embedded worker) on
127.0.0.1, seeds a sample roadmap and realistic deals, lets the deals move as a rep would, sends
the webhooks signed the way HubSpot does, and prints deal by deal what was found and written
back; then a blocked deal is dragged to "Closed won" and the guard moves it back. Without
--once the service keeps running so you can explore the API and dashboard.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the service against a sandbox HubSpot with sample deals"
    )
    parser.add_argument("--once", action="store_true", help="exit after the walkthrough")
    parser.add_argument("--port", type=int, default=None, help="service port (default: free)")
    parser.add_argument(
        "--database", default="data/demo.db", help="SQLite file (recreated on each run)"
    )
    parser.set_defaults(func=run_demo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed_roadmap(engine) -> None:
    from sqlmodel import Session

    from app.models import Feature, ProductMapping
    from app.services.rules_service import install_default_rules

    data = json.loads((DATA / "roadmap.json").read_text(encoding="utf-8"))
    with Session(engine) as s:
        for f in data["features"]:
            target = f.get("target_date")
            s.add(
                Feature(
                    **{k: v for k, v in f.items() if k != "target_date"},
                    target_date=None
                    if target is None
                    else __import__("datetime").date.fromisoformat(target),
                )
            )
        for m in data["mappings"]:
            s.add(ProductMapping(**m))
        install_default_rules(s)
        s.commit()


def _wait_idle(engine, timeout: float = 30.0) -> None:
    from sqlmodel import Session, select

    from app.models import DealQueue

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as s:
            busy = s.exec(
                select(DealQueue).where(DealQueue.status.in_(("pending", "running")))
            ).first()
        if busy is None:
            return
        time.sleep(0.2)
    print("  (still working; continuing)")


def _report(engine, fake, deal_ids: list[str]) -> None:
    from sqlmodel import Session, select

    from app.models import Deal, Evaluation

    with Session(engine) as s:
        for deal_id in deal_ids:
            deal = s.exec(
                select(Deal).where(Deal.crm == "hubspot", Deal.deal_id == deal_id)
            ).first()
            props = fake.deal(deal_id)["properties"]
            print(f"\n■ {props['dealname']}  (deal {deal_id}, stage {props['dealstage']})")
            if deal is None:
                print("  not evaluated yet")
                continue
            evaluation = (
                s.get(Evaluation, deal.last_evaluation_id) if deal.last_evaluation_id else None
            )
            print(f"  verdict: {deal.verdict}")
            for finding in (evaluation.findings if evaluation else [])[:4]:
                print(f"   - [{finding['severity']}] {finding['message'][:150]}")
            print("  written to HubSpot:")
            print(f"   roadmap_guard_status  = {props.get('roadmap_guard_status')}")
            summary = (props.get("roadmap_guard_summary") or "")[:150]
            print(f"   roadmap_guard_summary = {summary}")
            print(f"   clearance (guard)     = {props.get('roadmap_guard_clearance') or '(empty)'}")
            for task in fake.tasks_for(deal_id):
                tp = task["properties"]
                print(
                    f"   task {task['id']}: [{tp['hs_task_priority']}] {tp['hs_task_subject']} "
                    f"({tp['hs_task_status']})"
                )
            own_notes = [
                n
                for n in fake.notes_for(deal_id)
                if "roadmap-guard" in (n["properties"].get("hs_note_body") or "")
            ]
            if own_notes:
                print(f"   notes with full findings: {len(own_notes)}")


def _admin_key(engine) -> str:
    """An admin API key in the demo's own database, for the API and the dashboard."""
    from app.db import session_scope
    from app.security import Role, create_api_key

    with session_scope(engine) as session:
        _, key = create_api_key(session, name="demo", role=Role.admin, created_by="demo")
    return key


def _more_keys_hint(db: Path) -> str:
    """How to make another key in the demo's database, as the README runs it. A bare
    `roadmap-guard` is not on PATH on a fresh machine: the set-up installs into `.venv/`
    (`app.cli.cli_command` names the script as serve's first-key hint does)."""
    from app.cli import cli_command

    return (
        f'DATABASE_URL=sqlite:///{db} {cli_command()} apikey create --role viewer --name "someone"'
    )


def _readyz(base_url: str) -> str:
    """What the demo service's /readyz answers: `ok` once migrated."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(base_url + "/readyz", timeout=5) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read() or b"{}")
    return body.get("status", "?") + (f" ({body['reason']})" if body.get("reason") else "")


def run_demo(args: argparse.Namespace) -> int:
    import uvicorn
    from pydantic import SecretStr

    from app.connectors.hubspot import HubSpotConnector
    from app.connectors.hubspot.client import HubSpotApi
    from app.connectors.hubspot.setup import run_setup
    from app.db import make_engine
    from app.main import create_app
    from app.migrate import upgrade_to_head
    from app.sandbox.hubspot import FakeHubSpot
    from app.settings import load_settings

    fake = FakeHubSpot().start()
    port = args.port or _free_port()
    db = Path(args.database)
    db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    settings = load_settings(
        _env_file=None,
        database_url=f"sqlite:///{db.resolve()}",
        worker_mode="embedded",
        worker_poll_seconds=0.2,
        public_base_url=f"http://127.0.0.1:{port}",
        port=port,
        log_level="WARNING",
        log_format="console",
        install_default_rules=False,
        cookie_secure=False,
        hubspot_access_token=SecretStr(fake.access_token),
        hubspot_client_secret=SecretStr(fake.client_secret),
        hubspot_app_id=fake.app_id,
        hubspot_portal_id=fake.portal_id,
        hubspot_api_base=fake.base_url,
    )
    engine = make_engine(settings.database_url)
    # Migrated as `serve` does, not built with create_all: /readyz then reports it at head.
    upgrade_to_head(engine)
    _seed_roadmap(engine)
    print(f"sandbox HubSpot on {fake.base_url} (portal {fake.portal_id})")
    report = run_setup(
        HubSpotApi(access_token=fake.access_token, api_base=fake.base_url),
        guard_property=settings.hubspot_guard_property,
        access_token=fake.access_token,
    )
    print(f"setup hubspot: created {len(report.created)} properties/groups")

    connectors = {"hubspot": HubSpotConnector.from_settings(settings)}
    service = create_app(settings=settings, engine=engine, connectors=connectors)
    server = uvicorn.Server(
        uvicorn.Config(service, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="demo-service", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            print("error: the service did not start", file=sys.stderr)
            return 1
        time.sleep(0.05)
    print(f"roadmap-guard on {settings.public_base_url} (SQLite {db}, embedded worker)")
    print(f"readyz: {_readyz(settings.public_base_url)}")
    key = _admin_key(engine)
    print(f"admin API key for exploring (shown only this once): {key}")
    print(f"  more keys: {_more_keys_hint(db)}")

    deals = json.loads((DATA / "deals.json").read_text(encoding="utf-8"))
    deal_ids = []
    for d in deals:
        stage = d.pop("stage")
        deal_id = fake.add_deal(d.pop("name"), stage="appointmentscheduled", emit=True, **d)
        fake.ui_set_stage(deal_id, stage)  # the rep moves the deal: a dealstage webhook
        deal_ids.append(deal_id)
    target = settings.public_base_url + "/webhooks/hubspot"
    events = fake.drain_events()
    statuses = fake.deliver(target, events)
    print(f"sent {len(events)} signed webhook events in {len(statuses)} deliveries: {statuses}")
    _wait_idle(engine)
    _report(engine, fake, deal_ids)

    blocked = [
        d for d in deal_ids if fake.deal(d)["properties"].get("roadmap_guard_status") == "blocked"
    ]
    if blocked:
        deal_id = blocked[0]
        print(f"\n→ a rep drags blocked deal {deal_id} to 'Closed won' anyway...")
        fake.ui_set_stage(deal_id, "closedwon")
        fake.deliver(target)
        _wait_idle(engine)
        stage = fake.deal(deal_id)["properties"]["dealstage"]
        verb = "moved it back to" if stage != "closedwon" else "left it in"
        print(f"  closed-won guard ({settings.hubspot_guard_mode}) {verb} '{stage}'")
        _report(engine, fake, [deal_id])
        echoes = fake.drain_events()
        if echoes:
            statuses = fake.deliver(target, echoes)
            print(
                f"\nour own {len(echoes)} changes came back as webhooks and were ignored: {statuses}"
            )
    print(f"\nHubSpot API calls made: {fake.total_calls()} ({dict(fake.calls)})")

    if args.once:
        server.should_exit = True
        thread.join(timeout=10)
        fake.stop()
        return 0
    print(
        f"\nexplore: {settings.public_base_url}/docs and /dashboard with the admin API key "
        "printed above  (Ctrl-C to stop)"
    )
    try:
        while thread.is_alive():
            time.sleep(0.5)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join(timeout=10)
    fake.stop()
    return 0
