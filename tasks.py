#!/usr/bin/env python3
"""One-command set-up for a fresh machine that has only python3 and pip.

    python3 tasks.py serve   # create .venv, install, migrate, run the service (SQLite + embedded worker)
    python3 tasks.py demo    # the same, against the sandbox HubSpot, with sample deals
    python3 tasks.py test    # create .venv, install with test extras, run the whole suite
    python3 tasks.py setup   # only create and install .venv

The virtualenv is reinstalled only when pyproject.toml changes (a hash stamp in .venv), and
recreated when it is broken (a half-made .venv without a working pip) or made by a Python
older than 3.11. An older python3 is refused before anything is made. The command then
replaces this process (exec), so a signal sent to `tasks.py` (SIGTERM from a supervisor,
Ctrl-C) reaches `roadmap-guard serve` itself and it shuts down as it should.
Extra arguments are passed through: `python3 tasks.py test -m "not slow"`. The tests run on
every core (pytest-xdist, `-n auto`) unless the arguments say how (`-n 0`: one process; `--pdb`,
`-p no:xdist` likewise), and without the service's settings from this environment.
"""

# This file must compile on any Python 3, however old, so that an old python3 reaches the
# version check in `main` and is refused in one line: Python compiles the whole file before
# running any of it, and one f-string, `from __future__ import annotations` or `[*a, b]` made
# RHEL 8's and Ubuntu 18.04's python3 (3.6) stop with a SyntaxError instead. So: no f-strings,
# no annotations, no unpacking in literals (tests/test_fresh_review8.py holds this; ruff's
# pyupgrade would turn the .format calls back into f-strings).
# ruff: noqa: UP032

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
WINDOWS = os.name == "nt"
BIN = VENV / ("Scripts" if WINDOWS else "bin")
# pyproject.toml's requires-python (tests/test_tasks.py holds them equal).
MIN_PYTHON = (3, 11)


def venv_python():
    """The venv's interpreter: python.exe on Windows, where `Scripts\\python` never exists (the
    venv was taken for broken, and made and installed again, at every run)."""
    return BIN / ("python.exe" if WINDOWS else "python")


def venv_works():
    """The venv's python runs, is new enough and has pip (an interrupted `python -m venv`
    leaves no pip; a .venv made by an older python3 would fail every install again)."""
    if not venv_python().exists():
        return False
    check = "import sys, pip; sys.exit(sys.version_info[:2] < {!r})".format(tuple(MIN_PYTHON))
    try:
        done = subprocess.run([str(venv_python()), "-c", check], capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def ensure_venv():
    stamp = VENV / ".roadmap-guard-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    works = venv_works()
    if works and stamp.exists() and stamp.read_text() == digest:
        return
    if not works:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "--upgrade", "pip"], check=True)
    subprocess.run(pip + ["install", "-e", "{}[dev]".format(ROOT)], check=True)
    stamp.write_text(digest)


def pytest_args(rest):
    """`rest` with `-n auto` in front (the suite's CPU-bound half finishes in about half the
    time on two cores), unless it already says how many processes, or asks for what runs in
    one (a debugger, xdist switched off)."""
    own = ("-n", "--numprocesses", "--dist", "--pdb", "--trace", "-s")
    if any(a.startswith(own) or a == "no:xdist" for a in rest):
        return rest
    return ["-n", "auto"] + list(rest)


def setting_names():
    """The environment variables the service's settings read: the fields of app/settings.py's
    `Settings`, upper-cased (read from the source: this runs outside the venv)."""
    import ast

    tree = ast.parse((ROOT / "app" / "settings.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Settings":
            return sorted(
                statement.target.id.upper()
                for statement in node.body
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
            )
    return []


def suite_environment(environ):
    """`environ` without the service's settings, and the names it dropped. The suite sets
    what each test needs; one exported for the shell (README's `export DATABASE_URL=...`, a
    direnv `.env`) failed tests (19 in tests/test_cli.py and tests/test_settings.py alone), and
    a real HUBSPOT_ACCESS_TOKEN reached the `serve` the tests start, whose schedules read the
    portal's deals and wrote back to them."""
    names = set(setting_names())
    dropped = sorted(key for key in environ if key.upper() in names)
    return {k: v for k, v in environ.items() if k not in dropped}, dropped


def main(argv):
    if not argv or argv[0] not in {"serve", "demo", "test", "setup"}:
        print(__doc__)
        return 2
    if tuple(sys.version_info[:2]) < MIN_PYTHON:
        need = "{}.{}".format(*MIN_PYTHON)
        print(
            "tasks.py: roadmap-guard needs Python {} or later, and {} is {}.{}: run this with "
            "a newer one, e.g. `python{} tasks.py {}`".format(
                need, sys.executable, sys.version_info[0], sys.version_info[1], need, argv[0]
            ),
            file=sys.stderr,
        )
        return 2
    try:
        ensure_venv()
    except subprocess.CalledProcessError as exc:  # its own output (pip's error) is just above
        command = " ".join(str(part) for part in exc.cmd)
        print(
            "tasks.py: setting up {} failed: `{}` exited with {}".format(
                VENV, command, exc.returncode
            ),
            file=sys.stderr,
        )
        return 1
    command, rest = argv[0], argv[1:]
    if command == "setup":
        return 0
    os.chdir(ROOT)
    env = None  # this process's
    if command == "test":
        program, args = venv_python(), ["-m", "pytest"] + pytest_args(rest)
        env, dropped = suite_environment(os.environ)
        if dropped:
            print(
                "tasks.py: the tests run without {} from this environment (each test sets "
                "the settings it needs)".format(", ".join(dropped)),
                file=sys.stderr,
            )
    else:
        program, args = (
            BIN / ("roadmap-guard.exe" if WINDOWS else "roadmap-guard"),
            [command] + rest,
        )
    if WINDOWS:  # no exec on Windows: a child, waited for
        return subprocess.call([str(program)] + args, env=env)
    # exec: this process becomes the command, so signals reach it directly (subprocess.call
    # would leave `serve` running when tasks.py is terminated).
    if env is not None:
        os.execve(str(program), [str(program)] + args, env)
    else:
        os.execv(str(program), [str(program)] + args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
