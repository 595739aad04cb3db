"""CLI: `roadmap refresh [--source NAME]`, `rules simulate --file draft.json`,
`mappings import FILE [--replace]`.

Each reads the settings as every command does (a bad one is one line, exit 2; notes are read in
the configured fiscal year) and logs as LOG_FORMAT and LOG_LEVEL say, on stderr: stdout holds
the command's own summary only. Progress bars go to stderr too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy.engine import Engine


def _actor() -> str:
    """Who the audit log says did it: the OS user, as every other CLI command records."""
    from app.cli import _actor as cli_actor

    return cli_actor()


def _engine() -> Engine:
    """The settings' database, after reading the settings and configuring logging as the other
    commands do (app/cli.py: `_settings`, `_logging`)."""
    from app.cli import _logging, _settings
    from app.db import make_engine

    settings = _settings()
    _logging(settings)
    return make_engine(settings.database_url)


def _refresh(args: argparse.Namespace) -> int:
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from app.connectors.roadmap._http import on_answer
    from app.errors import DomainError
    from app.services.roadmap_refresh import refresh_all, refresh_source

    accept = getattr(args, "accept_removals", False)
    if accept and not args.source:
        print(
            "error: --accept-removals needs --source (accept one source's removals)",
            file=sys.stderr,
        )
        return 2
    engine = _engine()
    # One bar over the sources (stderr), naming the one being read and the pages read of it;
    # log lines are written above the bar, not through it.
    with (
        tqdm(total=1 if args.source else None, unit="source", desc="roadmap refresh") as bar,
        logging_redirect_tqdm(),
    ):
        current, pages = "", 0

        def at_source(name: str, done: int, total: int) -> None:
            nonlocal current, pages
            current, pages = name, 0
            bar.total, bar.n = total, done
            bar.set_postfix_str(name)  # refreshes the bar

        def at_page() -> None:
            nonlocal pages
            pages += 1
            bar.set_postfix_str(f"{current}, {pages} page{'' if pages == 1 else 's'}")

        try:
            with on_answer(at_page):
                if args.source:
                    at_source(args.source, 0, 1)
                    results = [
                        refresh_source(engine, args.source, actor=_actor(), accept_removals=accept)
                    ]
                else:
                    results = refresh_all(engine, actor=_actor(), progress=at_source)
        except DomainError as exc:
            bar.close()
            print(f"error: {exc.message}", file=sys.stderr)
            return 2
        bar.total = bar.n = len(results)
        bar.set_postfix_str("done")
    if not results:
        print("no enabled roadmap sources to refresh (the registry is edited through the API)")
    for r in results:
        if not r.ok:
            print(f"{r.source}: FAILED, last good catalog kept: {r.error}")
        elif r.not_modified:
            print(f"{r.source}: not modified (ETag)")
        else:
            print(
                f"{r.source}: {r.fetched} features in {r.pages} page(s): {r.created} new, "
                f"{r.updated} changed, {r.deleted} removed; {r.fanout.summary()}"
                + (" (removals beyond the source's limit accepted)" if r.removals_accepted else "")
            )
    return 0 if all(r.ok for r in results) else 1


# The keys of a rule definition (none is a simulate request's): a file holding one is a rule.
_RULE_KEYS = frozenset(
    ("id", "name", "description", "enabled", "severity", "scope", "applies_to", "when", "message")
)


_JSON_KINDS = {str: "a JSON string", int: "a JSON number", float: "a JSON number",
               bool: "JSON true/false", type(None): "JSON null"}  # fmt: skip


def _simulate(args: argparse.Namespace) -> int:
    from pydantic import ValidationError
    from sqlmodel import Session
    from tqdm import tqdm

    from app.errors import DomainError, validation_details
    from app.services.simulate import SimulateRequest, run_simulation

    try:
        # a byte order mark (Windows editors, Excel) is dropped, as mappings import does
        raw = json.loads(Path(args.file).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    if isinstance(raw, list):  # a bare list of rule definitions
        raw = {"rules": raw}
    elif isinstance(raw, dict) and "rules" not in raw and set(raw) & _RULE_KEYS:
        raw = {"rules": [raw]}  # one rule definition, as the docs show one
    if not isinstance(raw, dict):
        print(
            f"error: {args.file} holds {_JSON_KINDS.get(type(raw), 'a JSON value')}; expected a "
            "rule definition, "
            "a list of them, or a simulate request object",
            file=sys.stderr,
        )
        return 2
    if args.base:
        raw["base"] = args.base
    # The request listed its default 100 deals: `--show 500` printed 100 of them.
    raw.setdefault("limit", args.show)
    try:
        request = SimulateRequest.model_validate(raw)
    except ValidationError as exc:
        # as the API answers them: JSON paths, the key meant for a misspelt one
        for detail in validation_details(exc.errors(), model=SimulateRequest):
            print(f"{detail['path']}: {detail['msg']}", file=sys.stderr)
        return 2
    from app.db import read_only

    engine = _engine()
    # Read-only, as the API's simulation: on SQLite a plain transaction is a write one (BEGIN
    # IMMEDIATE), which waited behind another process's long write and held webhooks up.
    with Session(read_only(engine)) as session, tqdm(unit="deal", desc="simulating") as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            result = run_simulation(session, request, progress=progress)
        except DomainError as exc:  # a draft of a deleted rule
            bar.close()
            for detail in exc.details or [{"path": "error", "msg": exc.message}]:
                print(f"{detail['path']}: {detail['msg']}", file=sys.stderr)
            return 2
        finally:
            session.rollback()  # a simulation writes nothing
    print(f"deals: {result.processed}, changed verdict: {result.changed}")
    print(f"{'verdict':<10}{'before':>10}{'after':>10}")
    for verdict in ("clear", "warning", "blocked"):
        print(f"{verdict:<10}{result.before[verdict]:>10}{result.after[verdict]:>10}")
    for deal in result.deals[: args.show]:
        print(f"  {deal.crm}/{deal.deal_id} {deal.name!r}: {deal.before} -> {deal.after}")
    return 0


def _import_mappings(args: argparse.Namespace) -> int:
    from app.api.mappings import decode_import
    from app.db import session_scope
    from app.errors import DomainError
    from app.services import mappings_service as svc

    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    try:
        # As the API reads an upload: UTF-8 (a byte order mark is dropped), or Windows-1252
        # when asked; a workbook or another encoding is refused saying how to save the file
        # (it was "cannot read ...: 'utf-8' codec can't decode byte 0xe9 in position 41").
        text = decode_import(raw, f"text/csv; charset={getattr(args, 'encoding', 'utf-8')}")
    except DomainError as exc:
        message = exc.message.replace(
            "send this file with Content-Type 'text/csv; charset=windows-1252'",
            "run this command with --encoding windows-1252",
        )
        print(f"error: {path}: {message}", file=sys.stderr)
        return 2
    try:
        rows, warnings = (
            (svc.parse_json(json.loads(text)), [])
            if path.suffix.lower() == ".json"
            else svc.read_csv(text)
        )
        with session_scope(_engine()) as session:
            counts, fanout = svc.import_mappings(
                session, rows, actor=_actor(), replace=args.replace
            )
            warnings += svc.import_warnings(session, rows)
    except json.JSONDecodeError as exc:
        print(f"error: invalid JSON: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details or []:
            print(
                f"  row {detail.get('row')}: {detail.get('path')}: {detail.get('message')}",
                file=sys.stderr,
            )
        return 1
    print(", ".join(f"{k} {v}" for k, v in counts.items()) + f"; {fanout.summary()}")
    for warning in warnings:  # stored all the same: warnings are not errors
        print(f"warning: {_import_warning_line(warning)}")
    return 0


def _import_warning_line(warning: dict) -> str:
    """One line for an import warning: a row whose SKU or product id a feature already claims
    among its own (whose, and what a deal selling it will reference), or any other (its
    message)."""
    where = f"row {warning['row']}"
    claimed_by = warning.get("claimed_by")
    if not claimed_by:
        return f"{where}: {warning['path']}: {warning['message']}"
    codes = "SKUs" if warning["match_kind"] == "sku" else "product ids"
    whose = (
        f"feature {claimed_by[0]} as one of its own {codes}"
        if len(claimed_by) == 1
        else f"features {', '.join(claimed_by)} as one of their own {codes}"
    )
    return (
        f"{where}: {warning['match_kind']} '{warning['match_value']}' is already claimed by "
        f"{whose}; deals selling it will reference {', '.join(warning['deals_will_reference'])}"
    )


def _show(value: str) -> int:
    show = int(value)
    if not 0 <= show <= 1000:
        raise argparse.ArgumentTypeError(f"{value} is not a number of deals to list (0-1000)")
    return show


def register(subparsers) -> None:
    roadmap = subparsers.add_parser(
        "roadmap",
        help="the roadmap's sources (Jira, Productboard, an HTTP feed): `roadmap refresh` reads "
        "them now; sources are added and edited through the API",
    )
    roadmap_sub = roadmap.add_subparsers(dest="roadmap_command", required=True)
    refresh = roadmap_sub.add_parser(
        "refresh",
        help="read the roadmap sources now, as the worker does every ROADMAP_REFRESH_SECONDS "
        "(default 900), and re-check the open deals whose features changed; one line per "
        "source (exit 1 if one failed: its last good catalog is kept)",
    )
    refresh.add_argument(
        "--source", metavar="NAME", help="only this source (default: every enabled source)"
    )
    refresh.add_argument(
        "--accept-removals",
        action="store_true",
        help="store the fetched catalog even if it removes more features than the source's "
        "limit (config.max_removed_share, default half), all of them included; audited. Needs "
        "--source",
    )
    refresh.set_defaults(func=_refresh)

    rules = subparsers.add_parser(
        "rules",
        help="the rules that decide each deal's verdict: `rules simulate` tries draft rules "
        "first; rules are saved through the API",
    )
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    simulate = rules_sub.add_parser(
        "simulate",
        help="what draft rules would change: every open deal stored here (or the file's "
        "snapshots) evaluated with the rules in force and with the drafts, the verdict counts "
        "before and after, and the deals whose result changes; writes nothing, calls no CRM",
    )
    simulate.add_argument(
        "--file",
        required=True,
        metavar="FILE",
        help="a JSON file: one rule definition, a list of them, or a simulate request (as "
        "POST /api/v1/rules/simulate takes it)",
    )
    simulate.add_argument(
        "--base",
        choices=["current", "none"],
        help="current: the drafts replace the rules of the same id and join the rest in force; "
        "none: the drafts alone (default: current, or the file's base)",
    )
    simulate.add_argument(
        "--show",
        type=_show,
        default=20,
        metavar="N",
        help="how many of the deals whose result changes to list, one a line (default 20; 0: "
        "only the counts; a simulate request's own limit wins)",
    )
    simulate.set_defaults(func=_simulate)

    mappings = subparsers.add_parser(
        "mappings",
        help="which roadmap features each product a deal sells (by SKU, product id or name) "
        "needs: `mappings import` loads them from a file",
    )
    mappings_sub = mappings.add_subparsers(dest="mappings_command", required=True)
    imp = mappings_sub.add_parser(
        "import",
        help="add or update product → feature mappings from a CSV or JSON file, all or nothing, "
        "and re-check the open deals they touch; audited",
    )
    imp.add_argument(
        "file",
        metavar="FILE",
        help="CSV with the columns match_kind (sku, product_id or name), match_value, "
        "feature_keys; or a .json file",
    )
    imp.add_argument(
        "--replace",
        action="store_true",
        help="also delete the mappings the file does not name (default: keep them)",
    )
    imp.add_argument(
        "--encoding",
        choices=("utf-8", "windows-1252"),
        default="utf-8",
        help="the file's encoding: windows-1252 for Excel's 'CSV (Comma delimited)' on Windows "
        "(default utf-8; a byte order mark is dropped)",
    )
    imp.set_defaults(func=_import_mappings)
