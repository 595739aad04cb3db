"""README.md and docs/ as a new engineer, a RevOps admin and an engineering manager copy them:
the settings' defaults, the routes and command-line flags they name, the mapping files they
show, and README's *First steps with curl*, run as written against a real `serve`."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = {p.name: p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}
ALL_DOCS = {"README.md": README, **{f"docs/{k}": v for k, v in DOCS.items()}}


# --- the configuration table ------------------------------------------------------------------


def _table_defaults() -> dict[str, str]:
    return dict(re.findall(r"^\| `([A-Z0-9_]+)` \| (.*?) \|", README, flags=re.MULTILINE))


def _shown(value: object) -> str:
    """A default as the table writes it: `true`, `200`, `0.5`, `–` for none, `(empty)`."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return "–"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def test_the_configuration_tables_defaults_are_the_settings_defaults():
    """tests/test_readme.py holds the names; a default changed in app/settings.py and not in
    the table (or the other way round) told operators a value the service does not use."""
    table = _table_defaults()
    wrong = {}
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:  # DATABASE_URL: a file under the working folder
            continue
        if table.get(name.upper()) != _shown(field.default):
            wrong[name.upper()] = (table.get(name.upper()), _shown(field.default))
    assert wrong == {}, "README's configuration table (documented, actual)"
    assert table["DATABASE_URL"] == "`sqlite:///./data/roadmap-guard.db`"
    assert (
        Settings(_env_file=None).database_url
        == f"sqlite:///{Path.cwd() / 'data' / 'roadmap-guard.db'}"
    )


# --- routes -------------------------------------------------------------------------------------

ROUTE = re.compile(
    r"\b(GET|POST|PUT|PATCH|DELETE)\s*`?\s*(?:\|\s*`)?(/(?:api/v1|webhooks)[A-Za-z0-9_/{}.-]*)"
)


def _openapi_operations() -> list[tuple[str, list[str]]]:
    from app.main import create_app

    spec = create_app().openapi()
    return [
        (method.upper(), path.strip("/").split("/"))
        for path, operations in spec["paths"].items()
        for method in operations
    ]


def _same_route(written: list[str], real: list[str]) -> bool:
    """`/api/v1/rules/{id}/enable` is `/api/v1/rules/{rule_id}/enable`; a concrete example
    (`/api/v1/deals/test/T-1`) is an instance of its template."""
    return len(written) == len(real) and all(
        w == r or w.startswith("{") or r.startswith("{") for w, r in zip(written, real, strict=True)
    )


def test_every_route_the_docs_name_with_its_method_exists():
    operations = _openapi_operations()
    missing, seen = [], 0
    for doc, text in ALL_DOCS.items():
        for method, path in ROUTE.findall(text):
            seen += 1
            written = path.rstrip(".").strip("/").split("/")
            if not any(m == method and _same_route(written, real) for m, real in operations):
                missing.append(f"{doc}: {method} {path}")
    assert seen > 50  # the pattern still finds the docs' routes
    assert missing == []


# --- the command line ---------------------------------------------------------------------------


def _commands(parser: argparse.ArgumentParser, path=()):
    """(sub-command path, its parser) for every command, `apikey create` included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _commands(child, (*path, name))


def test_every_flag_the_docs_give_a_command_is_one_it_takes_and_each_is_documented():
    """A flag renamed in the CLI left the docs' command failing with 'unrecognized
    arguments'; a flag nobody documented (`rules simulate --show`) was found only in --help."""
    from app.cli import build_parser

    commands = dict(_commands(build_parser()))
    text = "\n".join(ALL_DOCS.values())
    wrong = []
    for match in re.finditer(r"roadmap-guard ((?:[a-z-]+ ?){1,2})([^`\n]*)", text):
        words = tuple(match.group(1).split())
        path = words if words in commands else words[:1]
        if path not in commands or not path:
            continue
        taken = {o for a in commands[path]._actions for o in a.option_strings}
        tail = " ".join(match.group(1).split()[len(path) :]) + match.group(2)
        for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", tail):
            if flag not in taken:
                wrong.append(f"roadmap-guard {' '.join(path)} {flag}")
    assert wrong == [], "flags the docs give that the command does not take"
    undocumented = [
        f"{' '.join(path)} {option}"
        for path, parser in commands.items()
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help" and option not in text
    ]
    assert undocumented == [], "flags no doc mentions"


