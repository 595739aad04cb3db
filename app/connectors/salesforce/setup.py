"""What a Salesforce org needs: the fields, the validation rule, access for the integration user.

`build_package` writes a Metadata API (mdapi) folder, deployable as is with `sf project deploy
start --metadata-dir <dir>` or with `setup salesforce --deploy` (Metadata API through
simple-salesforce):

    package.xml
    objects/Opportunity.object        the four CustomFields and the ValidationRule
    customPermissions/Roadmap_Guard_Bypass_Validation.customPermission   for the org's other
                                      validation rules: NOT($Permission.<it>) lets our write pass
    permissionsets/Roadmap_Guard_Integration.permissionset   read/edit on the four fields,
                                      access to the RoadmapGuardNotes Apex class, the bypass,
                                      Edit Tasks
    permissionsets/Roadmap_Guard_Sales_Read.permissionset   for the reps and their managers:
                                      read-only on the four fields (a field deployed through
                                      the Metadata API is visible to no profile until granted)
    classes/RoadmapGuardNotes.cls     Apex REST POST /services/apexrest/roadmapguard/notes:
                                      full ContentNote bodies for a list of ids, so long
                                      enhanced notes cost one call per batch, not one each
    classes/RoadmapGuardNotesTest.cls its test (production deploys need 75% coverage); `--deploy`
                                      runs only this test (RunSpecifiedTests)

The validation rule is the block itself: `AND(ISCHANGED(StageName), <won stage>,
Roadmap_Block__c)`; the won stages come from the org's OpportunityStage (IsWon) or from the
command line, never from a hard-coded "Closed Won".
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from app.connectors.salesforce.connector import BYPASS_PERMISSION as CONNECTOR_BYPASS_PERMISSION
from app.connectors.salesforce.connector import (
    NOTE_BODY_BATCH,
    NOTES_RESOURCE,
    PERMISSION_SET_NAME,
    FieldNames,
)
from app.settings import Settings

MD_NS = "http://soap.sforce.com/2006/04/metadata"
RULE_NAME = "Roadmap_Guard_Block_Closed_Won"
PERMISSION_SET = PERMISSION_SET_NAME
# Granted by the permission set: the org's OTHER Opportunity validation rules should add
# `NOT($Permission.Roadmap_Guard_Bypass_Validation)` so they never refuse our field write
# (a refused write leaves the block unwritten, and the deal can then be won).
BYPASS_PERMISSION = CONNECTOR_BYPASS_PERMISSION
BYPASS_CLAUSE = f"NOT($Permission.{BYPASS_PERMISSION})"
# What the rep reads when a won stage is refused (Salesforce allows 255 characters). The block
# is lifted by roadmap-guard's re-check after the fix, not by the fix itself: told to "then move
# it to a won stage", a rep who had just edited the note was refused again with nothing saying
# why, and a note edit is seen by reconciliation, minutes later.
ERROR_MESSAGE = (
    "Roadmap Guard: this deal depends on roadmap features that are not available. Read Roadmap "
    "Check Summary and the roadmap task. Fix the products or notes, or get a product approval; "
    "once Roadmap Block clears (usually within minutes), close it again."
)
# (object, create, Modify All Records) with read and edit: the connector reads and updates every
# opportunity, whatever the org's sharing. Modify All, not only View All: Edit respects sharing,
# so with a private Opportunity sharing model View All let it read a rep's deal but Salesforce
# refused the write of the block (INSUFFICIENT_ACCESS_OR_READONLY) and the deal could be won.
# Modify All also lets it write an opportunity an approval process has locked. Salesforce makes
# Modify All require Read, Edit, Delete and View All: the connector never deletes anything.
# Tasks and events have no object permissions in Salesforce (a permission set's Object Settings
# do not list them): creating and editing its Tasks takes the Edit Tasks user permission
# (USER_PERMISSIONS), and reading them follows the opportunity they are related to. An
# objectPermissions entry for Task made the whole deploy fail. The classic Notes it creates have
# no object permission of their own either (access follows the parent opportunity); enhanced
# notes (ContentNote) it only reads.
OBJECT_PERMISSIONS = (("Opportunity", False, True),)  # (object, create, modify all)
USER_PERMISSIONS = ("EditTask",)
# For the reps (and anyone who works opportunities): read-only access to the four fields. Since
# Metadata API version 31 a deployed custom field is visible to no profile until field-level
# security grants it: without this the rep never saw Roadmap Check Summary, which the validation
# rule's message tells them to read. Read-only: a rep who could clear Roadmap Block could close.
SALES_PERMISSION_SET = "Roadmap_Guard_Sales_Read"
STATUS_VALUES = ("clear", "warning", "blocked")
# What a rep reads behind the field's (i) (inlineHelpText, at most 510 characters). Roadmap
# Checked At moves only when the verdict, summary or block changes (each write moves the
# opportunity's LastModifiedDate): read as "last checked", a date weeks old looked like a deal
# roadmap-guard had stopped checking.
CHECKED_AT_HELP = (
    "When roadmap-guard last changed the roadmap status, summary or block on this opportunity. "
    "It re-checks on every change to the deal and whenever the roadmap changes; a re-check that "
    "finds nothing new leaves this date as it is."
)
BLOCK_HELP = (
    "Checked while this deal depends on roadmap features that cannot be promised: it cannot be "
    "moved to a won stage. Only roadmap-guard sets or clears it, after it re-checks the deal; "
    "read Roadmap Check Summary for why."
)
NOTES_CLASS = "RoadmapGuardNotes"
NOTES_TEST_CLASS = "RoadmapGuardNotesTest"
APEX_TESTS = [NOTES_TEST_CLASS]  # RunSpecifiedTests: the org's other tests are not ours to run


def notes_class_apex() -> str:
    """Apex REST resource: the full text of enhanced notes, many per call.

    REST cannot do this in bulk: a query answers ContentNote.Content with its blob URL, sObject
    Blob Get serves one body per call, and Composite carries neither Blob Get nor Apex REST."""
    return f"""/**
 * roadmap-guard: full bodies of enhanced notes (ContentNote), many per call.
 * POST /services/apexrest/{NOTES_RESOURCE}  {{"ids": ["069...", ...]}}  (at most {NOTE_BODY_BATCH})
 * -> [{{"noteId": "069...", "versionId": "068...", "content": "<p>...</p>"}}, ...]
 * Runs with sharing and in user mode: it answers only notes the calling user can read.
 */
