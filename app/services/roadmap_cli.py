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


def register(subparsers) -> None:
    roadmap = subparsers.add_parser("roadmap", help="roadmap sources")
    roadmap_sub = roadmap.add_subparsers(dest="roadmap_command", required=True)
    refresh = roadmap_sub.add_parser("refresh", help="refresh roadmap sources now")
    refresh.add_argument("--source", help="only this source (default: every enabled source)")
    refresh.add_argument(
        "--accept-removals",
        action="store_true",
        help="store the fetched catalog even if it removes more features than the source's "
        "limit (config.max_removed_share), all of them included; audited. Needs --source",
    )
    refresh.set_defaults(func=_refresh)

    rules = subparsers.add_parser("rules", help="rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    simulate = rules_sub.add_parser(
        "simulate", help="run draft rules against the stored deals; writes nothing"
    )
    simulate.add_argument(
        "--file",
        required=True,
        help="JSON: a rule definition, a list of them, or a simulate request",
    )
    simulate.add_argument(
        "--base",
        choices=["current", "none"],
        help="add drafts to the current rules (default) or run them alone",
    )
    simulate.add_argument("--show", type=int, default=20, help="changed deals to list")
    simulate.set_defaults(func=_simulate)

    mappings = subparsers.add_parser("mappings", help="product → feature mappings")
    mappings_sub = mappings.add_subparsers(dest="mappings_command", required=True)
    imp = mappings_sub.add_parser(
        "import", help="import mappings from CSV or JSON (all or nothing)"
    )
    imp.add_argument("file", help="CSV (match_kind,match_value,feature_keys) or .json")
    imp.add_argument("--replace", action="store_true", help="delete mappings absent from the file")
    imp.add_argument(
        "--encoding",
        choices=("utf-8", "windows-1252"),
        default="utf-8",
        help="the file's encoding: windows-1252 for Excel's 'CSV (Comma delimited)' on Windows "
        "(default utf-8; a byte order mark is dropped)",
    )
    imp.set_defaults(func=_import_mappings)
