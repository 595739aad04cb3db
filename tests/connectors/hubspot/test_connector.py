"""The connector against the fake HubSpot over HTTP, with the real hubspot-api-client."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.connectors.base import (
    CREDENTIALS_RETRY_SECONDS,
    CredentialsError,
    DealWriteBack,
    PermanentError,
    TaskSpec,
    TransientError,
)
from app.connectors.hubspot.account import (
    DAILY_RESET_MARGIN_SECONDS,
    parse_account_details,
    seconds_until_midnight,
)
from app.connectors.hubspot.client import HubSpotApi
from app.connectors.hubspot.connector import BODY_MAX, HubSpotConnector, strip_html
from app.connectors.hubspot.errors import RefusedError
from app.connectors.hubspot.ratelimit import SEARCH_PER_SECOND, TokenBucket
from app.connectors.hubspot.setup import run_setup
from app.jobs.types import Outcome
from app.rules.model import VerdictStatus


def _writeback(
    snapshot,
    *,
    status=VerdictStatus.blocked,
    task_id=None,
    previous=None,
    task_open=True,
    note=None,
    body="SSO will never be built.",
    followups=None,
) -> DealWriteBack:
    blocked = status == VerdictStatus.blocked
    return DealWriteBack(
        crm="hubspot",
        deal_id=snapshot.deal_id,
        status=status,
        summary="Blocked: SSO will never be built." if blocked else "No roadmap issues.",
        block=blocked,
        checked_at=datetime.now(UTC),
        evaluation_url=f"http://rg/dashboard/deals/hubspot/{snapshot.deal_id}",
        task=TaskSpec(subject="Roadmap: remove SSO", body=body, open=task_open),
        task_id=task_id,
        note=note,
        followups=followups or {},
        previous=previous or {},
        snapshot=snapshot,
    )


def test_html_is_stripped_from_notes() -> None:
    assert strip_html("<p>We&nbsp;promise <b>SSO</b></p><p>by Q3 &amp; more</p>") == (
        "We promise SSO\nby Q3 & more"
    )


def test_read_builds_snapshots_with_stage_facts_and_fallbacks(fake, connector) -> None:
    deal = fake.add_deal(
        "Acme",
        stage="contractsent",
        line_items=[
            {"name": "SSO add-on", "hs_sku": "SKU-SSO", "hs_product_id": "77", "quantity": "1"},
            {"hs_sku": "SKU-AUDIT"},
        ],
        notes=["<div>Promised <i>offline mode</i></div>"],
    )
    fake.ui_set_stage(deal, "closedwon")
    snap = connector.read_deals([deal])[deal]
    assert snap.stage.is_won and snap.stage.is_closed and snap.stage.probability == 1.0
    assert snap.extra["previous_stage"] == "contractsent"
    names = sorted(li.name for li in snap.line_items)
    assert names == ["SKU-AUDIT", "SSO add-on"]  # no name: the SKU stands in
    assert [n.body for n in snap.notes] == ["Promised offline mode"]
    assert snap.owner_id == "101"


def test_read_carries_the_amount_hubspot_converted_to_the_company_currency(fake, api) -> None:
    """`amount_in_home_currency` (calculated by HubSpot with the portal's exchange rates) is
    what pipeline totals add; the deal keeps its own amount and currency. One deal read alone,
    two in a batch: both read paths ask for the property."""

    fake.exchange_rates = {"EUR": 1.1, "JPY": 0.0067}
    connector = HubSpotConnector(api, portal_id=fake.portal_id, company_currency="USD")
    eur = fake.add_deal("Euro deal", amount=9000, currency="EUR")
    jpy = fake.add_deal("Yen deal", amount=1500000, currency="JPY")
    usd = fake.add_deal("Dollar deal", amount=2500)
    gbp = fake.add_deal("No rate", amount=100, currency="GBP")
    alone = connector.read_deals([eur])[eur]
    assert (alone.amount, alone.currency) == (Decimal("9000"), "EUR")
    assert (alone.amount_home, alone.home_currency) == (Decimal("9900.0"), "USD")
    snaps = connector.read_deals([jpy, usd, gbp])
    assert snaps[jpy].amount_home == Decimal("10050.0")
    assert (snaps[usd].amount_home, snaps[usd].currency) == (Decimal("2500.0"), None)
    assert snaps[gbp].amount_home is None  # a currency the portal has no rate for
    # Nothing configured: the label comes from the portal's account details.
    read = HubSpotConnector(api, portal_id=fake.portal_id).read_deals([eur])[eur]
    assert (read.amount_home, read.home_currency) == (Decimal("9900.0"), "USD")


def test_the_company_currency_label_comes_from_hubspot_and_the_setting_stands_in(fake, api) -> None:
    fake.exchange_rates = {"EUR": 1.1}
    eur = fake.add_deal("Euro deal", amount=9000, currency="EUR")
    fake.company_currency = "CHF"  # the portal's truth
    wrong = HubSpotConnector(api, portal_id=fake.portal_id, company_currency="USD")
    assert wrong.read_deals([eur])[eur].home_currency == "CHF"  # HubSpot's answer wins

    fake.account_details_readable = False  # a token refused the account details
    configured = HubSpotConnector(api, portal_id=fake.portal_id, company_currency="CHF")
    snap = configured.read_deals([eur])[eur]
    assert (snap.amount_home, snap.home_currency) == (Decimal("9900.0"), "CHF")
    bare = HubSpotConnector(api, portal_id=fake.portal_id)
    assert bare.read_deals([eur])[eur].home_currency is None  # unlabelled, still read
    # The refused read is not repeated on every deal read: once per RETRY_SECONDS.
    fake.reset_calls()
    bare.read_deals([eur])
    assert fake.calls["GET /account-info/v3/details"] == 0


def test_batch_read_follows_association_paging_and_reports_missing(fake, api) -> None:
    fake.association_page_size = 3
    connector = HubSpotConnector(api, portal_id=fake.portal_id)
    deals = [
        fake.add_deal(f"D{i}", line_items=[{"name": f"item {i}-{j}"} for j in range(7)])
        for i in range(3)
    ]
    fake.reset_calls()
    snaps = connector.read_deals([*deals, "404404"])
    assert snaps["404404"] is None
    assert all(len(snaps[d].line_items) == 7 for d in deals)
    assert fake.calls["POST /crm/v4/associations/deals/line_items/batch/read"] == 3  # 3+3+1
    assert fake.calls["POST /crm/v3/objects/line_items/batch/read"] == 1  # 21 items pooled


def test_unknown_stage_refreshes_the_pipeline_cache(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    connector.read_deals([deal])
    fake.add_pipeline("enterprise", "Enterprise", [("ent-won", "Signed", "1.0", "true")])
    fake.update_object("deals", deal, {"pipeline": "enterprise", "dealstage": "ent-won"})
    snap = connector.read_deals([deal])[deal]
    assert snap.stage.is_won and snap.stage.label == "Signed"
    assert fake.calls["GET /crm/v3/pipelines/deals"] == 2


def test_a_stage_made_won_in_hubspot_is_guarded_within_the_hour(fake, connector) -> None:
    """An admin makes "Contract sent" a won stage (closed, 100%): no stage id changes, so the
    cache, loaded once, kept it open until the worker restarted, and deals reaching it were
    never guarded. It is reloaded hourly."""
    now = [1000.0]
    connector.pipelines.clock = lambda: now[0]
    deal = fake.add_deal("Acme", stage="contractsent")
    assert not connector.read_deals([deal])[deal].stage.is_won
    for stage in fake.pipelines[0]["stages"]:
        if stage["id"] == "contractsent":
            stage["metadata"] = {"isClosed": "true", "probability": "1.0"}
    now[0] += 60
    assert not connector.read_deals([deal])[deal].stage.is_won  # cached, one call
    now[0] += 3600
    fake.inject("500", path="/crm/v3/pipelines")  # a failed reload keeps what was known
    assert not connector.read_deals([deal])[deal].stage.is_won
    now[0] += 60
    assert not connector.read_deals([deal])[deal].stage.is_won  # not asked again at once
    now[0] += 600
    assert connector.read_deals([deal])[deal].stage.is_won
    assert fake.calls["GET /crm/v3/pipelines/deals"] == 3


def test_deal_links_point_at_the_portals_own_hubspot_ui(fake, connector) -> None:
    """An EU-hosted portal's records live on app-eu1.hubspot.com (its account details say so
    in uiDomain); every deal link pointed at app.hubspot.com."""
    fake.ui_domain = "app-eu1.hubspot.com"
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    assert snap.url == f"https://app-eu1.hubspot.com/contacts/{fake.portal_id}/record/0-3/{deal}"


def test_blocked_deal_gets_properties_one_high_priority_task_and_note(fake, connector) -> None:
    deal = fake.add_deal("Acme", owner_id="42")
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back([_writeback(snap, note="Full findings")])[deal]
    assert out.error is None and out.task_id and out.task_open
    props = fake.deal(deal)["properties"]
    assert props["roadmap_guard_status"] == "blocked"
    assert props["roadmap_guard_task_id"] == out.task_id
    assert props.get("roadmap_guard_clearance") in (None, "")
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_priority"] == "HIGH"
    assert task["properties"]["hubspot_owner_id"] == "42"
    [note] = fake.notes_for(deal)
    assert note["properties"]["hs_note_body"].startswith("Full findings")
    # Read back, our own note is not taken for the rep's words.
    assert connector.read_deals([deal])[deal].notes == []


def test_retry_with_stored_task_id_updates_in_place(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    first = connector.write_back([_writeback(snap)])[deal]
    prev = {
        "status": "blocked",
        "summary": "Blocked: SSO will never be built.",
        "block": True,
        "evaluation_url": f"http://rg/dashboard/deals/hubspot/{deal}",
        "task": {
            "subject": "Roadmap: remove SSO",
            "body": "SSO will never be built.",
            "open": True,
        },
    }
    snap = connector.read_deals([deal])[deal]
    fake.reset_calls()
    again = connector.write_back([_writeback(snap, task_id=first.task_id, previous=prev)])[deal]
    assert again.task_id == first.task_id and len(fake.tasks_for(deal)) == 1
    assert fake.total_calls() == 0  # nothing changed: nothing written
    changed = connector.write_back(
        [_writeback(snap, task_id=first.task_id, previous=prev, body="Now also offline mode.")]
    )[deal]
    assert changed.changes["task"] == "open" and len(fake.tasks_for(deal)) == 1
    assert "offline mode" in fake.tasks_for(deal)[0]["properties"]["hs_task_body"]


def test_an_open_task_brought_up_to_date_keeps_its_due_date(fake, connector) -> None:
    """New findings update the open task's text, not its due date (moved to tomorrow at
    every change, an ignored task would never fall overdue); a task reopened is due again."""
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    first = connector.write_back([_writeback(snap)])[deal]
    [task] = fake.tasks_for(deal)
    fake.update_object("tasks", task["id"], {"hs_timestamp": "1700000000000"})  # due long ago
    prev = {
        "task": {"subject": "Roadmap: remove SSO", "body": "SSO will never be built.", "open": True}
    }
    changed = connector.write_back(
        [_writeback(snap, task_id=first.task_id, previous=prev, body="Now also offline mode.")]
    )[deal]
    assert changed.error is None
    [task] = fake.tasks_for(deal)
    assert "offline mode" in task["properties"]["hs_task_body"]
    assert task["properties"]["hs_timestamp"] == "1700000000000"
    closed = {"task": {**prev["task"], "open": False}}
    reopened = connector.write_back(
        [_writeback(snap, task_id=first.task_id, previous=closed, body="Back again.")]
    )[deal]
    assert reopened.error is None
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert int(task["properties"]["hs_timestamp"]) > 1700000000000


def test_task_body_is_rich_text_with_lines_kept_and_quoted_markup_escaped(fake, connector):
    """HubSpot shows a task body as HTML: each line stays a line, and a rep's note quoted in
    it ("<b>must</b> have SSO & SCIM") shows as typed, not as markup."""
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    body = 'SSO is not on the roadmap.\nThey wrote: "<b>must</b> have SSO & SCIM"'
    out = connector.write_back([_writeback(snap, body=body)])[deal]
    assert out.error is None
    stored = fake.tasks_for(deal)[0]["properties"]["hs_task_body"]
    link = f"http://rg/dashboard/deals/hubspot/{deal}"
    assert stored == (
        "SSO is not on the roadmap.<br>They wrote: &quot;&lt;b&gt;must&lt;/b&gt; have SSO "
        f'&amp; SCIM&quot;<br><br>Full check in roadmap-guard: <a href="{link}">{link}</a>'
        f"<br><br>(roadmap-guard ref rgdeal{deal})"
    )


def test_a_task_and_note_longer_than_hubspot_takes_are_cut_and_still_written(fake, connector):
    """HubSpot takes at most 65,536 characters in a task's or note's body (the fake refuses
    more, as HubSpot does): a deal with hundreds of findings gets its first ones, a line saying
    where the rest is, and the marker that finds the task again, instead of a write refused at
    every attempt."""
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    lines = [f'[BLOCKER] Finding {i}: "SCIM & SSO" promised by Q1.' for i in range(3000)]
    body = "\n".join(lines)  # ~130,000 characters of HTML once escaped
    out = connector.write_back([_writeback(snap, body=body, note=body)])[deal]
    assert out.error is None and out.task_id
    [task] = fake.tasks_for(deal)
    [note] = fake.notes_for(deal)
    for stored in (task["properties"]["hs_task_body"], note["properties"]["hs_note_body"]):
        assert 60_000 < len(stored) <= BODY_MAX
        assert stored.startswith("[BLOCKER] Finding 0: &quot;SCIM &amp; SSO&quot;")
        assert "the full list is on the deal&#x27;s page in roadmap-guard" in stored
        assert "Finding 2999" not in stored
    assert task["properties"]["hs_task_body"].endswith(f"(roadmap-guard ref rgdeal{deal})")
    # a retry finds the same task by its marker and updates it in place
    again = connector.write_back([_writeback(snap, body=body, task_id=out.task_id)])[deal]
    assert again.error is None and again.task_id == out.task_id
    assert len(fake.tasks_for(deal)) == 1


def test_clear_deal_completes_its_task(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    first = connector.write_back([_writeback(snap)])[deal]
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back(
        [_writeback(snap, status=VerdictStatus.clear, task_id=first.task_id, task_open=False)]
    )[deal]
    assert not out.task_open
    [task] = fake.tasks_for(deal)
    assert task["properties"]["hs_task_status"] == "COMPLETED"
    assert fake.deal(deal)["properties"]["roadmap_guard_clearance"] == "clear"


def test_lost_create_response_is_found_again_not_duplicated(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    fake.inject("lost_response", 1, path="/tasks/batch/create", delay=3.0)
    out = connector.write_back([_writeback(snap)])[deal]
    assert isinstance(out.error, TransientError)
    assert len(fake.tasks_for(deal)) == 1  # HubSpot made it; we never heard
    # Retried at once: HubSpot's search index has not caught up with the create, its
    # associations have. The task is found there.
    fake.search_index_lag_seconds = 60
    fake.reset_calls()
    retry = connector.write_back([_writeback(snap)])[deal]
    assert retry.error is None
    assert len(fake.tasks_for(deal)) == 1
    assert retry.task_id == fake.tasks_for(deal)[0]["id"]
    assert fake.calls["POST /crm/v4/associations/deals/tasks/batch/read"] == 1
    assert fake.calls["POST /crm/v3/objects/tasks/batch/read"] == 1
    assert fake.calls["POST /crm/v3/objects/tasks/search"] == 0


def test_task_deleted_in_hubspot_is_created_again(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back([_writeback(snap)])[deal]
    fake.delete_object("tasks", out.task_id)
    again = connector.write_back([_writeback(snap, task_id=out.task_id, body="changed")])[deal]
    assert again.task_id != out.task_id and len(fake.tasks_for(deal)) == 1


def test_task_created_before_a_failed_deal_update_is_not_created_twice(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    fake.inject("429", 1, path="/deals/batch/update", retry_after=1)
    out = connector.write_back([_writeback(snap)])[deal]
    [task] = fake.tasks_for(deal)
    assert isinstance(out.error, TransientError) and out.task_id == task["id"]
    connector.api.bucket = TokenBucket(1000)  # skip the 429 pause
    retry = connector.write_back([_writeback(snap, task_id=out.task_id)])[deal]
    assert retry.error is None and retry.task_id == task["id"]
    assert len(fake.tasks_for(deal)) == 1


@pytest.mark.parametrize("mode", ["revert", "warn"])
def test_closed_won_guard(fake, api, mode) -> None:
    connector = HubSpotConnector(api, portal_id=fake.portal_id, guard_mode=mode)
    deal = fake.add_deal("Acme", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back([_writeback(snap)])[deal]
    stage = fake.deal(deal)["properties"]["dealstage"]
    body = fake.tasks_for(deal)[0]["properties"]["hs_task_body"]
    if mode == "revert":
        assert out.reverted_to_stage == "contractsent" and stage == "contractsent"
        assert "moved this deal back" in body
    else:
        assert out.reverted_to_stage is None and stage == "closedwon"
        assert "blocking roadmap findings" in body


def test_revert_goes_only_to_a_stage_of_the_deals_own_pipeline(fake, connector) -> None:
    fake.add_pipeline(
        "enterprise",
        "Enterprise",
        [("ent-open", "Negotiation", "0.5", "false"), ("ent-won", "Signed", "1.0", "true")],
    )
    moved = fake.add_deal("Moved", stage="contractsent")  # history: a default-pipeline stage
    fake.update_object("deals", moved, {"pipeline": "enterprise", "dealstage": "ent-won"})
    normal = fake.add_deal("Normal", stage="contractsent")
    fake.ui_set_stage(normal, "closedwon")
    snaps = connector.read_deals([moved, normal])
    assert "previous_stage" not in snaps[moved].extra
    out = connector.write_back([_writeback(snaps[moved]), _writeback(snaps[normal])])
    assert out[moved].error is None and out[moved].reverted_to_stage is None
    assert fake.deal(moved)["properties"]["dealstage"] == "ent-won"
    assert "manual review" in fake.tasks_for(moved)[0]["properties"]["hs_task_body"]
    assert out[normal].error is None and out[normal].reverted_to_stage == "contractsent"
    assert fake.deal(normal)["properties"]["dealstage"] == "contractsent"
    for deal in (moved, normal):
        assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"


def test_a_refused_revert_quotes_hubspots_reason_in_words_not_json(fake, connector) -> None:
    """HubSpot refuses the move back (the earlier stage was removed from the pipeline since):
    the rep's task quoted the whole error, our call's name, its status and the JSON HubSpot
    puts inside its message ('[{"isValid":false,"message":...}]'); it quotes HubSpot's own
    validation message."""
    deal = fake.add_deal("A", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    snap = connector.read_deals([deal])[deal]
    for pipeline in fake.pipelines:
        pipeline["stages"] = [st for st in pipeline["stages"] if st["id"] != "contractsent"]
    out = connector.write_back([_writeback(snap)])[deal]
    assert out.error is None and out.reverted_to_stage is None
    body = fake.tasks_for(deal)[0]["properties"]["hs_task_body"]
    assert "(HubSpot refused: dealstage: contractsent was not one of the allowed options: [" in body
    assert "isValid" not in body and "{" not in body and "HTTP 400" not in body


def test_refused_revert_is_flagged_and_fails_no_other_deal(fake, connector) -> None:
    refused, other = (fake.add_deal(name, stage="contractsent") for name in ("A", "B"))
    for deal in (refused, other):
        fake.ui_set_stage(deal, "closedwon")
    snaps = connector.read_deals([refused, other])
    fake.inject("400", 1, path="/deals/batch/update")  # HubSpot refuses the first stage move
    out = connector.write_back([_writeback(snaps[refused]), _writeback(snaps[other])])
    assert out[refused].error is None and out[refused].reverted_to_stage is None
    assert fake.deal(refused)["properties"]["dealstage"] == "closedwon"
    body = fake.tasks_for(refused)[0]["properties"]["hs_task_body"]
    assert "could not move this deal back" in body
    assert "(HubSpot refused: Property values were not valid)" in body  # HubSpot's words only
    assert out[other].error is None and out[other].reverted_to_stage == "contractsent"
    assert fake.deal(other)["properties"]["dealstage"] == "contractsent"
    for deal in (refused, other):
        assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"


def test_rolling_429_is_transient_with_retry_after_and_correlation_id(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    fake.inject("429", 1, retry_after=3)
    with pytest.raises(TransientError) as err:
        connector.read_deals([deal])
    assert err.value.retry_after == 3.0 and err.value.correlation_id
    assert fake.total_calls() == 1  # urllib3 did not retry the 429 on its own
    # HubSpot's limit, not the deal's failure: the retry spends no attempt (counted, a long
    # run of 429s or a daily limit sent deals to dead)
    assert err.value.hold and Outcome.from_exception(err.value).hold


def test_daily_limit_stops_with_a_long_delay_and_says_so(fake, api) -> None:
    connector = HubSpotConnector(api)
    fake.inject("daily", 1, retry_after=None)
    with pytest.raises(TransientError) as err:
        connector.read_deals(["1", "2", "3"])
    assert "daily API limit" in str(err.value) and err.value.retry_after >= 60
    assert err.value.hold  # 8 attempts with backoff last ~7 h: dead before the midnight reset


def test_daily_limit_waits_until_midnight_in_the_portals_time_zone(fake) -> None:
    """HubSpot resets the daily limit at midnight in the account's time zone, which the
    account details say: calls resume then (never later than the configured wait)."""
    fake.time_zone = "Asia/Tokyo"
    api = HubSpotApi(
        access_token=fake.access_token,
        api_base=fake.base_url,
        timeout=2.0,
        bucket=TokenBucket(1000),
        daily_retry_seconds=86_400,
    )
    connector = HubSpotConnector(api)
    deal = fake.add_deal("Acme")
    connector.read_deals([deal])  # the account details come with the first read
    assert api.portal_time_zone == ZoneInfo("Asia/Tokyo")
    fake.inject("daily", 1, retry_after=None)
    with pytest.raises(TransientError) as err:
        connector.read_deals([deal])
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
    midnight = datetime.combine(tokyo.date() + timedelta(days=1), time(0), ZoneInfo("Asia/Tokyo"))
    expected = (midnight - tokyo).total_seconds() + DAILY_RESET_MARGIN_SECONDS
    assert err.value.retry_after == pytest.approx(max(expected, 60.0), abs=5)


@pytest.mark.parametrize(
    ("zone", "now", "seconds"),
    [
        # 23:30 in New York (EST, UTC-5) is 04:30 UTC: half an hour to go.
        ("America/New_York", datetime(2026, 12, 4, 4, 30, tzinfo=UTC), 1800.0),
        # The night clocks go back (1 Nov 2026): the day has 25 hours. 00:30 EDT is 04:30 UTC;
        # the next midnight (EST) is 05:00 UTC on 2 Nov: 24.5 hours.
        ("America/New_York", datetime(2026, 11, 1, 4, 30, tzinfo=UTC), 88200.0),
        ("Asia/Kolkata", datetime(2026, 12, 4, 18, 0, tzinfo=UTC), 1800.0),  # 23:30 IST
    ],
)
def test_seconds_until_the_portals_midnight(zone, now, seconds) -> None:
    assert seconds_until_midnight(ZoneInfo(zone), now) == seconds


def test_daily_wait_is_the_shorter_of_midnight_and_the_setting(fake) -> None:
    api = HubSpotApi(access_token="t", api_base=fake.base_url, daily_retry_seconds=3600)
    late = datetime(2026, 12, 4, 4, 30, tzinfo=UTC)  # 23:30 in New York
    early = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)  # 09:00 there
    assert api.daily_wait(late) == 3600  # the zone is not known yet
    api.portal_time_zone = ZoneInfo("America/New_York")
    assert api.daily_wait(late) == 1800 + DAILY_RESET_MARGIN_SECONDS
    assert api.daily_wait(early) == 3600


@pytest.mark.parametrize(
    ("answer", "currency", "offset_hours"),
    [
        ({"timeZone": "Europe/Berlin", "companyCurrency": "EUR"}, "EUR", None),
        # A zone this machine does not know: the answer's fixed offset stands in.
        ({"timeZone": "Mars/Olympus", "utcOffsetMilliseconds": 19_800_000}, None, 5.5),
        ({"timeZone": 7, "companyCurrency": "euro"}, None, None),
        ("not an object", None, None),
    ],
)
def test_account_details_are_read_defensively(answer, currency, offset_hours) -> None:
    facts = parse_account_details(answer)
    assert facts.company_currency == currency
    if offset_hours is None:
        assert facts.time_zone is None or isinstance(facts.time_zone, ZoneInfo)
    else:
        assert facts.time_zone.utcoffset(None) == timedelta(hours=offset_hours)


def test_server_error_is_transient_and_bad_token_a_credentials_error(fake, api, connector) -> None:
    fake.inject("502", 1)
    with pytest.raises(TransientError):
        connector.read_deals(["1"])
    bad = HubSpotConnector(
        HubSpotApi(access_token="wrong", api_base=fake.base_url, bucket=TokenBucket(100))
    )
    with pytest.raises(CredentialsError) as err:
        bad.read_deals(["1"])
    assert "401 INVALID_AUTHENTICATION" in str(err.value)  # HubSpot's category, kept
    assert err.value.retry_after == CREDENTIALS_RETRY_SECONDS
    assert err.value.correlation_id


def test_timeout_is_transient(fake, api) -> None:
    slow = HubSpotApi(
        access_token=fake.access_token,
        api_base=fake.base_url,
        timeout=0.3,
        bucket=TokenBucket(100),
    )
    fake.inject("timeout", 1, delay=1.0)
    with pytest.raises(TransientError):
        HubSpotConnector(slow).read_deals(["1"])


def test_token_bucket_allows_at_most_capacity_in_any_rolling_10s_window() -> None:
    now = [0.0]
    sent: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(10, clock=lambda: now[0], sleep=sleep, max_wait=60)
    for _ in range(30):
        bucket.acquire()
        sent.append(now[0])
        now[0] += 0.5  # callers keep asking, as a busy worker does
    busiest = max(sum(1 for t in sent if start <= t < start + 10.0) for start in sent)
    assert busiest == 10  # HubSpot's documented limit, never twice it
    # The full budget is usable: 30 calls need just over two windows, not more.
    assert sent[-1] == pytest.approx(20.0 + 4.5, abs=0.01)
    bucket.block_for(120)  # a 429: longer than max_wait, so the queue owns the wait
    with pytest.raises(TransientError) as err:
        bucket.acquire()
    assert err.value.retry_after == pytest.approx(120.0)
    assert err.value.hold  # waiting its turn in our own budget spends no attempt of the deal


def test_setup_is_idempotent_and_checks_scopes(fake, api) -> None:
    fake.scopes = [s for s in fake.scopes if s != "crm.objects.contacts.write"]
    first = run_setup(api, guard_property="roadmap_guard_clearance", access_token=fake.access_token)
    assert "roadmap_guard_status" in first.created and not first.existing
    assert first.missing_scopes == ["crm.objects.contacts.write"]
    second = run_setup(
        api, guard_property="roadmap_guard_clearance", access_token=fake.access_token
    )
    assert not second.created and "roadmap_guard_status" in second.existing


def test_setup_brings_an_existing_propertys_description_and_options_up_to_date(fake, api) -> None:
    """A second setup (an upgrade) left an earlier release's texts in the sidebar: the
    checked-at field still said "When roadmap-guard last checked this deal"."""
    run_setup(api, guard_property="roadmap_guard_clearance", access_token=fake.access_token)
    stored = fake.properties["deals"]
    stored["roadmap_guard_checked_at"]["description"] = "When roadmap-guard last checked this deal."
    stored["roadmap_guard_status"]["options"] = stored["roadmap_guard_status"]["options"][:2]
    stored["roadmap_guard_summary"]["label"] = "Old label"

    again = run_setup(api, guard_property="roadmap_guard_clearance", access_token=fake.access_token)

    assert not again.created and "roadmap_guard_checked_at" in again.existing
    assert "last changed" in stored["roadmap_guard_checked_at"]["description"]
    assert [o["value"] for o in stored["roadmap_guard_status"]["options"]] == [
        "clear",
        "warning",
        "blocked",
    ]
    assert stored["roadmap_guard_summary"]["label"] == "Roadmap summary"
    assert stored["roadmap_guard_checked_at"]["type"] == "datetime"  # the type stays


def test_changed_deal_ids_finds_recent_and_won_deals(fake, connector) -> None:
    old = fake.add_deal("Old won", stage="closedwon")
    fake.add_deal("Old open")
    clock.sleep(0.01)  # HubSpot timestamps have millisecond precision
    since = datetime.now(UTC)
    clock.sleep(0.01)
    fresh = fake.add_deal("Fresh")
    found = connector.changed_deal_ids(since)
    assert set(found) == {old, fresh}


def _age(fake, deal_id: str, days: int) -> None:
    """As if the deal was last modified `days` ago (search filters on this property)."""
    stamp = datetime.fromtimestamp(clock.time() - days * 86400, UTC).isoformat()
    fake.objects["deals"][deal_id]["properties"]["hs_lastmodifieddate"] = stamp


def test_reconcile_runs_look_back_a_week_then_follow_the_cursor(
    fake, connector, engine, settings
) -> None:
    from sqlmodel import Session, delete, select

    from app.connectors.hubspot.reconcile import reconcile
    from app.jobs.schedules import JobContext
    from app.models import DealQueue

    def queued() -> set[str]:
        with Session(engine) as s:
            rows = s.exec(select(DealQueue)).all()
            s.exec(delete(DealQueue))
            s.commit()
        return {r.deal_id for r in rows}

    stale_open = fake.add_deal("Stale open")
    fresh_open = fake.add_deal("Fresh open")
    won_unchecked = fake.add_deal("Won, never checked", stage="closedwon")
    won_checked = fake.add_deal("Won, checked", stage="closedwon")
    fake.update_object("deals", won_checked, {"roadmap_guard_status": "clear"})
    for deal in (stale_open, won_unchecked, won_checked):
        _age(fake, deal, days=30)

    def run(state: dict) -> dict:
        ctx = JobContext(
            engine=engine, settings=settings, connectors={"hubspot": connector}, state=state
        )
        return reconcile(ctx)

    first = run({})
    assert queued() == {fresh_open, won_unchecked}  # not every deal, not every won deal
    assert first["last_queued"] == 2
    cursor = datetime.fromisoformat(first["since"])
    assert abs((datetime.now(UTC) - cursor).total_seconds()) < 60

    fake.update_object("deals", won_unchecked, {"roadmap_guard_status": "blocked"})
    for deal in (won_unchecked, fresh_open):
        _age(fake, deal, days=1)  # evaluated since, then left alone
    fake.update_object("deals", stale_open, {"amount": "5"})  # a change whose webhook was lost
    second = run(first)
    assert queued() == {stale_open}
    assert datetime.fromisoformat(second["since"]) >= cursor
    [search] = [b for b in fake.search_bodies[-1:]]
    modified = search["filterGroups"][0]["filters"][0]
    assert modified["propertyName"] == "hs_lastmodifieddate"
    assert int(modified["value"]) <= int(cursor.timestamp() * 1000) - 60_000  # the overlap


def test_first_reconcile_looks_back_the_configured_days(fake, connector, engine, settings) -> None:
    from sqlmodel import Session, select

    from app.connectors.hubspot.reconcile import reconcile
    from app.jobs.schedules import JobContext
    from app.models import DealQueue

    month_old = fake.add_deal("Changed 30 days ago")
    _age(fake, month_old, days=30)
    ctx = JobContext(
        engine=engine,
        settings=settings.model_copy(update={"hubspot_reconcile_lookback_days": 45}),
        connectors={"hubspot": connector},
        state={},
    )
    reconcile(ctx)
    with Session(engine) as s:
        assert {r.deal_id for r in s.exec(select(DealQueue)).all()} == {month_old}


def test_changed_deal_ids_pages_past_the_search_result_cap_by_id(fake, connector) -> None:
    fake.search_max_results = 300  # HubSpot's is 10,000; the same wall, closer
    deals = {fake.add_deal(f"D{i}") for i in range(450)}
    fake.reset_calls()
    assert set(connector.changed_deal_ids(None)) == deals
    assert fake.calls["POST /crm/v3/objects/deals/search"] == 3
    assert all("after" not in body for body in fake.search_bodies)


def test_setup_hubspot_command(fake, monkeypatch, capsys, tmp_path) -> None:
    from app.cli import main

    monkeypatch.chdir(tmp_path)  # no .env from the working tree
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.access_token)
    monkeypatch.setenv("HUBSPOT_API_BASE", fake.base_url)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://rg.example.com")
    assert main(["setup", "hubspot"]) == 0
    out = capsys.readouterr().out
    assert "created  roadmap_guard_status" in out and "scopes: ok" in out
    assert "https://rg.example.com/webhooks/hubspot" in out
    assert "deal.propertyChange: dealstage" in out
    assert main(["setup", "hubspot"]) == 0
    out = capsys.readouterr().out
    assert "exists   roadmap_guard_status" in out
    assert "company currency: USD (read from HubSpot" in out


@pytest.mark.parametrize(
    ("configured", "readable", "exit_code", "line"),
    [
        ("USD", True, 0, "company currency: USD (matches HUBSPOT_COMPANY_CURRENCY)"),
        ("EUR", True, 1, "MISMATCH: HubSpot says USD but HUBSPOT_COMPANY_CURRENCY=EUR"),
        ("EUR", False, 0, "HUBSPOT_COMPANY_CURRENCY=EUR (HubSpot's account details are not"),
        (None, True, 0, "company currency: USD (read from HubSpot; labels pipeline totals)"),
        (None, False, 0, "company currency: unknown; HubSpot's account details are not readable"),
    ],
)
def test_setup_checks_the_company_currency_label_against_hubspot(
    fake, monkeypatch, capsys, tmp_path, configured, readable, exit_code, line
) -> None:
    """The label of pipeline totals is read from the account details; the setting stands in
    where they are not readable, and setup refuses a setting that contradicts HubSpot."""
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", fake.access_token)
    monkeypatch.setenv("HUBSPOT_API_BASE", fake.base_url)
    if configured:
        monkeypatch.setenv("HUBSPOT_COMPANY_CURRENCY", configured)
    fake.account_details_readable = readable
    assert main(["setup", "hubspot"]) == exit_code
    assert line in capsys.readouterr().out


SLIPPED = {
    "commitment:7": TaskSpec(
        subject="Roadmap promise at risk: SSO", body="SSO slipped past the promised date."
    )
}


def _followup_tasks(fake, deal: str) -> list[dict]:
    return [
        t
        for t in fake.tasks_for(deal)
        if t["properties"]["hs_task_subject"] == "Roadmap promise at risk: SSO"
    ]


def test_followup_task_is_created_once_even_when_the_result_was_lost(fake, connector) -> None:
    deal = fake.add_deal("Acme", owner_id="42")
    snap = connector.read_deals([deal])[deal]
    out = connector.write_back([_writeback(snap, followups=SLIPPED)])[deal]
    assert out.error is None and list(out.followups_created) == ["commitment:7"]
    [task] = _followup_tasks(fake, deal)
    assert task["id"] == out.followups_created["commitment:7"]
    assert task["properties"]["hubspot_owner_id"] == "42"  # the deal owner gets it
    # The pipeline did not record it (crash before its commit): the same followup comes again
    # and is found by its marker, not created a second time.
    snap = connector.read_deals([deal])[deal]
    again = connector.write_back([_writeback(snap, task_id=out.task_id, followups=SLIPPED)])[deal]
    assert again.error is None and again.followups_created == out.followups_created
    assert len(_followup_tasks(fake, deal)) == 1


def test_followup_created_before_a_failed_deal_update_is_reported_and_not_made_twice(
    fake, connector
) -> None:
    deal = fake.add_deal("Acme", owner_id="42")
    snap = connector.read_deals([deal])[deal]
    fake.inject("429", 1, path="/deals/batch/update", retry_after=1)
    out = connector.write_back([_writeback(snap, followups=SLIPPED)])[deal]
    [task] = _followup_tasks(fake, deal)
    assert isinstance(out.error, TransientError)
    # Made in HubSpot before the failure: reported, so the pipeline marks it as made.
    assert out.followups_created == {"commitment:7": task["id"]}
    connector.api.bucket = TokenBucket(1000)  # skip the 429 pause
    # Even if it is asked for again (the failed attempt's outcome was not recorded), the
    # retry finds it instead of creating a second task.
    retry = connector.write_back([_writeback(snap, task_id=out.task_id, followups=SLIPPED)])[deal]
    assert retry.error is None and retry.followups_created == {"commitment:7": task["id"]}
    assert len(_followup_tasks(fake, deal)) == 1


def test_search_calls_are_paced_to_the_search_limit_per_second(fake) -> None:
    """CRM search has its own per-second limit on top of the 10 s budget: a burst of searches
    (reconciliation pages, pending-task lookups) never sends more than 4 in any second."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    def clock() -> float:
        return now[0]

    api = HubSpotApi(
        access_token=fake.access_token,
        api_base=fake.base_url,
        bucket=TokenBucket(1000, clock=clock, sleep=sleep),
        search_bucket=TokenBucket(SEARCH_PER_SECOND, window=1.0, clock=clock, sleep=sleep),
    )
    search = api.api("crm.deals.search_api")
    sent: list[float] = []
    for _ in range(12):
        api.call("deals.search", search.do_search, {"filterGroups": [], "limit": 1})
        sent.append(now[0])
    pipelines = api.api("crm.pipelines.pipelines_api")
    for _ in range(3):  # other calls do not wait for the search limit
        api.call("pipelines.read", pipelines.get_all, "deals")
    assert now[0] == sent[-1]
    busiest = max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent)
    assert busiest == SEARCH_PER_SECOND == 4
    assert sent[-1] == pytest.approx(2.0, abs=0.01)  # 12 searches: three full seconds' worth
    assert len(fake.search_bodies) == 12


