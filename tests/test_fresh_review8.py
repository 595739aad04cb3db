"""A fresh machine following only the docs: what README.md and docs/operations.md tell a new
engineer to type works as written."""

from __future__ import annotations

import ast
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# --- tasks.py on an old python3 ---------------------------------------------------------------


def _older_pythons() -> list[str]:
    """Interpreters older than 3.11 on this machine (pyenv's, the distribution's)."""
    found = [shutil.which(f"python3.{minor}") for minor in range(4, 11)]
    found += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    older = []
    for python in dict.fromkeys(p for p in found if p):
        try:
            done = subprocess.run(
                [python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            version = tuple(int(part) for part in done.stdout.split())
        except (OSError, subprocess.SubprocessError, ValueError):
            continue
        if done.returncode == 0 and (3, 0) <= version < (3, 11):
            older.append(python)
    return older


@pytest.mark.slow
def test_an_old_python3_is_refused_in_one_line_not_a_syntax_error(tmp_path):
    """README: "A python3 older than 3.11 is refused at once with one line saying so". On RHEL
    8's and Ubuntu 18.04's python3 (3.6) it was a SyntaxError (tasks.py's
    `from __future__ import annotations`, its f-strings): Python compiles the whole file before
    the version check can run."""
    pythons = _older_pythons()
    if not pythons:
        pytest.skip("no python3 older than 3.11 on this machine")
    shutil.copy(ROOT / "tasks.py", tmp_path / "tasks.py")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for python in pythons:
        done = subprocess.run(
            [python, "tasks.py", "serve"], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2, (python, done.stderr)
        assert done.stderr.startswith("tasks.py: roadmap-guard needs Python 3.11 or later"), (
            python,
            done.stderr,
        )
        assert done.stderr.count("\n") == 1 and done.stdout == ""
        assert not (tmp_path / ".venv").exists()


def test_tasks_py_uses_no_syntax_an_old_python3_cannot_compile():
    """The same promise on a machine with no old python to run: none of the syntax that made
    3.6 (or 3.4, 3.5) fail to compile the file."""
    tree = ast.parse((ROOT / "tasks.py").read_text())
    newer = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            newer.append(f"line {node.lineno}: an f-string (3.6)")
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            newer += [f"line {node.lineno}: from __future__ import {a.name}" for a in node.names]
        elif isinstance(node, ast.AnnAssign):
            newer.append(f"line {node.lineno}: a variable annotation (3.6)")
        elif isinstance(node, ast.FunctionDef) and (
            node.returns is not None
            or any(a.annotation is not None for a in node.args.args + node.args.kwonlyargs)
        ):
            newer.append(f"line {node.lineno}: annotations (list[str] needs 3.9)")
        elif isinstance(node, ast.List | ast.Tuple | ast.Set) and any(
            isinstance(e, ast.Starred) for e in node.elts
        ):
            newer.append(f"line {node.lineno}: unpacking in a literal (3.5)")
    assert newer == []


def test_tasks_py_still_refuses_an_old_python_before_making_anything(monkeypatch, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("roadmap_guard_tasks_r8", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    monkeypatch.setattr(tasks, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(tasks.sys, "version_info", (3, 6, 15, "final", 0))
    assert tasks.main(["test"]) == 2
    err = capsys.readouterr().err
    assert "is 3.6: run this with a newer one, e.g. `python3.11 tasks.py test`" in err
    assert not (tmp_path / ".venv").exists()
    assert tasks.pytest_args(["-q"]) == ["-n", "auto", "-q"]


def _load_tasks(monkeypatch, venv: Path, *, windows: bool):
    import importlib.util

    spec = importlib.util.spec_from_file_location("roadmap_guard_tasks_r8", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    monkeypatch.setattr(tasks, "VENV", venv)
    monkeypatch.setattr(tasks, "BIN", venv / ("Scripts" if windows else "bin"))
    monkeypatch.setattr(tasks, "WINDOWS", windows, raising=False)
    return tasks


@pytest.mark.skipif(os.name == "nt", reason="a shell-script stand-in for the venv's python.exe")
def test_a_windows_venv_is_found_by_its_python_exe_and_not_made_again(monkeypatch, tmp_path):
    """On Windows a venv's interpreter is Scripts\\python.exe: tasks.py looked for
    Scripts\\python, never found it, and so cleared the .venv and installed everything again
    (pip, the project, its dev extras: minutes, and the network) at every `tasks.py serve`."""
    import hashlib

    venv = tmp_path / ".venv"
    tasks = _load_tasks(monkeypatch, venv, windows=True)
    tasks.BIN.mkdir(parents=True)
    python = tasks.BIN / "python.exe"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".roadmap-guard-installed").write_text(digest)
    real_run = subprocess.run
    calls: list[list[str]] = []

    def run(cmd, *args, **kwargs):
        if str(cmd[0]) == str(python):
            return real_run(cmd, *args, **kwargs)  # the real check, in the venv's python.exe
        calls.append([str(c) for c in cmd])
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(tasks.subprocess, "run", run)
    tasks.ensure_venv()
    assert calls == []  # nothing made or installed: the venv works and its stamp is current

    launched = []
    monkeypatch.setattr(tasks.subprocess, "call", lambda cmd, **kw: launched.append(cmd) or 0)
    monkeypatch.setattr(tasks.os, "chdir", lambda path: None)
    assert tasks.main(["test", "-q"]) == 0
    assert launched[-1][:4] == [str(python), "-m", "pytest", "-n"]
    assert tasks.main(["serve"]) == 0
    assert launched[-1] == [str(tasks.BIN / "roadmap-guard.exe"), "serve"]


# --- docs/operations.md: backups and rotating secrets -----------------------------------------


def _operations_section(title: str) -> str:
    text = (ROOT / "docs" / "operations.md").read_text()
    assert f"\n### {title}\n" in text, f"docs/operations.md has no section {title!r}"
    return text.split(f"\n### {title}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


@pytest.mark.slow
def test_the_documented_sqlite_backup_copies_a_database_being_written(tmp_path):
    """docs/operations.md had no word on backups (nor upgrades, nor rotating secrets). Its
    SQLite command, run as written from the repository root while the service writes, gives a
    complete, consistent copy: the commits still only in the -wal file included."""
    import sqlite3
    import threading

    from sqlalchemy import text

    from app.db import make_engine

    section = _operations_section("Backups")
    command = next(line for line in section.splitlines() if line.startswith(".venv/bin/python -c "))
    (tmp_path / "data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'roadmap-guard.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
    committed = []
    stop = threading.Event()

    def write() -> None:  # the running service: commits, never checkpointed by a close
        n = 0
        while not stop.is_set():
            n += 1
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO t (body) VALUES (:b)"), {"b": "x" * 500})
            committed.append(n)

    holder = engine.connect()  # an open connection keeps the -wal file in use
    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(committed) < 200:
            stop.wait(0.01)
        before = len(committed)
        assert (tmp_path / "data" / "roadmap-guard.db-wal").stat().st_size > 0
        done = subprocess.run(
            command.replace(".venv/bin/python", sys.executable, 1),
            shell=True,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        stop.set()
        writer.join()
        holder.close()
        engine.dispose()
    assert done.returncode == 0, done.stderr
    backup = sqlite3.connect(tmp_path / "roadmap-guard-backup.db")
    try:
        assert backup.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert backup.execute("SELECT count(*) FROM t").fetchone()[0] >= before
    finally:
        backup.close()


def test_every_secret_setting_has_its_rotation_written_down():
    from app.settings import Settings

    section = _operations_section("Rotating secrets and keys")
    secrets = [
        name.upper()
        for name, field in Settings.model_fields.items()
        if "SecretStr" in str(field.annotation)
    ]
    assert secrets
    missing = [name for name in secrets if f"`{name}`" not in section]
    assert missing == [], "docs/operations.md, Rotating secrets and keys: " + ", ".join(missing)
    for step in ("apikey create", "apikey revoke", "ALTER ROLE"):
        assert step in section


def test_the_upgrade_steps_name_the_commands_that_do_them():
    section = _operations_section("Upgrades")
    for step in ("python3 tasks.py serve", "roadmap-guard migrate", "/readyz", "setup hubspot"):
        assert step in section, step


# --- serve: a Salesforce Outbound Message route configured by halves --------------------------


@pytest.mark.parametrize("worker_mode", ["off", "embedded"])
def test_serve_refuses_an_outbound_token_without_the_org_id_it_checks(
    worker_mode, monkeypatch, tmp_path, capsys
):
    """SALESFORCE_OUTBOUND_TOKEN alone started `serve`, and every Outbound Message then got a
    503 fault (the route needs SALESFORCE_ORG_ID too), retried by Salesforce for 24 hours and
    dropped; README's table did not say the two go together."""
    import uvicorn

    from app.cli import main

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.append(kwargs))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("WORKER_MODE", worker_mode)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", "00D!access-token-value")
    monkeypatch.setenv("SALESFORCE_OUTBOUND_TOKEN", "outbound-s3cret")
    assert main(["migrate"]) == 0  # the commands that receive nothing run
    capsys.readouterr()
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "invalid configuration: SALESFORCE_OUTBOUND_TOKEN is set but SALESFORCE_ORG_ID is not"
    )
    assert err.count("\n") == 1 and "outbound-s3cret" not in err and served == []
    monkeypatch.setenv("SALESFORCE_ORG_ID", "00D000000000001")
    monkeypatch.setenv("INSTALL_DEFAULT_RULES", "false")
    assert main(["serve"]) == 0
    assert len(served) == 1


def test_the_readme_says_the_outbound_token_needs_the_org_id():
    readme = (ROOT / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `SALESFORCE_ORG_ID` |"))
    assert "SALESFORCE_OUTBOUND_TOKEN" in row


# --- a command against a database an upgrade has not migrated yet ------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    from tests.conftest import PG_URL, scratch_pg_database

    if not PG_URL:
        pytest.skip("TEST_POSTGRES_URL is not set")
    with scratch_pg_database("rg_fresh_r8") as url:
        yield url


def test_a_command_on_a_database_behind_the_release_says_to_migrate(
    database_url, monkeypatch, tmp_path, capsys
):
    """After updating the checkout (or the image), `apikey list` or `apikey create` run before
    `roadmap-guard migrate` stopped with "cannot use the database at ...: no such column:
    api_key.active_name": nothing said the release's migrations had not run."""
    from alembic import command

    from app.cli import main
    from app.migrate import alembic_config, head_revision

    command.upgrade(alembic_config(database_url), "0016")  # before deal_queue.priority (0017)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    for args in (["apikey", "list"], ["apikey", "create", "--role", "admin", "--name", "me"]):
        assert main(args) == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith(
            f"error: the database is at migration 0016 and this release needs {head_revision()} ("
        ), err
        assert "run `roadmap-guard migrate` (serve migrates by itself); this is the " in err
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert main(["apikey", "list"]) == 0


def test_a_worker_of_a_new_release_does_not_start_before_its_migrations_ran(
    database_url, monkeypatch, tmp_path, capsys
):
    """A scale-out upgrade: a worker of the new release started before `roadmap-guard migrate`
    ran, claimed deals and failed each on the old schema (a new column) until they went dead.
    A worker of the old release on a newer database still runs (a rolling upgrade)."""
    from alembic import command

    from app.cli import main
    from app.migrate import _scripts, alembic_config, head_revision

    head = head_revision()
    previous = _scripts().get_revision(head).down_revision
    command.upgrade(alembic_config(database_url), previous)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("WORKER_MODE", "off")
    assert main(["worker", "--burst"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: the database is at migration {previous} and this release needs {head}: "
        "run `roadmap-guard migrate` before starting its workers"
    )
    assert main(["migrate"]) == 0
    assert main(["worker", "--burst"]) == 0
    assert "claimed 0 deals" in capsys.readouterr().out


def test_the_quick_start_says_how_to_sign_in_to_the_dashboard_on_plain_http():
    """The quick start sends a new engineer to http://127.0.0.1:8000/dashboard, whose sign-in
    cookie is Secure by default: Safari drops such a cookie on plain HTTP (even on a loopback
    address), and the sign-in page came back each time with nothing said."""
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "COOKIE_SECURE=false" in quick_start and "Safari" in quick_start


# --- DATABASE_URL with an '@' in its password -------------------------------------------------


def test_a_database_password_with_an_at_sign_is_refused_without_showing_it(
    monkeypatch, tmp_path, capsys
):
    """`postgresql://roadmap:s3cr@tXYZ@db/roadmap` (a generated password with an '@') was read
    as password "s3cr" on host "tXYZ@db": every command failed on a name lookup, in a line
    that printed the rest of the password after the "***"."""
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", "postgresql://roadmap:s3cr@tXYZ@127.0.0.1:1/roadmap")
    with pytest.raises(SystemExit) as stopped:
        main(["queue"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("invalid configuration: DATABASE_URL: has an '@' in its password")
    assert "%40" in err and "PGPASSWORD" in err
    assert "tXYZ" not in err and "s3cr" not in err and err.count("\n") == 1
    # written as the line says, it is the password it was meant to be
    from app.settings import Settings

    settings = Settings(
        _env_file=None, database_url="postgresql://roadmap:s3cr%40tXYZ@127.0.0.1:1/roadmap"
    )
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    assert (url.password, url.host) == ("s3cr@tXYZ", "127.0.0.1")


# --- the API overview's examples, sent as written ---------------------------------------------


def test_the_api_overviews_misspelt_filter_example_is_what_the_api_answers(make_app, api_key):
    """README showed `unknown query parameter 'avail'; did you mean 'availability'?`, but
    'avail' is too far from 'availability' for a suggestion: the answer lists the allowed
    names instead. The example is now a misspelling the API does name."""
    import re

    from fastapi.testclient import TestClient

    readme = " ".join((ROOT / "README.md").read_text().split())
    found = re.search(r"`(unknown query parameter '(\w+)'; did you mean '(\w+)'\?)`", readme)
    assert found, "README has no misspelt-filter example"
    example, misspelt, meant = found.groups()
    with TestClient(make_app(connectors={})) as web:
        answer = web.get(f"/api/v1/features?{misspelt}=available", headers=api_key("viewer"))
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == f"query.{misspelt}: {example}"
    assert meant == "availability"


# --- tasks.py test: the suite does not run with the shell's settings --------------------------


def test_tasks_py_knows_every_setting_the_service_reads():
    from app.settings import Settings

    tasks = _load_tasks_module()
    assert set(tasks.setting_names()) == {name.upper() for name in Settings.model_fields}


def _load_tasks_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("roadmap_guard_tasks_r8e", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    return tasks


@pytest.mark.skipif(os.name == "nt", reason="exec is POSIX")
def test_the_suite_runs_without_the_settings_exported_in_the_shell(monkeypatch, capsys):
    """README's scale-out block says `export DATABASE_URL=...`, and direnv exports a `.env`:
    with the service's settings in the shell, `python3 tasks.py test` failed 19 tests of
    tests/test_cli.py and tests/test_settings.py alone, and the `serve` those tests start
    got the real HUBSPOT_ACCESS_TOKEN: its schedules read the portal's deals and wrote back."""
    tasks = _load_tasks_module()
    monkeypatch.setattr(tasks, "ensure_venv", lambda: None)
    monkeypatch.setattr(tasks.os, "chdir", lambda path: None)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-real-token-value")
    monkeypatch.setenv("hubspot_client_secret", "real-client-secret")  # read case-insensitively
    monkeypatch.setenv("DATABASE_URL", "postgresql://roadmap@db/roadmap")
    monkeypatch.setenv("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("ROADMAP_SOURCE_JIRA_TOKEN", "kept: a source's, not a setting")
    started = []

    def execve(program, args, env):
        started.append((program, args, env))

    def execv(program, args):
        started.append((program, args, dict(os.environ)))

    monkeypatch.setattr(tasks.os, "execve", execve, raising=False)
    monkeypatch.setattr(tasks.os, "execv", execv)
    tasks.main(["test", "-q"])
    program, args, env = started[-1]
    assert args[1:4] == ["-m", "pytest", "-n"]
    for name in ("HUBSPOT_ACCESS_TOKEN", "hubspot_client_secret", "DATABASE_URL"):
        assert name not in env, name
    assert env["TEST_POSTGRES_URL"] == "postgresql://postgres@127.0.0.1:5432/test"
    assert env["PATH"] == os.environ["PATH"] and "ROADMAP_SOURCE_JIRA_TOKEN" in env
    err = capsys.readouterr().err
    assert "DATABASE_URL" in err and "HUBSPOT_ACCESS_TOKEN" in err
    assert "real-token" not in err and "real-client-secret" not in err and "roadmap@db" not in err
    # serve, demo: the operator's environment is what they run with
    tasks.main(["serve"])
    assert started[-1][2]["HUBSPOT_ACCESS_TOKEN"] == "pat-na1-real-token-value"


# --- serve: HubSpot's secret without the URL HubSpot signs ------------------------------------


@pytest.mark.parametrize("public_base_url", [None, "https://rg.example.com"])
def test_serve_warns_when_hubspot_deliveries_are_checked_against_the_default_url(
    public_base_url, monkeypatch, tmp_path, capsys
):
    """A production `serve` with HUBSPOT_CLIENT_SECRET but PUBLIC_BASE_URL left at its default
    checked every delivery's v3 signature against http://localhost:8000/webhooks/hubspot and
    refused it (401), HubSpot retrying for three days; the start-up log said nothing."""
    import json

    import uvicorn

    from app.cli import main

    monkeypatch.chdir(tmp_path)
    for name, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "WORKER_MODE": "off",
        "LOG_FORMAT": "json",
        "INSTALL_DEFAULT_RULES": "false",
        "HUBSPOT_ACCESS_TOKEN": "pat-na1-secret-token",
        "HUBSPOT_CLIENT_SECRET": "client-secret-value",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    if public_base_url:
        monkeypatch.setenv("PUBLIC_BASE_URL", public_base_url)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.setattr("app.main.tune_garbage_collector", lambda threshold: None)
    assert main(["serve", "--port", "8124"]) == 0
    err = capsys.readouterr().err
    warned = [
        json.loads(x) for x in err.splitlines() if x.startswith("{") and "PUBLIC_BASE_URL" in x
    ]
    assert "client-secret-value" not in err
    if public_base_url:
        assert warned == []
    else:
        [line] = warned
        assert line["level"] == "warning"
        assert "http://localhost:8000/webhooks/hubspot" in line["event"]


def test_the_error_body_readme_shows_is_what_a_route_answers(make_app, api_key):
    """README promised `{"error": {"code", "message", "details"}}` on every error; a 404 or
    a 401 has no `details` key at all, so a client reading `body["error"]["details"]` broke."""
    from fastapi.testclient import TestClient

    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "`details` only where there is more to say" in readme
    with TestClient(make_app(connectors={})) as web:
        missing = web.get("/api/v1/no-such-route", headers=api_key("viewer")).json()
        unauthenticated = web.get("/api/v1/exposure").json()
        invalid = web.get("/api/v1/deals?limit=0", headers=api_key("viewer")).json()
    assert set(missing["error"]) == {"code", "message"}
    assert set(unauthenticated["error"]) == {"code", "message"}
    assert invalid["error"]["details"][0]["path"] == "query.limit"


def test_the_operator_api_table_says_healthz_fails_with_a_stuck_embedded_worker():
    """docs/operations.md's Operator API table called /healthz "the process answers", while
    with `serve`'s embedded worker it answers 503 once that worker stops (an orchestrator
    reading the table would not expect the image's HEALTHCHECK to restart the container)."""
    text = (ROOT / "docs" / "operations.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `GET /healthz` |"))
    assert "503" in row and "embedded worker" in row


def test_a_command_run_from_the_wrong_folder_names_the_database_it_opened(
    monkeypatch, tmp_path, capsys
):
    """`.venv/bin/roadmap-guard apikey create` run from another folder than serve's opened
    (and made) ./data/roadmap-guard.db there and said only "the database is not migrated":
    run `migrate` as told, the key went into that new file and the service refused it (401)."""
    from app.cli import main

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["apikey", "create", "--role", "admin", "--name", "me"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the database is not migrated (no such table: api_key)")
    assert err.rstrip().endswith(
        f"this is the database at sqlite:///{elsewhere / 'data' / 'roadmap-guard.db'}"
    )


def test_the_quick_start_says_where_to_run_the_cli_from():
    readme = " ".join((ROOT / "README.md").read_text().split())
    quick_start = readme.split("## Quick start", 1)[1].split(" ## ", 1)[0]
    assert "Make yourself an API key (printed once; stored hashed), from the repository root" in (
        quick_start
    )
