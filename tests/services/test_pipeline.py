"""The pipeline end to end through the test CRM: read → evaluate → store → write back."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.connectors.base import PermanentError, TransientError
from app.connectors.testcrm import TestCrmConnector
from app.jobs.types import QueueItem
from app.models import (
    Approval,
    Deal,
    DealFeature,
    Evaluation,
    Feature,
    ProductMapping,
    TestCrmDeal,
    TestCrmNote,
    TestCrmTask,
    WriteBackLog,
    utcnow,
)
from app.rules.model import DealSnapshot, LineItem, Note, Stage
from app.services.pipeline import DealPipeline, reevaluate_stored
from tests.services.conftest import edit_feature

OPEN = Stage(id="negotiation", label="Negotiation", probability=0.6)
WON = Stage(id="won", label="Closed won", is_won=True, is_closed=True, probability=1.0)


@pytest.fixture
def seeded(engine):
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(
            Feature(
                key="sso",
                name="Single Sign-On",
                aliases=["SSO"],
                availability="never",
                guidance="Offer SAML through our identity partner instead.",
            )
        )
        s.add(Feature(key="audit-log", name="Audit Log", availability="available"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        install_default_rules(s)
        s.commit()
    return engine


@pytest.fixture
def crm(seeded):
    return TestCrmConnector(seeded)


@pytest.fixture
def pipeline(seeded, settings, crm):
    return DealPipeline(seeded, settings, {"test": crm})


def snapshot(deal_id="D1", *, line_items=(), notes=(), stage=OPEN) -> DealSnapshot:
    return DealSnapshot(
        crm="test",
        deal_id=deal_id,
        name=f"Acme {deal_id}",
        stage=stage,
        amount=Decimal("50000"),
        currency="USD",
        close_date=date.today() + timedelta(days=30),
        owner_id="owner-1",
        line_items=list(line_items),
        notes=list(notes),
    )


SSO_LINE = LineItem(id="li-1", name="SSO add-on", sku="SKU-SSO", quantity=1)


def item(deal_id="D1", reason="webhook", id_=1) -> QueueItem:
    return QueueItem(id=id_, crm="test", deal_id=deal_id, attempts=1, reason=reason)


def tasks(engine, deal_id="D1") -> list[TestCrmTask]:
    with Session(engine) as s:
        return list(s.exec(select(TestCrmTask).where(TestCrmTask.deal_id == deal_id)))


def test_blocked_deal_gets_status_one_task_a_note_and_a_dependency(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))

    outcomes = pipeline.process([item()])

    assert outcomes[1].kind == "done"
    with Session(engine) as s:
        row = s.get(TestCrmDeal, "D1")
        assert row.properties["status"] == "blocked"
        assert row.properties["block"] is True
        assert row.properties["evaluation_url"].endswith("/dashboard/deals/test/D1")
        deal = s.exec(select(Deal)).one()
        assert deal.verdict == "blocked" and deal.crm_task_id and deal.crm_task_open
        deps = list(s.exec(select(DealFeature)))
        assert [(d.feature_key, d.source, d.evidence) for d in deps] == [
            ("sso", "line_item", "SSO add-on")
        ]
        # The first verdict's findings are in the task; notes record later changes.
        assert list(s.exec(select(TestCrmNote))) == []
        assert s.exec(select(Evaluation)).one().verdict == "blocked"
    (task,) = tasks(engine)
    assert task.open and task.owner_id == "owner-1"


def test_same_evaluation_again_writes_nothing(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    pipeline.process([item()])
    pipeline.process([item()])

    assert crm.calls["write_back"] == 1
    assert crm.calls["read_deals"] == 3
    assert len(tasks(engine)) == 1
    with Session(engine) as s:
        assert len(list(s.exec(select(Evaluation)))) == 3
        assert len(list(s.exec(select(WriteBackLog)))) == 1


def test_deal_that_becomes_clear_gets_its_task_completed(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.put_deal(snapshot(line_items=[]))

    pipeline.process([item()])

    (task,) = tasks(engine)
    assert not task.open
    with Session(engine) as s:
        assert s.get(TestCrmDeal, "D1").properties["status"] == "clear"
        assert s.get(TestCrmDeal, "D1").properties["block"] is False
        (note,) = s.exec(select(TestCrmNote))  # the change blocked → clear
        assert list(s.exec(select(DealFeature))) == []
    # Clear and already completed: nothing more to write.
    pipeline.process([item()])
    assert crm.calls["write_back"] == 2


def test_clear_deal_never_gets_a_task(pipeline, crm, engine):
    crm.put_deal(snapshot(notes=[Note(id="n1", body="They use our Audit Log daily.")]))
    pipeline.process([item()])

    assert tasks(engine) == []
    with Session(engine) as s:
        assert s.get(TestCrmDeal, "D1").properties["status"] == "clear"
        assert s.exec(select(DealFeature)).one().feature_key == "audit-log"


def test_deleted_deal_stops_being_tracked(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.delete_deal("D1")

    assert pipeline.process([item()])[1].kind == "done"

    with Session(engine) as s:
        assert s.exec(select(Deal)).one().tracked is False
        assert list(s.exec(select(DealFeature))) == []


def test_roadmap_requeue_uses_the_stored_snapshot_without_a_crm_read(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    reads = crm.calls["read_deals"]

    pipeline.process([item(reason="roadmap")])

    assert crm.calls["read_deals"] == reads


def test_a_roadmap_item_rechecks_the_stored_snapshot_and_writes_only_what_changed(
    pipeline, crm, engine, note_reads
):
    """The worker's roadmap items take the inline fan-out's path: the stored references are
    reused (no note read), a new evaluation is stored and written back when the verdict
    changed, and an item that changes nothing stores no evaluation and calls no CRM write."""
    crm.put_deal(snapshot(notes=[Note(id="n", body="We promised them SSO by March.")]))
    pipeline.process([item()])
    writes = crm.calls["write_back"]
    with Session(engine) as s:
        evaluations = len(s.exec(select(Evaluation)).all())

    edit_feature(engine, "sso", availability="available")
    assert pipeline.process([item(reason="roadmap")])[1].kind == "done"
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        assert deal.verdict == "clear" and deal.written_verdict == "clear"
        latest = s.get(Evaluation, deal.last_evaluation_id)
        assert latest.trigger == "roadmap" and latest.verdict == "clear"
        assert len(s.exec(select(Evaluation)).all()) == evaluations + 1
    assert crm.calls["write_back"] == writes + 1
    assert note_reads == ["D1"]  # the webhook's read only

    assert pipeline.process([item(reason="roadmap", id_=2)])[2].kind == "done"
    with Session(engine) as s:
        assert len(s.exec(select(Evaluation)).all()) == evaluations + 1
    assert crm.calls["write_back"] == writes + 1
    assert note_reads == ["D1"]


def test_transient_read_failure_retries_the_batch_with_retry_after(pipeline, crm):
    crm.put_deal(snapshot("D1"))
    crm.put_deal(snapshot("D2"))
    crm.fail_next = [TransientError("rate limited", retry_after=30)]

    outcomes = pipeline.process([item("D1", id_=1), item("D2", id_=2)])

    assert {o.kind for o in outcomes.values()} == {"retry"}
    assert outcomes[1].retry_after == 30


def test_permanent_failure_is_dead(pipeline, crm):
    crm.put_deal(snapshot("D1"))
    crm.fail_next = [PermanentError("token lacks crm.objects.deals.read")]

    assert pipeline.process([item()])[1].kind == "dead"


class RefusingCrm(TestCrmConnector):
    """Refuses any read that asks for one of `refused` (as HubSpot answers a whole batch read
    with one 400), or every read when `refused` is None."""

    def __init__(self, engine, refused: set[str] | None, error: Exception) -> None:
        super().__init__(engine)
        self.refused, self.error, self.asked = refused, error, []

    def read_deals(self, deal_ids):
        self.asked.append(list(deal_ids))
        if self.refused is None or self.refused & set(deal_ids):
            self._call("read_deals")
            raise self.error
        return super().read_deals(deal_ids)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (PermanentError("VALIDATION_ERROR: Invalid input"), "dead"),
        (ValueError("a value our code cannot take"), "retry"),  # a bug: retried, not dead
    ],
)
def test_a_deal_that_fails_its_batch_is_found_and_the_others_go_through(
    seeded, settings, engine, error, kind
):
    crm = RefusingCrm(seeded, {"D3"}, error)
    for n in range(1, 6):
        crm.put_deal(snapshot(f"D{n}", line_items=[SSO_LINE]))
    pipeline = DealPipeline(seeded, settings, {"test": crm})

    outcomes = pipeline.process([item(f"D{n}", id_=n) for n in range(1, 6)])

    assert {n: o.kind for n, o in outcomes.items()} == {
        1: "done",
        2: "done",
        3: kind,
        4: "done",
        5: "done",
    }
    assert "Invalid input" in outcomes[3].error or "cannot take" in outcomes[3].error
    # Halved down to D3: the batch, its halves, then the failing half's halves.
    assert crm.asked == [
        ["D1", "D2", "D3", "D4", "D5"],
        ["D1", "D2"],
        ["D3", "D4", "D5"],
        ["D3"],
        ["D4", "D5"],
    ]
    with Session(engine) as s:
        verdicts = dict(s.exec(select(Deal.deal_id, Deal.verdict)).all())
    assert verdicts == {"D1": "blocked", "D2": "blocked", "D4": "blocked", "D5": "blocked"}
    assert [len(tasks(engine, f"D{n}")) for n in range(1, 6)] == [1, 1, 0, 1, 1]


def test_an_error_that_is_not_one_deals_fails_the_batch_without_asking_again_and_again(
    seeded, settings, engine
):
    crm = RefusingCrm(seeded, None, PermanentError("token lacks crm.objects.deals.read"))
    for n in range(1, 9):
        crm.put_deal(snapshot(f"D{n}"))
    pipeline = DealPipeline(seeded, settings, {"test": crm})

    outcomes = pipeline.process([item(f"D{n}", id_=n) for n in range(1, 9)])

    assert {o.kind for o in outcomes.values()} == {"dead"} and len(outcomes) == 8
    assert len(crm.asked) == 3  # the batch and its two halves: both failed, so no further


def test_a_transient_error_is_never_split_on(seeded, settings, engine):
    crm = RefusingCrm(seeded, {"D2"}, TransientError("rate limited", retry_after=10))
    for n in range(1, 5):
        crm.put_deal(snapshot(f"D{n}"))
    pipeline = DealPipeline(seeded, settings, {"test": crm})

    outcomes = pipeline.process([item(f"D{n}", id_=n) for n in range(1, 5)])

    assert {o.kind for o in outcomes.values()} == {"retry"} and len(crm.asked) == 1


def test_a_deal_whose_storing_fails_leaves_nothing_half_written_and_spares_the_others(
    pipeline, crm, engine, monkeypatch
):
    from app.services import pipeline as module

    store = module.evaluate_and_store_many

    def fails_on_d2(session, context, snapshots, **kw):
        if any(s.deal_id == "D2" for s in snapshots):
            session.add(Deal(crm="test", deal_id="half-written"))
            session.flush()
            raise RuntimeError("value too long for type character varying(255)")
        return store(session, context, snapshots, **kw)

    monkeypatch.setattr(module, "evaluate_and_store_many", fails_on_d2)
    for n in range(1, 4):
        crm.put_deal(snapshot(f"D{n}", line_items=[SSO_LINE]))

    outcomes = pipeline.process([item(f"D{n}", id_=n) for n in range(1, 4)])

    assert {n: o.kind for n, o in outcomes.items()} == {1: "done", 2: "retry", 3: "done"}
    with Session(engine) as s:
        assert sorted(s.exec(select(Deal.deal_id)).all()) == ["D1", "D3"]
    assert [len(tasks(engine, f"D{n}")) for n in range(1, 4)] == [1, 0, 1]


def test_unconfigured_crm_is_dead(pipeline):
    outcome = pipeline.process(
        [QueueItem(id=9, crm="pipedrive", deal_id="x", attempts=1, reason="webhook")]
    )
    assert outcome[9].kind == "dead" and "pipedrive" in outcome[9].error


def test_approval_lifts_the_block_and_names_the_approver(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    with Session(engine) as s:
        s.add(
            Approval(crm="test", deal_id="D1", feature_key="sso", reason="CEO deal", approver="pat")
        )
        s.commit()

    pipeline.process([item(reason="approval")])

    with Session(engine) as s:
        props = s.get(TestCrmDeal, "D1").properties
        assert props["block"] is False
        assert "pat" in props["summary"]
        findings = s.exec(select(Evaluation).order_by(Evaluation.id.desc())).first().findings
        assert any(f["approved"] and f["approved_by"] == "pat" for f in findings)


LOST = Stage(id="lost", label="Closed lost", is_closed=True, probability=0.0)


def _task_and_props(engine, deal_id="D1"):
    with Session(engine) as s:
        [task] = s.exec(select(TestCrmTask).where(TestCrmTask.deal_id == deal_id)).all()
        return task, s.get(TestCrmDeal, deal_id).properties


def test_every_problem_approved_completes_the_task_and_asks_nothing(pipeline, crm, engine):
    """The task stayed open saying "Acme has 1 warning" (there was none) above an "Already
    approved" list, and the summary said "read the roadmap task first", until and after the
    deal was won."""
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    with Session(engine) as s:
        s.add(Approval(crm="test", deal_id="D1", feature_key="sso", reason="CEO", approver="pat"))
        s.commit()

    pipeline.process([item(reason="approval")])

    task, props = _task_and_props(engine)
    assert task.open is False
    assert task.subject == "Roadmap check: Acme D1 is approved, nothing left to do"
    assert "[APPROVED by pat]" in task.body and "Please review" not in task.body
    assert props["status"] == "warning" and props["block"] is False
    assert props["summary"].startswith("Roadmap check: every problem on this deal is approved")
    assert "task" not in props["summary"]
    crm.put_deal(snapshot(line_items=[SSO_LINE], stage=WON))
    pipeline.process([item()])
    task, _ = _task_and_props(engine)
    assert task.open is False


def test_a_signed_deal_whose_approval_expires_is_not_told_it_is_blocked(pipeline, crm, engine):
    """Won under an approval that then expired: the summary said "must be fixed or approved
    before this deal can close" and the task "is blocked (1 problem to fix)", "To lift a
    block...": none of it true of a signed deal."""
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    with Session(engine) as s:
        s.add(Approval(crm="test", deal_id="D1", feature_key="sso", reason="CEO", approver="pat"))
        s.commit()
    pipeline.process([item(reason="approval")])
    crm.put_deal(snapshot(line_items=[SSO_LINE], stage=WON))
    pipeline.process([item()])  # signed under the approval
    with Session(engine) as s:
        s.exec(select(Approval)).one().revoked_at = utcnow()
        s.commit()

    pipeline.process([item(reason="approval")])

    task, props = _task_and_props(engine)
    assert props["status"] == "blocked" and props["block"] is False
    assert props["summary"].startswith(
        "Roadmap check on a signed deal: 1 problem (Single Sign-On); the deal is not blocked."
    )
    assert "before this deal can close" not in props["summary"]
    assert task.open is False and "To lift a block" not in task.body
    assert "is blocked" not in task.subject