@RestResource(urlMapping='/{NOTES_RESOURCE}')
global with sharing class {NOTES_CLASS} {{
    public static final Integer MAX_IDS = {NOTE_BODY_BATCH};

    global class NoteBody {{
        public Id noteId;
        public Id versionId;
        public String content;
    }}

    @HttpPost
    global static List<NoteBody> bodies(List<Id> ids) {{
        List<NoteBody> result = new List<NoteBody>();
        if (ids == null || ids.isEmpty()) {{
            return result;
        }}
        if (ids.size() > MAX_IDS) {{
            RestContext.response.statusCode = 400;
            return result;
        }}
        for (ContentNote note : [
            SELECT Id, LatestPublishedVersionId, Content
            FROM ContentNote
            WHERE Id IN :ids
            WITH USER_MODE
        ]) {{
            NoteBody body = new NoteBody();
            body.noteId = note.Id;
            body.versionId = note.LatestPublishedVersionId;
            body.content = note.Content == null ? '' : note.Content.toString();
            result.add(body);
        }}
        return result;
    }}
}}
"""


def notes_test_apex() -> str:
    return f"""@IsTest
private class {NOTES_TEST_CLASS} {{
    private static List<{NOTES_CLASS}.NoteBody> post(List<Id> ids) {{
        RestRequest req = new RestRequest();
        req.requestURI = '/services/apexrest/{NOTES_RESOURCE}';
        req.httpMethod = 'POST';
        RestContext.request = req;
        RestContext.response = new RestResponse();
        return {NOTES_CLASS}.bodies(ids);
    }}

    @IsTest
    static void returnsTheFullBodyOfLongNotes() {{
        String text = 'We committed to SSO for the pilot. '.repeat(20);
        ContentNote note = new ContentNote(Title = 'Call notes', Content = Blob.valueOf(text));
        insert note;
        Test.startTest();
        List<{NOTES_CLASS}.NoteBody> bodies = post(new List<Id>{{ note.Id }});
        Test.stopTest();
        System.assertEquals(1, bodies.size());
        System.assertEquals(note.Id, bodies[0].noteId);
        System.assertNotEquals(null, bodies[0].versionId);
        System.assert(bodies[0].content.length() > 255, 'the body, not the 255-character preview');
        System.assert(bodies[0].content.contains('committed to SSO'));
    }}

