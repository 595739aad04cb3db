"""HubSpot connector, seventh review: defects a production user would hit, each pinned."""

from __future__ import annotations

import pytest

from app.connectors.hubspot.events import classify_events
from app.connectors.hubspot.reconcile import resolve_line_items
from app.jobs.schedules import JobContext
from tests.connectors.hubspot.conftest import hubspot_event
from tests.connectors.hubspot.test_end_to_end import AUDIT, SSO, deliver, drain, world  # noqa: F401

pytestmark = pytest.mark.slow


def _resolve(w) -> None:
    resolve_line_items(
        JobContext(
            engine=w["engine"], settings=w["settings"], connectors={"hubspot": w["connector"]}
        )
    )


@pytest.mark.parametrize("webhook_format", ["legacy", "generic"])
def test_a_restored_line_item_or_note_blocks_its_deal_again(
    fake,
    world,  # noqa: F811
    webhook_format,
) -> None:
    """A rep deletes the SSO line item (or the note promising SSO): the deal is cleared, its
    guard property filled. The rep restores it from the recycle bin: HubSpot reports a
    `line_item.restore` (a note's only through a generic `object.restore`), which was "not
    relevant", so the deal stayed clear, and closable, while selling SSO again."""
    w = world
    fake.webhook_format = webhook_format
    sold = fake.add_deal("Acme", line_items=[SSO, AUDIT], emit=False)
    promised = fake.add_deal("Globex", notes=["We promised SSO by Q3."], emit=False)
    fake.ui_set_stage(sold, "contractsent")
    fake.ui_set_stage(promised, "contractsent")
    deliver(fake, world)
    drain(world)
    fake.drain_events()
    sso_item = next(
        i
        for i in fake.associated("deals", sold, "line_items")
        if fake.objects["line_items"][i]["properties"]["hs_sku"] == "SKU-SSO"
    )
    [note] = fake.associated("deals", promised, "notes")
    # Notes are reported only by generic subscriptions.
    checked = [sold, promised] if webhook_format == "generic" else [sold]
    fake.delete_object("line_items", sso_item)
    fake.delete_object("notes", note)
    deliver(fake, world)
    _resolve(w)
    drain(world)
    for deal in checked:
        assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "clear"
        assert fake.deal(deal)["properties"]["roadmap_guard_clearance"] == "clear"
    fake.drain_events()

    fake.restore_object("line_items", sso_item)
    fake.restore_object("notes", note)
    deliver(fake, world)
    _resolve(w)
    drain(world)
    for deal in checked:
        props = fake.deal(deal)["properties"]
        assert props["roadmap_guard_status"] == "blocked"
        assert props["roadmap_guard_clearance"] in ("", None)


def test_restore_events_are_stored_to_be_resolved(fake) -> None:
    legacy = hubspot_event(fake, subscriptionType="line_item.restore", objectId=77)
    generic = hubspot_event(
        fake, eventId=101, subscriptionType="object.restore", objectTypeId="0-46", objectId=78
    )
    out = classify_events([legacy, generic], portal_id=fake.portal_id, app_id=fake.app_id)
    assert [e.event_type for e in out.events] == ["line_item.restore", "note.restore"]
    assert out.ignored == {"to_resolve": 2}