def test_a_deal_lost_while_blocked_drops_its_block_and_completes_its_task(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.put_deal(snapshot(line_items=[SSO_LINE], stage=LOST))

    pipeline.process([item()])

    task, props = _task_and_props(engine)
    assert (
        task.open is False
        and task.subject == "Roadmap check: Acme D1 is closed lost, nothing left to do"
    )
    assert props["block"] is False and props["status"] == "blocked"
    assert props["summary"].startswith("Roadmap check on a lost deal: 1 problem (Single Sign-On)")
    assert "before this deal can close" not in props["summary"]
    # Reopened: the block and the task come back.
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    task, props = _task_and_props(engine)
    assert task.open is True and props["block"] is True


def test_the_open_task_follows_the_deal_to_its_new_owner(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    moved = snapshot(line_items=[SSO_LINE]).model_copy(update={"owner_id": "owner-2"})
    crm.put_deal(moved)

    pipeline.process([item()])

    task, _ = _task_and_props(engine)
    assert task.owner_id == "owner-2" and task.open


def test_a_task_written_before_owners_were_recorded_is_not_written_again_for_nothing(
    pipeline, crm, engine
):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        written = dict(deal.written)
        written["task"] = {k: v for k, v in written["task"].items() if k != "owner_id"}
        deal.written = written
        s.commit()
    writes = crm.calls["write_back"]

    pipeline.process([item()])

    assert crm.calls["write_back"] == writes


def test_the_note_says_which_approval_ended_when_a_block_comes_back(pipeline, crm, engine):
    """Revoked or expired, an approval restored the block with no word of why."""
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    with Session(engine) as s:
        s.add(Approval(crm="test", deal_id="D1", feature_key="sso", reason="CEO", approver="pat"))
        s.commit()
    pipeline.process([item(reason="approval")])
    with Session(engine) as s:
        approval = s.exec(select(Approval)).one()
        approval.revoked_at, approval.revoked_by = utcnow(), "approver:dana"
        s.commit()

    pipeline.process([item(reason="approval")])

    with Session(engine) as s:
        notes = s.exec(select(TestCrmNote).order_by(TestCrmNote.id)).all()
    assert notes[-1].body.startswith("Roadmap check: BLOCKED")
    assert (
        "Blocked again because the approval of Single Sign-On by pat was revoked by dana on "
        in (notes[-1].body)
    )
    assert "Blocked again" not in notes[0].body  # the approval's own note (now a warning)


def test_the_note_says_an_expired_approval_expired(pipeline, crm, engine):
    """It said "was expired on"."""
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    with Session(engine) as s:
        s.add(Approval(crm="test", deal_id="D1", feature_key="sso", reason="CEO", approver="pat"))
        s.commit()
    pipeline.process([item(reason="approval")])
    with Session(engine) as s:
        approval = s.exec(select(Approval)).one()
        approval.expires_at = utcnow()  # ended after the last write
        s.commit()

    pipeline.process([item(reason="approval")])

    with Session(engine) as s:
        notes = s.exec(select(TestCrmNote).order_by(TestCrmNote.id)).all()
    assert "Blocked again because the approval of Single Sign-On by pat expired on " in (
        notes[-1].body
    )


def test_expired_approval_does_not_count(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    with Session(engine) as s:
        s.add(
            Approval(
                crm="test",
                deal_id="D1",
                feature_key="sso",
                reason="old",
                approver="pat",
                expires_at=utcnow() - timedelta(minutes=1),
            )
        )
        s.commit()
    pipeline.process([item()])
    with Session(engine) as s:
        assert s.get(TestCrmDeal, "D1").properties["block"] is True


def test_reevaluate_stored_returns_only_deals_whose_verdict_changed(pipeline, crm, engine):
    crm.put_deal(snapshot("D1", line_items=[SSO_LINE]))
    crm.put_deal(snapshot("D2", notes=[Note(id="n", body="They love the Audit Log.")]))
    pipeline.process([item("D1", id_=1), item("D2", id_=2)])
    with Session(engine) as s:
        feature = s.get(Feature, "sso")
        feature.availability = "available"
        s.add(feature)
        s.commit()

    with Session(engine) as s:
        changed = reevaluate_stored(s, "test", ["D1", "D2"], trigger="roadmap")
        s.commit()

    assert changed == ["D1"]
    with Session(engine) as s:
        assert s.exec(select(Deal).where(Deal.deal_id == "D1")).one().verdict == "clear"
        latest = s.exec(select(Evaluation).order_by(Evaluation.id.desc())).first()
        assert latest.trigger == "roadmap" and latest.deal_id == "D1"


def test_reevaluation_reads_the_notes_again_only_when_the_matcher_changed(
    pipeline, crm, engine, note_reads
):
    """Stored references are reused while the snapshot and the catalog matcher (names,
    aliases, SKUs, mappings) are those the previous evaluation saw; a rename reads again."""
    # (Not a promise: a promise of a renamed "SSO" would become an off-roadmap reference.)
    crm.put_deal(snapshot(notes=[Note(id="n", body="They need SSO for every user by March.")]))
    pipeline.process([item()])
    assert note_reads == ["D1"]

    edit_feature(engine, "sso", availability="beta")  # status only: the references hold
    with Session(engine) as s:
        assert reevaluate_stored(s, "test", ["D1"], "roadmap") == ["D1"]
        s.commit()
    assert note_reads == ["D1"]  # not read again
    with Session(engine) as s:
        assert [d.feature_key for d in s.exec(select(DealFeature))] == ["sso"]

    edit_feature(engine, "sso", name="Federated login", aliases=[])  # a rename: read again
    with Session(engine) as s:
        reevaluate_stored(s, "test", ["D1"], "roadmap")
        s.commit()
    assert note_reads == ["D1", "D1"]
    with Session(engine) as s:  # the renamed feature is no longer mentioned
        assert list(s.exec(select(DealFeature))) == []

    edit_feature(engine, "sso", availability="never")  # the new matcher is reused in turn
    with Session(engine) as s:
        reevaluate_stored(s, "test", ["D1"], "roadmap")
        s.commit()
    assert note_reads == ["D1", "D1"]


def test_a_changed_snapshot_is_read_again_under_the_same_matcher(pipeline, crm, engine, note_reads):
    """The reuse also requires that the previous evaluation saw the stored snapshot."""
    crm.put_deal(snapshot(notes=[Note(id="n", body="They love the Audit Log.")]))
    pipeline.process([item()])
    with Session(engine) as s:  # a snapshot stored after its last evaluation
        deal = s.exec(select(Deal)).one()
        body = "We promised them SSO by March."
        deal.snapshot = {**deal.snapshot, "notes": [{"id": "n", "body": body}]}
        deal.snapshot_at = utcnow() + timedelta(seconds=1)
        s.add(deal)
        s.commit()
    with Session(engine) as s:
        assert reevaluate_stored(s, "test", ["D1"], "roadmap") == ["D1"]
        s.commit()
    assert note_reads == ["D1", "D1"]
    with Session(engine) as s:
        assert [d.feature_key for d in s.exec(select(DealFeature))] == ["sso"]


def test_reevaluate_stored_points_each_changed_deal_at_its_own_new_evaluation(
    pipeline, crm, engine
):
    """The chunk's evaluations are inserted together and the deals updated together: every
    changed deal must get the id of the row written for it (not a neighbour's), its verdict
    and its first warning time, in the database and on the session's Deal objects alike; the
    others keep theirs and get no new row."""
    with Session(engine) as s:
        feature = s.get(Feature, "sso")
        feature.availability = "available"
        s.add(feature)
        s.commit()
    ids = [f"D{i}" for i in range(7)]
    for i, deal_id in enumerate(ids):
        lines = [SSO_LINE] if i % 2 == 0 else []
        notes = [Note(id=f"n{i}", body=f"Call {i}: they love the Audit Log.")] if i % 3 else []
        crm.put_deal(snapshot(deal_id, line_items=lines, notes=notes))
    pipeline.process([item(deal_id, id_=i + 1) for i, deal_id in enumerate(ids)])
    with Session(engine) as s:
        deals = list(s.exec(select(Deal)))
        assert {d.verdict for d in deals} == {"clear"}
        assert all(d.first_warning_at is None for d in deals)
        before = {d.deal_id: (d.last_evaluation_id, d.updated_at) for d in deals}
        rows_before = len(s.exec(select(Evaluation)).all())
        feature = s.get(Feature, "sso")
        feature.availability = "never"
        s.add(feature)
        s.commit()

    columns = ("verdict", "last_evaluation_id", "first_warning_at", "updated_at")
    with Session(engine) as s:
        held = list(s.exec(select(Deal)))  # a caller holding the deals sees the new values
        changed = reevaluate_stored(s, "test", list(reversed(ids)), trigger="roadmap")
        assert not s.dirty  # nothing left for the unit of work to write again
        in_session = {d.deal_id: tuple(getattr(d, c) for c in columns) for d in held}
        s.commit()

    assert sorted(changed) == ["D0", "D2", "D4", "D6"]
    with Session(engine) as s:
        deals = {d.deal_id: d for d in s.exec(select(Deal))}
        assert len(s.exec(select(Evaluation)).all()) == rows_before + 4
        for deal_id, deal in deals.items():
            assert in_session[deal_id] == tuple(getattr(deal, c) for c in columns)
            evaluation = s.get(Evaluation, deal.last_evaluation_id)
            assert evaluation.deal_id == deal_id and evaluation.crm == "test"
            assert evaluation.verdict == deal.verdict
            if deal_id in changed:
                assert deal.last_evaluation_id != before[deal_id][0]
                assert evaluation.trigger == "roadmap" and deal.verdict == "blocked"
                assert deal.first_warning_at == evaluation.created_at
                assert deal.updated_at > before[deal_id][1]
                assert [f["feature_key"] for f in evaluation.findings][:1] == ["sso"]
                assert evaluation.snapshot_hash and evaluation.rules_version
            else:
                assert deal.last_evaluation_id == before[deal_id][0]
                assert deal.first_warning_at is None and deal.verdict == "clear"
                assert deal.updated_at == before[deal_id][1]


def test_dependency_rows_store_every_value_of_dependency_values_including_nulls(
    pipeline, crm, engine
):
    """The index rows are one Core insert of `dependency_values`: rows with and without
    None values (an off-roadmap promise has no feature key; a line item has no promised
    date; the deal no owner name or amount) are all stored, each with exactly its values."""
    from app.services.queries import dependency_values, feature_availability

    bare = snapshot(
        "D1",
        line_items=[SSO_LINE],
        notes=[
            Note(id="n1", body="We promised them the Audit Log by March."),
            Note(id="n2", body="We'll build them a custom connector for their ERP."),
            Note(id="n3", body="They need SSO by Q3."),
        ],
    ).model_copy(update={"amount": None, "owner_name": None, "close_date": None})
    crm.put_deal(bare)
    pipeline.process([item()])
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "D1")).one()
        evaluation = s.get(Evaluation, deal.last_evaluation_id)
        from app.rules.model import FeatureReference

        refs = [FeatureReference.model_validate(r) for r in evaluation.references]
        keys = {r.feature_key for r in refs if r.feature_key}
        expected = dependency_values(deal, refs, feature_availability(s, keys))
        stored = [
            {k: getattr(row, k) for k in expected[0]}
            for row in s.exec(select(DealFeature).order_by(DealFeature.id))
        ]
    assert {r["feature_key"] for r in expected} == {"sso", "audit-log", None}
    assert any(r["promised_date"] is None for r in expected)
    assert any(r["promised_date"] is not None for r in expected)
    assert any(r["needed_by"] is None for r in expected)
    assert any(r["needed_by"] is not None for r in expected)
    assert stored == expected


def test_the_customers_needed_by_date_is_stored_and_shown(pipeline, crm, engine):
    """'They need the Audit Log by March': the date is the customer's, not a promise. It is
    kept on the evaluation's references and on the dependency row, and the deal and the
    feature's dependants show it beside the promised date."""
    from app.services.queries import DealFilters, PageRequest, deal_detail, feature_deals

    crm.put_deal(
        snapshot(
            "D1",
            notes=[
                Note(id="n1", body="They need the Audit Log by March."),
                Note(id="n2", body="Audit Log came up again."),
            ],
        )
    )
    pipeline.process([item()])
    march = date(date.today().year + (date.today().month > 3), 3, 31)
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "D1")).one()
        evaluation = s.get(Evaluation, deal.last_evaluation_id)
        assert [(r["source_id"], r["needed_by"]) for r in evaluation.references] == [
            ("n1", march.isoformat()),
            ("n2", None),
        ]
        rows = s.exec(select(DealFeature).order_by(DealFeature.id)).all()
        assert [(r.source_id, r.is_commitment, r.promised_date, r.needed_by) for r in rows] == [
            ("n1", False, None, march),
            ("n2", False, None, None),
        ]
        detail = deal_detail(s, "test", "D1", base_url="http://x")
        assert [(r["promised_date"], r["needed_by"]) for r in detail["references"]] == [
            (None, march.isoformat()),
            (None, None),
        ]
        page = feature_deals(s, "audit-log", DealFilters(), PageRequest(limit=10), base_url="")
        (row,) = page.items
        assert [r["needed_by"] for r in row["references"]] == [march.isoformat(), None]