def test_a_deal_deleted_before_the_task_batch_fails_only_itself_and_is_gone(
    fake, connector
) -> None:
    f1, f2, f3 = (fake.add_deal(name) for name in ("F1", "F2", "F3"))
    snaps = connector.read_deals([f1, f2, f3])
    fake.delete_object("deals", f1)  # between our read and our write
    fake.reset_calls()
    outs = connector.write_back([_writeback(snaps[d]) for d in (f1, f2, f3)])
    assert outs[f1].deal_gone and outs[f1].error is None
    for deal in (f2, f3):
        [task] = fake.tasks_for(deal)
        assert outs[deal].error is None and not outs[deal].deal_gone
        assert outs[deal].task_id == task["id"]
        assert fake.deal(deal)["properties"]["roadmap_guard_task_id"] == task["id"]
    # The refused batch of 3, then halves [F1] and [F2, F3]: no call per deal.
    assert fake.calls["POST /crm/v3/objects/tasks/batch/create"] == 3


def test_a_refused_input_of_a_live_deal_fails_that_deal_alone(fake, connector) -> None:
    good, bad = fake.add_deal("Good"), fake.add_deal("Bad")
    snaps = connector.read_deals([good, bad])
    refused = _writeback(snaps[bad], note="Findings")
    outs = connector.write_back([_writeback(snaps[good], note="Findings"), refused])
    assert outs[good].error is None and outs[bad].error is None
    fake.inject("400", 1, path="/notes/batch/create")
    again = connector.write_back(
        [
            _writeback(snaps[good], task_id=outs[good].task_id, note="Changed"),
            _writeback(snaps[bad], task_id=outs[bad].task_id, note="Changed"),
        ]
    )
    # The fake refuses the first call only: the halves go through. A refusal that stays
    # (the lone input refused again) fails that deal as permanent, not gone.
    assert all(o.error is None and not o.deal_gone for o in again.values())
    assert [len(fake.notes_for(d)) for d in (good, bad)] == [2, 2]
    fake.inject("400", 3, path="/notes/batch/create")
    last = connector.write_back(
        [
            _writeback(snaps[good], task_id=outs[good].task_id, note="Again"),
            _writeback(snaps[bad], task_id=outs[bad].task_id, note="Again"),
        ]
    )
    assert all(isinstance(o.error, PermanentError) and not o.deal_gone for o in last.values())


