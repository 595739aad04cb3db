"""`roadmap-guard` command line: serve | worker | migrate | apikey | queue | replay-dead | ...

The core sub-commands live here. Each domain adds its own through a module in CLI_MODULES
exposing `register(subparsers)`; every sub-command sets `func(args) -> int`.
A bad setting stops any command with one line naming the variable, exit code 2; so does a
database that cannot be reached or is not migrated (`main`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import socket
import sys
from pathlib import Path

CLI_MODULES = [
    "app.services.roadmap_cli",
    "app.connectors.hubspot.cli",
    "app.connectors.salesforce.cli",
    "app.sandbox.demo",
]


# The settings the running command loaded (DATABASE_URL may come from .env, not the
# environment): a database error names the database they name.
_loaded_settings = None


def _settings(**overrides):
    from app.services import catalog
    from app.settings import load_settings

    global _loaded_settings
    settings = load_settings(**overrides)  # prints the bad variable and exits 2
    catalog.configure(settings)  # notes are read in this fiscal year by every command
    _loaded_settings = settings
    return settings


def _engine(settings):
    from app.db import make_engine

    return make_engine(settings.database_url)


def _logging(settings) -> None:
    from app.logging import configure_logging

    configure_logging(settings)


# --- serve / worker / migrate -------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.main import create_app, tune_garbage_collector
    from app.migrate import upgrade_to_head

    settings = _settings()
    _logging(settings)
    # `--port 0` is a port: any free one (uvicorn's "Uvicorn running on" line names it). It
    # was read as unset, and the service bound PORT (8000).
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    try:  # uvicorn's own answer named neither the variable nor the value
        socket.getaddrinfo(host, port)
    except socket.gaierror as exc:
        name = "--host" if args.host else "HOST"
        print(f"invalid configuration: {name}: cannot resolve {host!r} ({exc.strerror})",
              file=sys.stderr)  # fmt: skip
        return 2
    from app.settings import embedded_worker_problem, webhook_receiver_problem

    problem = embedded_worker_problem(settings) or webhook_receiver_problem(settings)
    if problem is not None:
        print(f"invalid configuration: {problem}", file=sys.stderr)
        return 2
    engine = _engine(settings)
    # The embedded default needs no separate step. Idempotent at head, and replicas starting
    # together take turns (an advisory lock on PostgreSQL, app/migrate.py).
    upgrade_to_head(engine)
    app = create_app(settings=settings, engine=engine)
    import structlog

    log = structlog.get_logger("app.serve")
    log.info(
        "serve starting",
        database=_without_password(settings.database_url, as_written=True),
        worker_mode=settings.worker_mode,
        crms=sorted(app.state.connectors),
        listen=f"{host}:{port}" + (" (any free port: named when it is bound)" if port == 0 else ""),
        public_base_url=settings.public_base_url,
        # where to go next: the OpenAPI UI (a free port is named by uvicorn's line)
        **({"docs": f"{_local_url(host, port)}/docs"} if port else {}),
    )
    if not _has_active_api_key(engine):
        # A fresh install answers every /api request 401 and nothing said how to get in: the
        # first key is made with the CLI, against this database (README, Quick start).
        log.info(
            "no API key in this database yet: make the first one with "
            f"`{cli_command()} apikey create --role admin --name YOUR-NAME`, run from "
            f"{Path.cwd()}"
            + (" with the same DATABASE_URL" if "DATABASE_URL" in os.environ else "")
            + "; it is printed once: send it as `Authorization: Bearer rg_...`, or sign in to "
            "/dashboard with it",
        )
    if settings.hubspot_client_secret is not None and (
        "public_base_url" not in settings.model_fields_set
    ):
        # HubSpot signs the URL it delivers to; checked against the default, every delivery to
        # the real address was refused (401) and nothing at start said why.
        structlog.get_logger("app.serve").warning(
            "PUBLIC_BASE_URL is not set: HubSpot deliveries are checked against "
            f"{settings.public_base_url}/webhooks/hubspot, so one sent to any other address "
            "fails its signature (401); set it to the URL HubSpot calls",
            public_base_url=settings.public_base_url,
        )
    tune_garbage_collector(settings.gc_gen0_threshold)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_config=None,  # our handler (app/logging.py) renders uvicorn's records too
            proxy_headers=True,
        )
    except SystemExit as exc:
        taken = _cannot_listen(host, port) if exc.code not in (0, None) else None
        if taken is None:
            raise
        # A port in use (another serve, the demo) ended in uvicorn's "[Errno 98] error while
        # attempting to bind" among the JSON lines, exit 3, and nothing said what to do.
        name = "--port" if args.port is not None else "PORT"
        print(
            f"error: cannot listen on {host}:{port} ({taken}): choose another port with "
            f"{name} (python3 tasks.py serve --port {port + 1 if port < 65535 else 8001}) and "
            "set PUBLIC_BASE_URL to match",
            file=sys.stderr,
        )
        return 2
    return 0


def _cannot_listen(host: str, port: int) -> str | None:
    """Why uvicorn could not bind host:port (the port in use, a privileged port), tried the
    way uvicorn binds (SO_REUSEADDR, so a socket of a stopped `serve` left in TIME_WAIT does
    not count); None when it can, or for port 0 (any free one)."""
    if port == 0:
        return None
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.strerror or type(exc).__name__
    return None


def _local_url(host: str, port: int) -> str:
    """The URL a person on this machine opens for a service bound to host:port (a wildcard
    address is reached on loopback; an IPv6 address in brackets)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _has_active_api_key(engine) -> bool:
    from sqlmodel import Session, select

    from app.models import ApiKey

    with Session(engine) as session:
        return (
            session.exec(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)).first()
            is not None
        )