def test_crm_text_with_a_nul_character_is_stored_and_evaluated(seeded, settings, engine):
    """PostgreSQL text cannot hold NUL: a deal name or note carrying one (pasted from another
    tool) failed every attempt to store the deal, which went dead. It is stored with U+FFFD in
    its place, on both databases, and the note still counts as evidence."""

    class PastingCrm(TestCrmConnector):
        def read_deals(self, deal_ids):
            return {
                deal_id: snap.model_copy(
                    update={
                        "name": "Acme\x00 Corp",
                        "notes": [Note(id="n1", body="We promised SSO\x00 by June.")],
                    }
                )
                for deal_id, snap in super().read_deals(deal_ids).items()
            }

    crm = PastingCrm(seeded)
    crm.put_deal(snapshot())
    outcomes = DealPipeline(seeded, settings, {"test": crm}).process([item()])

    assert outcomes[1].kind == "done", outcomes[1]
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        assert deal.name == "Acme\ufffd Corp" and deal.verdict == "blocked"
        assert deal.snapshot["notes"][0]["body"] == "We promised SSO\ufffd by June."
        [dep] = s.exec(select(DealFeature)).all()
        assert (dep.feature_key, dep.evidence) == ("sso", "We promised SSO\ufffd by June.")


def _plans(crm, monkeypatch) -> list:
    seen: list = []
    real = crm.write_back

    def spy(items):
        seen.extend(items)
        return real(items)

    monkeypatch.setattr(crm, "write_back", spy)
    return seen


