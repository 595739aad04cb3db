"""Salesforce Outbound Messages: parse the SOAP `notifications` call and build the answers.

The shape follows Salesforce's outbound messaging WSDL: a SOAP 1.1 envelope whose body holds
`notifications` (namespace http://soap.sforce.com/2005/09/outbound) with OrganizationId,
ActionId, SessionId (nillable), EnterpriseUrl, PartnerUrl and up to 100 `Notification`
elements, each an `Id` (the notification's own id, stable across redeliveries) and an `sObject`
typed `xsi:type="sf:Opportunity"` whose children (namespace urn:sobject.enterprise.soap.sforce.com)
are the fields the admin chose.

Parsing uses defusedxml with DTDs, entities and external references forbidden: a DOCTYPE is
refused at the parser's DOCTYPE event, before any entity could be declared or expanded, so an
XXE body or an entity bomb never reaches memory as expanded text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from app.connectors.salesforce.ids import to18

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
SOBJECT_NS = "urn:sobject.enterprise.soap.sforce.com"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100  # maxOccurs in the WSDL

ACK_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}">'
    "<soapenv:Body>"
    f'<notificationsResponse xmlns="{OUTBOUND_NS}">'
    "<Ack>true</Ack>"
    "</notificationsResponse>"
    "</soapenv:Body>"
    "</soapenv:Envelope>"
)


class OutboundMessageError(ValueError):
    """The body is not a well-formed, safe outbound message. `code` names what is wrong."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class OutboundNotification:
    notification_id: str
    sobject_type: str  # "Opportunity", "OpportunityLineItem", ...
    record_id: str | None
    fields: dict[str, str | None] = field(default_factory=dict)


@dataclass
class OutboundMessage:
    organization_id: str
    action_id: str | None
    session_id_present: bool  # never keep the session id itself: it is a live credential
    enterprise_url: str | None
    partner_url: str | None
    notifications: list[OutboundNotification]


def fault_envelope(message: str, *, client: bool) -> str:
    """A SOAP 1.1 fault. Salesforce treats anything but an Ack as a failed delivery."""
    code = "soapenv:Client" if client else "soapenv:Server"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def _text(parent: Element, ns: str, name: str) -> str | None:
    el = parent.find(_q(ns, name))
    if el is None or el.get(_q(XSI_NS, "nil")) == "true":
        return None
    return (el.text or "").strip()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """Parse and validate an outbound message body. Raises OutboundMessageError."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise OutboundMessageError(
            "forbidden_xml",
            f"XML refused: {type(exc).__name__} (DTDs and entities are not accepted)",
        ) from None
    except ParseError as exc:
        raise OutboundMessageError("malformed_xml", f"malformed XML: {exc}") from None
    except (LookupError, UnicodeError, ValueError, RecursionError) as exc:
        # An XML declaration naming an encoding Python does not know (LookupError) or bytes
        # that do not decode in the one it names: not an outbound message, and a client fault
        # (a JSON 500 made Salesforce deliver it again and again).
        raise OutboundMessageError(
            "malformed_xml", f"malformed XML: {type(exc).__name__}: {exc}"[:300]
        ) from None
    if root.tag != _q(SOAP_NS, "Envelope"):
        raise OutboundMessageError("not_soap", "root element must be a SOAP 1.1 Envelope")
    soap_body = root.find(_q(SOAP_NS, "Body"))
    notifications = None if soap_body is None else soap_body.find(_q(OUTBOUND_NS, "notifications"))
    if notifications is None:
        raise OutboundMessageError(
            "not_outbound_message", f"Body must contain notifications ({OUTBOUND_NS})"
        )
    org = _text(notifications, OUTBOUND_NS, "OrganizationId")
    if not org:
        raise OutboundMessageError("missing_organization", "OrganizationId is missing")
    items = notifications.findall(_q(OUTBOUND_NS, "Notification"))
    if not items:
        raise OutboundMessageError("no_notifications", "no Notification elements")
    if len(items) > MAX_NOTIFICATIONS:
        raise OutboundMessageError(
            "too_many_notifications", f"{len(items)} notifications; at most {MAX_NOTIFICATIONS}"
        )
    session_el = notifications.find(_q(OUTBOUND_NS, "SessionId"))
    parsed: list[OutboundNotification] = []
    for index, item in enumerate(items):
        notification_id = _text(item, OUTBOUND_NS, "Id")
        if not notification_id:
            raise OutboundMessageError(
                "missing_notification_id", f"Notification[{index}] has no Id"
            )
        sobject = item.find(_q(OUTBOUND_NS, "sObject"))
        if sobject is None:
            raise OutboundMessageError("missing_sobject", f"Notification[{index}] has no sObject")
        xsi_type = sobject.get(_q(XSI_NS, "type"), "")
        sobject_type = xsi_type.split(":", 1)[-1] if xsi_type else ""
        fields: dict[str, str | None] = {}
        for child in sobject:
            nil = child.get(_q(XSI_NS, "nil")) == "true"
            fields[_local(child.tag)] = None if nil else (child.text or "").strip()
        record_id = fields.get("Id")
        if record_id:
            try:
                record_id = to18(record_id)
            except ValueError:
                raise OutboundMessageError(
                    "bad_record_id", f"Notification[{index}] sObject Id is not a Salesforce id"
                ) from None
        parsed.append(
            OutboundNotification(
                notification_id=notification_id,
                sobject_type=sobject_type,
                record_id=record_id,
                fields=fields,
            )
        )
    return OutboundMessage(
        organization_id=org,
        action_id=_text(notifications, OUTBOUND_NS, "ActionId"),
        session_id_present=bool(
            session_el is not None and _text(notifications, OUTBOUND_NS, "SessionId")
        ),
        enterprise_url=_text(notifications, OUTBOUND_NS, "EnterpriseUrl"),
        partner_url=_text(notifications, OUTBOUND_NS, "PartnerUrl"),
        notifications=parsed,
    )