    @IsTest
    static void emptyAndTooManyIds() {{
        System.assertEquals(0, post(new List<Id>()).size());
        System.assertEquals(0, post(null).size());
        List<Id> many = new List<Id>();
        for (Integer i = 0; i <= {NOTES_CLASS}.MAX_IDS; i++) {{
            many.add(UserInfo.getUserId());
        }}
        System.assertEquals(0, post(many).size());
        System.assertEquals(400, RestContext.response.statusCode);
    }}
}}
"""


def apex_meta_xml(api_version: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ApexClass xmlns="{MD_NS}">
    <apiVersion>{api_version}</apiVersion>
    <status>Active</status>
</ApexClass>
"""


def won_stage_formula(won_stages: Sequence[str]) -> str:
    if not won_stages:
        raise ValueError("at least one won stage is needed for the validation rule")

    def pick(stage: str) -> str:
        return f'ISPICKVAL(StageName, "{stage.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}")'

    parts = [pick(s) for s in won_stages]
    return parts[0] if len(parts) == 1 else f"OR({', '.join(parts)})"


def rule_formula(won_stages: Sequence[str], block_field: str) -> str:
    return f"AND(ISCHANGED(StageName), {won_stage_formula(won_stages)}, {block_field})"


def _field_xml(names: FieldNames) -> str:
    values = "".join(
        f"<value><fullName>{v}</fullName><default>false</default><label>{v}</label></value>"
        for v in STATUS_VALUES
    )
    return f"""
    <fields>
        <fullName>{names.status}</fullName>
        <description>Roadmap check verdict written by roadmap-guard.</description>
        <inlineHelpText>clear: sell as is; warning: read the summary; blocked: cannot be won yet.</inlineHelpText>
        <label>Roadmap Check Status</label>
        <required>false</required>
        <trackHistory>false</trackHistory>
        <type>Picklist</type>
        <valueSet>
            <restricted>true</restricted>
            <valueSetDefinition><sorted>false</sorted>{values}</valueSetDefinition>
        </valueSet>
    </fields>
    <fields>
        <fullName>{names.summary}</fullName>
        <description>The top roadmap findings in plain language, written by roadmap-guard.</description>
        <label>Roadmap Check Summary</label>
        <length>4000</length>
        <trackHistory>false</trackHistory>
        <type>LongTextArea</type>
        <visibleLines>5</visibleLines>
    </fields>
    <fields>
        <fullName>{names.block}</fullName>
        <defaultValue>false</defaultValue>
        <description>Set by roadmap-guard while the deal depends on features that cannot be promised; the validation rule {RULE_NAME} refuses won stages while it is set.</description>
        <inlineHelpText>{escape(BLOCK_HELP)}</inlineHelpText>
        <label>Roadmap Block</label>
        <trackHistory>false</trackHistory>
        <type>Checkbox</type>
    </fields>
    <fields>
        <fullName>{names.checked_at}</fullName>
        <description>When roadmap-guard last changed this record's roadmap fields.</description>
        <inlineHelpText>{escape(CHECKED_AT_HELP)}</inlineHelpText>
        <label>Roadmap Checked At</label>
        <required>false</required>
        <trackHistory>false</trackHistory>
        <type>DateTime</type>
    </fields>"""


def object_xml(names: FieldNames, won_stages: Sequence[str]) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD_NS}">{_field_xml(names)}
    <validationRules>
        <fullName>{RULE_NAME}</fullName>
        <active>true</active>
        <description>Refuses a move to a won stage while roadmap-guard has blocked the opportunity.</description>
        <errorConditionFormula>{escape(rule_formula(won_stages, names.block))}</errorConditionFormula>
        <errorDisplayField>StageName</errorDisplayField>
        <errorMessage>{escape(ERROR_MESSAGE)}</errorMessage>
    </validationRules>
</CustomObject>
"""


def custom_permission_xml() -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomPermission xmlns="{MD_NS}">
    <description>Held by the roadmap-guard integration user. Add {escape(BYPASS_CLAUSE)} to every other Opportunity validation rule, so none of them refuses roadmap-guard's write of the roadmap fields (a refused write leaves the block unset).</description>
    <isLicensed>false</isLicensed>
    <label>Roadmap Guard: bypass validation rules</label>
</CustomPermission>
"""


