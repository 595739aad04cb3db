"""A deal gone from the CRM (deleted, or merged away) has its open roadmap task completed,
end to end through the pipeline and the test CRM: it stayed open in the owner's task list for
good once the deal was untracked."""

from __future__ import annotations

from sqlmodel import Session, select

from app.connectors.base import PermanentError, TransientError
from app.connectors.testcrm import TestCrmConnector
from app.models import Deal, TestCrmDeal, TestCrmTask, WriteBackLog
from app.services.pipeline import DealPipeline
from tests.services import test_pipeline as base
from tests.services.test_pipeline import SSO_LINE, item, snapshot, tasks

# The pipeline tests' fixtures: the roadmap seeded, the test CRM, the pipeline over it.
seeded, crm, pipeline = base.seeded, base.crm, base.pipeline


def _deal(engine, deal_id="D1") -> Deal:
    with Session(engine) as s:
        return s.exec(select(Deal).where(Deal.deal_id == deal_id)).one()


def _log(engine, deal_id="D1") -> list[WriteBackLog]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(WriteBackLog)
                .where(WriteBackLog.deal_id == deal_id)
                .order_by(WriteBackLog.id)
            )
        )


def test_a_deleted_deals_open_task_is_completed(pipeline, crm, engine):
    crm.put_deal(snapshot("D1", line_items=[SSO_LINE]))
    crm.put_deal(snapshot("D2", line_items=[SSO_LINE]))
    pipeline.process([item("D1", id_=1), item("D2", id_=2)])
    crm.delete_deal("D1")
    crm.delete_deal("D2")

    outcomes = pipeline.process([item("D1", id_=1), item("D2", id_=2)])

    assert {o.kind for o in outcomes.values()} == {"done"}
    assert crm.calls["complete_tasks"] == 1  # one batch for the CRM
    for deal_id in ("D1", "D2"):
        (task,) = tasks(engine, deal_id)
        assert not task.open
        deal = _deal(engine, deal_id)
        assert not deal.tracked and not deal.crm_task_open and deal.crm_task_id == str(task.id)
        last = _log(engine, deal_id)[-1]
        assert last.outcome == "ok"
        assert last.changes == {"task": "completed", "deal": "deleted or merged away in the CRM"}
    # Done: a later read of the gone deal completes nothing again.
    pipeline.process([item("D1")])
    assert crm.calls["complete_tasks"] == 1


