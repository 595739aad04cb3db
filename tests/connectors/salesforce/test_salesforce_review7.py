"""Review 7 of the Salesforce connector, from the rep's and the admin's side: what setup installs
and what is written and shown."""

from __future__ import annotations

import argparse

from defusedxml.ElementTree import parse

from app.connectors.salesforce import cli
from app.connectors.salesforce.connector import FieldNames
from app.connectors.salesforce.setup import build_package, instructions
from app.sandbox.salesforce import FakeSalesforce, FakeSalesforceServer

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
