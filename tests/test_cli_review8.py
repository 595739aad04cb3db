"""Review round 8 of the command line: `rules simulate`, `apikey`, `backfill`, `migrate`, `serve`."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from sqlmodel import Session, select

from app.cli import main
from app.db import make_engine
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
def db(monkeypatch, tmp_path):
    """A fresh SQLite database named by DATABASE_URL, migrated by the CLI itself."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["migrate"]) == 0
    engine = make_engine(url)
    yield engine
    engine.dispose()


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
