"""Review 7 of the Salesforce connector, from the rep's and the admin's side: what setup installs
and what is written and shown."""

from __future__ import annotations

import argparse
import logging

import pytest
from defusedxml.ElementTree import parse
from sqlmodel import Session, select

from app.connectors.base import CredentialsError
from app.connectors.salesforce import cli
from app.connectors.salesforce.connector import FieldNames
from app.connectors.salesforce.setup import BYPASS_PERMISSION, build_package, instructions
from app.jobs.types import Outcome
from app.models import DealQueue
from app.sandbox.salesforce import FakeSalesforce, FakeSalesforceServer, Fault
from tests.connectors.salesforce import test_e2e
from tests.connectors.salesforce.test_e2e import SEATS, SSO, notify

seeded = test_e2e.seeded  # the end-to-end fixtures: the service and its seeded roadmap
service = test_e2e.service

NS = {"m": "http://soap.sforce.com/2006/04/metadata"}
NAMES = FieldNames(
    "Roadmap_Check_Status__c",
    "Roadmap_Check_Summary__c",
    "Roadmap_Block__c",
    "Roadmap_Checked_At__c",
)


def _settings(srv: FakeSalesforceServer, sf_overrides: dict):
    from app.settings import Settings

    return Settings(_env_file=None).model_copy(
        update={
            **sf_overrides,
            "salesforce_instance_url": srv.instance_url,
            "salesforce_ca_bundle": srv.ca_bundle,
        }
    )


def _deploy_args(out):
    return argparse.Namespace(out=out, won_stage=[], deploy=True, check_only=False)


def test_integration_permission_set_grants_edit_tasks_not_task_object_permissions(
    tmp_path, sf_overrides, capsys
):
    """Tasks and events have no object permissions in Salesforce (Edit Tasks is a user
    permission): an objectPermissions entry for Task made the permission set, and with it the
    whole deployment, fail. The integration user gets Edit Tasks instead."""
    build_package(tmp_path / "pkg", NAMES, ["Closed Won"], "61.0")
    pset = parse(
        tmp_path / "pkg" / "permissionsets" / "Roadmap_Guard_Integration.permissionset"
    ).getroot()
    objects = [
        op.findtext("m:object", namespaces=NS) for op in pset.findall("m:objectPermissions", NS)
    ]
    assert objects == ["Opportunity"]
    users = {
        up.findtext("m:name", namespaces=NS): up.findtext("m:enabled", namespaces=NS)
        for up in pset.findall("m:userPermissions", NS)
    }
    assert users == {"EditTask": "true"}
    # The elements follow the PermissionSet schema's order: userPermissions come last.
    tags = [child.tag.split("}")[1] for child in pset]
    assert tags[-1] == "userPermissions" and tags.index("objectPermissions") < tags.index(
        "userPermissions"
    )

    with FakeSalesforceServer(
        FakeSalesforce(
            roadmap_fields_installed=False,
            validation_rule_active=False,
            notes_resource_installed=False,
        )
    ) as srv:
        assert (
            cli.run(_deploy_args(tmp_path / "deploy"), settings=_settings(srv, sf_overrides)) == 0
        )
        out = capsys.readouterr().out
        assert "Succeeded" in out
        assert srv.fake.validation_rule_active and srv.fake.permission_set_view_all