@pytest.mark.parametrize("reason", ["ledger", "roadmap", "approval", "webhook"])
def test_a_signed_deal_is_not_blocked_or_reverted_when_a_promise_breaks_later(
    pipeline, crm, engine, monkeypatch, reason
):
    """Won while clear: a feature that slips afterwards (re-checked from the stored snapshot,
    or on the next edit of the won deal) is reported, not enforced: no block flag (Salesforce's
    rule would refuse every later save), no guard (HubSpot would move it out of closed-won),
    no new roadmap task."""
    audit = LineItem(id="li-2", name="Audit Log", quantity=1)
    crm.put_deal(snapshot(notes=[Note(id="n1", body="We promised the Audit Log by Q3.")]))
    pipeline.process([item()])
    crm.put_deal(
        snapshot(stage=WON, line_items=[audit], notes=[Note(id="n1", body="Audit Log sold.")])
    )
    pipeline.process([item()])  # signed while clear
    with Session(engine) as s:
        assert s.exec(select(Deal)).one().verdict == "clear"
    edit_feature(engine, "audit-log", availability="never")

    plans = _plans(crm, monkeypatch)
    assert pipeline.process([item(reason=reason)])[1].kind == "done"
    [plan] = plans
    assert plan.status.value == "blocked" and plan.block is False
    assert plan.task is None
    with Session(engine) as s:
        row = s.get(TestCrmDeal, "D1")
        assert row.properties["status"] == "blocked" and row.properties["block"] is False
    assert tasks(engine) == []


