"""Review round 8 of the command line: `rules simulate`, `apikey`, `backfill`, `migrate`, `serve`."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from sqlmodel import Session, select

from app.cli import main
from app.models import ApiKey
from app.settings import get_settings
from tests.api.test_simulate import BETA_WARN, seed


def test_cli_simulate_reads_while_another_process_writes(sqlite_engine, tmp_path, monkeypatch):
    """`rules simulate` "writes nothing", yet it opened every read as a write transaction
    (SQLite's BEGIN IMMEDIATE): while the worker or an API process held a long write (a
    roadmap edit's fan-out) it waited for it, 30 s per chunk of deals, then stopped with
    "database is locked", and each of its reads held webhooks up. It reads as the API's
    simulation does: beside the writer (WAL)."""
    seed(sqlite_engine)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps([BETA_WARN]))
    url = sqlite_engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    writer = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's write transaction, held
    writer.execute("UPDATE deal SET name = name")
    codes: list[int] = []
    run = threading.Thread(
        target=lambda: codes.append(main(["rules", "simulate", "--file", str(draft)])),
        daemon=True,
    )
    try:
        run.start()
        run.join(timeout=10)
        finished = not run.is_alive()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        run.join(timeout=60)
        get_settings.cache_clear()
    assert finished, "the simulation waited for another process's write"
    assert codes == [0]


@pytest.fixture
def db(cli_db):
    return cli_db  # (tests/conftest.py)


@pytest.mark.parametrize("name", ["k" * 201, "k" * 250, "ß" * 150])  # ß folds to "ss": 300
def test_apikey_create_refuses_a_name_the_admin_api_refuses(db, capsys, name):
    """The CLI took names of up to 255 characters; the admin API 200 (case-folded too). A key
    named with 250 made every later write of that key fail on PostgreSQL: its actor
    "<role>:<name>" overflowed the audit log's 255-character columns."""
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["apikey", "create", "--role", "admin", "--name", name])
    assert "the key's name must be at most 200 characters" in capsys.readouterr().err
    with Session(db) as s:
        assert s.exec(select(ApiKey)).all() == []
    assert main(["apikey", "create", "--role", "admin", "--name", "k" * 200]) == 0


def _list_pages(monkeypatch, pages, then=None):
    """`backfill test` lists these pages ((ids, total) each), then raises `then` if given."""
    from app.connectors.base import DealIdPage
    from app.connectors.testcrm import TestCrmConnector

    def open_deal_ids(self):
        for ids, total in pages:
            yield DealIdPage(ids=ids, total=total)
        if then is not None:
            raise then

    monkeypatch.setattr(TestCrmConnector, "open_deal_ids", open_deal_ids)


def _last_bar(err: str) -> str:
    return [part for part in err.replace("\n", "\r").split("\r") if part.strip()][-1]


def test_backfill_progress_follows_deals_created_or_closed_during_the_run(db, capsys, monkeypatch):
    """The bar's total is the CRM's count at the first page. HubSpot lists deals created
    during the run too, and the bar went past its total (5003/5000); deals closed meanwhile
    are not listed, and it stopped short (4996/5000). The total now rises with the count, and
    the bar ends at what was listed."""
    _list_pages(monkeypatch, [(["A1", "A2"], 3), (["A3", "A4"], 3), (["A5"], 3)])
    capsys.readouterr()
    assert main(["backfill", "test"]) == 0
    out, err = capsys.readouterr()
    assert "queued 5 open test deals (5 listed)" in out
    assert "4/3" not in err and "5/3" not in err
    assert "5/5" in _last_bar(err)

    _list_pages(monkeypatch, [(["B1", "B2"], 10), (["B3", "B4"], 10)])
    assert main(["backfill", "test"]) == 0
    err = capsys.readouterr().err
    assert "4/4" in _last_bar(err) and "/10" not in _last_bar(err)


def test_backfill_says_how_many_deals_open_here_the_crm_did_not_list(db, capsys, monkeypatch):
    """The backfill queues the deals open here that the CRM left out (deleted or closed there
    while their webhook was lost): the summary said nothing of them."""
    from app.models import Deal

    with Session(db) as s:
        s.add(Deal(crm="test", deal_id="GONE", name="Gone"))
        s.commit()
    _list_pages(monkeypatch, [(["A1"], 1)])
    capsys.readouterr()
    assert main(["backfill", "test"]) == 0
    out = capsys.readouterr().out
    assert "queued 1 open test deals (1 listed) and 1 open here that test did not list" in out


def test_ctrl_c_during_a_backfill_says_what_was_queued_not_a_traceback(db, capsys, monkeypatch):
    """Ctrl-C printed a traceback; each page is committed as it is listed, so what was queued
    stays queued, and a second run goes on. Exit 130, as a shell reports an interrupt."""
    from app.models import DealQueue

    _list_pages(monkeypatch, [(["A1", "A2"], 4)], then=KeyboardInterrupt())
    capsys.readouterr()
    assert main(["backfill", "test"]) == 130
    err = capsys.readouterr().err
    assert "stopped after queueing 2 deals (interrupted). Run it again to go on" in err
    assert "Traceback" not in err
    with Session(db) as s:
        assert sorted(r.deal_id for r in s.exec(select(DealQueue))) == ["A1", "A2"]


