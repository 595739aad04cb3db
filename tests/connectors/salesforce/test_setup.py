"""`setup salesforce`: the metadata package, deployment through the Metadata API, access check;
and the reconciliation schedule."""

from __future__ import annotations

import argparse
import zipfile

from defusedxml.ElementTree import parse
from pydantic import SecretStr
from sqlmodel import Session, select

from app.connectors.salesforce import cli
from app.connectors.salesforce.connector import FieldNames
from app.connectors.salesforce.setup import build_package, rule_formula, zip_package
from app.jobs.schedules import JobContext, load_schedules
from app.models import DealQueue
from app.sandbox.salesforce import INTEGRATION_USER, FakeSalesforce, FakeSalesforceServer

NS = {"m": "http://soap.sforce.com/2006/04/metadata"}
NAMES = FieldNames(
    "Roadmap_Check_Status__c",
    "Roadmap_Check_Summary__c",
    "Roadmap_Block__c",
    "Roadmap_Checked_At__c",
)


def args(out, *, won=(), deploy=False):
    return argparse.Namespace(out=out, won_stage=list(won), deploy=deploy, check_only=False)


def test_package_has_fields_rule_and_package_xml(tmp_path):
    build_package(tmp_path, NAMES, ["Closed Won", 'Won "big"'], "61.0")
    obj = parse(tmp_path / "objects" / "Opportunity.object").getroot()
    fields = {
        f.findtext("m:fullName", namespaces=NS): f.findtext("m:type", namespaces=NS)
        for f in obj.findall("m:fields", NS)
    }
    assert fields == {
        "Roadmap_Check_Status__c": "Picklist",
        "Roadmap_Check_Summary__c": "LongTextArea",
        "Roadmap_Block__c": "Checkbox",
        "Roadmap_Checked_At__c": "DateTime",
    }
    # Field history tracking is capped per object: a full Opportunity limit would fail deploy.
    assert {f.findtext("m:trackHistory", namespaces=NS) for f in obj.findall("m:fields", NS)} == {
        "false"
    }
    formula = obj.find("m:validationRules/m:errorConditionFormula", NS).text
    assert (
        formula
        == 'AND(ISCHANGED(StageName), OR(ISPICKVAL(StageName, "Closed Won"), ISPICKVAL(StageName, "Won \\"big\\"")), Roadmap_Block__c)'
    )
    assert "Roadmap Guard" in obj.find("m:validationRules/m:errorMessage", NS).text
    members = [
        m.text for m in parse(tmp_path / "package.xml").getroot().iter(f"{{{NS['m']}}}members")
    ]
    assert (
        "Opportunity.Roadmap_Block__c" in members
        and "Opportunity.Roadmap_Guard_Block_Closed_Won" in members
    )
    with zipfile.ZipFile(zip_package(tmp_path, tmp_path.parent / "p.zip")) as zf:
        assert "package.xml" in zf.namelist() and "objects/Opportunity.object" in zf.namelist()
    assert (
        rule_formula(["Closed Won"], "X__c")
        == 'AND(ISCHANGED(StageName), ISPICKVAL(StageName, "Closed Won"), X__c)'
    )


def test_package_has_the_notes_apex_resource_its_test_and_class_access(tmp_path):
    files = build_package(tmp_path, NAMES, ["Closed Won"], "61.0")
    classes = tmp_path / "classes"
    assert {p.name for p in files if p.parent == classes} == {
        "RoadmapGuardNotes.cls",
        "RoadmapGuardNotes.cls-meta.xml",
        "RoadmapGuardNotesTest.cls",
        "RoadmapGuardNotesTest.cls-meta.xml",
    }
    package = parse(tmp_path / "package.xml").getroot()
    apex = next(
        t
        for t in package.findall("m:types", NS)
        if t.findtext("m:name", namespaces=NS) == "ApexClass"
    )
    assert [m.text for m in apex.findall("m:members", NS)] == [
        "RoadmapGuardNotes",
        "RoadmapGuardNotesTest",
    ]
    assert package.findtext("m:version", namespaces=NS) == "61.0"
    for name in ("RoadmapGuardNotes", "RoadmapGuardNotesTest"):
        meta = parse(classes / f"{name}.cls-meta.xml").getroot()
        assert meta.tag == f"{{{NS['m']}}}ApexClass"
        assert meta.findtext("m:apiVersion", namespaces=NS) == "61.0"  # the pinned API version
        assert meta.findtext("m:status", namespaces=NS) == "Active"
    source = (classes / "RoadmapGuardNotes.cls").read_text()
    assert "@RestResource(urlMapping='/roadmapguard/notes')" in source
    assert "global with sharing class RoadmapGuardNotes" in source
    assert "@HttpPost" in source and "global static List<NoteBody> bodies(List<Id> ids)" in source
    assert "WITH USER_MODE" in source and "note.Content.toString()" in source
    assert "MAX_IDS = 200" in source  # the connector's NOTE_BODY_BATCH
    test = (classes / "RoadmapGuardNotesTest.cls").read_text()
    assert test.startswith("@IsTest") and "insert note;" in test
    assert "RoadmapGuardNotes.bodies(ids)" in test and "statusCode" in test
    perms = parse(tmp_path / "permissionsets" / "Roadmap_Guard_Integration.permissionset").getroot()
    access = perms.find("m:classAccesses", NS)
    assert access.findtext("m:apexClass", namespaces=NS) == "RoadmapGuardNotes"
    assert access.findtext("m:enabled", namespaces=NS) == "true"
    with zipfile.ZipFile(zip_package(tmp_path, tmp_path.parent / "p.zip")) as zf:
        assert "classes/RoadmapGuardNotes.cls" in zf.namelist()


