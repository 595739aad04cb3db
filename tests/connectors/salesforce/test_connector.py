"""SalesforceConnector against the fake org with the real simple-salesforce over HTTPS."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from app.connectors.base import (
    CUT_NOTICE,
    CredentialsError,
    DealWriteBack,
    PermanentError,
    TaskSpec,
    TransientError,
)
from app.connectors.salesforce import SalesforceConnector
from app.connectors.salesforce.auth import TimeoutSession, auth_mode, client_kwargs
from app.connectors.salesforce.errors import (
    CONCURRENT_LIMIT_RETRY_SECONDS,
    REQUEST_LIMIT_RETRY_SECONDS,
    classify,
)
from app.connectors.salesforce.ids import to18
from app.jobs.types import Outcome
from app.rules.model import VerdictStatus
from app.sandbox.salesforce import INTEGRATION_USER, REP_USER, sf_datetime
from app.services.pipeline import canonical_write
from app.settings import Settings
from tests.fakes.salesforce import HeldCall


def composite_subrequests(connector, monkeypatch) -> list[dict]:
    """Every Composite subrequest the connector sends from now on, as sent."""
    sent: list[dict] = []
    composite = connector.api.composite

    def spy(operation, subrequests):
        sent.extend(subrequests)
        return composite(operation, subrequests)

    monkeypatch.setattr(connector.api, "composite", spy)
    return sent


def write(
    opp,
    snapshot,
    *,
    status=VerdictStatus.blocked,
    task_open=True,
    task_id=None,
    followups=None,
    note=None,
):
    return DealWriteBack(
        crm="salesforce",
        deal_id=opp,
        status=status,
        summary=f"summary {status.value}",
        block=status == VerdictStatus.blocked,
        checked_at=datetime.now(UTC),
        evaluation_url=None,
        task=TaskSpec(subject="Roadmap problem", body="Do not promise SSO", open=task_open),
        task_id=task_id,
        note=note,
        followups=followups or {},
        snapshot=snapshot,
    )


def test_one_composite_call_reads_a_batch_with_items_notes_and_content_notes(connector, fake):
    ids = [
        fake.add_opportunity(
            f"Deal {i}",
            line_items=[
                {"name": "SSO add-on", "code": "SKU-SSO"},
                {"name": "Seats", "code": "SEATS"},
            ],
            notes=["Promised SSO by Q3"],
            content_notes=["<p>Needs <b>audit log</b></p>"],
        )
        for i in range(5)
    ]
    snaps = connector.read_deals(ids)
    # Cold start: one call for the org facts (stages, picklists, currencies: the opportunity
    # query must know whether to select CurrencyIsoCode), one for opportunities + notes.
    assert fake.calls_by_kind() == {"composite": 2}
    snap = snaps[ids[0]]
    assert [li.sku for li in snap.line_items] == ["SKU-SSO", "SEATS"]
    assert [li.name for li in snap.line_items] == ["SSO add-on", "Seats"]
    assert any("Promised SSO by Q3" in n.body for n in snap.notes)
    assert any("Needs audit log" in n.body for n in snap.notes)
    assert snap.owner_name == "Riley Rep" and snap.account_name == "Acme Corp"
    fake.reset_calls()
    connector.read_deals(ids)
    assert fake.calls_by_kind() == {"composite": 1}  # facts cached: still one call


def test_fifteen_char_ids_and_missing_opportunities(connector, fake):
    opp = fake.add_opportunity("Deal")
    gone = "006000000009999"
    snaps = connector.read_deals([opp[:15], gone])
    # Under the ids as asked (the pipeline looks each up by its queue row's id; keyed by the
    # 18-character form, the 15-character one read as gone), the snapshot's id 18 characters.
    assert set(snaps) == {opp[:15], gone}
    assert snaps[opp[:15]].deal_id == opp and snaps[gone] is None


def test_stage_facts_come_from_the_org_not_a_hard_coded_name(connector, fake):
    opp = fake.add_opportunity("Booked", stage="Signed - Booked")
    stage = connector.read_deals([opp])[opp].stage
    assert stage.is_won and stage.is_closed and stage.probability == 1.0
    assert set(connector.won_stages()) == {"Closed Won", "Signed - Booked"}


def test_an_opportunity_in_a_retired_stage_is_read_with_that_stages_facts(connector, fake):
    """A stage made inactive stays on the opportunities in it: it is still won (or lost), and
    not an unknown stage that makes every read reload the facts. It is not a stage the
    validation rule needs to name: no user can pick it any more."""
    fake.insert(
        "OpportunityStage",
        {
            "ApiName": "Won - Legacy",
            "MasterLabel": "Won - Legacy",
            "IsActive": False,
            "IsWon": True,
            "IsClosed": True,
            "DefaultProbability": 100.0,
            "SortOrder": 9,
        },
    )
    opp = fake.add_opportunity("Old win", stage="Won - Legacy")
    stage = connector.read_deals([opp])[opp].stage
    assert stage.is_won and stage.is_closed and stage.label == "Won - Legacy"
    fake.reset_calls()
    connector.read_deals([opp])
    assert fake.calls_by_kind() == {"composite": 1}  # facts still fresh: no reload
    assert set(connector.won_stages()) == {"Closed Won", "Signed - Booked"}


def test_unknown_stage_reloads_the_facts_on_the_next_read(connector, fake):
    opp = fake.add_opportunity("Deal")
    connector.read_deals([opp])
    fake.insert(
        "OpportunityStage",
        {
            "ApiName": "Won - Verbal",
            "MasterLabel": "Won - Verbal",
            "IsActive": True,
            "IsWon": True,
            "IsClosed": True,
            "DefaultProbability": 100.0,
            "SortOrder": 9,
        },
    )
    fake.opportunity(opp)["StageName"] = "Won - Verbal"
    assert connector.read_deals([opp])[opp].stage.is_won is False  # not yet known
    assert connector.read_deals([opp])[opp].stage.is_won is True


def _long_note(tag: str) -> str:
    """An enhanced note whose telling part comes after the 255-character TextPreview."""
    return "<p>" + "Call with the buyer went through the rollout plan. " * 7 + f"{tag}</p>"


def test_long_note_bodies_of_a_batch_cost_one_apex_call(connector, fake):
    ids = [
        fake.add_opportunity(f"Deal {i}", content_notes=[_long_note(f"needs-sso-{i}"), "<p>ok</p>"])
        for i in range(30)
    ]
    snaps = connector.read_deals(ids)
    # One Composite for the reads (+ one for the org facts at cold start), one POST to the Apex
    # resource for all 30 bodies: no blob GETs.
    assert fake.calls_by_kind() == {"composite": 2, "apexrest": 1}
    for i, opp in enumerate(ids):
        bodies = [n.body for n in snaps[opp].notes]
        assert any(b.endswith(f"needs-sso-{i}") and len(b) > 300 for b in bodies), bodies
    fake.reset_calls()
    connector.read_deals(ids)
    assert fake.calls_by_kind() == {"composite": 1}  # bodies cached by version


def test_long_note_bodies_are_split_into_posts_the_apex_class_accepts(connector, fake, monkeypatch):
    from app.connectors.salesforce import connector as module

    monkeypatch.setattr(module, "NOTE_BODY_BATCH", 10)
    ids = [
        fake.add_opportunity(f"Deal {i}", content_notes=[_long_note(f"t{i}")]) for i in range(25)
    ]
    connector.read_deals(ids)
    assert fake.calls_by_kind() == {"composite": 2, "apexrest": 3}  # facts, read; 10 + 10 + 5


def test_long_note_body_is_fetched_once_per_version_not_once_per_read(connector, fake):
    long_html = "<p>" + "Pilot scope agreed with the customer. " * 8 + "They need SSO.</p>"
    opp = fake.add_opportunity("Deal", content_notes=[long_html])
    [note_id] = list(fake.store["ContentNote"])
    assert "SSO" in connector.read_deals([opp])[opp].notes[0].body  # past the 255-char preview
    fake.reset_calls()
    connector.read_deals([opp])
    assert fake.calls_by_kind() == {"composite": 1}  # unchanged note: not fetched again
    fake.edit_content_note(note_id, long_html.replace("SSO", "audit log export"))
    fake.reset_calls()
    body = connector.read_deals([opp])[opp].notes[0].body
    assert fake.calls_by_kind() == {"composite": 1, "apexrest": 1}
    assert "audit log export" in body and "SSO" not in body


def test_a_note_deleted_before_the_apex_call_is_read_from_its_preview(connector, fake):
    opp = fake.add_opportunity("Deal", content_notes=[_long_note("gone")])
    [note_id] = list(fake.store["ContentNote"])
    answer = fake.apex_rest

    def delete_first(method, path, body):
        fake.delete("ContentNote", note_id)  # someone deletes it between the query and the POST
        return answer(method, path, body)

    fake.apex_rest = delete_first
    body = connector.read_deals([opp])[opp].notes[0].body
    # facts + read (cold start), the POST, and no blob GET to be refused
    assert fake.calls_by_kind() == {"composite": 2, "apexrest": 1}
    assert body.startswith("Call notes\nCall with the buyer") and "gone" not in body


@pytest.mark.parametrize("state", ["not installed", "no class access"])
def test_without_the_apex_resource_long_notes_fall_back_to_one_blob_get_each(
    connector, fake, state
):
    if state == "not installed":
        fake.notes_resource_installed = False  # 404 NOT_FOUND, as Salesforce answers
    else:
        fake.notes_resource_forbidden = True  # 403: the permission set is not assigned
    ids = [
        fake.add_opportunity(f"Deal {i}", content_notes=[_long_note(f"tail-{i}")]) for i in range(2)
    ]
    snaps = connector.read_deals(ids)
    assert fake.calls_by_kind() == {"composite": 2, "apexrest": 1, "blob": 2}  # facts + read
    assert all(snaps[o].notes[0].body.endswith(f"tail-{i}") for i, o in enumerate(ids))
    # Remembered for this process: the next long note goes straight to its blob GET.
    opp = fake.add_opportunity("Later", content_notes=[_long_note("later")])
    fake.reset_calls()
    assert connector.read_deals([opp])[opp].notes[0].body.endswith("later")
    assert fake.calls_by_kind() == {"composite": 1, "blob": 1}


def test_an_exception_in_the_apex_class_falls_back_for_that_batch_only(connector, fake):
    """500 APEX_ERROR (an uncaught exception in the class, as Salesforce reports it): the batch's
    notes are read by blob GETs, and the resource is still used for the next read."""
    fake.notes_resource_error = (
        "System.LimitException: Apex heap size too large: 6291457\n\n"
        "Class.RoadmapGuardNotes.readNotes: line 14, column 1"
    )
    ids = [
        fake.add_opportunity(f"Deal {i}", content_notes=[_long_note(f"tail-{i}")]) for i in range(2)
    ]
    snaps = connector.read_deals(ids)
    assert fake.calls_by_kind() == {"composite": 2, "apexrest": 1, "blob": 2}  # facts + read
    assert all(snaps[o].notes[0].body.endswith(f"tail-{i}") for i, o in enumerate(ids))
    fake.notes_resource_error = None
    fake.reset_calls()
    opp = fake.add_opportunity("Later", content_notes=[_long_note("later")])
    assert connector.read_deals([opp])[opp].notes[0].body.endswith("later")
    assert fake.calls_by_kind() == {"composite": 1, "apexrest": 1}  # not remembered as missing


def test_a_resource_installed_later_is_found_when_the_memory_expires(connector, fake, monkeypatch):
    from app.connectors.salesforce import connector as module

    monkeypatch.setattr(module, "NOTES_RESOURCE_RETRY_SECONDS", 0.0)
    fake.notes_resource_installed = False
    connector.read_deals([fake.add_opportunity("A", content_notes=[_long_note("a")])])
    fake.notes_resource_installed = True  # the admin deployed `setup salesforce`
    fake.reset_calls()
    opp = fake.add_opportunity("B", content_notes=[_long_note("b")])
    assert connector.read_deals([opp])[opp].notes[0].body.endswith("b")
    assert fake.calls_by_kind() == {"composite": 1, "apexrest": 1}


def test_an_outage_on_the_apex_call_is_transient_not_a_missing_resource(connector, fake):
    opp = fake.add_opportunity("Deal", content_notes=[_long_note("tail")])
    fake.inject("unavailable", match="/apexrest/")
    with pytest.raises(TransientError):
        connector.read_deals([opp])
    fake.reset_calls()
    assert connector.read_deals([opp])[opp].notes[0].body.endswith("tail")
    assert fake.calls_by_kind() == {"composite": 1, "apexrest": 1}  # still used: not forgotten


def test_paged_results_are_followed(connector, fake):
    fake.page_size_with_children = 3
    ids = [fake.add_opportunity(f"Deal {i}") for i in range(7)]
    snaps = connector.read_deals(ids)
    assert all(snaps[i] is not None for i in ids)
    assert fake.calls_by_kind()["query"] == 2  # two query_more pages after the first


def test_write_back_sets_fields_and_one_task_then_writes_nothing_when_unchanged(connector, fake):
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    fake.reset_calls()
    out = connector.write_back([write(opp, snap)])[opp]
    assert out.error is None and out.task_open and out.changes["task"] == "created"
    assert fake.calls_by_kind() == {"composite": 1}
    rec = fake.opportunity(opp)
    assert (rec["Roadmap_Check_Status__c"], rec["Roadmap_Block__c"]) == ("blocked", True)
    [task] = fake.tasks_of(opp)
    assert task["WhatId"] == opp and task["OwnerId"] == REP_USER
    assert task["Priority"] == "High" and task["Status"] == "Not Started"  # read from the org
    fake.reset_calls()
    snap = connector.read_deals([opp])[opp]
    again = connector.write_back([write(opp, snap, task_id=out.task_id)])[opp]
    assert fake.calls_by_kind() == {"composite": 1}  # the read only: nothing to write
    assert again.changes == {} and again.task_id == out.task_id


def test_checked_at_is_written_only_with_a_change_the_rep_sees(connector, fake):
    """Roadmap_Checked_At__c is when roadmap-guard last changed the record. Rewriting it on
    a re-evaluation that changes nothing else (it used to be, once it was a day old) moved
    the opportunity's LastModifiedDate and LastModifiedBy every day, and customers' stale-deal
    reports saw a deal nobody touched as just modified (by us). A task edit is not a change
    of the opportunity; a verdict change is, and stamps the field."""
    days_ago = sf_datetime(datetime.now(UTC) - timedelta(days=3))
    opp = fake.add_opportunity(
        "Deal",
        Roadmap_Check_Status__c="blocked",
        Roadmap_Check_Summary__c="summary blocked",
        Roadmap_Block__c=True,
        Roadmap_Checked_At__c=days_ago,
        LastModifiedDate=days_ago,
        SystemModstamp=days_ago,
    )
    before = dict(fake.opportunity(opp))
    snap = connector.read_deals([opp])[opp]
    fake.reset_calls()
    out = connector.write_back([write(opp, snap)])[opp]  # same verdict; creates its task
    assert out.error is None and out.changes["task"] == "created"
    assert "fields" not in out.changes
    assert fake.opportunity(opp) == before  # untouched: not even LastModifiedDate
    [task] = fake.tasks_of(opp)
    snap = connector.read_deals([opp])[opp]
    edited = replace(
        write(opp, snap, task_id=task["Id"]),
        task=TaskSpec(subject="Roadmap problem", body="SSO slipped to Q4", open=True),
    )
    fake.reset_calls()
    out = connector.write_back([edited])[opp]
    assert out.error is None and out.changes["task"] == "updated"
    assert fake.opportunity(opp) == before
    assert fake.tasks_of(opp)[0]["Description"] == "SSO slipped to Q4"
    snap = connector.read_deals([opp])[opp]
    out = connector.write_back(
        [write(opp, snap, status=VerdictStatus.clear, task_open=False, task_id=task["Id"])]
    )[opp]
    rec = fake.opportunity(opp)
    assert out.error is None and rec["Roadmap_Check_Status__c"] == "clear"
    assert rec["Roadmap_Checked_At__c"] > days_ago and rec["LastModifiedById"] == INTEGRATION_USER


def test_task_priority_and_statuses_are_the_orgs_own_picklist_values(connector, fake, rep):
    fake.set_task_picklists(
        priorities=[("Routine", True, False), ("Urgent", False, True)],
        statuses=[("Open", True, False), ("Waiting", False, False), ("Done", False, True)],
    )
    opp = fake.add_opportunity("Deal")
    with pytest.raises(Exception, match="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"):
        rep.Task.create({"WhatId": opp, "Subject": "x", "Priority": "High"})  # not in this org
    first = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert first.error is None
    [task] = fake.tasks_of(opp)
    assert (task["Priority"], task["Status"], task["IsClosed"]) == ("Urgent", "Open", False)
    snap = connector.read_deals([opp])[opp]
    done = connector.write_back(
        [write(opp, snap, status=VerdictStatus.clear, task_open=False, task_id=first.task_id)]
    )[opp]
    assert done.error is None and done.changes["task"] == "completed"
    [task] = fake.tasks_of(opp)
    assert (task["Status"], task["IsClosed"]) == ("Done", True)


def test_clear_completes_the_task_in_place(connector, fake):
    opp = fake.add_opportunity("Deal")
    first = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    snap = connector.read_deals([opp])[opp]
    done = connector.write_back(
        [write(opp, snap, status=VerdictStatus.clear, task_open=False, task_id=first.task_id)]
    )[opp]
    [task] = fake.tasks_of(opp)
    assert task["Id"] == first.task_id and task["Status"] == "Completed" and task["IsClosed"]
    assert done.task_open is False and done.changes["task"] == "completed"
    assert fake.opportunity(opp)["Roadmap_Block__c"] is False


def test_task_deleted_in_salesforce_is_recreated_once(connector, fake):
    opp = fake.add_opportunity("Deal")
    first = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    fake.delete("Task", first.task_id)
    snap = connector.read_deals([opp])[opp]
    out = connector.write_back([write(opp, snap, task_id=first.task_id)])[opp]
    assert out.error is None and out.task_id != first.task_id
    assert len(fake.tasks_of(opp)) == 1


def test_followups_are_created_once_even_when_the_result_was_lost(connector, fake):
    opp = fake.add_opportunity("Deal")
    follow = {"ledger:7": TaskSpec(subject="Promise slipped", body="tell the customer")}
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp], followups=follow)])[
        opp
    ]
    assert list(out.followups_created) == ["ledger:7"]
    # The pipeline did not record it (crash): the next write finds it by its marker.
    again = connector.write_back([write(opp, connector.read_deals([opp])[opp], followups=follow)])[
        opp
    ]
    assert again.followups_created == out.followups_created
    assert sum("Promise slipped" in t["Subject"] for t in fake.tasks_of(opp)) == 1


def test_our_note_is_written_but_never_read_back_as_a_deal_note(connector, fake):
    opp = fake.add_opportunity("Deal", notes=["customer note"])
    connector.write_back(
        [write(opp, connector.read_deals([opp])[opp], note="SSO: never. Findings...")]
    )
    notes = connector.read_deals([opp])[opp].notes
    assert [n.body for n in notes] == ["Meeting notes\ncustomer note"]


def test_a_roadmap_field_the_integration_user_cannot_edit_holds_the_deal(connector, fake):
    """Field-level security on Roadmap_Block__c (a permission set removed): Salesforce refuses
    the whole record, so the block never reaches it and the validation rule lets the deal close.
    It was a PermanentError (dead, every deal of the org to replay by hand); it is the org's
    configuration: held as refused credentials are, and through once an admin restores it.
    The dead row's text named the code twice ('INVALID_FIELD...: INVALID_FIELD...: ...')."""
    fake.unwritable_fields = {"Roadmap_Block__c"}
    opp = fake.add_opportunity("Deal")
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert isinstance(out.error, CredentialsError) and out.error.hold, out.error
    assert Outcome.from_exception(out.error).kind == "retry"
    text = str(out.error)
    assert text.count("INVALID_FIELD_FOR_INSERT_UPDATE") == 1 and "permission set" in text
    assert out.written["fields"]["block"] is None  # nothing claimed that was not written
    fake.unwritable_fields = set()  # an admin restores access: the next write goes through
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert out.error is None and fake.opportunity(opp)["Roadmap_Block__c"] is True