def test_reps_get_a_read_only_permission_set_for_the_roadmap_fields(
    tmp_path, sf_overrides, sf_settings, capsys
):
    """A custom field deployed through the Metadata API is visible to no profile until
    field-level security grants it: the rep never saw Roadmap Check Summary, which the
    validation rule's message tells them to read. Setup now ships a read-only permission set
    for the reps (a rep who could clear Roadmap Block could close the deal) and says to assign
    it and put the fields on the page layout."""
    build_package(tmp_path / "pkg", NAMES, ["Closed Won"], "61.0")
    path = tmp_path / "pkg" / "permissionsets" / "Roadmap_Guard_Sales_Read.permissionset"
    pset = parse(path).getroot()
    access = {
        fp.findtext("m:field", namespaces=NS): (
            fp.findtext("m:readable", namespaces=NS),
            fp.findtext("m:editable", namespaces=NS),
        )
        for fp in pset.findall("m:fieldPermissions", NS)
    }
    assert access == {f"Opportunity.{name}": ("true", "false") for name in NAMES.all()}
    # Only field access: no object, class or custom permission (no bypass for reps).
    assert {child.tag.split("}")[1] for child in pset} == {
        "description",
        "fieldPermissions",
        "hasActivationRequired",
        "label",
    }
    package = parse(tmp_path / "pkg" / "package.xml").getroot()
    types = {
        t.findtext("m:name", namespaces=NS): [m.text for m in t.findall("m:members", NS)]
        for t in package.findall("m:types", NS)
    }
    assert types["PermissionSet"] == ["Roadmap_Guard_Integration", "Roadmap_Guard_Sales_Read"]
    text = instructions(sf_settings, NAMES)
    assert "Roadmap Guard Sales Read" in text and "page layout" in text

    with FakeSalesforceServer(
        FakeSalesforce(
            roadmap_fields_installed=False,
            validation_rule_active=False,
            notes_resource_installed=False,
        )
    ) as srv:
        assert (
            cli.run(_deploy_args(tmp_path / "deploy"), settings=_settings(srv, sf_overrides)) == 0
        )
        assert "Succeeded" in capsys.readouterr().out
        assert srv.fake.permission_sets["Roadmap_Guard_Sales_Read"] == {
            f"Opportunity.{name}": (True, False) for name in NAMES.all()
        }
        # The integration set's grants are its own, not overwritten by the reps' set.
        assert srv.fake.permission_set_grants_bypass and srv.fake.permission_set_view_all


def _task_needs_a_due_date(old: dict, new: dict) -> str | None:
    return None if new.get("ActivityDate") else "Every task needs a due date"


def _task_needs_a_type(old: dict, new: dict) -> str | None:
    return None if new.get("Type") else "Every task needs a type"


@pytest.mark.slow
def test_a_task_rule_refusing_our_task_is_not_reported_as_an_unwritten_block(
    service, fake, engine, caplog
):
    """An org's Activity rule ("every task needs a type") refused roadmap-guard's task. The
    deal's error said an Opportunity rule had kept the roadmap fields and the block from being
    written, and sent the admin to the Opportunity rules, while the block was on the record.
    It now names the task, says the fields are not what was refused, and where the bypass
    clause goes."""
    client, worker = service
    fake.add_rule(_task_needs_a_type, sobject="Task")
    opp = fake.add_opportunity("Pilot", stage="Negotiation/Review", line_items=[SSO, SEATS])
    with caplog.at_level(logging.ERROR, logger="app.connectors.salesforce.connector"):
        notify(client, opp)
        worker.run_until_empty()
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True  # the fields did land
    with Session(engine) as s:
        error = s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one().last_error
    assert "a new roadmap task" in error and "Every task needs a type" in error
    assert "the block) were not written" not in error
    assert "separate write" in error
    assert f"NOT($Permission.{BYPASS_PERMISSION}) to that Task (or Activity) validation rule" in (
        error
    )
    assert any("a new roadmap task" in r.getMessage() for r in caplog.records)


def test_the_rule_message_tells_the_rep_to_wait_for_the_block_to_clear(tmp_path):
    """The validation rule's message told the rep to fix the deal "then move it to a won
    stage": a rep who had just edited the note and tried again was refused again, with nothing
    saying that roadmap-guard must re-check the deal first (a note edit is seen by
    reconciliation, minutes later). It now says to close it once Roadmap Block clears, within
    Salesforce's 255 characters for a rule message."""
    build_package(tmp_path, NAMES, ["Closed Won"], "61.0")
    obj = parse(tmp_path / "objects" / "Opportunity.object").getroot()
    message = obj.find("m:validationRules/m:errorMessage", NS).text
    assert len(message) <= 255
    assert "Roadmap Check Summary" in message  # where to read why
    assert "once Roadmap Block clears" in message and "minutes" in message
    assert "then move it to a won stage" not in message