def test_a_deal_moved_to_won_while_blocked_is_still_guarded(pipeline, crm, engine, monkeypatch):
    """Open and clear when last seen; won in the same edit that the roadmap turned against it:
    it reached a won stage blocked, which the guard is for."""
    audit = LineItem(id="li-2", name="Audit Log", quantity=1)
    crm.put_deal(snapshot(line_items=[audit]))
    pipeline.process([item()])
    edit_feature(engine, "audit-log", availability="never")
    crm.put_deal(snapshot(stage=WON, line_items=[audit]))
    plans = _plans(crm, monkeypatch)
    pipeline.process([item()])
    [plan] = plans
    assert plan.block is True and plan.snapshot.stage.is_won
    assert plan.task is not None and plan.task.open


def test_today_is_the_day_where_the_sales_team_works() -> None:
    """Rules' `today` (close dates in the past, promises already due) is the business time
    zone's day: 7 pm on 31 March in Los Angeles is 1 April in UTC."""
    from datetime import UTC, datetime

    from app.rules.catalog import Catalog
    from app.services.pipeline import EvaluationContext

    now = datetime(2027, 4, 1, 2, 0, tzinfo=UTC)
    local = EvaluationContext(Catalog([], timezone="America/Los_Angeles"), [], {}, now)
    utc = EvaluationContext(Catalog([]), [], {}, now)
    assert (local.today, utc.today) == (date(2027, 3, 31), date(2027, 4, 1))


