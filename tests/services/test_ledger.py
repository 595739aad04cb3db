"""The commitment ledger: promises recorded on win, flagged when the roadmap slips, and one
followup task per broken promise through the pipeline's write-back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.models import Approval, Commitment, Deal, Feature, utcnow
from app.rules.model import (
    DealSnapshot,
    EvaluationResult,
    FeatureReference,
    Finding,
    Severity,
    Stage,
    VerdictStatus,
)
from app.services import ledger

WON = Stage(id="won", label="Closed won", is_won=True, is_closed=True, probability=1.0)
OPEN = Stage(id="nego", label="Negotiation", probability=0.6)


def _snapshot(stage=WON) -> DealSnapshot:
    return DealSnapshot(
        crm="test", deal_id="D1", name="Acme renewal", stage=stage, amount=Decimal("42000"),
        currency="EUR", amount_home=Decimal("46200"), home_currency="USD", owner_id="owner-7",
        account_name="Acme",
    )  # fmt: skip


def _ref(
    key: str,
    evidence: str,
    promised: date | None = None,
    *,
    commitment: bool = False,
    source: str = "note",
    hedged: bool = False,
) -> FeatureReference:
    return FeatureReference(
        feature_key=key, feature_name=key.upper(), source=source, evidence=evidence,
        promised_date=promised, is_commitment=commitment, hedged=hedged,
    )  # fmt: skip


@pytest.fixture
def catalog(session: Session):
    session.add(
        Feature(key="sso", name="SSO", availability="coming_soon", target_date=date(2026, 6, 30))
    )
    session.add(Feature(key="scim", name="SCIM", availability="never"))
    session.add(Feature(key="api", name="API", availability="available"))
    session.add(Feature(key="audit", name="Audit", availability="beta"))
    approval = Approval(crm="test", deal_id="D1", feature_key="scim", reason="strategic",
                        approver="pat", promised_date=date(2026, 9, 1))  # fmt: skip
    session.add(approval)
    session.add(Deal(crm="test", deal_id="D1"))
    session.commit()
    return approval


def _result(approval_id: int) -> EvaluationResult:
    return EvaluationResult(
        status=VerdictStatus.warning,
        findings=[
            Finding(rule_id="never", severity=Severity.block, message="SCIM will not be built",
                    feature_key="scim", approved=True, approved_by="pat", approval_id=approval_id),
            Finding(rule_id="soon", severity=Severity.warning, message="SSO is coming",
                    feature_key="sso"),
        ],
        references=[
            _ref("sso", "SSO by June"),
            _ref("scim", "SCIM included", promised=date(2026, 8, 1)),
            _ref("api", "API access"),
            _ref("audit", "audit beta"),
        ],
    )  # fmt: skip


def _entries(session: Session) -> dict[str, Commitment]:
    session.expire_all()
    return {c.feature_key: c for c in session.exec(select(Commitment))}


def test_win_records_approved_and_coming_soon_promises_once(session, catalog):
    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(OPEN), _result(catalog.id), was_won=False)
    assert _entries(session) == {}  # not won: nothing promised yet

    for _ in range(2):  # idempotent: a re-evaluation of the won deal adds nothing
        ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
        session.commit()
    entries = _entries(session)
    assert set(entries) == {"sso", "scim"}  # available and beta features are not promises
    scim, sso = entries["scim"], entries["sso"]
    assert (scim.approver, scim.approval_id, scim.promised_date) == (
        "pat",
        catalog.id,
        date(2026, 9, 1),
    )
    assert (scim.availability_at_signing, scim.amount, scim.account_name) == (
        "never",
        Decimal("42000"),
        "Acme",
    )
    assert (scim.currency, scim.amount_home, scim.home_currency) == ("EUR", Decimal("46200"), "USD")
    assert (sso.approver, sso.promised_date, sso.evidence) == (
        None,
        date(2026, 6, 30),
        "SSO by June",
    )
    assert sso.owner_id == "owner-7" and sso.deal_name == "Acme renewal"


@pytest.mark.parametrize(
    ("refs", "promised", "evidence"),
    [
        pytest.param(  # the casual mention comes first; the dated promise is the commitment
            [_ref("sso", "SSO came up."),
             _ref("sso", "We promised SSO by Q1 2026.", date(2026, 3, 31), commitment=True)],
            date(2026, 3, 31), "We promised SSO by Q1 2026.", id="promise-after-mention",
        ),
        pytest.param(  # a dated mention is no promise: the undated commitment wins, and its
            # date is the roadmap's (not the mention's, which would flag a slip that is none)
            [_ref("sso", "SSO might land in Q1 2026.", date(2026, 3, 31)),
             _ref("sso", "We promised SSO.", commitment=True)],
            date(2026, 6, 30), "We promised SSO.", id="commitment-over-dated-mention",
        ),
        pytest.param(
            [_ref("sso", "We promised SSO.", commitment=True),
             _ref("sso", "We promised SSO by May.", date(2026, 5, 31), commitment=True)],
            date(2026, 5, 31), "We promised SSO by May.", id="dated-over-undated",
        ),
        pytest.param(
            [_ref("sso", "SSO came up."), _ref("sso", "Single Sign-On", source="line_item")],
            date(2026, 6, 30), "Single Sign-On", id="line-item-over-note",
        ),
        pytest.param(
            [_ref("sso", "Single Sign-On", source="line_item"),
             _ref("sso", "We committed to SSO.", commitment=True)],
            date(2026, 6, 30), "We committed to SSO.", id="commitment-over-line-item",
        ),
        pytest.param(  # the firm promise is the record, though the hedged one has a date
            [_ref("sso", "We might have SSO by May.", date(2026, 5, 31), commitment=True,
                  hedged=True),
             _ref("sso", "We committed to SSO.", commitment=True)],
            date(2026, 6, 30), "We committed to SSO.", id="firm-over-hedged",
        ),
        pytest.param(  # equally strong: the first, as the read model's primary row
            [_ref("sso", "We promised SSO by May.", date(2026, 5, 31), commitment=True),
             _ref("sso", "We promised SSO by April.", date(2026, 4, 30), commitment=True)],
            date(2026, 5, 31), "We promised SSO by May.", id="tie-keeps-first",
        ),
    ],
)  # fmt: skip
def test_entry_records_the_strongest_reference(session, catalog, refs, promised, evidence):
    deal = session.exec(select(Deal)).one()
    result = EvaluationResult(status=VerdictStatus.warning, references=refs)
    ledger.on_evaluated(session, deal, _snapshot(), result, was_won=False)
    sso = _entries(session)["sso"]
    assert (sso.promised_date, sso.evidence) == (promised, evidence)


@pytest.mark.parametrize(
    ("refs", "hedged"),
    [
        ([_ref("sso", "We might have SSO by May.", date(2026, 5, 31), commitment=True,
               hedged=True)], True),
        ([_ref("sso", "We might have SSO by May.", date(2026, 5, 31), commitment=True,
               hedged=True),
          _ref("sso", "We committed to SSO by May.", date(2026, 5, 31), commitment=True)], False),
        ([_ref("sso", "SSO by June")], False),  # a coming-soon mention: no hedge to record
    ],
)  # fmt: skip
def test_entry_says_whether_the_promise_was_hedged(session, catalog, refs, hedged):
    deal = session.exec(select(Deal)).one()
    result = EvaluationResult(status=VerdictStatus.warning, references=refs)
    ledger.on_evaluated(session, deal, _snapshot(), result, was_won=False)
    assert _entries(session)["sso"].hedged is hedged


def test_strongest_reference_decides_which_slip_breaks_the_promise(session, catalog):
    """The promise is for Q1 2026 though the deal first mentions SSO casually: the roadmap
    moving to May breaks it (reading the mention, the entry took the June target date)."""
    deal = session.exec(select(Deal)).one()
    result = EvaluationResult(
        status=VerdictStatus.warning,
        references=[
            _ref("sso", "SSO came up."),
            _ref("sso", "We promised SSO by Q1 2026.", date(2026, 3, 31), commitment=True),
        ],
    )
    ledger.on_evaluated(session, deal, _snapshot(), result, was_won=False)
    sso = session.get(Feature, "sso")
    sso.target_date = date(2026, 5, 15)
    session.add(sso)
    assert ledger.on_features_changed(session, ["sso"]) == [("test", "D1")]
    entry = _entries(session)["sso"]
    assert "May 15, 2026" in entry.flag_reason and "Mar 31, 2026" in entry.flag_reason


def test_notes_promise_after_a_mention_through_the_pipeline(engine, settings):
    """'SCIM came up.' in one note, 'We promised SCIM by Q1 2027.' in a later one (within one
    note the matcher keeps the strongest sentence): the win records the promised date, not the
    roadmap's, so a slip to May 2027 flags it."""
    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.types import QueueItem
    from app.rules.model import Note
    from app.services.pipeline import DealPipeline
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(Feature(key="scim", name="SCIM", availability="coming_soon",
                      target_date=date(2027, 3, 15)))  # fmt: skip
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    notes = [
        Note(id="n1", body="SCIM came up on the call. Pricing is agreed."),
        Note(id="n2", body="Follow-up: we promised SCIM by Q1 2027."),
    ]
    crm.put_deal(
        DealSnapshot(crm="test", deal_id="D1", name="Acme", stage=WON, amount=Decimal("9000"),
                     owner_id="owner-1", notes=notes)
    )  # fmt: skip
    pipeline = DealPipeline(engine, settings, {"test": crm})
    pipeline.process([QueueItem(id=1, crm="test", deal_id="D1", attempts=1, reason="webhook")])
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment)).all()
        assert entry.promised_date == date(2027, 3, 31)
        assert "we promised SCIM by Q1 2027" in entry.evidence
        assert ledger.on_features_changed(s, ["scim"]) == []  # 2027-03-15 keeps the promise
        feature = s.get(Feature, "scim")
        feature.target_date = date(2027, 5, 1)
        s.add(feature)
        assert ledger.on_features_changed(s, ["scim"]) == [("test", "D1")]


