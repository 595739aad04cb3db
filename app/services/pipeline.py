"""The deal pipeline: the worker's Processor.

For each claimed batch, per CRM:

    read snapshots in one batch  →  evaluate against the roadmap and rules  →  store the deal,
    the evaluation and the dependency index (one transaction)  →  write back only what changed
    (one batched connector call, outside any database transaction)  →  record what the CRM now
    holds (one transaction)  →  complete the open roadmap tasks of deals found gone, deleted or
    merged away, by the read or the write (one batched call, then one transaction).

Events are hints: the snapshot is always read fresh, except for items queued because the roadmap
or an approval changed (reason "roadmap" / "approval"): the deal itself did not change, so its
stored snapshot is evaluated and no CRM read is spent.

What we last wrote is kept on `Deal.written` in canonical keys (status, summary, block,
evaluation_url, task); when a new evaluation would write the same thing, the connector is not
called at all. `checked_at` is therefore "when roadmap-guard last changed this record". A
write that failed after its task landed records that task alone (`record_write`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import structlog
from sqlalchemy import bindparam, delete, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from app.connectors.base import (
    CrmConnector,
    DealWriteBack,
    TaskSpec,
    TransientError,
    WriteOutcome,
)
from app.db import insert_rows, session_scope
from app.jobs.queue import SNAPSHOT_ONLY_REASONS, enqueue_deals
from app.jobs.types import Outcome, QueueItem
from app.models import (
    Approval,
    Commitment,
    Deal,
    DealFeature,
    Evaluation,
    WriteBackLog,
    utcnow,
)
from app.models.types import as_utc, storable_model
from app.rules.model import (
    ApprovalGrant,
    DealSnapshot,
    EvaluationResult,
    FeatureReference,
    VerdictStatus,
)
from app.settings import Settings

log = structlog.get_logger(__name__)

STORED_SNAPSHOT_REASONS = frozenset(SNAPSHOT_ONLY_REASONS)
CHUNK = 500
# The write log's reason for completing a task no write planned (`_complete_gone_tasks`).
GONE_FROM_CRM = "deleted or merged away in the CRM"


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
            except Exception as exc:
                outcomes.update(self._isolate(connector, items, exc))
        return outcomes

    def _isolate(
        self, connector: CrmConnector, items: Sequence[QueueItem], exc: Exception
    ) -> dict[int, Outcome]:
        """Outcomes for a batch that raised `exc`: the queue decides retry or dead.

        One deal must not fail the others: a CRM refusing one record's read (HubSpot answers a
        whole batch read with one 400), or a value of one deal our code or the database cannot
        take, would otherwise fail every deal claimed with it, attempt after attempt, until all
        of them are dead. So a batch that failed on anything but a transient error is split in
        halves and each half run again, down to the deal at fault. Splitting stops when both
        halves fail: then the error is not one deal's (a token lacking a scope, a field that
        does not exist, the database gone) and the CRM is not asked for the batch again and
        again; for one bad deal in a batch of n that costs about 2·log2(n) runs. Transient
        errors (rate limits, pauses, refused credentials, timeouts) are never split on: they
        are the CRM's state, not a deal's, and splitting would only multiply the calls.
        """
        crm = connector.name
        failed = Outcome.from_exception(exc)
        if len(items) == 1 or isinstance(exc, TransientError):
            # (a CredentialsError holds them: see app.metrics.crm_call for the alarm)
            log.warning(
                "batch failed",
                crm=crm,
                deals=len(items),
                deal_id=items[0].deal_id if len(items) == 1 else None,
                error=str(exc),
            )
            return {item.id: failed for item in items}
        mid = len(items) // 2
        halves = (items[:mid], items[mid:])
        results: list[dict[int, Outcome] | Exception] = []
        for half in halves:
            try:
                results.append(self._process_crm(connector, half))
            except Exception as half_exc:
                results.append(half_exc)
        outcomes: dict[int, Outcome] = {}
        if all(isinstance(r, Exception) for r in results):  # not one deal's fault
            log.warning("batch failed", crm=crm, deals=len(items), error=str(exc))
            for half, error in zip(halves, results, strict=True):
                outcomes.update({item.id: Outcome.from_exception(error) for item in half})
            return outcomes
        for half, result in zip(halves, results, strict=True):
            outcomes.update(
                self._isolate(connector, half, result) if isinstance(result, Exception) else result
            )
        return outcomes

    def _process_crm(
        self, connector: CrmConnector, items: Sequence[QueueItem]
    ) -> dict[int, Outcome]:
        crm = connector.name
        now = utcnow()
        deal_ids = [item.deal_id for item in items]
        reasons = {item.deal_id: item.reason for item in items}
        with Session(self.engine) as session:
            rows = session.exec(
                select(Deal.deal_id, Deal.is_won, Deal.tracked, Deal.snapshot_at).where(
                    Deal.crm == crm, Deal.deal_id.in_(deal_ids)
                )
            ).all()
        # The stored snapshot's time before our read: if it differs when we store, another
        # worker stored a read of the deal meanwhile (ours may be the older one).
        seen_at = {deal_id: at for deal_id, _won, _tracked, at in rows}
        known = [(d, won) for d, won, tracked, at in rows if tracked and at is not None]
        stored_ids = {deal_id for deal_id, _won in known}
        # Won at the last evaluation, before this one: the guard protects the move into a won
        # stage, not a deal signed earlier (see _plan_write).
        won_before = {deal_id for deal_id, won in known if won}
        from_store = {
            item.deal_id
            for item in items
            if item.reason in STORED_SNAPSHOT_REASONS and item.deal_id in stored_ids
        }
        to_read = [d for d in deal_ids if d not in from_store]
        snapshots: dict[str, DealSnapshot | None] = (
            dict(connector.read_deals(to_read)) if to_read else {}
        )

        plans: list[DealWriteBack] = []
        # Deals found gone whose roadmap task is still open: deal id -> task id, completed in
        # the CRM once their untrack is committed (`_complete_gone_tasks`).
        gone_tasks: dict[str, str] = {}
        with session_scope(self.engine) as session:
            from app.services import ledger

            # The deals' rows first, in id order, as a roadmap change's inline re-check takes
            # them (lock_deals): it then waits for this transaction or this one for it, never
            # a deadlock, and neither stores a verdict of a snapshot the other replaced. The
            # roadmap and rules are read after: a change committed meanwhile is seen.
            from app.services.fanout import share_with_fanouts

            share_with_fanouts(session)  # no roadmap fan-out runs while this transaction does
            lock_deals(session, {crm: deal_ids})
            context = EvaluationContext.load(session, crm, deal_ids, now)
            # A read stored by another worker since ours began (our lease expired while the CRM
            # answered slowly, and the deal was claimed again): ours may be the older one, and
            # storing it would write a stale verdict and a second task. It is read again.
            stored_at = (
                dict(
                    session.exec(
                        select(Deal.deal_id, Deal.snapshot_at).where(
                            Deal.crm == crm, Deal.deal_id.in_(to_read)
                        )
                    ).all()
                )
                if to_read
                else {}
            )
            overtaken = sorted(d for d in to_read if stored_at.get(d) != seen_at.get(d))
            if overtaken:
                log.warning(
                    "read overtaken by another worker's; reading again", crm=crm, deal_ids=overtaken
                )
                enqueue_deals(session, crm, overtaken, reason="reconcile")
            present = {
                d: snap for d, snap in snapshots.items() if snap is not None and d not in overtaken
            }
            for deal_id in to_read:
                if snapshots.get(deal_id) is not None or deal_id in overtaken:
                    continue
                if (task_id := untrack(session, crm, deal_id)) is not None:
                    gone_tasks[deal_id] = task_id
            evaluated = evaluate_and_store_many(
                session, context, list(present.values()), triggers=reasons
            )
            # Roadmap, approval and ledger items: the deal did not change, its stored snapshot
            # is evaluated (references reused where they still hold) and only what changed is
            # stored, as in the inline fan-out.
            for ids in _chunks(sorted(from_store), CHUNK):
                by_reason: dict[str, list[Deal]] = defaultdict(list)
                for deal in session.exec(
                    select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(ids))
                ):
                    by_reason[reasons[deal.deal_id]].append(deal)
                for reason, deals in sorted(by_reason.items()):
                    for done in reevaluate_stored_deals(session, context, deals, trigger=reason):
                        evaluated.append((done.deal, done.snapshot, done.result))
                        ledger.on_evaluated(
                            session,
                            done.deal,
                            done.snapshot,
                            done.result,
                            was_won=done.snapshot.stage.is_won,
                        )
            followups = ledger.pending_followups_many(
                session, crm, [deal.deal_id for deal, _s, _r in evaluated]
            )
            lapsed = lapsed_approvals(session, crm, evaluated, now)
            unconfirmed: list[int] = []
            for deal, snapshot, result in evaluated:
                plan = self._plan_write(
                    deal,
                    snapshot,
                    result,
                    now,
                    followups.get(deal.deal_id, {}),
                    was_won=deal.deal_id in won_before,
                    lapsed=lapsed.get(deal.deal_id, ()),
                )
                if plan is not None:
                    plans.append(plan)
                    # Committed with the evaluations, before the CRM is called: if this write is
                    # cut short, the next one knows to look for what it made (record_write clears
                    # it). The first unfinished write's time is kept: a retry that fails too must
                    # not move the window in which Salesforce notes of ours are looked for.
                    if deal.write_started_at is None:
                        unconfirmed.append(deal.id)
                        set_committed_value(deal, "write_started_at", now)
            # One UPDATE per chunk of deals, not the unit of work's executemany of one row each.
            for ids in _chunks(unconfirmed, CHUNK):
                session.execute(
                    update(Deal)
                    .where(Deal.id.in_(ids), Deal.write_started_at.is_(None))
                    .values(write_started_at=now, updated_at=now)
                    .execution_options(synchronize_session=False)  # set on the objects above
                )

        outcomes = {item.id: Outcome.done() for item in items}
        if plans:
            self._write(connector, items, plans, now, outcomes, gone_tasks)
        if gone_tasks:
            self._complete_gone_tasks(connector, items, gone_tasks, outcomes)
        return outcomes

    def _write(
        self,
        connector: CrmConnector,
        items: Sequence[QueueItem],
        plans: Sequence[DealWriteBack],
        now: datetime,
        outcomes: dict[int, Outcome],
        gone_tasks: dict[str, str],
    ) -> None:
        """Write the plans back (one batched call, outside any transaction), then record what
        the CRM holds now (one transaction). A deal the write found gone is untracked; its
        open task, if any, goes into `gone_tasks`."""
        from app.services import ledger

        crm = connector.name
        results = connector.write_back(plans)
        item_by_deal = {item.deal_id: item for item in items}
        with session_scope(self.engine) as session:
            # The deal rows first, in id order (lock_deals), as a roadmap change's inline
            # re-check takes them: the UPDATE below writes them in the plans' order, and one
            # that held a deal the re-check wanted while waiting for one it held deadlocked
            # (PostgreSQL aborted one: the roadmap edit answered 503, or this batch, whose CRM
            # writes had been made, was split and written again).
            lock_deals(session, {crm: [plan.deal_id for plan in plans]})
            # Core rows, not the snapshot-carrying Deal objects: only what record_write reads.
            table = Deal.__table__
            deals = {
                row.deal_id: row
                for row in session.execute(
                    sa_select(
                        *(
                            table.c[name]
                            for name in ("id", "deal_id", "last_evaluation_id", *_RECORDED)
                        )
                    ).where(table.c.crm == crm, table.c.deal_id.in_([p.deal_id for p in plans]))
                )
            }
            updates: list[dict] = []
            logs: list[dict] = []
            reread: list[str] = []
            for plan in plans:
                result = results.get(plan.deal_id)
                item = item_by_deal[plan.deal_id]
                if result is None:
                    outcomes[item.id] = Outcome("retry", error="connector returned no outcome")
                    continue
                # The guard moved the deal back: its own stage-change webhook is our write's
                # echo (ignored), so read it again, or the deal stays closed-won here (counted
                # as won, off the open pipeline) until a reconciliation.
                if result.reread or result.reverted_to_stage:
                    reread.append(plan.deal_id)
                if result.reverted_to_stage:  # never signed: what this check recorded goes
                    ledger.withdraw_reverted_win(session, crm, plan.deal_id, plan.checked_at)
                if result.deal_gone:
                    if (task_id := untrack(session, crm, plan.deal_id)) is not None:
                        gone_tasks[plan.deal_id] = task_id
                    continue
                deal = deals[plan.deal_id]
                values, log_row = record_write(session, plan, result, now, deal)
                updates.append({"_id": deal.id, **{f"_{k}": v for k, v in values.items()}})
                logs.append(log_row)
                if result.error is not None:
                    outcomes[item.id] = Outcome.from_exception(result.error)
            if updates:  # one executemany with one column set (the ORM split it in thousands)
                session.execute(
                    update(table)
                    .where(table.c.id == bindparam("_id"))
                    .values({name: bindparam(f"_{name}") for name in _RECORDED}),
                    updates,
                )
            if logs:  # Core: nobody reads these ids back, so no RETURNING (see db.insert_rows)
                session.execute(insert(WriteBackLog.__table__), logs)
            if reread:  # changed in the CRM since the snapshot written from: read it again
                enqueue_deals(session, crm, reread, reason="reconcile")

    def _complete_gone_tasks(
        self,
        connector: CrmConnector,
        items: Sequence[QueueItem],
        gone: dict[str, str],
        outcomes: dict[int, Outcome],
    ) -> None:
        """Complete the open roadmap tasks of deals found gone (deleted, or merged into another
        deal: HubSpot moves the secondary's tasks to the primary, where ours stayed open beside
        the primary's own). `gone`: deal id -> task id, their untrack already committed. One
        batched connector call, outside any transaction; then one transaction records it.

        The deal keeps `crm_task_open` until the CRM confirms. A failure is the deal's outcome
        like a failed write's: retried (the deal is read again, found gone again and its task
        completed then; a crash before this point leaves its lease to expire the same way) or
        dead (visible, replayable). A task the CRM no longer has counts as completed."""
        crm = connector.name
        try:
            results: dict[str, Any] = dict(connector.complete_tasks(sorted(set(gone.values()))))
        except Exception as exc:  # the call failed as a whole: every task is retried
            log.warning("completing gone deals' tasks failed", crm=crm, error=str(exc))
            results = {task_id: exc for task_id in gone.values()}
        errors: dict[str, Exception] = {}
        for deal_id, task_id in gone.items():
            if task_id not in results:
                errors[deal_id] = TransientError("connector returned no outcome for the task")
            elif results[task_id] is not None:
                errors[deal_id] = results[task_id]
        item_by_deal = {item.deal_id: item for item in items}
        with session_scope(self.engine) as session:
            logs: list[dict] = []
            back: list[str] = []
            for ids in _chunks(sorted(gone), CHUNK):
                for deal in session.exec(
                    select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(ids))
                ):
                    error = errors.get(deal.deal_id)
                    logs.append(
                        {
                            "crm": crm,
                            "deal_id": deal.deal_id,
                            "evaluation_id": deal.last_evaluation_id,
                            "changes": {"task": "completed", "deal": GONE_FROM_CRM},
                            "outcome": "error" if error else "ok",
                            "error": str(error) if error else None,
                            "created_at": utcnow(),
                        }
                    )
                    task_id = gone[deal.deal_id]
                    if error is not None or deal.crm_task_id != task_id:
                        continue
                    deal.crm_task_open = False
                    if isinstance((deal.written or {}).get("task"), dict):
                        # What the CRM holds now: a deal restored later reopens it if needed.
                        deal.written = {
                            **deal.written,
                            "task": {**deal.written["task"], "open": False},
                        }
                    deal.updated_at = utcnow()
                    session.add(deal)
                    if deal.tracked:  # restored and read meanwhile: check it again
                        back.append(deal.deal_id)
            if logs:
                session.execute(insert(WriteBackLog.__table__), logs)
            if back:
                enqueue_deals(session, crm, back, reason="reconcile")
        for deal_id, error in errors.items():
            log.warning(
                "could not complete a gone deal's task; retried",
                crm=crm,
                deal_id=deal_id,
                task_id=gone[deal_id],
                error=str(error),
            )
            if deal_id in item_by_deal:
                outcomes[item_by_deal[deal_id].id] = Outcome.from_exception(error)

    # --- write planning ---------------------------------------------------------------------

    def _plan_write(
        self,
        deal: Deal,
        snapshot: DealSnapshot,
        result: EvaluationResult,
        now: datetime,
        followups: dict[str, TaskSpec],
        *,
        was_won: bool = False,
        lapsed: Sequence[str] = (),
    ) -> DealWriteBack | None:
        from app.rules.messages import needs_action, note_text, summary_text, task_text

        # A signed deal: won when last evaluated, with no block of ours standing (the CRM let
        # it close while we said it could). A promise breaking after the signature (a roadmap
        # slip, an expired approval) shows in its status and summary and the ledger's
        # follow-up task; it does not block the deal (a Salesforce validation rule would then
        # refuse every later edit of it) nor, on HubSpot, move it out of closed-won. The guard
        # is for a deal *reaching* a won stage while blocked.
        signed = snapshot.stage.is_won and was_won and not (deal.written or {}).get("block")
        blocked = result.status == VerdictStatus.blocked
        stage = snapshot.stage
        # Past the point where the rep can act: closed won with nothing of ours blocking it
        # (signed, or it closed with warnings only), or closed lost. The texts then ask
        # nothing ("before this deal can close" was written on signed and lost deals), the
        # block is off and the roadmap task is completed.
        closed = (
            "won"
            if stage.is_won and (signed or not blocked)
            else "lost"
            if stage.is_closed and not stage.is_won
            else None
        )
        block = blocked and closed is None
        task = None
        keeps_task = bool(deal.crm_task_id and deal.crm_task_open)
        if needs_action(result, closed):
            subject, body = task_text(result, snapshot, closed)
            task = TaskSpec(subject=subject, body=body, open=True, owner_id=snapshot.owner_id)
        elif keeps_task or (
            result.status == VerdictStatus.clear
            and not deal.crm_task_id
            and deal.write_started_at is not None
        ):
            # Nothing left to do (clear, every problem approved, or the deal closed): complete
            # the open task; or, after a write cut short before we learnt its task's id,
            # complete the task it may have made (the connector looks for it by marker and
            # does nothing if there is none), else it stays open on a clear deal and a later
            # block makes a second one.
            subject, body = task_text(result, snapshot, closed)
            task = TaskSpec(subject=subject, body=body, open=False, owner_id=snapshot.owner_id)

        desired = canonical_write(
            status=result.status,
            summary=summary_text(result, closed),
            block=block,
            evaluation_url=self.evaluation_url(deal),
            task=task if task is not None else _task_from_written(deal.written),
        )
        # A note records each change of verdict on the deal's timeline. The first verdict needs
        # none: the task it creates already carries the full findings (one CRM call fewer).
        changed = deal.written_verdict is not None and result.status.value != deal.written_verdict
        note = note_text(result, snapshot, closed, lapsed=lapsed) if changed else None
        # A blocked deal sitting in a won stage must reach the connector even when nothing we
        # show has changed: the guard (revert, or the CRM's own rule) acts there.
        guard = desired["block"] and snapshot.stage.is_won
        # A write cut short (the worker killed after calling the CRM, its outcome not recorded
        # or an error) may have left the record showing something else than `written`: the
        # CRM's state is unknown until a write is recorded, so the deal is written even when
        # what we want is what we last recorded (a roadmap change undone before the retry left
        # the cut-short write's block standing; only a fresh read shows it, a stored-snapshot
        # re-check does not).
        unconfirmed = deal.write_started_at is not None
        if (
            not unconfirmed
            and _same_write(desired, deal.written)
            and not note
            and not followups
            and not guard
            and not _drifted(snapshot, desired, deal.written_at)
        ):
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
            unconfirmed_since=deal.write_started_at,
        )

    def evaluation_url(self, deal: Deal) -> str:
        """The link written to the CRM record, as every view lists it (ids percent-encoded)."""
        from app.services.queries import evaluation_url

        return evaluation_url(self.settings.public_base_url, deal.crm, deal.deal_id)


def lapsed_approvals(
    session: Session,
    crm: str,
    evaluated: Sequence[tuple[Deal, Any, EvaluationResult]],
    now: datetime,
) -> dict[str, list[str]]:
    """For each deal now blocked again, the approvals of its that ended since our last write
    ("Single Sign-On, approved by pat, expired on Dec 7, 2026"): the note recording the new
    verdict says why the block came back (it named nothing, and the rep saw a deal blocked
    again out of the blue)."""
    since = {
        deal.deal_id: deal.written_at
        for deal, _snapshot, result in evaluated
        if result.status == VerdictStatus.blocked
        and deal.written_verdict not in (None, VerdictStatus.blocked.value)
        and deal.written_at is not None
    }
    if not since:
        return {}
    names = {
        (deal.deal_id, f.feature_key): f.feature_name
        for deal, _snapshot, result in evaluated
        if deal.deal_id in since
        for f in result.findings
        if f.feature_name
    }
    out: dict[str, list[str]] = defaultdict(list)
    for ids in _chunks(sorted(since), CHUNK):
        rows = session.exec(
            select(Approval)
            .where(
                Approval.crm == crm,
                Approval.deal_id.in_(ids),
                or_(Approval.revoked_at.is_not(None), Approval.expires_at <= now),
            )
            .order_by(Approval.id)
        )
        for row in rows:
            ended = row.revoked_at or row.expires_at
            if ended is None or as_utc(ended) <= as_utc(since[row.deal_id]):
                continue
            what = names.get((row.deal_id, row.feature_key)) or row.feature_key or "a promise"
            revoker = (row.revoked_by or "").split(":", 1)[-1]  # "approver:dana" -> "dana"
            how = f"was revoked by {revoker}" if row.revoked_at is not None else "expired"
            out[row.deal_id].append(
                f"the approval of {what} by {row.approver} {how} on "
                f"{as_utc(ended).strftime('%b %-d, %Y')}"
            )
    return out


def canonical_write(
    *,
    status: VerdictStatus,
    summary: str,
    block: bool,
    evaluation_url: str,
    task: TaskSpec | dict | None,
) -> dict:
    return {
        "status": status.value,
        "summary": summary,
        "block": block,
        "evaluation_url": evaluation_url,
        "task": canonical_task(task),
    }


def canonical_task(task: TaskSpec | dict | None) -> dict | None:
    if isinstance(task, TaskSpec):
        return {
            "subject": task.subject,
            "body": task.body,
            "open": task.open,
            "owner_id": task.owner_id,  # the deal changed hands: the open task follows it
        }
    return task


def _same_write(desired: dict, written: dict | None) -> bool:
    """Whether `written` already holds `desired`. A task written before its owner was recorded
    is compared without the owner: else every such deal would be written again at its next
    evaluation (a roadmap sweep would rewrite every open task), for no change."""
    if desired == written:
        return True
    task, was = desired.get("task"), (written or {}).get("task")
    if task is None or was is None or "owner_id" in was:
        return False
    return {**desired, "task": {k: v for k, v in task.items() if k != "owner_id"}} == written


def _drifted(snapshot: DealSnapshot, desired: dict, written_at: datetime | None) -> bool:
    """Whether a record read after our last write shows another verdict than ours: someone
    edited our fields by hand (a HubSpot guard property filled on a blocked deal to pass the
    stage requirement). The connector puts `shown` (status, block, as the record holds them)
    and `read_at` in the snapshot; a stored snapshot's values predate our write and say
    nothing."""
    shown = snapshot.extra.get("shown")
    if not shown:
        return False
    read_at = snapshot.extra.get("read_at")
    try:
        read = datetime.fromisoformat(read_at) if isinstance(read_at, str) else None
    except ValueError:
        return False
    if read is None or (written_at is not None and read < as_utc(written_at)):
        return False
    return any(shown.get(key) != desired.get(key) for key in ("status", "block") if key in shown)


def _task_from_written(written: dict) -> dict | None:
    """No task wanted now: keep describing whatever task the CRM already holds (a closed one)."""
    return written.get("task") if written else None


# The deal columns record_write writes back (and reads, with `last_evaluation_id`).
_RECORDED = (
    "crm_task_id",
    "crm_task_open",
    "written",
    "written_verdict",
    "written_at",
    "write_started_at",
)


def record_write(
    session: Session, plan: DealWriteBack, result: WriteOutcome, now: datetime, deal: Any
) -> tuple[dict, dict]:
    """Remember what the CRM holds now, so the next evaluation writes only differences.

    `deal` holds `last_evaluation_id` and the `_RECORDED` columns as they are. Returns the
    new values of the `_RECORDED` columns and the `write_back_log` row, for the caller to
    write with the batch's others.
    """
    values = {name: getattr(deal, name) for name in _RECORDED}
    if result.task_id:
        values["crm_task_id"] = result.task_id
        values["crm_task_open"] = result.task_open
    if result.error is None:
        values["written"] = canonical_write(
            status=plan.status,
            summary=plan.summary,
            block=plan.block,
            evaluation_url=plan.evaluation_url or "",
            task=plan.task if plan.task is not None else plan.previous.get("task"),
        )
        values["written_verdict"] = plan.status.value
        values["written_at"] = now
        values["write_started_at"] = None  # finished: the next write need not look for it
    elif "task" in result.changes and plan.task is not None:
        # Part of the write landed before the error: the roadmap task as planned (the
        # connector says so with a "task" change), and it is recorded as such, alone. The next
        # write compares with it: it rewrote a task already written at every retry (a held
        # deal's, every 5 minutes: due date moved, the rep's progress reset) and, with its
        # open state recorded as before, a task reopened by such a write was never completed
        # once the deal turned clear. Nothing else is taken as written: the status, summary
        # and block may be what was refused (a retry compares them with the record read
        # again), and `written_at` keeps naming the last full write (the note's marker,
        # which finds a note this try posted, is made from it).
        values["written"] = {**(values["written"] or {}), "task": canonical_task(plan.task)}
    if result.followups_created:
        from app.services import ledger

        ledger.mark_followups_created(
            session, plan.crm, plan.deal_id, list(result.followups_created)
        )
    changes = dict(result.changes)
    if result.reverted_to_stage:
        changes["reverted_to_stage"] = result.reverted_to_stage
    log = {
        "crm": plan.crm,
        "deal_id": plan.deal_id,
        "evaluation_id": deal.last_evaluation_id,
        "changes": changes,
        "outcome": "error" if result.error else "ok",
        "error": str(result.error) if result.error else None,
        "created_at": utcnow(),
    }
    return values, log


# --- evaluation and storage (shared by the worker path and stored re-evaluation) -------------


class EvaluationContext:
    """Everything an evaluation needs that is not the deal: loaded once per batch."""

    def __init__(
        self,
        catalog,
        rules,
        grants: dict[str, list[ApprovalGrant]],
        now: datetime,
        matcher_version: str | None = None,
    ) -> None:
        self.catalog = catalog
        self.rules = rules
        self.grants = grants
        self.now = now
        self.rules_version = rules_version(rules)
        # services.catalog.matcher_version of `catalog`; None: stored references never reused
        self.matcher_version = matcher_version

    @classmethod
    def load(
        cls, session: Session, crm: str, deal_ids: Iterable[str], now: datetime
    ) -> EvaluationContext:
        from app.services.catalog import load_catalog_and_matcher, load_rules

        catalog, matcher = load_catalog_and_matcher(session)
        return cls(
            catalog,
            load_rules(session),
            grants_by_deal(session, crm, deal_ids, now),
            now,
            matcher,
        )

    def evaluate(
        self, snapshot: DealSnapshot, references: list[FeatureReference] | None = None
    ) -> EvaluationResult:
        """The engine's verdict on `snapshot` under this context's roadmap, rules and the
        deal's approvals; `references`: stored ones still valid (the notes are not read)."""
        from app.rules.engine import evaluate

        return evaluate(
            snapshot,
            self.catalog,
            self.rules,
            approvals=self.grants.get(snapshot.deal_id, []),
            today=self.today,
            references=references,
        )

    @property
    def today(self) -> date:
        """Today where the sales team works (settings.business_timezone)."""
        return self.catalog.local_date(self.now)


