"""HubSpot webhook events → InboundEvents for the inbox.

Identity: HubSpot documents `eventId` as "not guaranteed to be unique", and a redelivery carries
the same event with a higher `attemptNumber`. The dedup key is therefore
portalId:subscriptionId:eventId:occurredAt: eventId is scoped by the subscription that produced
it (and the portal), occurredAt separates reused ids, and attemptNumber is left out so retries of
one event collapse into one row.

Line-item property changes carry the line item id, not the deal. Resolving the deal needs an API
call, and the webhook must answer fast and must not depend on HubSpot's API budget, so the event
is stored (not actionable) and the `hubspot_line_items` schedule resolves stored line-item events
to deals in batches (v4 associations, up to 1000 per call) and queues them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog

from app.connectors.hubspot import properties as P
from app.jobs.ingest import InboundEvent
from app.models.types import map_text

SOURCE = "hubspot"
CRM = "hubspot"
MAX_EVENTS = 100
MAX_DEDUP_KEY = 255  # webhook_event.dedup_key
log = structlog.get_logger("app.webhooks.hubspot")
# Portals seen while HUBSPOT_PORTAL_ID is unset: each is logged once per process.
_UNCHECKED_PORTALS: set[str] = set()
# After json.loads a valid pair is one code point: any surrogate left in a str is a lone one
# ("\ud800" in the JSON), which UTF-8 cannot encode and PostgreSQL refuses.
_SURROGATE = re.compile("[\ud800-\udfff]")

# What a deal's evaluation and totals read; a change to any other property queues nothing.
# deal_currency_code: a new currency changes amount_in_home_currency, what totals add.
# dealname: the task's subject and the deal lists name the deal by it.
DEAL_PROPERTIES = {
    "dealname",
    "dealstage",
    "amount",
    "deal_currency_code",
    "closedate",
    "pipeline",
    "hubspot_owner_id",
}
LINE_ITEM_EVENT = "line_item.propertyChange"
# A note's text edited (generic subscriptions only: the legacy ones have no notes). Like a
# line item's change it names the note, not the deal: resolved by the same schedule.
NOTE_EVENT = "note.propertyChange"
# A line item or note deleted: HubSpot can no longer say which deal it was on, so the
# schedule asks the dependency index which deals a feature reference of it came from.
LINE_ITEM_DELETION = "line_item.deletion"
NOTE_DELETION = "note.deletion"
# A line item or note restored from the recycle bin (HubSpot's restore subscriptions, legacy
# `line_item.restore` or generic `object.restore`) comes back with its deal associations: its
# deals are resolved like a change's. Ignored, a restored SSO line item (or promise) left the
# deal its deletion had cleared "clear", guard property filled, until something else changed.
LINE_ITEM_RESTORE = "line_item.restore"
NOTE_RESTORE = "note.restore"
RESOLVED_LATER = (
    LINE_ITEM_EVENT,
    NOTE_EVENT,
    LINE_ITEM_DELETION,
    NOTE_DELETION,
    LINE_ITEM_RESTORE,
    NOTE_RESTORE,
)
ASSOCIATED_TYPES = {"LINE_ITEM", "NOTE", "ENGAGEMENT"}
# Generic subscriptions ("object.creation", "object.propertyChange", ...: HubSpot's generic
# webhook subscriptions, the crmObjects of an app on its developer platform) name the object
# type in `objectTypeId` (associations: `fromObjectTypeId` and `toObjectTypeId`) instead of
# in the subscription type. These are the types whose events matter here.
OBJECT_TYPE_IDS = {"0-3": "deal", "0-8": "line_item", "0-46": "note"}
GENERIC_PREFIX = "object."
GENERIC_ASSOCIATION = "object.associationChange"


@dataclass
class Classified:
    events: list[InboundEvent] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    # "event 3: lacks eventId": what was wrong with each malformed event (`malformed`).
    problems: list[str] = field(default_factory=list)

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1


# What makes a HubSpot event one event: a redelivery carries the same values. HubSpot documents
# `eventId` as not guaranteed unique, and an import changes many records at one `occurredAt`:
# the object's id tells two records' changes apart.
_DEDUP_FIELDS = ("portalId", "subscriptionId", "eventId", "occurredAt", "objectId")


def dedup_key(event: dict) -> str:
    return storable_key(":".join(str(event.get(k, "")) for k in _DEDUP_FIELDS))


def storable_key(key: str) -> str:
    """`key`, or a digest of it (stable across redeliveries) when it would not fit the
    dedup_key column: HubSpot's ids are short integers, but a signed event with odd ones must
    not fail the insert of its whole delivery on PostgreSQL."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def without_lone_surrogates(value: object) -> object:
    """`value` with every lone surrogate in its text (keys included) replaced by U+FFFD, as a
    NUL is (`models.types.storable`); the same object when there is none."""
    return map_text(value, _surrogate_free)