def test_slip_flags_entry_once_and_asks_for_one_followup(session, catalog):
    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
    session.commit()
    assert ledger.on_features_changed(session, ["sso", "scim"]) == []  # nothing moved yet

    sso = session.get(Feature, "sso")
    sso.target_date = date(2026, 8, 15)  # past the promised 2026-06-30
    session.add(sso)
    assert ledger.on_features_changed(session, ["sso"]) == [("test", "D1")]
    session.commit()
    entries = _entries(session)
    assert entries["sso"].flagged_at is not None and "Aug 15, 2026" in entries["sso"].flag_reason
    assert entries["scim"].flagged_at is None

    pending = ledger.pending_followups(session, "test", "D1")
    key = f"commitment:{entries['sso'].id}"
    assert list(pending) == [key]
    assert pending[key].owner_id == "owner-7" and "SSO" in pending[key].subject
    # The broken promise's reason ends its sentence before the next one begins.
    assert "now targets Aug 15, 2026, after the promised Jun 30, 2026. Talk to the customer" in (
        pending[key].body
    )
    ledger.mark_followups_created(session, "test", "D1", [key])
    session.commit()
    assert ledger.pending_followups(session, "test", "D1") == {}
    # A further change of the same feature does not flag (or task) the entry again.
    sso.target_date = date(2026, 12, 1)
    session.add(sso)
    assert ledger.on_features_changed(session, ["sso"]) == []


