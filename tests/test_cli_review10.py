"""The CLI as a new engineer meets it: what `serve` says at start on a fresh install, and
what `--help` says each command does (README.md, Quick start; docs/operations.md)."""

from __future__ import annotations

import json

import pytest

from app.cli import main


def _serve_log(monkeypatch, tmp_path, capsys, *, port: str = "8123", host: str | None = None):
    """The JSON lines `serve` logs before uvicorn starts (uvicorn itself is not run)."""
    import uvicorn

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("WORKER_MODE", "off")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: None)
    monkeypatch.setattr("app.main.tune_garbage_collector", lambda threshold: None)
    argv = ["serve", "--port", port] + (["--host", host] if host else [])
    capsys.readouterr()
    assert main(argv) == 0
    return [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]


def _hint(lines: list[dict]) -> list[str]:
    return [x["event"] for x in lines if "no API key" in x["event"]]


def test_serve_on_a_fresh_database_says_how_to_make_the_first_api_key(
    monkeypatch, tmp_path, capsys
):
    """A fresh `python3 tasks.py serve` answered every /api request 401, and its log said
    nothing of API keys: the first key is made with the CLI, in this folder's database. Once
    a key exists the line is not repeated."""
    [hint] = _hint(_serve_log(monkeypatch, tmp_path, capsys))
    assert "apikey create --role admin --name" in hint
    assert str(tmp_path) in hint  # run from here: the CLI opens ./data/... of its folder
    assert "with the same DATABASE_URL" in hint  # set in the environment, as here
    assert main(["apikey", "create", "--role", "admin", "--name", "me"]) == 0
    assert _hint(_serve_log(monkeypatch, tmp_path, capsys)) == []


def test_serve_names_the_openapi_ui_it_serves(monkeypatch, tmp_path, capsys):
    lines = _serve_log(monkeypatch, tmp_path, capsys, host="0.0.0.0")
    [start] = [x for x in lines if x["event"] == "serve starting"]
    assert start["docs"] == "http://127.0.0.1:8123/docs"  # a wildcard bind: open it locally


def test_the_hint_names_the_cli_beside_the_running_python(monkeypatch, tmp_path):
    """`roadmap-guard` is not on PATH on a fresh machine: the set-up installs it into .venv/."""
    import sys

    from app.cli import cli_command

    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "roadmap-guard").write_text("")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.chdir(tmp_path)
    assert cli_command() == "bin/roadmap-guard"
    (tmp_path / "bin" / "roadmap-guard").unlink()
    assert cli_command() == f"{tmp_path / 'bin' / 'python'} -m app.cli"


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_help_says_what_queue_shows_and_how_to_begin(capsys):
    """`queue --help` said "deal queue counts by status" after it also showed the pending
    deals by reason and the latest dead deals with their error; `--help` said nothing of how
    to begin (serve, then the first API key)."""
    assert "the latest dead deals with their error" in _help(capsys, "queue")
    top = _help(capsys)
    assert "First steps: `serve`" in top and "apikey create --role admin" in top


def test_apikey_help_explains_the_roles_and_the_id(capsys):
    create = _help(capsys, "apikey", "create")
    for role in ("admin:", "revops:", "engineering, viewer: read", "approver:"):
        assert role in create
    assert "as `apikey list` shows it" in _help(capsys, "apikey", "revoke")


def test_a_command_on_an_empty_default_database_says_to_run_it_from_serves_folder(
    monkeypatch, tmp_path, capsys
):
    """Run from another folder than `serve`, a command opens ./data/roadmap-guard.db under
    that folder: the error said to run `roadmap-guard migrate`, which there makes a second,
    empty database, and the key made after it never works against the service."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["queue"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "run the command from that folder" in err and "or set DATABASE_URL" in err
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert main(["queue"]) == 2  # a database named on purpose: no word on folders
    assert "run the command from that folder" not in capsys.readouterr().err


def test_serve_on_a_port_in_use_says_so_and_how_to_choose_another(monkeypatch, tmp_path, capsys):
    """README's quick start listens on 8000; with 8000 taken (another serve, the demo) the
    service ended with uvicorn's "[Errno 98] error while attempting to bind" among its JSON
    lines, exit 3. It now ends with one line naming the address and the way out, exit 2."""
    import socket

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("WORKER_MODE", "off")
    monkeypatch.setattr("app.main.tune_garbage_collector", lambda threshold: None)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("PORT", str(port))
        capsys.readouterr()
        assert main(["serve"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert f"choose another port with PORT (python3 tasks.py serve --port {port + 1})" in err[-1]


def test_revoking_an_unknown_key_says_where_the_ids_are(cli_db, capsys):
    assert main(["apikey", "revoke", "99"]) == 1
    assert capsys.readouterr().err == (
        "error: no API key with id 99 (`apikey list` shows the keys and their ids)\n"
    )