def permission_set_xml(names: FieldNames, *, notes_class: bool = True) -> str:
    perms = "".join(
        f"""
    <fieldPermissions>
        <editable>true</editable>
        <field>Opportunity.{name}</field>
        <readable>true</readable>
    </fieldPermissions>"""
        for name in names.all()
    )
    objects = "".join(
        f"""
    <objectPermissions>
        <allowCreate>{str(create).lower()}</allowCreate>
        <allowDelete>{str(modify_all).lower()}</allowDelete>
        <allowEdit>true</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>{str(modify_all).lower()}</modifyAllRecords>
        <object>{obj}</object>
        <viewAllRecords>true</viewAllRecords>
    </objectPermissions>"""
        for obj, create, modify_all in OBJECT_PERMISSIONS
    )
    users = "".join(
        f"""
    <userPermissions>
        <enabled>true</enabled>
        <name>{name}</name>
    </userPermissions>"""
        for name in USER_PERMISSIONS
    )
    classes = (
        f"""
    <classAccesses>
        <apexClass>{NOTES_CLASS}</apexClass>
        <enabled>true</enabled>
    </classAccesses>"""
        if notes_class
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="{MD_NS}">{classes}
    <customPermissions>
        <enabled>true</enabled>
        <name>{BYPASS_PERMISSION}</name>
    </customPermissions>
    <description>Assign to the roadmap-guard integration user: read and edit every opportunity whatever the sharing (Modify All) and the roadmap fields, create and edit tasks, read note bodies in batches, bypass validation rules that check the bypass permission.</description>{perms}
    <hasActivationRequired>false</hasActivationRequired>
    <label>Roadmap Guard Integration</label>{objects}{users}
</PermissionSet>
"""


def sales_permission_set_xml(names: FieldNames) -> str:
    """Read-only field access for the reps: the verdict, the summary, the block and when it was
    checked show on the opportunity (once on its page layout), and none of them can be edited."""
    perms = "".join(
        f"""
    <fieldPermissions>
        <editable>false</editable>
        <field>Opportunity.{name}</field>
        <readable>true</readable>
    </fieldPermissions>"""
        for name in names.all()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="{MD_NS}">
    <description>Assign to everyone who works opportunities (reps, managers): read-only access to the roadmap fields roadmap-guard writes. Only roadmap-guard changes them.</description>{perms}
    <hasActivationRequired>false</hasActivationRequired>
    <label>Roadmap Guard Sales Read</label>
</PermissionSet>
"""


def package_xml(names: FieldNames, api_version: str, *, notes_class: bool = True) -> str:
    fields = "".join(f"<members>Opportunity.{n}</members>" for n in names.all())
    classes = (
        f"<types><members>{NOTES_CLASS}</members><members>{NOTES_TEST_CLASS}</members>"
        "<name>ApexClass</name></types>\n    "
        if notes_class
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="{MD_NS}">
    <types>{fields}<name>CustomField</name></types>
    <types><members>Opportunity.{RULE_NAME}</members><name>ValidationRule</name></types>
    <types><members>{BYPASS_PERMISSION}</members><name>CustomPermission</name></types>
    <types><members>{PERMISSION_SET}</members><members>{SALES_PERMISSION_SET}</members><name>PermissionSet</name></types>
    {classes}<version>{api_version}</version>
</Package>
"""


def build_package(
    out_dir: Path,
    names: FieldNames,
    won_stages: Sequence[str],
    api_version: str,
    *,
    notes_class: bool = True,
) -> list[Path]:
    """Write the metadata folder; returns the files written. `notes_class=False` leaves out the
    notes Apex class and its test: an org with enhanced Notes turned off has no ContentNote
    type, so the class does not compile there and would fail the whole deploy (and it has no
    enhanced notes to read anyway)."""
    files = {
        out_dir / "package.xml": package_xml(names, api_version, notes_class=notes_class),
        out_dir / "objects" / "Opportunity.object": object_xml(names, won_stages),
        out_dir
        / "customPermissions"
        / f"{BYPASS_PERMISSION}.customPermission": custom_permission_xml(),
        out_dir / "permissionsets" / f"{PERMISSION_SET}.permissionset": permission_set_xml(
            names, notes_class=notes_class
        ),
        out_dir
        / "permissionsets"
        / f"{SALES_PERMISSION_SET}.permissionset": sales_permission_set_xml(names),
    }
    if notes_class:
        files.update(
            {
                out_dir / "classes" / f"{NOTES_CLASS}.cls": notes_class_apex(),
                out_dir / "classes" / f"{NOTES_CLASS}.cls-meta.xml": apex_meta_xml(api_version),
                out_dir / "classes" / f"{NOTES_TEST_CLASS}.cls": notes_test_apex(),
                out_dir / "classes" / f"{NOTES_TEST_CLASS}.cls-meta.xml": apex_meta_xml(
                    api_version
                ),
            }
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def zip_package(folder: Path, zip_path: Path) -> Path:
    """package.xml at the zip's root, as a single-package deploy expects."""
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return zip_path


@dataclass
class AccessReport:
    missing: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)
    ok: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing and not self.read_only


def check_access(describe: dict, names: FieldNames) -> AccessReport:
    """From describe(Opportunity) as the integration user: are our fields there and updateable?"""
    by_name = {f["name"]: f for f in describe.get("fields", [])}
    report = AccessReport()
    for name in names.all():
        info = by_name.get(name)
        if info is None:
            report.missing.append(name)
        elif not info.get("updateable"):
            report.read_only.append(name)
        else:
            report.ok.append(name)
    return report


def deploy_package(
    api,
    folder: Path,
    *,
    poll_seconds: float = 2.0,
    timeout_seconds: float = 600.0,
    progress: Callable[[str], None] = lambda _s: None,
) -> dict:
    """Deploy through the Metadata API and wait for the result (checkDeployStatus)."""
    tmp = Path(tempfile.mkdtemp(prefix="rg-sf-deploy-"))
    try:
        zip_path = zip_package(folder, tmp / "package.zip")
        started = api.deploy(str(zip_path))
        async_id = started.get("asyncId")
        if not async_id:
            raise RuntimeError(f"deploy did not return a job id: {started}")
        deadline = time.monotonic() + timeout_seconds
        while True:
            status = api.deploy_status(async_id)
            progress(str(status.get("state")))
            if status.get("state") in ("Succeeded", "SucceededPartial", "Failed", "Canceled"):
                return {"id": async_id, **status}
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"deployment {async_id} still {status.get('state')} after {timeout_seconds} s"
                )
            time.sleep(poll_seconds)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def instructions(settings: Settings, names: FieldNames) -> str:
    endpoint = (
        settings.public_base_url.rstrip("/")
        + "/webhooks/salesforce/outbound?token=<SALESFORCE_OUTBOUND_TOKEN>"
    )
    events = settings.public_base_url.rstrip("/") + "/webhooks/salesforce/events"
    return f"""
Next steps in Salesforce Setup
1. Assign the permission set "Roadmap Guard Integration" to the integration user, and set
   SALESFORCE_INTEGRATION_USER_ID to that user's id (its changes are ignored on the way in).
2. Let the reps see the verdict: assign the permission set "Roadmap Guard Sales Read"
   ({SALES_PERMISSION_SET}, read-only on the four fields) to everyone who works opportunities
   (a permission set group or a bulk assignment does it at once; fields deployed through the
   Metadata API are visible to no profile until granted), and add Roadmap Check Status,
   Roadmap Check Summary, Roadmap Block and Roadmap Checked At to the Opportunity page layout
   (or its Lightning record page). Without both, a rep refused by the validation rule is told
   to read a summary they cannot see.
3. Outbound Message (Setup > Outbound Messages > New), object Opportunity:
     Endpoint URL:   {endpoint}
     Send as user:   the integration user;  Send Session ID: unchecked
     Fields:         Id, StageName, Amount, LastModifiedById
   Optionally a second one on Opportunity Product (OpportunityLineItem) with Id, OpportunityId,
   LastModifiedById, so line-item changes are checked too.
4. Record-Triggered Flow on Opportunity (A record is created or updated, after save), condition
   "StageName Is Changed" OR any field you care about, action: the Outbound Message of step 3.
   Do the same on Opportunity Product for created/updated/deleted line items.
5. Optional, for notes and other changes without an Outbound Message: a Flow HTTP callout or the
   Apex trigger in docs/salesforce.md posting signed JSON to {events}
   (secret: SALESFORCE_EVENTS_SECRET).
6. Set SALESFORCE_ORG_ID to the org id (15 or 18 characters).
7. Add {BYPASS_CLAUSE} (AND it with the rule's formula) to every
   OTHER validation rule on Opportunity (e.g. "Close Date cannot be in the past"). The
   permission set grants the custom permission {BYPASS_PERMISSION} to the integration user;
   without the clause such a rule refuses roadmap-guard's whole field update, the block is never
   written, and the rep can win the deal. Our own rule {RULE_NAME} must not get it.
   Do the same for the validation rules on Task and Activity (e.g. "a task needs a due date"):
   they refuse the roadmap task, which roadmap-guard creates without a due date.
Fields used: {", ".join(names.all())}; validation rule: Opportunity.{RULE_NAME}.
"""