def test_a_release_that_reads_notes_differently_rereads_open_deals_once(
    pipeline, crm, engine, note_reads
):
    """An upgrade's new reading reaches every open deal without a CRM read: the `reread`
    schedule queues the open deals a different reading evaluated, the worker re-reads their
    stored snapshots and writes back what changed; closed deals and a second run queue nothing."""
    from app.models import DealQueue
    from app.services.reread import reread_after_upgrade

    body = "Removed SSO from the order form."  # SSO never comes: read as a dependency, blocked
    crm.put_deal(snapshot(notes=[Note(id="n", body=body)]))
    crm.put_deal(snapshot("D2", notes=[Note(id="n2", body=body)], stage=WON))
    crm.put_deal(snapshot("D3", line_items=[SSO_LINE]))
    pipeline.process([item(), item("D2", id_=2), item("D3", id_=3)])
    with Session(engine) as s:  # as an older release left them: SSO read as a dependency
        for deal in s.exec(select(Deal).where(Deal.deal_id.in_(["D1", "D2"]))):
            latest = s.get(Evaluation, deal.last_evaluation_id)
            latest.matcher_version = "an-older-release"
            deal.verdict = deal.written_verdict = latest.verdict = "blocked"
            s.add_all([deal, latest])
        s.commit()
    reads, writes = crm.calls["read_deals"], crm.calls["write_back"]

    from app.jobs.schedules import JobContext, load_schedules

    state = load_schedules()["reread"].run(
        JobContext(engine=engine, settings=pipeline.settings, connectors={})
    )
    assert state["reading"]
    with Session(engine) as s:
        assert [(q.deal_id, q.reason) for q in s.exec(select(DealQueue))] == [("D1", "reread")]
    assert pipeline.process([item(reason="reread")])[1].kind == "done"

    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "D1")).one()
        assert deal.verdict == "clear" and deal.written_verdict == "clear"
        assert s.get(Evaluation, deal.last_evaluation_id).trigger == "reread"
        again, queued = reread_after_upgrade(s, state)
        assert (again, queued) == (state, 0)
    assert crm.calls["read_deals"] == reads  # from the stored snapshot
    assert crm.calls["write_back"] == writes + 1
    assert note_reads[-1] == "D1"  # its notes were read again, under the current reading