@pytest.mark.parametrize(
    ("setting", "wrong"), [("HUBSPOT_PORTAL_ID", "9990002"), ("HUBSPOT_APP_ID", "424243")]
)
def test_setup_fails_on_a_portal_or_app_id_the_token_does_not_belong_to(
    fake, monkeypatch, tmp_path, capsys, setting, wrong
) -> None:
    """A mistyped HUBSPOT_PORTAL_ID or HUBSPOT_APP_ID makes the webhook store every event as
    another portal's (app's) and queue nothing, and setup said all was well (exit 0). The
    token's info names its portal (hubId) and app (appId): setup compares them."""
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.access_token)
    monkeypatch.setenv("HUBSPOT_API_BASE", fake.base_url)
    monkeypatch.setenv("HUBSPOT_PORTAL_ID", fake.portal_id)
    monkeypatch.setenv("HUBSPOT_APP_ID", fake.app_id)
    assert main(["setup", "hubspot"]) == 0
    out = capsys.readouterr().out
    assert f"HUBSPOT_PORTAL_ID: {fake.portal_id} (matches the token)" in out
    assert f"HUBSPOT_APP_ID: {fake.app_id} (matches the token)" in out

    monkeypatch.setenv(setting, wrong)
    assert main(["setup", "hubspot"]) == 1
    out = capsys.readouterr().out
    right = fake.portal_id if setting == "HUBSPOT_PORTAL_ID" else fake.app_id
    assert f"{setting}: MISMATCH" in out
    assert f"set {setting}={right}" in out

    monkeypatch.delenv(setting)  # not set: not a failure, but the value to set is shown
    assert main(["setup", "hubspot"]) == 0
    assert f"{setting}: not set; " in capsys.readouterr().out


def test_setup_subscribes_every_property_whose_hand_edit_the_service_puts_back(fake) -> None:
    """docs: a guard property filled by hand on a blocked deal is emptied again "on that
    edit's own webhook". Setup never printed a subscription for it, so in a real portal that
    webhook never came and the filled guard property let the rep close the blocked deal."""
    from app.connectors.hubspot.setup import instructions

    text = instructions("https://rg.example.com", "my_guard")
    printed = [
        line.split("deal.propertyChange: ", 1)[1].strip()
        for line in text.splitlines()
        if "deal.propertyChange: " in line
    ]
    assert "my_guard" in printed and "roadmap_guard_status" in printed
    # Each is heard: a rep's edit queues the deal, our own write's echo does not.
    for i, name in enumerate(printed):
        rep = hubspot_event(fake, eventId=i, propertyName=name, changeSource="CRM_UI")
        echo = hubspot_event(
            fake,
            eventId=1000 + i,
            propertyName=name,
            changeSource="INTEGRATION",
            sourceId=fake.app_id,
        )
        out = classify_events(
            [rep, echo], portal_id=fake.portal_id, app_id=fake.app_id, guard_property="my_guard"
        )
        assert [e.actionable for e in out.events] == [True, False], name
    assert "Roadmap clearance" in text and "edit access" in text


def _note_on(fake, deal: str, body: str) -> None:
    note = fake.create_object("notes", {"hs_note_body": body, "hs_timestamp": "0"}, emit=False)
    fake.associate("deals", deal, "notes", note)


def test_new_findings_keep_the_reps_progress_priority_and_type_on_the_task(
    fake,
    world,  # noqa: F811
) -> None:
    """The rep set the roadmap task "In progress", lowered it to medium and made it a call;
    then a note changed the findings (still blocked). The update reset all three: "Not
    started", HIGH, To-do. A task the rep completed while the deal is still blocked is
    reopened, as before."""
    fake.webhook_format = "generic"  # notes added to a deal are heard of
    deal = fake.add_deal("Acme", line_items=[SSO], emit=False)
    fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    [task] = fake.tasks_for(deal)
    before = task["properties"]["hs_task_body"]
    rep = {"hs_task_status": "IN_PROGRESS", "hs_task_priority": "MEDIUM", "hs_task_type": "CALL"}
    fake.update_object("tasks", task["id"], rep)
    fake.drain_events()

    _note_on(fake, deal, "We promised SSO to their CISO by Q3.")
    deliver(fake, world)
    drain(world)
    [task] = fake.tasks_for(deal)
    props = task["properties"]
    assert props["hs_task_body"] != before  # the new findings are in
    assert {k: props[k] for k in rep} == rep
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"

    fake.update_object("tasks", task["id"], {"hs_task_status": "COMPLETED"})
    fake.drain_events()
    _note_on(fake, deal, "Also promised SSO to procurement, in writing.")
    deliver(fake, world)
    drain(world)
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"  # still something to do


