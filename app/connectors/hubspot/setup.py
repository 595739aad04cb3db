"""`roadmap-guard setup hubspot`: what HubSpot needs, installed or printed.

Creates the "Roadmap guard" property group and the deal properties (409 = already there: its
label, description and options are brought up to date, so it
can run any number of times), checks the private-app token's scopes and shows the portal's company currency, and prints the webhook
subscriptions and pipeline settings an admin must set by hand (HubSpot has no API for
pipeline rules or private-app webhook subscriptions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.connectors.base import ConnectorError
from app.connectors.hubspot import properties as P
from app.connectors.hubspot.account import read_account_details
from app.connectors.hubspot.client import HubSpotApi

# Tasks and notes are engagements: HubSpot gates them behind the contacts scopes.
REQUIRED_SCOPES = {
    "crm.objects.deals.read": "read deals",
    "crm.objects.deals.write": "write roadmap properties, revert stages",
    "crm.objects.line_items.read": "read line items",
    "crm.schemas.deals.write": "create the roadmap properties",
    "crm.objects.contacts.write": "create tasks and notes",
}
# Scopes the service works without, losing what each names: reported, never a setup failure,
# so an install made before they were asked for keeps working.
RECOMMENDED_SCOPES = {
    "crm.objects.owners.read": (
        "owner names: without it messages say 'the deal owner' and views, dashboards and "
        "reports show the owner id instead of the rep's name"
    ),
    "crm.objects.companies.read": (
        "account names: without it deals are read without their company's name, so a "
        "customer's own step named by its company ('Acme will roll out SCIM by March') can "
        "read as our promise"
    ),
}

WEBHOOK_SUBSCRIPTIONS = [
    "deal.creation",
    "deal.deletion",
    # A merged-away deal is read as gone only when its merge is heard of: without it, it stays
    # tracked as open and its pipeline is counted twice (beside the deal it went into).
    "deal.merge",
    "deal.restore",
    "deal.propertyChange: dealname",
    "deal.propertyChange: dealstage",
    "deal.propertyChange: amount",
    "deal.propertyChange: deal_currency_code",
    "deal.propertyChange: closedate",
    "deal.propertyChange: pipeline",
    "deal.propertyChange: hubspot_owner_id",
    "deal.associationChange (line items)",
    "line_item.propertyChange: name, hs_sku, hs_product_id, quantity",
    "line_item.deletion",
    # a restored line item is back on its deal (its deletion had cleared the deal)
    "line_item.restore",
]
# The same in HubSpot's generic format (an app's crmObjects subscriptions): both are accepted.
# Notes exist only there (the legacy associationChange covers no notes).
GENERIC_SUBSCRIPTIONS = [
    "object.creation, object.deletion, object.merge, object.restore: deal",
    "object.propertyChange: deal (the properties above)",
    "object.propertyChange: line_item (name, hs_sku, hs_product_id, quantity)",
    "object.propertyChange: note (hs_note_body)",
    "object.deletion, object.restore: line_item, note",
    "object.associationChange: deal (line items), note (deals)",
]


@dataclass
class SetupReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    missing_scopes: list[str] = field(default_factory=list)
    # RECOMMENDED_SCOPES the token lacks (setup still succeeds).
    missing_recommended: list[str] = field(default_factory=list)
    scopes_checked: bool = False
    # The portal's company currency as HubSpot says it (None: not readable with this token),
    # to check HUBSPOT_COMPANY_CURRENCY, the label of pipeline totals, against.
    company_currency: str | None = None
    # The portal (hubId) and private app (appId) the token belongs to, as its token info says
    # (None: not readable), to check HUBSPOT_PORTAL_ID and HUBSPOT_APP_ID against.
    token_portal_id: str | None = None
    token_app_id: str | None = None
    # What stopped the properties' install when the token lacks scopes (None: nothing did).
    failed: str | None = None


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
        report.missing_recommended = [s for s in RECOMMENDED_SCOPES if s not in granted]
    if isinstance(info, dict):
        report.token_portal_id = _an_id(info.get("hubId"))
        report.token_app_id = _an_id(info.get("appId"))
    report.company_currency = company_currency(api)
    try:
        _install_properties(api, report, guard_property, progress)
    except ConnectorError as exc:
        if not report.missing_scopes:
            raise
        # The missing scopes say why (a token without crm.schemas.deals.write is refused the
        # properties): the report goes back with them, not a bare 403 that named none.
        report.failed = str(exc)
    return report


def _install_properties(
    api: HubSpotApi, report: SetupReport, guard_property: str, progress: Callable[[str], None]
) -> None:
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
        if created is None:
            # There already (an earlier install): brought up to this release's label,
            # description and options, which a rep reads in the record's sidebar ("When
            # roadmap-guard last checked this deal" outlived what the field came to mean).
            # Its type stays: HubSpot does not change a property's type with data in it.
            api.call(
                "properties.update",
                core.update,
                "deals",
                definition["name"],
                {
                    key: definition[key]
                    for key in ("label", "description", "groupName", "options")
                    if key in definition
                },
            )
            report.existing.append(definition["name"])
        else:
            report.created.append(definition["name"])
        progress(definition["name"])


def _an_id(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text if text.isascii() and text.isdigit() else None


def identity_check(
    report: SetupReport, portal_id: str | None, app_id: str | None
) -> tuple[bool, list[str]]:
    """(ok, the lines setup prints) for HUBSPOT_PORTAL_ID and HUBSPOT_APP_ID against the portal
    and app the token belongs to. The webhook stores every event of another portal or app as
    `ignored` and queues nothing: a mistyped id left the service deaf to every webhook (only
    reconciliation still found changed deals), and setup said all was well."""
    ok, lines = True, []
    for setting, configured, actual, what in (
        ("HUBSPOT_PORTAL_ID", portal_id, report.token_portal_id, "portal (hub id)"),
        ("HUBSPOT_APP_ID", app_id, report.token_app_id, "private app (app id)"),
    ):
        configured = (configured or "").strip() or None
        if actual is None:
            if configured:
                lines.append(
                    f"{setting}={configured} (the token's {what} is not readable: check it by hand)"
                )
            continue
        if configured is None:
            lines.append(
                f"{setting}: not set; the token's {what} is {actual}: set {setting}={actual}"
            )
        elif configured != actual:
            ok = False
            lines.append(
                f"{setting}: MISMATCH: the token belongs to {what} {actual} but {setting}="
                f"{configured}: every webhook would be ignored as another "
                f"{'portal' if setting == 'HUBSPOT_PORTAL_ID' else 'app'}'s; set "
                f"{setting}={actual}"
            )
        else:
            lines.append(f"{setting}: {actual} (matches the token)")
    return ok, lines


def company_currency(api: HubSpotApi) -> str | None:
    """The portal's company currency from its account details (scope `oauth`, which every token
    carries), or None when they cannot be read. The service reads the same details itself
    (app/connectors/hubspot/account.py); setup shows what it will find."""
    try:
        return read_account_details(api).company_currency
    except ConnectorError:
        return None


def currency_check(report: SetupReport, configured: str | None) -> tuple[bool, str]:
    """(ok, the line setup prints) for HUBSPOT_COMPANY_CURRENCY against what HubSpot says."""
    actual = report.company_currency
    if actual is None:
        if configured:
            return True, (
                f"company currency: HUBSPOT_COMPANY_CURRENCY={configured} (HubSpot's account "
                "details are not readable with this token: check it by hand)"
            )
        return True, (
            "company currency: unknown; HubSpot's account details are not readable with this "
            "token, so pipeline totals are unlabelled: set HUBSPOT_COMPANY_CURRENCY (e.g. USD)"
        )
    if configured is None:
        return True, f"company currency: {actual} (read from HubSpot; labels pipeline totals)"
    if configured != actual:
        return False, (
            f"company currency: MISMATCH: HubSpot says {actual} but HUBSPOT_COMPANY_CURRENCY="
            f"{configured}: the service labels totals with HubSpot's; correct or unset the "
            "setting"
        )
    return True, f"company currency: {actual} (matches HUBSPOT_COMPANY_CURRENCY)"


def own_subscriptions(guard_property: str) -> list[str]:
    """Our own properties' changes: a hand edit (a rep filling the guard property on a blocked
    deal to pass the stage requirement, a status changed) is read and put back on its own
    webhook; our writes' echo is ignored. Not printed before, so in a real portal no such edit
    was ever heard of and the guard property filled by hand stayed filled."""
    return [f"deal.propertyChange: {guard_property}", f"deal.propertyChange: {P.STATUS}"]


def instructions(public_base_url: str, guard_property: str) -> str:
    target = public_base_url.rstrip("/") + "/webhooks/hubspot"
    subs = "\n".join(
        f"    - {s}" for s in [*WEBHOOK_SUBSCRIPTIONS, *own_subscriptions(guard_property)]
    )
    generic = "\n".join(f"    - {s}" for s in GENERIC_SUBSCRIPTIONS)
    return f"""