def test_a_roadmap_field_the_integration_user_cannot_read_holds_the_deals(connector, fake):
    """The permission set unassigned (or the fields never deployed): the read's query names a
    field the integration user cannot see and Salesforce refuses it with INVALID_FIELD. It was
    a PermanentError for the whole read, and every deal of the batch went dead (a write refused
    for the same reason was already held). Now held, and read once an admin restores access."""
    opp = fake.add_opportunity("Deal")
    field_type = fake.custom_fields.pop("Roadmap_Block__c")  # no longer visible to the user
    with pytest.raises(CredentialsError, match="Roadmap_Block__c") as info:
        connector.read_deals([opp])
    assert info.value.hold and "permission set" in str(info.value)
    assert Outcome.from_exception(info.value).kind == "retry"
    fake.custom_fields["Roadmap_Block__c"] = field_type  # an admin restores access
    assert connector.read_deals([opp])[opp].deal_id == opp


def test_another_invalid_field_on_read_stays_a_permanent_error(connector, fake, monkeypatch):
    opp = fake.add_opportunity("Deal")
    connector.read_deals([opp])  # facts loaded
    soql = connector.opportunity_soql
    monkeypatch.setattr(
        connector,
        "opportunity_soql",
        lambda ids, **kw: soql(ids, **kw).replace("Owner.Name", "Owner.Nope__c"),
    )
    with pytest.raises(PermanentError, match="INVALID_FIELD"):
        connector.read_deals([opp])


