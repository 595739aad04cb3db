"""A merge into a new deal (HubSpot's merges make a new record that keeps the primary's
property values, our `roadmap_guard_task_id` with them, and moves both deals' tasks to it)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.models import Deal
from tests.connectors.hubspot.test_gone_tasks import SSO, _items, _open_tasks, pipeline  # noqa: F401


def test_the_merged_deal_keeps_the_roadmap_task_it_names_open(
    pipeline,  # noqa: F811
    fake,
    engine,
) -> None:
    """The new deal names the primary's task as its roadmap task and updates it; completing
    the gone primary's task then closed the survivor's only roadmap task, its deal still
    blocked, and nothing reopened it. The secondary's task is still completed."""
    a = fake.add_deal("Acme A", line_items=[SSO])
    b = fake.add_deal("Acme B", line_items=[SSO])
    assert {o.kind for o in pipeline.process(_items(a, b)).values()} == {"done"}
    with Session(engine) as s:
        task_of = {d.deal_id: d.crm_task_id for d in s.exec(select(Deal))}
    merged = fake.merge_deals(a, b, new_record=True)
    assert fake.deal(merged)["properties"]["roadmap_guard_task_id"] == task_of[a]

    assert pipeline.process(_items(merged))[1].kind == "done"  # the new deal first
    assert {o.kind for o in pipeline.process(_items(a, b)).values()} == {"done"}

    [still_open] = _open_tasks(fake, merged)
    assert still_open["id"] == task_of[a]
    assert fake.objects["tasks"][task_of[b]]["properties"]["hs_task_status"] == "COMPLETED"
    assert fake.deal(merged)["properties"]["roadmap_guard_status"] == "blocked"


def test_a_rate_limit_on_the_check_leaves_every_task_to_retry(fake, connector) -> None:
    from app.connectors.base import TransientError

    deal = fake.add_deal("Acme")
    task = fake.create_object("tasks", {"hs_task_subject": "x", "hs_task_status": "NOT_STARTED"})
    fake.associate("tasks", task, "deals", deal, emit=False)
    fake.inject("429", 1, path="/associations/tasks", retry_after=0.01)
    out = connector.complete_tasks([task])
    assert isinstance(out[task], TransientError) and out[task].retry_after
    assert fake.objects["tasks"][task]["properties"]["hs_task_status"] == "NOT_STARTED"
    assert connector.complete_tasks([task]) == {task: None}  # not named by the deal: completed
    assert fake.objects["tasks"][task]["properties"]["hs_task_status"] == "COMPLETED"