def _surrogate_free(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def valid_merged_ids(event: dict) -> bool:
    """Whether the event's merge ids, when present, are what HubSpot documents:
    `mergedObjectIds` a list of object ids, `primaryObjectId` and `newObjectId` object ids. A
    bare integer failed with a 500; a string "123" named deals 1, 2 and 3; an id past int64
    was dropped without a word."""
    ids = event.get("mergedObjectIds")
    if ids is not None and not (isinstance(ids, list) and all(_an_id(i) for i in ids)):
        return False
    return all(event.get(k) is None or _an_id(event[k]) for k in ("primaryObjectId", "newObjectId"))


def _an_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and object_id(value) is not None


def malformed(event: object) -> str | None:
    """What makes one event of a signed delivery unusable, or None: not an object, no
    `eventId` or `subscriptionType` (its identity and kind), `mergedObjectIds` not a list of
    integers. Such an event is stored for the record and queues nothing; the delivery's other
    events are kept. Refusing the delivery (a 4xx other than 400/401/403/404/405) made HubSpot
    retry it ten times and then drop it, every good event in it lost."""
    if not isinstance(event, dict):
        return f"not an event object but {type(event).__name__}"
    lacking = [k for k in ("eventId", "subscriptionType") if event.get(k) is None]
    if lacking:
        return "lacks " + " and ".join(lacking)
    if not valid_merged_ids(event):
        return (
            "mergedObjectIds, primaryObjectId or newObjectId is not a HubSpot object id (a "
            "positive 64-bit integer; mergedObjectIds a list of them)"
        )
    return None


def content_key(payload: dict) -> str:
    """The dedup key of an event without a usable identity: a digest of its content (less
    the attempt number, so HubSpot's redeliveries of it collapse into one row)."""
    content = {k: v for k, v in payload.items() if k != "attemptNumber"}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"malformed:{digest}"


MAX_OBJECT_ID = 2**63 - 1  # HubSpot's object ids are 64-bit integers


def object_id(value: object) -> str | None:
    """A HubSpot object id as text, or None when it is not one: HubSpot's ids are positive
    integers. A signed event naming "abc" or -1 (a sender's bug) is stored for the record but
    queues nothing: read in a batch it would fail the other deals of that batch."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        return None
    number = int(text)
    return str(number) if 0 < number <= MAX_OBJECT_ID else None


def event_kind(event: dict) -> str:
    """The event's kind in the legacy terms this module speaks: a generic "object.*" event of
    a deal or line item is the "deal.*" or "line_item.*" event it stands for ("object.
    propertyChange" with objectTypeId "0-3" is a "deal.propertyChange"). Classified under its
    subscriptionType alone, every generic event was "not relevant": an app subscribed the
    generic way had no deal queued by any webhook."""
    kind = str(event.get("subscriptionType") or "")
    if kind.startswith(GENERIC_PREFIX) and kind != GENERIC_ASSOCIATION:
        name = OBJECT_TYPE_IDS.get(str(event.get("objectTypeId") or ""))
        if name is not None:
            return name + kind[len(GENERIC_PREFIX) - 1 :]
    return kind


def _association_sides(event: dict) -> tuple[str, str]:
    """("DEAL", "LINE_ITEM") for an association from a deal to a line item: from the object
    type ids of a generic event, else from the legacy `associationType` ("DEAL_TO_LINE_ITEM")."""
    left = OBJECT_TYPE_IDS.get(str(event.get("fromObjectTypeId") or ""))
    right = OBJECT_TYPE_IDS.get(str(event.get("toObjectTypeId") or ""))
    if left is not None and right is not None:
        return left.upper(), right.upper()
    kind = str(event.get("associationType") or "")
    left_name, _, right_name = kind.partition("_TO_")
    return left_name, right_name


def _deal_of_association(event: dict) -> tuple[bool, object]:
    """(whether the association involves a deal we read, the raw id of that deal)."""
    left, right = _association_sides(event)
    if left == "DEAL" and right in ASSOCIATED_TYPES:
        return True, event.get("fromObjectId")
    if right == "DEAL" and left in ASSOCIATED_TYPES:
        return True, event.get("toObjectId")
    return False, None


def merge_ids(event: dict) -> list[str]:
    """The other deals a `deal.merge` event names besides its objectId: the primary, the merged
    (secondary) ones, and the deal HubSpot may create from the merge (`newObjectId`)."""
    merged = event.get("mergedObjectIds") if valid_merged_ids(event) else None
    ids = [event.get("primaryObjectId"), *(merged or []), event.get("newObjectId")]
    own = object_id(event.get("objectId"))
    valid = (object_id(i) for i in ids)
    return [i for i in dict.fromkeys(i for i in valid if i is not None) if i != own]


def _kept_for_the_record(event: dict, kind: str) -> InboundEvent:
    """An event stored as received and queuing nothing (another portal's or app's)."""
    return InboundEvent(
        source=SOURCE,
        dedup_key=dedup_key(event),
        crm=CRM,
        deal_id=None,
        event_type=kind[:128] or None,
        payload=event,
        actionable=False,
    )


def classify_events(
    events: Iterable[object],
    *,
    portal_id: str | None,
    app_id: str | None,
    guard_property: str = P.DEFAULT_GUARD,
) -> Classified:
    """Every event is stored (for the record); only the ones that matter queue a deal. A
    malformed event (`malformed`) is stored as received under a digest of its content."""
    out = Classified()
    own = P.own_properties(guard_property)
    seen_portals: set[str] = set()
    for index, event in enumerate(events):
        problem = malformed(event)
        if problem is not None:
            out.ignore("malformed")
            out.problems.append(f"event {index}: {problem}")
            payload = event if isinstance(event, dict) else {"value": event}
            kind = payload.get("subscriptionType")
            out.events.append(
                InboundEvent(
                    source=SOURCE,
                    dedup_key=content_key(payload),
                    crm=CRM,
                    deal_id=None,
                    event_type=kind[:128] if isinstance(kind, str) and kind else None,
                    payload=payload,
                    actionable=False,
                )
            )
            continue
        assert isinstance(event, dict)  # `malformed` said so
        kind = event_kind(event)
        deal_id: str | None = None
        actionable = True
        if portal_id and str(event.get("portalId")) != str(portal_id):
            out.ignore("other_portal")
            out.events.append(_kept_for_the_record(event, kind))
            continue
        if not portal_id:
            # Any portal that installed the app is accepted: HUBSPOT_PORTAL_ID should be set
            # (docs/hubspot.md). Visible meanwhile, so a second portal is noticed.
            seen_portals.add(str(event.get("portalId")))
        if app_id and event.get("appId") is not None and str(event.get("appId")) != str(app_id):
            out.ignore("other_app")
            out.events.append(_kept_for_the_record(event, kind))
            continue
        source_id = str(event.get("sourceId") or "")
        ours = (
            event.get("changeSource") == "INTEGRATION"
            and app_id is not None
            and (source_id == str(app_id) or source_id.endswith(f":{app_id}"))
        )
        names_deal, raw_id = False, None  # whether the event names a deal to read, and its id
        if kind in ("deal.creation", "deal.deletion", "deal.restore", "deal.merge"):
            names_deal, raw_id = True, event.get("objectId")
        elif kind == "deal.propertyChange":
            names_deal, raw_id = True, event.get("objectId")
            # HubSpot's property names are text: a list or object here (a signed sender's bug)
            # was unhashable and failed the whole delivery with a 500, its good events with it.
            name = event.get("propertyName")
            name = name if isinstance(name, str) else None
            if name in own or str(name or "").startswith(P.OWN_PROPERTY_PREFIX):
                # Our own properties: our writes' echo is nothing to do; a hand edit (in the
                # UI, an import, a workflow, another app) is read and put back, so a guard
                # property filled by hand on a blocked deal does not stay filled.
                change_source = str(event.get("changeSource") or "")
                actionable = change_source not in ("", "INTEGRATION") or (
                    change_source == "INTEGRATION" and app_id is not None and not ours
                )
            elif name not in DEAL_PROPERTIES:
                actionable = False
        elif kind in (
            "deal.associationChange",
            "line_item.associationChange",
            "note.associationChange",
            GENERIC_ASSOCIATION,
        ):
            names_deal, raw_id = _deal_of_association(event)
            if not names_deal:
                actionable = False
        elif kind in RESOLVED_LATER:
            # Resolved to its deal later by the hubspot_line_items schedule.
            actionable = False
        else:
            actionable = False
        if names_deal:
            deal_id = object_id(raw_id)
        if ours:
            actionable = False
        bad_id = names_deal and deal_id is None and actionable
        if bad_id:
            actionable = False
        if not actionable:
            out.ignore(
                "ours"
                if ours
                else "bad_object_id"
                if bad_id
                else "not_relevant"
                if kind not in RESOLVED_LATER
                else "to_resolve"
            )
        out.events.append(
            InboundEvent(
                source=SOURCE,
                dedup_key=dedup_key(event),
                crm=CRM,
                deal_id=deal_id if actionable else None,
                event_type=kind[:128] or None,
                payload=event,
                actionable=actionable,
            )
        )
        if kind == "deal.merge" and actionable:
            # One queue row per deal the merge touched: reading a merged-away deal finds it gone
            # (it reads back under another id), so it stops being tracked and counted in
            # exposure; the surviving deal is read and evaluated with its new line items.
            for other in merge_ids(event):
                out.events.append(
                    InboundEvent(
                        source=SOURCE,
                        dedup_key=storable_key(f"{dedup_key(event)}:merge:{other}"),
                        crm=CRM,
                        deal_id=other,
                        event_type=kind,
                        payload={"mergeEvent": dedup_key(event), "objectId": other},
                        derived=True,
                    )
                )
    if out.problems:
        log.warning(
            "HubSpot delivery with malformed events: stored, nothing queued for them",
            malformed=len(out.problems),
            problems=out.problems[:10],
        )
    new_portals = seen_portals - _UNCHECKED_PORTALS
    if new_portals and len(_UNCHECKED_PORTALS) < 1000:
        _UNCHECKED_PORTALS.update(new_portals)
        log.warning(
            "HubSpot events accepted from a portal without a portal check: set HUBSPOT_PORTAL_ID",
            portals=sorted(new_portals)[:10],
        )
    return out