def test_a_hedged_promise_is_marked_on_the_dependency_index(pipeline, crm, engine):
    """The deal views read the index: which promises were said firmly and which with a hedge."""
    from app.services.queries import deal_detail

    notes = [
        Note(id="n1", body="We might have SSO by Q2."),
        Note(id="n2", body="Audit Log: we will have it by Q2."),
    ]
    crm.put_deal(snapshot(notes=notes))
    pipeline.process([item()])
    with Session(engine) as s:
        rows = {r.feature_key: (r.is_commitment, r.hedged) for r in s.exec(select(DealFeature))}
        detail = deal_detail(s, "test", "D1", base_url="http://x")
    assert rows == {"sso": (True, True), "audit-log": (True, False)}
    assert {r["feature_key"]: r["hedged"] for r in detail["references"]} == {
        "sso": True,
        "audit-log": False,
    }


def test_dependency_rows_mark_promises_and_a_promised_row_first_of_its_availability():
    """`promised` says the deal was promised the feature or buys it (a commitment, or a line
    item). Per availability, the row that stands for the deal in the exposure split is a
    promised one when there is one, else the first: a deal that mentions one never-built
    feature before it buys another is counted as promised a never-built feature."""
    from app.rules.model import FeatureReference
    from app.services.queries import dependency_values

    deal = Deal(crm="testcrm", deal_id="D1", name="D1", tracked=True, is_closed=False)
    refs = [
        FeatureReference(feature_key="api", feature_name="API", source="note", evidence="a"),
        FeatureReference(feature_key="sso", feature_name="SSO", source="note", evidence="b"),
        FeatureReference(
            feature_key="audit", feature_name="Audit", source="line_item", evidence="c"
        ),
        FeatureReference(
            feature_key="scim", feature_name="SCIM", source="note", evidence="d", is_commitment=True
        ),
        FeatureReference(feature_key="sso", feature_name="SSO", source="line_item", evidence="e"),
    ]
    availability = {"sso": "coming_soon", "audit": "never", "scim": "never", "api": "never"}
    rows = dependency_values(deal, refs, availability)
    assert [r["promised"] for r in rows] == [False, False, True, True, True]
    assert [r["is_primary"] for r in rows] == [True, False, True, True, True]
    # never: audit (the first promised), not the api mention before it; coming_soon: SSO
    assert [r["availability_first"] for r in rows] == [False, False, True, False, True]


def test_reading_an_unchanged_deal_again_gives_the_same_snapshot_hash():
    """The connectors stamp `extra.read_at`; the hash (reports date a closing by it) is of the
    deal as read, not of when."""
    from app.services.pipeline import _snapshot_hash

    first = {"crm": "hubspot", "deal_id": "1", "extra": {"read_at": "2026-12-01T00:00:00+00:00"}}
    again = {"crm": "hubspot", "deal_id": "1", "extra": {"read_at": "2026-12-02T00:00:00+00:00"}}
    edited = {"crm": "hubspot", "deal_id": "1", "name": "x", "extra": {"read_at": "x"}}
    assert _snapshot_hash(first) == _snapshot_hash(again) != _snapshot_hash(edited)


def test_a_nice_to_have_is_marked_on_the_dependency_index(pipeline, crm, engine):
    """Engineering's views read the index: which features a deal needs and which it only
    called nice to have. The deal views show the mark on each reference."""
    from app.services.queries import deal_detail

    notes = [
        Note(id="n1", body="SSO would be nice to have."),
        Note(id="n2", body="They need the audit log."),
    ]
    crm.put_deal(snapshot(notes=notes))
    pipeline.process([item()])
    with Session(engine) as s:
        rows = {r.feature_key: (r.optional, r.is_primary) for r in s.exec(select(DealFeature))}
        detail = deal_detail(s, "test", "D1", base_url="http://x")
    assert rows == {"sso": (True, True), "audit-log": (False, True)}
    assert {r["feature_key"]: r["optional"] for r in detail["references"]} == {
        "sso": True,
        "audit-log": False,
    }


def test_a_need_stands_for_the_deal_before_a_nice_to_have():
    """A deal that first calls SSO nice to have and later needs it depends on SSO: the need is
    its primary row. Per availability, a needed feature stands for the deal before one it only
    wished for, so the split of needs and of wishes alone reads the same rows."""
    from app.rules.model import FeatureReference
    from app.services.queries import dependency_values

    deal = Deal(crm="testcrm", deal_id="D1", name="D1", tracked=True, is_closed=False)
    refs = [
        FeatureReference(
            feature_key="sso", feature_name="SSO", source="note", evidence="a", optional=True
        ),
        FeatureReference(feature_key="sso", feature_name="SSO", source="note", evidence="b"),
        FeatureReference(
            feature_key="api", feature_name="API", source="note", evidence="c", optional=True
        ),
        FeatureReference(feature_key="scim", feature_name="SCIM", source="note", evidence="d"),
    ]
    availability = {"sso": "coming_soon", "api": "never", "scim": "never"}
    rows = dependency_values(deal, refs, availability)
    assert [r["optional"] for r in rows] == [True, False, True, False]
    assert [r["is_primary"] for r in rows] == [False, True, True, True]
    # never: SCIM (needed), not the API wish before it; coming_soon: SSO's need
    assert [r["availability_first"] for r in rows] == [False, True, False, True]


