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


def _hold(engine, crm: str, deal_id: str, error: str, *, hold: bool, retry_after: float | None):
    """`deal_id` queued, claimed by a worker and recorded as the worker records a held (or
    backing-off) outcome: pending again, with its error."""
    from sqlmodel import Session

    from app.jobs import queue
    from app.jobs.types import Outcome

    with Session(engine) as s:
        queue.enqueue_deals(s, crm, [deal_id])
        s.commit()
    [item] = queue.claim_batch(engine, owner="w1", limit=1, lease_seconds=60)
    [recorded] = queue.record_outcomes(
        engine,
        owner="w1",
        outcomes=[(item, Outcome("retry", error=error, retry_after=retry_after, hold=hold))],
        max_attempts=5,
        backoff_base=60,
        backoff_cap=60,
    )
    assert recorded.kind == "retry"


ORG_RULE = (
    "OrgRuleRefused: FIELD_CUSTOM_VALIDATION_EXCEPTION: Close Date cannot be in the past.\n"
    "An admin adds the bypass clause for the integration user to the rule (Opportunity."
    "Close_Date_Future), or the rep fixes the close date; the deal is retried every 5 minutes "
    "meanwhile and its block is written as soon as the rule lets it through."
)


def test_queue_lists_the_deals_held_by_a_crm_s_set_up_with_their_error(
    engine, monkeypatch, tmp_path, capsys
):
    """A deal an org's validation rule refuses is held: pending, retried every few minutes,
    its attempts not spent. `queue` counted it as one more pending webhook, and said nowhere
    why it waited, so nobody knew an admin had to change the rule."""
    from sqlmodel import Session

    from app.cli import main
    from app.jobs.queue import enqueue_deals

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    for n in range(11):  # a HubSpot rate limit holding eleven deals
        _hold(engine, "hubspot", f"H{n}", "RateLimited: HubSpot 429 (daily)", hold=True,
              retry_after=3600)  # fmt: skip
    # then an org's validation rule holds one: the latest, listed first
    _hold(engine, "salesforce", "006HELD", ORG_RULE, hold=True, retry_after=300)
    with Session(engine) as s:
        enqueue_deals(s, "test", ["FRESH"])  # pending without an error: not listed
        s.commit()
    capsys.readouterr()
    assert main(["queue"]) == 0
    out = capsys.readouterr().out
    assert "  after an error: 12 held while the CRM refuses" in out
    [line] = [x for x in out.splitlines() if "salesforce/006HELD" in x]
    assert line.startswith("    salesforce/006HELD (next try in 5 min, at ")
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION: Close Date cannot be in the past. An admin" in line
    assert line.endswith("\u2026") and len(line.split("): ", 1)[1]) <= 160  # one line, cut
    hubspot = [x for x in out.splitlines() if x.startswith("    hubspot/H")]
    assert len(hubspot) == 9  # ten listed in all, the latest first
    assert "(next try in 60 min, at " in hubspot[0] and hubspot[0].endswith("HubSpot 429 (daily)")
    assert "    ... 2 more (GET /api/v1/queue?status=pending&with_error=true lists them all)" in out
    assert "FRESH" not in out


def test_queue_says_nothing_of_errors_when_no_pending_deal_has_one(cli_db, capsys):
    from sqlmodel import Session

    from app.cli import main
    from app.jobs.queue import enqueue_deals

    with Session(cli_db) as s:
        enqueue_deals(s, "test", ["D1"])
        s.commit()
    capsys.readouterr()
    assert main(["queue"]) == 0
    assert "after an error" not in capsys.readouterr().out


def test_the_queue_api_counts_and_lists_the_held_deals_as_the_cli_does(make_app, engine, api_key):
    from fastapi.testclient import TestClient

    _hold(engine, "salesforce", "006HELD", ORG_RULE, hold=True, retry_after=300)
    _hold(engine, "test", "BACKING", "TransientError: timed out", hold=False, retry_after=None)
    from sqlmodel import Session

    from app.jobs.queue import enqueue_deals

    with Session(engine) as s:
        enqueue_deals(s, "test", ["FRESH"])
        s.commit()
    with TestClient(make_app(connectors={})) as client:
        headers = api_key("viewer")
        held = client.get("/api/v1/queue?status=pending&with_error=true", headers=headers).json()
        every = client.get("/api/v1/queue?status=pending", headers=headers).json()
    assert held["counts"]["pending"] == 3 and held["pending_with_error"] == 2
    assert (held["rows"]["total"], held["rows"]["with_error"]) == (2, True)
    errors = {i["deal_id"]: i["last_error"] for i in held["rows"]["items"]}
    assert errors == {"006HELD": ORG_RULE, "BACKING": "TransientError: timed out"}
    assert every["rows"]["total"] == 3 and every["pending_with_error"] == 2