def test_the_documented_cli_commands_parse(capsys):
    """Commands written to be copied (README's and docs/operations.md's code, the rotation and
    upgrade steps) are ones the parser takes. Placeholders (`ID`, `<crm>`, `[--pace N]`) are
    synopses, and a command named in a sentence without its arguments (`roadmap-guard
    mappings import` prints...) is prose: both are left out; a flag or value the command
    refuses is not."""
    import shlex

    from app.cli import build_parser

    parser = build_parser()
    names = {path[0] for path, _ in _commands(parser) if path}
    checked, refused = 0, []
    for text in ALL_DOCS.values():
        for match in re.finditer(r"(?:\.venv/bin/)?roadmap-guard ([a-z][^`\n#|]*)", text):
            command = match.group(1).strip()
            if re.search(r"[\[<]|\b[A-Z]{2,}\b|\\|\.\.\.|\b(R|N|H|P|S|A|ID)\b", command):
                continue  # a synopsis
            try:
                argv = shlex.split(command)
            except ValueError:  # an apostrophe of the sentence after a named command
                continue
            if argv[0] not in names:
                continue  # prose: "roadmap-guard checks every opportunity..."
            capsys.readouterr()
            try:
                parser.parse_args(argv)
            except SystemExit:
                error = capsys.readouterr().err
                if "the following arguments are required" not in error:
                    refused.append(f"roadmap-guard {command}: {error.splitlines()[-1]}")
                continue
            checked += 1
    assert refused == []
    assert checked > 15


# --- docs/roadmap.md's mapping files ------------------------------------------------------------


