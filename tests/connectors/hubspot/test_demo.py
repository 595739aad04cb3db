"""`roadmap-guard demo --once`: the newcomer's walkthrough runs to the end and shows the guard."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from sqlmodel import Session

from app.db import make_engine
from app.migrate import at_head
from app.security import authenticate

pytestmark = pytest.mark.slow


def test_demo_once_exits_0_and_prints_the_revert(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "demo", "--once", "--database", "demo.db"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "closed-won guard (revert) moved it back to" in result.stdout
    assert "came back as webhooks and were ignored: [200]" in result.stdout
    # The demo's database is migrated, not built with create_all: /readyz is ready ...
    assert "readyz: ok\n" in result.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    assert at_head(engine)
    # ... and it prints, once, an admin key of its own database for exploring the API
    keys = re.findall(
        r"admin API key for exploring \(shown only this once\): (rg_\S+)", result.stdout
    )
    assert len(keys) == 1
    with Session(engine) as s:
        assert authenticate(s, keys[0]).role == "admin"
    # the command as this machine runs it (the script's path, not a bare name off PATH)
    assert re.search(
        r"DATABASE_URL=sqlite:///demo\.db \S*roadmap-guard(?:\.exe)? apikey create|"
        r"DATABASE_URL=sqlite:///demo\.db \S+ -m app\.cli apikey create",
        result.stdout,
    ), result.stdout
    engine.dispose()
