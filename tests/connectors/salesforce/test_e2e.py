"""End to end: outbound message → worker → real simple-salesforce → fake org → validation rule."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from simple_salesforce.exceptions import SalesforceMalformedRequest
from sqlmodel import Session, select

from app.connectors.salesforce.connector import SalesforceConnector
from app.connectors.salesforce.ids import to18
from app.jobs.types import QueueItem
from app.jobs.worker import Worker
from app.models import Deal, DealQueue, Feature, ProductMapping, WriteBackLog, utcnow
from app.sandbox.salesforce import INTEGRATION_USER, REP_USER, outbound_message
from app.services.pipeline import DealPipeline
from tests.connectors.salesforce.conftest import OUTBOUND_TOKEN

pytestmark = pytest.mark.slow
SSO = {"name": "SSO add-on", "code": "SKU-SSO"}
SEATS = {"name": "Platform seats", "code": "SKU-SEATS"}


@pytest.fixture
def seeded(engine):
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(
            Feature(
                key="sso",
                name="Single Sign-On",
                aliases=["SSO"],
                availability="never",
                guidance="Offer SAML through our identity partner instead.",
            )
        )
        s.add(Feature(key="seats", name="Platform seats", availability="available"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SEATS", feature_keys=["seats"]))
        install_default_rules(s)
        s.commit()
    return engine


@pytest.fixture
def service(seeded, sf_settings, connector, make_app, sf_overrides):
    app = make_app(connectors={"salesforce": connector}, **sf_overrides)
    pipeline = DealPipeline(seeded, sf_settings, {"salesforce": connector})
    return TestClient(app), Worker(seeded, sf_settings, pipeline)


_seq = iter(range(1, 10_000))


def notify(
    client: TestClient, opp_id: str, *, by: str = REP_USER, nid: str | None = None, **fields
):
    nid = nid or f"04l5g00000{next(_seq):05d}AAA"[:18]
    body = outbound_message([(nid, opp_id, {"LastModifiedById": by, **fields})])
    r = client.post(
        f"/webhooks/salesforce/outbound?token={OUTBOUND_TOKEN}",
        content=body,
        headers={"Content-Type": "text/xml"},
    )
    assert r.status_code == 200 and "<Ack>true</Ack>" in r.text, r.text
    return nid


def our_tasks(fake, opp_id):
    return [t for t in fake.tasks_of(opp_id) if t["Subject"].startswith("[roadmap-guard]")]


def test_blocked_opportunity_is_flagged_refused_closed_won_then_cleared_and_won(service, fake, rep):
    client, worker = service
    opp = fake.add_opportunity("Acme renewal", stage="Negotiation/Review", line_items=[SSO, SEATS])
    notify(client, opp, StageName="Negotiation/Review")
    assert worker.run_until_empty() == 1

    rec = fake.opportunity(opp)
    assert rec["Roadmap_Block__c"] is True and rec["Roadmap_Check_Status__c"] == "blocked"
    assert "Single Sign-On" in rec["Roadmap_Check_Summary__c"]
    [task] = our_tasks(fake, opp)
    assert task["IsClosed"] is False and task["Priority"] == "High" and task["OwnerId"] == REP_USER

    # The rep tries Closed Won: the emulated validation rule refuses it.
    with pytest.raises(SalesforceMalformedRequest) as refused:
        rep.Opportunity.update(opp, {"StageName": "Closed Won"})
    assert refused.value.content[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert fake.opportunity(opp)["StageName"] == "Negotiation/Review"

    # Our write came back as an outbound message from the integration user: not queued again.
    notify(client, opp, by=INTEGRATION_USER, Roadmap_Block__c="true")
    assert worker.run_until_empty() == 0

    # The rep removes the SSO line item: the deal is clear, the flag drops, the task completes.
    for li in fake.line_items_of(opp):
        if li["ProductCode"] == "SKU-SSO":
            fake.delete("OpportunityLineItem", li["Id"])
    notify(client, opp, StageName="Negotiation/Review")
    assert worker.run_until_empty() == 1
    rec = fake.opportunity(opp)
    assert rec["Roadmap_Block__c"] is False and rec["Roadmap_Check_Status__c"] == "clear"
    [task] = our_tasks(fake, opp)
    assert task["IsClosed"] is True and task["Status"] == "Completed"

    rep.Opportunity.update(opp, {"StageName": "Closed Won"})
    assert fake.opportunity(opp)["IsWon"] is True


def test_a_fifteen_character_id_from_a_salesforce_report_finds_and_approves_the_deal(
    service, fake, api_key
):
    """Salesforce reports, list views and Classic URLs show the 15-character form of an id;
    roadmap-guard keeps the 18-character one. A product owner pasting the short form got
    "no deal" from the deal page, the approval and the approvals list."""
    client, worker = service
    opp = fake.add_opportunity("Acme renewal", stage="Negotiation/Review", line_items=[SSO])
    notify(client, opp, StageName="Negotiation/Review")
    worker.run_until_empty()
    short = opp[:15]

    detail = client.get(f"/api/v1/deals/salesforce/{short}", headers=api_key("viewer"))
    assert detail.status_code == 200, detail.text
    assert detail.json()["deal"]["deal_id"] == opp and detail.json()["deal"]["verdict"] == "blocked"
    body = {
        "crm": "salesforce",
        "deal_id": short,
        "feature_key": "sso",
        "reason": "Strategic account",
        "expires_at": (utcnow() + timedelta(days=7)).isoformat(),
    }
    approved = client.post("/api/v1/approvals", json=body, headers=api_key("approver"))
    assert approved.status_code == 201, approved.text
    assert approved.json()["deal_id"] == opp
    for query in (f"deal_id={short}", f"crm=salesforce&deal_id={short}", f"deal_id={opp}"):
        listed = client.get(f"/api/v1/approvals?{query}", headers=api_key("viewer")).json()
        assert [a["deal_id"] for a in listed["items"]] == [opp], query
    worker.run_until_empty()
    assert fake.opportunity(opp)["Roadmap_Block__c"] is False
    key = api_key("viewer")["Authorization"].removeprefix("Bearer ")
    client.cookies.set("rg_api_key", key)
    page = client.get(f"/dashboard/deals/salesforce/{short}")
    assert page.status_code == 200 and "Acme renewal" in page.text


def test_the_open_task_follows_the_opportunity_to_its_new_owner(service, fake):
    client, worker = service
    opp = fake.add_opportunity("Acme renewal", stage="Negotiation/Review", line_items=[SSO])
    notify(client, opp, StageName="Negotiation/Review")
    worker.run_until_empty()
    [task] = our_tasks(fake, opp)
    assert task["OwnerId"] == REP_USER
    dana = fake.add_user("Dana Rep")

    fake.update("Opportunity", opp, {"OwnerId": dana}, user=REP_USER)
    notify(client, opp, OwnerId=dana)
    worker.run_until_empty()

    [task] = our_tasks(fake, opp)
    assert task["OwnerId"] == dana and task["IsClosed"] is False


def test_a_block_unticked_by_hand_is_ticked_again(service, fake, rep):
    """The block field is what the validation rule reads: unticked by hand (an admin, a data
    load), the next read of the opportunity ticks it again, though our verdict is unchanged."""
    client, worker = service
    opp = fake.add_opportunity("Acme renewal", stage="Negotiation/Review", line_items=[SSO])
    notify(client, opp, StageName="Negotiation/Review")
    assert worker.run_until_empty() == 1
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    rep.Opportunity.update(opp, {"Roadmap_Block__c": False})
    notify(client, opp, Roadmap_Block__c="false")
    assert worker.run_until_empty() == 1
    rec = fake.opportunity(opp)
    assert (rec["Roadmap_Block__c"], rec["Roadmap_Check_Status__c"]) == (True, "blocked")


def test_duplicate_and_repeated_deliveries_give_one_task(service, fake, engine):
    client, worker = service
    opp = fake.add_opportunity("Globex", line_items=[SSO])
    nid = notify(client, opp)
    notify(client, opp, nid=nid)  # redelivered after the Ack
    notify(client, opp)  # a second change
    worker.run_until_empty()
    notify(client, opp)
    worker.run_until_empty()
    # Even if our stored task id were lost, the subject marker read with the deal finds it.
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        deal.crm_task_id = None
        deal.written = {}
        s.add(deal)
        s.commit()
    notify(client, opp)
    worker.run_until_empty()
    assert len(our_tasks(fake, opp)) == 1


def test_request_limit_and_503_are_retried_and_end_correct(service, fake, engine):
    client, worker = service
    opp = fake.add_opportunity("Initech", line_items=[SSO])
    notify(client, opp)
    fake.inject("limit", 1)
    assert worker.run_until_empty() == 1
    with Session(engine) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one()
        assert row.status == "pending" and "REQUEST_LIMIT_EXCEEDED" in (row.last_error or "")
        assert row.attempts == 0  # given back: a spent allowance must not dead-letter deals
        # A spent daily allowance is not hammered: the retry waits at least the long delay.
        assert row.due_at >= utcnow() + timedelta(seconds=1000)
    fake.inject("unavailable", 1)
    later = Worker(
        engine, worker.settings, worker.processor, clock=lambda: utcnow() + timedelta(hours=1)
    )
    assert later.run_until_empty() == 1
    even_later = Worker(
        engine, worker.settings, worker.processor, clock=lambda: utcnow() + timedelta(hours=3)
    )
    assert even_later.run_until_empty() == 1
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    assert len(our_tasks(fake, opp)) == 1
    with Session(engine) as s:
        assert s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one().status == "done"


def test_validation_refusing_our_own_write_is_recorded_and_held(service, fake, engine):
    client, worker = service
    fake.extra_rules.append(
        lambda old, new: (
            "Integrations may not set the summary"
            if new.get("Roadmap_Check_Summary__c") != old.get("Roadmap_Check_Summary__c")
            else None
        )
    )
    opp = fake.add_opportunity("Umbrella", line_items=[SSO])
    notify(client, opp)
    worker.run_until_empty()
    with Session(engine) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one()
        # held, not dead (retried without spending attempts): see test_org_rules_review10.py
        assert row.status == "pending" and row.attempts == 0
        assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in row.last_error
        log = s.exec(select(WriteBackLog).where(WriteBackLog.deal_id == opp)).one()
        assert log.outcome == "error" and "Integrations may not set the summary" in log.error


@pytest.mark.parametrize("installed", [True, False])
def test_a_promise_past_the_note_preview_is_evaluated(service, fake, installed):
    """The SSO promise sits after the 255-character TextPreview of each enhanced note: the verdict
    needs the full body. With the Apex resource, one call carries every body of the batch."""
    client, worker = service
    fake.notes_resource_installed = installed
    intro = "Call with the buyer went through the rollout plan and the seat count. " * 5
    ids = [
        fake.add_opportunity(
            f"Deal {i}",
            stage="Negotiation/Review",
            line_items=[SEATS],
            content_notes=[f"<p>{intro}We promised SSO by the pilot ({i}).</p>"],
        )
        for i in range(3)
    ]
    for opp in ids:
        notify(client, opp)
    fake.reset_calls()
    assert worker.run_until_empty() == 3
    assert all(fake.opportunity(o)["Roadmap_Block__c"] is True for o in ids)
    kinds = fake.calls_by_kind()
    if installed:
        assert kinds["apexrest"] == 1 and kinds["blob"] == 0
    else:
        assert kinds["apexrest"] == 1 and kinds["blob"] == 3  # the probe, then one GET each


def our_notes(fake, opp_id):
    with fake.lock:
        return [
            n
            for n in fake.store["Note"].values()
            if n["ParentId"] == to18(opp_id) and n["Title"].startswith("[roadmap-guard]")
        ]


def _dies_after_salesforce_took_the_write(worker, monkeypatch) -> QueueItem:
    """One claim in a worker killed after Salesforce took its write, before it was recorded."""
    real = SalesforceConnector._run_collections

    def then_dies(self, ops, **kwargs):
        real(self, ops, **kwargs)
        raise SystemExit("worker killed")  # not a CRM error: nothing reported or recorded

    monkeypatch.setattr(SalesforceConnector, "_run_collections", then_dies)
    [item] = worker.claim()
    with pytest.raises(SystemExit):
        worker.process([item])
    monkeypatch.undo()
    return item


def _another_process(engine, sf_settings) -> DealPipeline:
    connector = SalesforceConnector.from_settings(sf_settings)  # none of the first one's memory
    return DealPipeline(engine, sf_settings, {"salesforce": connector})


def test_a_task_made_by_a_dying_worker_is_found_from_a_stored_snapshot(
    service, fake, engine, sf_settings, monkeypatch
):
    """The next check comes from the stored snapshot (a roadmap change), read before the task
    existed: the cut-short write's task is read again and updated, not made twice."""
    client, worker = service
    opp = fake.add_opportunity("Initech", line_items=[SSO])
    notify(client, opp)
    item = _dies_after_salesforce_took_the_write(worker, monkeypatch)
    assert len(our_tasks(fake, opp)) == 1
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        assert deal.crm_task_id is None and deal.write_started_at is not None

    again = replace(item, reason="roadmap", attempts=item.attempts + 1)
    assert _another_process(engine, sf_settings).process([again])[item.id].kind == "done"
    [task] = our_tasks(fake, opp)
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        assert deal.crm_task_id == task["Id"] and deal.write_started_at is None