def test_availability_drop_and_removal_flag(session, catalog):
    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
    sso = session.get(Feature, "sso")
    sso.availability = "uncertain"
    session.add(sso)
    session.delete(session.get(Feature, "scim"))
    session.flush()
    assert ledger.on_features_changed(session, ["sso", "scim"]) == [("test", "D1")]
    entries = _entries(session)
    assert entries["sso"].flag_reason == (
        "'SSO' was coming soon when the deal was signed and is now not committed on the roadmap"
    )
    assert "no longer on the roadmap" in entries["scim"].flag_reason


def test_target_date_removed_flags_the_dated_promise(session, catalog):
    """The roadmap no longer gives SSO a date: the promise of 2026-06-30 is at risk, though the
    availability stays coming_soon. SCIM never had a target date (its promise was approved
    against 'never'), so it has none to lose."""
    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
    sso = session.get(Feature, "sso")
    sso.target_date = None
    session.add(sso)
    session.flush()
    assert ledger.on_features_changed(session, ["sso", "scim"]) == [("test", "D1")]
    entries = _entries(session)
    assert entries["sso"].flag_reason == (
        "'SSO' no longer has a target date (it targeted Jun 30, 2026 when the deal was signed)"
    )
    assert entries["scim"].flagged_at is None
    (task,) = ledger.pending_followups(session, "test", "D1").values()
    assert "no longer has a target date" in task.body
    # The reason is a sentence of its own: a full stop before the next one.
    assert "(it targeted Jun 30, 2026 when the deal was signed). Talk to the customer" in task.body


