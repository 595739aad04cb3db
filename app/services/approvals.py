"""Approvals: a named person lets one finding on one deal stand, with a reason and an expiry.

An approval changes nothing in the CRM by itself: the deal is re-evaluated at once from its
stored snapshot (the engine marks the matching finding approved, so it no longer blocks) and
queued with reason "approval" so the worker writes the lifted block back within seconds.
Revoking and expiry go through the same path in reverse. Every change is audited.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import or_, select
from sqlmodel import Session

from app.connectors.registry import canonical_deal_id
from app.db import session_scope
from app.errors import Conflict, InvalidRequest, NotFound
from app.jobs.queue import enqueue_deals
from app.jobs.schedules import JobContext, schedule
from app.models import ApiKey, Approval, Commitment, Deal, DealFeature, Evaluation, utcnow
from app.rules.model import ApprovalGrant, DealSnapshot, Severity
from app.security import Role
from app.services import audit, queries
from app.services import ledger as _ledger  # noqa: F401  registers the ledger.check schedule
from app.services.search import lower as search_lower

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "system:approvals-expiry"
EXPIRY_INTERVAL_SECONDS = 60


def _grant(row: Approval) -> ApprovalGrant:
    from app.services.pipeline import grant_of

    return grant_of(row)


def _active(now: datetime):
    return (
        Approval.revoked_at.is_(None),
        or_(Approval.expires_at.is_(None), Approval.expires_at > now),
    )


def active_grants(session: Session, crm: str, deal_id: str, now: datetime) -> list[ApprovalGrant]:
    """The approvals the engine honours for this deal now: not revoked, not expired."""
    rows = session.execute(
        select(Approval)
        .where(Approval.crm == crm, Approval.deal_id == deal_id, *_active(now))
        .order_by(Approval.id)
    ).scalars()
    return [_grant(r) for r in rows]


def reevaluate_and_enqueue(
    session: Session, crm: str, deal_ids: list[str], *, trigger: str = "approval"
) -> list[str]:
    """Re-evaluate from stored snapshots in this transaction; queue the changed ones to write."""
    from app.services.pipeline import reevaluate_stored

    session.flush()
    changed = reevaluate_stored(session, crm, deal_ids, trigger)
    if changed:
        enqueue_deals(session, crm, changed, reason="approval")
    return changed


def create_approval(
    session: Session,
    *,
    actor: str,
    approver: str,
    crm: str,
    deal_id: str,
    feature_key: str | None,
    rule_id: str | None,
    promised_date: date | None,
    reason: str,
    expires_at: datetime,
    now: datetime | None = None,
) -> tuple[Approval, list[str]]:
    now = now or utcnow()
    deal_id = canonical_deal_id(crm, deal_id)
    # The deal's row is locked (PostgreSQL; SQLite serializes writers already): two approvals
    # of one finding sent at once would both pass the duplicate check below, and revoking one
    # would leave the other lifting the block.
    deal = session.execute(
        select(Deal).where(Deal.crm == crm, Deal.deal_id == deal_id).with_for_update()
    ).scalar_one_or_none()
    if deal is None:
        raise NotFound(f"no deal '{deal_id}' in crm '{crm}'")
    if not deal.tracked:
        # Its page still shows it (deleted_in_crm): "no deal" read as a typo in the id.
        raise NotFound(
            f"deal '{deal_id}' was deleted (or merged into another deal) in crm '{crm}': "
            "there is nothing left to approve on it"
        )
    _must_expire_later(expires_at, now)
    if feature_key is None:
        # An off-roadmap promise names no feature; the grant is scoped by its rule alone (the
        # engine lets a feature-less grant cover every feature-less finding of that rule).
        if rule_id is None:
            raise InvalidRequest.at(
                ("rule_id",),
                "required when feature_key is omitted (an off-roadmap promise)",
                type="missing",
            )
        if not _has_finding(session, deal, None, rule_id):
            raise InvalidRequest.at(
                ("rule_id",),
                f"deal '{deal_id}' has no off-roadmap finding of rule '{rule_id}'",
                input=rule_id,
            )
    else:
        referenced = session.execute(
            select(DealFeature.id)
            .where(
                DealFeature.crm == crm,
                DealFeature.deal_id == deal_id,
                DealFeature.feature_key == feature_key,
            )
            .limit(1)
        ).first()
        if referenced is None:
            raise InvalidRequest.at(
                ("feature_key",),
                f"deal '{deal_id}' does not reference feature '{feature_key}'",
                input=feature_key,
            )
        if rule_id is not None and not _has_finding(session, deal, feature_key, rule_id):
            raise InvalidRequest.at(
                ("rule_id",),
                f"deal '{deal_id}' has no finding of rule '{rule_id}' on feature '{feature_key}'",
                input=rule_id,
            )
    covers = _what_it_covers(
        session,
        deal,
        ApprovalGrant(
            id=_PROSPECTIVE_ID,
            feature_key=feature_key,
            rule_id=rule_id,
            approver=approver,
            promised_date=promised_date,
        ),
        now,
    )
    row = Approval(
        crm=crm,
        deal_id=deal_id,
        feature_key=feature_key,
        rule_id=rule_id,
        promised_date=promised_date,
        reason=reason,
        approver=approver,
        expires_at=expires_at,
        created_at=now,
        covers=covers,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="approval.create",
        entity_type="approval",
        entity_id=row.id,
        after=_audit_view(row),
    )
    changed = reevaluate_and_enqueue(session, crm, [deal_id])
    return row, changed


def revoke_approval(
    session: Session, approval_id: int, *, actor: str, now: datetime | None = None
) -> tuple[Approval, list[str]]:
    now = now or utcnow()
    row = session.get(Approval, approval_id, with_for_update=True)  # one revoke at a time
    if row is None:
        raise NotFound(f"no approval {approval_id}")
    if row.revoked_at is not None:
        raise Conflict(f"approval {approval_id} was already revoked by {row.revoked_by}")
    if row.expires_at is not None and row.expires_at <= now:
        # Revoked after it ran out, it lifted nothing more, but the leadership report stopped
        # counting the finding it overrode while it ran and counted a revocation instead.
        raise Conflict(
            f"approval {approval_id} expired at {row.expires_at.isoformat()}: it lifts "
            "nothing any more, and what it overrode while it ran stays on record"
        )
    signed = session.execute(
        select(Commitment.signed_at)
        .where(
            Commitment.crm == row.crm,
            Commitment.deal_id == row.deal_id,
            Commitment.approval_id == row.id,
            Commitment.withdrawn_at.is_(None),
        )
        .order_by(Commitment.signed_at)
        .limit(1)
    ).scalar_one_or_none()
    if signed is not None:
        # Revoked behind the signature, the signed deal was re-evaluated without it: `blocked`
        # in the CRM on business already signed (as its expiry no longer does), while the
        # ledger still names the approver of the promise and the report stopped counting it.
        raise Conflict(
            f"deal '{row.deal_id}' was signed under approval {approval_id} "
            f"({signed.date().isoformat()}): the ledger records the promise as approved by "
            f"{row.approver}, and revoking it would not unsign the deal; it can be revoked if "
            "the deal is reopened",
            details={"approval_id": row.id, "signed_at": signed.isoformat()},
        )
    _audited_change(session, row, actor, "approval.revoke", revoked_at=now, revoked_by=actor)
    changed = reevaluate_and_enqueue(session, row.crm, [row.deal_id])
    return row, changed


def extend_approval(
    session: Session,
    approval_id: int,
    expires_at: datetime,
    *,
    actor: str,
    now: datetime | None = None,
) -> Approval:
    """A later expiry for an approval still in force: the one way to keep it going, since a
    second approval of the same finding is a 409 ("revoke it first") and revoking put the
    block and its task back in the CRM until the new approval landed. Nothing is
    re-evaluated (it covers what it covered); audited as `approval.extend`."""
    now = now or utcnow()
    row = session.get(Approval, approval_id, with_for_update=True)  # one change at a time
    if row is None:
        raise NotFound(f"no approval {approval_id}")
    if row.revoked_at is not None:
        raise Conflict(f"approval {approval_id} was revoked by {row.revoked_by}: approve again")
    if row.expires_at is not None and row.expires_at <= now:
        raise Conflict(
            f"approval {approval_id} expired at {row.expires_at.isoformat()}: its block is "
            "back; approve again (POST /api/v1/approvals)"
        )
    _must_expire_later(expires_at, now)
    if row.expires_at is not None and expires_at <= row.expires_at:
        raise InvalidRequest.at(
            ("expires_at",),
            f"is not later than the approval's expiry ({row.expires_at.isoformat()}): an "
            "extension moves it later (revoke it to end it sooner)",
            input=expires_at.isoformat(),
        )
    _audited_change(session, row, actor, "approval.extend", expires_at=expires_at)
    return row


def _must_expire_later(expires_at: datetime, now: datetime) -> None:
    if expires_at <= now:
        raise InvalidRequest.at(
            ("expires_at",),
            f"is in the past ({expires_at.isoformat()}): an approval must expire in the future",
            input=expires_at.isoformat(),
        )


def _audited_change(
    session: Session, row: Approval, actor: str, action: str, **values: Any
) -> None:
    """Set `values` on the approval and record the change (before and after) in the audit log."""
    before = _audit_view(row)
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity_type="approval",
        entity_id=row.id,
        before=before,
        after=_audit_view(row),
    )


def expire_due(session: Session, since: datetime | None, now: datetime) -> dict[str, list[str]]:
    """Approvals that expired in (since, now]: audit each, restore their open deals' findings.

    A deal closed meanwhile (won under the approval, or lost) is not re-evaluated: the approval
    did what it was given for. Re-evaluated, a deal signed a week before flipped to `blocked` in
    the CRM ("a promise made at signing that is now at risk"), though nothing had changed but
    the calendar."""
    conds = [
        Approval.revoked_at.is_(None),
        Approval.expires_at.is_not(None),
        Approval.expires_at <= now,
    ]
    if since is not None:
        conds.append(Approval.expires_at > since)
    rows = session.execute(select(Approval).where(*conds).order_by(Approval.id)).scalars().all()
    by_crm: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        audit.record(
            session,
            actor=SYSTEM_ACTOR,
            action="approval.expire",
            entity_type="approval",
            entity_id=row.id,
            after=_audit_view(row),
        )
        by_crm[row.crm].add(row.deal_id)
    from app.services.pipeline import lock_deals

    open_ids = {crm: _open_deals(session, crm, ids) for crm, ids in sorted(by_crm.items())}
    # Every CRM's deal rows first, in one id order across CRMs (as the fan-out and the worker
    # take them): locked CRM by CRM, expiries on two CRMs could deadlock on PostgreSQL with a
    # fan-out holding some of the same rows.
    lock_deals(session, open_ids)
    changed: dict[str, list[str]] = {}
    for crm, ids in open_ids.items():
        changed[crm] = reevaluate_and_enqueue(session, crm, ids)
    return changed


def _open_deals(session: Session, crm: str, deal_ids: set[str]) -> list[str]:
    """The deals among `deal_ids` that are not closed, sorted."""
    ids = sorted(deal_ids)
    found: list[str] = []
    for start in range(0, len(ids), 500):  # SQLite caps bound parameters
        found += session.execute(
            select(Deal.deal_id).where(
                Deal.crm == crm,
                Deal.deal_id.in_(ids[start : start + 500]),
                Deal.is_closed.is_(False),
            )
        ).scalars()
    return sorted(found)


@schedule("approvals.expire", interval=lambda _s: EXPIRY_INTERVAL_SECONDS)
def expire_approvals(ctx: JobContext) -> dict:
    """Runs every minute on one worker; the state remembers up to when expiries were handled,
    so an approval's expiry is acted on exactly once even though the row itself is unchanged."""
    since_raw = ctx.state.get("checked_until")
    since = datetime.fromisoformat(since_raw) if since_raw else None
    now = utcnow()
    with session_scope(ctx.engine) as session:
        changed = expire_due(session, since, now)
    if any(changed.values()):
        log.info("approvals_expired", requeued={k: len(v) for k, v in changed.items()})
    return {"checked_until": now.isoformat()}


