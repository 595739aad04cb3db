"""`roadmap_guard_checked_at` is written with a change of what the deal shows, and only then:
a refresh after 24 hours rewrote it (and so the deal's last-modified, to the integration) on
any write, a task's new text included, breaking the customer's stale-deal reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.connectors.base import DealWriteBack, TaskSpec
from app.rules.model import VerdictStatus

DEAL_UPDATES = "POST /crm/v3/objects/deals/batch/update"


def _item(
    snapshot, *, body: str, task_id=None, previous=None, status=VerdictStatus.blocked
) -> DealWriteBack:
    return DealWriteBack(
        crm="hubspot",
        deal_id=snapshot.deal_id,
        status=status,
        summary="Blocked: SSO will never be built.",
        block=status == VerdictStatus.blocked,
        checked_at=datetime.now(UTC),
        evaluation_url=None,
        task=TaskSpec(subject="Roadmap check: Acme is blocked", body=body, open=True),
        task_id=task_id,
        previous=previous or {},
        snapshot=snapshot,
    )


def test_checked_at_is_written_only_with_a_change_the_deal_shows(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    first = connector.write_back([_item(connector.read_deals([deal])[deal], body="SSO.")])[deal]
    assert first.error is None
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    stamp = str(int(three_days_ago.timestamp() * 1000))
    fake.deal(deal)["properties"]["roadmap_guard_checked_at"] = stamp

    snap = connector.read_deals([deal])[deal]
    fake.reset_calls()
    out = connector.write_back(
        [_item(snap, body="SSO will never be built; offer SAML.", task_id=first.task_id)]
    )[deal]

    assert out.error is None and "task" in out.changes  # the task's text was brought up to date
    assert fake.calls[DEAL_UPDATES] == 0  # the deal itself untouched
    assert fake.deal(deal)["properties"]["roadmap_guard_checked_at"] == stamp

    # ... a change of verdict stamps it
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back(
        [_item(snap, body="Nothing left to do.", task_id=first.task_id, status=VerdictStatus.clear)]
    )[deal]
    assert out.error is None
    assert fake.deal(deal)["properties"]["roadmap_guard_checked_at"] != stamp