def test_lost_note_create_response_is_found_again_not_posted_twice(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    first = connector.write_back([_writeback(snap)])[deal]
    previous = {"status": "warning", "written_at": "2025-01-01T00:00:00+00:00"}
    fake.inject("lost_response", 1, path="/notes/batch/create", delay=3.0)
    out = connector.write_back(
        [_writeback(snap, task_id=first.task_id, note="Verdict changed", previous=previous)]
    )[deal]
    assert isinstance(out.error, TransientError)
    assert len(fake.notes_for(deal)) == 1  # HubSpot posted it; we never heard
    fake.search_index_lag_seconds = 60  # retried before search would show it
    fake.reset_calls()
    retry = connector.write_back(
        [_writeback(snap, task_id=first.task_id, note="Verdict changed", previous=previous)]
    )[deal]
    assert retry.error is None and retry.changes.get("note")
    assert len(fake.notes_for(deal)) == 1
    assert fake.calls["POST /crm/v4/associations/deals/notes/batch/read"] == 1
    assert fake.calls["POST /crm/v3/objects/notes/search"] == 0
    assert fake.calls["POST /crm/v3/objects/notes/batch/create"] == 0


def test_a_claim_above_50_deals_is_read_with_stage_history_in_batches_of_50(fake, api) -> None:
    """HubSpot serves property history for at most 50 inputs per batch read (400 above it):
    120 deals are read in three calls, none refused."""
    batch = api.api("crm.deals.batch_api")
    with pytest.raises(RefusedError) as err:  # the fake refuses as HubSpot does
        api.call(
            "deals.batch_read",
            batch.read,
            {"inputs": [{"id": str(i)} for i in range(51)], "propertiesWithHistory": ["dealstage"]},
        )
    assert "property histories is 50" in str(err.value)
    connector = HubSpotConnector(api, portal_id=fake.portal_id)
    deals = [fake.add_deal(f"D{i}", emit=False) for i in range(120)]
    for deal in deals:
        fake.ui_set_stage(deal, "contractsent")  # the history the guard needs
    fake.reset_calls()
    snaps = connector.read_deals(deals)
    assert all(snaps[d] is not None for d in deals)
    assert all(snaps[d].extra["previous_stage"] == "qualifiedtobuy" for d in deals)
    assert fake.calls["POST /crm/v3/objects/deals/batch/read"] == 3  # 50 + 50 + 20


def _unpaused_api(fake, slept: list[float]) -> HubSpotApi:
    """A client whose budget records the pauses HubSpot asks for instead of sleeping them."""
    return HubSpotApi(
        access_token=fake.access_token,
        api_base=fake.base_url,
        timeout=2.0,
        bucket=TokenBucket(1000, sleep=slept.append),
    )


def test_a_423_lock_is_transient_pauses_2s_and_does_not_split_the_batch(fake) -> None:
    slept: list[float] = []
    connector = HubSpotConnector(_unpaused_api(fake, slept), portal_id=fake.portal_id)
    deals = [fake.add_deal(name) for name in ("A", "B", "C")]
    snaps = connector.read_deals(deals)
    fake.reset_calls()
    fake.inject("423", 1, path="/tasks/batch/create")
    outs = connector.write_back([_writeback(snaps[d]) for d in deals])
    for deal in deals:
        error = outs[deal].error
        assert isinstance(error, TransientError) and not isinstance(error, PermanentError)
        assert error.retry_after >= 2.0 and "423" in str(error) and error.hold
        assert fake.tasks_for(deal) == []
    # Not a refusal of one input: sent once, not halved down to single deals.
    assert fake.calls["POST /crm/v3/objects/tasks/batch/create"] == 1
    assert slept and slept[0] == pytest.approx(2.0, abs=0.1)  # the next call waited the lock out


def test_a_477_migration_is_transient_for_retry_after_and_pauses_the_portal(fake) -> None:
    slept: list[float] = []
    connector = HubSpotConnector(_unpaused_api(fake, slept), portal_id=fake.portal_id)
    deal = fake.add_deal("Acme")
    fake.inject("477", 1, retry_after=7200)
    with pytest.raises(TransientError) as err:
        connector.read_deals([deal])
    assert not isinstance(err.value, PermanentError)
    assert err.value.retry_after == 7200.0 and "migrating" in str(err.value)
    assert err.value.hold  # a migration takes hours: the deals wait without spending attempts
    fake.reset_calls()
    with pytest.raises(TransientError) as again:  # every call waits: none is sent
        connector.read_deals([deal])
    assert again.value.retry_after == pytest.approx(7200.0, abs=5)
    assert fake.total_calls() == 0


def test_a_lock_on_the_guard_revert_is_retried_not_flagged_as_refused(fake) -> None:
    slept: list[float] = []
    connector = HubSpotConnector(_unpaused_api(fake, slept), portal_id=fake.portal_id)
    deal = fake.add_deal("Acme", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    snap = connector.read_deals([deal])[deal]
    fake.inject("423", 1, path="/deals/batch/update")  # the stage move
    out = connector.write_back([_writeback(snap)])[deal]
    assert isinstance(out.error, TransientError) and out.reverted_to_stage is None
    assert fake.deal(deal)["properties"]["dealstage"] == "closedwon"
    assert fake.tasks_for(deal) == []  # no task saying HubSpot refused the move
    # The block is written all the same: the guard property stays empty.
    props = fake.deal(deal)["properties"]
    assert props["roadmap_guard_status"] == "blocked"
    assert props.get("roadmap_guard_clearance") in (None, "")
    retry = connector.write_back([_writeback(snap)])[deal]
    assert retry.error is None and retry.reverted_to_stage == "contractsent"
    assert fake.deal(deal)["properties"]["dealstage"] == "contractsent"
    assert "moved this deal back" in fake.tasks_for(deal)[0]["properties"]["hs_task_body"]


def test_a_refused_task_create_does_not_leave_a_blocked_deal_clear(fake, connector) -> None:
    deal = fake.add_deal("Acme")
    snap = connector.read_deals([deal])[deal]
    first = connector.write_back([_writeback(snap, status=VerdictStatus.clear, task_open=False)])[
        deal
    ]
    assert first.error is None and first.task_id is None
    assert fake.deal(deal)["properties"]["roadmap_guard_clearance"] == "clear"
    recorded = {
        "status": "clear",
        "summary": "No roadmap issues.",
        "block": False,
        "evaluation_url": f"http://rg/dashboard/deals/hubspot/{deal}",
        "task": {
            "subject": "Roadmap: remove SSO",
            "body": "SSO will never be built.",
            "open": False,
        },
    }
    snap = connector.read_deals([deal])[deal]
    fake.inject("400", 5, path="/tasks/batch/create")
    out = connector.write_back([_writeback(snap, previous=recorded, note="Now blocked")])[deal]
    assert isinstance(out.error, PermanentError) and not out.deal_gone
    props = fake.deal(deal)["properties"]
    assert props["roadmap_guard_status"] == "blocked"
    assert props["roadmap_guard_clearance"] != "clear"
    assert props["roadmap_guard_summary"] == "Blocked: SSO will never be built."
    assert props.get("roadmap_guard_task_id") in (None, "")  # no task: the id is left alone
    assert out.task_id is None and fake.tasks_for(deal) == []


def test_a_revert_is_reported_when_a_later_step_of_the_write_fails(fake) -> None:
    """The stage move went through, the task create then hit a 429: the outcome still says the
    deal was moved back (the write log keeps it), and the block is written."""
    slept: list[float] = []
    connector = HubSpotConnector(_unpaused_api(fake, slept), portal_id=fake.portal_id)
    deal = fake.add_deal("Acme", stage="contractsent")
    fake.ui_set_stage(deal, "closedwon")
    snap = connector.read_deals([deal])[deal]
    fake.inject("429", 1, path="/tasks/batch/create", retry_after=1)
    out = connector.write_back([_writeback(snap)])[deal]
    assert isinstance(out.error, TransientError)
    assert fake.deal(deal)["properties"]["dealstage"] == "contractsent"
    assert out.reverted_to_stage == "contractsent"
    assert out.changes["dealstage"] == "contractsent"
    assert out.changes["roadmap_guard_status"] == "blocked"
    assert fake.deal(deal)["properties"]["roadmap_guard_status"] == "blocked"


def test_close_date_is_the_day_hubspot_shows_in_the_portals_time_zone(fake, api) -> None:
    """`closedate` is a datetime (an instant): a close date picked as 1 July in a Berlin portal
    is stored as 30 June 22:00 UTC and is 1 July there. Without the account details, UTC."""
    fake.time_zone = "Europe/Berlin"
    deals = [fake.add_deal(name) for name in ("A", "B", "C")]
    for deal in deals:
        fake.update_object("deals", deal, {"closedate": "2026-06-30T22:00:00.000Z"})
    connector = HubSpotConnector(api, portal_id=fake.portal_id)
    assert connector.read_deals(deals[:1])[deals[0]].close_date == date(2026, 7, 1)
    batch = connector.read_deals(deals)
    assert {batch[d].close_date for d in deals} == {date(2026, 7, 1)}
    fake.account_details_readable = False
    unknown = HubSpotConnector(api, portal_id=fake.portal_id)
    assert unknown.read_deals(deals[:1])[deals[0]].close_date == date(2026, 6, 30)


@pytest.mark.parametrize("header", ["nan", "inf", "1e12", "-3"])
def test_an_unusable_retry_after_falls_back_to_the_default_wait(header) -> None:
    """nan crashed the outcome recording; inf paused every HubSpot call of the process."""
    import math

    from app.connectors.hubspot.errors import classify

    class Refused(Exception):
        status = 429
        body = '{"category": "RATE_LIMITS", "message": "ten secondly rolling"}'
        headers = {"Retry-After": header}

    error, _ = classify(Refused(), "deals.batch_read")
    assert error.retry_after is not None and math.isfinite(error.retry_after)
    assert 0 < error.retry_after <= 3600


def test_a_task_whose_owner_hubspot_refuses_is_created_unassigned_and_the_others_keep_theirs(
    fake, connector
) -> None:
    """A rep who left: HubSpot validates an engagement's owner and refuses an archived one
    (INVALID_OPTION on hubspot_owner_id). The task was refused at every attempt, so the deal
    went dead with no task; now it is sent again without an owner, and says so."""
    left = fake.add_deal("Left", line_items=[], emit=False, owner_id="301")
    stays = fake.add_deal("Stays", line_items=[], emit=False, owner_id="101")
    fake.archived_owners.add("301")
    snaps = connector.read_deals([left, stays])

    out = connector.write_back([_writeback(snaps[left]), _writeback(snaps[stays])])

    assert out[left].error is None and out[stays].error is None
    [unassigned] = fake.tasks_for(left)
    assert not unassigned["properties"].get("hubspot_owner_id")
    assert "301" in out[left].changes["task_owner"]
    [owned] = fake.tasks_for(stays)
    assert owned["properties"]["hubspot_owner_id"] == "101"
    assert "task_owner" not in out[stays].changes


def test_a_task_update_whose_owner_hubspot_refuses_goes_through_unassigned(fake, connector):
    deal = fake.add_deal("Acme", line_items=[], emit=False, owner_id="101")
    snap = connector.read_deals([deal])[deal]
    first = connector.write_back([_writeback(snap)])[deal]
    fake.archived_owners.add("101")

    again = connector.write_back(
        [_writeback(snap, task_id=first.task_id, body="Changed.", previous={
            "task": {"subject": "Roadmap: remove SSO", "body": "SSO will never be built.",
                     "open": True}})]
    )[deal]  # fmt: skip

    assert again.error is None and "101" in again.changes["task_owner"]
    [task] = fake.tasks_for(deal)
    assert "Changed." in task["properties"]["hs_task_body"]


def test_setup_asks_for_every_deal_event_the_webhook_acts_on() -> None:
    """deal.merge and deal.restore were handled but never asked for: a merged-away deal
    stayed tracked as open beside the deal it went into, its pipeline counted twice."""
    from app.connectors.hubspot.events import DEAL_PROPERTIES
    from app.connectors.hubspot.setup import instructions

    text = instructions("https://rg.example.com", "roadmap_guard_clearance")
    for kind in (
        "deal.creation",
        "deal.deletion",
        "deal.merge",
        "deal.restore",
        "deal.associationChange",
        "line_item.propertyChange",
    ):
        assert f"- {kind}" in text
    for name in DEAL_PROPERTIES:
        assert f"- deal.propertyChange: {name}\n" in text