def test_validation_refusing_our_write_is_a_held_error_in_the_outcome(connector, fake):
    """Held since review 10 (an org rule is the org's set-up or the record's state, not a
    refusal for good): see test_org_rules_review10.py."""
    from app.connectors.salesforce.errors import OrgRuleRefused

    fake.extra_rules.append(
        lambda old, new: "No integration edits" if new.get("Roadmap_Block__c") else None
    )
    opp = fake.add_opportunity("Deal")
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert isinstance(out.error, OrgRuleRefused) and out.error.hold
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in str(out.error)
    assert out.written["fields"]["block"] is None  # nothing claimed that was not written


def test_batches_use_few_calls(connector, fake, sf_settings):
    ids = [fake.add_opportunity(f"Deal {i}") for i in range(450)]
    snaps = connector.read_deals(ids)
    assert fake.calls_by_kind() == {"composite": 4}  # org facts (cold), 200 + 200 + 50
    fake.reset_calls()
    outs = connector.write_back([write(i, snaps[i]) for i in ids])
    assert all(o.error is None for o in outs.values())
    # 450 field updates + 450 task creates = 6 collections of ≤200 → 2 Composite calls (≤5 each)
    assert fake.calls_by_kind() == {"composite": 2}


@pytest.mark.parametrize(
    ("fault", "kind", "retry_after"),
    [
        ("limit", TransientError, REQUEST_LIMIT_RETRY_SECONDS),
        ("concurrent_limit", TransientError, CONCURRENT_LIMIT_RETRY_SECONDS),
        ("unavailable", TransientError, 30.0),
    ],
)
def test_limits_and_outages_are_transient(connector, fake, fault, kind, retry_after):
    opp = fake.add_opportunity("Deal")
    fake.inject(fault)
    with pytest.raises(kind) as info:
        connector.read_deals([opp])
    assert info.value.retry_after == retry_after
    assert connector.read_deals([opp])[opp] is not None


