"""Review round 8 of the long-work commands: `rules simulate` on the CLI."""

from __future__ import annotations

import json
import sqlite3
import threading

from app.cli import main
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
