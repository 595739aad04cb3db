"""The commitment ledger: what was promised when a deal was signed, and whether it still holds.

A deal that reaches a won stage with approved findings (someone signed off a promise), with
references to coming_soon features (sold on a date), or with blocks no one approved (won all the
same) gets one ledger entry per feature, and one
per approved rule for promises that name nothing on the roadmap (off-roadmap: no feature key,
`promise_key` `rule:<rule_id>`); those have no feature to slip, so only feature promises are
ever flagged. An entry's date and evidence come from the deal's strongest reference to the
feature (`_promise_rank`), not its first. When the roadmap later moves that feature's target
date past the promised date or drops the date it had at signing, or its availability drops,
the entry is flagged and the deal owner gets exactly one CRM task: the pipeline asks
`pending_followups` while building the write-back and calls `mark_followups_created` once the
connector reports the task made, so a retry never makes a second one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time

import structlog
from sqlalchemy import delete, select, update
from sqlmodel import Session

from app.connectors.base import TaskSpec
from app.db import session_scope
from app.jobs.queue import enqueue_deals
from app.jobs.schedules import JobContext, schedule
from app.models import Approval, Commitment, Deal, Feature, utcnow
from app.rules.engine import AVAILABILITY_WORDS, format_date
from app.rules.messages import SUBJECT_LIMIT, cut_at_word
from app.rules.model import (
    Availability,
    DealSnapshot,
    EvaluationResult,
    FeatureReference,
    Finding,
    Severity,
)
from app.services.queries import deleted_deals, evidence_rank

# Higher is better for the customer; a fall in rank after signing is a broken promise.
AVAILABILITY_RANK = {
    Availability.available.value: 5,
    Availability.beta.value: 4,
    Availability.coming_soon.value: 3,
    Availability.uncertain.value: 2,
    Availability.unknown.value: 1,
    Availability.never.value: 0,
}
FOLLOWUP_PREFIX = "commitment:"
OFF_ROADMAP_PREFIX = "rule:"
LEDGER_CHECK_SECONDS = 300
log = structlog.get_logger(__name__)


def on_evaluated(
    session: Session,
    deal: Deal,
    snapshot: DealSnapshot,
    result: EvaluationResult,
    *,
    was_won: bool,
    first_seen: bool = False,
) -> None:
    """Record the deal's promises when it is won.

    Idempotent (one entry per deal and promise key, by unique key), so it runs on every evaluation
    of a won deal rather than only on the transition: a deal first seen already won, or won
    while the worker was down, still gets its entries; entries keep the date they were first
    recorded. Blocks no one approved are recorded only at the win itself (`was_won` false, not
    a deal read long after its win). Signed now, or, for a deal `first_seen`
    already won with a close date before today (an old win edited long after, or read on a new
    install), at its close date (noon UTC: the same day in the business's time zone), so the
    leadership report counts it in the quarter it was won, not the one it was first read in.
    """
    if not snapshot.stage.is_won:
        if was_won:  # taken out of won: what it promised is no longer signed business
            _set_withdrawn(session, deal, utcnow())
        return
    wanted: dict[str, dict] = {}
    now = utcnow()
    # Read long after its win (first seen already won, its close date past): not checked when
    # it was signed, so today's roadmap says nothing of what it was signed on.
    historic = first_seen and snapshot.close_date is not None and snapshot.close_date < now.date()
    approved = {f.feature_key: f for f in result.findings if f.approved and f.feature_key}
    # A block nobody approved, on a deal won all the same (HubSpot's warn mode, a move back that
    # HubSpot refused, an opportunity imported already won): signed without an approval. It
    # was left out, so the record of what was promised missed the riskiest promises; a win the
    # closed-won guard moves back is withdrawn as ever (`withdraw_reverted_win`). Only at the
    # win itself: a block that appears on a signed deal later (a feature dropped since) was
    # none when it was signed.
    at_the_win = not was_won and not historic
    blocked = {
        f.feature_key: f
        for f in result.findings
        if at_the_win and f.feature_key and f.severity == Severity.block and not f.approved
    }
    off_roadmap: dict[str, list[Finding]] = {}
    for f in result.findings:
        if f.approved and not f.feature_key:
            off_roadmap.setdefault(f"{OFF_ROADMAP_PREFIX}{f.rule_id}", []).append(f)
    unapproved_off_roadmap: dict[str, list[Finding]] = {}
    for f in result.findings:  # an off-roadmap rule's block no one approved, won all the same
        key = f"{OFF_ROADMAP_PREFIX}{f.rule_id}"
        if (
            at_the_win
            and not f.feature_key
            and f.severity == Severity.block
            and not f.approved
            and key not in off_roadmap
        ):
            unapproved_off_roadmap.setdefault(key, []).append(f)
    off_roadmap.update(unapproved_off_roadmap)
    refs_by_key: dict[str, FeatureReference] = {}
    for ref in result.references:  # the strongest reference per feature; ties keep the first
        if ref.feature_key and (
            ref.feature_key not in refs_by_key
            or _promise_rank(ref) < _promise_rank(refs_by_key[ref.feature_key])
        ):
            refs_by_key[ref.feature_key] = ref
    keys = set(approved) | set(blocked) | set(refs_by_key)
    if not keys and not off_roadmap:
        return
    features = {
        f.key: f
        for f in session.execute(select(Feature).where(Feature.key.in_(keys))).scalars().all()
    }
    grants = _grants_by_id(
        session,
        [
            f.approval_id
            for f in [*approved.values(), *(fs[0] for fs in off_roadmap.values())]
            if f.approval_id
        ],
    )
    for key in sorted(keys):
        feature = features.get(key)
        availability = feature.availability if feature else Availability.unknown.value
        finding = approved.get(key)
        block = blocked.get(key) if finding is None else None
        if finding is None and block is None and availability != Availability.coming_soon.value:
            continue  # available/beta features are not promises
        ref = refs_by_key.get(key)
        if finding is None and ref is not None and ref.optional:
            # Only ever called nice to have ("offline mode would be a bonus"; the strongest
            # reference is a wish only when every one is): the deal was not sold on it. It was
            # recorded as a promise, and its slip sent the owner a "promise at risk" task.
            continue
        grant = grants.get(finding.approval_id) if finding and finding.approval_id else None
        promised = (
            (grant.promised_date if grant else None)
            or (ref.promised_date if ref else None)
            or (feature.target_date if feature else None)
        )
        wanted[key] = {
            "feature_key": key,
            # the approved finding's rule, or the block's no one approved
            "rule_id": finding.rule_id if finding else (block.rule_id if block else None),
            "feature_name": (feature.name if feature else None)
            or (ref.feature_name if ref else None)
            or (finding.feature_name if finding else None)
            or key,
            "availability_at_signing": availability,
            "target_date_at_signing": feature.target_date if feature else None,
            "promised_date": promised,
            "hedged": bool(ref and ref.is_commitment and ref.hedged),
            "approval_id": finding.approval_id if finding else None,
            "approver": finding.approved_by if finding else None,
            "evidence": (ref.evidence if ref else None)
            or (finding.evidence if finding else "")
            or "",
        }
    for key, findings in sorted(off_roadmap.items()):
        first = findings[0]
        grant = grants.get(first.approval_id) if first.approval_id else None
        wanted[key] = {
            "feature_key": None,
            "rule_id": first.rule_id,
            "feature_name": first.feature_name or first.rule_name or first.rule_id,
            "availability_at_signing": Availability.unknown.value,
            "target_date_at_signing": None,
            "promised_date": grant.promised_date if grant else None,
            "approval_id": first.approval_id,
            "approver": first.approved_by,
            # One approval covers every feature-less finding of its rule: keep every quote.
            "evidence": "\n".join(dict.fromkeys(f.evidence for f in findings if f.evidence)),
        }
    if not wanted:
        return
    existing = {
        c.promise_key: c
        for c in session.execute(
            select(Commitment).where(
                Commitment.crm == deal.crm,
                Commitment.deal_id == deal.deal_id,
                Commitment.promise_key.in_(list(wanted)),
            )
        ).scalars()
    }
    signed = now
    if historic:
        signed = datetime.combine(snapshot.close_date, time(12), UTC)
    for key, values in wanted.items():
        deal_facts = {
            "deal_name": (snapshot.name or "")[:512],
            "account_name": snapshot.account_name,
            "owner_id": snapshot.owner_id,
            "pipeline": snapshot.pipeline,
            "close_date": snapshot.close_date,
            "amount": snapshot.amount,
            "currency": snapshot.currency,
            "amount_home": snapshot.amount_home,
            "home_currency": snapshot.home_currency,
        }
        entry = existing.get(key)
        if entry is None:
            session.add(
                Commitment(
                    crm=deal.crm,
                    deal_id=deal.deal_id,
                    promise_key=key,
                    signed_at=signed,
                    recorded_at=now,
                    **deal_facts,
                    **values,
                )
            )
        elif entry.withdrawn_at is not None and not was_won:
            # Won again after it left won (reopened, renegotiated): the entry stands again on
            # the terms of this win. It stood again as first recorded: the ledger named the
            # first approver and date, and the signed deal, read once the new approval had
            # expired, went `blocked` (the approval it named covered the old date). A promise
            # this win does not make is not in `wanted` and stays withdrawn. Signed when it
            # was first signed (the report's quarter), on the roadmap of then (a feature
            # dropped since is a slip the sweep follows up); a flag of the old terms that no
            # longer holds is cleared by the sweep (`clear_recovered`).
            for name, value in {**deal_facts, **values}.items():
                if name not in ("availability_at_signing", "target_date_at_signing"):
                    setattr(entry, name, value)
            entry.withdrawn_at = None
            session.add(entry)
    session.flush()


def _set_withdrawn(session: Session, deal: Deal, at: datetime | None) -> None:
    """Mark the deal's standing entries withdrawn at `at`, or (None) its withdrawn ones
    standing again: one UPDATE, run only when the deal moves out of or into won."""
    changing = Commitment.withdrawn_at.is_(None) if at else Commitment.withdrawn_at.is_not(None)
    session.execute(
        update(Commitment)
        .where(Commitment.crm == deal.crm, Commitment.deal_id == deal.deal_id, changing)
        .values(withdrawn_at=at)
    )


def _promise_rank(ref: FeatureReference) -> tuple[bool, ...]:
    """Lower is stronger: the read model's evidence rank (`queries.evidence_rank`: a commitment
    before a mention, a line item before a note), then a firm promise before a hedged one,
    then a dated promise before an undated one, so "SCIM came up. ... We promised SCIM by Q1
    2027." records the promise and its date, and "We might have SCIM by May" gives way to
    "We committed to SCIM"."""
    return (*evidence_rank(ref), ref.hedged, ref.promised_date is None)


def slip_reason(entry: Commitment, feature: Feature | None) -> str | None:
    """Why this promise no longer holds, or None while it does."""
    if feature is None:
        if (entry.availability_at_signing or Availability.unknown.value) == (
            Availability.unknown.value
        ):
            # Not on the roadmap when the deal was signed either (a promise approved, or won
            # blocked, of a feature the roadmap never had): nothing changed. The first sweep
            # flagged it "no longer on the roadmap" and sent the owner a task.
            return None
        return f"'{entry.feature_name}' is no longer on the roadmap"
    was = AVAILABILITY_RANK.get(entry.availability_at_signing or "unknown", 1)
    now = AVAILABILITY_RANK.get(feature.availability, 1)
    if now < was:
        # In the words the rep's other texts use: the task said "dropped from coming_soon to
        # uncertain", the roadmap's codes.
        signed_as = entry.availability_at_signing or Availability.unknown.value
        return (
            f"'{feature.name}' was {AVAILABILITY_WORDS.get(signed_as, signed_as)} when the deal "
            f"was signed and is now "
            f"{AVAILABILITY_WORDS.get(feature.availability, feature.availability)}"
        )
    if (
        entry.promised_date is not None
        and feature.target_date is not None
        and feature.target_date > entry.promised_date
        and feature.availability not in (Availability.available.value, Availability.beta.value)
    ):
        return (
            f"'{feature.name}' now targets {format_date(feature.target_date)}, after the "
            f"promised {format_date(entry.promised_date)}"
        )
    if (
        entry.promised_date is not None
        and entry.target_date_at_signing is not None
        and feature.target_date is None
        and feature.availability not in (Availability.available.value, Availability.beta.value)
    ):
        # A date the roadmap had at signing and no longer has: nothing backs the promise now.
        return (
            f"'{feature.name}' no longer has a target date (it targeted "
            f"{format_date(entry.target_date_at_signing)} when the deal was signed)"
        )
    return None


def on_features_changed(session: Session, feature_keys: Iterable[str]) -> list[tuple[str, str]]:
    """Flag unflagged entries of these features whose promise broke; returns deals to re-queue
    (their write-back carries the followup task)."""
    keys = sorted(set(feature_keys))
    if not keys:
        return []
    entries = (
        session.execute(
            select(Commitment).where(
                Commitment.feature_key.in_(keys),
                Commitment.flagged_at.is_(None),
                Commitment.withdrawn_at.is_(None),
            )
        )
        .scalars()
        .all()
    )
    if not entries:
        return []
    features = {
        f.key: f
        for f in session.execute(select(Feature).where(Feature.key.in_(keys))).scalars().all()
    }
    now = utcnow()
    deals: dict[tuple[str, str], None] = {}
    for entry in entries:
        reason = slip_reason(entry, features.get(entry.feature_key))
        if reason is None:
            continue
        entry.flagged_at = now
        entry.flag_reason = reason
        entry.task_requested = False
        session.add(entry)
        deals[(entry.crm, entry.deal_id)] = None
    session.flush()
    # A deal deleted or merged away in the CRM has no record to carry the task: its entry is
    # flagged (the ledger lists the broken promise) but the deal is not queued for a CRM read
    # that can only answer "gone" again.
    gone = deleted_deals(session, deals)
    return [key for key in deals if key not in gone]


def pending_followups(session: Session, crm: str, deal_id: str) -> dict[str, TaskSpec]:
    """Flagged entries whose task is not made yet, keyed `commitment:<id>`."""
    return pending_followups_many(session, crm, [deal_id]).get(deal_id, {})


def pending_followups_many(
    session: Session, crm: str, deal_ids: Sequence[str]
) -> dict[str, dict[str, TaskSpec]]:
    """`pending_followups` for a whole claimed batch in one query: deal id → followups."""
    found: dict[str, dict[str, TaskSpec]] = {}
    ids = list(deal_ids)
    for start in range(0, len(ids), 500):  # SQLite caps bound parameters
        entries = session.execute(
            select(Commitment)
            .where(
                Commitment.crm == crm,
                Commitment.deal_id.in_(ids[start : start + 500]),
                Commitment.flagged_at.is_not(None),
                Commitment.task_requested.is_(False),
                Commitment.withdrawn_at.is_(None),
            )
            .order_by(Commitment.id)
        ).scalars()
        for e in entries:
            found.setdefault(e.deal_id, {})[f"{FOLLOWUP_PREFIX}{e.id}"] = _task(e)
    return found


def withdraw_reverted_win(session: Session, crm: str, deal_id: str, since: datetime) -> int:
    """Remove the entries recorded since `since` (this check) for a win the closed-won guard
    has just moved back: the deal was never signed, so nothing was promised to a customer.
    Entries of an earlier, real win are kept (the ledger keeps what was signed for good).
    Returns how many were removed."""
    removed = session.execute(
        delete(Commitment).where(
            Commitment.crm == crm,
            Commitment.deal_id == deal_id,
            Commitment.recorded_at >= since,
        )
    ).rowcount
    if removed:
        log.info("ledger entries of a reverted win withdrawn", crm=crm, deal_id=deal_id, n=removed)
    return removed


def mark_followups_created(session: Session, crm: str, deal_id: str, keys: Sequence[str]) -> None:
    ids = [int(k.removeprefix(FOLLOWUP_PREFIX)) for k in keys if k.startswith(FOLLOWUP_PREFIX)]
    if not ids:
        return
    for entry in session.execute(
        select(Commitment).where(
            Commitment.crm == crm, Commitment.deal_id == deal_id, Commitment.id.in_(ids)
        )
    ).scalars():
        entry.task_requested = True
        session.add(entry)
    session.flush()


def _task(entry: Commitment) -> TaskSpec:
    promised = format_date(entry.promised_date) or "no date"
    # cut at a word: HubSpot keeps 250 characters of a subject, Salesforce 255
    subject = cut_at_word(f"Roadmap promise at risk: {entry.feature_name}", SUBJECT_LIMIT)
    # The reason is a clause ("'AI Copilot' now targets 2027-10-31, after the promised
    # 2027-08-31"): ended with a full stop, or the next sentence ran on from it.
    reason = (entry.flag_reason or "").strip()
    if reason and not reason.endswith((".", "!", "?")):
        reason += "."
    if entry.hedged:
        # "We might have SSO by May": the task told the owner "the customer was promised" what
        # the rep had only said might come, which is not what the customer heard.
        quote = (entry.evidence or "").strip().rstrip(".")
        told = (
            f"the customer was told '{entry.feature_name}' might come ({promised}), a hedged "
            "promise" + (f' ("{quote}")' if quote else "")
        )
    else:
        told = f"the customer was promised '{entry.feature_name}' ({promised})"
    body = " ".join(
        part
        for part in (
            f"When '{entry.deal_name}' was signed, {told}.",
            reason,
            "Talk to the customer and to product about a new date or an alternative.",
        )
        if part
    )
    if entry.approver:
        body += f" The promise was approved by {entry.approver}."
    return TaskSpec(subject=subject, body=body, open=True, owner_id=entry.owner_id)


def _grants_by_id(session: Session, ids: list[int]) -> dict[int, Approval]:
    if not ids:
        return {}
    rows = session.execute(select(Approval).where(Approval.id.in_(ids))).scalars()
    return {r.id: r for r in rows}


def check_all(session: Session) -> dict[str, list[str]]:
    """Re-check every unflagged entry against the current roadmap, and every flagged one;
    queue the deals whose promise broke, or holds again.

    The roadmap fan-out only re-evaluates open deals, and ledger deals are won (closed), so this
    sweep is what guarantees a slip reaches the owner whichever way the roadmap changed.
    """
    keys = session.execute(
        select(Commitment.feature_key)
        .where(
            Commitment.flagged_at.is_(None),
            Commitment.feature_key.is_not(None),
            Commitment.withdrawn_at.is_(None),
        )
        .distinct()
    ).scalars()
    by_crm: dict[str, list[str]] = {}
    for crm, deal_id in [*on_features_changed(session, list(keys)), *clear_recovered(session)]:
        if deal_id not in by_crm.setdefault(crm, []):
            by_crm[crm].append(deal_id)
    for crm, ids in sorted(by_crm.items()):  # the queue's lock order (app/jobs/queue.py)
        enqueue_deals(session, crm, ids, reason="ledger")
    return by_crm


def clear_recovered(session: Session) -> list[tuple[str, str]]:
    """Unflag the flagged entries whose promise holds again (the date pulled back in, the
    feature back on the roadmap or delivered): the flag was never cleared, so the ledger, its
    `flagged=true` totals and the dashboard called a promise broken for good, and a task not
    yet made still went out. A task already made stays in the CRM (`task_requested` stays true:
    a later slip finds it again rather than making a second). Returns the standing deals to
    re-queue: a won deal's status said `blocked` while its promise was broken."""
    entries = (
        session.execute(
            select(Commitment).where(
                Commitment.flagged_at.is_not(None), Commitment.feature_key.is_not(None)
            )
        )
        .scalars()
        .all()
    )
    if not entries:
        return []
    keys = sorted({e.feature_key for e in entries})
    features = {
        f.key: f
        for f in session.execute(select(Feature).where(Feature.key.in_(keys))).scalars().all()
    }
    deals: dict[tuple[str, str], None] = {}
    for entry in entries:
        if slip_reason(entry, features.get(entry.feature_key)) is not None:
            continue
        entry.flagged_at = None
        entry.flag_reason = None
        session.add(entry)
        if entry.withdrawn_at is None:
            deals[(entry.crm, entry.deal_id)] = None
    session.flush()
    if deals:
        log.info("ledger promises hold again", n=len(deals))
    gone = deleted_deals(session, deals)
    return [key for key in deals if key not in gone]


@schedule("ledger.check", interval=lambda _s: LEDGER_CHECK_SECONDS)
def check_ledger(ctx: JobContext) -> None:
    with session_scope(ctx.engine) as session:
        flagged = check_all(session)
    if flagged:
        log.info("ledger_promises_broken", deals={k: len(v) for k, v in flagged.items()})