def list_approvals(
    session: Session,
    *,
    crm: str | None = None,
    deal_id: str | None = None,
    feature_key: str | None = None,
    approver: str | None = None,
    status: str | None = None,
    now: datetime | None = None,
):
    """Conditions for the approvals list; status is active | expired | revoked."""
    now = now or utcnow()
    conds = []
    if crm:
        conds.append(Approval.crm == crm)
    # A deal id pasted from a spreadsheet cell ("12345 ") is taken as creating an approval
    # takes it; an approver in any case ("Pat"), as key names are unique in any case: both
    # listed nothing, read as "no approvals".
    deal_id = (deal_id or "").strip()
    approver = (approver or "").strip()
    if deal_id:  # a Salesforce id in either form, with or without `crm`
        conds.append(
            Approval.deal_id.in_({deal_id, canonical_deal_id(crm or "salesforce", deal_id)})
        )
    if feature_key:
        conds.append(Approval.feature_key == feature_key)
    if approver:
        dialect = session.get_bind().dialect.name
        conds.append(search_lower(Approval.approver, dialect) == approver.lower())
    if status == "active":
        conds.extend(_active(now))
    elif status == "revoked":
        conds.append(Approval.revoked_at.is_not(None))
    elif status == "expired":
        conds.extend([Approval.revoked_at.is_(None), Approval.expires_at <= now])
    return conds


