"""Review 11: `roadmap-guard queue` tells held deals (the CRM refused us: retried without
spending attempts, never dead) from deals backing off after an error (attempts counting), and a
deal `replay-dead` sent again is no longer listed as failing."""

from __future__ import annotations

from sqlmodel import Session

from app.cli import main
from app.jobs import queue
from app.jobs.types import Outcome


def _fail(engine, deal_id: str, outcome: Outcome) -> None:
    with Session(engine) as s:
        queue.enqueue_deals(s, "test", [deal_id])
        s.commit()
    [item] = queue.claim_batch(engine, owner="w1", limit=1, lease_seconds=60)
    queue.record_outcomes(
        engine,
        owner="w1",
        outcomes=[(item, outcome)],
        max_attempts=8,
        backoff_base=60,
        backoff_cap=60,
    )


def test_queue_tells_held_deals_from_backing_off_ones(cli_db, capsys):
    _fail(cli_db, "HELD", Outcome("retry", error="CredentialsError: 401", hold=True))
    _fail(cli_db, "SLOW", Outcome("retry", error="TransientError: timed out"))
    capsys.readouterr()
    assert main(["queue"]) == 0
    out = capsys.readouterr().out
    assert "  after an error: 1 held while the CRM refuses (" in out
    assert "; 1 backing off after an error (attempts counting: dead after " in out
    [held] = [line for line in out.splitlines() if "test/HELD" in line]
    [slow] = [line for line in out.splitlines() if "test/SLOW" in line]
    assert ", held): CredentialsError: 401" in held
    assert ", backing off, 1 of " in slow and slow.endswith("attempts): TransientError: timed out")


def test_a_replayed_dead_deal_is_not_listed_as_failing(cli_db, capsys):
    """A replayed dead deal kept its old last_error until it ran: `queue` listed it under
    "after an error" as if the replay had failed."""
    _fail(cli_db, "D1", Outcome("dead", error="PermanentError: refused"))
    assert main(["replay-dead"]) == 0
    capsys.readouterr()
    assert main(["queue"]) == 0
    out = capsys.readouterr().out
    assert "after an error" not in out and "refused" not in out
    assert "pending  1" in out
