"""A fake HubSpot: a real HTTP server speaking HubSpot's documented JSON, for tests and `demo`.

The real hubspot-api-client talks to it over HTTP (set HUBSPOT_API_BASE to `fake.base_url`).
It serves what the connector uses: CRM v3 object batch read/create/update and search (deals,
line items, notes, tasks; companies: `add_company`, read only, 403 MISSING_SCOPES without
`crm.objects.companies.read`), v4 batch association reads with paging (a deal's primary company,
`associate(..., primary=True)`, carries type 5 beside the unlabeled 341; in a deal GET's
associations it is listed first as `deal_to_company` beside `deal_to_company_unlabeled`, and the
GET asking for companies without the scope is refused, 403), deal pipelines, property
groups and properties (409 when they exist), the CRM Owners API (`add_owner`; owner 101, the
default deal owner, is seeded; archived owners answer only with `archived=true`; 403
MISSING_SCOPES without `crm.objects.owners.read`), and private-app token info. Ids are strings,
batch answers carry `status`/`results` (207 with `errors` when some ids are missing), error
bodies carry status/message/correlationId/category.

An admin's property validation rules (`add_property_rule`) refuse the values they do not pass,
on batch create and update, as HubSpot enforces them on API writes.

Faults: `inject(kind, count, path=...)` makes the next matching calls answer 429 (with
`policyName` and the X-HubSpot-RateLimit-* and Retry-After headers), 400, 423 Locked, 477
Migration in Progress (with Retry-After), 5xx (`502_html`: the CDN's HTML page), time out, or apply the change and then lose the
response. `enforce_rate_limit(n)` answers 429 (TEN_SECONDLY_ROLLING) to
any call beyond n in a rolling 10 s window, measured with `clock`. `calls` counts calls per endpoint; `max_calls_in_window()` reports the
busiest 10 s.

Every change (made through the API or through the `ui_*` helpers, which play a user in the
HubSpot UI) is recorded as a webhook event; `deliver()` signs and posts them the way HubSpot does.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

OBJECT_TYPES = {
    "deal": "deals",
    "deals": "deals",
    "0-3": "deals",
    "line_item": "line_items",
    "line_items": "line_items",
    "0-8": "line_items",
    "note": "notes",
    "notes": "notes",
    "0-46": "notes",
    "task": "tasks",
    "tasks": "tasks",
    "0-27": "tasks",
    "company": "companies",
    "companies": "companies",
    "0-2": "companies",
}
SINGULAR = {
    "deals": "DEAL",
    "line_items": "LINE_ITEM",
    "notes": "NOTE",
    "tasks": "TASK",
    "companies": "COMPANY",
}
# Object type ids, as generic ("object.*") webhook events name the object type.
TYPE_IDS = {"DEAL": "0-3", "LINE_ITEM": "0-8", "NOTE": "0-46", "TASK": "0-27", "COMPANY": "0-2"}
# HubSpot-defined association type ids (associations v4 docs), both directions.
ASSOCIATION_TYPE_IDS = {
    ("deals", "line_items"): 19,
    ("line_items", "deals"): 20,
    ("deals", "notes"): 213,
    ("notes", "deals"): 214,
    ("deals", "tasks"): 215,
    ("tasks", "deals"): 216,
    # The unlabeled deal-company association every associated company has ("Deal to company")
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
}
# A deal's primary company carries this HubSpot-defined type as well as the unlabeled one
# ("When a record has a primary association ..., those types will be listed alongside the
# unlabeled association type"): deal to primary company 5, company to deal (primary) 6.
PRIMARY_TYPE_IDS = {("deals", "companies"): 5, ("companies", "deals"): 6}
COMPANIES_SCOPE = "crm.objects.companies.read"
DEFAULT_PROPERTIES = {
    "deals": ["dealname", "amount", "closedate", "createdate", "dealstage", "pipeline"],
    "line_items": ["name", "price", "quantity", "amount", "createdate"],
    "notes": ["hs_note_body", "hs_timestamp", "hs_createdate"],
    "tasks": ["hs_task_subject", "hs_task_status", "hs_timestamp", "hs_createdate"],
    "companies": ["name", "domain", "createdate"],
}
MAX_BATCH = 100
# The page a CDN in front of the API answers a bad gateway with (fault "502_html").
GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    "Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
)
BODY_LIMIT = 65_536  # hs_note_body / hs_task_body: "limited to 65,536 characters"
# A batch read asking for property history takes at most 50 inputs (HubSpot answers 400).
MAX_HISTORY_BATCH = 50
ASSOCIATION_PAGE = 500
SEARCH_MAX_RESULTS = 10_000  # HubSpot search answers no more per query
OWNERS_PAGE_MAX = 500  # the Owners API v3 answers at most 500 owners a page
DEFAULT_SCOPES = [
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.objects.line_items.read",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "crm.objects.owners.read",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
]


def _iso(ts: float | None = None) -> str:
    ts = time.time() if ts is None else ts
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Fault:
    kind: str  # 429 | daily | 400 | 423 | 477 | 500 | 502 | 502_html | timeout | lost_response
    remaining: int
    path: str | None = None  # substring of the request path
    method: str | None = None
    retry_after: float | None = 1.0
    delay: float = 2.0


@dataclass
class FakeHubSpot:
    portal_id: str = "9990001"
    app_id: str = "424242"
    client_secret: str = "sandbox-client-secret"
    access_token: str = "pat-sandbox-token"
    scopes: list[str] = field(default_factory=lambda: list(DEFAULT_SCOPES))
    association_page_size: int = ASSOCIATION_PAGE
    # Associations a v3 object read (GET with `associations=`) lists before it pages.
    object_read_association_limit: int = 100
    search_max_results: int = SEARCH_MAX_RESULTS
    # What call times are measured with; a test shares a virtual clock with the client's budget.
    clock: Callable[[], float] = time.monotonic
    # Multi-currency: the company currency and each additional currency's exchange rate to it
    # (HubSpot's `conversionRate`: "the exchange rate from the additional currency to your
    # company currency"). Deals' calculated `amount_in_home_currency` is derived from them.
    company_currency: str = "USD"
    exchange_rates: dict[str, float] = field(default_factory=dict)
    # The account's time zone (account details; the daily API limit resets at midnight there)
    # and whether the account details answer (False: 403, as for a token without `oauth`).
    time_zone: str = "US/Eastern"
    # The host of the portal's UI: "app-eu1.hubspot.com" for an account hosted in the EU.
    ui_domain: str = "app.hubspot.com"
    account_details_readable: bool = True
    # How long a new object stays out of search results (HubSpot: "it may take a few moments
    # for newly created or updated CRM objects to appear in search results"). 0: at once.
    search_index_lag_seconds: float = 0.0
    # How webhook events are written: "legacy" ("deal.propertyChange", one subscription type
    # per object) or "generic" ("object.propertyChange" with `objectTypeId`; associations with
    # `fromObjectTypeId`/`toObjectTypeId`/`associationTypeId`), as an app subscribed to
    # HubSpot's generic webhook subscriptions receives them.
    webhook_format: str = "legacy"

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict]] = {t: {} for t in SINGULAR}
        self.created_at_clock: dict[tuple[str, str], float] = {}
        self.history: dict[tuple[str, str, str], list[dict]] = {}
        self.assoc: dict[tuple[str, str, str], dict[str, int]] = {}
        # deal id -> its primary company (`associate(..., primary=True)`); it counts only while
        # the two are associated.
        self.primary_company: dict[str, str] = {}
        self.pipelines: list[dict] = []
        self.groups: dict[str, dict[str, dict]] = {}
        self.properties: dict[str, dict[str, dict]] = {}
        # Owners of deactivated users: HubSpot validates owner-type properties of engagements
        # against the Owners API (developer changelog, "Owner IDs and the Engagements API") and
        # answers an invalid one with a property validation error.
        self.archived_owners: set[str] = set()
        # An admin's property validation rules (`add_property_rule`): (object type, property)
        # -> rule(value) -> (error, message) when the value does not pass, else None.
        self.property_rules: dict[tuple[str, str], Callable[[Any], tuple[str, str] | None]] = {}
        # The portal's owners as the CRM Owners API v3 answers them (`add_owner`): id -> owner
        # JSON. An owner is archived (a deactivated user) when its `archived` is true or its id
        # is in `archived_owners`.
        self.owners: dict[str, dict] = {}
        self._owner_user_ids = itertools.count(9_586_501)
        self.calls: Counter[str] = Counter()
        self.call_times: deque[float] = deque()
        self.all_call_times: list[float] = []
        self.faults: list[Fault] = []
        self.rate_limit_per_10s: int | None = None
        self.events: list[dict] = []
        # Merged-away deal id -> the deal it went into: HubSpot answers a read of the old id
        # with the surviving record (under its own id).
        self.merged_into: dict[str, str] = {}
        # Deleted objects with their associations, until restored (`restore_object`).
        self.recycle_bin: dict[tuple[str, str], tuple[dict, dict[str, dict[str, int]]]] = {}
        self.search_bodies: list[dict] = []
        self._ids = itertools.count(10_000_001)
        self._event_ids = itertools.count(1)
        self.app = self._build_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.default_pipeline()
        # The owner of `add_deal`'s deals unless told otherwise.
        self.add_owner("Riley", "Chen", "riley.chen@example.com", owner_id="101")

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeHubSpot:
        import uvicorn

        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-hubspot", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake HubSpot did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHubSpot:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- seeding and UI-side changes ------------------------------------------------------------

    def default_pipeline(self) -> None:
        stages = [
            ("appointmentscheduled", "Appointment scheduled", "0.2", "false"),
            ("qualifiedtobuy", "Qualified to buy", "0.4", "false"),
            ("presentationscheduled", "Presentation scheduled", "0.6", "false"),
            ("decisionmakerboughtin", "Decision maker bought-in", "0.8", "false"),
            ("contractsent", "Contract sent", "0.9", "false"),
            ("closedwon", "Closed won", "1.0", "true"),
            ("closedlost", "Closed lost", "0.0", "true"),
        ]
        self.pipelines = [self._pipeline("default", "Sales pipeline", stages)]

    def add_pipeline(self, pipeline_id: str, label: str, stages: list[tuple]) -> None:
        with self.lock:
            self.pipelines.append(self._pipeline(pipeline_id, label, stages))

    def _pipeline(self, pipeline_id: str, label: str, stages: list[tuple]) -> dict:
        now = _iso()
        return {
            "id": pipeline_id,
            "label": label,
            "displayOrder": len(self.pipelines),
            "archived": False,
            "createdAt": now,
            "updatedAt": now,
            "stages": [
                {
                    "id": sid,
                    "label": slabel,
                    "displayOrder": i,
                    "metadata": {"isClosed": closed, "probability": prob},
                    "archived": False,
                    "createdAt": now,
                    "updatedAt": now,
                    "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                }
                for i, (sid, slabel, prob, closed) in enumerate(stages)
            ],
        }

    def new_id(self) -> str:
        return str(next(self._ids))

    def create_object(
        self,
        object_type: str,
        properties: dict[str, Any],
        *,
        object_id: str | None = None,
        source: tuple[str, str | None] = ("CRM_UI", "userId:1"),
        emit: bool = True,
    ) -> str:
        object_type = OBJECT_TYPES[object_type]
        with self.lock:
            oid = object_id or self.new_id()
            now = time.time()
            props = {k: (None if v is None else str(v)) for k, v in properties.items()}
            props.setdefault("createdate", _iso(now))
            props["hs_lastmodifieddate"] = _iso(now)
            props["hs_object_id"] = oid
            props.setdefault("hs_object_source", source[0])
            props.setdefault("hs_object_source_id", source[1])
            self.objects[object_type][oid] = {
                "id": oid,
                "properties": props,
                "createdAt": _iso(now),
                "updatedAt": _iso(now),
                "archived": False,
            }
            self.created_at_clock[(object_type, oid)] = self.clock()
            for name, value in props.items():
                self._record_history(object_type, oid, name, value, source, now)
            if emit and object_type == "deals":
                self._event("deal.creation", oid, source)
        return oid

    def _record_history(self, object_type, oid, name, value, source, now) -> None:
        self.history.setdefault((object_type, oid, name), []).insert(
            0,
            {
                "value": value,
                "timestamp": _iso(now),
                "sourceType": source[0],
                "sourceId": source[1],
            },
        )

    def update_object(
        self,
        object_type: str,
        oid: str,
        properties: dict[str, Any],
        *,
        source: tuple[str, str | None] = ("CRM_UI", "userId:1"),
    ) -> dict:
        object_type = OBJECT_TYPES[object_type]
        with self.lock:
            obj = self.objects[object_type][oid]
            now = time.time()
            for name, value in properties.items():
                value = None if value is None else str(value)
                if obj["properties"].get(name) == value:
                    continue
                obj["properties"][name] = value
                self._record_history(object_type, oid, name, value, source, now)
                # Notes have no legacy subscription: only a generic one reports their edits.
                generic_note = object_type == "notes" and self.webhook_format == "generic"
                if object_type in ("deals", "line_items") or generic_note:
                    kind = {"deals": "deal", "line_items": "line_item"}.get(object_type, "note")
                    self._event(f"{kind}.propertyChange", oid, source, name, value)
            obj["properties"]["hs_lastmodifieddate"] = _iso(now)
            obj["updatedAt"] = _iso(now)
            return obj

    def delete_object(self, object_type: str, oid: str) -> None:
        object_type = OBJECT_TYPES[object_type]
        with self.lock:
            obj = self.objects[object_type].pop(oid, None)
            # Its associations go with it (into the recycle bin: `restore_object`).
            links = {}
            for (a, fid, b), targets in list(self.assoc.items()):
                if a == object_type and fid == oid:
                    links[b] = dict(self.assoc.pop((a, fid, b)))
                elif b == object_type:
                    targets.pop(oid, None)
            if obj is not None:
                self.recycle_bin[(object_type, oid)] = (obj, links)
            kind = {"deals": "deal", "line_items": "line_item", "notes": "note"}.get(object_type)
            # Notes have no legacy subscription: only a generic one reports their deletion.
            if kind is not None and (kind != "note" or self.webhook_format == "generic"):
                self._event(f"{kind}.deletion", oid, ("CRM_UI", "userId:1"))

    def restore_object(self, object_type: str, oid: str) -> None:
        """Restore a deleted object from the recycle bin, as a user does in the UI: it comes
        back under its id with its associations, and HubSpot reports a `<type>.restore`."""
        object_type = OBJECT_TYPES[object_type]
        with self.lock:
            obj, links = self.recycle_bin.pop((object_type, oid))
            self.objects[object_type][oid] = obj
            for target_type, targets in links.items():
                for target, type_id in targets.items():
                    self.assoc.setdefault((object_type, oid, target_type), {})[target] = type_id
                    back = ASSOCIATION_TYPE_IDS[(target_type, object_type)]
                    self.assoc.setdefault((target_type, target, object_type), {})[oid] = back
            kind = {"deals": "deal", "line_items": "line_item", "notes": "note"}.get(object_type)
            # Notes have no legacy subscription: only a generic one reports their restore.
            if kind is not None and (kind != "note" or self.webhook_format == "generic"):
                self._event(f"{kind}.restore", oid, ("CRM_UI", "userId:1"))

    def associate(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        *,
        source: tuple[str, str | None] = ("CRM_UI", "userId:1"),
        emit: bool = True,
        primary: bool = False,
    ) -> None:
        """`primary`: a deal and a company, the company made the deal's primary one (a deal
        has at most one: the one before stays associated, unlabeled)."""
        a, b = OBJECT_TYPES[from_type], OBJECT_TYPES[to_type]
        with self.lock:
            self.assoc.setdefault((a, from_id, b), {})[to_id] = ASSOCIATION_TYPE_IDS[(a, b)]
            self.assoc.setdefault((b, to_id, a), {})[from_id] = ASSOCIATION_TYPE_IDS[(b, a)]
            if primary:
                if {a, b} != {"deals", "companies"}:
                    raise ValueError("only a deal's company can be its primary one")
                deal, company = (from_id, to_id) if a == "deals" else (to_id, from_id)
                self.primary_company[deal] = company
            if emit and "deals" in (a, b):
                deal_id, other_type, other = (
                    (from_id, b, to_id) if a == "deals" else (to_id, a, from_id)
                )
                if other_type in ("notes", "tasks") and self.webhook_format != "generic":
                    # HubSpot's legacy associationChange covers contacts, companies, deals,
                    # tickets, line items and products: no engagements.
                    return
                self._event(
                    "deal.associationChange",
                    deal_id,
                    source,
                    association=(f"DEAL_TO_{SINGULAR[other_type]}", other),
                )
                self.events[-1]["isPrimaryAssociation"] = primary

    def merge_deals(
        self, primary: str, secondary: str, *, emit: bool = True, new_record: bool = False
    ) -> str:
        """Merge `secondary` into `primary`, as a user does in the UI: the secondary's
        associations move to the primary, which lists it in `hs_merged_object_ids`
        (semicolon-separated); a read of the secondary's id answers the primary. Returns the
        surviving deal's id.

        `new_record`: as HubSpot's changelog describes merges of most object types ("a new
        record with a new ID will be created for the resulting merged record, with both
        records merged into the new one"; "both of the previous IDs will point to the
        resulting merged record"; its property values are the primary's): both deals go into
        a new one, named by the event's `newObjectId`."""
        if new_record:
            return self._merge_into_new(primary, secondary, emit=emit)
        with self.lock:
            self.objects["deals"].pop(secondary)
            self.merged_into[secondary] = primary
            for (a, fid, b), targets in list(self.assoc.items()):
                if a == "deals" and fid == secondary:
                    for tid in list(targets):
                        self.associate("deals", primary, b, tid, emit=False)
                    self.assoc.pop((a, fid, b))
                elif b == "deals" and secondary in targets:
                    targets.pop(secondary)
            props = self.objects["deals"][primary]["properties"]
            merged = [i for i in (props.get("hs_merged_object_ids") or "").split(";") if i]
            props["hs_merged_object_ids"] = ";".join([*merged, secondary])
            props["hs_lastmodifieddate"] = _iso()
            if emit:
                self._event("deal.merge", primary, ("CRM_UI", "userId:1"))
                self.events[-1].update(
                    primaryObjectId=int(primary),
                    mergedObjectIds=[int(secondary)],
                    numberOfPropertiesMoved=0,
                )
        return primary

    def _merge_into_new(self, primary: str, secondary: str, *, emit: bool) -> str:
        with self.lock:
            old = self.objects["deals"][primary]["properties"]
            system = {"hs_object_id", "createdate", "hs_lastmodifieddate", "hs_merged_object_ids"}
            kept = {k: v for k, v in old.items() if k not in system}
            new = self.create_object("deals", kept, emit=False)
            for gone in (primary, secondary):
                for (a, fid, b), targets in list(self.assoc.items()):
                    if a == "deals" and fid == gone:
                        for tid in list(targets):
                            self.associate("deals", new, b, tid, emit=False)
                        self.assoc.pop((a, fid, b))
                    elif b == "deals" and gone in targets:
                        targets.pop(gone)
                self.objects["deals"].pop(gone)
                self.merged_into[gone] = new
                for old_id, into in list(self.merged_into.items()):
                    if into == gone:
                        self.merged_into[old_id] = new
            props = self.objects["deals"][new]["properties"]
            props["hs_merged_object_ids"] = f"{primary};{secondary}"
            if emit:
                self._event("deal.merge", primary, ("CRM_UI", "userId:1"))
                self.events[-1].update(
                    primaryObjectId=int(primary),
                    mergedObjectIds=[int(secondary)],
                    newObjectId=int(new),
                    numberOfPropertiesMoved=0,
                )
            return new

    def _canonical(self, otype: str, oid: str) -> str:
        """The id a read of `oid` answers under (a merged-away deal's: the surviving one)."""
        while otype == "deals" and oid in self.merged_into:
            oid = self.merged_into[oid]
        return oid

    def associated(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        key = (OBJECT_TYPES[from_type], from_id, OBJECT_TYPES[to_type])
        with self.lock:
            return sorted(self.assoc.get(key, {}))

    def add_deal(
        self,
        name: str,
        *,
        stage: str = "qualifiedtobuy",
        pipeline: str = "default",
        amount: float | None = 10000,
        currency: str | None = None,
        owner_id: str | None = "101",
        line_items: Iterable[dict] = (),
        notes: Iterable[str] = (),
        emit: bool = True,
    ) -> str:
        """Seed a deal with its line items and notes (as a user would, in the UI)."""
        deal_id = self.create_object(
            "deals",
            {
                "dealname": name,
                "dealstage": stage,
                "pipeline": pipeline,
                "amount": amount,
                **({"deal_currency_code": currency} if currency else {}),
                "hubspot_owner_id": owner_id,
                "closedate": _iso(time.time() + 30 * 86400),
            },
            emit=emit,
        )
        for item in line_items:
            li = self.create_object("line_items", item, emit=False)
            self.associate("deals", deal_id, "line_items", li, emit=emit)
        for body in notes:
            note = self.create_object(
                "notes", {"hs_note_body": body, "hs_timestamp": _iso()}, emit=False
            )
            self.associate("deals", deal_id, "notes", note, emit=emit)
        return deal_id

    def add_company(
        self, name: str | None, *, domain: str | None = None, deals: Iterable[str] = ()
    ) -> str:
        """Seed a company (as a user would, in the UI), associated with `deals` (unlabeled)."""
        props: dict[str, Any] = {"name": name}
        if domain is not None:
            props["domain"] = domain
        company = self.create_object("companies", props, emit=False)
        for deal in deals:
            self.associate("deals", deal, "companies", company, emit=False)
        return company

    def _object_read_associations(self, a: str, fid: str, b: str, linked: list[str]) -> list[dict]:
        """The `associations` results of a v3 object read (GET with `associations=`): one
        item per association type, named. A deal's companies are each listed with the type
        `deal_to_company_unlabeled`, and its primary company first, once more, with the type
        `deal_to_company` (as HubSpot answers; other links keep `deal_to_line_item` etc.)."""
        name = f"{SINGULAR[a].lower()}_to_{SINGULAR[b].lower()}"
        if (a, b) not in PRIMARY_TYPE_IDS:
            return [{"id": i, "type": name} for i in linked]
        out = [{"id": i, "type": f"{name}_unlabeled"} for i in linked]
        primary = self.primary_company.get(fid) if a == "deals" else None
        if primary in linked:
            out.insert(0, {"id": primary, "type": name})
        return out

    def _association_types(self, a: str, fid: str, b: str, tid: str, type_id: int) -> list[dict]:
        """The v4 `associationTypes` of one association: the unlabeled type, and for a deal's
        primary company the primary type first (label "Primary"; labels are display text,
        HubSpot says to rely on `typeId`)."""
        unlabeled = {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
        primary_type = PRIMARY_TYPE_IDS.get((a, b))
        if primary_type is not None:
            deal, company = (fid, tid) if a == "deals" else (tid, fid)
            if self.primary_company.get(deal) == company:
                return [
                    {"category": "HUBSPOT_DEFINED", "typeId": primary_type, "label": "Primary"},
                    unlabeled,
                ]
        return [unlabeled]

    def add_owner(
        self,
        first_name: str | None,
        last_name: str | None,
        email: str | None,
        *,
        owner_id: str | None = None,
        archived: bool = False,
        owner_type: str = "PERSON",
    ) -> str:
        """An owner (a HubSpot user; `archived`: deactivated), as the Owners API returns it."""
        with self.lock:
            oid = owner_id or self.new_id()
            user_id = next(self._owner_user_ids)
            now = _iso()
            self.owners[oid] = {
                "id": oid,
                "email": email,
                "type": owner_type,
                "firstName": first_name,
                "lastName": last_name,
                "userId": user_id,
                "userIdIncludingInactive": user_id,
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "teams": [],
            }
            if archived:
                self.archive_owner(oid)
            return oid

    def add_property_rule(
        self, otype: str, name: str, rule: Callable[[Any], tuple[str, str] | None]
    ) -> None:
        """An admin's property validation rule (Settings > Properties > the property > Rules).
        HubSpot enforces them on API writes since July 24, 2023 (developer changelog, "Property
        Validations Rules will be enforced for APIs and Integrations"): a value that does not
        pass is refused with 400 VALIDATION_ERROR, "Property values were not valid: " and the
        results as JSON, e.g. {"isValid": false, "message": "Enter only letters", "error":
        "INVALID_ALPHA", "name": "firstname"}. `rule(value)` answers (error, message) for a
        value it refuses, else None. `remove_property_rule` takes it off. HubSpot lets an
        admin set rules on custom text, date and number properties and on a few default company,
        contact, deal and ticket properties only ("Set validation rules for a property"): none
        of the task or note properties roadmap-guard writes can carry one."""
        with self.lock:
            self.property_rules[(otype, name)] = rule

    def remove_property_rule(self, otype: str, name: str) -> None:
        with self.lock:
            self.property_rules.pop((otype, name), None)

    def _rule_failures(self, otype: str, props: dict) -> list[dict]:
        """The written values the portal's property validation rules refuse, in the changelog's
        validation result shape (only the properties written are checked, as HubSpot does)."""
        bad = []
        for name, value in props.items():
            rule = self.property_rules.get((otype, name))
            refused = rule(value) if rule is not None and value not in (None, "") else None
            if refused is not None:
                error, message = refused
                bad.append({"isValid": False, "message": message, "error": error, "name": name})
        return bad

    def archive_owner(self, owner_id: str) -> None:
        """Deactivate the owner's user: HubSpot keeps the owner, archived, its `userId` null
        (the user id stays in `userIdIncludingInactive`)."""
        with self.lock:
            self.archived_owners.add(owner_id)
            owner = self.owners.get(owner_id)
            if owner is not None:
                owner.update(archived=True, userId=None, updatedAt=_iso())

    def rename_owner(self, owner_id: str, first_name: str | None, last_name: str | None) -> None:
        with self.lock:
            self.owners[owner_id].update(firstName=first_name, lastName=last_name, updatedAt=_iso())

    def _owner_json(self, owner: dict) -> dict:
        archived = owner["archived"] or owner["id"] in self.archived_owners
        extra = {"archived": True, "userId": None} if archived else {}
        return {**owner, **extra}

    def ui_set_stage(self, deal_id: str, stage: str) -> None:
        self.update_object("deals", deal_id, {"dealstage": stage})

    def tasks_for(self, deal_id: str) -> list[dict]:
        with self.lock:
            ids = self.associated("deals", deal_id, "tasks")
            return [self.objects["tasks"][i] for i in ids if i in self.objects["tasks"]]

    def notes_for(self, deal_id: str) -> list[dict]:
        with self.lock:
            ids = self.associated("deals", deal_id, "notes")
            return [self.objects["notes"][i] for i in ids if i in self.objects["notes"]]

    def deal(self, deal_id: str) -> dict:
        return self.objects["deals"][deal_id]

    # --- webhook events ---------------------------------------------------------------------

    def _event(
        self,
        subscription_type: str,
        object_id: str,
        source: tuple[str, str | None],
        property_name: str | None = None,
        property_value: str | None = None,
        association: tuple[str, str] | None = None,
    ) -> None:
        event: dict[str, Any] = {
            "eventId": next(self._event_ids),
            "subscriptionId": {
                "deal.creation": 11,
                "deal.deletion": 12,
                "deal.propertyChange": 13,
                "deal.associationChange": 14,
                "line_item.propertyChange": 15,
            }.get(subscription_type, 99),
            "portalId": int(self.portal_id),
            "appId": int(self.app_id),
            "occurredAt": int(time.time() * 1000),
            "subscriptionType": subscription_type,
            "attemptNumber": 0,
            "objectId": int(object_id),
            "changeSource": source[0],
            "changeFlag": {"deal.creation": "CREATED", "deal.deletion": "DELETED"}.get(
                subscription_type, "UPDATED"
            ),
        }
        if source[1]:
            event["sourceId"] = source[1]
        if property_name is not None:
            event["propertyName"] = property_name
            event["propertyValue"] = property_value if property_value is not None else ""
        if association is not None:
            event["fromObjectId"] = int(object_id)
            event["toObjectId"] = int(association[1])
            event["associationType"] = association[0]
            event["associationRemoved"] = False
            event["isPrimaryAssociation"] = False
        if self.webhook_format == "generic":
            self._generic(event)
        self.events.append(event)

    @staticmethod
    def _generic(event: dict[str, Any]) -> None:
        """The event as a generic subscription sends it: "object.<action>", the object type in
        `objectTypeId`; an association names both types and its type id instead of a
        DEAL_TO_LINE_ITEM style associationType."""
        kind, _, action = event["subscriptionType"].partition(".")
        event["subscriptionType"] = f"object.{action}"
        if "associationType" in event:
            left, _, right = event.pop("associationType").partition("_TO_")
            plural = {v: k for k, v in SINGULAR.items()}
            event["fromObjectTypeId"] = TYPE_IDS[left]
            event["toObjectTypeId"] = TYPE_IDS[right]
            event["associationTypeId"] = ASSOCIATION_TYPE_IDS[(plural[left], plural[right])]
            event["associationCategory"] = "HUBSPOT_DEFINED"
            event.pop("objectId", None)
        else:
            event["objectTypeId"] = TYPE_IDS[kind.upper()]

    def drain_events(self) -> list[dict]:
        with self.lock:
            events, self.events = self.events, []
            return events

    def signed_request(
        self,
        url: str,
        events: list[dict],
        *,
        timestamp_ms: int | None = None,
        secret: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """Body and headers exactly as HubSpot sends them (v3 signature over the target URL)."""
        from app.connectors.hubspot.signatures import sign_v3

        body = json.dumps(events, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        ts = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
        signature = sign_v3(secret or self.client_secret, "POST", url, body, ts)
        return body, {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Request-Timestamp": ts,
            "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)",
        }

    def deliver(
        self,
        url: str,
        events: list[dict] | None = None,
        *,
        post: Callable[..., Any] | None = None,
        batch_size: int = 100,
    ) -> list[int]:
        """POST events (default: all pending) in batches of up to 100; returns the statuses.

        `post(url, content=..., headers=...)` defaults to httpx; tests pass a TestClient's post.
        """
        import httpx

        events = self.drain_events() if events is None else events
        statuses = []
        for i in range(0, len(events), batch_size):
            body, headers = self.signed_request(url, events[i : i + batch_size])
            if post is None:
                response = httpx.post(url, content=body, headers=headers, timeout=10)
            else:
                response = post(url, content=body, headers=headers)
            statuses.append(response.status_code)
        return statuses

    # --- faults and accounting ------------------------------------------------------------------

    def inject(self, kind: str, count: int = 1, **kw: Any) -> None:
        with self.lock:
            self.faults.append(Fault(kind=kind, remaining=count, **kw))

    def enforce_rate_limit(self, per_10s: int | None) -> None:
        self.rate_limit_per_10s = per_10s

    def total_calls(self) -> int:
        return sum(self.calls.values())

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.all_call_times.clear()
            self.call_times.clear()
            self.search_bodies.clear()

    def max_calls_in_window(self, window: float = 10.0) -> int:
        times = sorted(self.all_call_times)
        best = 0
        j = 0
        for i, t in enumerate(times):
            while times[j] <= t - window:
                j += 1
            best = max(best, i - j + 1)
        return best

    # --- HTTP app ---------------------------------------------------------------------------

    def _error(self, status: int, message: str, category: str | None, **extra: Any) -> JSONResponse:
        headers = extra.pop("_headers", None)
        body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
        if category is not None:
            body["category"] = category
        return JSONResponse({**body, **extra}, status_code=status, headers=headers)

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        fake = self

        @app.middleware("http")
        async def _accounting(request: Request, call_next):
            route = request.url.path
            for prefix in ("/crm/v3/objects/", "/crm/v4/associations/", "/crm/v3/properties/"):
                if route.startswith(prefix):
                    break
            key = f"{request.method} {route}"
            auth = request.headers.get("authorization", "")
            if auth != f"Bearer {fake.access_token}":
                return fake._error(
                    401,
                    "Authentication credentials not found.",
                    "INVALID_AUTHENTICATION",
                )
            now = fake.clock()
            with fake.lock:
                fake.calls[key] += 1
                fake.all_call_times.append(now)
                fake.call_times.append(now)
                while fake.call_times and fake.call_times[0] <= now - 10:
                    fake.call_times.popleft()
                fault = None
                for f in fake.faults:
                    if (
                        f.remaining > 0
                        and (f.path is None or f.path in route)
                        and (f.method is None or f.method == request.method)
                    ):
                        f.remaining -= 1
                        fault = f
                        break
                over = (
                    fake.rate_limit_per_10s is not None
                    and len(fake.call_times) > fake.rate_limit_per_10s
                )
            if over:
                return fake._rate_limited("TEN_SECONDLY_ROLLING", 1.0)
            if fault is not None:
                if fault.kind in ("429", "rolling"):
                    return fake._rate_limited("TEN_SECONDLY_ROLLING", fault.retry_after)
                if fault.kind == "daily":
                    return fake._rate_limited("DAILY", fault.retry_after)
                if fault.kind == "400":
                    return fake._error(400, "Property values were not valid", "VALIDATION_ERROR")
                # HubSpot's error-handling guide documents these two statuses, not their
                # bodies: the common error body, without a category.
                if fault.kind == "423":
                    return fake._error(423, "Locked", None)
                if fault.kind == "477":
                    after = fault.retry_after
                    return fake._error(
                        477,
                        "Migration in Progress",
                        None,
                        _headers={"Retry-After": str(int(after))} if after is not None else None,
                    )
                if fault.kind == "502_html":
                    # HubSpot's CDN (Cloudflare) answers a bad gateway with its own HTML page,
                    # not HubSpot's JSON error body.
                    return HTMLResponse(GATEWAY_HTML, status_code=502)
                if fault.kind.isdigit():
                    return fake._error(
                        int(fault.kind),
                        "internal error" if fault.kind == "500" else "bad gateway",
                        "INTERNAL_ERROR",
                    )
                if fault.kind == "timeout":
                    import asyncio

                    await asyncio.sleep(fault.delay)
                    return fake._error(504, "timeout", "INTERNAL_ERROR")
                if fault.kind == "lost_response":
                    response = await call_next(request)
                    import asyncio

                    await asyncio.sleep(fault.delay)
                    return response
            return await call_next(request)

        @app.get("/crm/v3/pipelines/{object_type}")
        def pipelines(object_type: str):
            if OBJECT_TYPES.get(object_type) != "deals":
                return fake._error(400, f"Unknown object type {object_type}", "VALIDATION_ERROR")
            with fake.lock:
                return {"results": fake.pipelines}

        @app.get("/crm/v3/objects/{object_type}/{object_id}")
        def get_object(object_type: str, object_id: str, request: Request):
            otype = OBJECT_TYPES.get(object_type)
            if otype is None:
                return fake._error(400, f"Unknown object type {object_type}", "VALIDATION_ERROR")

            if otype == "companies" and (refused := fake._without_scope(COMPANIES_SCOPE)):
                return refused

            def _list(name: str) -> list[str]:
                return [
                    v for raw in request.query_params.getlist(name) for v in raw.split(",") if v
                ]

            # HubSpot does not document a read asking for associations to companies without
            # the companies scope: the strictest reading, the whole read refused.
            asked = {OBJECT_TYPES.get(t) for t in _list("associations")}
            if "companies" in asked and (refused := fake._without_scope(COMPANIES_SCOPE)):
                return refused

            with fake.lock:
                object_id = fake._canonical(otype, object_id)
                obj = fake.objects[otype].get(object_id)
                if obj is None:
                    return fake._error(
                        404, "Object not found.  objectId are usually numeric.", "OBJECT_NOT_FOUND"
                    )
                out = fake._render(
                    otype,
                    obj,
                    _list("properties") or DEFAULT_PROPERTIES[otype],
                    _list("propertiesWithHistory"),
                )
                associations = {}
                for target in _list("associations"):
                    ttype = OBJECT_TYPES.get(target)
                    if ttype is None:
                        continue
                    linked = sorted(fake.assoc.get((otype, object_id, ttype), {}), key=int)
                    if not linked:
                        continue
                    key = "line items" if ttype == "line_items" else ttype
                    listed = fake._object_read_associations(otype, object_id, ttype, linked)
                    limit = fake.object_read_association_limit
                    entry = {"results": listed[:limit]}
                    if len(listed) > limit:
                        entry["paging"] = {"next": {"after": str(limit), "link": ""}}
                    associations[key] = entry
                if associations:
                    out["associations"] = associations
            return out

        @app.post("/crm/v3/objects/{object_type}/batch/read")
        async def batch_read(object_type: str, request: Request):
            otype = OBJECT_TYPES.get(object_type)
            body = await request.json()
            inputs = body.get("inputs") or []
            if otype is None:
                return fake._error(400, f"Unknown object type {object_type}", "VALIDATION_ERROR")
            if otype == "companies" and (refused := fake._without_scope(COMPANIES_SCOPE)):
                return refused
            if len(inputs) > MAX_BATCH:
                return fake._error(
                    400, f"Batch input limit is {MAX_BATCH}, got {len(inputs)}", "VALIDATION_ERROR"
                )
            props = body.get("properties") or DEFAULT_PROPERTIES[otype]
            with_history = body.get("propertiesWithHistory") or []
            if with_history and len(inputs) > MAX_HISTORY_BATCH:
                return fake._error(
                    400,
                    "The maximum number of inputs supported in a batch request for property "
                    f"histories is {MAX_HISTORY_BATCH}. Please reduce the number of items and "
                    "try again",
                    "VALIDATION_ERROR",
                )
            results, missing = [], []
            with fake.lock:
                for item in inputs:
                    obj = fake.objects[otype].get(fake._canonical(otype, str(item.get("id"))))
                    if obj is None:
                        missing.append(str(item.get("id")))
                        continue
                    results.append(fake._render(otype, obj, props, with_history))
            return fake._batch(results, missing, otype, status_ok=200)

        @app.post("/crm/v3/objects/{object_type}/batch/update")
        async def batch_update(object_type: str, request: Request):
            otype = OBJECT_TYPES.get(object_type)
            if (
                otype == "deals"
                and (refused := fake._without_scope("crm.objects.deals.write")) is not None
            ):
                return refused
            body = await request.json()
            inputs = body.get("inputs") or []
            if otype is None or len(inputs) > MAX_BATCH:
                return fake._error(400, "Invalid batch input", "VALIDATION_ERROR")
            results, missing = [], []
            with fake.lock:
                for item in inputs:
                    oid = str(item.get("id"))
                    if oid not in fake.objects[otype]:
                        missing.append(oid)
                        continue
                    bad = fake._unknown_properties(otype, item.get("properties") or {})
                    bad += fake._invalid_stage(otype, oid, item.get("properties") or {})
                    bad += fake._invalid_owner(otype, item.get("properties") or {})
                    bad += fake._too_long(otype, item.get("properties") or {})
                    bad += fake._rule_failures(otype, item.get("properties") or {})
                    if bad:
                        # One invalid input fails the whole batch, as HubSpot does.
                        return fake._error(
                            400,
                            "Property values were not valid: "
                            + json.dumps(bad, separators=(",", ":")),
                            "VALIDATION_ERROR",
                        )
                    obj = fake.update_object(
                        otype,
                        oid,
                        item.get("properties") or {},
                        source=("INTEGRATION", fake.app_id),
                    )
                    results.append(fake._render(otype, obj, list(item["properties"]), []))
            return fake._batch(results, missing, otype, status_ok=200)

        @app.post("/crm/v3/objects/{object_type}/batch/create")
        async def batch_create(object_type: str, request: Request):
            otype = OBJECT_TYPES.get(object_type)
            body = await request.json()
            inputs = body.get("inputs") or []
            if otype is None or len(inputs) > MAX_BATCH:
                return fake._error(400, "Invalid batch input", "VALIDATION_ERROR")
            results = []
            with fake.lock:
                bad = [
                    b
                    for item in inputs
                    for b in (
                        fake._invalid_owner(otype, item.get("properties") or {})
                        + fake._too_long(otype, item.get("properties") or {})
                        + fake._rule_failures(otype, item.get("properties") or {})
                    )
                ]
                if bad:  # one invalid input fails the whole batch, nothing is created
                    return fake._error(
                        400,
                        "Property values were not valid: " + json.dumps(bad, separators=(",", ":")),
                        "VALIDATION_ERROR",
                    )
                for item in inputs:
                    oid = fake.create_object(
                        otype,
                        item.get("properties") or {},
                        source=("INTEGRATION", fake.app_id),
                        emit=False,
                    )
                    for assoc in item.get("associations") or []:
                        to_id = str(assoc["to"]["id"])
                        type_id = assoc["types"][0]["associationTypeId"]
                        target = next(
                            (
                                b
                                for (a, b), t in ASSOCIATION_TYPE_IDS.items()
                                if a == otype and t == type_id
                            ),
                            None,
                        )
                        if target is None or to_id not in fake.objects[target]:
                            return fake._error(
                                400, f"invalid association {assoc}", "VALIDATION_ERROR"
                            )
                        fake.associate(
                            otype, oid, target, to_id, source=("INTEGRATION", fake.app_id)
                        )
                    obj = fake.objects[otype][oid]
                    results.append(fake._render(otype, obj, list(item.get("properties") or {}), []))
            return fake._batch(results, [], otype, status_ok=201)

        @app.post("/crm/v3/objects/{object_type}/search")
        async def search(object_type: str, request: Request):
            otype = OBJECT_TYPES.get(object_type)
            body = await request.json()
            if otype is None:
                return fake._error(400, "Unknown object type", "VALIDATION_ERROR")
            fake.search_bodies.append(body)
            limit = min(int(body.get("limit") or 10), 200)
            after = int(body.get("after") or 0)
            if after + limit > fake.search_max_results:
                return fake._error(
                    400,
                    f"Search results are limited to {fake.search_max_results}; page with a filter.",
                    "VALIDATION_ERROR",
                )
            groups = body.get("filterGroups") or []
            if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 18:
                return fake._error(400, "Too many filters", "VALIDATION_ERROR")
            props = body.get("properties") or DEFAULT_PROPERTIES[otype]
            with fake.lock:
                # HubSpot's search index trails writes: an object created in the last
                # `search_index_lag_seconds` is not found yet.
                indexed_before = fake.clock() - fake.search_index_lag_seconds
                matched = [
                    o
                    for o in fake.objects[otype].values()
                    if fake.created_at_clock.get((otype, o["id"]), 0.0) <= indexed_before
                    and (
                        not groups
                        or any(fake._matches(otype, o, g.get("filters") or []) for g in groups)
                    )
                ]
                matched.sort(key=lambda o: int(o["id"]))
                page = matched[after : after + limit]
                out: dict[str, Any] = {
                    "total": len(matched),
                    "results": [fake._render(otype, o, props, []) for o in page],
                }
                if after + limit < len(matched):
                    out["paging"] = {"next": {"after": str(after + limit), "link": ""}}
            return out

        @app.post("/crm/v4/associations/{from_type}/{to_type}/batch/read")
        async def associations(from_type: str, to_type: str, request: Request):
            a, b = OBJECT_TYPES.get(from_type), OBJECT_TYPES.get(to_type)
            body = await request.json()
            inputs = body.get("inputs") or []
            if a is None or b is None:
                return fake._error(400, "Unknown object type", "VALIDATION_ERROR")
            if len(inputs) > 1000:
                return fake._error(400, "Batch input limit is 1000", "VALIDATION_ERROR")
            bad = [str(i.get("id")) for i in inputs if not str(i.get("id", "")).isdigit()]
            if bad:
                # HubSpot's object ids are longs: an id that is not one fails the whole request
                # (the same shape as its other input-parsing errors), not just its own input.
                return fake._error(
                    400, f"Invalid input: {bad[0]!r} is not a valid object id", "VALIDATION_ERROR"
                )
            results, missing = [], []
            with fake.lock:
                for item in inputs:
                    fid = str(item["id"])
                    targets = sorted(
                        fake.assoc.get((a, fid, b), {}).items(), key=lambda kv: int(kv[0])
                    )
                    if not targets:
                        missing.append(fid)
                        continue
                    start = int(item.get("after") or 0)
                    page = targets[start : start + fake.association_page_size]
                    entry: dict[str, Any] = {
                        "from": {"id": fid},
                        "to": [
                            {
                                "toObjectId": int(tid),
                                "associationTypes": fake._association_types(
                                    a, fid, b, tid, type_id
                                ),
                            }
                            for tid, type_id in page
                        ],
                    }
                    if start + fake.association_page_size < len(targets):
                        nxt = str(start + fake.association_page_size)
                        entry["paging"] = {"next": {"after": nxt, "link": ""}}
                    results.append(entry)
            now = _iso()
            payload: dict[str, Any] = {
                "status": "COMPLETE",
                "results": results,
                "startedAt": now,
                "completedAt": now,
            }
            if missing:
                payload["numErrors"] = len(missing)
                payload["errors"] = [
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": f"No {SINGULAR[b]} is associated with {SINGULAR[a]} {m}.",
                        "context": {"fromObjectId": [m]},
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    }
                    for m in missing
                ]
                return JSONResponse(payload, status_code=207)
            return payload

        @app.post("/crm/v3/properties/{object_type}/groups")
        async def create_group(object_type: str, request: Request):
            body = await request.json()
            if (refused := fake._without_scope("crm.schemas.deals.write")) is not None:
                return refused
            otype = OBJECT_TYPES.get(object_type, object_type)
            with fake.lock:
                groups = fake.groups.setdefault(otype, {})
                if body["name"] in groups:
                    return fake._error(
                        409,
                        f"A property group named '{body['name']}' already exists.",
                        "OBJECT_ALREADY_EXISTS",
                    )
                group = {
                    "name": body["name"],
                    "label": body.get("label", body["name"]),
                    "displayOrder": body.get("displayOrder", -1),
                    "archived": False,
                }
                groups[body["name"]] = group
            return JSONResponse(group, status_code=201)

        @app.post("/crm/v3/properties/{object_type}")
        async def create_property(object_type: str, request: Request):
            body = await request.json()
            if (refused := fake._without_scope("crm.schemas.deals.write")) is not None:
                return refused
            otype = OBJECT_TYPES.get(object_type, object_type)
            with fake.lock:
                props = fake.properties.setdefault(otype, {})
                if body["name"] in props:
                    return fake._error(
                        409,
                        f"Property named '{body['name']}' already exists.",
                        "OBJECT_ALREADY_EXISTS",
                    )
                if body.get("groupName") not in fake.groups.get(otype, {}):
                    return fake._error(
                        400, f"group {body.get('groupName')} does not exist", "VALIDATION_ERROR"
                    )
                now = _iso()
                prop = {
                    "name": body["name"],
                    "label": body["label"],
                    "type": body["type"],
                    "fieldType": body["fieldType"],
                    "groupName": body["groupName"],
                    "description": body.get("description", ""),
                    "options": body.get("options", []),
                    "createdAt": now,
                    "updatedAt": now,
                    "hidden": False,
                    "formField": False,
                    "calculated": False,
                    "externalOptions": False,
                    "hasUniqueValue": False,
                    "modificationMetadata": {
                        "archivable": True,
                        "readOnlyDefinition": False,
                        "readOnlyValue": False,
                    },
                }
                props[body["name"]] = prop
            return JSONResponse(prop, status_code=201)

        @app.patch("/crm/v3/properties/{object_type}/{property_name}")
        async def update_property(object_type: str, property_name: str, request: Request):
            """PropertyUpdate: the fields given replace the stored ones (label, description,
            groupName, options, ...); an unknown property is a 404."""
            body = await request.json()
            if (refused := fake._without_scope("crm.schemas.deals.write")) is not None:
                return refused
            otype = OBJECT_TYPES.get(object_type, object_type)
            with fake.lock:
                prop = fake.properties.get(otype, {}).get(property_name)
                if prop is None:
                    return fake._error(
                        404, f"Unable to find property {property_name}", "OBJECT_NOT_FOUND"
                    )
                if "groupName" in body and body["groupName"] not in fake.groups.get(otype, {}):
                    return fake._error(
                        400, f"group {body['groupName']} does not exist", "VALIDATION_ERROR"
                    )
                for key in ("label", "description", "groupName", "options", "displayOrder",
                            "hidden", "formField"):  # fmt: skip
                    if key in body:
                        prop[key] = body[key]
                prop["updatedAt"] = _iso()
            return JSONResponse(prop)

        @app.get("/account-info/v3/details")
        def account_details():
            if not fake.account_details_readable:
                return fake._error(
                    403,
                    "This app hasn't been granted all required scopes to make this call.",
                    "MISSING_SCOPES",
                )
            offset = datetime.now(UTC).astimezone(ZoneInfo(fake.time_zone)).utcoffset()
            ms = int(offset.total_seconds() * 1000) if offset is not None else 0
            sign = "-" if ms < 0 else "+"
            hours, minutes = divmod(abs(ms) // 60_000, 60)
            return {
                "portalId": int(fake.portal_id),
                "accountType": "STANDARD",
                "timeZone": fake.time_zone,
                "companyCurrency": fake.company_currency,
                "additionalCurrencies": sorted(fake.exchange_rates),
                "utcOffset": f"{sign}{hours:02d}:{minutes:02d}",
                "utcOffsetMilliseconds": ms,
                "uiDomain": fake.ui_domain,
                "dataHostingLocation": "na1",
            }

        # CRM Owners API v3 (scope crm.objects.owners.read). `archived=true` returns only
        # archived owners (deactivated users), and without it only active ones, for the list
        # and for a single owner alike ("Whether to return only results that have been
        # archived", default false). The list pages by `after` (at most 500 a page).
        def _archived_flag(request: Request) -> bool:
            return request.query_params.get("archived", "false").lower() == "true"

        @app.get("/crm/v3/owners")
        @app.get("/crm/v3/owners/")
        def owners_page(request: Request):
            if (refused := fake._without_scope("crm.objects.owners.read")) is not None:
                return refused
            query = request.query_params
            try:
                limit = int(query.get("limit", "100"))
                start = int(query.get("after", "0"))
            except ValueError:
                return fake._error(400, "Invalid paging parameters", "VALIDATION_ERROR")
            if not 1 <= limit <= OWNERS_PAGE_MAX or start < 0:
                return fake._error(
                    400, f"limit must be between 1 and {OWNERS_PAGE_MAX}", "VALIDATION_ERROR"
                )
            archived = _archived_flag(request)
            email = query.get("email")
            with fake.lock:
                owners = [
                    o
                    for o in map(fake._owner_json, fake.owners.values())
                    if o["archived"] == archived and (email is None or o["email"] == email)
                ]
            owners.sort(key=lambda o: int(o["id"]))
            page = owners[start : start + limit]
            body: dict[str, Any] = {"results": page}
            if start + limit < len(owners):
                after = str(start + limit)
                body["paging"] = {
                    "next": {
                        "after": after,
                        "link": f"{fake.base_url}/crm/v3/owners/?limit={limit}&after={after}",
                    }
                }
            return body

        @app.get("/crm/v3/owners/{owner_id}")
        def owner_by_id(owner_id: str, request: Request):
            if (refused := fake._without_scope("crm.objects.owners.read")) is not None:
                return refused
            if not owner_id.isdigit():
                return fake._error(
                    400,
                    "Invalid input",
                    "VALIDATION_ERROR",
                    context={"ownerId": ["Must be a valid ID"]},
                )
            by_user = request.query_params.get("idProperty", "id") == "userId"
            archived = _archived_flag(request)
            with fake.lock:
                found = [
                    o
                    for o in map(fake._owner_json, fake.owners.values())
                    if (str(o["userIdIncludingInactive"]) if by_user else o["id"]) == owner_id
                    and o["archived"] == archived
                ]
            if not found:
                return fake._error(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")
            return found[0]

        @app.post("/oauth/v2/private-apps/get/access-token-info")
        async def token_info(request: Request):
            body = await request.json()
            if body.get("tokenKey") != fake.access_token:
                return fake._error(404, "Token not found", "OBJECT_NOT_FOUND")
            return {
                "userId": 1,
                "hubId": int(fake.portal_id),
                "appId": int(fake.app_id),
                "scopes": fake.scopes,
            }

        return app

    def _without_scope(self, scope: str) -> JSONResponse | None:
        """HubSpot's 403 for a call the token's scopes do not cover (category MISSING_SCOPES,
        the scope required named in `errors[].context.requiredScopes`); None when granted."""
        if scope in self.scopes:
            return None
        return self._error(
            403,
            "This app hasn't been granted all required scopes to make this call. Read more "
            "about required scopes here: https://developers.hubspot.com/scopes.",
            "MISSING_SCOPES",
            errors=[
                {
                    "message": "One or more of the following scopes are required.",
                    "context": {"requiredScopes": [scope]},
                }
            ],
        )

    def _rate_limited(self, policy: str, retry_after: float | None) -> JSONResponse:
        label = "ten_secondly_rolling" if policy != "DAILY" else "daily"
        headers = {
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": str(self.rate_limit_per_10s or 100),
            "X-HubSpot-RateLimit-Remaining": "0",
        }
        if policy == "DAILY":
            headers["X-HubSpot-RateLimit-Daily"] = "250000"
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = "0"
        if retry_after is not None:
            headers["Retry-After"] = str(int(retry_after) if retry_after >= 1 else retry_after)
        body = {
            "status": "error",
            "message": f"You have reached your {label} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "requestId": uuid.uuid4().hex,
        }
        return JSONResponse(body, status_code=429, headers=headers)

    def _invalid_stage(self, otype: str, oid: str, props: dict) -> list[dict]:
        """HubSpot refuses a dealstage that is not a stage of the deal's pipeline, in its
        validation result shape (as `_invalid_owner`)."""
        if otype != "deals" or not props.get("dealstage"):
            return []
        pipeline = props.get("pipeline") or self.objects["deals"][oid]["properties"].get("pipeline")
        stages = [st["id"] for p in self.pipelines if p["id"] == pipeline for st in p["stages"]]
        if props["dealstage"] in stages:
            return []
        message = f"{props['dealstage']} was not one of the allowed options: [{', '.join(stages)}]"
        return [
            {
                "isValid": False,
                "message": message,
                "error": "INVALID_OPTION",
                "name": "dealstage",
                "localizedErrorMessage": message,
            }
        ]

    def _invalid_owner(self, otype: str, props: dict) -> list[dict]:
        """An engagement's owner that is no (active) owner, in HubSpot's validation result
        shape: {"isValid": false, "message": "... was not one of the allowed options ...",
        "error": "INVALID_OPTION", "name": "hubspot_owner_id"}, JSON inside the message."""
        owner = props.get("hubspot_owner_id")
        if otype not in ("tasks", "notes") or not owner or owner not in self.archived_owners:
            return []
        message = f"{owner} was not one of the allowed options"
        return [
            {
                "isValid": False,
                "message": message,
                "error": "INVALID_OPTION",
                "name": "hubspot_owner_id",
                "localizedErrorMessage": message,
            }
        ]

    def _too_long(self, otype: str, props: dict) -> list[dict]:
        """An engagement's body over HubSpot's documented limit ("hs_note_body: the note's
        text content, limited to 65,536 characters"; a task's body likewise), refused in the
        validation result shape. HubSpot does not document the exact error of a longer value:
        the fake's message says what was wrong."""
        if otype not in ("tasks", "notes"):
            return []
        return [
            {
                "isValid": False,
                "message": f"{name} is {len(value)} characters long, more than {BODY_LIMIT}",
                "error": "INVALID_STRING",
                "name": name,
            }
            for name in ("hs_task_body", "hs_note_body")
            if isinstance(value := props.get(name), str) and len(value) > BODY_LIMIT
        ]

    def _unknown_properties(self, otype: str, props: dict) -> list[dict]:
        """Our properties the portal does not have (never created, or deleted by an admin), and
        values of its enumeration properties that are none of their options, in HubSpot's
        validation result shape: {"isValid": false, "message": "Property \\"x\\" does not
        exist", "error": "PROPERTY_DOESNT_EXIST", "name": "x"} and {..., "message": "v was not
        one of the allowed options", "error": "INVALID_OPTION", ...}, JSON inside the message."""
        known = self.properties.get(otype)
        if not known:
            return []
        bad = []
        for name, value in props.items():
            prop = known.get(name)
            if prop is None:
                if not name.startswith("roadmap_guard"):
                    continue
                message, error = f'Property "{name}" does not exist', "PROPERTY_DOESNT_EXIST"
            elif (
                prop.get("type") == "enumeration"
                and value not in (None, "")
                and value not in {o.get("value") for o in prop.get("options") or []}
            ):
                message, error = f"{value} was not one of the allowed options", "INVALID_OPTION"
            else:
                continue
            bad.append(
                {
                    "isValid": False,
                    "message": message,
                    "error": error,
                    "name": name,
                    "localizedErrorMessage": message,
                }
            )
        return bad

    def _render(
        self, otype: str, obj: dict, props: Iterable[str], with_history: Iterable[str]
    ) -> dict:
        names = set(props) | {"hs_object_id", "createdate", "hs_lastmodifieddate"}
        values = self._with_calculated(otype, obj["properties"])
        out = {
            "id": obj["id"],
            "properties": {n: values.get(n) for n in sorted(names)},
            "createdAt": obj["createdAt"],
            "updatedAt": obj["updatedAt"],
            "archived": False,
        }
        with_history = list(with_history)
        if with_history:
            out["propertiesWithHistory"] = {
                n: self.history.get((otype, obj["id"], n), []) for n in with_history
            }
        return out

    def _with_calculated(self, otype: str, props: dict) -> dict:
        """The record's properties with the calculated ones HubSpot derives on read (and
        searches on): a deal's `amount_in_home_currency` and `hs_is_closed` (its stage is a
        closed one of its pipeline)."""
        if otype != "deals":
            return props
        closed = any(
            st["id"] == props.get("dealstage") and st["metadata"].get("isClosed") == "true"
            for p in self.pipelines
            if p["id"] == props.get("pipeline")
            for st in p["stages"]
        )
        return {
            **props,
            "amount_in_home_currency": self._home_amount(props),
            "hs_is_closed": "true" if closed else "false",
        }

    def _home_amount(self, props: dict) -> str | None:
        """The calculated "Amount in company currency": the amount times its currency's
        exchange rate (a deal without a currency code is in the company currency); None for a
        currency the portal has no rate for."""
        amount = props.get("amount")
        if amount in (None, ""):
            return None
        code = props.get("deal_currency_code") or self.company_currency
        rate = 1.0 if code == self.company_currency else self.exchange_rates.get(code)
        if rate is None:
            return None
        return str(round(float(amount) * rate, 2))

    def _batch(
        self, results: list, missing: list[str], otype: str, *, status_ok: int
    ) -> JSONResponse:
        now = _iso()
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if missing:
            payload["numErrors"] = 1
            payload["errors"] = [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {SINGULAR[otype]} objects, they may be "
                    "deleted or not exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            ]
            return JSONResponse(payload, status_code=207)
        return JSONResponse(payload, status_code=status_ok)

    def _matches(self, otype: str, obj: dict, filters: list[dict]) -> bool:
        for f in filters:
            name, op = f["propertyName"], f["operator"]
            if name.startswith("associations."):
                target = OBJECT_TYPES.get(name.split(".", 1)[1])
                linked = self.assoc.get((otype, obj["id"], target), {}) if target else {}
                if op == "EQ" and str(f.get("value")) not in linked:
                    return False
                if op == "IN" and not set(map(str, f.get("values") or [])) & set(linked):
                    return False
                continue
            value = self._with_calculated(otype, obj["properties"]).get(name)
            want = f.get("value")
            if op == "EQ" and str(value) != str(want):
                return False
            if op == "NEQ" and str(value) == str(want):
                return False
            if op == "IN" and str(value) not in {str(v) for v in f.get("values") or []}:
                return False
            if op == "HAS_PROPERTY" and value in (None, ""):
                return False
            if op == "NOT_HAS_PROPERTY" and value not in (None, ""):
                return False
            if op == "CONTAINS_TOKEN" and str(want).lower() not in _tokens(value):
                return False
            if op in ("GT", "GTE", "LT", "LTE"):
                if value is None:
                    return False
                left, right = _comparable(value), _comparable(want)
                ok = {
                    "GT": left > right,
                    "GTE": left >= right,
                    "LT": left < right,
                    "LTE": left <= right,
                }[op]
                if not ok:
                    return False
        return True


def _tokens(value: Any) -> set[str]:
    """HubSpot search tokenizes text on anything that is not a letter or digit."""
    import re

    return set(re.findall(r"[a-z0-9]+", str(value or "").lower()))


def _comparable(value: Any) -> float:
    """Search compares dates as epoch ms; accept ISO strings or numbers."""
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000
