"""Our HubSpot footprint: the property group, the deal properties, the task marker.

Nothing outside this package knows these names (ARCHITECTURE: connectors translate).
"""

from __future__ import annotations

GROUP_NAME = "roadmap_guard"
GROUP_LABEL = "Roadmap guard"

STATUS = "roadmap_guard_status"
SUMMARY = "roadmap_guard_summary"
CHECKED_AT = "roadmap_guard_checked_at"
EVALUATION_URL = "roadmap_guard_evaluation_url"
TASK_ID = "roadmap_guard_task_id"
# The guard property: filled ("clear") only when the deal carries no unapproved blocking
# finding. A HubSpot pipeline rule / conditional stage property requires it before a won stage.
DEFAULT_GUARD = "roadmap_guard_clearance"

OWN_PROPERTY_PREFIX = "roadmap_guard"
# The guard property's one option, as the rep sees it (its value stays "clear").
GUARD_OPTION_LABEL = "Cleared by roadmap-guard (not set by hand)"

DEAL_READ_PROPERTIES = [
    "dealname",
    "dealstage",
    "pipeline",
    "amount",
    "deal_currency_code",
    "amount_in_home_currency",
    "closedate",
    "hubspot_owner_id",
    "createdate",
    "hs_lastmodifieddate",
]
LINE_ITEM_PROPERTIES = ["name", "hs_sku", "hs_product_id", "quantity", "price", "amount"]
NOTE_PROPERTIES = [
    "hs_note_body",
    "hs_timestamp",
    "hubspot_owner_id",
    "hs_createdate",
    "hs_object_source",
    "hs_object_source_id",
]
# Our findings notes end with this line; they are not the rep's words and are never evaluated.
NOTE_FOOTER = "Posted by roadmap-guard."

# The marker in our task bodies, so a task whose create response was lost can be found again.
TASK_MARKER = "rgdeal{deal_id}"
FOLLOWUP_MARKER = "rgfollow{deal_id}x{key}"
# One findings note per write: the same marker on every retry of it (see connector._plan).
NOTE_MARKER = "rgnote{deal_id}x{digest}"


def deal_properties(guard_property: str) -> list[dict]:
    """Definitions for `setup hubspot` (CRM v3 properties API, objectType deals)."""
    return [
        {
            "name": STATUS,
            "label": "Roadmap status",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": GROUP_NAME,
            "description": "roadmap-guard verdict: clear, warning or blocked.",
            "options": [
                {"label": "Clear", "value": "clear", "displayOrder": 0, "hidden": False},
                {"label": "Warning", "value": "warning", "displayOrder": 1, "hidden": False},
                {"label": "Blocked", "value": "blocked", "displayOrder": 2, "hidden": False},
            ],
        },
        {
            "name": SUMMARY,
            "label": "Roadmap summary",
            "type": "string",
            "fieldType": "textarea",
            "groupName": GROUP_NAME,
            "description": "The top roadmap findings in plain language.",
        },
        {
            "name": CHECKED_AT,
            "label": "Roadmap checked at",
            "type": "datetime",
            "fieldType": "date",
            "groupName": GROUP_NAME,
            "description": "When roadmap-guard last changed its fields on this deal (its status, "
            "summary, link or guard; not written when a check changes nothing).",
        },
        {
            "name": EVALUATION_URL,
            "label": "Roadmap evaluation",
            "type": "string",
            "fieldType": "text",
            "groupName": GROUP_NAME,
            "description": "Link to the full evaluation in roadmap-guard.",
        },
        {
            "name": TASK_ID,
            "label": "Roadmap task id",
            "type": "string",
            "fieldType": "text",
            "groupName": GROUP_NAME,
            "description": "The roadmap-guard task on this deal (managed by roadmap-guard).",
        },
        {
            "name": guard_property,
            "label": "Roadmap clearance",
            "type": "enumeration",
            "fieldType": "select",
            "groupName": GROUP_NAME,
            # A rep meets it in the won stage's required-property dialog: its label and help
            # text say it is not theirs to set ("Clear" alone invited picking it to close).
            "description": (
                "Set by roadmap-guard only, while the deal has no blocking roadmap finding; "
                "required to enter a won stage. Do not set it by hand: on a blocked deal it is "
                "emptied again."
            ),
            "options": [
                {
                    "label": GUARD_OPTION_LABEL,
                    "value": "clear",
                    "description": "Only roadmap-guard sets this, when the deal has no blocking "
                    "roadmap finding.",
                    "displayOrder": 0,
                    "hidden": False,
                }
            ],
        },
    ]


def own_properties(guard_property: str) -> set[str]:
    return {STATUS, SUMMARY, CHECKED_AT, EVALUATION_URL, TASK_ID, guard_property}
