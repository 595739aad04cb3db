"""Races between a worker storing fresh CRM reads and other writers of the same deal, forced
into one interleaving with events (PostgreSQL: SQLite's one writer serializes them already).

- A roadmap change's inline re-check loaded a deal's old snapshot before a worker stored a
  newer read, and wrote after it: the deal ended on a verdict of the old snapshot (the CRM
  blocked on a deal that no longer sold the feature). In the other order the two deadlocked
  and the roadmap edit answered 500.
- A worker whose lease expired during a slow CRM read stored its (older) read over the one the
  worker that took the deal over had stored, and wrote a stale block and a second task.
"""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.db import session_scope
from app.jobs.queue import claim_batch, enqueue_deals, record_outcomes
from app.models import (
    Deal,
    DealQueue,
    Evaluation,
    Feature,
    ProductMapping,
    TestCrmDeal,
    TestCrmTask,
)
from app.rules.model import DealSnapshot, LineItem, Stage
from app.services import pipeline as P
from app.services.pipeline import DealPipeline

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


def _snapshot(*line_items: LineItem) -> DealSnapshot:
    return DealSnapshot(
        crm="test", deal_id="D1", name="Acme", stage=OPEN, amount=Decimal("50000"),
        close_date=date.today() + timedelta(days=30), owner_id="owner-1",
        line_items=list(line_items),
    )  # fmt: skip


def _enqueue(engine) -> None:
    with session_scope(engine) as s:
        enqueue_deals(s, "test", ["D1"], reason="webhook")


def _run(engine, pipeline, owner: str, **claim) -> list[str]:
    items = claim_batch(
        engine, owner=owner, limit=10, lease_seconds=claim.pop("lease", 60), **claim
    )
    if not items:
        return []
    out = pipeline.process(items)
    recorded = record_outcomes(
        engine, owner=owner, outcomes=[(i, out[i.id]) for i in items],
        max_attempts=5, backoff_base=0.0, backoff_cap=0.0,
    )  # fmt: skip
    return [r.kind for r in recorded]


def _drain(engine, pipeline) -> None:
    for _ in range(10):
        if not _run(engine, pipeline, "drain"):
            return


def _crm_state(engine):
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "D1")).one()
        evaluation = s.get(Evaluation, deal.last_evaluation_id)
        props = s.get(TestCrmDeal, "D1").properties
        open_tasks = s.exec(
            select(TestCrmTask).where(TestCrmTask.deal_id == "D1", TestCrmTask.open == True)  # noqa: E712
        ).all()
        return (
            deal.verdict,
            [r["feature_key"] for r in evaluation.references],
            props["status"],
            props["block"],
            len(open_tasks),
        )


def test_a_roadmap_change_rechecking_a_deal_a_worker_is_storing_keeps_the_newer_read(
    world, monkeypatch
):
    from app.services.features_service import FeatureUpdate, update_feature

    engine, crm, pipeline = world
    with Session(engine) as s:  # coming soon, due before the deal closes: not a block yet
        feature = s.get(Feature, "sso")
        feature.availability, feature.target_date = "coming_soon", date.today() + timedelta(10)
        s.commit()
    crm.put_deal(_snapshot(SSO_LINE))
    _enqueue(engine)
    _run(engine, pipeline, "w1")
    crm.put_deal(_snapshot())  # the rep removes the SSO line item; its webhook is queued
    _enqueue(engine)

    reading, release_read = threading.Event(), threading.Event()
    api_in, api_go = threading.Event(), threading.Event()
    read = crm.read_deals

    def slow_read(ids):
        got = read(ids)  # the deal without SSO
        reading.set()
        release_read.wait(WAIT)
        return got

    recheck = P.reevaluate_stored_deals

    def paused(session, context, deals, *, trigger):
        if threading.current_thread().name == "api":
            api_in.set()
            api_go.wait(WAIT)
        return recheck(session, context, deals, trigger=trigger)

    monkeypatch.setattr(crm, "read_deals", slow_read)
    monkeypatch.setattr(P, "reevaluate_stored_deals", paused)
    errors: list[BaseException] = []

    def api() -> None:  # SSO slips past the close date: a deal selling it would block
        try:
            with session_scope(engine) as s:
                later = (date.today() + timedelta(days=90)).isoformat()
                update_feature(s, "sso", FeatureUpdate(target_date=later), actor="revops:x")
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=_run, args=(engine, pipeline, "w1"), name="worker")
    worker.start()
    assert reading.wait(WAIT)
    change = threading.Thread(target=api, name="api")
    change.start()
    assert api_in.wait(WAIT)  # the re-check is about to evaluate what it loaded
    release_read.set()  # the worker stores its newer read now (or waits for the change)
    time.sleep(0.5)
    api_go.set()
    change.join(WAIT)
    worker.join(WAIT)
    assert not errors and not change.is_alive() and not worker.is_alive()
    monkeypatch.setattr(crm, "read_deals", read)
    _drain(engine, pipeline)

    assert _crm_state(engine) == ("clear", [], "clear", False, 0)


