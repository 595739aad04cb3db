"""Security review round 7 of the HubSpot connector: each test fails without its fix."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select
from structlog.testing import capture_logs

from app.connectors.hubspot import reconcile as rec
from app.connectors.hubspot.account import AccountInfo
from app.jobs.schedules import JobContext
from app.models import Deal
from tests.connectors.hubspot.test_end_to_end import SSO, deliver, drain, world  # noqa: F401


def test_a_token_of_another_portal_does_not_untrack_every_deal(fake, world) -> None:  # noqa: F811
    """HUBSPOT_ACCESS_TOKEN swapped for another portal's (a sandbox's): none of the tracked
    deals is in that portal, so the reconciliation's sweep of tracked deals found them all
    "deleted" and stopped tracking them, a thousand a run: gone from pipeline and exposure
    totals and their dependencies dropped, tracked again only once each changed. While the
    token's portal is not HUBSPOT_PORTAL_ID nothing is taken for deleted."""
    w = world
    deals = [fake.add_deal(f"Deal {i}", line_items=[SSO], emit=False) for i in range(3)]
    for deal in deals:
        fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    connector = w["connectors"]["hubspot"]
    # the token now reads another portal, which has none of these deals (a new process reads
    # its account details afresh)
    fake.portal_id = str(int(fake.portal_id) + 1)
    held = {deal: fake.objects["deals"].pop(deal) for deal in deals}
    connector.account = AccountInfo(connector.api)

    ctx = JobContext(
        engine=w["engine"], settings=w["settings"], connectors=w["connectors"], state={}
    )
    with capture_logs() as logs:
        state = rec.reconcile(ctx)
    drain(world)
    with Session(w["engine"]) as s:
        tracked = {d.deal_id: d.tracked for d in s.exec(select(Deal))}
    assert tracked == dict.fromkeys(deals, True)
    assert state["last_gone"] == 0 and state["gone_after"] == ""
    [warning] = [e for e in logs if e["event"].startswith("hubspot gone-deal check failed")]
    assert f"reads portal {fake.portal_id}, not HUBSPOT_PORTAL_ID" in warning["error"]

    # the right token again: a deal deleted meanwhile is found gone as before
    fake.portal_id = str(int(fake.portal_id) - 1)
    for deal in deals[1:]:
        fake.objects["deals"][deal] = held[deal]
    connector.account = AccountInfo(connector.api)
    state = rec.reconcile(ctx)
    assert state["last_gone"] == 1


def test_a_token_of_another_portal_holds_the_deals_the_worker_reads(fake, world) -> None:  # noqa: F811
    """The worker reading queued deals with a token of another portal found every one missing
    and untracked it (gone from totals, its dependencies dropped, tracked again only once it
    changed). The read is refused as a credentials problem instead: the deals are held, and
    read again once the token is right."""
    from app.models import DealQueue

    w = world
    deal = fake.add_deal("Deal A", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    connector = w["connectors"]["hubspot"]
    fake.portal_id = str(int(fake.portal_id) + 1)  # the token now reads another portal
    held = fake.objects["deals"].pop(deal)
    connector.account = AccountInfo(connector.api)
    with Session(w["engine"]) as s:
        from app.jobs.queue import enqueue_deals

        enqueue_deals(s, "hubspot", [deal], reason="webhook")
        s.commit()
    assert w["worker"].run_once()  # the worker reads it with the wrong portal's token
    with Session(w["engine"]) as s:
        assert s.exec(select(Deal).where(Deal.deal_id == deal)).one().tracked is True
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == deal)).one()
        assert row.status == "pending" and "not HUBSPOT_PORTAL_ID" in (row.last_error or "")

    fake.portal_id = str(int(fake.portal_id) - 1)  # the right token again
    fake.objects["deals"][deal] = held
    connector.account = AccountInfo(connector.api)
    with Session(w["engine"]) as s:  # its hold over (CREDENTIALS_RETRY_SECONDS)
        s.execute(DealQueue.__table__.update().values(due_at=datetime.now(UTC)))
        s.commit()
    drain(world)
    with Session(w["engine"]) as s:
        assert s.exec(select(DealQueue).where(DealQueue.deal_id == deal)).one().status == "done"