@pytest.mark.parametrize(
    ("message", "retry_after"),
    [
        ("TotalRequests Limit exceeded.", REQUEST_LIMIT_RETRY_SECONDS),
        (
            "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            CONCURRENT_LIMIT_RETRY_SECONDS,
        ),
        ("ConcurrentPerOrgLongTxn Limit exceeded.", CONCURRENT_LIMIT_RETRY_SECONDS),
    ],
)
def test_request_limit_exceeded_waits_long_only_for_the_24_hour_allowance(message, retry_after):
    """Salesforce says REQUEST_LIMIT_EXCEEDED for the spent 24-hour allowance and for its
    concurrency limits alike; only the message tells them apart. A concurrency limit clears
    within seconds: waiting half an hour for it would stall every deal for nothing."""
    error = classify("REQUEST_LIMIT_EXCEEDED", message, status=403)
    assert isinstance(error, TransientError) and error.retry_after == retry_after
    assert error.hold  # the org's limit, not the deal's failure: no attempt spent
    assert CONCURRENT_LIMIT_RETRY_SECONDS <= 30.0 < REQUEST_LIMIT_RETRY_SECONDS


def test_timeout_is_transient(quick_connector, fake):
    fake.timeout_seconds = 1.5  # the client waits 0.5 s
    fake.inject("timeout")
    with pytest.raises(TransientError, match="in time"):
        quick_connector.read_deals([fake.add_opportunity("Deal")])