@pytest.mark.parametrize(
    ("availability", "promised", "flagged"),
    [
        ("available", date(2026, 6, 30), False),  # delivered: no date needed any more
        ("beta", date(2026, 6, 30), False),
        ("coming_soon", None, False),  # nothing dated was promised
        ("coming_soon", date(2026, 6, 30), True),
    ],
)
def test_target_date_removal_only_breaks_a_dated_undelivered_promise(
    session, catalog, availability, promised, flagged
):
    entry = Commitment(crm="test", deal_id="D1", deal_name="Acme", feature_key="sso",
                       promise_key="sso", feature_name="SSO", availability_at_signing="coming_soon",
                       target_date_at_signing=date(2026, 6, 30), promised_date=promised,
                       signed_at=utcnow())  # fmt: skip
    feature = Feature(key="sso", name="SSO", availability=availability, target_date=None)
    assert (ledger.slip_reason(entry, feature) is not None) is flagged


def test_feature_delivered_early_is_not_a_slip(session, catalog):
    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
    sso = session.get(Feature, "sso")
    sso.availability, sso.target_date = "available", date(2026, 12, 1)
    session.add(sso)
    assert ledger.on_features_changed(session, ["sso"]) == []


def test_slip_creates_exactly_one_crm_task_through_the_pipeline(engine, settings):
    """Won on a coming_soon feature → ledger entry; the date slips → one followup task in the
    CRM, and further evaluations do not create another."""
    from datetime import timedelta

    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.types import QueueItem
    from app.models import TestCrmTask
    from app.rules.model import LineItem
    from app.services.pipeline import DealPipeline
    from app.services.rules_service import install_default_rules

    target = date.today() + timedelta(days=60)
    with Session(engine) as s:
        s.add(
            Feature(
                key="sso", name="Single Sign-On", availability="coming_soon", target_date=target
            )
        )
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    crm.put_deal(
        DealSnapshot(crm="test", deal_id="D1", name="Acme", stage=WON, amount=Decimal("9000"),
                     owner_id="owner-1", line_items=[LineItem(id="l1", name="Single Sign-On")])
    )  # fmt: skip
    pipeline = DealPipeline(engine, settings, {"test": crm})
    pipeline.process([QueueItem(id=1, crm="test", deal_id="D1", attempts=1, reason="webhook")])
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment)).all()
        entry_id = entry.id
        assert (entry.feature_key, entry.promised_date, entry.amount) == (
            "sso",
            target,
            Decimal("9000"),
        )
        feature = s.get(Feature, "sso")
        feature.target_date = target + timedelta(days=90)
        s.add(feature)
        assert ledger.on_features_changed(s, ["sso"]) == [("test", "D1")]
        s.commit()

    for n in range(3):  # the roadmap fan-out and later changes evaluate the deal again
        pipeline.process(
            [QueueItem(id=2 + n, crm="test", deal_id="D1", attempts=1, reason="roadmap")]
        )
    with Session(engine) as s:
        followups = s.exec(select(TestCrmTask).where(TestCrmTask.followup_key.is_not(None))).all()
        assert [(t.followup_key, t.owner_id) for t in followups] == [
            (f"commitment:{entry_id}", "owner-1")
        ]
        assert "Single Sign-On" in followups[0].subject
        assert s.exec(select(Commitment)).one().task_requested is True
        assert ledger.pending_followups(s, "test", "D1") == {}