def test_a_signature_over_another_url_says_which_url_was_checked_and_what_to_set(
    make_app, hubspot_settings, fake
) -> None:
    """The commonest v3 failure when installing: HubSpot calls https://rg.example.com while
    PUBLIC_BASE_URL says http://... (a TLS proxy). Every delivery was a 401 "v3 signature
    does not match", nothing said what URL was compared or which settings to check."""
    from fastapi.testclient import TestClient
    from structlog.testing import capture_logs

    with TestClient(make_app(connectors={}, **hubspot_settings)) as client:
        # HubSpot signed the URL it was given, with a token in its query
        body, headers = fake.signed_request(
            "https://rg.example.com/webhooks/hubspot?key=s3cret", [hubspot_event(fake)]
        )
        with capture_logs() as logs:
            r = client.post("/webhooks/hubspot?key=s3cret", content=body, headers=headers)
    assert r.status_code == 401
    message = r.json()["error"]["message"]
    assert "PUBLIC_BASE_URL" in message and "HUBSPOT_CLIENT_SECRET" in message
    [line] = [e for e in logs if e["event"] == "HubSpot v3 signature does not match"]
    assert line["signed_as"] == "POST http://testserver/webhooks/hubspot"
    assert "s3cret" not in str(logs)  # the query may carry a token: never logged


def test_the_guard_option_tells_the_rep_it_is_not_theirs_to_pick(fake, api) -> None:
    """In the won stage's required-property dialog the rep saw "Roadmap clearance: Clear" and
    picked it to close a blocked deal. Its label and help text now say only roadmap-guard
    sets it; an install from an earlier release gets them at its next `setup hubspot`."""
    from app.connectors.hubspot.setup import run_setup

    run_setup(api, guard_property="roadmap_guard_clearance", access_token=fake.access_token)
    guard = fake.properties["deals"]["roadmap_guard_clearance"]
    guard["options"] = [{"label": "Clear", "value": "clear", "displayOrder": 0, "hidden": False}]
    guard["description"] = "Filled by roadmap-guard only while the deal has no blocking finding."

    run_setup(api, guard_property="roadmap_guard_clearance", access_token=fake.access_token)
    [option] = guard["options"]
    assert option["value"] == "clear"  # what is written and what the stage requires
    assert "roadmap-guard" in option["label"] and "not set by hand" in option["label"]
    assert "Do not set it by hand" in guard["description"]


def test_setup_without_the_schemas_scope_names_it_instead_of_a_bare_403(
    fake, monkeypatch, tmp_path, capsys
) -> None:
    """A private app made without crm.schemas.deals.write (the one scope not about records):
    setup stopped at the first property with "error: HubSpot properties.create_group: HTTP
    403 MISSING_SCOPES ..." and never printed the scope check it had already made."""
    from app.cli import main

    fake.scopes = [s for s in fake.scopes if s != "crm.schemas.deals.write"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.access_token)
    monkeypatch.setenv("HUBSPOT_API_BASE", fake.base_url)
    monkeypatch.setenv("HUBSPOT_PORTAL_ID", fake.portal_id)
    monkeypatch.setenv("HUBSPOT_APP_ID", fake.app_id)
    assert main(["setup", "hubspot"]) == 1
    out, err = capsys.readouterr()
    assert "scopes: MISSING" in out
    assert "crm.schemas.deals.write  (create the roadmap properties)" in out
    assert "MISSING_SCOPES" in err and "add the missing scopes" in err
    assert "Webhooks (private app" in out  # the rest of what to set up is still printed


