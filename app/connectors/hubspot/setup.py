"""`roadmap-guard setup hubspot`: what HubSpot needs, installed or printed.

Creates the "Roadmap guard" property group and the deal properties (409 = already there, so it
can run any number of times), checks the private-app token's scopes, and prints the webhook
subscriptions and pipeline settings an admin must set by hand (HubSpot has no API for
pipeline rules or private-app webhook subscriptions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.connectors.hubspot import properties as P
from app.connectors.hubspot.client import HubSpotApi

# Tasks and notes are engagements: HubSpot gates them behind the contacts scopes.
REQUIRED_SCOPES = {
    "crm.objects.deals.read": "read deals",
    "crm.objects.deals.write": "write roadmap properties, revert stages",
    "crm.objects.line_items.read": "read line items",
    "crm.schemas.deals.write": "create the roadmap properties",
    "crm.objects.contacts.write": "create tasks and notes",
}

WEBHOOK_SUBSCRIPTIONS = [
    "deal.creation",
    "deal.deletion",
    "deal.propertyChange: dealstage",
    "deal.propertyChange: amount",
    "deal.propertyChange: deal_currency_code",
    "deal.propertyChange: closedate",
    "deal.propertyChange: pipeline",
    "deal.propertyChange: hubspot_owner_id",
    "deal.associationChange (line items, notes)",
    "line_item.propertyChange: name, hs_sku, hs_product_id, quantity",
]


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)
    scopes_checked: bool = False


def run_setup(
    api: HubSpotApi,
    *,
    guard_property: str,
    access_token: str,
    progress: Callable[[str], None] = lambda _m: None,
) -> SetupReport:
    report = SetupReport()
    info = api.raw(
        "token.info",
        "POST",
        "/oauth/v2/private-apps/get/access-token-info",
        {"tokenKey": access_token},
    )
    if isinstance(info, dict) and "scopes" in info:
        report.scopes_checked = True
        granted = set(info["scopes"])
        report.missing_scopes = [s for s in REQUIRED_SCOPES if s not in granted]
    groups = api.api("crm.properties.groups_api")
    group = api.call(
        "properties.create_group",
        groups.create,
        "deals",
        {"name": P.GROUP_NAME, "label": P.GROUP_LABEL, "displayOrder": -1},
        ok_statuses=(409,),
    )
    (report.created if group is not None else report.existing).append(f"group {P.GROUP_NAME}")
    progress(f"group {P.GROUP_NAME}")
    core = api.api("crm.properties.core_api")
    for definition in P.deal_properties(guard_property):
        created = api.call(
            "properties.create", core.create, "deals", definition, ok_statuses=(409,)
        )
        (report.created if created is not None else report.existing).append(definition["name"])
        progress(definition["name"])
    return report


def instructions(public_base_url: str, guard_property: str) -> str:
    target = public_base_url.rstrip("/") + "/webhooks/hubspot"
    subs = "\n".join(f"    - {s}" for s in WEBHOOK_SUBSCRIPTIONS)
    return f"""
Webhooks (private app → Webhooks tab; target URL {target}):
{subs}
  Keep the batch size at 100 or less; signature v3 uses the app's client secret
  (HUBSPOT_CLIENT_SECRET; during a rotation also HUBSPOT_CLIENT_SECRET_PREVIOUS).

Pipeline settings (Settings → Objects → Deals → Pipelines), for each pipeline with won stages:
  - Stage properties: on every won stage, make "Roadmap clearance" ({guard_property}) required.
    roadmap-guard fills it only while the deal has no unapproved blocking finding, so HubSpot
    itself refuses the move to won in the UI and in the board view.
  - Pipeline rules: turn on "Restrict skipping stages" and "Restrict backward movement" only if
    your process allows it: the closed-won guard (HUBSPOT_GUARD_MODE=revert) moves a blocked deal
    back to its previous stage, which needs backward movement for integrations.
  - Keep the won stages' probability at 100% and "closed" set: roadmap-guard reads them from the
    pipeline to know which stages are won.
"""