def test_bad_token_is_a_credentials_error(sf_settings, fake):
    from pydantic import SecretStr

    bad = SalesforceConnector.from_settings(
        sf_settings.model_copy(update={"salesforce_access_token": SecretStr("nope")})
    )
    with pytest.raises(CredentialsError, match="credentials"):
        bad.read_deals([fake.add_opportunity("Deal")])


def test_limit_info_header_is_recorded(connector, fake):
    connector.read_deals([fake.add_opportunity("Deal")])
    used, total = connector.api.api_usage
    assert used >= 1 and total == fake.api_limit


def test_fake_refuses_queries_it_does_not_understand(sf_server):
    sf = Salesforce(
        instance_url=sf_server.instance_url,
        session_id="rep-token",
        version="61.0",
        session=TimeoutSession(5.0, verify=sf_server.ca_bundle),
    )
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Id FROM Opportunity WHERE Name = 'a' OR Name = 'b'")
    assert info.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.query("SELECT Nope__c FROM Opportunity")
    assert info.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_reconcile_finds_changes_since_the_cursor_but_not_our_own(connector, fake):
    a = fake.add_opportunity("A")
    b = fake.add_opportunity("B", stage="Closed Lost")
    ids, newest = connector.changed_since(None)
    assert ids == [a] and newest is not None  # first run: open opportunities
    fake.opportunity(b)["LastModifiedDate"] = (datetime.now(UTC) + timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000"
    )
    fake.opportunity(a)["LastModifiedById"] = INTEGRATION_USER
    fake.opportunity(a)["LastModifiedDate"] = fake.opportunity(b)["LastModifiedDate"]
    ids, _ = connector.changed_since(newest)
    assert ids == [b]


def test_open_deal_ids_pages_every_open_opportunity_even_those_we_wrote_last(connector, fake):
    """A backfill lists every open opportunity page by page with the query's total, closed
    ones not, and (unlike reconciliation) also those the integration user modified last."""
    fake.page_size = 2
    opened = [fake.add_opportunity(f"O{i}") for i in range(5)]
    fake.add_opportunity("Won", stage="Closed Won")
    fake.add_opportunity("Lost", stage="Closed Lost")
    fake.opportunity(opened[0])["LastModifiedById"] = INTEGRATION_USER
    pages = list(connector.open_deal_ids())
    assert [len(p.ids) for p in pages] == [2, 2, 1]
    assert {p.total for p in pages} == {5}
    assert sorted(i for p in pages for i in p.ids) == sorted(opened)