def check_list_filters(
    session: Session,
    *,
    crm: str | None = None,
    deal_id: str | None = None,
    approver: str | None = None,
) -> None:
    """The `deal_id` and `approver` filters of the approvals list each name something known,
    or the answer is a 422 naming the value, the one meant and the values known, as the deal
    lists refuse a pipeline, owner or stage no deal carries (`queries.unmatched_filter`):
    `approver=Dnaa` or a deal id one digit off answered an empty list, read as "nothing
    approved, nothing pending". Taken as `list_approvals` takes them (a deal id without
    surrounding blanks, a Salesforce id in either form; an approver in any case).

    A deal id is known when a deal roadmap-guard has read carries it (in any state, in the
    `crm` filtered on) or an approval names it: a deal with no approval is an empty answer, as
    it should be. An approver is known when an approval names them or an API key that may
    approve (approver or admin, revoked ones too) is so called: a new approver who has
    approved nothing yet is an empty answer. The 422 lists the deal ids approvals name and the
    approvers approvals name or active approver keys are called (not admin keys' names, which
    a viewer has no use for). Index probes; the known values are read only for the 422. The
    route calls it when its answer is empty, so a filter that matches costs nothing."""
    deal_id = (deal_id or "").strip()
    approver = (approver or "").strip()
    in_crm = [Approval.crm == crm] if crm else []
    errors: list[dict[str, Any]] = []
    if deal_id:
        ids = {deal_id, canonical_deal_id(crm or "salesforce", deal_id)}
        found = (
            session.execute(
                select(Deal.id)
                .where(Deal.deal_id.in_(ids), *([Deal.crm == crm] if crm else []))
                .limit(1)
            ).first()
            or session.execute(
                select(Approval.id).where(Approval.deal_id.in_(ids), *in_crm).limit(1)
            ).first()
        )
        if not found:
            known = session.execute(select(Approval.deal_id).where(*in_crm).distinct())
            errors.append(
                queries.unmatched_filter(
                    "deal_id",
                    deal_id,
                    f"no {crm + ' ' if crm else ''}deal or approval has deal id '{deal_id}' (known: "
                    "the deals approvals name)",
                    sorted(known.scalars()),
                )
            )
    if approver:
        dialect = session.get_bind().dialect.name
        folded = approver.lower()
        may_approve = ApiKey.role.in_([Role.approver.value, Role.admin.value])
        found = (
            session.execute(
                select(Approval.id)
                .where(search_lower(Approval.approver, dialect) == folded)
                .limit(1)
            ).first()
            or session.execute(
                select(ApiKey.id)
                .where(may_approve, search_lower(ApiKey.name, dialect) == folded)
                .limit(1)
            ).first()
        )
        if not found:
            names = set(session.execute(select(Approval.approver).distinct()).scalars())
            names |= set(
                session.execute(
                    select(ApiKey.name).where(
                        ApiKey.role == Role.approver.value, ApiKey.revoked_at.is_(None)
                    )
                ).scalars()
            )
            errors.append(
                queries.unmatched_filter(
                    "approver",
                    approver,
                    f"no approval or approving API key has approver '{approver}' (the approving "
                    "key's name, in any case)",
                    sorted(n for n in names if n),
                )
            )
    if errors:
        raise InvalidRequest(errors, rendered=True)