def test_the_link_written_to_the_crm_has_its_ids_percent_encoded(engine, settings):
    """A deal id such as "D 45#x?y" was written into the CRM record as ".../D 45#x?y": the
    '#x?y' became a fragment and a query, and the link opened a deal that does not exist.
    The CRM's link is now the one every view lists (queries.evaluation_url)."""
    from app.models import Deal

    pipeline = DealPipeline(engine, settings, {})
    base = settings.public_base_url.rstrip("/")
    link = pipeline.evaluation_url(Deal(crm="test", deal_id="D 45#x?y"))
    assert link == f"{base}/dashboard/deals/test/D%2045%23x%3Fy"
    assert pipeline.evaluation_url(Deal(crm="hubspot", deal_id="123")) == (
        f"{base}/dashboard/deals/hubspot/123"
    )


def test_a_deal_first_seen_already_won_is_signed_at_its_close_date(pipeline, crm, engine):
    """An old win read for the first time (edited long after, or on a new install) was
    signed "now": the leadership report counted every such deal in the current quarter. Its
    entries are signed at its close date; a deal seen open, then won, is signed when seen won."""
    from app.models import Commitment

    with Session(engine) as s:
        s.add(
            Feature(
                key="scim",
                name="SCIM",
                aliases=["SCIM"],
                availability="coming_soon",
                target_date=date(2020, 1, 1),
            )
        )
        s.commit()
    note = Note(id="n1", body="We promised SCIM.", created_at=utcnow())
    old = snapshot("OLD", notes=[note], stage=WON).model_copy(
        update={"close_date": date(2026, 3, 15)}
    )
    crm.put_deal(old)
    crm.put_deal(snapshot("NEW", notes=[note]))
    pipeline.process([item("OLD", id_=1), item("NEW", id_=2)])
    crm.put_deal(snapshot("NEW", notes=[note], stage=WON).model_copy(
        update={"close_date": date(2026, 3, 15)}
    ))  # fmt: skip
    before = utcnow()
    pipeline.process([item("NEW", id_=3)])
    with Session(engine) as s:
        signed = {c.deal_id: c for c in s.exec(select(Commitment))}
    assert signed["OLD"].signed_at == datetime(2026, 3, 15, 12, tzinfo=UTC)
    assert signed["OLD"].recorded_at >= before - timedelta(minutes=5)
    assert signed["NEW"].signed_at >= before


def test_a_deal_taken_out_of_won_has_its_promises_withdrawn_until_won_again(pipeline, crm, engine):
    """Won, then lost (or reopened): its entries stay in the ledger, marked withdrawn, so a
    slip of the feature sends no "promise at risk" task and the report does not count it as
    signed; won again, they stand again."""
    from app.models import Commitment
    from app.services import ledger

    with Session(engine) as s:
        s.add(Feature(key="scim", name="SCIM", aliases=["SCIM"], availability="coming_soon",
                      target_date=date(2020, 1, 1)))  # fmt: skip
        s.commit()
    note = Note(id="n1", body="We promised SCIM.", created_at=utcnow())
    lost = Stage(id="lost", label="Closed lost", is_closed=True, probability=0.0)
    crm.put_deal(snapshot(notes=[note]))
    pipeline.process([item(id_=1)])
    crm.put_deal(snapshot(notes=[note], stage=WON))
    pipeline.process([item(id_=2)])
    crm.put_deal(snapshot(notes=[note], stage=lost))
    pipeline.process([item(id_=3)])
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment))
        assert entry.withdrawn_at is not None
    edit_feature(engine, "scim", availability="never")  # the promise breaks
    with Session(engine) as s:
        assert ledger.check_all(s) == {}  # nobody to tell: the deal was not signed after all
        s.commit()
    crm.put_deal(snapshot(notes=[note], stage=WON))
    pipeline.process([item(id_=4)])
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment))
        assert entry.withdrawn_at is None
        assert ledger.check_all(s) == {"test": ["D1"]}  # signed again: the slip is followed up


def test_a_read_that_cannot_name_the_owner_keeps_the_stored_name(pipeline, crm, engine):
    """HubSpot names a deal's owner through its Owners API; when that is refused or down (or a
    fresh worker's name cache is cold) the deal is read with no owner name. That read wiped
    the stored name, and the views, reports and dependency rows showed the owner's id. The
    name stored for the same owner is kept; another owner's is not."""

    def owner(deal_id="D1") -> tuple:
        with Session(engine) as s:
            deal = s.exec(select(Deal).where(Deal.deal_id == deal_id)).one()
            dep = s.exec(select(DealFeature).where(DealFeature.deal_id == deal_id)).first()
            return deal.owner_name, deal.snapshot["owner_name"], dep.owner_name if dep else None

    named = snapshot(line_items=[SSO_LINE]).model_copy(update={"owner_name": "Dana Scully"})
    crm.put_deal(named)
    pipeline.process([item(id_=1)])
    assert owner() == ("Dana Scully", "Dana Scully", "Dana Scully")
    crm.put_deal(named.model_copy(update={"owner_name": None, "name": "Acme D1 (renewal)"}))
    pipeline.process([item(id_=2)])
    assert owner() == ("Dana Scully", "Dana Scully", "Dana Scully")
    crm.put_deal(named.model_copy(update={"owner_name": None, "owner_id": "owner-2"}))
    pipeline.process([item(id_=3)])
    assert owner() == (None, None, None)