def test_queue_shows_a_dead_deal_s_error_of_several_lines_on_one(cli_db, capsys):
    """An error of several lines (a CRM's HTML error page, a rule's text) broke the dead list:
    its later lines read as lines of the queue's own output."""
    from sqlmodel import Session, select

    from app.cli import main
    from app.jobs.queue import enqueue_deals
    from app.models import DealQueue

    with Session(cli_db) as s:
        enqueue_deals(s, "test", ["D1"])
        s.flush()
        row = s.exec(select(DealQueue)).one()
        row.status, row.attempts = "dead", 5
        row.last_error = "PermanentError: refused\n\n  <html>\n<title>Bad Gateway</title>"
        s.add(row)
        s.commit()
    capsys.readouterr()
    assert main(["queue"]) == 0
    assert (
        "  test/D1 (5 attempts): PermanentError: refused <html> <title>Bad Gateway</title>\n"
        in capsys.readouterr().out
    )


def _help(capsys, *argv: str) -> str:
    import pytest

    from app.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse wraps at the terminal width


def test_rules_roadmap_and_mappings_help_say_what_each_command_does(capsys):
    """`rules --help` said "rules", `roadmap --help` "roadmap sources", and `rules simulate`'s
    `--show SHOW` "changed deals to list", without its default."""
    rules = _help(capsys, "rules")
    assert "the rules that decide each deal's verdict" in rules
    assert "simulate what draft rules would change" in rules
    simulate = _help(capsys, "rules", "simulate")
    assert "writes nothing, calls no CRM" in simulate
    assert "--show N how many of the deals whose result changes to list" in simulate
    assert "(default 20; 0: only the counts" in simulate
    assert "none: the drafts alone (default: current" in simulate
    roadmap = _help(capsys, "roadmap")
    assert "the roadmap's sources (Jira, Productboard, an HTTP feed)" in roadmap
    refresh = _help(capsys, "roadmap", "refresh")
    assert "every ROADMAP_REFRESH_SECONDS (default 900)" in refresh
    assert "(exit 1 if one failed: its last good catalog is kept)" in refresh
    assert "--source NAME only this source (default: every enabled source)" in refresh
    mappings = _help(capsys, "mappings", "import")
    assert "match_kind (sku, product_id or name), match_value, feature_keys" in mappings
    assert "--replace also delete the mappings the file does not name (default: keep them)" in (
        mappings
    )
    assert "held while the CRM refuses" in _help(capsys, "queue")


def test_simulate_lists_as_many_changed_deals_as_show_asks(cli_db, tmp_path, capsys):
    """The request behind `rules simulate` listed its default 100 deals: `--show 150` printed
    100 of them, and a negative --show cut the list from its end."""
    import json

    import pytest

    from app.cli import main
    from tests.api.test_simulate import BETA_WARN, _snapshot, seed

    seed(cli_db)
    draft = tmp_path / "draft.json"
    snapshots = [_snapshot(f"x{i}", "SKU-ai").model_dump(mode="json") for i in range(120)]
    draft.write_text(json.dumps({"rules": [BETA_WARN], "base": "none", "snapshots": snapshots}))
    capsys.readouterr()
    assert main(["rules", "simulate", "--file", str(draft), "--show", "150"]) == 0
    out = capsys.readouterr().out
    assert "deals: 120, changed verdict: 120" in out
    assert len([x for x in out.splitlines() if x.startswith("  test/x")]) == 120
    assert main(["rules", "simulate", "--file", str(draft)]) == 0
    assert len([x for x in capsys.readouterr().out.splitlines() if "test/x" in x]) == 20
    with pytest.raises(SystemExit):
        main(["rules", "simulate", "--file", str(draft), "--show", "-1"])
    assert "-1 is not a number of deals to list (0-1000)" in capsys.readouterr().err