def cli_command() -> str:
    """`roadmap-guard` as the person who started this process types it: the script beside the
    running Python (`.venv/bin/roadmap-guard` from the repository root, where the set-up
    installs it: a bare `roadmap-guard` is not on PATH on a fresh machine), relative to the
    current folder when it is under it; else `<python> -m app.cli`."""
    script = Path(sys.executable).parent / "roadmap-guard"
    if not script.is_file():
        return f"{sys.executable} -m app.cli"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def cmd_worker(args: argparse.Namespace) -> int:
    from app.connectors.registry import build_connectors
    from app.jobs.runtime import default_processor
    from app.jobs.worker import Worker, default_owner
    from app.main import tune_garbage_collector

    settings = _settings()
    _logging(settings)
    engine = _engine(settings)
    problem = _check_database(engine)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    connectors = build_connectors(settings, engine)
    processor = default_processor(engine, settings, connectors)
    owner = default_owner()
    import structlog

    structlog.get_logger("app.worker").info(
        "worker starting",
        owner=owner,
        database=_without_password(settings.database_url, as_written=True),
        crms=sorted(connectors),
    )
    worker = Worker(engine, settings, processor, owner=owner, grace_seconds=args.grace)
    tune_garbage_collector(settings.gc_gen0_threshold)
    metrics_server = _start_worker_metrics(args, settings, worker)
    try:
        return _run_worker(args, engine, settings, connectors, worker, owner)
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()


def _check_database(engine) -> str | None:
    """Read the deal queue once: a database that cannot be reached, or is not migrated, stops
    the command here with `main`'s one line (exit 2), as it stops every other command. A
    worker used to start anyway and log a traceback per poll for as long as it ran. Returns
    what is wrong when the database is behind this release's migrations (None: it may run)."""
    from sqlmodel import select

    from app.models import DealQueue

    with engine.connect() as conn:
        conn.execute(select(DealQueue.id).limit(1)).all()
    # A worker of a new release started before its `migrate` ran on the old schema, and every
    # statement naming a new column failed, deal after deal, until they went dead.
    behind = _migrations_behind()
    if behind is not None:
        database, head = behind
        return (
            f"the database is at migration {database} and this release needs {head}: "
            "run `roadmap-guard migrate` before starting its workers"
        )
    return None