def test_without_credentials_won_stages_must_be_given(tmp_path, capsys):
    from app.settings import Settings

    settings = Settings(_env_file=None)
    assert cli.run(args(tmp_path / "pkg"), settings=settings) == 2
    assert cli.run(args(tmp_path / "pkg", won=["Closed Won"]), settings=settings) == 0
    out = capsys.readouterr().out
    assert (
        "Outbound Message" in out
        and "/webhooks/salesforce/outbound?token=<SALESFORCE_OUTBOUND_TOKEN>" in out
    )


def test_setup_reads_won_stages_deploys_and_checks_access(tmp_path, sf_overrides, capsys):
    from app.settings import Settings

    # A fresh org without our fields: the integration user cannot see them yet.
    with FakeSalesforceServer(
        FakeSalesforce(
            roadmap_fields_installed=False,
            validation_rule_active=False,
            notes_resource_installed=False,
        )
    ) as srv:
        overrides = {
            **sf_overrides,
            "salesforce_instance_url": srv.instance_url,
            "salesforce_ca_bundle": srv.ca_bundle,
        }
        settings = Settings(_env_file=None).model_copy(update=overrides)
        assert cli.run(args(tmp_path / "a"), settings=settings) == 1
        out = capsys.readouterr().out
        # Access is checked for whoever the credentials log in as, and setup says who that is.
        assert (
            f"field access checked as rg@example.com (Roadmap Guard Integration, {INTEGRATION_USER})"
            in out
        )
        assert "missing    Roadmap_Block__c: not visible to rg@example.com" in out
        assert "missing    Apex REST roadmapguard/notes: not callable by rg@example.com" in out
        assert "warning" not in out
        rep_settings = settings.model_copy(
            update={"salesforce_access_token": SecretStr("rep-token")}
        )
        assert cli.run(args(tmp_path / "r"), settings=rep_settings) == 1
        out = capsys.readouterr().out
        assert "field access checked as riley@example.com" in out
        assert "warning: SALESFORCE_INTEGRATION_USER_ID" in out
        assert cli.run(args(tmp_path / "b", deploy=True), settings=settings) == 0
        out = capsys.readouterr().out
        assert "Succeeded" in out and "ok         Roadmap_Block__c" in out
        assert 'ISPICKVAL(StageName, "Signed - Booked")' in out  # read from the org's IsWon stages
        assert srv.fake.validation_rule_active and "Roadmap_Block__c" in srv.fake.custom_fields
        # The notes Apex class went in with its own test (RunSpecifiedTests) and answers.
        assert srv.fake.notes_resource_installed
        assert "ok         Apex REST roadmapguard/notes: long notes are read in batches" in out
        srv.fake.unwritable_fields.add("Roadmap_Block__c")
        assert cli.run(args(tmp_path / "c"), settings=settings) == 1
        assert "read-only  Roadmap_Block__c" in capsys.readouterr().out


def test_reconcile_schedule_queues_changes_and_moves_its_cursor(
    engine, connector, fake, sf_settings
):
    schedule = load_schedules()["salesforce_reconcile"]
    assert schedule.enabled(sf_settings, {"salesforce": connector})
    a = fake.add_opportunity("A")
    ctx = JobContext(engine=engine, settings=sf_settings, connectors={"salesforce": connector})
    state = schedule.run(ctx)
    assert state["last_queued"] == 1 and state["since"]
    with Session(engine) as s:
        row = s.exec(select(DealQueue)).one()
        assert (row.deal_id, row.reason) == (a, "reconcile")


def test_check_only_without_deploy_is_refused_naming_deploy(tmp_path, capsys, monkeypatch):
    """--check-only only changes how --deploy deploys: alone it was silently ignored, and the
    README read it as "check the fields"."""
    import pytest

    from app.cli import main

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["setup", "salesforce", "--won-stage", "Closed Won", "--check-only"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--check-only needs --deploy" in err
    assert not (tmp_path / "salesforce-metadata").exists()  # nothing written
