"""The roadmap task of a deal deleted or merged away in HubSpot is completed, not left open
in the owner's task list for good. Through the real hubspot-api-client against the fake
portal; the merge end to end through the pipeline, as the reviewer reproduced it."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.connectors.base import TransientError
from app.connectors.hubspot.ratelimit import TokenBucket
from app.jobs.types import QueueItem
from app.models import Deal, Feature, ProductMapping, WriteBackLog
from app.services.pipeline import DealPipeline

SSO = {"name": "SSO add-on", "hs_sku": "SKU-SSO", "quantity": "1", "price": "900"}
TASK_UPDATES = "POST /crm/v3/objects/tasks/batch/update"


@pytest.fixture
def pipeline(engine, settings, connector):
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="never"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        install_default_rules(s)
        s.commit()
    return DealPipeline(engine, settings, {"hubspot": connector})


def _items(*deal_ids: str) -> list[QueueItem]:
    return [
        QueueItem(id=n, crm="hubspot", deal_id=d, attempts=1, reason="webhook")
        for n, d in enumerate(deal_ids, 1)
    ]


def _open_tasks(fake, deal_id: str) -> list[dict]:
    return [t for t in fake.tasks_for(deal_id) if t["properties"]["hs_task_status"] != "COMPLETED"]


def test_after_a_merge_the_primary_keeps_only_its_own_open_roadmap_task(
    pipeline, fake, engine
) -> None:
    a = fake.add_deal("Acme A", line_items=[SSO])
    b = fake.add_deal("Acme B", line_items=[SSO])
    assert {o.kind for o in pipeline.process(_items(a, b)).values()} == {"done"}
    with Session(engine) as s:
        task_b = s.exec(select(Deal).where(Deal.deal_id == b)).one().crm_task_id
    fake.merge_deals(a, b)  # B's associations, its open roadmap task included, move to A
    assert len(_open_tasks(fake, a)) == 2

    assert pipeline.process(_items(b))[1].kind == "done"

    [still_open] = _open_tasks(fake, a)
    assert "Acme B" not in still_open["properties"]["hs_task_subject"]
    done = fake.objects["tasks"][task_b]["properties"]
    assert done["hs_task_status"] == "COMPLETED"
    assert "Acme B" in done["hs_task_subject"]  # its text, as the rep last saw it
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == b)).one()
        assert not deal.tracked and deal.crm_task_id == task_b and not deal.crm_task_open
        assert deal.written["task"]["open"] is False
        entry = s.exec(
            select(WriteBackLog).where(WriteBackLog.deal_id == b).order_by(WriteBackLog.id.desc())
        ).first()
        assert entry.outcome == "ok" and entry.changes["task"] == "completed"
    # Nothing left to do for B: a later pass sends no update.
    fake.reset_calls()
    pipeline.process(_items(b))
    assert fake.calls[TASK_UPDATES] == 0


def test_a_deleted_deals_task_is_completed_once_hubspot_answers_again(
    pipeline, fake, engine, connector
) -> None:
    deal = fake.add_deal("Acme", line_items=[SSO])
    pipeline.process(_items(deal))
    [task] = _open_tasks(fake, deal)
    fake.delete_object("deals", deal)  # HubSpot keeps the deal's tasks, unassociated
    fake.inject("429", 1, path="/tasks/batch/update", retry_after=1)

    outcome = pipeline.process(_items(deal))[1]

    assert outcome.kind == "retry"
    assert fake.objects["tasks"][task["id"]]["properties"]["hs_task_status"] != "COMPLETED"
    with Session(engine) as s:
        row = s.exec(select(Deal)).one()
        assert not row.tracked and row.crm_task_open  # until HubSpot confirms
    # The queue retries the deal: read again, gone again, and its task completed now.
    connector.api.bucket = TokenBucket(1000)  # skip the 429 pause
    assert pipeline.process(_items(deal))[1].kind == "done"
    assert fake.objects["tasks"][task["id"]]["properties"]["hs_task_status"] == "COMPLETED"
    with Session(engine) as s:
        assert not s.exec(select(Deal)).one().crm_task_open


def test_complete_tasks_counts_a_deleted_task_as_done(fake, connector) -> None:
    kept = fake.create_object("tasks", {"hs_task_subject": "x", "hs_task_status": "NOT_STARTED"})
    deleted = fake.create_object("tasks", {"hs_task_subject": "y", "hs_task_status": "NOT_STARTED"})
    fake.delete_object("tasks", deleted)  # by the rep

    assert connector.complete_tasks([kept, deleted]) == {kept: None, deleted: None}
    assert fake.objects["tasks"][kept]["properties"]["hs_task_status"] == "COMPLETED"


def test_complete_tasks_reports_a_rate_limit_per_task(fake, connector) -> None:
    task = fake.create_object("tasks", {"hs_task_subject": "x", "hs_task_status": "NOT_STARTED"})
    fake.inject("429", 1, path="/tasks/batch/update", retry_after=1)

    result = connector.complete_tasks([task])

    assert isinstance(result[task], TransientError)
    assert fake.objects["tasks"][task]["properties"]["hs_task_status"] == "NOT_STARTED"


def test_a_merge_read_in_a_batch_with_its_primary_completes_the_secondarys_task(
    pipeline, fake, engine
) -> None:
    """Three deals or more are read with the batch API, where the merged-away id answers
    nothing of its own: the primary, re-checked in the same claim, keeps one open task."""
    a = fake.add_deal("Acme A", line_items=[SSO])
    b = fake.add_deal("Acme B", line_items=[SSO])
    c = fake.add_deal("Acme C", line_items=[SSO])
    pipeline.process(_items(a, b, c))
    fake.merge_deals(a, b)

    assert {o.kind for o in pipeline.process(_items(a, b, c)).values()} == {"done"}

    [still_open] = _open_tasks(fake, a)
    assert "Acme A" in still_open["properties"]["hs_task_subject"]
    assert len(_open_tasks(fake, c)) == 1
    with Session(engine) as s:
        gone = s.exec(select(Deal).where(Deal.deal_id == b)).one()
        assert not gone.tracked and not gone.crm_task_open