def _start_worker_metrics(args: argparse.Namespace, settings, worker):
    """`--metrics-port N`: this process's /metrics (outcomes, latency, CRM calls: with
    WORKER_MODE=off they happen here, not in the API) and /healthz (the worker loop turns)."""
    if args.metrics_port is None:
        return None
    import structlog

    from app.metrics import start_metrics_server

    host = args.metrics_host if args.metrics_host is not None else settings.host
    try:
        server = start_metrics_server(args.metrics_port, host, health=worker.health)
    except OSError as exc:
        print(f"cannot serve metrics on {host}:{args.metrics_port}: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    structlog.get_logger("app.worker").info(
        "metrics server listening", host=host, port=server.server_port
    )
    return server


def _run_worker(args: argparse.Namespace, engine, settings, connectors, worker, owner) -> int:
    from app.jobs.schedules import ScheduleRunner, ScheduleThread
    from app.jobs.worker import StopEvent, install_signal_handlers

    if args.burst:
        stop = StopEvent()
        install_signal_handlers(stop)  # finish the batch in hand, then exit
        n = worker.run_until_empty(stop_event=stop)
        tally = worker.tally
        # Claimed is not processed: a held deal (refused credentials, a CRM limit) or a
        # retry was claimed and given back.
        print(
            f"claimed {n} deals: done {tally['done'] + tally['rerun']}, "
            f"retrying or held {tally['retry'] + tally['dead_rerun']}, dead {tally['dead']}"
            + (f", lease lost {tally['stale']}" if tally["stale"] else "")
            + (" (stopped by a signal: the rest stays queued)" if stop.is_set() else "")
        )
        return 0
    stop = StopEvent()
    install_signal_handlers(stop)
    schedules = None
    if not args.no_schedules:
        runner = ScheduleRunner(engine, settings, connectors, owner=owner)
        poll = max(settings.worker_poll_seconds, 1.0)
        schedules = ScheduleThread(runner, stop, poll_seconds=poll).start()
    worker.run_forever(stop)
    if schedules is not None:  # a running job gets what is left of the same grace period
        schedules.stop(stop.remaining(args.grace))
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from app.migrate import current_revision, head_revision, known_revision, upgrade_to_head

    settings = _settings()
    engine = _engine(settings)
    before, head = current_revision(engine), head_revision()
    if before == head:
        print(f"database at revision {head} (no migration to run)")
        return 0
    if before is not None and not known_revision(before):
        if not _has_our_tables(engine):
            upgrade_to_head(engine)  # refuses another application's database: main's one line
        # A rolling upgrade: the new release migrated first, and upgrade_to_head leaves the
        # database as it is. This said "migrating the database from 0026 to 0025", then "at
        # revision 0026".
        print(
            f"the database is at a newer migration ({before}) than this release ({head}): "
            "nothing migrated; finish rolling out the new release (or downgrade the database "
            "with it)"
        )
        return 0
    print(f"migrating the database from {before or 'no revision (empty)'} to {head}", flush=True)
    # A step can take minutes on a large database: each is said as it begins.
    steps = logging.getLogger("alembic.runtime.migration")
    printer = _MigrationStepPrinter()
    level = steps.level
    steps.addHandler(printer)
    steps.setLevel(logging.INFO)
    try:
        upgrade_to_head(engine)
    finally:
        steps.removeHandler(printer)
        steps.setLevel(level)
    print(f"database at revision {current_revision(engine)}")
    return 0


def _has_our_tables(engine) -> bool:
    """Whether the database holds roadmap-guard's tables (as app/migrate.py tells a newer
    release's database from another application's)."""
    from sqlalchemy import inspect

    from app.db import read_only

    with read_only(engine).connect() as conn:
        return inspect(conn).has_table("deal_queue")