def test_ledger_sweep_flags_and_queues_won_deals(session, catalog, engine, settings):
    from app.jobs.schedules import JobContext, load_schedules
    from app.models import DealQueue

    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
    sso = session.get(Feature, "sso")
    sso.target_date = date(2027, 1, 1)
    session.add(sso)
    session.commit()
    job = load_schedules()["ledger.check"]
    job.run(JobContext(engine=engine, settings=settings, connectors={}))
    session.expire_all()
    queued = session.exec(select(DealQueue)).one()
    assert (queued.deal_id, queued.reason) == ("D1", "ledger")
    assert _entries(session)["sso"].flagged_at is not None


def test_a_slip_of_a_deal_deleted_in_the_crm_is_flagged_but_not_queued(
    session, catalog, engine, settings
):
    """The entry is flagged (the ledger lists the broken promise); the deal is not queued for
    a CRM read that can only answer "gone": there is no record to put the task on."""
    from app.jobs.schedules import JobContext, load_schedules
    from app.models import DealQueue

    deal = session.exec(select(Deal)).one()
    ledger.on_evaluated(session, deal, _snapshot(), _result(catalog.id), was_won=False)
    deal.tracked = False  # deleted (or merged away) in the CRM since the win
    session.add(deal)
    sso = session.get(Feature, "sso")
    sso.target_date = date(2027, 1, 1)
    session.add(sso)
    session.commit()
    job = load_schedules()["ledger.check"]
    job.run(JobContext(engine=engine, settings=settings, connectors={}))
    session.expire_all()
    assert session.exec(select(DealQueue)).all() == []
    assert "Jan 1, 2027" in _entries(session)["sso"].flag_reason


def test_won_deal_with_an_approved_off_roadmap_promise_is_recorded_and_reported(engine, settings):
    """'We'll build a custom SAP connector' names nothing on the roadmap; once approved and won,
    it is one ledger entry naming its approver, the sweep leaves it alone, and the leadership
    report counts it."""
    from datetime import timedelta

    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.types import QueueItem
    from app.models import Evaluation, utcnow
    from app.rules.model import Note
    from app.services import approvals, reports
    from app.services.pipeline import DealPipeline
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    note = Note(id="n1", body="We promised we'll build them a custom connector for SAP.")

    def put(stage: Stage) -> None:
        crm.put_deal(
            DealSnapshot(crm="test", deal_id="D1", name="Acme", stage=stage, pipeline="enterprise",
                         amount=Decimal("80000"), close_date=date(2026, 12, 15),
                         owner_id="owner-1", notes=[note])
        )  # fmt: skip

    put(OPEN)
    pipeline = DealPipeline(engine, settings, {"test": crm})
    pipeline.process([QueueItem(id=1, crm="test", deal_id="D1", attempts=1, reason="webhook")])
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        findings = s.get(Evaluation, deal.last_evaluation_id).findings
        (blocking,) = [f for f in findings if f["severity"] == "block"]
        assert blocking["feature_key"] is None and deal.verdict == "blocked"
        approvals.create_approval(
            s, actor="apikey:pat", approver="pat", crm="test", deal_id="D1", feature_key=None,
            rule_id=blocking["rule_id"], promised_date=date(2027, 3, 1), reason="strategic",
            expires_at=utcnow() + timedelta(days=30),
        )  # fmt: skip
        s.commit()

    put(WON)
    for n in range(2):  # the win, then a re-evaluation: still one entry
        pipeline.process(
            [QueueItem(id=2 + n, crm="test", deal_id="D1", attempts=1, reason="webhook")]
        )
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment)).all()
        assert (entry.feature_key, entry.promise_key, entry.rule_id) == (
            None,
            f"rule:{blocking['rule_id']}",
            blocking["rule_id"],
        )
        assert (entry.approver, entry.promised_date, entry.amount) == (
            "pat",
            date(2027, 3, 1),
            Decimal("80000"),
        )
        assert (entry.pipeline, entry.close_date, entry.availability_at_signing) == (
            "enterprise",
            date(2026, 12, 15),
            "unknown",
        )
        assert "custom connector for SAP" in entry.evidence
        assert ledger.check_all(s) == {}  # no feature to slip: never flagged by the sweep
        signed = entry.signed_at.date()
        report = reports.commitments_report(s, start=signed, end=signed)
    (quarter,) = report["quarters"]
    assert quarter["commitments"] == {
        "count": 1,
        "deals": 1,
        "amount": 80000.0,
        "currency": entry.home_currency or entry.currency,
        "mixed_currencies": False,
        "approvers": [
            {
                "approver": "pat",
                "count": 1,
                "amount": 80000.0,
                "currency": entry.home_currency or entry.currency,
                "mixed_currencies": False,
            }
        ],
    }


