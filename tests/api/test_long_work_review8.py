"""Review round 8 of the long work: rule simulation, what-if, backfill and re-read (progress
that reaches its total and never passes it, answers equal to the real evaluation path)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.models import Deal, utcnow
from app.services.pipeline import apply_snapshot
from tests.api.test_simulate import BETA_WARN, _snapshot, seed


@pytest.mark.parametrize("meanwhile", ["new deal", "deal closed"])
def test_simulation_progress_stays_within_its_total_while_deals_arrive_and_close(engine, meanwhile):
    """A simulation counts its deals, then reads them chunk by chunk. A deal a webhook stored
    meanwhile (a higher row id) was read too, and one closed meanwhile was skipped: the
    progress went past its total (4 of 3) or stopped short of it (2 of 3), and `processed`
    disagreed with `total` in the answer."""
    from app.services.simulate import SimulateRequest, run_simulation

    seed(engine)  # open: d-offline, d-ai, d-sso (in row id order)
    seen: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total))
        if done != 1:
            return
        with Session(engine) as s:  # after the first deal, a webhook is stored
            if meanwhile == "new deal":
                deal = Deal(crm="test", deal_id="d-new")
                apply_snapshot(deal, _snapshot("d-new", "SKU-ai"), utcnow())
            else:
                deal = s.exec(select(Deal).where(Deal.deal_id == "d-sso")).one()
                apply_snapshot(deal, _snapshot("d-sso", "SKU-sso", closed=True), utcnow())
            s.add(deal)
            s.commit()

    request = SimulateRequest.model_validate({"rules": [BETA_WARN]})
    with Session(engine) as s:
        result = run_simulation(s, request, progress=progress, chunk_size=1)
        s.rollback()
    assert all(done <= total for done, total in seen), seen
    assert seen[-1] == (3, 3), seen
    assert result.processed == result.total == 3
    assert sum(result.before.values()) == sum(result.after.values()) == 3


def test_a_posted_salesforce_deal_under_its_15_character_id_keeps_its_approvals(
    client, api_key, engine
):
    """Salesforce reports and list views show an opportunity's 15-character id; roadmap-guard
    keeps the 18-character one (approvals, deals, the queue). A deal posted to the simulation
    under the 15-character id lost its approvals: approved in the CRM (a warning), it was
    simulated as blocked, before and after alike. Posted under both ids, it was counted twice."""
    from app.models import Approval

    seed(engine)  # the never-sold rule, and offline: never built
    short, full = "006000000000001", "006000000000001AAA"
    with Session(engine) as s:
        s.add(
            Approval(
                crm="salesforce",
                deal_id=full,
                feature_key="offline",
                rule_id="never-sold",
                reason="signed off",
                approver="pat",
                created_at=utcnow(),
                covers=[{"rule_id": "never-sold", "feature_key": "offline", "evidence": None}],
            )
        )
        s.commit()
    deal = {**_snapshot(short, "SKU-offline").model_dump(mode="json"), "crm": "salesforce"}
    headers = api_key("revops")
    body = {"rules": [], "only_changed": False, "snapshots": [deal]}
    r = client.post("/api/v1/rules/simulate", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["before"] == {"clear": 0, "warning": 1, "blocked": 0}
    assert [d["deal_id"] for d in r.json()["deals"]] == [full]

    body["snapshots"] = [deal, {**deal, "deal_id": full}]
    r = client.post("/api/v1/rules/simulate", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["msg"] == (
        f"snapshots[1] repeats snapshots[0] (crm 'salesforce', deal_id '{full}'): post each "
        "deal once"
    )


def test_a_backfill_also_reads_the_deals_open_here_that_the_crm_no_longer_lists(engine, settings):
    """A deal deleted (or closed) in the CRM while its webhook was lost stayed tracked and open
    here for good: reconciliation reads deals modified lately, which a deleted one never is,
    and a backfill queued only what the CRM listed, so engineering's exposure kept counting
    its pipeline after a full backfill. A finished backfill also queues each deal open here
    that the CRM did not list: the worker reads it, finds it gone and stops tracking it."""
    from decimal import Decimal

    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.types import QueueItem
    from app.models import AuditLog, DealFeature, DealQueue
    from app.rules.model import DealSnapshot, LineItem, Stage
    from app.services.backfill import backfill
    from app.services.pipeline import DealPipeline

    seed(engine)  # d-offline, d-ai, d-sso open here; d-ai-closed closed
    crm = TestCrmConnector(engine)
    for deal_id, sku in (("d-offline", "SKU-offline"), ("d-ai", "SKU-ai")):
        crm.put_deal(_snapshot(deal_id, sku))
    # d-sso: deleted in the CRM, its webhook lost. d-untracked: gone and known to be.
    with Session(engine) as s:
        gone = Deal(crm="test", deal_id="d-untracked", tracked=False)
        apply_snapshot(gone, _snapshot("d-untracked", "SKU-ai"), utcnow())
        gone.tracked = False
        s.add(gone)
        s.commit()
    crm.put_deal(
        DealSnapshot(
            crm="test", deal_id="d-new", stage=Stage(id="s"), amount=Decimal(5),
            line_items=[LineItem(id="li", name="x", sku="SKU-ai")],
        )
    )  # fmt: skip

    result = backfill(engine, crm, actor="test", pace=None)
    assert (result.listed, result.queued) == (3, 3)
    with Session(engine) as s:
        queued = sorted(r.deal_id for r in s.exec(select(DealQueue)))
        entry = s.exec(select(AuditLog).where(AuditLog.action == "queue.backfill")).one()
    assert queued == ["d-ai", "d-new", "d-offline", "d-sso"]
    assert entry.after == {"listed": 3, "queued": 3, "pace": None, "unlisted": 1}

    DealPipeline(engine, settings, {"test": crm}).process(
        [QueueItem(id=1, crm="test", deal_id="d-sso", attempts=1, reason="backfill")]
    )
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "d-sso")).one()
        assert deal.tracked is False  # gone: out of exposure
        assert not s.exec(select(DealFeature).where(DealFeature.deal_id == "d-sso")).all()


def test_a_what_if_lists_the_deal_level_finding_that_changes_the_verdict(client, api_key, engine):
    """A deal-level rule (`applies_to: deal`, counting the deal's references) blocks a deal
    once the feature tried changes: the what-if listed the deal as going from clear to blocked
    with `findings_after` empty, since only findings on the changed features were shown, and
    the deal-level one names no feature. The findings the change brings are listed."""
    from app.models import Rule

    seed(engine)
    counted = {
        "id": "never-counted",
        "name": "Sells what will never be built",
        "severity": "block",
        "applies_to": "deal",
        "when": {
            "count_references": {
                "where": {"field": "feature.availability", "op": "eq", "value": "never"},
                "op": "gte",
                "value": 1,
            }
        },
        "message": "{deal.name} sells {matched.features}, never to be built.",
    }
    with Session(engine) as s:
        s.get(Rule, "never-sold").enabled = False
        s.add(Rule(id="never-counted", name=counted["name"], definition=counted))
        s.commit()
    r = client.post(
        "/api/v1/features/ai/what-if", json={"availability": "never"}, headers=api_key("viewer")
    )
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert (item["deal_id"], item["before"], item["after"]) == ("d-ai", "clear", "blocked")
    assert [f["rule_id"] for f in item["findings_after"]] == ["never-counted"]
    assert item["findings_after"][0]["message"] == "Deal d-ai sells AI, never to be built."


def test_a_hubspot_backfill_takes_a_deal_deleted_while_its_webhook_was_lost_out_of_exposure(
    engine, settings
):
    """The same through the real HubSpot client against the fake portal: a deal deleted in
    HubSpot (its deal.deletion event never delivered) is read after the backfill and found
    gone, instead of staying open here with its pipeline."""
    from app.connectors.hubspot.client import HubSpotApi
    from app.connectors.hubspot.connector import HubSpotConnector
    from app.connectors.hubspot.ratelimit import TokenBucket
    from app.jobs.types import QueueItem
    from app.models import DealQueue
    from app.sandbox.hubspot import FakeHubSpot
    from app.services.backfill import backfill
    from app.services.pipeline import DealPipeline

    with FakeHubSpot() as fake:
        api = HubSpotApi(
            access_token=fake.access_token,
            api_base=fake.base_url,
            timeout=2.0,
            bucket=TokenBucket(1000),
        )
        hubspot = HubSpotConnector(api, portal_id=fake.portal_id, app_id=fake.app_id)
        kept, deleted = fake.add_deal("Kept", emit=False), fake.add_deal("Deleted", emit=False)
        pipeline = DealPipeline(engine, settings, {"hubspot": hubspot})
        pipeline.process(
            [
                QueueItem(id=n, crm="hubspot", deal_id=d, attempts=1, reason="webhook")
                for n, d in enumerate((kept, deleted), start=1)
            ]
        )
        with Session(engine) as s:
            for row in s.exec(select(DealQueue)):
                s.delete(row)
            s.commit()
        fake.delete_object("deals", deleted)
        fake.drain_events()  # the deal.deletion event is lost

        result = backfill(engine, hubspot, actor="test", pace=None)
        assert (result.listed, result.unlisted) == (1, 1)
        with Session(engine) as s:
            assert sorted(r.deal_id for r in s.exec(select(DealQueue))) == sorted([kept, deleted])
        pipeline.process(
            [QueueItem(id=3, crm="hubspot", deal_id=deleted, attempts=1, reason="backfill")]
        )
    with Session(engine) as s:
        tracked = {d.deal_id: d.tracked for d in s.exec(select(Deal))}
    assert tracked == {kept: True, deleted: False}


@pytest.mark.parametrize(
    ("setting", "value"), [("_fiscal_year_start", 2), ("_business_timezone", "America/New_York")]
)
def test_a_new_fiscal_year_or_time_zone_rereads_the_open_deals(engine, monkeypatch, setting, value):
    """FISCAL_YEAR_START_MONTH and BUSINESS_TIMEZONE decide how notes are read ("by Q3", "next
    quarter"), so changing them (an admin fixing the defaults after install) changes every
    deal's reading. The `reread` job looked only at the reading code: settled after the last
    release, it queued nothing, and each deal kept its old reading (a promise judged against
    the wrong quarter, blocked or not) until it happened to change in the CRM. The settings
    notes are read in count as the reading too."""
    from app.services import catalog, reread
    from tests.services.test_reread import _deal

    with Session(engine) as s:
        _, matcher = catalog.load_catalog_and_matcher(s)
        for deal_id in ("A", "B"):
            _deal(s, deal_id, matcher)
        s.commit()
        settled = {"reading": reread.reading_version(), "rechecks": 0}
        assert reread.reread_after_upgrade(s, settled) == (settled, 0)

        monkeypatch.setattr(catalog, setting, value)  # the processes restarted with it
        state, queued = reread.reread_after_upgrade(s, settled)
        s.commit()
        assert queued == 2 and state["reading"] != settled["reading"]
        assert reread.reread_after_upgrade(s, state) == (state, 0)  # while they wait