@pytest.mark.parametrize(
    ("kind", "fix"),
    [("api_disabled", "API Enabled permission"), ("org_api_disabled", "edition has no API access")],
)
def test_api_access_refused_holds_the_deals_and_says_what_to_change(connector, fake, kind, fix):
    """403 API_CURRENTLY_DISABLED ("API is disabled for this User": the integration user's
    profile lost API Enabled) or API_DISABLED_FOR_ORG refuses every call, whatever the deal. It
    was a PermanentError: every deal in flight went dead, to be replayed one by one once the
    admin fixed it. It is the org's configuration: held like refused credentials, with the fix."""
    opp = fake.add_opportunity("Deal")
    fake.faults.append(Fault(kind, remaining=100))
    with pytest.raises(CredentialsError) as info:
        connector.read_deals([opp])
    assert info.value.hold and fix in str(info.value)
    assert Outcome.from_exception(info.value).kind == "retry"
    fake.faults.clear()  # the admin fixes it: the held deals go through by themselves
    assert connector.read_deals([opp])[opp].deal_id == opp


def test_a_failing_apex_test_is_named_when_the_deploy_fails(tmp_path, sf_overrides, capsys):
    """`setup salesforce --deploy` runs RoadmapGuardNotesTest; in an org whose own rule or
    trigger refuses the test's note, the test fails and so does the whole deploy. The admin
    read "deployment ...: Failed" and nothing else: only component failures were printed, and
    Salesforce reports a failed test apart from them (runTestResult). It is now printed."""
    with FakeSalesforceServer(
        FakeSalesforce(
            roadmap_fields_installed=False,
            validation_rule_active=False,
            notes_resource_installed=False,
        )
    ) as srv:
        srv.fake.apex_test_failures.append(
            (
                "RoadmapGuardNotesTest",
                "returnsTheFullBodyOfLongNotes",
                "System.DmlException: Insert failed. First exception on row 0; first error: "
                "FIELD_CUSTOM_VALIDATION_EXCEPTION, Notes need a category: []",
            )
        )
        assert (
            cli.run(_deploy_args(tmp_path / "deploy"), settings=_settings(srv, sf_overrides)) == 1
        )
        captured = capsys.readouterr()
        assert "Failed" in captured.out
        assert (
            "Apex test RoadmapGuardNotesTest.returnsTheFullBodyOfLongNotes failed: "
            "System.DmlException" in captured.err
        )
        assert "Notes need a category" in captured.err


def test_checked_at_and_block_say_what_they_mean_to_the_rep(tmp_path):
    """Roadmap Checked At moves only when roadmap-guard changes what the record shows; with no
    help text a rep read a weeks-old date as a deal nobody had checked since. Roadmap Block had
    no help either. Both now carry inline help (at most 510 characters)."""
    build_package(tmp_path, NAMES, ["Closed Won"], "61.0")
    obj = parse(tmp_path / "objects" / "Opportunity.object").getroot()
    help_text = {
        f.findtext("m:fullName", namespaces=NS): f.findtext("m:inlineHelpText", namespaces=NS)
        for f in obj.findall("m:fields", NS)
    }
    checked = help_text["Roadmap_Checked_At__c"]
    assert checked and "finds nothing new leaves this date" in checked and len(checked) <= 510
    block = help_text["Roadmap_Block__c"]
    assert block and "won stage" in block and "Only roadmap-guard" in block and len(block) <= 510
    # The schema's element order: inlineHelpText between description and label.
    for f in obj.findall("m:fields", NS):
        tags = [child.tag.split("}")[1] for child in f]
        if "inlineHelpText" in tags:
            assert tags.index("description") < tags.index("inlineHelpText") < tags.index("label")


