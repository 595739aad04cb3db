"""The test CRM connector: deals live in our own tables (app/models/testcrm.py).

It implements the same protocol as HubSpot and Salesforce, with the same idempotency rules
(one task per deal, found again by its id; followups once; only changed properties written),
so the spine, the views and a newcomer can exercise the whole flow without any CRM account.
Faults can be injected (`fail_next`) to exercise retry policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.connectors.base import (
    ConnectorError,
    DealIdPage,
    DealWriteBack,
    WriteOutcome,
)
from app.db import session_scope
from app.metrics import crm_call
from app.models import TestCrmDeal, TestCrmNote, TestCrmTask, utcnow
from app.rules.model import DealSnapshot

PROPERTY_KEYS = ("status", "summary", "block", "evaluation_url")


class TestCrmConnector:
    __test__ = False  # not a pytest test class
    name = "test"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fail_next: list[ConnectorError] = []  # raised by the next calls, in order
        self.calls: dict[str, int] = {}
        self.page_size = 100  # deal ids per `open_deal_ids` page

    def _call(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        if self.fail_next:
            crm_call(self.name, operation, "error")
            raise self.fail_next.pop(0)
        crm_call(self.name, operation)

    # --- seeding (the test CRM's own "UI") ------------------------------------------------

    def put_deal(self, snapshot: DealSnapshot) -> None:
        with session_scope(self.engine) as session:
            row = session.get(TestCrmDeal, snapshot.deal_id) or TestCrmDeal(
                deal_id=snapshot.deal_id
            )
            row.snapshot = snapshot.model_dump(mode="json")
            row.deleted = False
            row.updated_at = utcnow()
            session.add(row)

    def delete_deal(self, deal_id: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(TestCrmDeal, deal_id)
            if row is not None:
                row.deleted = True
                row.updated_at = utcnow()
                session.add(row)

    # --- protocol ---------------------------------------------------------------------------

    def read_deals(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | None]:
        self._call("read_deals")
        with Session(self.engine) as session:
            rows = session.exec(select(TestCrmDeal).where(TestCrmDeal.deal_id.in_(list(deal_ids))))
            found = {r.deal_id: r for r in rows}
        result: dict[str, DealSnapshot | None] = {}
        for deal_id in deal_ids:
            row = found.get(deal_id)
            result[deal_id] = (
                None if row is None or row.deleted else DealSnapshot.model_validate(row.snapshot)
            )
        return result

    def write_back(self, items: Sequence[DealWriteBack]) -> dict[str, WriteOutcome]:
        if not items:
            return {}
        self._call("write_back")
        outcomes: dict[str, WriteOutcome] = {}
        with session_scope(self.engine) as session:
            for item in items:
                outcomes[item.deal_id] = self._write_one(session, item)
        return outcomes

    def complete_tasks(self, task_ids: Sequence[str]) -> dict[str, ConnectorError | None]:
        """Complete these tasks; one that no longer exists counts as done."""
        if not task_ids:
            return {}
        self._call("complete_tasks")
        out: dict[str, ConnectorError | None] = {}
        with session_scope(self.engine) as session:
            for task_id in dict.fromkeys(task_ids):
                task = session.get(TestCrmTask, int(task_id)) if task_id.isdigit() else None
                if task is not None and task.open:
                    task.open = False
                    task.updated_at = utcnow()
                    session.add(task)
                out[task_id] = None
        return out

    def changed_deal_ids(self, since: datetime | None) -> list[str]:
        self._call("changed_deal_ids")
        with Session(self.engine) as session:
            query = select(TestCrmDeal.deal_id).where(TestCrmDeal.deleted == False)  # noqa: E712
            if since is not None:
                query = query.where(TestCrmDeal.updated_at > since)
            return list(session.exec(query))

    def open_deal_ids(self) -> Iterator[DealIdPage]:
        self._call("open_deal_ids")
        with Session(self.engine) as session:
            rows = list(session.exec(select(TestCrmDeal).where(TestCrmDeal.deleted == False)))  # noqa: E712
        ids = sorted(
            r.deal_id for r in rows if not DealSnapshot.model_validate(r.snapshot).stage.is_closed
        )
        for start in range(0, len(ids), self.page_size):
            yield DealIdPage(ids=ids[start : start + self.page_size], total=len(ids))

    # --- write-back ---------------------------------------------------------------------------

    def _write_one(self, session: Session, item: DealWriteBack) -> WriteOutcome:
        outcome = WriteOutcome(deal_id=item.deal_id)
        row = session.get(TestCrmDeal, item.deal_id)
        if row is None or row.deleted:
            # Deleted since the read: nothing to write to (as HubSpot and Salesforce report it).
            outcome.deal_gone = True
            return outcome
        desired = {
            "status": item.status.value,
            "summary": item.summary,
            "block": item.block,
            "evaluation_url": item.evaluation_url,
        }
        changed = {k: v for k, v in desired.items() if row.properties.get(k) != v}
        if changed:
            row.properties = {
                **row.properties,
                **changed,
                "checked_at": item.checked_at.isoformat(),
            }
            row.updated_at = utcnow()
            session.add(row)
            outcome.changes["properties"] = changed
        outcome.written = {k: row.properties.get(k) for k in PROPERTY_KEYS}

        task = session.get(TestCrmTask, int(item.task_id)) if item.task_id else None
        if item.task is not None:
            if task is None:
                task = TestCrmTask(deal_id=item.deal_id, subject=item.task.subject)
                outcome.changes["task"] = "created"
            elif (task.subject, task.body, task.open) != (
                item.task.subject,
                item.task.body,
                item.task.open,
            ):
                outcome.changes["task"] = "completed" if not item.task.open else "updated"
            task.subject, task.body, task.open = item.task.subject, item.task.body, item.task.open
            task.owner_id = item.task.owner_id
            task.updated_at = utcnow()
            session.add(task)
            session.flush()
        if task is not None:
            outcome.task_id, outcome.task_open = str(task.id), task.open

        if item.note:
            session.add(TestCrmNote(deal_id=item.deal_id, body=item.note))
            outcome.changes["note"] = "created"

        for key, spec in item.followups.items():
            existing = session.exec(
                select(TestCrmTask).where(
                    TestCrmTask.deal_id == item.deal_id, TestCrmTask.followup_key == key
                )
            ).first()
            if existing is None:
                existing = TestCrmTask(
                    deal_id=item.deal_id,
                    subject=spec.subject,
                    body=spec.body,
                    owner_id=spec.owner_id,
                    followup_key=key,
                )
                session.add(existing)
                session.flush()
                outcome.changes.setdefault("followups", []).append(key)
            outcome.followups_created[key] = str(existing.id)
        return outcome