def test_auth_modes_are_chosen_from_settings():
    base = Settings(_env_file=None)
    jwt = base.model_copy(
        update={
            "salesforce_username": "u@x",
            "salesforce_client_id": "cid",
            "salesforce_private_key_file": "/k.pem",
        }
    )
    assert auth_mode(jwt) == "jwt_bearer"
    kwargs = client_kwargs(jwt, TimeoutSession(1.0))
    assert (
        kwargs["consumer_key"] == "cid"
        and kwargs["privatekey_file"] == "/k.pem"
        and kwargs["version"] == "61.0"
    )
    from pydantic import SecretStr

    cc = base.model_copy(
        update={
            "salesforce_client_id": "cid",
            "salesforce_client_secret": SecretStr("s"),
            "salesforce_domain": "acme.my",
        }
    )
    assert (
        auth_mode(cc) == "client_credentials"
        and client_kwargs(cc, TimeoutSession(1.0))["domain"] == "acme.my"
    )
    with pytest.raises(ValueError, match="incomplete"):
        auth_mode(base)


def test_a_write_that_lands_after_our_timeout_never_gets_a_second_task(quick_connector, fake):
    connector = quick_connector
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    held = HeldCall(fake, "/composite")
    first = connector.write_back([write(opp, snap)])[opp]
    assert isinstance(first.error, TransientError) and first.error.retry_after >= 0.5
    # The queue's retry re-reads before the first write has landed in Salesforce.
    snap = connector.read_deals([opp])[opp]
    assert fake.tasks_of(opp) == []
    retry = connector.write_back([write(opp, snap)])[opp]
    assert isinstance(retry.error, TransientError) and "may still" in str(retry.error)
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True  # the rest is written meanwhile
    assert fake.tasks_of(opp) == []
    held.finish()  # Salesforce completes the first write
    [task] = fake.tasks_of(opp)
    snap = connector.read_deals([opp])[opp]
    last = connector.write_back([write(opp, snap)])[opp]
    assert last.error is None and last.task_id == task["Id"]
    assert len(fake.tasks_of(opp)) == 1


def test_waiting_for_an_unanswered_create_spends_no_attempt(quick_connector, fake):
    """The deal waits up to Salesforce's 10-minute call limit for the lost create to show up;
    its retries are held (no attempt spent), or the queue's attempts run out first and the
    deal goes dead before the documented wait is over."""
    from app.jobs.types import Outcome

    connector = quick_connector
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    held = HeldCall(fake, "/composite")
    connector.write_back([write(opp, snap)])
    retry = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert isinstance(retry.error, TransientError) and "may still" in str(retry.error)
    outcome = Outcome.from_exception(retry.error)
    assert outcome.kind == "retry" and outcome.hold
    held.finish(land=False)


def test_a_deal_turned_clear_waits_for_the_unanswered_create_and_completes_it(
    quick_connector, fake
):
    """The lost create has not landed when the deal turns clear: completing the task it makes
    waits for it (held), and once it lands it is completed, not left open on a clear deal."""
    connector = quick_connector
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    held = HeldCall(fake, "/composite")
    assert connector.write_back([write(opp, snap)])[opp].error is not None
    clear = replace(
        write(opp, snap, status=VerdictStatus.clear, task_open=False),
        unconfirmed_since=datetime.now(UTC) - timedelta(seconds=30),
    )
    waiting = connector.write_back([clear])[opp]
    assert isinstance(waiting.error, TransientError) and waiting.error.hold
    assert fake.opportunity(opp)["Roadmap_Check_Status__c"] == "clear"
    held.finish()  # the create lands
    [task] = fake.tasks_of(opp)
    assert task["IsClosed"] is False
    done = connector.write_back([clear])[opp]
    assert done.error is None and done.task_id == task["Id"] and done.task_open is False
    [task] = fake.tasks_of(opp)
    assert task["IsClosed"] is True


def test_a_cut_short_write_posts_the_verdict_note_unless_it_is_the_newest_one_there(
    connector, fake
):
    """Writes cut short one after another posted "blocked", then "clear": a write now wanting
    "blocked" again posts it (the deal's timeline would end on "clear" otherwise); one wanting
    "clear" does not post it twice."""
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    since = datetime.now(UTC) - timedelta(minutes=1)
    for title in ("blocked", "clear"):
        fake.insert(
            "Note",
            {"ParentId": opp, "Title": f"[roadmap-guard] Roadmap check: {title}", "Body": "x"},
        )

    def note_titles():
        return sorted(n["Title"] for n in fake.store["Note"].values() if n["ParentId"] == to18(opp))

    clear = replace(
        write(opp, snap, status=VerdictStatus.clear, task_open=False, note="now clear"),
        unconfirmed_since=since,
    )
    assert connector.write_back([clear])[opp].error is None
    assert len(note_titles()) == 2
    blocked = replace(write(opp, snap, note="blocked again"), unconfirmed_since=since)
    assert connector.write_back([blocked])[opp].error is None
    assert note_titles() == sorted(
        ["[roadmap-guard] Roadmap check: blocked"] * 2 + ["[roadmap-guard] Roadmap check: clear"]
    )


def test_a_stored_snapshot_retry_checks_for_the_unanswered_create_before_creating(
    quick_connector, fake
):
    connector = quick_connector
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    held = HeldCall(fake, "/composite")
    assert connector.write_back([write(opp, snap)])[opp].error is not None
    held.finish()
    # A retry from the old snapshot (no task in it): the check right before creating finds it.
    fake.reset_calls()
    out = connector.write_back([write(opp, snap)])[opp]
    [task] = fake.tasks_of(opp)
    assert out.error is None and out.task_id == task["Id"]
    assert fake.calls_by_kind()["query"] == 1


def test_an_unanswered_write_that_never_landed_is_created_after_salesforces_call_limit(
    quick_connector, fake, monkeypatch
):
    from app.connectors.salesforce import connector as module

    monkeypatch.setattr(module, "SALESFORCE_CALL_LIMIT_SECONDS", 0.0)  # the 10 minutes are over
    connector = quick_connector
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    held = HeldCall(fake, "/composite")
    assert connector.write_back([write(opp, snap)])[opp].error is not None
    held.finish(land=False)
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    [task] = fake.tasks_of(opp)
    assert out.error is None and out.task_id == task["Id"]


