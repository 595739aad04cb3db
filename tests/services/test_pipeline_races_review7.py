"""A worker recording its CRM writes against a roadmap change's inline re-check of the same
deals (PostgreSQL: SQLite's one writer serializes them).

The recording wrote the deal rows in the order of its write plans; the re-check locks them in
id order (`pipeline.lock_deals`). Holding the higher id and waiting for the lower one while the
re-check held the lower and waited for the higher was a deadlock: PostgreSQL aborted one of the
two (the roadmap edit answered 503, or the worker's batch, its CRM writes made, was split and
written to the CRM again)."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, text
from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.jobs.types import QueueItem
from app.models import Deal, Feature, ProductMapping
from app.rules.model import DealSnapshot, LineItem, Stage
from app.services.pipeline import DealPipeline, lock_deals

OPEN = Stage(id="negotiation", label="Negotiation", probability=0.6)
SSO_LINE = LineItem(id="li-1", name="SSO add-on", sku="SKU-SSO", quantity=1)
WAIT = 20  # seconds: a bound on every wait, so a regression fails instead of hanging


@pytest.fixture
def world(engine, settings, db_backend):
    if db_backend != "postgresql":
        pytest.skip("SQLite's one writer serializes these transactions")
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="never"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    return engine, crm, DealPipeline(engine, settings, {"test": crm})


def _snapshot(deal_id: str, *line_items: LineItem) -> DealSnapshot:
    return DealSnapshot(
        crm="test", deal_id=deal_id, name="Acme", stage=OPEN, amount=Decimal("50000"),
        close_date=date.today() + timedelta(days=30), owner_id="owner-1",
        line_items=list(line_items),
    )  # fmt: skip


def _item(deal_id: str, id_: int) -> QueueItem:
    return QueueItem(id=id_, crm="test", deal_id=deal_id, attempts=1, reason="webhook")


@contextmanager
def _database_errors(engine):
    seen: list[BaseException] = []

    def _on_error(context) -> None:
        seen.append(context.original_exception)

    event.listen(engine, "handle_error", _on_error)
    try:
        yield seen
    finally:
        event.remove(engine, "handle_error", _on_error)


def _wait_for_a_lock_wait(engine) -> None:
    deadline = time.monotonic() + WAIT
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the worker never waited for a lock")


def test_recording_writes_and_a_roadmap_recheck_of_the_same_deals_do_not_deadlock(
    world, monkeypatch
):
    engine, crm, pipeline = world
    for n, deal_id in enumerate(("D1", "D2"), 1):  # D1's row first: the lower id
        crm.put_deal(_snapshot(deal_id))
        assert pipeline.process([_item(deal_id, n)])[n].kind == "done"
    with Session(engine) as s:
        ids = dict(s.exec(select(Deal.deal_id, Deal.id)).all())
    assert ids["D1"] < ids["D2"]
    for deal_id in ("D1", "D2"):  # the rep adds SSO (never built) to both: both blocked
        crm.put_deal(_snapshot(deal_id, SSO_LINE))

    written, go = threading.Event(), threading.Event()
    write_back = crm.write_back

    def writes_then_waits(plans):
        results = write_back(plans)  # the CRM holds the blocks now
        written.set()
        assert go.wait(WAIT)
        return results

    monkeypatch.setattr(crm, "write_back", writes_then_waits)
    out: dict = {}

    def worker() -> None:  # D2 planned before D1: its queue row came first
        try:
            out["worker"] = {
                k: o.kind for k, o in pipeline.process([_item("D2", 2), _item("D1", 1)]).items()
            }
        except Exception as exc:
            out["worker"] = type(exc).__name__

    with _database_errors(engine) as errors:
        thread = threading.Thread(target=worker, name="worker")
        thread.start()
        assert written.wait(WAIT)
        recheck = Session(engine)  # a roadmap change's inline re-check of D1 and D2
        try:
            lock_deals(recheck, {"test": ["D1"]})  # id order: D1 first
            go.set()
            _wait_for_a_lock_wait(engine)  # the worker's recording waits for D1
            lock_deals(recheck, {"test": ["D2"]})
            recheck.commit()
            out["recheck"] = "ok"
        except Exception as exc:
            recheck.rollback()
            out["recheck"] = type(getattr(exc, "orig", exc)).__name__
        finally:
            recheck.close()
        thread.join(WAIT)
    assert not thread.is_alive()
    deadlocks = {str(e) for e in errors if getattr(e, "sqlstate", None) == "40P01"}
    assert deadlocks == set()
    assert out == {"recheck": "ok", "worker": {1: "done", 2: "done"}}
    with Session(engine) as s:
        recorded = dict(s.exec(select(Deal.deal_id, Deal.written_verdict)).all())
    assert recorded == {"D1": "blocked", "D2": "blocked"}


def _state(engine):
    from app.models import Evaluation

    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "D1")).one()
        evaluation = s.get(Evaluation, deal.last_evaluation_id)
        return deal.verdict, sorted({r["feature_key"] for r in evaluation.references})


def test_an_approval_revoked_while_a_worker_stores_a_newer_read_keeps_the_newer_read(
    world, monkeypatch
):
    """The product owner revokes the approval of SSO while the rep takes SSO off the deal. The
    revocation's re-check loaded the stored snapshot (with SSO), the worker stored its newer
    read (without) meanwhile, and the re-check then stored its verdict and references over it:
    the deal was blocked on a feature it no longer sold, and the re-check queued after it
    reused those references, so it stayed blocked."""
    from app.db import session_scope
    from app.services import approvals
    from app.services import pipeline as P

    engine, crm, pipeline = world
    crm.put_deal(_snapshot("D1", SSO_LINE))
    assert pipeline.process([_item("D1", 1)])[1].kind == "done"
    assert _state(engine) == ("blocked", ["sso"])
    with session_scope(engine) as s:
        approval, _changed = approvals.create_approval(
            s, actor="apikey:pat", approver="pat", crm="test", deal_id="D1", feature_key="sso",
            rule_id=None, promised_date=None, reason="strategic",
            expires_at=P.utcnow() + timedelta(days=30),
        )  # fmt: skip
        approval_id = approval.id
    assert _state(engine) == ("warning", ["sso"])  # approved: no longer a block
    crm.put_deal(_snapshot("D1"))  # the rep takes SSO off the deal

    reading, release_read = threading.Event(), threading.Event()
    loaded, go = threading.Event(), threading.Event()
    read = crm.read_deals

    def slow_read(ids):
        got = read(ids)  # the deal without SSO
        reading.set()
        assert release_read.wait(WAIT)
        return got

    recheck = P.reevaluate_stored_deals

    def paused(session, context, deals, *, trigger):
        if threading.current_thread().name == "api":
            loaded.set()  # the revocation's re-check holds the snapshot it loaded
            assert go.wait(WAIT)
        return recheck(session, context, deals, trigger=trigger)

    monkeypatch.setattr(crm, "read_deals", slow_read)
    monkeypatch.setattr(P, "reevaluate_stored_deals", paused)
    errors: list[BaseException] = []

    def revoke() -> None:
        try:
            with session_scope(engine) as s:
                approvals.revoke_approval(s, approval_id, actor="approver:pat")
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=pipeline.process, args=([_item("D1", 2)],), name="worker")
    worker.start()
    assert reading.wait(WAIT)
    api = threading.Thread(target=revoke, name="api")
    api.start()
    assert loaded.wait(WAIT)
    release_read.set()  # the worker stores its newer read now, or waits for the revocation
    deadline = time.monotonic() + WAIT
    with engine.connect() as conn:
        while worker.is_alive() and time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
            conn.rollback()
            if waiting:
                break
            worker.join(0.02)
    go.set()
    api.join(WAIT)
    worker.join(WAIT)
    assert not errors and not api.is_alive() and not worker.is_alive()
    monkeypatch.setattr(crm, "read_deals", read)
    monkeypatch.setattr(P, "reevaluate_stored_deals", recheck)
    with Session(engine) as s:  # what the revocation queued (approval) runs
        from app.models import DealQueue

        queued = s.exec(select(DealQueue).where(DealQueue.status == "pending")).all()
    for n, row in enumerate(queued, 3):
        pipeline.process(
            [QueueItem(id=n, crm="test", deal_id=row.deal_id, attempts=1, reason=row.reason)]
        )

    assert _state(engine) == ("clear", [])


def test_approvals_expiring_on_two_crms_and_a_recheck_of_the_same_deals_do_not_deadlock(world):
    """expire_due locked each CRM's deals in turn (the first approval's CRM first), so a deal
    of CRM "aaa" with a higher row id was taken before one of CRM "zzz" with a lower id, while
    a fan-out takes every CRM's rows in one id order: each held what the other waited for."""
    from datetime import UTC, datetime

    from app.models import Approval
    from app.services import approvals
    from app.services.pipeline import apply_snapshot

    engine, _crm, _pipeline = world
    now = datetime.now(UTC)
    with Session(engine) as s:
        for crm in ("zzz", "aaa"):  # zzz's row first: the lower id
            deal = Deal(crm=crm, deal_id="D1")
            apply_snapshot(deal, _snapshot("D1", SSO_LINE).model_copy(update={"crm": crm}), now)
            s.add(deal)
            s.flush()
        for crm in ("aaa", "zzz"):  # aaa's approval first: its CRM was locked first
            s.add(
                Approval(crm=crm, deal_id="D1", feature_key="sso", reason="r", approver="pat",
                         expires_at=now - timedelta(seconds=5))
            )  # fmt: skip
        s.commit()
        low = s.exec(select(Deal).where(Deal.crm == "zzz")).one().id
        high = s.exec(select(Deal).where(Deal.crm == "aaa")).one().id
    assert low < high
    out: dict = {}

    def expiry() -> None:
        with Session(engine) as s:
            try:
                approvals.expire_due(s, now - timedelta(minutes=1), now)
                s.commit()
                out["expiry"] = "ok"
            except Exception as exc:
                s.rollback()
                out["expiry"] = type(getattr(exc, "orig", exc)).__name__

    with _database_errors(engine) as errors:
        recheck = Session(engine)  # a fan-out over both CRMs' deals: id order
        try:
            lock_deals(recheck, {"zzz": ["D1"]})  # the lower id
            thread = threading.Thread(target=expiry, name="expiry")
            thread.start()
            _wait_for_a_lock_wait(engine)  # the expiry waits for zzz's row
            lock_deals(recheck, {"aaa": ["D1"]})
            recheck.commit()
            out["recheck"] = "ok"
        except Exception as exc:
            recheck.rollback()
            out["recheck"] = type(getattr(exc, "orig", exc)).__name__
        finally:
            recheck.close()
        thread.join(WAIT)
    assert not thread.is_alive()
    deadlocks = {str(e) for e in errors if getattr(e, "sqlstate", None) == "40P01"}
    assert deadlocks == set()
    assert out == {"recheck": "ok", "expiry": "ok"}