def test_a_verdict_note_posted_by_a_dying_worker_is_not_posted_twice(
    service, fake, engine, sf_settings, monkeypatch
):
    client, worker = service
    opp = fake.add_opportunity("Umbrella", line_items=[SSO, SEATS])
    notify(client, opp)
    worker.run_until_empty()
    assert our_notes(fake, opp) == []  # the first verdict's findings are in the task
    for li in fake.line_items_of(opp):
        if li["ProductCode"] == "SKU-SSO":
            fake.delete("OpportunityLineItem", li["Id"])
    notify(client, opp)
    item = _dies_after_salesforce_took_the_write(worker, monkeypatch)
    [note] = our_notes(fake, opp)
    assert note["Title"] == "[roadmap-guard] Roadmap check: clear"

    again = replace(item, attempts=item.attempts + 1)
    assert _another_process(engine, sf_settings).process([again])[item.id].kind == "done"
    assert len(our_notes(fake, opp)) == 1
    assert fake.opportunity(opp)["Roadmap_Check_Status__c"] == "clear"
    [task] = our_tasks(fake, opp)
    assert task["IsClosed"] is True


def test_a_task_made_by_a_dying_worker_is_completed_when_the_deal_turns_clear(
    service, fake, engine, sf_settings, monkeypatch
):
    """The task the cut-short write made is not known by id and the deal turns clear before
    the retry: the retry completes that task (not left open on a clear deal)."""
    client, worker = service
    opp = fake.add_opportunity("Initech", line_items=[SSO, SEATS])
    notify(client, opp)
    item = _dies_after_salesforce_took_the_write(worker, monkeypatch)
    [task] = our_tasks(fake, opp)
    assert task["IsClosed"] is False
    for li in fake.line_items_of(opp):
        if li["ProductCode"] == "SKU-SSO":
            fake.delete("OpportunityLineItem", li["Id"])

    again = replace(item, attempts=item.attempts + 1)
    assert _another_process(engine, sf_settings).process([again])[item.id].kind == "done"
    [task] = our_tasks(fake, opp)
    assert task["IsClosed"] is True
    assert fake.opportunity(opp)["Roadmap_Check_Status__c"] == "clear"
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        assert deal.crm_task_id == task["Id"] and deal.crm_task_open is False


