"""The CLI as an operator reads it: `queue` names the deals a CRM's set-up holds and why,
`rules` / `roadmap` help says what each command does, and the demo's key hint is the CLI's own
(docs/operations.md, CLI table)."""

from __future__ import annotations

from pathlib import Path


def test_the_demo_names_the_cli_with_the_cli_s_own_function(monkeypatch):
    """The demo kept a copy of `app.cli.cli_command`: a fix to how the CLI is named reached
    serve's first-key hint and not the demo's."""
    from app.sandbox import demo

    monkeypatch.setattr("app.cli.cli_command", lambda: "THE-CLI")
    assert demo._more_keys_hint(Path("data/demo.db")) == (
        'DATABASE_URL=sqlite:///data/demo.db THE-CLI apikey create --role viewer --name "someone"'
    )
    assert not hasattr(demo, "_cli_command")