def test_a_feature_only_wished_for_is_no_promise_of_the_win(session, catalog):
    """The customer called coming-soon SSO nice to have: the deal was not sold on it, so a won
    deal records no promise (whose slip would send the owner a "promise at risk" task). A need
    beside the wish, or an approval, is still recorded."""
    deal = session.exec(select(Deal)).one()
    wish = FeatureReference(feature_key="sso", feature_name="SSO", source="note",
                            evidence="SSO would be a bonus", optional=True)  # fmt: skip
    result = EvaluationResult(status=VerdictStatus.clear, references=[wish])
    ledger.on_evaluated(session, deal, _snapshot(), result, was_won=False)
    assert _entries(session) == {}
    result = EvaluationResult(
        status=VerdictStatus.clear, references=[wish, _ref("sso", "needs SSO")]
    )
    ledger.on_evaluated(session, deal, _snapshot(), result, was_won=False)
    assert _entries(session)["sso"].evidence == "needs SSO"


def test_an_approved_wish_is_still_recorded(session, catalog):
    deal = session.exec(select(Deal)).one()
    wish = FeatureReference(feature_key="scim", feature_name="SCIM", source="note",
                            evidence="SCIM would be nice", optional=True)  # fmt: skip
    result = EvaluationResult(
        status=VerdictStatus.clear,
        findings=[Finding(rule_id="never", severity=Severity.block, message="no SCIM",
                          feature_key="scim", approved=True, approved_by="pat",
                          approval_id=catalog.id)],
        references=[wish],
    )  # fmt: skip
    ledger.on_evaluated(session, deal, _snapshot(), result, was_won=False)
    assert _entries(session)["scim"].approver == "pat"


def test_a_reverted_wins_entries_go_and_an_earlier_wins_stay(session):
    """The guard moved a win back: what this check recorded is withdrawn (never signed); an
    entry of the deal's earlier, real win stays."""
    from datetime import timedelta

    now = utcnow()
    earlier = now - timedelta(days=30)
    # "ai": a deal first seen already won is signed at its close date, before this check
    for key, recorded in (("sso", earlier), ("scim", now), ("ai", now)):
        session.add(
            Commitment(
                crm="test",
                deal_id="D1",
                deal_name="Acme",
                feature_key=key,
                promise_key=key,
                feature_name=key,
                signed_at=earlier,
                recorded_at=recorded,
            )
        )
    session.add(
        Commitment(
            crm="test",
            deal_id="D2",
            deal_name="Other",
            feature_key="scim",
            promise_key="scim",
            feature_name="scim",
            signed_at=now,
            recorded_at=now,
        )
    )
    session.commit()
    assert ledger.withdraw_reverted_win(session, "test", "D1", since=now) == 2
    session.commit()
    left = {(c.deal_id, c.promise_key) for c in session.exec(select(Commitment))}
    assert left == {("D1", "sso"), ("D2", "scim")}