def test_a_verdict_note_is_not_posted_twice_when_the_retries_fail_for_minutes(
    service, fake, engine, sf_settings, monkeypatch
):
    """The write that posted the note was cut short five minutes ago; a retry failed too
    (Salesforce unavailable while it looked for what the first one made). The next retry still
    looks from the first write's start, finds the note and does not post it again."""
    client, worker = service
    opp = fake.add_opportunity("Umbrella", line_items=[SSO, SEATS])
    notify(client, opp)
    worker.run_until_empty()
    for li in fake.line_items_of(opp):
        if li["ProductCode"] == "SKU-SSO":
            fake.delete("OpportunityLineItem", li["Id"])
    notify(client, opp)
    item = _dies_after_salesforce_took_the_write(worker, monkeypatch)
    [note] = our_notes(fake, opp)
    five_minutes_ago = utcnow() - timedelta(minutes=5)
    note["CreatedDate"] = five_minutes_ago.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        deal.write_started_at = five_minutes_ago
        s.add(deal)
        s.commit()

    pipeline = _another_process(engine, sf_settings)
    fake.inject("unavailable", 1, match="/query")
    second = replace(item, reason="roadmap", attempts=item.attempts + 1)
    assert pipeline.process([second])[item.id].kind == "retry"
    third = replace(item, reason="roadmap", attempts=item.attempts + 2)
    assert pipeline.process([third])[item.id].kind == "done"
    assert len(our_notes(fake, opp)) == 1
    assert fake.opportunity(opp)["Roadmap_Check_Status__c"] == "clear"


