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


def test_a_deal_won_again_records_what_it_was_won_on_the_second_time(
    engine, settings, make_app, api_key
):
    """Acme was won on SSO by March 2030, approved by Pat, and on SCIM. Reopened, it was
    renegotiated: SSO moved to June 2030 (approved by Sam), SCIM dropped. Won again, the old
    entries simply stood again: the ledger said Pat approved SSO for March and that SCIM was
    promised (a slip of SCIM sent the owner a "promise at risk" task), and once Sam's approval
    expired the signed deal went `blocked` in the CRM (Pat's approval, which the ledger named,
    covers March, not June). Won again, an entry stands again with the terms of the new win;
    a promise the new win does not make stays withdrawn."""
    from fastapi.testclient import TestClient
    from sqlalchemy import update

    from app.models import Approval, Deal, utcnow
    from app.rules.model import Note
    from app.services.rules_service import install_default_rules

    far = date(2030, 9, 30)
    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"],
                      availability="coming_soon", target_date=far))  # fmt: skip
        s.add(Feature(key="scim", name="SCIM", aliases=["SCIM"], availability="coming_soon",
                      target_date=far))  # fmt: skip
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    pipeline = DealPipeline(engine, settings, {"test": crm})
    open_ = Stage(id="nego", label="Negotiation", probability=0.6)
    n = iter(range(1, 100))

    def put(stage: Stage, *notes: str) -> None:
        crm.put_deal(
            DealSnapshot(crm="test", deal_id="D1", name="Acme", stage=stage,
                         amount=Decimal("9000"), owner_id="owner-1",
                         close_date=date.today() + timedelta(days=30),
                         notes=[Note(id=f"n{i}", body=b) for i, b in enumerate(notes)])
        )  # fmt: skip
        pipeline.process(
            [QueueItem(id=next(n), crm="test", deal_id="D1", attempts=1, reason="webhook")]
        )

    def verdict() -> str:
        with Session(engine) as s:
            return s.exec(select(Deal.verdict)).one()

    def entries() -> dict[str, Commitment]:
        with Session(engine) as s:
            return {c.promise_key: c for c in s.exec(select(Commitment))}

    first = ("We promised SSO by March 2030.", "SCIM is planned for December 2030.")
    second = ("We promised SSO by June 2030.",)
    with TestClient(make_app(connectors={"test": crm})) as web:

        def approve(who: str, promised: str) -> int:
            r = web.post(
                "/api/v1/approvals",
                json={"crm": "test", "deal_id": "D1", "feature_key": "sso",
                      "promised_date": promised, "reason": "Strategic account",
                      "expires_at": (utcnow() + timedelta(days=7)).isoformat()},
                headers=api_key("approver", name=who),
            )  # fmt: skip
            assert r.status_code == 201, r.text
            return r.json()["id"]

        put(open_, *first)
        assert verdict() == "blocked"
        pat = approve("pat", "2030-03-31")
        put(WON, *first)
        signed = entries()
        assert {k: (c.approver, c.promised_date) for k, c in signed.items()} == {
            "sso": ("pat", date(2030, 3, 31)),
            "scim": (None, date(2030, 12, 31)),
        }
        put(open_, *second)  # reopened and renegotiated
        assert verdict() == "blocked"  # Pat approved March, not June
        assert all(c.withdrawn_at is not None for c in entries().values())
        sam = approve("sam", "2030-06-30")
        put(WON, *second)

    again = entries()
    assert again["scim"].withdrawn_at is not None  # not promised by the new win
    sso = again["sso"]
    assert (sso.withdrawn_at, sso.approver, sso.approval_id, sso.promised_date) == (
        None,
        "sam",
        sam,
        date(2030, 6, 30),
    )
    assert sso.evidence == "We promised SSO by June 2030."
    assert sso.signed_at == signed["sso"].signed_at  # counted where it was first signed
    assert pat != sam
    with Session(engine) as s:  # Sam's approval runs out; the rep edits the signed deal
        s.execute(update(Approval).values(expires_at=utcnow() - timedelta(seconds=1)))
        s.commit()
    put(WON, *second, "Kick-off call booked.")
    assert verdict() != "blocked"