def test_a_deal_without_an_open_task_costs_no_call(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.put_deal(snapshot(line_items=[]))  # clear: the task is completed by the write
    pipeline.process([item()])
    crm.delete_deal("D1")

    assert pipeline.process([item()])[1].kind == "done"

    assert crm.calls.get("complete_tasks", 0) == 0
    assert not _deal(engine).tracked


class FailingCompletions(TestCrmConnector):
    """Fails the next completions with these errors (raised, as a whole call fails)."""

    def __init__(self, engine, errors) -> None:
        super().__init__(engine)
        self.errors = list(errors)

    def complete_tasks(self, task_ids):
        if self.errors:
            self.calls["complete_tasks"] = self.calls.get("complete_tasks", 0) + 1
            raise self.errors.pop(0)
        return super().complete_tasks(task_ids)


def test_a_transient_failure_keeps_the_task_to_complete_on_the_retry(seeded, settings, engine):
    crm = FailingCompletions(seeded, [TransientError("rate limited", retry_after=30)])
    pipeline = DealPipeline(seeded, settings, {"test": crm})
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.delete_deal("D1")

    outcome = pipeline.process([item()])[1]

    assert outcome.kind == "retry" and outcome.retry_after == 30
    (task,) = tasks(engine)
    assert task.open
    deal = _deal(engine)
    assert not deal.tracked and deal.crm_task_open  # until the CRM confirms
    failed = _log(engine)[-1]
    assert failed.outcome == "error" and "rate limited" in failed.error

    # The queue's retry: the deal is read again, found gone again, its task completed.
    assert pipeline.process([item()])[1].kind == "done"
    (task,) = tasks(engine)
    assert not task.open and not _deal(engine).crm_task_open
    assert _log(engine)[-1].outcome == "ok"


def test_a_refused_completion_is_dead_and_a_replay_completes_it(seeded, settings, engine):
    crm = FailingCompletions(seeded, [PermanentError("refused")])
    pipeline = DealPipeline(seeded, settings, {"test": crm})
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.delete_deal("D1")

    assert pipeline.process([item()])[1].kind == "dead"
    assert _deal(engine).crm_task_open

    assert pipeline.process([item()])[1].kind == "done"  # replayed
    assert not tasks(engine)[0].open


class DeletedDuringTheWrite(TestCrmConnector):
    """The deal is deleted between our read and our write (the write reports it gone)."""

    def write_back(self, items):
        for plan in items:
            self.delete_deal(plan.deal_id)
        return super().write_back(items)


def test_a_deal_the_write_finds_gone_has_its_task_completed(seeded, settings, engine):
    first = TestCrmConnector(seeded)
    first.put_deal(snapshot(line_items=[SSO_LINE]))
    DealPipeline(seeded, settings, {"test": first}).process([item()])
    crm = DeletedDuringTheWrite(seeded)
    # A change that needs a write (the task's text): the deal is deleted meanwhile.
    crm.put_deal(snapshot(line_items=[SSO_LINE], notes=[]).model_copy(update={"name": "Acme 2"}))

    assert DealPipeline(seeded, settings, {"test": crm}).process([item()])[1].kind == "done"

    assert crm.calls["write_back"] == 1 and crm.calls["complete_tasks"] == 1
    (task,) = tasks(engine)
    assert not task.open
    deal = _deal(engine)
    assert not deal.tracked and not deal.crm_task_open


def test_a_deal_restored_after_its_task_was_completed_gets_it_reopened(pipeline, crm, engine):
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    pipeline.process([item()])
    crm.delete_deal("D1")
    pipeline.process([item()])
    assert not tasks(engine)[0].open

    crm.put_deal(snapshot(line_items=[SSO_LINE]))  # restored, still blocked
    pipeline.process([item()])

    (task,) = tasks(engine)  # the same task, not a second one
    assert task.open
    deal = _deal(engine)
    assert deal.tracked and deal.crm_task_open and deal.crm_task_id == str(task.id)
    with Session(engine) as s:
        assert s.get(TestCrmDeal, "D1").properties["status"] == "blocked"
    assert len(tasks(engine)) == 1 and isinstance(task, TestCrmTask)


def test_the_sweep_completes_the_task_of_a_deal_untracked_before_completion_existed(
    pipeline, crm, engine, settings
):
    """A deal untracked with its task left open (before 91ca788, or a completion that went dead)
    kept that task open for good: the `gone_tasks` schedule queues it, the worker reads it,
    finds it gone again and completes the task."""
    from datetime import timedelta

    from app.jobs.schedules import JobContext, load_schedules
    from app.models import DealQueue, utcnow

    crm.put_deal(snapshot("D1", line_items=[SSO_LINE]))
    crm.put_deal(snapshot("D2", line_items=[SSO_LINE]))
    pipeline.process([item("D1", id_=1), item("D2", id_=2)])
    crm.delete_deal("D1")
    with Session(engine) as s:  # untracked as the pipeline did before: its task left open
        for deal in s.exec(select(Deal)):
            if deal.deal_id == "D1":
                deal.tracked = False
            deal.updated_at = utcnow() - timedelta(hours=2)
            s.add(deal)
        s.commit()
    assert _deal(engine, "D1").crm_task_open

    job = load_schedules()["gone_tasks"]
    job.run(JobContext(engine=engine, settings=settings, connectors={"test": crm}))

    with Session(engine) as s:
        queued = [(q.deal_id, q.reason) for q in s.exec(select(DealQueue))]
    assert queued == [("D1", "reconcile")]  # not D2: tracked
    pipeline.process([item("D1", reason="reconcile")])
    (task,) = tasks(engine, "D1")
    assert not task.open and not _deal(engine, "D1").crm_task_open

    # Nothing left to sweep: the next run queues nothing more.
    with Session(engine) as s:
        for q in s.exec(select(DealQueue)):
            s.delete(q)
        s.commit()
    job.run(JobContext(engine=engine, settings=settings, connectors={"test": crm}))
    with Session(engine) as s:
        assert s.exec(select(DealQueue)).all() == []


def test_the_sweep_leaves_a_deal_just_untracked_and_other_crms(pipeline, crm, engine, settings):
    from app.services.gone_tasks import queue_gone_tasks

    crm.put_deal(snapshot("D1", line_items=[SSO_LINE]))
    pipeline.process([item("D1")])
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        deal.tracked = False  # just now: its own completion is under way
        s.add(deal)
        s.commit()
    with Session(engine) as s:
        assert queue_gone_tasks(s, ["test"]) == {}
        assert queue_gone_tasks(s, ["hubspot"]) == {}