def rules_version(rules) -> str:
    """A short id of the rule set (ids and versions) recorded on each evaluation."""
    ids = ",".join(sorted(f"{r.id}@{r.version}" for r in rules))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


def grants_by_deal(
    session: Session, crm: str, deal_ids: Iterable[str], now: datetime
) -> dict[str, list[ApprovalGrant]]:
    """Active approvals for many deals in one query (expired and revoked ones do not count),
    and, for a deal signed under an approval, that approval however long ago it expired: the
    ledger's entries of the win name it (`Commitment.approval_id`, not withdrawn). A signed
    deal re-read after the expiry (a rep's edit, a ledger follow-up) dropped it and showed
    `blocked` in the CRM on business already signed, as the expiry job itself no longer does.
    Such a grant is `signed_only`: the engine counts it only while the deal is won (reopened,
    the deal is open business again). Revoked still does not count."""
    ids = list(deal_ids)
    grants: dict[str, list[ApprovalGrant]] = defaultdict(list)
    if not ids:
        return grants
    signed_under = select(Commitment.approval_id).where(
        Commitment.crm == crm,
        Commitment.deal_id.in_(ids),
        Commitment.withdrawn_at.is_(None),
        Commitment.approval_id.is_not(None),
    )
    rows = session.exec(
        select(Approval).where(
            Approval.crm == crm,
            Approval.deal_id.in_(ids),
            Approval.revoked_at.is_(None),
            or_(
                Approval.expires_at.is_(None),
                Approval.expires_at > now,
                Approval.id.in_(signed_under),
            ),
        )
    )
    for row in rows:
        expired = row.expires_at is not None and as_utc(row.expires_at) <= now
        grants[row.deal_id].append(grant_of(row, signed_only=expired))
    return grants