class _MigrationStepPrinter(logging.Handler):
    """Prints alembic's "Running upgrade 0006 -> 0007, <the revision's first line>" records to
    stdout, as they are logged (before the step runs); alembic's other lines are not shown."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Running upgrade"):
            print("  " + message.removeprefix("Running ").splitlines()[0], flush=True)


# --- API keys ------------------------------------------------------------------------------------


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'unknown')}"


def cmd_apikey_create(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.errors import Conflict
    from app.security import Role, create_api_key, refuse_duplicate_name
    from app.services import audit

    settings = _settings()
    with session_scope(_engine(settings)) as session:
        try:
            refuse_duplicate_name(session, args.name)
        except Conflict as exc:
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        row, key = create_api_key(
            session, name=args.name, role=Role(args.role), created_by=_actor()
        )
        audit.record(
            session,
            actor=_actor(),
            action="api_key.create",
            entity_type="api_key",
            entity_id=row.id,
            after={"name": row.name, "role": row.role, "prefix": row.prefix},
        )
        key_id = row.id
    print(f"created API key {key_id} ({args.role}, {args.name!r}); it is shown only this once:")
    print(key)
    return 0


def cmd_apikey_list(_args: argparse.Namespace) -> int:
    from sqlmodel import Session, select

    from app.models import ApiKey

    settings = _settings()
    with Session(_engine(settings)) as session:
        rows = session.exec(select(ApiKey).order_by(ApiKey.id)).all()
    print(f"{'ID':>4}  {'ROLE':<12} {'PREFIX':<12} {'STATE':<8} {'CREATED':<20} NAME")
    for r in rows:
        state = "revoked" if r.revoked_at else "active"
        created = r.created_at.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{r.id:>4}  {r.role:<12} {r.prefix:<12} {state:<8} {created:<20} {r.name}")
    return 0


def cmd_apikey_revoke(args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.models import ApiKey
    from app.security import revoke_api_key
    from app.services import audit

    settings = _settings()
    with session_scope(_engine(settings)) as session:
        row = session.get(ApiKey, args.id)
        if row is None:
            print(
                f"error: no API key with id {args.id} (`apikey list` shows the keys and their ids)",
                file=sys.stderr,
            )
            return 1
        if row.revoked_at is None:
            # Recorded as the admin API's revoke records it: the key as it was, and as it is.
            from app.api.admin import ApiKeyPublic

            before = ApiKeyPublic.model_validate(row, from_attributes=True)
            revoke_api_key(row)
            session.add(row)
            session.flush()
            after = ApiKeyPublic.model_validate(row, from_attributes=True)
            audit.record(
                session,
                actor=_actor(),
                action="api_key.revoke",
                entity_type="api_key",
                entity_id=row.id,
                before=before.model_dump(mode="json"),
                after=after.model_dump(mode="json"),
            )
            print(f"revoked API key {args.id}")
        else:
            print(f"API key {args.id} was already revoked at {row.revoked_at.isoformat()}")
    return 0


# --- queue -------------------------------------------------------------------------------------


DEAD_SHOWN = 10
HELD_SHOWN = 10
HELD_API = "GET /api/v1/queue?status=pending&with_error=true"


def cmd_queue(_args: argparse.Namespace) -> int:
    from sqlalchemy import case, func, select

    from app.jobs.queue import pending_after_error, pending_by_reason, queue_counts
    from app.models import DealQueue, utcnow

    settings = _settings()
    table = DealQueue.__table__
    # Pending after an error (`pending_after_error`): their error said nowhere here why they
    # waited.
    waiting = pending_after_error()
    with _engine(settings).connect() as conn:
        now = utcnow()
        counts = queue_counts(conn)
        reasons = pending_by_reason(conn, now=now)
        held_count, on_hold = conn.execute(
            select(
                func.count(), func.coalesce(func.sum(case((table.c.held, 1), else_=0)), 0)
            ).where(waiting)
        ).one()
        held = conn.execute(
            select(
                table.c.crm,
                table.c.deal_id,
                table.c.due_at,
                table.c.last_error,
                table.c.held,
                table.c.attempts,
            )
            .where(waiting)
            .order_by(table.c.updated_at.desc(), table.c.id.desc())
            .limit(HELD_SHOWN)
        ).all()
        # the dead deals' errors: what an operator must read before `replay-dead` (the ops
        # API lists them all; the latest here)
        dead = conn.execute(
            select(table.c.crm, table.c.deal_id, table.c.attempts, table.c.last_error)
            .where(table.c.status == "dead")
            .order_by(table.c.updated_at.desc(), table.c.id.desc())
            .limit(DEAD_SHOWN)
        ).all()
    for status, n in counts.items():
        print(f"{status:<8} {n}")
        if status == "pending":
            for reason, c in reasons.items():
                later = f" ({c['not_due']} not due yet)" if c["not_due"] else ""
                print(f"  {reason:<12} {c['pending']}{later}")
            if held_count:
                why = []
                if on_hold:
                    why.append(
                        f"{on_hold} held while the CRM refuses (an org's validation rule or "
                        "picklist value, a property rule, credentials, a rate limit: retried "
                        "without spending attempts; an admin may need to act)"
                    )
                if held_count - on_hold:
                    why.append(
                        f"{held_count - on_hold} backing off after an error (attempts counting: "
                        f"dead after {settings.max_attempts})"
                    )
                print(f"  after an error: {'; '.join(why)}; latest first:")
                for row in held:
                    state = (
                        "held"
                        if row.held
                        else f"backing off, {row.attempts} of {settings.max_attempts} attempts"
                    )
                    print(
                        f"    {row.crm}/{row.deal_id} ({_due(row.due_at, now)}, {state}): "
                        f"{_one_line(row.last_error)}"
                    )
                if held_count > len(held):
                    print(f"    ... {held_count - len(held)} more ({HELD_API} lists them all)")
        if status == "dead" and dead:
            for row in dead:
                print(
                    f"  {row.crm}/{row.deal_id} ({row.attempts} attempts): "
                    f"{_one_line(row.last_error)}"
                )
            if n > len(dead):
                print(f"  ... {n - len(dead)} more (GET /api/v1/queue lists them all)")
    return 0


def _one_line(error: str | None) -> str:
    """A queue row's error as one line of at most 160 characters, cut at a word: a CRM's
    message may hold line breaks (a validation rule's text, an HTML error page's)."""
    from app.rules.messages import cut_at_word

    return cut_at_word(" ".join((error or "").split()) or "no error recorded", 160)


def _due(due_at, now) -> str:
    """When a pending row is next tried: "due now", or "next try in 4 min, at 23:31 UTC"."""
    seconds = (due_at - now).total_seconds()
    if seconds <= 0:
        return "due now"
    minutes = round(seconds / 60)
    if seconds < 60:
        wait = f"{int(seconds) or 1} s"
    elif minutes < 120:
        wait = f"{minutes} min"
    else:
        wait = f"{minutes // 60} h {minutes % 60} min"
    at = due_at.strftime("%H:%M" if due_at.date() == now.date() else "%Y-%m-%d %H:%M")
    return f"next try in {wait}, at {at} UTC"


def cmd_replay_dead(_args: argparse.Namespace) -> int:
    from app.db import session_scope
    from app.jobs.queue import replay_dead
    from app.services import audit

    settings = _settings()
    with session_scope(_engine(settings)) as session:
        ids = replay_dead(session)
        audit.record(
            session,
            actor=_actor(),
            action="queue.replay_dead",
            entity_type="deal_queue",
            entity_id="*",
            after={"replayed": len(ids), "ids": ids[:1000]},
        )
    print(f"replayed {len(ids)} dead deals")
    return 0


def cmd_backfill(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.connectors.base import ConnectorError
    from app.connectors.registry import build_connectors
    from app.services.backfill import backfill

    settings = _settings()
    engine = _engine(settings)
    connectors = build_connectors(settings, engine)
    connector = connectors.get(args.crm)
    if connector is None:
        from app.settings import CRM_CREDENTIALS

        configured = ", ".join(sorted(connectors)) or "none"
        need = CRM_CREDENTIALS.get(args.crm)
        print(
            f"{args.crm} is not configured here (configured: {configured})"
            + (f"; to configure it set {need}" if need else ""),
            file=sys.stderr,
        )
        return 2
    queued = 0  # as of the last committed page
    with tqdm(desc=f"{args.crm} open deals", unit="deal") as bar:

        def on_page(page, result) -> None:
            nonlocal queued
            if bar.total is None and result.total is not None:
                bar.total = result.total
            bar.update(len(page.ids))
            # The CRM's total is its first page's count: deals created meanwhile are listed
            # too (the bar read 5003/5000), and deals closed meanwhile are not (it stopped
            # short of its total).
            if bar.total is not None and bar.total < bar.n:
                bar.total = bar.n
            queued = result.queued

        try:
            result = backfill(
                engine, connector, actor=_actor(), pace=args.pace or None, on_page=on_page
            )
        except ConnectorError as exc:
            print(
                f"stopped after queueing {queued} deals: {exc}. Run it again to go on: deals "
                "already queued are not queued twice.",
                file=sys.stderr,
            )
            return 1
        except KeyboardInterrupt:
            # Each page is committed as it is listed: what was queued stays queued.
            bar.close()
            print(
                f"stopped after queueing {queued} deals (interrupted). Run it again to go on: "
                "deals already queued are not queued twice.",
                file=sys.stderr,
            )
            return 130
        bar.total = bar.n
        bar.refresh()
    # unlisted: deals open here that the CRM's list left out (deleted or closed there while
    # their webhook was lost), queued to be read too (app/services/backfill.py)
    print(
        f"queued {result.queued} open {args.crm} deals ({result.listed} listed) and "
        f"{result.unlisted} open here that {args.crm} did not list (deleted or closed there?); "
        "the worker reads them in its batches: `roadmap-guard queue` shows how many remain"
    )
    return 0


def _pace(value: str) -> float:
    pace = float(value)
    if not pace >= 0:
        raise argparse.ArgumentTypeError(f"{value} is not a pace (deals a minute, 0 or more)")
    return pace


def _key_name(value: str) -> str:
    """As the admin API's ApiKeyCreate takes it (`key_name_problem`: 1-200 characters, case
    folded too, not blank). A 250-character name was taken here, and every later write made
    with the key failed on PostgreSQL: its actor "<role>:<name>" overflowed the audit log's
    255-character columns."""
    from app.security import key_name_problem

    problem = key_name_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"the key's name {problem}")
    return value.strip()


def _seconds(value: str) -> float:
    seconds = float(value)
    if not 0 <= seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{value} is not a number of seconds (0-3600)")
    return seconds


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port (0-65535)")
    return port


def register_core(sub) -> None:
    p = sub.add_parser(
        "serve", help="migrate, then run the API (and the worker, unless WORKER_MODE=off)"
    )
    p.add_argument("--host", default=None, help="default: HOST (127.0.0.1)")
    p.add_argument(
        "--port",
        type=_port,
        default=None,
        help="default: PORT (8000); 0 picks a free port, named in the 'Uvicorn running on' line",
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="run a standalone worker (any number, on PostgreSQL)")
    p.add_argument("--burst", action="store_true", help="process what is due now, then exit")
    p.add_argument("--no-schedules", action="store_true", help="do not run periodic jobs here")
    p.add_argument(
        "--grace",
        type=_seconds,
        default=20.0,
        metavar="SECONDS",
        help="seconds the batch in hand may run after SIGTERM before its leases are released "
        "(default 20)",
    )
    p.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="N",
        help="serve this worker's Prometheus metrics (GET /metrics) and liveness (GET /healthz) "
        "on port N (default: off; 0 picks a free port)",
    )
    p.add_argument(
        "--metrics-host",
        default=None,
        metavar="ADDR",
        help="address the metrics server binds (default: HOST, 127.0.0.1; the image sets 0.0.0.0)",
    )
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("migrate", help="upgrade the database schema to the latest revision")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("apikey", help="create, list or revoke API keys")
    keys = p.add_subparsers(dest="apikey_command", required=True)
    c = keys.add_parser("create", help="create a key (printed once)")
    c.add_argument(
        "--role",
        required=True,
        choices=["admin", "revops", "engineering", "viewer", "approver"],
        help="admin: everything, API keys included; revops: rules, features, mappings, "
        "roadmap sources, the queue; engineering, viewer: read; approver: approvals, and read",
    )
    c.add_argument("--name", required=True, type=_key_name, help="who or what uses the key")
    c.set_defaults(func=cmd_apikey_create)
    c = keys.add_parser("list", help="list keys (never the keys themselves)")
    c.set_defaults(func=cmd_apikey_list)
    c = keys.add_parser("revoke", help="revoke a key by id")
    c.add_argument("id", type=int, help="the key's id, as `apikey list` shows it")
    c.set_defaults(func=cmd_apikey_revoke)

    p = sub.add_parser(
        "queue",
        help="deal queue counts by status, pending deals by reason and those waiting after an "
        "error (held while the CRM refuses, or backing off), and the latest dead deals with "
        "their error",
    )
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser("replay-dead", help="put every dead deal back in the queue")
    p.set_defaults(func=cmd_replay_dead)

    p = sub.add_parser(
        "backfill",
        help="queue every open deal of a CRM, to be read and evaluated (after install or upgrade)",
    )
    p.add_argument("crm", choices=["hubspot", "salesforce", "test"])
    p.add_argument(
        "--pace",
        type=_pace,
        default=1000.0,
        metavar="N",
        help="deals a minute: later pages are due later, so webhooks arriving meanwhile go first "
        "(default 1000; 0: every deal due at once)",
    )
    p.set_defaults(func=cmd_backfill)


DESCRIPTION = """\
roadmap-guard checks CRM deals against the product roadmap and writes the verdict back.
Settings come from the environment or a .env file (README's configuration table); a bad one
stops any command with one line naming the variable (exit 2)."""

EPILOG = """\
First steps: `serve` migrates the database and listens (OpenAPI UI at /docs, dashboard at
/dashboard); then, from the same folder, `apikey create --role admin --name YOUR-NAME` makes
the first API key (printed once). README.md, Quick start."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roadmap-guard", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True)
    register_core(sub)
    for module in CLI_MODULES:
        importlib.import_module(module).register(sub)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """Every sub-command's --help opens with its one-line help, and a missing sub-command is
    named by its choices ("required: {create,list,revoke}"), not by an internal dest."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        if action.metavar is None:
            action.metavar = "{" + ",".join(action.choices) + "}"
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, child in action.choices.items():
            if child.description is None and helps.get(name):
                child.description = helps[name]
            _describe(child)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        problem = database_problem(exc)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2


def database_problem(exc: BaseException) -> str | None:
    """One line for a database the command cannot use (unreachable, not migrated, or a SQLite
    folder that cannot be made), instead of a traceback of forty frames; None for anything
    else."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if isinstance(exc, OSError) and _sqlite_folder(exc.filename):
        # make_engine makes a SQLite file's folder on first use: a path through a file, or a
        # read-only or root-owned volume, refused that (pathlib's mkdir, no SQLAlchemy error).
        return (
            f"cannot use the database at {_database_named()}: cannot create its folder "
            f"{exc.filename} ({exc.strerror})"
        )
    if isinstance(exc, RuntimeError) and _raised_in(exc, "app.migrate"):
        # upgrade_to_head: a revision this code does not know, in a database with none of our
        # tables (another application's): a traceback said it, forty frames down.
        return f"{exc} (this is the database at {_database_named()})"
    if not isinstance(exc, OperationalError | ProgrammingError):
        return None
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
        # Named: a command run from another folder than serve's opens (and makes) another
        # SQLite file, ./data/roadmap-guard.db under that folder, and a key made there after
        # `migrate` never worked against the service.
        return (
            f"the database is not migrated ({reason}): run `roadmap-guard migrate` "
            f"(serve migrates by itself){_default_database_hint()}; this is the database at "
            f"{_database_named()}"
        )
    schema = ("no such column", "has no column named", "does not exist")  # SQLite, PostgreSQL
    behind = _migrations_behind() if any(word in reason for word in schema) else None
    if behind is not None:
        # An upgraded checkout or image before its `migrate` (a new column: "no such column:
        # api_key.active_name") read as a database the command could not use, for no reason
        # the operator could act on.
        database, head = behind
        return (
            f"the database is at migration {database} and this release needs {head} "
            f"({reason}): run `roadmap-guard migrate` (serve migrates by itself); this is the "
            f"database at {_database_named()}"
        )
    return f"cannot use the database at {_database_named()}: {reason}"