def test_a_change_made_after_the_stored_snapshot_is_read_again_after_a_roadmap_write(
    service, fake, engine, rep
):
    """A rep's edit whose outbound message was lost, then a roadmap change written from the
    stored snapshot (read before that edit): our write makes the integration user the last
    modifier, which reconciliation leaves out. The write's own check sees the rep's change
    and queues the opportunity to be read again."""
    from app.services import features_service

    client, worker = service
    opp = fake.add_opportunity("Hooli", stage="Qualification", line_items=[SEATS])
    notify(client, opp)
    assert worker.run_until_empty() == 1
    with Session(engine) as s:  # the stored snapshot was read a while ago
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        snapshot = dict(deal.snapshot)
        snapshot["extra"] = {
            **snapshot["extra"],
            "read_at": (utcnow() - timedelta(minutes=10)).isoformat(),
        }
        deal.snapshot = snapshot
        s.add(deal)
        s.commit()
    rep.Opportunity.update(opp, {"StageName": "Negotiation/Review"})  # message lost

    with Session(engine) as s:
        features_service.update_feature(
            s, "seats", features_service.FeatureUpdate(availability="never"), actor="revops:t"
        )
        s.commit()
    worker.run_until_empty()  # the roadmap write, then the read it asked for
    assert fake.opportunity(opp)["Roadmap_Check_Status__c"] == "blocked"
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == opp)).one()
        assert deal.stage_id == "Negotiation/Review"  # the rep's change was read
        log = s.exec(select(WriteBackLog).where(WriteBackLog.deal_id == opp)).all()
    assert len(log) >= 2