def test_an_opportunity_deleted_between_read_and_write_is_gone_and_spares_the_batch(
    connector, fake
):
    gone, kept = fake.add_opportunity("Gone"), fake.add_opportunity("Kept")
    snaps = connector.read_deals([gone, kept])
    fake.delete("Opportunity", gone)  # a rep deletes it while we evaluate
    outs = connector.write_back(
        [write(gone, snaps[gone], note="findings"), write(kept, snaps[kept])]
    )
    # Salesforce answers ENTITY_IS_DELETED (fields) and FIELD_INTEGRITY_EXCEPTION (the task's
    # WhatId); one query confirms the opportunity is gone.
    assert outs[gone].deal_gone and outs[gone].error is None
    [task] = fake.tasks_of(kept)
    assert outs[kept].error is None and not outs[kept].deal_gone
    assert outs[kept].task_id == task["Id"] and fake.opportunity(kept)["Roadmap_Block__c"]


def test_a_cut_short_write_that_cannot_be_checked_creates_nothing_until_it_can(connector, fake):
    """The pipeline says an earlier write was cut short; reading what it made fails: the
    opportunity's fields are still written, but no task or note is created blind."""
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    item = replace(
        write(opp, snap, note="SSO: never."), unconfirmed_since=datetime.now(UTC) - timedelta(1)
    )
    fake.inject("unavailable", 1, match="/query")
    out = connector.write_back([item])[opp]
    assert isinstance(out.error, TransientError)
    assert fake.tasks_of(opp) == []
    assert fake.opportunity(opp)["Roadmap_Check_Status__c"] == "blocked"
    again = connector.write_back([item])[opp]
    assert again.error is None and [t["Id"] for t in fake.tasks_of(opp)] == [again.task_id]


def test_soql_in_composite_subrequest_urls_is_percent_encoded(connector, fake, monkeypatch):
    """The opportunity query carries `LIKE '[roadmap-guard%'`: unencoded, its `%` starts no
    escape and its spaces end the URL. Every query URL decodes back to the SOQL as written."""
    sent = composite_subrequests(connector, monkeypatch)
    opp = fake.add_opportunity("Deal")
    assert connector.read_deals([opp])[opp] is not None
    queries = [s["url"] for s in sent if "/query" in s["url"]]
    assert len(queries) == 7  # five org facts, the opportunities, the content notes
    soql = [parse_qs(urlsplit(url).query)["q"][0] for url in queries]
    assert [urlsplit(url).query for url in queries] == ["q=" + quote_plus(q) for q in soql]
    assert any("WHERE Subject LIKE '[roadmap-guard%'" in q for q in soql)
    assert set(soql) <= set(fake.queries)  # the org read exactly these texts


def test_fake_refuses_a_subrequest_url_with_unencoded_soql(rep):
    soql = "SELECT Id FROM Task WHERE Subject LIKE '[roadmap-guard%'"
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "GET", "url": "/services/data/v61.0/query?q=" + soql, "referenceId": "a"}
        ],
    }
    [answer] = rep.restful("composite", method="POST", json=body)["compositeResponse"]
    assert answer["httpStatusCode"] == 400
    assert answer["body"][0]["errorCode"] == "MALFORMED_QUERY"


def test_fake_refuses_a_collection_of_more_than_ten_chunks(rep, fake):
    """Salesforce processes a collection in chunks of consecutive same-type records and
    refuses, whole, a request of more than 10 of them."""
    opp = fake.add_opportunity("Deal")
    task = {"attributes": {"type": "Task"}, "WhatId": opp, "Subject": "x"}
    note = {"attributes": {"type": "Note"}, "ParentId": opp, "Title": "n", "Body": "b"}
    with pytest.raises(SalesforceMalformedRequest) as info:
        rep.restful(
            "composite/sobjects",
            method="POST",
            json={"allOrNone": False, "records": [task, note] * 6},  # 12 chunks
        )
    assert "more than 10 chunks" in info.value.content[0]["message"]
    assert fake.tasks_of(opp) == []
    grouped = rep.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": False, "records": [task] * 6 + [note] * 6},  # 2 chunks
    )
    assert all(r["success"] for r in grouped)


def test_a_batch_of_deals_each_with_a_task_and_a_note_is_written_whole(connector, fake):
    """A roadmap slip re-queues many deals, each needing its task, a follow-up and a verdict
    note. Built deal by deal the collection would alternate Task, Note, Task, ... (far more
    than 10 chunks) and Salesforce would refuse it whole: every deal would go dead."""
    ids = [fake.add_opportunity(f"Deal {i}") for i in range(30)]
    snaps = connector.read_deals(ids)
    follow = {"ledger:1": TaskSpec(subject="Promise slipped", body="tell the customer")}
    fake.reset_calls()
    outs = connector.write_back(
        [write(i, snaps[i], note=f"findings {n}", followups=follow) for n, i in enumerate(ids)]
    )
    assert all(o.error is None for o in outs.values()), {o.error for o in outs.values()}
    assert fake.calls_by_kind() == {"composite": 1}
    for n, opp in enumerate(ids):
        out = outs[opp]
        tasks = {t["Id"]: t for t in fake.tasks_of(opp)}
        assert set(tasks) == {out.task_id, out.followups_created["ledger:1"]}
        assert tasks[out.task_id]["Subject"].startswith("[roadmap-guard] ")
        [note] = [r for r in fake.store["Note"].values() if r["ParentId"] == opp]
        assert note["Id"] == out.changes["note"] and note["Body"] == f"findings {n}"