def grant_of(row: Approval, *, signed_only: bool = False) -> ApprovalGrant:
    """The engine's view of an approval row: what it covers (see engine._grant_for)."""
    covers = row.covers
    return ApprovalGrant(
        id=row.id,
        feature_key=row.feature_key,
        rule_id=row.rule_id,
        approver=row.approver,
        promised_date=row.promised_date,
        rule_ids=None if covers is None else sorted({c["rule_id"] for c in covers}),
        evidence=None
        if covers is None or row.feature_key is not None
        else [c.get("evidence") for c in covers],
        signed_only=signed_only,
    )


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
    deal.amount_home = snapshot.amount_home
    deal.home_currency = snapshot.home_currency
    deal.close_date = snapshot.close_date
    # A read that could not name the owner (HubSpot's Owners API refused or down, a worker's
    # name cache still cold) keeps the name stored for the same owner: it wiped it, and the
    # views and reports showed the owner's id until the next read that could.
    kept = (
        deal.owner_name
        if snapshot.owner_name is None and snapshot.owner_id and deal.owner_id == snapshot.owner_id
        else None
    )
    deal.owner_id = snapshot.owner_id
    deal.owner_name = kept or snapshot.owner_name
    deal.account_name = snapshot.account_name
    deal.url = snapshot.url
    deal.snapshot = snapshot.model_dump(mode="json")
    if kept:
        deal.snapshot["owner_name"] = kept  # (re-evaluations read the stored snapshot)
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
    from app.services import ledger

    if not snapshots:
        return []
    snapshots = [storable_model(s) for s in snapshots]  # CRM text with NUL (see `storable`)
    crm = snapshots[0].crm
    ids = [s.deal_id for s in snapshots]
    deals: dict[str, Deal] = {}
    for start in range(0, len(ids), CHUNK):
        for d in session.exec(
            select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(ids[start : start + CHUNK]))
        ):
            deals[d.deal_id] = d
    done: list[tuple[Deal, DealSnapshot, EvaluationResult, bool]] = []
    rows: list[dict] = []
    for snapshot in snapshots:
        deal = deals.get(snapshot.deal_id) or Deal(crm=crm, deal_id=snapshot.deal_id)
        was_won = bool(deal.is_won)
        first_seen = deal.snapshot_at is None  # never read before (or only queued)
        apply_snapshot(deal, snapshot, context.now)
        result = context.evaluate(snapshot)
        rows.append(
            _evaluation_values(
                deal,
                result.status.value,
                [f.model_dump(mode="json") for f in result.findings],
                [r.model_dump(mode="json") for r in result.references],
                trigger=triggers.get(snapshot.deal_id, "webhook"),
                context=context,
            )
        )
        session.add(deal)
        done.append((deal, snapshot, result, was_won, first_seen))
    session.flush()  # ids for new deals, in one round
    # History rows through Core (see db.insert_rows); the deals point at them.
    for (deal, _snapshot, result, _was_won, _first), evaluation_id in zip(
        done, insert_rows(session, Evaluation.__table__, rows), strict=True
    ):
        _point_at_evaluation(deal, result, evaluation_id, context)
    replace_dependencies_many(session, [(deal, result) for deal, _s, result, _w, _f in done])
    for deal, snapshot, result, was_won, first_seen in done:
        ledger.on_evaluated(session, deal, snapshot, result, was_won=was_won, first_seen=first_seen)
    return [(deal, snapshot, result) for deal, snapshot, result, _w, _f in done]