# Sorts after every stored approval: a finding one of them covers keeps naming it.
_PROSPECTIVE_ID = 2**62


def _what_it_covers(
    session: Session, deal: Deal, grant: ApprovalGrant, now: datetime
) -> list[dict[str, Any]]:
    """The findings `grant` would newly cover on `deal`, by the engine's own matching
    (engine._grant_for): the deal evaluated from its stored snapshot now, with its active
    approvals and this one. Stored on the approval, so it covers those findings and not one
    that appears later (a feature cancelled after its late date was approved, a second
    off-roadmap promise).

    Refuses an approval that would cover nothing: 409 when active approvals already cover what
    it names, 422 when there is nothing to approve (no warning or block on the feature; a
    `promised_date` other than the promise's). Both were accepted as "active": the first then
    lifted a block that appeared later, and the second sat beside the block it did not lift
    and made the right approval a 409."""
    from app.services.pipeline import EvaluationContext

    if not deal.snapshot:
        raise Conflict(f"deal '{deal.deal_id}' has not been read yet; approve once it is checked")
    context = EvaluationContext.load(session, deal.crm, [deal.deal_id], now)
    existing = context.grants.get(deal.deal_id, [])
    snapshot = DealSnapshot.model_validate(deal.snapshot)
    context.grants[deal.deal_id] = [*existing, grant]
    result = context.evaluate(snapshot)
    newly = [
        f for f in result.findings if f.approval_id == grant.id and f.severity != Severity.info
    ]
    if newly:
        return [
            dict(t)
            for t in dict.fromkeys(
                (("rule_id", f.rule_id), ("feature_key", f.feature_key), ("evidence", f.evidence))
                for f in newly
            )
        ]
    context.grants[deal.deal_id] = [grant]
    alone = context.evaluate(snapshot).findings
    covered_by = sorted(
        {
            f.approval_id
            for f, a in zip(result.findings, alone, strict=True)
            if a.approval_id == grant.id and f.severity != Severity.info and f.approval_id
        }
    )
    if covered_by:
        if len(covered_by) == 1:
            said = f"approval {covered_by[0]} already covers this finding; revoke it first"
        else:
            ids = ", ".join(map(str, covered_by[:-1])) + f" and {covered_by[-1]}"
            said = f"approvals {ids} already cover this finding; revoke them first"
        raise Conflict(
            said,
            # approval_id: the first, as before there could be several
            details={"approval_id": covered_by[0], "approval_ids": covered_by},
        )
    on_feature = [
        f
        for f in result.findings
        if f.feature_key == grant.feature_key
        and f.severity != Severity.info
        and (grant.rule_id is None or f.rule_id == grant.rule_id)
    ]
    if not on_feature:
        what = f"feature '{grant.feature_key}'" if grant.feature_key else "an off-roadmap promise"
        raise InvalidRequest.at(
            ("feature_key",) if grant.feature_key else ("rule_id",),
            f"deal '{deal.deal_id}' has no warning or block on {what} to approve: nothing "
            "there stops the deal",
            input=grant.feature_key or grant.rule_id,
        )
    promised = sorted(
        {
            r.promised_date
            for r in result.references
            if r.feature_key == grant.feature_key and r.promised_date is not None
        }
    )
    dates = " or ".join(d.isoformat() for d in promised) or "another date"
    raise InvalidRequest.at(
        ("promised_date",),
        f"is not the date the deal promises ({dates}): this approval would cover no finding; "
        f"approve {dates} or leave promised_date out",
        input=grant.promised_date.isoformat() if grant.promised_date else None,
    )


def _has_finding(session: Session, deal: Deal, feature_key: str | None, rule_id: str) -> bool:
    if deal.last_evaluation_id is None:
        return False
    evaluation = session.get(Evaluation, deal.last_evaluation_id)
    findings = evaluation.findings if evaluation else []
    return any(
        f.get("feature_key") == feature_key and f.get("rule_id") == rule_id for f in findings
    )


def _audit_view(row: Approval) -> dict:
    return row.model_dump(mode="json")
