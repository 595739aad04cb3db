"""A write cut short, then the change behind it undone: the CRM kept the cut-short write."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, select

from app.models import Deal, TestCrmDeal, TestCrmTask
from tests.services import test_pipeline as base
from tests.services.conftest import edit_feature
from tests.services.test_pipeline import SSO_LINE, item, snapshot

seeded, crm, pipeline = base.seeded, base.crm, base.pipeline


def _crm_shows(engine, deal_id="D1") -> tuple[str, bool, list[str]]:
    with Session(engine) as s:
        props = s.get(TestCrmDeal, deal_id).properties
        open_tasks = s.exec(
            select(TestCrmTask.subject).where(
                TestCrmTask.deal_id == deal_id,
                TestCrmTask.open == True,  # noqa: E712
            )
        ).all()
    return props["status"], props["block"], list(open_tasks)


def test_a_cut_short_write_is_replaced_when_the_change_behind_it_is_undone(
    pipeline, crm, engine, monkeypatch
):
    soon = date.today() + timedelta(days=10)  # before the close date: a warning, not a block
    edit_feature(engine, "sso", availability="uncertain", target_date=soon)
    crm.put_deal(snapshot(line_items=[SSO_LINE]))
    assert pipeline.process([item()])[1].kind == "done"
    status, block, warning_task = _crm_shows(engine)
    assert (status, block, len(warning_task)) == ("warning", False, 1)

    # SSO is dropped from the roadmap; the worker writes the block, and is killed before it
    # records the write (here: the connector's outcome never comes back).
    edit_feature(engine, "sso", availability="never")
    write_back = crm.write_back
    monkeypatch.setattr(crm, "write_back", lambda plans: (write_back(plans), {})[1])
    assert pipeline.process([item(reason="roadmap")])[1].kind == "retry"
    assert _crm_shows(engine)[:2] == ("blocked", True)
    monkeypatch.setattr(crm, "write_back", write_back)

    # The decision is undone before the retry: the deal is back to what we last recorded.
    edit_feature(engine, "sso", availability="uncertain")
    assert pipeline.process([item(reason="roadmap")])[1].kind == "done"

    assert _crm_shows(engine) == ("warning", False, warning_task)
    with Session(engine) as s:
        deal = s.exec(select(Deal)).one()
        assert deal.written_verdict == "warning" and deal.write_started_at is None