def test_the_mapping_csvs_docs_roadmap_shows_import_as_it_says(make_app, engine, api_key):
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from app.models import Feature

    section = DOCS["roadmap.md"].split("## Product mappings", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 2, "the long and the short CSV form"
    with Session(engine) as s:
        for key in ("sso", "scim", "audit-log"):
            s.add(Feature(key=key, name=key, availability="available"))
        s.commit()
    with TestClient(make_app()) as web:
        for block in blocks:
            answer = web.post(
                "/api/v1/mappings/import",
                content=block.encode(),
                headers={**api_key("revops"), "Content-Type": "text/csv"},
            )
            assert answer.status_code == 200, answer.text
        mappings = web.get("/api/v1/mappings", headers=api_key("viewer")).json()["items"]
    assert {(m["match_kind"], m["match_value"]): m["feature_keys"] for m in mappings} == {
        ("sku", "ENT-SSO"): ["sso", "scim"],
        ("name", "Audit pack"): ["audit-log"],
    }
    assert [w["path"] for w in answer.json()["warnings"]] == ["header"]  # 'Name': not read


# --- README, First steps with curl: run as written --------------------------------------------


def _first_steps() -> str:
    section = README.split("### First steps with curl", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL).group(1)


def _statuses_promised(block: str) -> list[int]:
    """The status written on the right of each curl command (`# 201`)."""
    return [int(code) for code in re.findall(r"#\s+(\d{3})\b", block)]


def _curl_commands(block: str) -> list[str]:
    """Each command's text, up to the status on its right, in order."""
    return re.split(r"#\s+\d{3}\b[^\n]*\n", block)[:-1]


def test_every_curl_of_the_first_steps_says_what_it_answers():
    block = _first_steps()
    assert len(_statuses_promised(block)) == len(re.findall(r"\bcurl ", block))
    assert block.splitlines()[0].startswith("export RG=http://127.0.0.1:8000 KEY=rg_...")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(check, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough is curl commands")
def test_the_first_steps_run_as_written_against_serve(tmp_path):
    """README's walkthrough, verbatim in a shell, against `serve` on its embedded default
    (SQLite, the worker inside): only the address and the key of `export` are this run's.
    Each curl answers the status written beside it, and the deal ends as the text says."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'rg.db'}",
        "WORKER_POLL_SECONDS": "0.1",
        "PUBLIC_BASE_URL": base,
    }
    env.pop("WORKER_MODE", None)
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    out = tmp_path / "answers"
    out.mkdir()
    try:

        def ready() -> bool:
            try:
                return httpx.get(f"{base}/readyz").status_code == 200
            except httpx.TransportError:
                return False

        assert _wait(ready), "serve never became ready"
        assert "no API key in this database yet" in (tmp_path / "serve.log").read_text()
        created = subprocess.run(
            [
                sys.executable,
                "-m",
                "app.cli",
                "apikey",
                "create",
                "--role",
                "admin",
                "--name",
                "me",
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        key = created.stdout.strip().splitlines()[-1]
        block = _first_steps()
        script = block.replace(
            "export RG=http://127.0.0.1:8000 KEY=rg_...", f"export RG={base} KEY={key}", 1
        )
        # curl as written, each answer's status and body kept (a function: it also runs on
        # the right of a pipe, in a subshell)
        shim = (
            'curl() { n=$(($(wc -l < "$ANSWERS/codes"))); '
            'command curl -q --noproxy "*" -sS -o "$ANSWERS/$n" -w "%{http_code}\\n" "$@" >> "$ANSWERS/codes"; }\n'
        )
        (out / "codes").write_text("")
        # The deal is put, then read: "the embedded worker checks it within a second", as a
        # person pasting the rest would find it checked. Here the rest waits for the worker.
        put = script.index("# 202\n") + len("# 202\n")
        export = script.splitlines()[0] + "\n"
        headers = {"Authorization": f"Bearer {key}"}

        def checked() -> bool:
            answer = httpx.get(f"{base}/api/v1/deals/test/T-1", headers=headers)
            return answer.status_code == 200 and answer.json()["deal"]["verdict"] == "blocked"

        for part in (script[:put], export + script[put:]):
            done = subprocess.run(
                ["bash", "-euc", shim + part],
                cwd=tmp_path,
                env={**env, "ANSWERS": str(out)},
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert done.returncode == 0, done.stderr
            if "test-crm/deals/T-1 -d" in part:
                assert _wait(checked), "the worker never checked the deal"
        codes = [int(c) for c in (out / "codes").read_text().split()]
        answers = [(out / str(i)).read_text() for i in range(len(codes))]
        assert codes == _statuses_promised(block), list(zip(codes, answers, strict=False))
        refused = next(json.loads(a) for c, a in zip(codes, answers, strict=True) if c == 422)
        assert [d["path"] for d in refused["error"]["details"]] == ["severity"]
        commands = _curl_commands(block)

        def answer(part: str) -> str:
            [i] = [i for i, command in enumerate(commands) if part in command]
            return answers[i]

        assert json.loads(answer("text/csv"))["created"] == 2  # the CSV import: two rows
        assert json.loads(answer("rules/validate"))["valid"] is True
        assert json.loads(answer("rules/simulate"))["changed"] == 0  # a warning, not a block
        assert json.loads(answer("rules/simulate"))["findings_changed"] == 1

        def lifted() -> dict | None:
            record = httpx.get(f"{base}/api/v1/test-crm/deals/T-1", headers=headers).json()
            return record if record["properties"].get("block") is False else None

        record = _wait(lifted)
        assert record, "the approval never lifted the block"
        assert record["properties"]["status"] == "warning"
        deal = httpx.get(f"{base}/api/v1/deals/test/T-1", headers=headers).json()
        rules = {f["rule_id"] for f in deal["findings"]}
        assert {"promised-past-target", "big-coming-soon"} <= rules  # the block, the new rule
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
        log.close()
