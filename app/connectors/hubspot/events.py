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

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.connectors.hubspot import properties as P
from app.jobs.ingest import InboundEvent

SOURCE = "hubspot"
CRM = "hubspot"
MAX_EVENTS = 100

DEAL_PROPERTIES = {"dealstage", "amount", "closedate", "pipeline", "hubspot_owner_id"}
LINE_ITEM_EVENT = "line_item.propertyChange"
ASSOCIATED_TYPES = {"LINE_ITEM", "NOTE", "ENGAGEMENT"}


@dataclass
class Classified:
    events: list[InboundEvent] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1


def dedup_key(event: dict) -> str:
    return ":".join(
        str(event.get(k, "")) for k in ("portalId", "subscriptionId", "eventId", "occurredAt")
    )


def _deal_of_association(event: dict) -> str | None:
    kind = str(event.get("associationType") or "")
    left, _, right = kind.partition("_TO_")
    if left == "DEAL" and right in ASSOCIATED_TYPES:
        return str(event.get("fromObjectId") or "") or None
    if right == "DEAL" and left in ASSOCIATED_TYPES:
        return str(event.get("toObjectId") or "") or None
    return None


def merge_ids(event: dict) -> list[str]:
    """The other deals a `deal.merge` event names besides its objectId: the primary, the merged
    (secondary) ones, and the deal HubSpot may create from the merge (`newObjectId`)."""
    ids = [
        event.get("primaryObjectId"),
        *(event.get("mergedObjectIds") or []),
        event.get("newObjectId"),
    ]
    own = str(event.get("objectId") or "")
    return [i for i in dict.fromkeys(str(i) for i in ids if i not in (None, "")) if i != own]


def classify_events(
    events: Iterable[dict],
    *,
    portal_id: str | None,
    app_id: str | None,
    guard_property: str = P.DEFAULT_GUARD,
) -> Classified:
    """Every event is stored (for the record); only the ones that matter queue a deal."""
    out = Classified()
    own = P.own_properties(guard_property)
    for event in events:
        kind = str(event.get("subscriptionType") or "")
        deal_id: str | None = None
        actionable = True
        if portal_id and str(event.get("portalId")) != str(portal_id):
            out.ignore("other_portal")
            continue
        if app_id and event.get("appId") is not None and str(event.get("appId")) != str(app_id):
            out.ignore("other_app")
            continue
        source_id = str(event.get("sourceId") or "")
        ours = (
            event.get("changeSource") == "INTEGRATION"
            and app_id is not None
            and (source_id == str(app_id) or source_id.endswith(f":{app_id}"))
        )
        object_id = str(event.get("objectId") or "") or None
        if kind in ("deal.creation", "deal.deletion", "deal.restore", "deal.merge"):
            deal_id = object_id
        elif kind == "deal.propertyChange":
            deal_id = object_id
            name = event.get("propertyName")
            if name in own or str(name or "").startswith(P.OWN_PROPERTY_PREFIX):
                actionable = False  # only our own properties changed
            elif name not in DEAL_PROPERTIES:
                actionable = False
        elif kind == "deal.associationChange" or kind in (
            "line_item.associationChange",
            "note.associationChange",
        ):
            deal_id = _deal_of_association(event)
            if deal_id is None:
                actionable = False
        elif kind == LINE_ITEM_EVENT:
            # Resolved to its deal later by the hubspot_line_items schedule.
            actionable = False
        else:
            actionable = False
        if ours:
            actionable = False
        if not actionable:
            out.ignore(
                "ours" if ours else "not_relevant" if kind != LINE_ITEM_EVENT else "to_resolve"
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
                        dedup_key=f"{dedup_key(event)}:merge:{other}",
                        crm=CRM,
                        deal_id=other,
                        event_type=kind,
                        payload={"mergeEvent": dedup_key(event), "objectId": other},
                    )
                )
    return out