def _evaluation_values(
    deal: Deal,
    verdict: str,
    findings: list[dict],
    references: list[dict],
    *,
    trigger: str,
    context: EvaluationContext,
    snapshot_hash: str | None = None,
) -> dict:
    """The `evaluation` row of a result (findings and references already dumped as JSON).
    `snapshot_hash`: the stored snapshot's hash when known (a re-evaluation of the snapshot
    its previous evaluation saw), else computed."""
    return {
        "crm": deal.crm,
        "deal_id": deal.deal_id,
        "verdict": verdict,
        "findings": findings,
        "references": references,
        "trigger": trigger,
        "rules_version": context.rules_version,
        "snapshot_hash": snapshot_hash or _snapshot_hash(deal.snapshot),
        "matcher_version": context.matcher_version,
        "created_at": context.now,
    }


def _snapshot_hash(snapshot: dict | None) -> str:
    """The deal as read, not when: `extra.read_at` (the connectors' read time) is left out, so
    reading an unchanged deal again gives the same hash (reports date a closing by it)."""
    extra = snapshot.get("extra") if isinstance(snapshot, dict) else None
    if isinstance(extra, dict) and "read_at" in extra:
        snapshot = {**snapshot, "extra": {k: v for k, v in extra.items() if k != "read_at"}}
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, default=str).encode()).hexdigest()


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