Webhooks (private app → Webhooks tab; target URL {target}):
{subs}
  or, in the generic format (crmObjects in an app's webhooks.json), which also sees notes
  added to a deal:
{generic}
  Keep the batch size at 100 or less; signature v3 uses the app's client secret
  (HUBSPOT_CLIENT_SECRET; during a rotation also HUBSPOT_CLIENT_SECRET_PREVIOUS).

Pipeline settings (Settings → Objects → Deals → Pipelines), for each pipeline with won stages:
  - Stage properties: on every won stage, make "Roadmap clearance" ({guard_property}) required.
    roadmap-guard fills it only while the deal has no unapproved blocking finding, so HubSpot
    itself refuses the move to won in the UI and in the board view.
  - Property access (Settings → Properties → "Roadmap clearance" → edit access; Enterprise):
    let no one but super admins edit it. Otherwise the stage's required-property dialog offers
    its one option ("Cleared by roadmap-guard") to the rep, who can pick it and close a blocked
    deal (revert mode moves the deal back and empties it; warn mode only flags the deal).
  - Pipeline rules: turn on "Restrict skipping stages" and "Restrict backward movement" only if
    your process allows it: the closed-won guard (HUBSPOT_GUARD_MODE=revert) moves a blocked deal
    back to its previous stage, which needs backward movement for integrations.
  - Keep the won stages' probability at 100% and "closed" set: roadmap-guard reads them from the
    pipeline to know which stages are won.
"""
