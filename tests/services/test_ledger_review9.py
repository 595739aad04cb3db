"""Review round 9 of the commitment ledger: a promise that broke and then held again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.jobs.types import QueueItem
from app.models import Commitment, Feature, TestCrmDeal, TestCrmTask
from app.rules.model import DealSnapshot, LineItem, Stage
from app.services import ledger
from app.services.pipeline import DealPipeline

WON = Stage(id="won", label="Closed won", is_won=True, is_closed=True, probability=1.0)


def _move(engine, **values) -> None:
    with Session(engine) as s:
        feature = s.get(Feature, "sso")
        for name, value in values.items():
            setattr(feature, name, value)
        s.add(feature)
        s.commit()


def _sweep(engine) -> dict[str, list[str]]:
    with Session(engine) as s:
        queued = ledger.check_all(s)
        s.commit()
    return queued


def test_a_promise_that_holds_again_is_no_longer_listed_as_broken(
    engine, settings, make_app, api_key
):
    """SSO was sold on its target date; product dropped it (the entry flagged, the owner's
    task made, the won deal's status `blocked`), then put it back on the roadmap, on the same
    date. The flag was never cleared: the ledger, `flagged=true` and its totals, and the
    dashboard went on calling the promise broken ("now targets ..., after the promised ...")
    and the CRM kept saying `blocked` on the signed deal, for good. The sweep now clears the
    flag of a promise that holds again and re-queues the deal, whose status is rewritten; no
    second task is made."""
    from fastapi.testclient import TestClient

    from app.services.rules_service import install_default_rules

    target = date.today() + timedelta(days=60)
    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", availability="coming_soon",
                      target_date=target))  # fmt: skip
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    crm.put_deal(
        DealSnapshot(crm="test", deal_id="D1", name="Acme", stage=WON, amount=Decimal("9000"),
                     owner_id="owner-1", line_items=[LineItem(id="l1", name="Single Sign-On")])
    )  # fmt: skip
    pipeline = DealPipeline(engine, settings, {"test": crm})

    def work(n: int) -> None:
        pipeline.process([QueueItem(id=n, crm="test", deal_id="D1", attempts=1, reason="ledger")])

    work(1)
    _move(engine, availability="never")  # product drops it
    assert _sweep(engine) == {"test": ["D1"]}
    work(2)
    with Session(engine) as s:
        assert s.get(TestCrmDeal, "D1").properties["status"] == "blocked"
        (entry,) = s.exec(select(Commitment)).all()
        assert entry.flagged_at is not None and entry.task_requested is True

    _move(engine, availability="coming_soon")  # and puts it back, on the promised date
    assert _sweep(engine) == {"test": ["D1"]}  # re-queued: its status is written again
    work(3)
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment)).all()
        assert (entry.flagged_at, entry.flag_reason) == (None, None)
        assert s.get(TestCrmDeal, "D1").properties["status"] != "blocked"
        tasks = s.exec(select(TestCrmTask).where(TestCrmTask.followup_key.is_not(None))).all()
        assert len(tasks) == 1  # the one task of the slip; none for the recovery
    assert _sweep(engine) == {}  # nothing more to do
    with TestClient(make_app(connectors={"test": crm})) as web:
        h = api_key("viewer")
        assert web.get("/api/v1/commitments?flagged=true", headers=h).json()["total"] == 0
        (item,) = web.get("/api/v1/commitments", headers=h).json()["items"]
        assert (item["flagged"], item["flag_reason"]) == (False, None)

    # It slips again: flagged again, and the CRM's task of the first slip is found, not doubled.
    _move(engine, target_date=target + timedelta(days=120))
    assert _sweep(engine) == {"test": ["D1"]}
    work(4)
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment)).all()
        assert entry.flagged_at is not None and entry.task_requested is True
        tasks = s.exec(select(TestCrmTask).where(TestCrmTask.followup_key.is_not(None))).all()
        assert len(tasks) == 1


def test_a_slip_put_right_before_its_task_was_made_sends_no_task(session):
    """Flagged, then held again before the owner's task went out (the deal's write failed and
    waits for a retry, or the CRM was down): the task still went out later, "promise at risk",
    for a promise that holds."""
    from app.models import Deal, utcnow

    session.add(Feature(key="sso", name="SSO", availability="coming_soon",
                        target_date=date(2027, 6, 30)))  # fmt: skip
    session.add(Deal(crm="test", deal_id="D1"))
    session.add(
        Commitment(crm="test", deal_id="D1", deal_name="Acme", promise_key="sso",
                   feature_key="sso", feature_name="SSO", availability_at_signing="coming_soon",
                   target_date_at_signing=date(2027, 6, 30), promised_date=date(2027, 6, 30),
                   signed_at=utcnow())
    )  # fmt: skip
    session.commit()
    sso = session.get(Feature, "sso")
    sso.target_date = date(2027, 9, 30)
    session.add(sso)
    session.commit()
    assert ledger.check_all(session) == {"test": ["D1"]}
    assert list(ledger.pending_followups(session, "test", "D1"))
    sso.target_date = date(2027, 6, 1)  # earlier than promised: the promise holds
    session.add(sso)
    session.commit()
    ledger.check_all(session)
    assert ledger.pending_followups(session, "test", "D1") == {}
