"""tasks.py, the one-command set-up: it repairs a half-made .venv and hands the process over to
the command (exec), so a SIGTERM sent to `python3 tasks.py serve` reaches the service."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_tasks(monkeypatch, venv: Path):
    spec = importlib.util.spec_from_file_location("roadmap_guard_tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    monkeypatch.setattr(tasks, "VENV", venv)
    monkeypatch.setattr(tasks, "BIN", venv / ("Scripts" if os.name == "nt" else "bin"))
    return tasks


def test_a_half_made_venv_without_pip_is_recreated(monkeypatch, tmp_path):
    venv = tmp_path / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    tasks = _load_tasks(monkeypatch, venv)
    real_run = subprocess.run
    calls: list[list[str]] = []

    def run(cmd, *args, **kwargs):
        if cmd[1] == "-c":
            return real_run(cmd, *args, **kwargs)  # the real check: this venv has no pip
        calls.append([str(c) for c in cmd])
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(tasks.subprocess, "run", run)
    assert tasks.venv_works() is False
    tasks.ensure_venv()
    assert calls[0][1:] == ["-m", "venv", "--clear", str(venv)]
    assert any("install" in c for c in calls[1:])


def test_a_working_venv_with_a_current_stamp_is_left_alone(monkeypatch, tmp_path):
    venv = tmp_path / ".venv"
    tasks = _load_tasks(monkeypatch, venv)
    tasks.BIN.mkdir(parents=True)
    (tasks.BIN / "python").write_text("")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".roadmap-guard-installed").write_text(digest)
    calls = []

    def run(cmd, *args, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)  # the check passes

    monkeypatch.setattr(tasks.subprocess, "run", run)
    tasks.ensure_venv()
    assert [c[1] for c in calls] == ["-c"]  # only the check: nothing is installed


@pytest.mark.skipif(os.name == "nt", reason="exec and SIGTERM are POSIX")
def test_serve_execs_so_sigterm_reaches_the_service(tmp_path):
    # A copy of tasks.py over a .venv whose roadmap-guard is a stand-in that records its pid
    # and the signal it receives.
    shutil.copy(ROOT / "tasks.py", tmp_path / "tasks.py")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    digest = hashlib.sha256((tmp_path / "pyproject.toml").read_bytes()).hexdigest()
    (tmp_path / ".venv" / ".roadmap-guard-installed").write_text(digest)
    service = bin_dir / "roadmap-guard"
    service.write_text(
        f"#!{sys.executable}\n"
        "import os, signal, sys, time\n"
        "def stop(*_):\n"
        "    open('stopped', 'w').write('SIGTERM'); sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        "open('pid', 'w').write(f'{os.getpid()} {sys.argv[1:]}')\n"
        "time.sleep(60)\n"
    )
    service.chmod(0o755)
    proc = subprocess.Popen([sys.executable, "tasks.py", "serve", "--port", "1"], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        pid, argv = (tmp_path / "pid").read_text().split(" ", 1)
        assert int(pid) == proc.pid  # the same process: no child left behind
        assert argv == "['serve', '--port', '1']"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert (tmp_path / "stopped").read_text() == "SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("rest", "expected"),
    [
        ([], ["-n", "auto"]),
        (["tests/rules", "-q"], ["-n", "auto", "tests/rules", "-q"]),
        (["-m", "not slow"], ["-n", "auto", "-m", "not slow"]),
        (["-n", "0"], ["-n", "0"]),
        (["-n4", "tests"], ["-n4", "tests"]),
        (["--numprocesses=3"], ["--numprocesses=3"]),
        (["--pdb", "tests/test_db.py"], ["--pdb", "tests/test_db.py"]),
        (["-p", "no:xdist"], ["-p", "no:xdist"]),
        (["-s"], ["-s"]),
    ],
)
def test_the_suite_runs_on_every_core_unless_told_otherwise(monkeypatch, tmp_path, rest, expected):
    tasks = _load_tasks(monkeypatch, tmp_path / ".venv")
    assert tasks.pytest_args(rest) == expected


def test_an_older_python_is_refused_in_one_line_before_anything_is_made(
    monkeypatch, tmp_path, capsys
):
    """`python3 tasks.py serve` on a machine whose python3 is 3.10 (Ubuntu 22.04's) made a
    .venv of it, then ended in pip's "requires a different Python" and a traceback."""
    tasks = _load_tasks(monkeypatch, tmp_path / ".venv")
    calls = []
    monkeypatch.setattr(tasks.subprocess, "run", lambda cmd, *a, **k: calls.append(cmd))
    monkeypatch.setattr(tasks.sys, "version_info", (3, 10, 13, "final", 0))
    assert tasks.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tasks.py: roadmap-guard needs Python 3.11 or later, and ")
    assert "is 3.10" in err and "python3.11 tasks.py serve" in err and err.count("\n") == 1
    assert calls == [] and not (tmp_path / ".venv").exists()


def test_the_minimum_python_is_pyprojects():
    import tomllib

    spec = importlib.util.spec_from_file_location("roadmap_guard_tasks", ROOT / "tasks.py")
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires == ">={}.{}".format(*tasks.MIN_PYTHON)


@pytest.mark.skipif(os.name == "nt", reason="a shell-script stand-in for the venv's python")
def test_a_venv_of_a_python_older_than_required_is_recreated(monkeypatch, tmp_path):
    """A .venv left by an older python3 (made before the check above, or by hand) was kept,
    since it had pip: every later run, with a new enough python, failed in it again until the
    operator found and deleted it. Its python's version is now part of "the venv works"."""
    venv = tmp_path / ".venv"
    tasks = _load_tasks(monkeypatch, venv)
    tasks.BIN.mkdir(parents=True)
    python = tasks.BIN / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')  # this python, with pip
    python.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".roadmap-guard-installed").write_text(digest)
    monkeypatch.setattr(tasks, "MIN_PYTHON", tuple(sys.version_info[:2]))
    assert tasks.venv_works() is True
    monkeypatch.setattr(tasks, "MIN_PYTHON", (sys.version_info[0], sys.version_info[1] + 1))
    assert tasks.venv_works() is False
    real_run = subprocess.run
    calls: list[list[str]] = []

    def run(cmd, *args, **kwargs):
        if str(cmd[0]) == str(python):
            return real_run(cmd, *args, **kwargs)  # the real check, in the venv's python
        calls.append([str(c) for c in cmd])
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(tasks.subprocess, "run", run)
    tasks.ensure_venv()  # although its stamp is current
    assert calls[0][1:] == ["-m", "venv", "--clear", str(venv)]


def test_a_failed_install_is_one_line_saying_what_failed(monkeypatch, tmp_path, capsys):
    tasks = _load_tasks(monkeypatch, tmp_path / ".venv")

    def run(cmd, *args, **kwargs):
        if "install" in cmd and kwargs.get("check"):
            raise subprocess.CalledProcessError(1, cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(tasks.subprocess, "run", run)
    monkeypatch.setattr(tasks, "venv_works", lambda: True)
    assert tasks.main(["serve"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tasks.py: setting up {tmp_path / '.venv'} failed: ")
    assert "pip --disable-pip-version-check -q install --upgrade pip` exited with 1" in err
    assert err.count("\n") == 1


def test_the_usage_lists_every_command_tasks_takes(capsys, monkeypatch, tmp_path):
    tasks = _load_tasks(monkeypatch, tmp_path / ".venv")
    assert tasks.main([]) == 2
    usage = capsys.readouterr().out
    for command in ("serve", "demo", "test", "setup"):
        assert f"python3 tasks.py {command} " in usage, command