def test_a_worker_whose_read_was_overtaken_does_not_store_it_or_write_it(world, monkeypatch):
    engine, crm, pipeline = world
    crm.put_deal(_snapshot())
    _enqueue(engine)
    _run(engine, pipeline, "A")
    crm.put_deal(_snapshot(SSO_LINE))  # the rep adds SSO (never built): a block
    _enqueue(engine)

    a_read, release_a = threading.Event(), threading.Event()
    read = crm.read_deals

    def stalls_for_a(ids):
        got = read(ids)
        if threading.current_thread().name == "A":
            a_read.set()
            release_a.wait(WAIT)
        return got

    monkeypatch.setattr(crm, "read_deals", stalls_for_a)
    a = threading.Thread(target=_run, args=(engine, pipeline, "A"), kwargs={"lease": 1}, name="A")
    a.start()
    assert a_read.wait(WAIT)  # A read the deal with SSO, and hangs past its lease
    crm.put_deal(_snapshot())  # the rep removes SSO again
    _enqueue(engine)
    time.sleep(1.2)
    _run(engine, pipeline, "B")  # B takes the deal over, reads it without SSO, writes "clear"
    _run(engine, pipeline, "B")
    release_a.set()
    a.join(WAIT)
    assert not a.is_alive()
    monkeypatch.setattr(crm, "read_deals", read)
    _drain(engine, pipeline)

    assert _crm_state(engine) == ("clear", [], "clear", False, 0)
    with Session(engine) as s:
        assert s.exec(select(DealQueue.status)).all() == ["done"]


def test_two_roadmap_changes_at_once_mark_one_row_first_of_an_availability(world, monkeypatch):
    """Two edits (two requests, or an edit and the refresh schedule), each making one of a
    deal's features uncertain: each marked "first of its availability" from what it saw, the
    deal had two first rows for `uncertain`, and exposure's split counted it twice."""
    from app.models import DealFeature
    from app.services import queries
    from app.services.features_service import FeatureUpdate, update_feature

    engine, crm, pipeline = world
    with Session(engine) as s:
        s.add(Feature(key="scim", name="SCIM provisioning", availability="never"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SCIM", feature_keys=["scim"]))
        s.commit()
    scim = LineItem(id="li-2", name="SCIM add-on", sku="SKU-SCIM", quantity=1)
    crm.put_deal(_snapshot(SSO_LINE, scim))
    _enqueue(engine)
    _run(engine, pipeline, "w1")

    arrived = {"sso": threading.Event(), "scim": threading.Event()}
    mark = queries.mark_availability_first

    def meets_the_other(session, keys):
        (mine,) = keys
        arrived[mine].set()  # both here at once, unless one waits for the other's commit
        arrived["scim" if mine == "sso" else "sso"].wait(2)
        return mark(session, keys)

    monkeypatch.setattr(queries, "mark_availability_first", meets_the_other)

    def edit(key: str) -> None:
        with session_scope(engine) as s:
            update_feature(s, key, FeatureUpdate(availability="uncertain"), actor="revops:x")

    edits = [threading.Thread(target=edit, args=(key,)) for key in ("sso", "scim")]
    for t in edits:
        t.start()
    for t in edits:
        t.join(WAIT)
    with Session(engine) as s:
        firsts = s.exec(
            select(DealFeature.feature_key).where(
                DealFeature.deal_id == "D1",
                DealFeature.availability == "uncertain",
                DealFeature.availability_first == True,  # noqa: E712
            )
        ).all()
    assert len(firsts) == 1


def test_a_deal_newly_depending_on_a_feature_keeps_no_stale_availability(world, monkeypatch):
    """The worker stored a deal that now sells SSO (its dependency rows copying SSO's
    availability as its transaction saw it) while a roadmap edit changed that availability:
    the edit's sync could not see the rows not yet committed, the deal was not among those it
    locked (not a dependent yet), and the rows kept the old availability for good."""
    from app.models import DealFeature
    from app.services.features_service import FeatureUpdate, update_feature

    engine, crm, pipeline = world
    crm.put_deal(_snapshot())
    _enqueue(engine)
    _run(engine, pipeline, "w1")
    crm.put_deal(_snapshot(SSO_LINE))  # the rep adds SSO: a new dependent
    _enqueue(engine)

    stored, go = threading.Event(), threading.Event()
    replace = P.replace_dependencies_many

    def paused(session, evaluated):
        done = replace(session, evaluated)
        if threading.current_thread().name == "worker":
            stored.set()
            go.wait(WAIT)
        return done

    monkeypatch.setattr(P, "replace_dependencies_many", paused)

    def edit() -> None:
        with session_scope(engine) as s:
            update_feature(s, "sso", FeatureUpdate(availability="uncertain"), actor="revops:x")

    worker = threading.Thread(target=_run, args=(engine, pipeline, "w1"), name="worker")
    worker.start()
    assert stored.wait(WAIT)
    change = threading.Thread(target=edit, name="api")
    change.start()
    time.sleep(0.7)  # the edit runs as far as it can
    go.set()
    worker.join(WAIT)
    change.join(WAIT)
    monkeypatch.setattr(P, "replace_dependencies_many", replace)
    _drain(engine, pipeline)

    with Session(engine) as s:
        rows = s.exec(select(DealFeature.availability).where(DealFeature.deal_id == "D1")).all()
    assert rows and set(rows) == {"uncertain"}