def _set_revision(engine, revision: str) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_migrate_on_a_database_a_newer_release_migrated_says_so_and_does_nothing(db, capsys):
    """A rolling upgrade migrates first: the previous release's `migrate` then printed
    "migrating the database from 0099 to 0026", then "database at revision 0099"."""
    from app.migrate import current_revision, head_revision

    _set_revision(db, "0099")
    capsys.readouterr()
    assert main(["migrate"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"the database is at a newer migration (0099) than this release ({head_revision()}): "
        "nothing migrated; finish rolling out the new release (or downgrade the database with "
        "it)"
    ]
    assert err == ""
    assert current_revision(db) == "0099"


def test_another_applications_database_is_one_line_not_a_traceback(monkeypatch, tmp_path, capsys):
    """DATABASE_URL naming another application's database (its own alembic revision, none of
    our tables): `migrate` and `serve` ended in a traceback of app/migrate.py's RuntimeError."""
    import uvicorn

    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    other.execute("INSERT INTO alembic_version VALUES ('abc123def456')")
    other.commit()
    other.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("WORKER_MODE", "off")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: pytest.fail("served"))
    for argv in (["migrate"], ["serve"]):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert err == (
            "error: the database is at migration 'abc123def456', which is not roadmap-guard's "
            "and has none of its tables: DATABASE_URL names another application's database "
            f"(this is the database at sqlite:///{path})\n"
        ), argv
        assert "migrating the database" not in out


def test_apikey_revoke_records_the_key_as_it_was_before(db, capsys, monkeypatch):
    """The audit entry of a CLI revocation had no `before`: which key (name, role, prefix) it
    had been was only in `after`, unlike the admin API's revoke."""
    import re

    from app.models import AuditLog

    monkeypatch.setenv("USER", "dana")
    assert main(["apikey", "create", "--role", "revops", "--name", "ops bot"]) == 0
    key_id = int(re.search(r"created API key (\d+)", capsys.readouterr().out).group(1))
    with Session(db) as s:
        prefix = s.get(ApiKey, key_id).prefix
    assert main(["apikey", "revoke", str(key_id)]) == 0
    with Session(db) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "api_key.revoke")).one()
    assert entry.actor == "cli:dana"
    assert entry.before is not None
    assert (entry.before["name"], entry.before["role"], entry.before["prefix"]) == (
        "ops bot",
        "revops",
        prefix,
    )
    assert entry.before["revoked_at"] is None and entry.after["revoked_at"] is not None
    assert {k: v for k, v in entry.after.items() if k != "revoked_at"} == {
        k: v for k, v in entry.before.items() if k != "revoked_at"
    }


def test_roadmap_commands_record_the_os_user_as_every_cli_command_does(db, tmp_path, monkeypatch):
    """`mappings import` and `roadmap refresh` recorded a bare "cli" as the actor; `apikey`,
    `replay-dead` and `backfill` record "cli:<OS user>": the audit log could not say who."""
    from app.models import AuditLog
    from app.services.features_service import FeatureCreate, create_feature

    with Session(db) as s:
        create_feature(s, FeatureCreate(key="sso", name="SSO"), actor="test")
        s.commit()
    csv_file = tmp_path / "mappings.csv"
    csv_file.write_text("match_kind,match_value,feature_keys\nsku,ENT-SSO,sso\n")
    monkeypatch.setenv("USER", "dana")
    get_settings.cache_clear()  # the roadmap commands read DATABASE_URL through it
    try:
        assert main(["mappings", "import", str(csv_file)]) == 0
    finally:
        get_settings.cache_clear()
    with Session(db) as s:
        actors = {a.actor for a in s.exec(select(AuditLog)) if a.actor != "test"}
    assert actors == {"cli:dana"}


def test_serve_port_0_asks_for_any_free_port_not_port_8000(db, monkeypatch):
    """`serve --port 0` was read as no --port: the service bound PORT (8000), silently."""
    import uvicorn

    seen: dict = {}
    monkeypatch.setenv("WORKER_MODE", "off")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    monkeypatch.setattr("app.main.tune_garbage_collector", lambda threshold: None)
    assert main(["serve", "--port", "0"]) == 0
    assert seen["port"] == 0
    assert main(["serve"]) == 0
    assert seen["port"] == 8000


@pytest.mark.slow
def test_serve_port_0_names_the_port_it_bound(db, tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    import httpx

    env = {**os.environ, "DATABASE_URL": str(db.url), "WORKER_MODE": "off"}
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    bound = None
    try:
        deadline = time.monotonic() + 60
        while bound is None and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line:
                break
            lines.append(line)
            bound = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line)
        assert bound, "".join(lines)[-2000:]
        port = int(bound.group(1))
        assert port not in (0, 8000)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise


def test_demo_says_how_to_make_more_keys_as_the_readme_runs_the_cli(tmp_path, monkeypatch):
    """The demo's hint printed a bare `roadmap-guard apikey create ...`, not on PATH on a fresh
    machine: the README's set-up installs into `.venv/`, and runs `.venv/bin/roadmap-guard`."""
    from pathlib import Path

    from app.sandbox import demo

    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "roadmap-guard").write_text("#!/bin/sh\n")
    monkeypatch.setattr(demo.sys, "executable", str(bin_dir / "python"))
    monkeypatch.chdir(tmp_path)
    readme = (
        "DATABASE_URL=sqlite:///data/demo.db .venv/bin/roadmap-guard apikey create "
        '--role viewer --name "someone"'
    )
    assert readme in (Path(__file__).parent.parent / "README.md").read_text()
    assert demo._more_keys_hint(Path("data/demo.db")) == readme
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # run from another folder: the script's full path
    assert f" {bin_dir}/roadmap-guard apikey create " in demo._more_keys_hint(Path("demo.db"))
    (bin_dir / "roadmap-guard").unlink()  # no script beside this Python: run the module
    assert f" {bin_dir}/python -m app.cli apikey create " in demo._more_keys_hint(Path("d.db"))
