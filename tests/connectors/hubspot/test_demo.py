"""`roadmap-guard demo --once`: the newcomer's walkthrough runs to the end and shows the guard."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