@pytest.mark.parametrize("name", [["dealstage"], {"name": "dealstage"}])
def test_a_property_name_that_is_not_text_does_not_fail_the_delivery(
    make_app, hubspot_settings, fake, engine, name
) -> None:
    """A signed event whose propertyName is a list or an object: `name in own` raised
    TypeError (unhashable), the delivery was a 500, and HubSpot's retries of it ended with
    the good events beside it dropped."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from app.models import DealQueue

    odd = hubspot_event(fake, eventId=1, objectId=111, propertyName=name)
    good = hubspot_event(fake, eventId=2, objectId=222)
    with TestClient(make_app(connectors={}, **hubspot_settings)) as client:
        body, headers = fake.signed_request("http://testserver/webhooks/hubspot", [odd, good])
        r = client.post("/webhooks/hubspot", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["new"] == 2
    with Session(engine) as s:
        assert [q.deal_id for q in s.exec(select(DealQueue))] == ["222"]


def test_a_wrong_portal_id_is_logged_as_an_error_by_the_running_service(fake, api) -> None:
    """An install whose HUBSPOT_PORTAL_ID is not the token's portal stores every webhook as
    another portal's and queues nothing; reconciliation still found changed deals, so the
    service looked alive, and nothing in its log said why deals lagged by ten minutes."""
    from structlog.testing import capture_logs

    from app.connectors.hubspot.connector import HubSpotConnector

    deal = fake.add_deal("Acme", emit=False)
    wrong = HubSpotConnector(api, portal_id="1234", app_id=fake.app_id)
    with capture_logs() as logs:
        wrong.read_deals([deal])
        wrong.read_deals([deal])
    errors = [e for e in logs if e["log_level"] == "error"]
    assert len(errors) == 1  # once per process, not per read
    assert "HUBSPOT_PORTAL_ID" in errors[0]["event"]
    assert (errors[0]["configured"], errors[0]["token_portal"]) == ("1234", fake.portal_id)

    right = HubSpotConnector(api, portal_id=fake.portal_id, app_id=fake.app_id)
    with capture_logs() as logs:
        right.read_deals([deal])
    assert not [e for e in logs if e["log_level"] == "error"]


def test_a_deal_deleted_while_its_webhook_was_lost_stops_being_tracked(
    fake,
    world,  # noqa: F811
    monkeypatch,
) -> None:
    """The deletion's webhook never arrived (a 401 during a secret rotation is not retried by
    HubSpot). Reconciliation searches modified deals, and a deleted deal is modified no more:
    it stayed tracked as open, in pipeline and exposure totals, its roadmap task open."""
    from sqlmodel import Session, select

    from app.connectors.hubspot import reconcile as rec
    from app.models import Deal

    monkeypatch.setattr(rec, "GONE_SWEEP_PER_RUN", 2, raising=False)  # a slice a run
    w = world
    deals = [fake.add_deal(f"Deal {i}", line_items=[SSO], emit=False) for i in range(3)]
    for deal in deals:
        fake.ui_set_stage(deal, "contractsent")
    deliver(fake, world)
    drain(world)
    deleted = deals[1]
    [task] = fake.tasks_for(deleted)
    fake.delete_object("deals", deleted)
    fake.drain_events()  # lost

    def run(state: dict) -> dict:
        ctx = JobContext(
            engine=w["engine"], settings=w["settings"], connectors=w["connectors"], state=state
        )
        return rec.reconcile(ctx)

    state = run({})
    drain(world)
    with Session(w["engine"]) as s:
        tracked = {d.deal_id: d.tracked for d in s.exec(select(Deal))}
    assert tracked == {deals[0]: True, deleted: False, deals[2]: True}
    assert fake.objects["tasks"][task["id"]]["properties"]["hs_task_status"] == "COMPLETED"
    assert state["last_gone"] == 1 and state["gone_after"] == sorted(deals)[1]
    state = run(state)  # the rest of the deals, then round again
    assert (state["last_gone"], state["gone_after"]) == (0, "")


def test_deal_links_need_no_portal_setting_and_follow_the_tokens_portal(fake, api) -> None:
    """HUBSPOT_PORTAL_ID is optional, but without it every deal had no link to HubSpot (the
    dashboard, the exposure lists); a wrong one linked to another portal. The account
    details name the token's portal."""
    from app.connectors.hubspot.connector import HubSpotConnector

    deal = fake.add_deal("Acme", emit=False)
    expected = f"https://app.hubspot.com/contacts/{fake.portal_id}/record/0-3/{deal}"
    for configured in (None, "1234"):
        connector = HubSpotConnector(api, portal_id=configured, app_id=fake.app_id)
        assert connector.read_deals([deal])[deal].url == expected