def test_a_short_summary_field_gets_a_cut_summary_and_the_block_still_lands(
    connector, fake, caplog
):
    """SALESFORCE_SUMMARY_FIELD may name an org's own field, e.g. a Text(255). A longer summary
    made Salesforce refuse the whole opportunity update (STRING_TOO_LONG), so the block never
    landed and the deal could be won; the deal went dead, as did every deal with a long
    summary. The summary is now cut to the length Salesforce states and the update sent again;
    the length is remembered, so the next write fits at once and compares equal."""
    from dataclasses import replace

    from tests.connectors.salesforce.test_connector import write

    fake.text_limits[("Opportunity", "Roadmap_Check_Summary__c")] = 255
    opp = fake.add_opportunity("Deal")
    long_summary = "Blocked by the roadmap check: " + "Single Sign-On, " * 40 + "and more."
    item = replace(write(opp, connector.read_deals([opp])[opp]), summary=long_summary)
    with caplog.at_level(logging.WARNING, logger="app.connectors.salesforce.connector"):
        out = connector.write_back([item])[opp]
    assert out.error is None, out.error
    record = fake.opportunity(opp)
    assert record["Roadmap_Block__c"] is True
    assert record["Roadmap_Check_Status__c"] == "blocked"
    shown = record["Roadmap_Check_Summary__c"]
    assert len(shown) <= 255 and shown.endswith("\u2026")
    assert long_summary.startswith(shown[:-1])
    assert out.written["fields"]["summary"] == shown  # what is there, not what was asked
    assert any("at most 255 characters" in r.getMessage() for r in caplog.records)
    # The next evaluation with the same verdict finds nothing to change: no write loop.
    calls = len(fake.calls)
    again = replace(write(opp, connector.read_deals([opp])[opp]), summary=long_summary)
    out = connector.write_back([again])[opp]
    assert out.error is None and "fields" not in out.changes
    assert len(fake.calls) == calls + 1  # the read only


def test_an_org_without_enhanced_notes_gets_its_fields_and_rule_deployed(
    tmp_path, sf_overrides, capsys
):
    """An org with enhanced Notes turned off has no ContentNote type (the connector reads such
    orgs from their classic notes). The package's notes Apex class does not compile there, and
    one failed component fails the whole deploy: the fields, the validation rule and the
    permission sets were never installed, and setup could not be completed. Setup now finds
    the missing type and leaves the class (and its test run) out."""
    from tests.fakes.salesforce import without_enhanced_notes

    org = FakeSalesforce(
        roadmap_fields_installed=False, validation_rule_active=False, notes_resource_installed=False
    )
    without_enhanced_notes(org)
    with FakeSalesforceServer(org) as srv:
        out_dir = tmp_path / "deploy"
        assert cli.run(_deploy_args(out_dir), settings=_settings(srv, sf_overrides)) == 0
        out = capsys.readouterr().out
        assert "no enhanced Notes" in out and "Succeeded" in out
        assert srv.fake.validation_rule_active and "Roadmap_Block__c" in srv.fake.custom_fields
        assert "skipped    Apex REST roadmapguard/notes" in out
    assert not (out_dir / "classes").exists()
    package = (out_dir / "package.xml").read_text()
    assert "ApexClass" not in package and "RoadmapGuardNotes" not in package
    pset = (out_dir / "permissionsets" / "Roadmap_Guard_Integration.permissionset").read_text()
    assert "classAccesses" not in pset


def test_without_notes_class_flag_leaves_the_class_out_without_credentials(tmp_path, capsys):
    from app.settings import Settings

    ns = argparse.Namespace(
        out=tmp_path / "pkg",
        won_stage=["Closed Won"],
        deploy=False,
        check_only=False,
        without_notes_class=True,
    )
    assert cli.run(ns, settings=Settings(_env_file=None)) == 0
    assert not (tmp_path / "pkg" / "classes").exists()
    # With the class (the default) the package still carries it.
    build_package(tmp_path / "full", NAMES, ["Closed Won"], "61.0")
    assert (tmp_path / "full" / "classes" / "RoadmapGuardNotes.cls").exists()