def _default_database_hint() -> str:
    """For the default database, which is ./data/roadmap-guard.db under the folder the command
    runs in: the usual reason it is empty is a command run from another folder than `serve`
    (whose database it was meant to reach), and `migrate` there made a second, empty one."""
    settings = _loaded_settings
    if settings is None or "database_url" in settings.model_fields_set:
        return ""
    return (
        "; without DATABASE_URL a command opens ./data/roadmap-guard.db under the folder it "
        "runs in: to reach the database of a `serve` started elsewhere, run the command from "
        "that folder (the repository root for `python3 tasks.py serve`) or set DATABASE_URL"
    )


def _raised_in(exc: BaseException, module: str) -> bool:
    """Whether `exc` was raised by code of `module` (its traceback's last frame)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_globals.get("__name__") == module


def _migrations_behind() -> tuple[str, str] | None:
    """(the database's revision, this code's head) when the configured database is at an
    older revision this code knows; None otherwise, or when that cannot be read."""
    try:
        from app.db import make_engine
        from app.migrate import current_revision, head_revision, known_revision

        settings = _loaded_settings
        if settings is None:
            return None
        engine = make_engine(settings.database_url)
        try:
            current = current_revision(engine)
        finally:
            engine.dispose()
        head = head_revision()
    except Exception:
        return None
    if current is None or head is None or current == head or not known_revision(current):
        return None
    return current, head


def _database_named() -> str:
    """The database the command's settings name (environment or .env), without its password."""
    settings = _loaded_settings
    if settings is None:
        try:
            from app.settings import Settings

            settings = Settings()
        except Exception:
            return "DATABASE_URL"
    return _without_password(settings.database_url, as_written=True)


def _sqlite_folder(filename: object) -> bool:
    """Whether `filename` is a folder the configured SQLite database lies in."""
    if not isinstance(filename, str):
        return False
    try:
        from sqlalchemy.engine import make_url

        settings = _loaded_settings
        if settings is None:
            from app.settings import Settings

            settings = Settings()
        url = make_url(settings.database_url)
    except Exception:
        return False
    if url.get_backend_name() != "sqlite" or not url.database:
        return False
    return Path(filename) in Path(url.database).parents


def _without_password(url: str, *, as_written: bool = False) -> str:
    """The URL with `***` for its password; `as_written` drops the driver the settings add
    (`postgresql+psycopg://` is shown as the operator wrote it, `postgresql://`)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        if as_written:
            parsed = parsed.set(drivername=parsed.get_backend_name())
        return parsed.render_as_string(hide_password=True)
    except Exception:
        return "DATABASE_URL"


if __name__ == "__main__":
    sys.exit(main())