def test_a_change_made_between_our_read_and_our_write_is_read_again(
    service, fake, engine, rep, connector, monkeypatch
):
    """The rep edits the opportunity while we evaluate it. Their Outbound Message, still
    queued when our write lands, is delivered as Salesforce sees the record then (last
    modified by us) and is ignored as our echo; reconciliation skips it too. The write's own
    check (Salesforce's LastModifiedDate against the one our read saw) queues a read."""
    client, worker = service
    opp = fake.add_opportunity("Pied Piper", stage="Qualification", line_items=[SSO])
    real = type(connector).read_deals

    def read_then_rep_edits(self, ids):
        out = real(self, ids)
        time.sleep(1.1)  # LastModifiedDate has whole seconds
        rep.Opportunity.update(opp, {"StageName": "Negotiation/Review"})
        return out

    monkeypatch.setattr(type(connector), "read_deals", read_then_rep_edits)
    notify(client, opp)
    [item] = worker.claim()
    worker.record([item], worker.process([item]))
    monkeypatch.undo()
    with Session(engine) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one()
        assert (row.status, row.reason) == ("pending", "reconcile")
    worker.run_until_empty()
    with Session(engine) as s:
        assert s.exec(select(Deal).where(Deal.deal_id == opp)).one().stage_id == (
            "Negotiation/Review"
        )