def test_an_opportunity_locked_by_an_approval_is_written_once_unlocked(connector, fake):
    """An approval process locks the opportunity, and Salesforce refuses roadmap-guard's update
    with ENTITY_IS_LOCKED. It was a PermanentError: the deal went dead while the approval ran,
    and after it the block was never written, so the deal could be won. It is now held (no
    attempt spent) and retried until the record is unlocked; the task, a record of its own,
    is created meanwhile and not again."""
    from tests.connectors.salesforce.test_connector import write

    opp = fake.add_opportunity("Discounted deal")
    fake.locked_records.add(opp)
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert out.error is not None and out.error.hold, out.error
    assert Outcome.from_exception(out.error).kind == "retry"
    assert "locked" in str(out.error) and "once it is unlocked" in str(out.error)
    assert out.error.retry_after >= 1800
    assert fake.opportunity(opp).get("Roadmap_Block__c") is not True
    task_id = out.task_id
    assert task_id  # the task is its own record: created
    fake.locked_records.clear()  # the approval ends
    retry = write(opp, connector.read_deals([opp])[opp], task_id=task_id)
    out = connector.write_back([retry])[opp]
    assert out.error is None and fake.opportunity(opp)["Roadmap_Block__c"] is True
    tasks = [t for t in fake.store["Task"].values() if t.get("WhatId") == opp]
    assert len(tasks) == 1


def test_a_private_deal_is_written_not_only_read(connector, fake, caplog):
    """Edit respects sharing. With a private Opportunity sharing model, the permission set's
    View All Records let the integration user read a rep's deal, but Salesforce refused the
    update of the roadmap fields (INSUFFICIENT_ACCESS_OR_READONLY): the block never landed, so
    the deal could be won, and the deal went dead with a bare "insufficient access rights".
    The permission set now grants Modify All Records; without it the deal is held with the fix
    named."""
    from tests.connectors.salesforce.test_connector import write

    opp = fake.add_opportunity("Private deal")
    fake.private_opportunities.add(opp)
    fake.assign_permission_set(connector.integration_user_id)
    fake.permission_set_modify_all = False  # the permission set as it was: View All only
    with caplog.at_level(logging.ERROR, logger="app.connectors.salesforce.connector"):
        out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert isinstance(out.error, CredentialsError) and out.error.hold, out.error
    text = str(out.error)
    assert "Modify All Records" in text and "Roadmap_Guard_Integration" in text
    assert fake.opportunity(opp).get("Roadmap_Block__c") is not True
    assert any("may read it but not edit it" in r.getMessage() for r in caplog.records)


def test_the_deployed_permission_set_lets_the_integration_user_write_private_deals(
    tmp_path, sf_overrides, capsys
):
    """Deployed as setup writes it and assigned, the permission set lets roadmap-guard write
    the block on a rep's private deal, and on one an approval process has locked."""
    from app.connectors.salesforce import SalesforceConnector
    from app.sandbox.salesforce import INTEGRATION_USER
    from tests.connectors.salesforce.test_connector import write

    with FakeSalesforceServer(
        FakeSalesforce(
            roadmap_fields_installed=False,
            validation_rule_active=False,
            notes_resource_installed=False,
        )
    ) as srv:
        settings = _settings(srv, sf_overrides)
        assert cli.run(_deploy_args(tmp_path / "deploy"), settings=settings) == 0
        capsys.readouterr()
        fake = srv.fake
        fake.assign_permission_set(INTEGRATION_USER)
        private = fake.add_opportunity("Private deal")
        fake.private_opportunities.add(private)
        locked = fake.add_opportunity("Locked deal")
        fake.locked_records.add(locked)
        connector = SalesforceConnector.from_settings(settings)
        snaps = connector.read_deals([private, locked])
        outs = connector.write_back([write(private, snaps[private]), write(locked, snaps[locked])])
        assert outs[private].error is None and outs[locked].error is None
        assert fake.opportunity(private)["Roadmap_Block__c"] is True
        assert fake.opportunity(locked)["Roadmap_Block__c"] is True


