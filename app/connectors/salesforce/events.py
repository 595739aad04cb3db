"""Turn what Salesforce sends (outbound notifications, signed JSON events) into InboundEvents.

Identity for deduplication: an outbound message's Notification Id (Salesforce redelivers the
same notification, even after an Ack, with the same Id); a JSON event's own `id` (a Flow can
send `{!$Flow.InterviewGuid}`, Apex a UUID or the platform event's ReplayId).

Loop guard: a change whose LastModifiedById (outbound) or `changedById` (JSON) is the
integration user is our own write coming back; it is stored for the record and queues nothing.

Only opportunities are deals: an id that is not one (prefix 006; an Account 001..., a User
005..., a Task whose WhatId is an Account) is stored for the record and queues nothing.

What is stored must fit its column on PostgreSQL too (dedup_key 255, event_type 128): a longer
Notification Id is stored under a digest of itself (stable across redeliveries), a longer
sObject type is cut, so one odd notification cannot fail the insert of its whole message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from app.connectors.salesforce.ids import same_id, to18
from app.connectors.salesforce.outbound import OutboundMessage
from app.errors import error_message
from app.jobs.ingest import InboundEvent

OUTBOUND_SOURCE = "salesforce_outbound"
EVENTS_SOURCE = "salesforce_events"
MAX_JSON_EVENTS = 200
# sObject type → the field naming its opportunity.
OPPORTUNITY_FIELD = {"Opportunity": "Id", "OpportunityLineItem": "OpportunityId", "Task": "WhatId"}
OPPORTUNITY_PREFIX = "006"  # Salesforce's key prefix of the Opportunity object
MAX_DEDUP_KEY = 255  # webhook_event.dedup_key
MAX_EVENT_TYPE = 128  # webhook_event.event_type


def is_opportunity(record_id: str | None) -> bool:
    return bool(record_id) and record_id.startswith(OPPORTUNITY_PREFIX)


def storable_key(key: str) -> str:
    """`key`, or a digest of it when it would not fit the dedup_key column."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def org_matches(configured: str | None, received: str) -> bool:
    """OrganizationId check, accepting the 15- and the 18-character form of either side."""
    return bool(configured) and same_id(configured, received)


def outbound_events(
    message: OutboundMessage, *, integration_user_id: str | None
) -> list[InboundEvent]:
    events = []
    for n in message.notifications:
        field = OPPORTUNITY_FIELD.get(n.sobject_type)
        raw_id = n.fields.get(field) if field else None
        deal_id = None
        if raw_id:
            try:
                deal_id = to18(raw_id)
            except ValueError:
                deal_id = None
        if not is_opportunity(deal_id):
            deal_id = None
        ours = same_id(n.fields.get("LastModifiedById"), integration_user_id)
        events.append(
            InboundEvent(
                source=OUTBOUND_SOURCE,
                dedup_key=storable_key(n.notification_id),
                crm="salesforce",
                deal_id=deal_id,
                event_type=f"outbound.{n.sobject_type or 'unknown'}"[:MAX_EVENT_TYPE],
                # The fields the admin chose to send; never the SessionId (a live credential).
                payload={
                    "action_id": message.action_id,
                    "sobject_type": n.sobject_type,
                    "fields": n.fields,
                    "own_change": ours,
                },
                actionable=bool(deal_id) and not ours,
            )
        )
    return events


class OpportunityEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1, max_length=200, description="unique per event; the dedup key")
    opportunity_id: str = Field(alias="opportunityId")
    changed: list[str] = Field(default_factory=list, max_length=200, description="field names")
    changed_by_id: str | None = Field(default=None, alias="changedById")
    source: str | None = Field(
        default=None, max_length=64, description="flow | apex | platform_event"
    )

    @field_validator("opportunity_id", "changed_by_id")
    @classmethod
    def _salesforce_id(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return to18(value)
        except ValueError:
            raise ValueError("must be a 15- or 18-character Salesforce id") from None


class EventsEnvelope(BaseModel):
    """The batch around the events: `{"events": [...]}`, 1 to 200 of them. Each event is
    checked on its own (`parse_events`)."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_JSON_EVENTS)


@dataclass
class ParsedEvents:
    events: list[OpportunityEvent] = field(default_factory=list)
    # (index in the batch, the element as sent, its errors with `loc` from the batch's root)
    malformed: list[tuple[int, Any, list[dict[str, Any]]]] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What was wrong with each malformed event, e.g. "event 2: opportunityId: must be a
        15- or 18-character Salesforce id"."""
        return [
            f"event {i}: "
            + "; ".join(
                f"{'.'.join(str(p) for p in e['loc'][2:]) or 'event'}: {e['msg']}" for e in errs
            )
            for i, _, errs in self.malformed
        ]


def parse_events(body: bytes) -> ParsedEvents:
    """The batch's events, each checked on its own: one malformed event (a Flow variable left
    blank for one record) does not cost the batch's good ones, which a Flow or an Apex
    queueable does not send again. Raises `ValidationError` when the batch itself is wrong
    (not JSON, not `{"events": [...]}`, no events, more than 200)."""
    envelope = EventsEnvelope.model_validate_json(body)
    out = ParsedEvents()
    for index, element in enumerate(envelope.events):
        try:
            out.events.append(OpportunityEvent.model_validate(element))
        except ValidationError as exc:
            errors = [
                {
                    "loc": ["events", index, *e["loc"]],
                    "msg": error_message(e, OpportunityEvent).removeprefix("Value error, "),
                    "type": e["type"],
                }
                for e in exc.errors(include_url=False)
            ]
            out.malformed.append((index, element, errors))
    return out


def malformed_events(parsed: ParsedEvents) -> list[InboundEvent]:
    """Each malformed event as received, stored for the record under a digest of its
    content (a redelivery of it is a duplicate); it queues nothing."""
    out = []
    for _, element, errors in parsed.malformed:
        try:
            text = json.dumps(element, sort_keys=True, ensure_ascii=False, allow_nan=False)
            payload = element if isinstance(element, dict) else {"value": element}
        except ValueError:  # NaN or Infinity: no JSON column stores them
            text = repr(element)
            payload = {"unstorable": text[:2000]}
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        out.append(
            InboundEvent(
                source=EVENTS_SOURCE,
                dedup_key=f"malformed:{digest}",
                crm="salesforce",
                deal_id=None,
                event_type="event.malformed",
                payload={"event": payload, "errors": errors},
                actionable=False,
            )
        )
    return out


def json_events(
    events: list[OpportunityEvent], *, integration_user_id: str | None
) -> list[InboundEvent]:
    out = []
    for ev in events:
        ours = same_id(ev.changed_by_id, integration_user_id)
        opportunity = is_opportunity(ev.opportunity_id)
        out.append(
            InboundEvent(
                source=EVENTS_SOURCE,
                dedup_key=ev.id,
                crm="salesforce",
                deal_id=ev.opportunity_id if opportunity else None,
                event_type=f"event.{ev.source or 'callout'}",
                payload=ev.model_dump(mode="json", by_alias=True),
                actionable=opportunity and not ours,
            )
        )
    return out