def test_a_task_and_note_longer_than_salesforce_takes_are_cut_at_a_finding(connector, fake):
    """Task.Description and Note.Body hold 32,000 characters (the fake answers STRING_TOO_LONG
    beyond, as Salesforce does): a deal with hundreds of findings gets its first whole ones and
    a line saying where the rest is, not half a finding."""
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    body = "\n".join(f"[BLOCKER] Finding {i}: SCIM promised by Q1." for i in range(2000))
    item = write(opp, snap, note=body)
    item = replace(item, task=replace(item.task, body=body))
    out = connector.write_back([item])[opp]
    assert out.error is None, out.error
    [task] = fake.tasks_of(opp)
    [note] = [r for r in fake.store["Note"].values() if r["ParentId"] == opp]
    for stored in (task["Description"], note["Body"]):
        assert 30_000 < len(stored) <= 32_000
        *findings, last = stored.split("\n")
        assert all(
            re.fullmatch(r"\[BLOCKER\] Finding \d+: SCIM promised by Q1\.", f) for f in findings
        )
        assert last == CUT_NOTICE


def test_a_stored_snapshot_recheck_with_nothing_changed_sends_no_field_update(
    connector, fake, monkeypatch
):
    """A roadmap re-check evaluates the stored snapshot, read before our last write; what we
    wrote is `previous` = Deal.written in the pipeline's canonical keys. Nothing changed, so no
    field and no task is written: only the follow-up the re-check asks for."""
    opp = fake.add_opportunity("Deal")
    stored = connector.read_deals([opp])[opp]
    first = connector.write_back([write(opp, stored)])[opp]
    assert first.error is None
    item = write(opp, stored, task_id=first.task_id)
    previous = canonical_write(
        status=item.status,
        summary=item.summary,
        block=item.block,
        evaluation_url="",
        task=item.task,
    )
    sent = composite_subrequests(connector, monkeypatch)
    follow = {"ledger:9": TaskSpec(subject="Promise slipped", body="tell the customer")}
    again = connector.write_back(
        [
            replace(
                item,
                followups=follow,
                previous={**previous, "written_at": datetime.now(UTC).isoformat()},
            )
        ]
    )[opp]
    assert again.error is None and list(again.changes) == ["followups"]
    records = [r for s in sent if s["method"] != "GET" for r in s["body"]["records"]]
    assert [(r["attributes"]["type"], r.get("Id")) for r in records] == [("Task", None)]
    assert again.task_id == first.task_id


def test_a_task_for_an_opportunity_of_a_rep_who_left_is_owned_by_the_integration_user(
    connector, fake, rep
):
    """Salesforce refuses a Task assigned to an inactive user (INACTIVE_OWNER_OR_USER). The
    opportunities of reps who left are common: their tasks go to the integration user, the
    deal does not go dead, and the outcome says why."""
    left = fake.add_user("Lee Left", active=False)
    with pytest.raises(SalesforceMalformedRequest, match="INACTIVE_OWNER_OR_USER"):
        rep.Task.create({"WhatId": fake.add_opportunity("Probe"), "Subject": "x", "OwnerId": left})
    opp = fake.add_opportunity("Orphan", owner_id=left)
    follow = {"ledger:3": TaskSpec(subject="Promise slipped", body="tell the customer")}
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp], followups=follow)])[
        opp
    ]
    assert out.error is None and out.changes["task"] == "created"
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
    tasks = fake.tasks_of(opp)
    assert len(tasks) == 2 and {t["OwnerId"] for t in tasks} == {INTEGRATION_USER}
    assert {out.task_id, out.followups_created["ledger:3"]} == {t["Id"] for t in tasks}
    assert left in out.changes["task_owner"] and "inactive" in out.changes["task_owner"]
    # Remembered: the next task for that owner is not offered to them first.
    other = fake.add_opportunity("Orphan 2", owner_id=left)
    snap = connector.read_deals([other])[other]
    fake.reset_calls()
    out = connector.write_back([write(other, snap)])[other]
    assert out.error is None and fake.calls_by_kind() == {"composite": 1}
    [task] = fake.tasks_of(other)
    assert task["OwnerId"] == INTEGRATION_USER and "inactive" in out.changes["task_owner"]


def test_the_task_of_a_rep_who_left_since_is_reassigned_to_complete_it(connector, fake):
    """The task was the rep's, then the rep was deactivated: Salesforce refuses to save a
    record an inactive user owns, so completing it reassigns it to the integration user."""
    sam = fake.add_user("Sam Seller")
    opp = fake.add_opportunity("Deal", owner_id=sam)
    first = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert fake.tasks_of(opp)[0]["OwnerId"] == sam
    fake.set_user_active(sam, False)
    snap = connector.read_deals([opp])[opp]
    done = connector.write_back(
        [write(opp, snap, status=VerdictStatus.clear, task_open=False, task_id=first.task_id)]
    )[opp]
    assert done.error is None and done.changes["task"] == "completed"
    [task] = fake.tasks_of(opp)
    assert task["Id"] == first.task_id and task["IsClosed"]
    assert task["OwnerId"] == INTEGRATION_USER and "reassigned" in done.changes["task_owner"]
    assert fake.opportunity(opp)["Roadmap_Block__c"] is False


def test_an_id_that_is_no_salesforce_id_reads_as_gone_and_the_others_are_read(connector, fake):
    """One malformed id raised a PermanentError for the whole read, and the pipeline failed
    every deal of the batch (up to 200) for it. It names no opportunity: None, as a deal gone,
    under the id as given; the batch's other opportunities are read."""
    opp = fake.add_opportunity("Deal")
    snaps = connector.read_deals([opp, "not-an-id"])
    assert snaps["not-an-id"] is None
    assert snaps[opp] is not None and snaps[opp].name == "Deal"