def _chunks(values: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def untrack(session: Session, crm: str, deal_id: str) -> str | None:
    """The deal is gone from the CRM: stop tracking it and drop it from the dependency index.

    Deleting the rows also takes the deal out of exposure (its copied `deal_open` would be stale).
    Returns the id of the deal's roadmap task if it is still open: the caller has it completed
    in the CRM after this transaction commits (`DealPipeline._complete_gone_tasks`), else it
    stays open in the owner's task list for good. `crm_task_open` stays true until the CRM
    confirms, so a completion that fails is asked for again at the deal's next pass.
    """
    deal = session.exec(select(Deal).where(Deal.crm == crm, Deal.deal_id == deal_id)).first()
    if deal is not None:
        deal.tracked = False
        deal.updated_at = utcnow()
        session.add(deal)
    session.execute(
        delete(DealFeature).where(DealFeature.crm == crm, DealFeature.deal_id == deal_id)
    )
    if deal is not None and deal.crm_task_id and deal.crm_task_open:
        return deal.crm_task_id
    return None


def lock_deals(session: Session, deal_ids: Mapping[str, Iterable[str]]) -> None:
    """Lock these deals' rows (crm -> deal ids) for the caller's transaction, in id order, on
    PostgreSQL (SQLite's one writer serializes transactions already).

    Every transaction that rewrites a deal's evaluation and dependency rows takes its deal rows
    first, through here: the worker storing fresh reads, a roadmap change's inline re-check.
    The inline re-check rewrote the dependency rows, then the deal rows, while a worker did
    the reverse: a deadlock (the roadmap edit answered 500), or, without one, a verdict of the
    old snapshot stored over the worker's newer one (the CRM blocked on a deal that no longer
    sold the feature). One order (ids ascending, across CRMs) means one waits for the other."""
    if session.get_bind().dialect.name != "postgresql":
        return
    table = Deal.__table__
    ids: list[int] = []
    for crm, values in sorted(deal_ids.items()):
        for chunk in _chunks(sorted(set(values)), CHUNK):
            ids.extend(
                session.execute(
                    sa_select(table.c.id).where(table.c.crm == crm, table.c.deal_id.in_(chunk))
                ).scalars()
            )
    for chunk in _chunks(sorted(ids), CHUNK):
        session.execute(
            sa_select(table.c.id)
            .where(table.c.id.in_(chunk))
            .order_by(table.c.id)
            .with_for_update()
        ).all()


def reevaluate_stored(
    session: Session, crm: str, deal_ids: Sequence[str], trigger: str
) -> list[str]:
    """Re-evaluate deals from their stored snapshots (no CRM read), in the caller's transaction.

    Stores an evaluation only for deals whose verdict, findings or references changed and
    returns the ids of those whose verdict or findings changed; the caller queues those for
    write-back. Used by the roadmap fan-out and approvals; the worker's stored-snapshot items
    go through `reevaluate_stored_deals` directly.
    """
    ids = list(dict.fromkeys(deal_ids))
    changed: list[str] = []
    if not ids:
        return changed
    # The deals' rows first, in id order, as the worker storing fresh reads takes them (a
    # no-op for a fan-out, which locked them already): an approval revoked or expiring while
    # a worker stored a newer read of the deal loaded the old snapshot, then stored its
    # verdict and references over the worker's (a line item the rep had removed blocked the
    # deal again, and the re-check queued after it reused those references).
    lock_deals(session, {crm: ids})
    now = utcnow()
    context = EvaluationContext.load(session, crm, [], now)
    for chunk in _chunks(ids, CHUNK):
        context.grants = grants_by_deal(session, crm, chunk, now)
        deals = session.exec(
            select(Deal).where(Deal.crm == crm, Deal.deal_id.in_(chunk), Deal.tracked == True)  # noqa: E712
        ).all()
        for outcome in reevaluate_stored_deals(session, context, deals, trigger=trigger):
            if outcome.verdict_changed:
                changed.append(outcome.deal.deal_id)
    return changed


def saw_snapshot(prev: Any, deal: Deal) -> bool:
    """Whether the evaluation `prev` (a row with `created_at`) was made of the deal's current
    snapshot (made at or after the snapshot was stored)."""
    return prev is not None and deal.snapshot_at is not None and prev.created_at >= deal.snapshot_at


def references_reusable(prev: Any, deal: Deal, matcher_version: str | None) -> bool:
    """Whether the references of the evaluation `prev` (a row with `created_at` and
    `matcher_version`) still hold for the deal: it saw the current snapshot, under the catalog
    matcher in force (services.catalog.matcher_version). True after an availability, date,
    guidance, rule or approval change; false after a rename, a new alias or mapping, or a
    matching-code upgrade."""
    return (
        saw_snapshot(prev, deal)
        and matcher_version is not None
        and prev.matcher_version == matcher_version
    )


@dataclass(slots=True)
class StoredReevaluation:
    deal: Deal
    snapshot: DealSnapshot
    result: EvaluationResult
    verdict_changed: bool  # verdict or findings differ from the previous evaluation


def reevaluate_stored_deals(
    session: Session, context: EvaluationContext, deals: Sequence[Deal], *, trigger: str
) -> list[StoredReevaluation]:
    """Re-evaluate loaded deals (one crm, at most CHUNK) from their stored snapshots.

    A new evaluation row is written only where the verdict, findings or references changed:
    the usual roadmap change leaves most deals as they were, and nothing is written for them.
    The notes are read again only when they must be: the previous evaluation's references are
    reused when it saw this same snapshot (`created_at >= snapshot_at`) under the same
    catalog matcher (`matcher_version`; see services.catalog.matcher_version), which is true
    after an availability, date, guidance, rule or approval change and false after a rename,
    a new alias or mapping, or a matching-code upgrade.

    Core statements throughout (the evaluations through `db.insert_rows`, one executemany
    UPDATE for the deals): an ORM object and a unit-of-work entry per history row cost more
    than evaluating the deal.
    """

    table = Evaluation.__table__
    deals = [d for d in deals if d.snapshot]
    last_ids = [d.last_evaluation_id for d in deals if d.last_evaluation_id]
    previous = (
        {
            row.id: row
            for row in session.execute(
                sa_select(
                    table.c.id,
                    table.c.verdict,
                    table.c.findings,
                    table.c.references,
                    table.c.snapshot_hash,
                    table.c.matcher_version,
                    table.c.created_at,
                ).where(table.c.id.in_(last_ids))
            )
        }
        if last_ids
        else {}
    )
    done: list[StoredReevaluation] = []
    pending: list[tuple[Deal, EvaluationResult, bool]] = []
    rows: list[dict] = []
    for deal in deals:
        snapshot = DealSnapshot.model_validate(deal.snapshot)
        prev = previous.get(deal.last_evaluation_id)
        same_snapshot = saw_snapshot(prev, deal)
        reuse = references_reusable(prev, deal, context.matcher_version)
        result = context.evaluate(
            snapshot,
            references=[FeatureReference.model_validate(r) for r in prev.references]
            if reuse
            else None,
        )
        verdict = result.status.value
        findings = [f.model_dump(mode="json") for f in result.findings]
        if reuse:
            references, refs_changed = prev.references, False
        else:
            references = [r.model_dump(mode="json") for r in result.references]
            refs_changed = prev is None or prev.references != references
        verdict_changed = prev is None or prev.verdict != verdict or prev.findings != findings
        # The matcher moved but found the same references: record the new version once, so
        # the next re-evaluation reuses them.
        matcher_moved = (
            not reuse and prev is not None and prev.matcher_version != context.matcher_version
        )
        done.append(StoredReevaluation(deal, snapshot, result, verdict_changed))
        if not (verdict_changed or refs_changed or matcher_moved):
            continue
        rows.append(
            _evaluation_values(
                deal,
                verdict,
                findings,
                references,
                trigger=trigger,
                context=context,
                snapshot_hash=prev.snapshot_hash if same_snapshot else None,
            )
        )
        pending.append((deal, result, refs_changed))
    if rows:
        new_ids = insert_rows(session, table, rows)
        _point_many_at_evaluations(session, pending, new_ids, context)
    replace_dependencies_many(
        session, [(deal, result) for deal, result, refs_changed in pending if refs_changed]
    )
    return done
