"""HubSpot end to end: fake HubSpot → signed webhooks → inbox → worker → pipeline → write-back.

The real hubspot-api-client talks to the fake over HTTP; the worker is driven with run_once.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.connectors.hubspot.client import HubSpotApi
from app.connectors.hubspot.connector import HubSpotConnector
from app.connectors.hubspot.ratelimit import TokenBucket
from app.connectors.hubspot.reconcile import resolve_line_items
from app.jobs.schedules import JobContext
from app.jobs.worker import Worker
from app.models import Deal, DealQueue, Feature, ProductMapping
from app.services.pipeline import DealPipeline
from app.settings import Settings

pytestmark = pytest.mark.slow

URL = "http://testserver/webhooks/hubspot"
SSO = {"name": "SSO add-on", "hs_sku": "SKU-SSO", "quantity": "1", "price": "900"}
AUDIT = {"name": "Audit log", "hs_sku": "SKU-AUDIT", "quantity": "1", "price": "300"}


@pytest.fixture
def world(sqlite_engine, fake, hubspot_settings):
    from app.services.rules_service import install_default_rules

    engine = sqlite_engine
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
        s.add(Feature(key="audit-log", name="Audit Log", availability="available"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-AUDIT", feature_keys=["audit-log"]))
        install_default_rules(s)
        s.commit()
    cfg = Settings(
        _env_file=None,
        database_url=engine.url.render_as_string(hide_password=False),
        worker_mode="off",
        log_format="console",
        public_base_url="http://testserver",
        install_default_rules=False,
        backoff_base_seconds=0.2,
        backoff_cap_seconds=2.0,
    ).model_copy(update=hubspot_settings)
    connector = HubSpotConnector(
        HubSpotApi(
            access_token=fake.access_token,
            api_base=fake.base_url,
            timeout=2.0,
            bucket=TokenBucket(200),
        ),
        portal_id=fake.portal_id,
        app_id=fake.app_id,
    )
    connectors = {"hubspot": connector}
    from app.main import create_app

    app = create_app(settings=cfg, engine=engine, connectors=connectors)
    worker = Worker(engine, cfg, DealPipeline(engine, cfg, connectors))
    with TestClient(app) as client:
        yield {
            "engine": engine,
            "client": client,
            "worker": worker,
            "connector": connector,
            "connectors": connectors,
            "settings": cfg,
        }


def deliver(fake, world, events=None) -> list[dict]:
    events = fake.drain_events() if events is None else events
    acks = []
    for i in range(0, len(events), 100):
        body, headers = fake.signed_request(URL, events[i : i + 100])
        response = world["client"].post(URL, content=body, headers=headers)
        assert response.status_code == 200, response.text
        acks.append(response.json())
    return acks


def drain(world, timeout: float = 30.0, worker: Worker | None = None) -> None:
    """Run the worker until no deal is pending (retries included)."""
    worker = worker or world["worker"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.run_once():
            continue
        with Session(world["engine"]) as s:
            left = s.exec(select(DealQueue).where(DealQueue.status.in_(("pending", "running"))))
            if not left.first():
                return
        time.sleep(0.1)
    raise AssertionError("queue did not drain")


def deal_row(world, deal_id) -> Deal:
    with Session(world["engine"]) as s:
        return s.exec(select(Deal).where(Deal.deal_id == deal_id)).one()


def test_stage_change_gives_properties_and_one_task(fake, world) -> None:
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    [ack] = deliver(fake, world)
    assert ack["queued_deals"] == 1
    drain(world)
    props = fake.deal(deal)["properties"]
    assert props["roadmap_guard_status"] == "blocked"
    assert "Single Sign-On" in props["roadmap_guard_summary"]
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_priority"] == "HIGH"
    assert deal_row(world, deal).crm_task_id == task["id"]


def test_duplicate_and_out_of_order_deliveries_give_one_task(fake, world) -> None:
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "presentationscheduled")
    fake.ui_set_stage(deal, "contractsent")
    events = fake.drain_events()
    deliver(fake, world, list(reversed(events)))
    drain(world)
    redelivered = [{**e, "attemptNumber": 1} for e in events]
    acks = deliver(fake, world, redelivered)
    assert acks[0]["duplicates"] == len(events)
    deliver(fake, world, events[:1])
    drain(world)
    assert len(fake.tasks_for(deal)) == 1


def test_deal_that_becomes_clear_gets_its_task_completed(fake, world) -> None:
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    [line_item] = fake.associated("deals", deal, "line_items")
    fake.update_object("line_items", line_item, {"name": "Audit log", "hs_sku": "SKU-AUDIT"})
    deliver(fake, world)
    w = world
    resolve_line_items(
        JobContext(
            engine=w["engine"], settings=w["settings"], connectors={"hubspot": w["connector"]}
        )
    )
    drain(world)
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "COMPLETED"
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "clear"
    assert fake.deal(deal)["properties"]["roadmap_guard_clearance"] == "clear"


def test_blocked_deal_moved_to_won_is_reverted(fake, world) -> None:
    deal = fake.add_deal("Acme", stage="contractsent", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "closedwon")
    deliver(fake, world)
    drain(world)
    assert fake.deal(deal)["properties"]["dealstage"] == "contractsent"
    [task] = fake.tasks_for(deal)
    assert "moved this deal back" in task["properties"]["hs_task_body"]
    # Our copy follows: the revert's own webhook is an echo we ignore, so the deal is read
    # again (it stayed closed-won here, off the open pipeline, until a reconciliation).
    with Session(world["engine"]) as s:
        row = s.exec(select(Deal).where(Deal.deal_id == deal)).one()
    assert (row.stage_id, row.is_won, row.is_closed) == ("contractsent", False, False)
    assert len(fake.tasks_for(deal)) == 1  # the read again writes nothing new


def test_a_win_the_guard_reverts_records_no_signed_promise(fake, world) -> None:
    """A blocked deal dragged to closed-won is moved back: it was never signed, so the
    commitment ledger gets no entry for the coming-soon feature it promised (it was recorded
    as sold on a date, and counted in the leadership report's signed promises)."""
    from app.models import Commitment

    with Session(world["engine"]) as s:
        s.add(
            Feature(
                key="scim",
                name="SCIM provisioning",
                aliases=["SCIM"],
                availability="coming_soon",
                target_date=datetime(2030, 6, 30).date(),
            )
        )
        s.commit()
    deal = fake.add_deal(
        "Acme", stage="contractsent", notes=["We promised SCIM by Q1."], emit=False
    )
    fake.ui_set_stage(deal, "closedwon")
    deliver(fake, world)
    drain(world)
    assert fake.deal(deal)["properties"]["dealstage"] == "contractsent"  # reverted
    with Session(world["engine"]) as s:
        assert s.exec(select(Commitment).where(Commitment.deal_id == deal)).all() == []


@pytest.mark.parametrize("then_won", [False, True])
def test_a_guard_property_filled_by_hand_on_a_blocked_deal_is_emptied_again(
    fake, world, then_won
) -> None:
    """HubSpot's stage requirement is the guard property: a rep who fills it by hand on a
    blocked deal (to close it) has it emptied again, on the edit's own webhook or on the
    stage change's; it was left 'clear' for good (our last write was taken as the truth)."""
    deal = fake.add_deal("Acme", stage="contractsent", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "presentationscheduled")
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    props = fake.deal(deal)["properties"]
    assert (props["roadmap_guard_status"], props.get("roadmap_guard_clearance") or "") == (
        "blocked",
        "",
    )
    fake.update_object("deals", deal, {"roadmap_guard_clearance": "clear"})
    if then_won:
        fake.ui_set_stage(deal, "closedwon")
    deliver(fake, world)
    drain(world)
    props = fake.deal(deal)["properties"]
    assert (props["roadmap_guard_clearance"] or "", props["dealstage"]) == ("", "contractsent")


def test_own_writes_do_not_come_back_as_work(fake, world) -> None:
    deal = fake.add_deal("Acme", stage="contractsent", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "closedwon")
    deliver(fake, world)
    drain(world)
    echoes = fake.drain_events()  # our properties, the revert, task and note associations
    assert echoes and all(e["changeSource"] == "INTEGRATION" for e in echoes)
    acks = deliver(fake, world, echoes)
    assert sum(a["queued_deals"] for a in acks) == 0
    assert world["worker"].run_once() == 0


class VirtualClock:
    """Shared by the client's budget and the fake: waiting for the window costs no real time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def test_429_storm_ends_processed_within_the_rolling_limit(fake, world) -> None:
    limit = 40
    clock = VirtualClock()
    fake.clock = clock
    fake.enforce_rate_limit(limit)  # HubSpot's TEN_SECONDLY_ROLLING, measured on the fake's side
    world["connector"].api.bucket = TokenBucket(
        limit, max_wait=30.0, clock=clock, sleep=clock.sleep
    )
    # Claims of 10 deals: about 7 calls each, so 150 deals need several windows of budget.
    cfg = world["settings"].model_copy(update={"worker_batch_size": 10})
    worker = Worker(world["engine"], cfg, DealPipeline(world["engine"], cfg, world["connectors"]))
    deals = [fake.add_deal(f"Deal {i}", line_items=[SSO, AUDIT], emit=False) for i in range(150)]
    for d in deals:
        fake.ui_set_stage(d, "contractsent")
    fake.inject("429", 2, path="/deals/batch/update", retry_after=1)  # after the task create
    fake.inject("429", 3, retry_after=2)
    fake.reset_calls()
    deliver(fake, world)
    drain(world, timeout=90, worker=worker)
    assert all(len(fake.tasks_for(d)) == 1 for d in deals)
    assert all(fake.deal(d)["properties"]["roadmap_guard_status"] == "blocked" for d in deals)
    assert fake.total_calls() > 2 * limit  # the budget had to hold back
    assert fake.max_calls_in_window(10.0) <= limit


def test_daily_limit_429_parks_the_deal_and_says_so(fake, world) -> None:
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    fake.inject("daily", 1, retry_after=None)
    assert world["worker"].run_once() == 1
    with Session(world["engine"]) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == deal)).one()
    assert row.status == "pending" and "daily API limit" in (row.last_error or "")
    wait = row.due_at.replace(tzinfo=None) - datetime.now(UTC).replace(tzinfo=None)
    assert wait > timedelta(minutes=30)  # parked for the queue, not retried in seconds
    assert fake.tasks_for(deal) == []


def test_a_revoked_token_holds_the_deals_and_they_go_through_once_it_is_fixed(fake, world) -> None:
    from sqlalchemy import update

    from app import metrics

    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    token = fake.access_token
    fake.access_token = "pat-rotated-by-an-admin"  # ours now answers 401

    def row() -> DealQueue:
        with Session(world["engine"]) as s:
            return s.exec(select(DealQueue).where(DealQueue.deal_id == deal)).one()

    def due_now() -> None:
        with Session(world["engine"]) as s:
            s.exec(update(DealQueue).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
            s.commit()

    refused = metrics.CRM_CREDENTIALS_REFUSED.labels(crm="hubspot")
    for _ in range(world["settings"].max_attempts + 2):  # more than it may ever fail
        assert world["worker"].run_once() == 1
        held = row()
        assert (held.status, held.attempts) == ("pending", 0)
        assert "INVALID_AUTHENTICATION" in held.last_error and "HUBSPOT_ACCESS_TOKEN" in (
            held.last_error
        )
        wait = held.due_at.replace(tzinfo=None) - datetime.now(UTC).replace(tzinfo=None)
        assert wait > timedelta(minutes=4)  # not hammering an API that refuses us
        assert refused._value.get() == 1
        due_now()
    assert fake.tasks_for(deal) == []

    fake.access_token = token  # the admin fixed it
    drain(world)
    assert row().status == "done"
    assert len(fake.tasks_for(deal)) == 1
    assert refused._value.get() == 0


def test_deleted_deal_stops_being_tracked(fake, world) -> None:
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    fake.delete_object("deals", deal)
    [ack] = deliver(fake, world)
    assert ack["queued_deals"] == 1
    drain(world)
    assert deal_row(world, deal).tracked is False


def test_deal_deleted_between_read_and_write_stops_being_tracked_and_spares_the_other(
    fake, world, monkeypatch
) -> None:
    f1 = fake.add_deal("F1", line_items=[SSO], emit=False)
    f2 = fake.add_deal("F2", line_items=[SSO], emit=False)
    fake.ui_set_stage(f1, "contractsent")
    fake.ui_set_stage(f2, "contractsent")
    deliver(fake, world)
    connector = world["connector"]
    read = connector.read_deals

    def read_then_delete(deal_ids):
        snapshots = read(deal_ids)
        fake.delete_object("deals", f1)  # a rep deletes F1 while we evaluate
        return snapshots

    monkeypatch.setattr(connector, "read_deals", read_then_delete)
    drain(world)
    assert deal_row(world, f1).tracked is False
    assert deal_row(world, f2).tracked is True and len(fake.tasks_for(f2)) == 1
    with Session(world["engine"]) as s:
        rows = s.exec(select(DealQueue).where(DealQueue.deal_id.in_([f1, f2]))).all()
    assert {r.status for r in rows} == {"done"}


def test_a_deal_hubspot_refuses_to_read_does_not_fail_the_others_claimed_with_it(
    fake, world
) -> None:
    good = fake.add_deal("Good", line_items=[SSO], emit=False)
    refused = fake.add_deal("Refused", line_items=[SSO], emit=False)
    fake.ui_set_stage(good, "contractsent")
    fake.ui_set_stage(refused, "contractsent")
    deliver(fake, world)
    fake.inject("400", 1000, path=f"/deals/{refused}", method="GET")  # every read of it

    drain(world)

    assert len(fake.tasks_for(good)) == 1
    assert fake.deal(good)["properties"]["roadmap_guard_status"] == "blocked"
    assert fake.tasks_for(refused) == []
    with Session(world["engine"]) as s:
        rows = {r.deal_id: r for r in s.exec(select(DealQueue))}
    assert rows[good].status == "done"
    assert rows[refused].status == "dead" and "VALIDATION_ERROR" in rows[refused].last_error


def test_the_open_task_follows_the_deal_to_its_new_owner(fake, world) -> None:
    """The deal changed hands: the stored owner moved, the open task stayed with the old one
    until something else changed its text (docs/hubspot.md: the task follows the deal owner)."""
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    [task] = fake.tasks_for(deal)
    old_owner = task["properties"]["hubspot_owner_id"]

    fake.update_object("deals", deal, {"hubspot_owner_id": "202"})
    deliver(fake, world)
    drain(world)

    [task] = fake.tasks_for(deal)
    assert old_owner != "202" and task["properties"]["hubspot_owner_id"] == "202"
    assert task["properties"]["hs_task_status"] != "COMPLETED"


def _fresh_process(fake, world) -> tuple[HubSpotConnector, DealPipeline]:
    """Another worker process: its own connector, with none of the first one's memory."""
    connector = HubSpotConnector(
        HubSpotApi(
            access_token=fake.access_token,
            api_base=fake.base_url,
            timeout=2.0,
            bucket=TokenBucket(200),
        ),
        portal_id=world["connector"].portal_id,
        app_id=world["connector"].app_id,
    )
    return connector, DealPipeline(world["engine"], world["settings"], {"hubspot": connector})


def _dies_before_the_deal_update(world, monkeypatch):
    """Run one claim in a worker that dies after HubSpot created the task or note, before
    the deal's properties (with the task id) were updated and before anything was recorded."""

    def dies(self, *args, **kwargs):
        raise SystemExit("worker killed")  # not a CRM error: nothing is reported or recorded

    monkeypatch.setattr(HubSpotConnector, "_update_deals", dies)
    [item] = world["worker"].claim()
    with pytest.raises(SystemExit):
        world["worker"].process([item])
    monkeypatch.undo()
    return item


@pytest.mark.parametrize("reason", ["webhook", "roadmap"])
def test_a_task_created_by_a_dying_worker_is_found_not_made_twice(
    fake, world, monkeypatch, reason
) -> None:
    """Whoever takes the deal next (another process, after a webhook read or from the stored
    snapshot after a roadmap change) finds the task by its marker."""
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    item = _dies_before_the_deal_update(world, monkeypatch)
    assert len(fake.tasks_for(deal)) == 1
    assert deal_row(world, deal).crm_task_id is None  # nothing recorded

    _connector, pipeline = _fresh_process(fake, world)
    again = replace(item, reason=reason, attempts=item.attempts + 1)
    assert pipeline.process([again])[item.id].kind == "done"
    [task] = fake.tasks_for(deal)
    assert deal_row(world, deal).crm_task_id == task["id"]
    assert fake.deal(deal)["properties"]["roadmap_guard_task_id"] == task["id"]
    assert deal_row(world, deal).write_started_at is None  # finished: nothing left to find


def test_a_task_made_by_a_dying_worker_is_completed_when_the_deal_turns_clear(
    fake, world, monkeypatch
) -> None:
    """The task the cut-short write made is not known by id; the deal turns clear before the
    retry. The retry finds the task by its marker and completes it (it stayed open on a clear
    deal), and a later block reopens that task instead of making a second one."""
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    item = _dies_before_the_deal_update(world, monkeypatch)
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    [line_item] = fake.associated("deals", deal, "line_items")
    fake.update_object("line_items", line_item, {"name": "Audit log", "hs_sku": "SKU-AUDIT"})

    _connector, pipeline = _fresh_process(fake, world)
    assert pipeline.process([replace(item, attempts=item.attempts + 1)])[item.id].kind == "done"
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "COMPLETED"
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "clear"
    row = deal_row(world, deal)
    assert row.crm_task_id == task["id"] and row.crm_task_open is False
    assert row.write_started_at is None

    fake.update_object("line_items", line_item, {"name": "SSO add-on", "hs_sku": "SKU-SSO"})
    assert pipeline.process([replace(item, attempts=1)])[item.id].kind == "done"
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"


def _blocked_deal_turning_clear(fake, world) -> str:
    """A deal written blocked (SSO sold), then changed so that it is clear: its next write
    posts a verdict note. Returns its id; the change is delivered, not processed."""
    deal = fake.add_deal("Acme", line_items=[SSO, AUDIT], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    assert fake.notes_for(deal) == []  # the first verdict's findings are in the task
    sso = next(
        li
        for li in fake.associated("deals", deal, "line_items")
        if fake.objects["line_items"][li]["properties"]["hs_sku"] == "SKU-SSO"
    )
    fake.update_object("line_items", sso, {"name": "Audit log", "hs_sku": "SKU-AUDIT"})
    fake.ui_set_stage(deal, "decisionmakerboughtin")
    deliver(fake, world)
    return deal


def test_a_verdict_note_posted_by_a_dying_worker_is_found_not_posted_twice(
    fake, world, monkeypatch
) -> None:
    deal = _blocked_deal_turning_clear(fake, world)
    item = _dies_before_the_deal_update(world, monkeypatch)
    assert len(fake.notes_for(deal)) == 1  # blocked -> clear, on the deal's timeline

    _connector, pipeline = _fresh_process(fake, world)
    assert pipeline.process([replace(item, attempts=item.attempts + 1)])[item.id].kind == "done"
    assert len(fake.notes_for(deal)) == 1
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "clear"


def test_a_note_posted_before_a_refused_deal_update_is_not_posted_again_on_retry(
    fake, world
) -> None:
    """Same process, no crash: the write fails after the note went out (a 429 on the deal
    update); the outcome is recorded as an error and the retry finds the note."""
    deal = _blocked_deal_turning_clear(fake, world)
    fake.inject("429", 1, path="/deals/batch/update", retry_after=1)
    drain(world)
    assert len(fake.notes_for(deal)) == 1
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "clear"
    assert deal_row(world, deal).write_started_at is None


def test_a_deal_merged_away_without_its_webhook_stops_being_tracked_on_reconcile(
    fake, world
) -> None:
    """Two deals merged in HubSpot, the deal.merge webhook lost (or never subscribed: setup
    did not ask for it). The merged-away deal stayed tracked as open beside the one it went
    into, its amount counted twice; reconciliation reads the survivor's hs_merged_object_ids
    and queues the merged-away deal, which reads back as gone."""
    from app.connectors.hubspot.reconcile import reconcile

    survivor = fake.add_deal("Acme", line_items=[SSO], emit=False)
    duplicate = fake.add_deal("Acme (duplicate)", line_items=[AUDIT], emit=False)
    fake.ui_set_stage(survivor, "contractsent")
    fake.ui_set_stage(duplicate, "contractsent")
    deliver(fake, world)
    drain(world)
    assert deal_row(world, duplicate).tracked is True
    fake.merge_deals(survivor, duplicate, emit=False)
    w = world
    reconcile(
        JobContext(
            engine=w["engine"], settings=w["settings"], connectors={"hubspot": w["connector"]}
        )
    )
    drain(world)
    assert deal_row(world, duplicate).tracked is False
    assert deal_row(world, survivor).tracked is True


def test_deleting_the_line_item_or_note_that_blocked_a_deal_clears_it(fake, world) -> None:
    """The rep does what the task says: removes the SSO line item, or deletes the note that
    promised SSO. HubSpot reports the deletion (line_item.deletion; a note's only through a
    generic subscription) naming the deleted object, whose deals it can no longer tell: the
    event was "not relevant" and the deal stayed blocked, unable to close, until something
    else about it changed. The deals it gave a reference to are re-checked."""
    w = world

    def resolve() -> None:
        resolve_line_items(
            JobContext(
                engine=w["engine"], settings=w["settings"], connectors={"hubspot": w["connector"]}
            )
        )

    sold = fake.add_deal("Acme", line_items=[SSO, AUDIT], emit=False)
    promised = fake.add_deal("Globex", notes=["We promised SSO by Q3."], emit=False)
    fake.ui_set_stage(sold, "contractsent")
    fake.ui_set_stage(promised, "contractsent")
    deliver(fake, world)
    drain(world)
    for deal in (sold, promised):
        assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"
    fake.drain_events()  # our own writes' echo

    fake.webhook_format = "generic"
    sso_item = next(
        i
        for i in fake.associated("deals", sold, "line_items")
        if fake.objects["line_items"][i]["properties"]["hs_sku"] == "SKU-SSO"
    )
    fake.delete_object("line_items", sso_item)
    [note] = fake.associated("deals", promised, "notes")
    fake.delete_object("notes", note)
    kinds = [(e["subscriptionType"], e["objectTypeId"]) for e in fake.events]
    assert kinds == [("object.deletion", "0-8"), ("object.deletion", "0-46")]
    deliver(fake, world)
    resolve()
    drain(world)
    for deal in (sold, promised):
        assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "clear"
