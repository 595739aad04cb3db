"""The line-item resolver never skips an event that committed after a later-numbered one."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from app.connectors.hubspot import reconcile
from app.connectors.hubspot.events import LINE_ITEM_EVENT, SOURCE
from app.jobs.schedules import JobContext
from app.models import DealQueue, WebhookEvent, utcnow


def _event(engine, event_id: int, line_item: str | None) -> None:
    with Session(engine) as s:
        s.add(
            WebhookEvent(
                id=event_id,
                source=SOURCE,
                dedup_key=f"e{event_id}",
                crm="hubspot",
                event_type=LINE_ITEM_EVENT,
                payload={"objectId": int(line_item) if line_item else "not-an-id"},
            )
        )
        s.commit()


def _queued(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(q.deal_id for q in s.exec(select(DealQueue)))


def test_a_late_commit_with_a_smaller_id_is_still_resolved(
    fake, engine, settings, connector, monkeypatch
):
    # The PostgreSQL window on whichever database this runs: ids drawn before commit.
    monkeypatch.setattr(reconcile, "SETTLE", {engine.dialect.name: timedelta(seconds=60)})
    first = fake.add_deal("First", line_items=[{"name": "SSO add-on"}], emit=False)
    late = fake.add_deal("Late", line_items=[{"name": "SCIM add-on"}], emit=False)
    [first_item] = fake.associated("deals", first, "line_items")
    [late_item] = fake.associated("deals", late, "line_items")

    def run(state: dict) -> dict:
        ctx = JobContext(
            engine=engine, settings=settings, connectors={"hubspot": connector}, state=state
        )
        return reconcile.resolve_line_items(ctx)

    _event(engine, 10, first_item)
    state = run({})
    assert _queued(engine) == [first]
    assert (state["after_event_id"], state["recent"]) == (0, [10])  # too new to pass

    _event(engine, 5, late_item)  # drew its id earlier, committed later
    state = run(state)
    assert state["last_resolved"] == 1  # the late event, not the first again
    assert _queued(engine) == sorted([first, late])
    assert (state["after_event_id"], state["recent"]) == (0, [5, 10])

    with Session(engine) as s:  # a minute later every transaction of then has committed
        for row in s.exec(select(WebhookEvent)):
            row.received_at = utcnow() - timedelta(minutes=2)
            s.add(row)
        s.commit()
    state = run(state)
    assert (state["after_event_id"], state["recent"], state["last_resolved"]) == (10, [], 0)


def test_an_event_with_an_impossible_line_item_id_does_not_stall_the_resolver(
    fake, engine, settings, connector
):
    deal = fake.add_deal("Acme", line_items=[{"name": "SSO add-on"}], emit=False)
    [item] = fake.associated("deals", deal, "line_items")
    _event(engine, 1, None)  # "not-an-id": HubSpot's batch call would refuse it every time
    _event(engine, 2, item)
    ctx = JobContext(engine=engine, settings=settings, connectors={"hubspot": connector})
    state = reconcile.resolve_line_items(ctx)
    assert _queued(engine) == [deal]
    assert state["last_resolved"] == 1
