"""A bad setting stops start-up with one clear line naming the variable, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.cli import main


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKER_MODE", "sideways"),
        ("WORKER_BATCH_SIZE", "0"),
        ("LEASE_SECONDS", "soon"),
        ("DATABASE_URL", "mysql://db/roadmap"),
        ("LOG_FORMAT", "xml"),
        ("SALESFORCE_API_VERSION", "v61"),
        ("SALESFORCE_API_VERSION", "52.0"),
    ],
)
def test_a_bad_value_stops_with_one_line_naming_the_variable(
    variable, value, monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exc:
        main(["queue"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"invalid configuration: {variable}:")


def test_a_cross_field_mistake_names_both_variables(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("BACKOFF_BASE_SECONDS", "30")
    monkeypatch.setenv("BACKOFF_CAP_SECONDS", "10")
    with pytest.raises(SystemExit) as exc:
        main(["migrate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "BACKOFF_CAP_SECONDS" in err and "BACKOFF_BASE_SECONDS" in err
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_the_console_entry_point_exits_2_on_a_bad_setting(tmp_path):
    env = {**os.environ, "WORKER_MODE": "sideways", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invalid configuration: WORKER_MODE:")
