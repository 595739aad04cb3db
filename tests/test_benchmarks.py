"""Every benchmark script still runs (at toy sizes): a script broken by a schema or API change
was found only when someone needed its figures. Nothing here reads or compares the timings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

RUNS = {
    "evaluate": ["--deals", "4", "--warmup", "2", "--features", "60", "--notes-kb", "2"],
    "reevaluate": ["--deals", "40", "--features", "60", "--line-items", "2", "--notes-kb", "1"],
    "exposure": ["--deals", "60", "--features", "40", "--requests", "2", "--only", "sqlite"],
    "ingest": ["--senders", "2", "--requests", "2", "--batch", "5"],
    "hubspot_calls": ["--deals", "20", "--batch", "10"],
    "salesforce_calls": ["--deals", "20", "--batch", "10", "--apex", "with"],
    "notes_worst_case": ["--sizes", "1,2", "--limit", "on"],
    "fanout_import": ["--features", "300", "--deals", "20", "--baseline-features", "5"],
    "body_checks": ["--runs", "1", "--mb", "0.2"],
}


def test_every_benchmark_script_is_covered():
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(RUNS)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_runs_at_toy_size(name):
    env = {k: v for k, v in os.environ.items() if k != "TEST_POSTGRES_URL"}  # SQLite only
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *RUNS[name]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "a benchmark prints its figures"
