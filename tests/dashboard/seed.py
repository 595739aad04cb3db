"""The seeded set shared by the issue-6 view tests: deals across stages, pipelines, owners and
both CRMs, with totals small enough to check by hand (see each test's expectations)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import Commitment, Deal, Evaluation, Feature, WriteBackLog
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.services.pipeline import replace_dependencies

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

FEATURES = [
    # key, name, availability, target date
    ("sso", "Single sign-on", "coming_soon", date(2026, 9, 30)),
    ("audit", "Audit log export", "never", None),
    ("api", "Public API", "available", None),
    ("scim", "SCIM provisioning", "uncertain", None),
]

# crm, deal_id, pipeline, stage_id, stage_label, probability, amount, owner, close, won, closed,
# tracked, verdict, [(feature, source, evidence)]
DEALS = [
    ("hubspot", "h1", "default", "qualified", "Qualified", 0.2, "1000", "alice", date(2026, 12, 15), False, False, True, "warning",
     [("sso", "line_item", "SSO add-on"), ("sso", "note", "We promised SSO by Q3."), ("api", "line_item", "API access")]),
    ("hubspot", "h2", "default", "proposal", "Proposal", 0.5, "2000", "bob", date(2027, 1, 10), False, False, True, "blocked",
     [("sso", "note", "needs SSO"), ("audit", "note", "audit export is a must")]),
    ("salesforce", "s1", "enterprise", "Negotiation", "Negotiation", 0.8, "5000", "alice", date(2026, 12, 20), False, False, True, "blocked",
     [("audit", "line_item", "Audit Export")]),
    ("salesforce", "s2", "enterprise", "Prospecting", "Prospecting", None, None, "carol", None, False, False, True, "clear",
     [("api", "line_item", "API tier")]),
    ("hubspot", "h3", "default", "closedwon", "Closed won", 1.0, "7000", "alice", date(2026, 11, 1), True, True, True, "clear",
     [("sso", "line_item", "SSO add-on")]),
    ("salesforce", "s3", "enterprise", "Negotiation", "Negotiation", 0.8, "3000", "bob", date(2027, 2, 1), False, False, True, "warning",
     [("scim", "note", "SCIM next quarter"), ("sso", "note", "and SSO")]),
    ("hubspot", "h4", "default", "qualified", "Qualified", 0.2, "9999", "alice", date(2026, 12, 1), False, False, False, "blocked",
     [("sso", "line_item", "SSO add-on")]),
]  # fmt: skip

OWNER_NAMES = {"alice": "Alice Ng", "bob": "Bob Roy", "carol": "Carol Lee"}


def seed(session: Session) -> None:
    for key, name, availability, target in FEATURES:
        session.add(Feature(key=key, name=name, availability=availability, target_date=target))
    for i, row in enumerate(DEALS):
        (crm, deal_id, pipeline, stage_id, label, prob, amount, owner, close, won, closed,
         tracked, verdict, refs) = row  # fmt: skip
        deal = Deal(
            crm=crm,
            deal_id=deal_id,
            name=f"Deal {deal_id}",
            pipeline=pipeline,
            stage_id=stage_id,
            stage_label=label,
            probability=prob,
            amount=Decimal(amount) if amount else None,
            currency="USD",
            close_date=close,
            owner_id=owner,
            owner_name=OWNER_NAMES[owner],
            account_name=f"Account {deal_id}",
            is_won=won,
            is_closed=closed,
            tracked=tracked,
            verdict=verdict,
            snapshot={
                "crm": crm,
                "deal_id": deal_id,
                "stage": {"id": stage_id},
                "line_items": [{"id": "li1", "name": "SSO add-on"}],
            },
            updated_at=T0 + timedelta(minutes=i),
        )
        session.add(deal)
        # The dependency rows (and the deal facts copied onto them) as the pipeline writes them.
        names = {f[0]: f[1] for f in FEATURES}
        references = [
            FeatureReference(feature_key=f, feature_name=names[f], source=source, evidence=quote)
            for f, source, quote in refs
        ]
        replace_dependencies(
            session, deal, EvaluationResult(status=VerdictStatus(verdict), references=references)
        )
    # h2 history: clear, then blocked; one write-back.
    session.add(Evaluation(crm="hubspot", deal_id="h2", verdict="clear", created_at=T0))
    blocked = Evaluation(
        crm="hubspot",
        deal_id="h2",
        verdict="blocked",
        findings=[
            {
                "rule_id": "never",
                "severity": "block",
                "feature_key": "audit",
                "message": "Audit export will not be built",
                "approved": False,
            }
        ],  # fmt: skip
        references=[
            {"feature_key": "audit", "source": "note", "evidence": "audit export is a must"}
        ],
        created_at=T0 + timedelta(hours=1),
    )
    session.add(blocked)
    session.flush()
    session.add(
        WriteBackLog(
            crm="hubspot",
            deal_id="h2",
            evaluation_id=blocked.id,
            changes={"block": True},
            created_at=T0 + timedelta(hours=1, seconds=5),
        )
    )
    session.execute(
        Deal.__table__.update().where(Deal.deal_id == "h2").values(last_evaluation_id=blocked.id)
    )
    session.flush()
    # h3 was won on a coming_soon promise that has since slipped.
    session.add(
        Commitment(
            crm="hubspot",
            deal_id="h3",
            deal_name="Deal h3",
            feature_key="sso",
            feature_name="Single sign-on",
            availability_at_signing="coming_soon",
            promised_date=date(2026, 6, 30),
            amount=Decimal("7000"),
            approver="pat",
            signed_at=T0,
            flagged_at=T0 + timedelta(days=30),
            flag_reason="target moved to 2026-09-30",
        )
    )
    session.flush()


def wish_for_sso_on_s3(engine: Engine) -> None:
    """s3 calls SSO nice to have ("SSO would be a bonus") and still needs SCIM: its dependency
    rows rewritten as the pipeline writes them, the wish first (its row has the lower id)."""
    with Session(engine) as session:
        deal = session.exec(select(Deal).where(Deal.deal_id == "s3")).one()
        refs = [
            FeatureReference(feature_key="sso", feature_name="Single sign-on", source="note",
                             evidence="SSO would be a bonus", optional=True),
            FeatureReference(feature_key="scim", feature_name="SCIM provisioning", source="note",
                             evidence="SCIM next quarter"),
        ]  # fmt: skip
        replace_dependencies(
            session, deal, EvaluationResult(status=VerdictStatus.warning, references=refs)
        )
        session.commit()
