"""The deal pipeline: the worker's Processor.

For each claimed batch, per CRM:

    read snapshots in one batch  →  evaluate against the roadmap and rules  →  store the deal,
    the evaluation and the dependency index (one transaction)  →  write back only what changed
    (one batched connector call, outside any database transaction)  →  record what the CRM now
    holds (one transaction).

Events are hints: the snapshot is always read fresh, except for items queued because the roadmap
or an approval changed (reason "roadmap" / "approval"): the deal itself did not change, so its
stored snapshot is evaluated and no CRM read is spent.

What we last wrote is kept on `Deal.written` in canonical keys (status, summary, block,
evaluation_url, task); when a new evaluation would write the same thing, the connector is not
called at all. `checked_at` is therefore "when roadmap-guard last changed this record".
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

import structlog
from sqlalchemy import bindparam, delete, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from app.connectors.base import CrmConnector, DealWriteBack, TaskSpec, WriteOutcome
from app.db import session_scope
from app.jobs.types import Outcome, QueueItem
from app.models import Approval, Deal, DealFeature, Evaluation, WriteBackLog, utcnow
from app.rules.model import (
    ApprovalGrant,
    DealSnapshot,
    EvaluationResult,
    FeatureReference,
    VerdictStatus,
)
from app.settings import Settings

log = structlog.get_logger(__name__)

STORED_SNAPSHOT_REASONS = frozenset({"roadmap", "approval", "ledger"})
CHUNK = 500


class DealPipeline:
    def __init__(
        self, engine: Engine, settings: Settings, connectors: dict[str, CrmConnector]
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.connectors = connectors

    # --- Processor ---------------------------------------------------------------------------

    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        by_crm: dict[str, list[QueueItem]] = defaultdict(list)
        for item in batch:
            by_crm[item.crm].append(item)
        for crm, items in by_crm.items():
            connector = self.connectors.get(crm)
            if connector is None:
                dead = Outcome("dead", error=f"no connector is configured for CRM '{crm}'")
                outcomes.update({item.id: dead for item in items})
                continue
            try:
                outcomes.update(self._process_crm(connector, items))
            except Exception as exc:  # the whole batch failed: the queue decides retry or dead
                log.warning("batch failed", crm=crm, deals=len(items), error=str(exc))
                failed = Outcome.from_exception(exc)
                outcomes.update({item.id: failed for item in items})
        return outcomes

    def _process_crm(
        self, connector: CrmConnector, items: Sequence[QueueItem]
    ) -> dict[int, Outcome]:
        crm = connector.name
        now = utcnow()
        deal_ids = [item.deal_id for item in items]
        with Session(self.engine) as session:
            stored = {
                d.deal_id: d
                for d in session.exec(
                    select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(deal_ids))
                )
            }
        from_store = {
            item.deal_id
            for item in items
            if item.reason in STORED_SNAPSHOT_REASONS
            and (deal := stored.get(item.deal_id)) is not None
            and deal.tracked
            and deal.snapshot
        }
        to_read = [d for d in deal_ids if d not in from_store]
        snapshots: dict[str, DealSnapshot | None] = (
            dict(connector.read_deals(to_read)) if to_read else {}
        )
        for deal_id in from_store:
            snapshots[deal_id] = DealSnapshot.model_validate(stored[deal_id].snapshot)

        plans: list[DealWriteBack] = []
        with session_scope(self.engine) as session:
            context = EvaluationContext.load(session, crm, deal_ids, now)
            present = {d: snap for d, snap in snapshots.items() if snap is not None}
            for deal_id in deal_ids:
                if snapshots.get(deal_id) is None:
                    untrack(session, crm, deal_id)
            reasons = {item.deal_id: item.reason for item in items}
            evaluated = evaluate_and_store_many(
                session, context, list(present.values()), triggers=reasons
            )
            from app.services import ledger

            followups = ledger.pending_followups_many(session, crm, list(present))
            for deal, snapshot, result in evaluated:
                plan = self._plan_write(
                    deal, snapshot, result, now, followups.get(deal.deal_id, {})
                )
                if plan is not None:
                    plans.append(plan)

        outcomes = {item.id: Outcome.done() for item in items}
        if not plans:
            return outcomes
        results = connector.write_back(plans)
        item_by_deal = {item.deal_id: item for item in items}
        with session_scope(self.engine) as session:
            deals = {
                d.deal_id: d
                for d in session.exec(
                    select(Deal).where(
                        Deal.crm == crm, Deal.deal_id.in_([p.deal_id for p in plans])
                    )
                )
            }
            for plan in plans:
                result = results.get(plan.deal_id)
                item = item_by_deal[plan.deal_id]
                if result is None:
                    outcomes[item.id] = Outcome("retry", error="connector returned no outcome")
                    continue
                record_write(session, plan, result, now, deals[plan.deal_id])
                if result.error is not None:
                    outcomes[item.id] = Outcome.from_exception(result.error)
        return outcomes

    # --- write planning ---------------------------------------------------------------------

    def _plan_write(
        self,
        deal: Deal,
        snapshot: DealSnapshot,
        result: EvaluationResult,
        now: datetime,
        followups: dict[str, TaskSpec],
    ) -> DealWriteBack | None:
        from app.rules.messages import note_text, summary_text, task_text

        task = None
        if result.status != VerdictStatus.clear:
            subject, body = task_text(result, snapshot)
            task = TaskSpec(subject=subject, body=body, open=True, owner_id=snapshot.owner_id)
        elif deal.crm_task_id and deal.crm_task_open:
            subject, body = task_text(result, snapshot)
            task = TaskSpec(subject=subject, body=body, open=False, owner_id=snapshot.owner_id)

        desired = canonical_write(
            status=result.status,
            summary=summary_text(result),
            block=result.status == VerdictStatus.blocked,
            evaluation_url=self.evaluation_url(deal),
            task=task if task is not None else _task_from_written(deal.written),
        )
        # A note records each change of verdict on the deal's timeline. The first verdict needs
        # none: the task it creates already carries the full findings (one CRM call fewer).
        changed = deal.written_verdict is not None and result.status.value != deal.written_verdict
        note = note_text(result, snapshot) if changed else None
        # A blocked deal sitting in a won stage must reach the connector even when nothing we
        # show has changed: the guard (revert, or the CRM's own rule) acts there.
        guard = result.status == VerdictStatus.blocked and snapshot.stage.is_won
        if desired == deal.written and not note and not followups and not guard:
            return None
        return DealWriteBack(
            crm=deal.crm,
            deal_id=deal.deal_id,
            status=result.status,
            summary=desired["summary"],
            block=desired["block"],
            checked_at=now,
            evaluation_url=desired["evaluation_url"],
            task=task,
            task_id=deal.crm_task_id,
            note=note,
            followups=followups,
            # written_at lets a connector tell whether the record it just read is newer than
            # what we last wrote (a stored-snapshot re-check reads nothing).
            previous={
                **deal.written,
                "written_at": deal.written_at.isoformat() if deal.written_at else None,
            },
            snapshot=snapshot,
        )

    def evaluation_url(self, deal: Deal) -> str:
        base = self.settings.public_base_url.rstrip("/")
        return f"{base}/dashboard/deals/{deal.crm}/{deal.deal_id}"


def canonical_write(
    *,
    status: VerdictStatus,
    summary: str,
    block: bool,
    evaluation_url: str,
    task: TaskSpec | dict | None,
) -> dict:
    if isinstance(task, TaskSpec):
        task = {"subject": task.subject, "body": task.body, "open": task.open}
    return {
        "status": status.value,
        "summary": summary,
        "block": block,
        "evaluation_url": evaluation_url,
        "task": task,
    }


def _task_from_written(written: dict) -> dict | None:
    """No task wanted now: keep describing whatever task the CRM already holds (a closed one)."""
    return written.get("task") if written else None


def record_write(
    session: Session, plan: DealWriteBack, result: WriteOutcome, now: datetime, deal: Deal
) -> None:
    """Remember what the CRM holds now, so the next evaluation writes only differences."""
    if result.task_id:
        deal.crm_task_id = result.task_id
        deal.crm_task_open = result.task_open
    if result.error is None:
        deal.written = canonical_write(
            status=plan.status,
            summary=plan.summary,
            block=plan.block,
            evaluation_url=plan.evaluation_url or "",
            task=plan.task if plan.task is not None else plan.previous.get("task"),
        )
        deal.written_verdict = plan.status.value
        deal.written_at = now
    if result.followups_created:
        from app.services import ledger

        ledger.mark_followups_created(
            session, plan.crm, plan.deal_id, list(result.followups_created)
        )
    session.add(deal)
    changes = dict(result.changes)
    if result.reverted_to_stage:
        changes["reverted_to_stage"] = result.reverted_to_stage
    session.add(
        WriteBackLog(
            crm=plan.crm,
            deal_id=plan.deal_id,
            evaluation_id=deal.last_evaluation_id,
            changes=changes,
            outcome="error" if result.error else "ok",
            error=str(result.error) if result.error else None,
        )
    )


# --- evaluation and storage (shared by the worker path and stored re-evaluation) -------------


class EvaluationContext:
    """Everything an evaluation needs that is not the deal: loaded once per batch."""

    def __init__(
        self, catalog, rules, grants: dict[str, list[ApprovalGrant]], now: datetime
    ) -> None:
        self.catalog = catalog
        self.rules = rules
        self.grants = grants
        self.now = now
        self.rules_version = rules_version(rules)

    @classmethod
    def load(
        cls, session: Session, crm: str, deal_ids: Iterable[str], now: datetime
    ) -> EvaluationContext:
        from app.services.catalog import load_catalog, load_rules

        return cls(
            load_catalog(session),
            load_rules(session),
            grants_by_deal(session, crm, deal_ids, now),
            now,
        )

    @property
    def today(self) -> date:
        return self.now.date()


def rules_version(rules) -> str:
    """A short id of the rule set (ids and versions) recorded on each evaluation."""
    ids = ",".join(sorted(f"{r.id}@{r.version}" for r in rules))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


def grants_by_deal(
    session: Session, crm: str, deal_ids: Iterable[str], now: datetime
) -> dict[str, list[ApprovalGrant]]:
    """Active approvals for many deals in one query (expired and revoked ones do not count)."""
    ids = list(deal_ids)
    grants: dict[str, list[ApprovalGrant]] = defaultdict(list)
    if not ids:
        return grants
    rows = session.exec(
        select(Approval).where(
            Approval.crm == crm,
            Approval.deal_id.in_(ids),
            Approval.revoked_at.is_(None),
            or_(Approval.expires_at.is_(None), Approval.expires_at > now),
        )
    )
    for row in rows:
        grants[row.deal_id].append(
            ApprovalGrant(
                id=row.id,
                feature_key=row.feature_key,
                rule_id=row.rule_id,
                approver=row.approver,
                promised_date=row.promised_date,
            )
        )
    return grants


def apply_snapshot(deal: Deal, snapshot: DealSnapshot, now: datetime) -> None:
    deal.name = snapshot.name[:512]
    deal.pipeline = snapshot.pipeline
    deal.stage_id = snapshot.stage.id
    deal.stage_label = snapshot.stage.label
    deal.is_won = snapshot.stage.is_won
    deal.is_closed = snapshot.stage.is_closed
    deal.probability = snapshot.stage.probability
    deal.amount = snapshot.amount
    deal.currency = snapshot.currency
    deal.close_date = snapshot.close_date
    deal.owner_id = snapshot.owner_id
    deal.owner_name = snapshot.owner_name
    deal.account_name = snapshot.account_name
    deal.url = snapshot.url
    deal.snapshot = snapshot.model_dump(mode="json")
    deal.snapshot_at = now
    deal.tracked = True
    deal.updated_at = now


def evaluate_and_store(
    session: Session,
    context: EvaluationContext,
    snapshot: DealSnapshot,
    *,
    trigger: str,
) -> tuple[Deal, EvaluationResult, Evaluation]:
    """Upsert one deal from its snapshot, evaluate it, store the evaluation and dependencies."""
    ((deal, _snapshot, result),) = evaluate_and_store_many(
        session, context, [snapshot], triggers={snapshot.deal_id: trigger}
    )
    return deal, result, session.get(Evaluation, deal.last_evaluation_id)


def evaluate_and_store_many(
    session: Session,
    context: EvaluationContext,
    snapshots: Sequence[DealSnapshot],
    *,
    triggers: dict[str, str],
) -> list[tuple[Deal, DealSnapshot, EvaluationResult]]:
    """Upsert deals (one crm) from fresh snapshots, evaluate, store evaluations and dependencies.

    Batched for a claim: one select of the deals, one flush for all evaluations, one rewrite of
    the dependency index. Every snapshot here is fresh, so the index rows (which copy deal
    facts) are always rewritten.
    """
    from app.rules.engine import evaluate
    from app.services import ledger

    if not snapshots:
        return []
    crm = snapshots[0].crm
    ids = [s.deal_id for s in snapshots]
    deals: dict[str, Deal] = {}
    for start in range(0, len(ids), CHUNK):
        for d in session.exec(
            select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(ids[start : start + CHUNK]))
        ):
            deals[d.deal_id] = d
    done: list[tuple[Deal, DealSnapshot, EvaluationResult, Evaluation, bool]] = []
    for snapshot in snapshots:
        deal = deals.get(snapshot.deal_id) or Deal(crm=crm, deal_id=snapshot.deal_id)
        was_won = bool(deal.is_won)
        apply_snapshot(deal, snapshot, context.now)
        result = evaluate(
            snapshot,
            context.catalog,
            context.rules,
            approvals=context.grants.get(snapshot.deal_id, []),
            today=context.today,
        )
        evaluation = _new_evaluation(
            deal, result, trigger=triggers.get(snapshot.deal_id, "webhook"), context=context
        )
        session.add(deal)
        session.add(evaluation)
        done.append((deal, snapshot, result, evaluation, was_won))
    session.flush()  # ids for new deals and evaluations, in one round
    for deal, _snapshot, result, evaluation, _was_won in done:
        _apply_evaluation(session, deal, result, evaluation, context, references_changed=False)
    replace_dependencies_many(session, [(deal, result) for deal, _s, result, _e, _w in done])
    for deal, snapshot, result, _evaluation, was_won in done:
        ledger.on_evaluated(session, deal, snapshot, result, was_won=was_won)
    return [(deal, snapshot, result) for deal, snapshot, result, _e, _w in done]


def _store_result(
    session: Session,
    deal: Deal,
    result: EvaluationResult,
    *,
    trigger: str,
    context: EvaluationContext,
    references_changed: bool = True,
) -> Evaluation:
    evaluation = _new_evaluation(deal, result, trigger=trigger, context=context)
    session.add(evaluation)
    session.flush()
    _apply_evaluation(session, deal, result, evaluation, context, references_changed)
    return evaluation


def _new_evaluation(
    deal: Deal, result: EvaluationResult, *, trigger: str, context: EvaluationContext
) -> Evaluation:
    return Evaluation(
        **_evaluation_values(
            deal,
            result.status.value,
            [f.model_dump(mode="json") for f in result.findings],
            [r.model_dump(mode="json") for r in result.references],
            trigger=trigger,
            context=context,
        )
    )


def _evaluation_values(
    deal: Deal,
    verdict: str,
    findings: list[dict],
    references: list[dict],
    *,
    trigger: str,
    context: EvaluationContext,
) -> dict:
    """The `evaluation` row of a result (findings and references already dumped as JSON)."""
    return {
        "crm": deal.crm,
        "deal_id": deal.deal_id,
        "verdict": verdict,
        "findings": findings,
        "references": references,
        "trigger": trigger,
        "rules_version": context.rules_version,
        "snapshot_hash": hashlib.sha256(
            json.dumps(deal.snapshot, sort_keys=True, default=str).encode()
        ).hexdigest(),
        "created_at": context.now,
    }


def _apply_evaluation(
    session: Session,
    deal: Deal,
    result: EvaluationResult,
    evaluation: Evaluation,
    context: EvaluationContext,
    references_changed: bool,
) -> None:
    """Point the deal at its (flushed) evaluation and keep the dependency index in step."""
    _point_at_evaluation(deal, result, evaluation.id, context)
    session.add(deal)
    if references_changed:
        replace_dependencies(session, deal, result)


def _point_at_evaluation(
    deal: Deal, result: EvaluationResult, evaluation_id: int | None, context: EvaluationContext
) -> None:
    if result.status != VerdictStatus.clear and deal.first_warning_at is None:
        deal.first_warning_at = context.now
    deal.verdict = result.status.value
    deal.last_evaluation_id = evaluation_id


def _point_many_at_evaluations(
    session: Session,
    pending: Sequence[tuple[Deal, EvaluationResult, bool]],
    evaluation_ids: Iterable[int],
    context: EvaluationContext,
) -> None:
    """`_point_at_evaluation` for many deals as one executemany UPDATE by primary key.

    Through the unit of work each deal was its own UPDATE statement on PostgreSQL (~1 ms
    each). The loaded Deal objects get the same values as committed state, so the session
    neither writes them again nor reads stale ones.
    """
    table = Deal.__table__
    updated_at = utcnow()
    params: list[dict] = []
    for (deal, result, _refs_changed), evaluation_id in zip(pending, evaluation_ids, strict=True):
        first_warning_at = deal.first_warning_at
        if result.status != VerdictStatus.clear and first_warning_at is None:
            first_warning_at = context.now
        values = {
            "verdict": result.status.value,
            "last_evaluation_id": evaluation_id,
            "first_warning_at": first_warning_at,
            "updated_at": updated_at,
        }
        params.append({"_id": deal.id, **{f"_{k}": v for k, v in values.items()}})
        for key, value in values.items():
            set_committed_value(deal, key, value)
    if params:
        session.execute(
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({key: bindparam(f"_{key}") for key in values}),
            params,
        )


def replace_dependencies(session: Session, deal: Deal, result: EvaluationResult) -> None:
    """Rebuild the deal → feature index rows for this deal from its latest references."""
    replace_dependencies_many(session, [(deal, result)])


def replace_dependencies_many(
    session: Session, evaluated: Sequence[tuple[Deal, EvaluationResult]]
) -> None:
    """Rebuild the deal → feature index rows of these deals (one crm) from their references.

    The rows also carry the deal facts exposure reads (`queries.dependency_values`), so this
    runs whenever those facts may have changed: every evaluation of a fresh snapshot.
    Re-evaluations from the stored snapshot do not change the facts and skip it when the
    references are unchanged. Core inserts: no ORM objects for rows nobody reads back here.
    Each row copies its feature's availability as the roadmap stands in this transaction
    (one primary-key read of the features named); the fan-out keeps it current afterwards.
    """
    from app.services.queries import dependency_values, feature_availability

    if not evaluated:
        return
    crm = evaluated[0][0].crm
    ids = [deal.deal_id for deal, _ in evaluated]
    for start in range(0, len(ids), CHUNK):
        session.execute(
            delete(DealFeature).where(
                DealFeature.crm == crm, DealFeature.deal_id.in_(ids[start : start + CHUNK])
            )
        )
    availability = feature_availability(
        session, {ref.feature_key for _, result in evaluated for ref in result.references}
    )
    rows = [
        v
        for deal, result in evaluated
        for v in dependency_values(deal, result.references, availability)
    ]
    if rows:
        # Core, not the ORM's bulk insert: the ORM leaves out each row's None values and sends
        # every run of rows with the same columns as its own statement (a few rows each).
        session.execute(insert(DealFeature.__table__), rows)


def untrack(session: Session, crm: str, deal_id: str) -> None:
    """The deal is gone from the CRM: stop tracking it and drop it from the dependency index.

    Deleting the rows also takes the deal out of exposure (its copied `deal_open` would be stale).
    """
    deal = session.exec(select(Deal).where(Deal.crm == crm, Deal.deal_id == deal_id)).first()
    if deal is not None:
        deal.tracked = False
        deal.updated_at = utcnow()
        session.add(deal)
    session.execute(
        delete(DealFeature).where(DealFeature.crm == crm, DealFeature.deal_id == deal_id)
    )


def reevaluate_stored(
    session: Session,
    crm: str,
    deal_ids: Sequence[str],
    trigger: str,
    *,
    reuse_references: bool = False,
) -> list[str]:
    """Re-evaluate deals from their stored snapshots (no CRM read), in the caller's transaction.

    Stores an evaluation only for deals whose verdict or findings changed and returns their ids;
    the caller queues those for write-back. Used by the roadmap fan-out and approvals.

    `reuse_references`: the caller knows nothing that decides *which* features a deal mentions
    has changed (an approval; a feature's availability, dates or guidance, not its names, SKUs
    or mappings), so the stored references are still true and the notes need not be read again
    (about 5x cheaper per deal with long notes).
    """
    now = utcnow()
    changed: list[str] = []
    ids = list(dict.fromkeys(deal_ids))
    if not ids:
        return changed
    context = EvaluationContext.load(session, crm, [], now)
    from app.rules.engine import evaluate

    table = Evaluation.__table__
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        context.grants = grants_by_deal(session, crm, chunk, now)
        deals = list(
            session.exec(
                select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(chunk), Deal.tracked == True)  # noqa: E712
            )
        )
        last_ids = [d.last_evaluation_id for d in deals if d.last_evaluation_id]
        # Only the columns compared below, as plain rows: no ORM objects for history rows.
        previous = (
            {
                row.id: row
                for row in session.execute(
                    sa_select(
                        table.c.id, table.c.verdict, table.c.findings, table.c.references
                    ).where(table.c.id.in_(last_ids))
                )
            }
            if last_ids
            else {}
        )
        pending: list[tuple[Deal, EvaluationResult, bool]] = []
        rows: list[dict] = []
        for deal in deals:
            if not deal.snapshot:
                continue
            snapshot = DealSnapshot.model_validate(deal.snapshot)
            prev = previous.get(deal.last_evaluation_id)
            stored_refs = (
                [FeatureReference.model_validate(r) for r in prev.references]
                if reuse_references and prev is not None
                else None
            )
            result = evaluate(
                snapshot,
                context.catalog,
                context.rules,
                approvals=context.grants.get(deal.deal_id, []),
                today=context.today,
                references=stored_refs,
            )
            verdict = result.status.value
            findings = [f.model_dump(mode="json") for f in result.findings]
            references = [r.model_dump(mode="json") for r in result.references]
            verdict_changed = prev is None or prev.verdict != verdict or prev.findings != findings
            refs_changed = prev is None or prev.references != references
            if not verdict_changed and not refs_changed:
                continue  # the usual case after most roadmap changes: nothing is written
            rows.append(
                _evaluation_values(
                    deal, verdict, findings, references, trigger=trigger, context=context
                )
            )
            pending.append((deal, result, refs_changed))
            if verdict_changed:
                changed.append(deal.deal_id)
        if rows:
            # One multi-row INSERT ... RETURNING for the chunk's evaluations (Core: an ORM
            # object and a unit-of-work entry per row cost more than evaluating the deal).
            new_ids = session.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
            ).scalars()
            _point_many_at_evaluations(session, pending, new_ids, context)
        replace_dependencies_many(
            session, [(deal, result) for deal, result, refs_changed in pending if refs_changed]
        )
        session.flush()
    return changed
