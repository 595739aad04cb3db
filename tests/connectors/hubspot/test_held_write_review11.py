"""What a HubSpot write that lands in part is recorded as (the pipeline with the real
hubspot-api-client against the fake portal).

An admin's property validation rule on roadmap_guard_summary holds the deal (retried every 5
minutes) after its task, status and clearance have landed. The outcome carried the error, so the
pipeline recorded nothing of the task it had written: each retry took the task for unwritten and
wrote it again (due date moved to tomorrow, the rep's "In progress" reset to "Not started", every
5 minutes while the rule stays), and a task reopened by such a write was recorded closed, so the
deal turning clear never completed it.
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.connectors.hubspot.setup import run_setup
from app.jobs.types import QueueItem
from app.models import Deal, Feature, ProductMapping, WriteBackLog
from app.services.pipeline import DealPipeline
from tests.services.conftest import edit_feature

GUARD = "roadmap_guard_clearance"
SUMMARY = "roadmap_guard_summary"
TASK_UPDATE = "POST /crm/v3/objects/tasks/batch/update"
SSO = {"name": "SSO add-on", "hs_sku": "SKU-SSO", "quantity": "1", "price": "900"}


def _letters_only(value):
    text = str(value)
    return None if text.replace(" ", "").isalpha() else ("INVALID_ALPHA", "Enter only letters")


def _seed(engine) -> None:
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="never"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        install_default_rules(s)
        s.commit()


def _world(engine, settings, fake, api, connector):
    _seed(engine)
    run_setup(api, guard_property=GUARD, access_token=fake.access_token)
    connector.guard_property = GUARD
    return DealPipeline(engine, settings, {"hubspot": connector})


def _process(pipeline, deal_id: str, n: int):
    item = QueueItem(id=n, crm="hubspot", deal_id=deal_id, attempts=1, reason="webhook")
    return pipeline.process([item])[n]


def _deal(engine, deal_id: str) -> Deal:
    with Session(engine) as s:
        return s.exec(select(Deal).where(Deal.deal_id == deal_id)).one()


def test_a_held_deal_does_not_rewrite_the_task_it_made_at_every_retry(
    engine, settings, fake, api, connector
) -> None:
    pipeline = _world(engine, settings, fake, api, connector)
    fake.add_property_rule("deals", SUMMARY, _letters_only)
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)

    first = _process(pipeline, deal, 1)
    assert first.kind == "retry" and first.hold and "Enter only letters" in first.error
    props = fake.deal(deal)["properties"]
    assert props["roadmap_guard_status"] == "blocked" and props.get(GUARD) in (None, "")
    (task,) = fake.tasks_for(deal)
    row = _deal(engine, deal)
    assert row.crm_task_id == task["id"] and row.crm_task_open
    # What landed is recorded: the task as written (status and summary are read back from
    # HubSpot at the next try; the rule refused the summary).
    assert row.written["task"]["open"] is True and row.written["task"]["subject"]

    # The rep starts on it; its due date is what the create set.
    fake.update_object("tasks", task["id"], {"hs_task_status": "IN_PROGRESS"})
    due = task["properties"]["hs_timestamp"]
    before = fake.calls[TASK_UPDATE]

    for n in (2, 3):  # retried every 5 minutes while the rule stays
        again = _process(pipeline, deal, n)
        assert again.kind == "retry" and again.hold

    (task,) = fake.tasks_for(deal)
    assert fake.calls[TASK_UPDATE] == before  # the task was rewritten at each retry
    assert task["properties"]["hs_task_status"] == "IN_PROGRESS"
    assert task["properties"]["hs_timestamp"] == due
    with Session(engine) as s:
        logged = [r.changes for r in s.exec(select(WriteBackLog).order_by(WriteBackLog.id))]
    # The first try's log says what landed (the task and the status); the
    # retries changed nothing of the task.
    assert logged[0].get("task") == "open"
    assert logged[0].get("roadmap_guard_status") == "blocked"
    assert SUMMARY not in logged[0]
    assert all("task" not in c for c in logged[1:])

    fake.remove_property_rule("deals", SUMMARY)  # through, no replay
    done = _process(pipeline, deal, 4)
    assert done.kind == "done"
    assert fake.deal(deal)["properties"][SUMMARY].startswith("Blocked")
    (task,) = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "IN_PROGRESS"


def test_a_task_reopened_by_a_held_write_is_completed_when_the_deal_clears(
    engine, settings, fake, api, connector
) -> None:
    pipeline = _world(engine, settings, fake, api, connector)
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    first = _process(pipeline, deal, 1)
    assert first.kind == "done", first.error  # blocked: task open
    edit_feature(engine, "sso", availability="available")
    cleared = _process(pipeline, deal, 2)
    assert cleared.kind == "done", cleared.error  # clear: task completed
    (task,) = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "COMPLETED"

    # Blocked again while an admin's rule refuses the summary: the task is reopened, the
    # block lands, the deal is held.
    edit_feature(engine, "sso", availability="never")
    fake.add_property_rule("deals", SUMMARY, _letters_only)
    held = _process(pipeline, deal, 3)
    assert held.kind == "retry" and held.hold
    (task,) = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    row = _deal(engine, deal)
    assert row.crm_task_id == task["id"] and row.crm_task_open  # recorded closed before

    # The rep removes SSO from the deal's needs (the feature ships): clear, and the open task
    # is completed, rule or not.
    edit_feature(engine, "sso", availability="available")
    _process(pipeline, deal, 4)
    (task,) = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "COMPLETED"
    assert fake.deal(deal)["properties"][GUARD] == "clear"
    assert not _deal(engine, deal).crm_task_open