def test_a_held_locked_write_posts_its_findings_note_once(connector, fake):
    """While an approval lock holds the write, each retry carries the verdict's note again; the
    retry (a write whose start was recorded and not finished) finds the note the first attempt
    posted and does not post it twice."""
    from dataclasses import replace
    from datetime import UTC, datetime, timedelta

    from tests.connectors.salesforce.test_connector import write

    opp = fake.add_opportunity("Discounted deal")
    fake.locked_records.add(opp)
    started = datetime.now(UTC) - timedelta(seconds=5)
    first = replace(
        write(opp, connector.read_deals([opp])[opp], note="Now blocked: SSO"),
        unconfirmed_since=started,
    )
    out = connector.write_back([first])[opp]
    assert out.error is not None and out.error.hold
    fake.locked_records.clear()
    retry = replace(
        write(opp, connector.read_deals([opp])[opp], note="Now blocked: SSO", task_id=out.task_id),
        unconfirmed_since=started,
    )
    out = connector.write_back([retry])[opp]
    assert out.error is None and fake.opportunity(opp)["Roadmap_Block__c"] is True
    notes = [n for n in fake.store["Note"].values() if n.get("ParentId") == opp]
    assert len([n for n in notes if n["Title"].startswith("[roadmap-guard]")]) == 1


def test_a_task_field_the_integration_user_cannot_set_is_named_as_a_task_field(connector, fake):
    """Field-level security on Task.Description (the integration user's profile hides it)
    refused the roadmap task with INVALID_FIELD_FOR_INSERT_UPDATE, and the deal's error said
    "the integration user cannot edit a roadmap field", sending the admin to the opportunity's
    fields, which had been written. It now names the Task field and says the fields are apart."""
    from tests.connectors.salesforce.test_connector import write

    opp = fake.add_opportunity("Deal")
    fake.unwritable_fields = {"Description"}
    out = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert isinstance(out.error, CredentialsError) and out.error.hold
    text = str(out.error)
    assert "Task.Description" in text and "roadmap task" in text
    assert "cannot edit a roadmap field" not in text
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True


@pytest.mark.slow
def test_our_new_task_is_due_tomorrow_and_passes_a_due_date_rule(service, fake, engine):
    """Our tasks carried no due date: they never showed in a rep's Today or Overdue list, and
    an org's common "every task needs a due date" rule refused them (HubSpot's are due the next
    day). A new task is due tomorrow; an update keeps the date it has."""
    from datetime import UTC, datetime, timedelta

    client, worker = service
    fake.add_rule(_task_needs_a_due_date, sobject="Task")
    opp = fake.add_opportunity("Pilot", stage="Negotiation/Review", line_items=[SSO, SEATS])
    notify(client, opp)
    worker.run_until_empty()
    with Session(engine) as s:
        row = s.exec(select(DealQueue).where(DealQueue.deal_id == opp)).one()
        assert row.status == "done", row.last_error
    [task] = fake.tasks_of(opp)
    assert task["ActivityDate"] == (datetime.now(UTC) + timedelta(days=1)).date().isoformat()


def test_a_summary_cut_for_a_short_field_ends_at_a_whole_word(connector, fake):
    """The summary cut for an org's Text(255) summary field stopped at the 254th character,
    inside a word ("... SCIM provisi\u2026"); it stops at the word before, as the summary cut
    for HubSpot does."""
    from dataclasses import replace

    from tests.connectors.salesforce.test_connector import write

    fake.text_limits[("Opportunity", "Roadmap_Check_Summary__c")] = 255
    opp = fake.add_opportunity("Deal")
    long_summary = "Blocked: " + "SCIM provisioning promised, " * 12
    item = replace(write(opp, connector.read_deals([opp])[opp]), summary=long_summary)
    out = connector.write_back([item])[opp]
    assert out.error is None, out.error
    shown = fake.opportunity(opp)["Roadmap_Check_Summary__c"]
    assert len(shown) <= 255 and shown.endswith("\u2026")
    kept = shown[:-1]
    assert long_summary.startswith(kept) and long_summary[len(kept)] in " ,"
