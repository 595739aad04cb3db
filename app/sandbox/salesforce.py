"""A fake Salesforce org over real HTTPS, for tests, benchmarks and local exploration.

The real simple-salesforce client talks to it unchanged: simple-salesforce always builds
https:// URLs, so the fake serves TLS with a certificate from a throwaway trustme CA, and the
client trusts that CA through a requests session (`verify=<ca bundle>`), never by patching.

What it serves (paths under /services/data/vXX.X/):
- `query` and `query/<locator>`: a small SOQL interpreter for the shapes the connector uses
  (fields, dotted lookups, child subqueries with an optional WHERE, `Id IN (...)`, one semi-join,
  comparisons joined by AND, ORDER BY, LIMIT). Anything else is a 400 MALFORMED_QUERY that says
  what is not understood; unknown columns are INVALID_FIELD, as Salesforce answers.
- `sobjects/<Type>/describe`, `sobjects/<Type>/<id>` (GET, PATCH), `sobjects/<Type>` (POST),
  `sobjects/ContentNote/<id>/Content` (the body blob).
- `composite` (up to 25 subrequests, at most 5 of them queries or collections, allOrNone false)
  and `composite/sobjects` (sObject Collections: up to 200 records, POST create / PATCH update).
  Collections records of several types are processed, as Salesforce does, in chunks of
  consecutive records of one type, and a request of more than 10 chunks is refused whole: 400
  EXCEEDED_ID_LIMIT "Cannot have more than 10 chunks in a single operation. Please rearrange the
  data to reduce chunking." (the message is Salesforce's; the code is the fake's best guess,
  Salesforce's documentation does not give it).
- Query strings are decoded as a server decodes them (`%XX`, `+` as a space) and strictly: a
  character RFC 3986 does not allow in a query (a space, `[`, `]`, ...) or a `%` not followed by
  two hex digits is refused with 400 MALFORMED_QUERY, in a Composite subrequest URL as in a
  top-level request. A SOQL text put in a URL unencoded (`LIKE '[roadmap-guard%'`) is caught.
- `/services/oauth2/token`: the OAuth JWT bearer and client credentials flows, answering the
  documented token JSON (access_token, instance_url, id, token_type, issued_at; signature for
  client credentials). Client credentials are refused on login/test.salesforce.com: they need
  the org's My Domain host. Tests reach these hosts through `route_salesforce_hosts`, which
  stands in for DNS on the requests session (the client itself is not patched).
- The Metadata API `deploy` / `checkDeployStatus` SOAP calls that simple-salesforce sends, so
  `setup salesforce --deploy` can be exercised: deploying the package adds the fields, turns
  the validation rule on and installs the notes Apex class (if its test is run with it).
- The Apex REST resource of that class, `POST /services/apexrest/roadmapguard/notes`
  ({"ids": [...]} → [{noteId, versionId, content}], at most 200 ids). With
  `notes_resource_installed` false (a switch) it answers 404 NOT_FOUND "Could not find a match
  for URL", as Salesforce does for an Apex REST mapping no class declares; with
  `notes_resource_forbidden`, 403 FORBIDDEN (no class access); with `notes_resource_error` set
  to a message, 500 APEX_ERROR with it (an uncaught exception in the class). Composite
  subrequests only reach /services/data/..., so it cannot be a subrequest.
Documented limits it keeps (sources beside the constants): a request whose URI plus headers
exceed 16,384 bytes is refused in front of the org (414 when the URI alone does, else 431, no
JSON body), a Composite subrequest's URL is not bound by it; a ContentDocumentLink query (top
level or semi-join, not a child subquery) must filter on Id, ContentDocumentId or
LinkedEntityId with = or IN unless `query_all_files`; Note.Title holds 80 characters,
Task.Subject 255 (STRING_TOO_LONG past them, as for the long text areas); text compares
case-insensitively (ids excepted) and a WHERE may not name a long text area or base64 field.
Every response carries `Sforce-Limit-Info: api-usage=N/LIMIT`. Errors are arrays of
{errorCode, message, fields}; per-record collection errors use {statusCode, message, fields}.

The roadmap validation rule is emulated: changing StageName to one of the won stages the
deployed formula names (`validation_won_stages`, not any IsWon stage) while Roadmap_Block__c is true is refused with FIELD_CUSTOM_VALIDATION_EXCEPTION. Other org rules
(`extra_rules`, `add_rule`) may honour $Permission.Roadmap_Guard_Bypass_Validation: it holds for
a user assigned the permission set (`assign_permission_set`) when the deployed permission set
grants it. Sharing: a private opportunity (`private_opportunities`) is read only by its owner or
with the permission set's View All Records, and updated only by its owner or with its Modify All
Records (else INSUFFICIENT_ACCESS_OR_READONLY); a record an approval process locked
(`locked_records`) refuses updates with ENTITY_IS_LOCKED but to Modify All. Org rules on Task
(`add_rule(..., sobject="Task")`) run on task creates and updates. A deploy refuses object
permissions on Task or Event, and a class using ContentNote where enhanced Notes are off; a
failing Apex test (`apex_test_failures`) fails it under runTestResult.

Users: the integration user and a rep are seeded; `add_user` adds more, `set_user_active`
deactivates one (a rep who left). A Task created with an inactive OwnerId, or updated while its
owner (given, or the one it has) is inactive, is refused with INACTIVE_OWNER_OR_USER "operation
performed with inactive user [<id>] as owner of task", as Salesforce does for a user without
"Update Records with Inactive Owners". A Task created without OwnerId is owned by its creator.

Currencies: every org has one `Organization` record (`DefaultCurrencyIsoCode` is the
`corporate_currency`, USD by default). By default the org is single-currency, as every new
Salesforce org is: a query on `CurrencyType` answers 400 INVALID_TYPE "sObject type
'CurrencyType' is not supported." and `Opportunity.CurrencyIsoCode` 400 INVALID_FIELD. With
`currencies` (or `enable_multi_currency()`), `CurrencyType` exists (Id, IsoCode, ConversionRate
against the corporate currency, IsCorporate, IsActive, DecimalPlaces; `set_currency` changes a
rate or deactivates one) and every Opportunity has a `CurrencyIsoCode` (default: the corporate
currency; `add_opportunity(currency=...)`). `enable_dated_rates()` turns on advanced currency
management: `DatedConversionRate` exists (IsoCode, ConversionRate, StartDate, NextStartDate: each
currency's rate periods, the last one open-ended); without it that query answers INVALID_TYPE,
as in an org without the feature.

Read-only mode (`read_only_mode`, a switch): planned maintenance, where Salesforce answers
reads and refuses every API write with INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE
(per record in sObject Collections).

Per-record refusals on demand (`inject_record_error`): one record of a write fails with the
given code (UNABLE_TO_LOCK_ROW, say), the others are saved, as sObject Collections report it.

Faults on demand (`inject`): 403 REQUEST_LIMIT_EXCEEDED for the 24-hour allowance ("limit":
"TotalRequests Limit exceeded.") or the concurrency limit ("concurrent_limit": "ConcurrentRequests
(Concurrent API Requests) Limit exceeded."), 503 SERVER_UNAVAILABLE, 500 UNKNOWN_EXCEPTION, a proxy's
502 HTML page (`gateway_html`), its 504 page after the org ran the request
(`gateway_timeout`), and timeouts (the answer is held longer than the client waits); with
`subrequest=True` one Composite subrequest fails that way (matched on its URL, query included)
while the call itself answers 200. Every HTTP request is counted, every SOQL text logged
(`queries`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import re
import ssl
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, unquote_plus, urlsplit
from xml.sax.saxutils import escape as xml_escape

from app.connectors.salesforce.ids import to18

INTEGRATION_USER = to18("005000000000001")
INTEGRATION_PERMISSION_SET = "Roadmap_Guard_Integration"
REP_USER = to18("005000000000002")
ORG_ID = to18("00D000000000062")
DEFAULT_VALIDATION_MESSAGE = (
    "This opportunity depends on roadmap features that are not available "
    "(see Roadmap Check Summary). Fix the line items or get a product approval before Closed Won."
)

ROADMAP_FIELDS = {
    "Roadmap_Check_Status__c": "picklist",
    "Roadmap_Check_Summary__c": "textarea",
    "Roadmap_Block__c": "boolean",
    "Roadmap_Checked_At__c": "datetime",
}

# object → (fields, lookups {relationship: (target object, id field)}, children {rel: (obj, fk)})
_SCHEMA: dict[str, dict[str, Any]] = {
    "Opportunity": {
        "fields": [
            "Id",
            "Name",
            "StageName",
            "Amount",
            "CloseDate",
            "OwnerId",
            "AccountId",
            "Probability",
            "IsClosed",
            "IsWon",
            "CreatedDate",
            "LastModifiedDate",
            "LastModifiedById",
            "SystemModstamp",
            "Description",
            "IsDeleted",
        ],
        "lookups": {
            "Owner": ("User", "OwnerId"),
            "Account": ("Account", "AccountId"),
            "LastModifiedBy": ("User", "LastModifiedById"),
        },
        "children": {
            "OpportunityLineItems": ("OpportunityLineItem", "OpportunityId"),
            "Notes": ("Note", "ParentId"),
            "ContentDocumentLinks": ("ContentDocumentLink", "LinkedEntityId"),
            "Tasks": ("Task", "WhatId"),
        },
    },
    "OpportunityLineItem": {
        "fields": [
            "Id",
            "OpportunityId",
            "Name",
            "ProductCode",
            "Product2Id",
            "PricebookEntryId",
            "Quantity",
            "UnitPrice",
            "TotalPrice",
            "Description",
            "CreatedDate",
            "LastModifiedDate",
            "LastModifiedById",
            "SystemModstamp",
            "IsDeleted",
        ],
        "lookups": {
            "Product2": ("Product2", "Product2Id"),
            "PricebookEntry": ("PricebookEntry", "PricebookEntryId"),
        },
    },
    "Product2": {"fields": ["Id", "Name", "ProductCode", "Description", "IsActive"]},
    "PricebookEntry": {
        "fields": ["Id", "Name", "ProductCode", "Product2Id", "UnitPrice"],
        "lookups": {"Product2": ("Product2", "Product2Id")},
    },
    "Note": {
        "fields": [
            "Id",
            "ParentId",
            "Title",
            "Body",
            "CreatedDate",
            "CreatedById",
            "LastModifiedDate",
            "LastModifiedById",
            "SystemModstamp",
            "IsDeleted",
        ],
        "lookups": {"CreatedBy": ("User", "CreatedById")},
    },
    "ContentDocumentLink": {
        "fields": ["Id", "LinkedEntityId", "ContentDocumentId", "ShareType", "Visibility"],
        "lookups": {"ContentDocument": ("ContentDocument", "ContentDocumentId")},
    },
    "ContentDocument": {
        "fields": ["Id", "Title", "FileType", "LatestPublishedVersionId", "CreatedDate"],
    },
    "ContentNote": {
        "fields": [
            "Id",
            "Title",
            "TextPreview",
            "Content",
            "ContentSize",
            "FileType",
            "LatestPublishedVersionId",
            "CreatedDate",
            "CreatedById",
            "LastModifiedDate",
            "LastModifiedById",
        ],
        "lookups": {"CreatedBy": ("User", "CreatedById")},
    },
    "Task": {
        "fields": [
            "Id",
            "WhatId",
            "OwnerId",
            "Subject",
            "Description",
            "Status",
            "Priority",
            "IsClosed",
            "ActivityDate",
            "CreatedDate",
            "LastModifiedDate",
            "LastModifiedById",
        ],
    },
    "OpportunityStage": {
        "fields": [
            "Id",
            "ApiName",
            "MasterLabel",
            "IsActive",
            "IsWon",
            "IsClosed",
            "DefaultProbability",
            "SortOrder",
        ],
    },
    "TaskPriority": {
        "fields": ["Id", "ApiName", "MasterLabel", "IsDefault", "IsHighPriority", "SortOrder"],
    },
    "TaskStatus": {
        "fields": ["Id", "ApiName", "MasterLabel", "IsDefault", "IsClosed", "SortOrder"],
    },
    "User": {"fields": ["Id", "Name", "Username", "IsActive"]},
    "Account": {"fields": ["Id", "Name"]},
    "Organization": {
        "fields": [
            "Id",
            "Name",
            "DefaultCurrencyIsoCode",
            "OrganizationType",
            "IsSandbox",
            "InstanceName",
        ],
    },
    # Multi-currency orgs only: a single-currency org answers INVALID_TYPE for it.
    "CurrencyType": {
        "fields": [
            "Id",
            "IsoCode",
            "ConversionRate",
            "IsCorporate",
            "IsActive",
            "DecimalPlaces",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp",
        ],
    },
    # Multi-currency orgs with advanced currency management only: INVALID_TYPE without it.
    "DatedConversionRate": {
        "fields": [
            "Id",
            "IsoCode",
            "ConversionRate",
            "StartDate",
            "NextStartDate",
            "CreatedDate",
            "LastModifiedDate",
            "SystemModstamp",
        ],
    },
}
# Fields a multi-currency org adds (real orgs add CurrencyIsoCode to nearly every object that
# has a currency field; the fake models it where the connector reads it).
_MULTI_CURRENCY_FIELDS = {"Opportunity": ["CurrencyIsoCode"]}
_MULTI_CURRENCY_ONLY = {"CurrencyType"}
_STORE_OF = {"ContentDocument": "ContentNote"}  # ContentNote is a view of ContentDocument
_PREFIX = {
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "Product2": "01t",
    "PricebookEntry": "01u",
    "Note": "002",
    "ContentNote": "069",
    "ContentVersion": "068",
    "ContentDocumentLink": "06A",
    "Task": "00T",
    "User": "005",
    "Account": "001",
    "OpportunityStage": "01J",
    "TaskPriority": "01J",
    "TaskStatus": "01J",
    "Organization": "00D",
    "CurrencyType": "02u",
    "DatedConversionRate": "04w",
}
PREVIEW_CHARS = 255  # ContentNote.TextPreview holds the start of the note's plain text
COLLECTION_MAX_CHUNKS = 10  # runs of consecutive same-type records in one collection request
# What RFC 3986 allows in a query besides %XX escapes: unreserved, sub-delims, ":", "@", "/", "?"
_QUERY_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
APEX_REST_PREFIX = "/services/apexrest/"
NOTES_MAPPING = "roadmapguard/notes"  # @RestResource(urlMapping='/roadmapguard/notes')
NOTES_CLASS = "RoadmapGuardNotes"
NOTES_MAX_IDS = 200


def sf_datetime(value: datetime | None = None) -> str:
    value = value or datetime.now(UTC)
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}+0000"
    )


def _parse_dt(value: str) -> datetime:
    value = value.replace("Z", "+00:00")
    if re.match(r".*[+-]\d{4}$", value):
        value = value[:-2] + ":" + value[-2:]
    return datetime.fromisoformat(value)


def _fold(path: str, value: Any) -> Any:
    """A text value as SOQL compares it: "Comparisons on strings are case-sensitive for unique
    case-sensitive fields. For all other fields, comparisons are case-insensitive" (SOQL and
    SOSL Reference, Comparison Operators). Ids keep their case (a 15-character id is
    case-sensitive); the fake has no other case-sensitive field."""
    if isinstance(value, str) and not path.endswith("Id"):
        return value.casefold()
    return value


def _decoded_url(url: str) -> str:
    """The URL as the server reads it: path and query string percent-decoded ("+" a space)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    return f"{path}?{unquote_plus(parts.query)}" if parts.query else path


# Text fields the connector writes, with their lengths (Salesforce Field Reference: Note.Title
# string 80, Note.Body textarea 32000; Task.Subject 255, Task.Description textarea 32000).
_TEXT_LIMITS = {
    ("Task", "Subject"): 255,
    ("Task", "Description"): 32000,
    ("Note", "Title"): 80,
    ("Note", "Body"): 32000,
    ("Opportunity", "Roadmap_Check_Summary__c"): 4000,
}
# Date and dateTime values written through the REST API ("Valid Date and DateTime Formats").
_REST_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?(?:Z|[+-]\d{2}:\d{2})")
_REST_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_FIELDS = {("Task", "ActivityDate"), ("Opportunity", "CloseDate")}
# Long text areas (Field Reference: textarea 32000) and base64 fields: not filterable in SOQL.
_LONG_TEXT = {
    ("Opportunity", "Description"),
    ("Task", "Description"),
    ("Note", "Body"),
}
_BASE64_FIELDS = {("ContentNote", "Content")}
# The REST API's limit on a request's URI plus its headers (knowledge article 000386264,
# "Maximum number of rows returned by SOQL queries over the REST API": "In each REST call, the
# maximum length for the combined URI and headers is 16,384 bytes. A request exceeding this
# limit returns a 431 Request Header Fields Too Large error. If the URI itself exceeds this
# limit, the request returns a 414 URI Too Long error."). A SOQL text in a Composite
# subrequest travels in the body and is not bound by it.
MAX_URI_AND_HEADERS = 16_384
# ContentDocumentLink, as its object reference says: "In API versions 59.0 and later, turn on
# the Query All Files permission to query without a filter on id, LinkedEntityId, and
# documentID fields". The code and message of the refusal are not in that page: these are the
# ones Salesforce is widely reported to answer (not confirmed from documentation).
CDL_FILTER_MESSAGE = (
    "Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
    "ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the "
    "IN operator."
)


class SalesforceApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields or []

    def body(self) -> list[dict]:
        return [{"message": self.message, "errorCode": self.code, "fields": self.fields}]


# --- SOQL --------------------------------------------------------------------------------

# dateTime literals as SOQL documents them (SOQL and SOSL Reference, "Date Formats and Date
# Literals"): YYYY-MM-DDThh:mm:ss+hh:mm, YYYY-MM-DDThh:mm:ss-hh:mm or YYYY-MM-DDThh:mm:ssZ; no
# fraction of a second, the offset with its colon. `baddt`: anything else that starts like one
# (Salesforce's own rendering "2026-12-08T01:02:03.000+0000" put back in a query), refused.
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})(?![0-9.:+-]))"
    r"|(?P<baddt>\d{4}-\d{2}-\d{2}T[0-9:.+\-Z]*)"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>!=|<=|>=|=|<|>)|(?P<punct>[(),])"
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_.]*))"
)
_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "IN",
    "NOT",
    "LIKE",
    "ORDER",
    "BY",
    "LIMIT",
    "ASC",
    "DESC",
    "TRUE",
    "FALSE",
    "NULL",
    "NULLS",
    "FIRST",
    "LAST",
    "GROUP",
    "OFFSET",
}


@dataclass
class _Query:
    fields: list[str]
    subqueries: list[_Query]
    sobject: str
    where: list[tuple] = field(default_factory=list)  # (path, op, value)
    order_by: tuple[str, bool] | None = None
    limit: int | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                self.fail(f"unexpected character {text[pos : pos + 10]!r}", pos)
            kind = m.lastgroup or ""
            value, start = m.group(kind), m.start(kind)
            if kind == "baddt":
                self.fail(
                    f"invalid dateTime literal {value!r}: use YYYY-MM-DDThh:mm:ss+hh:mm, "
                    "-hh:mm or Z",
                    start,
                )
            if kind == "ident" and value.upper() in _KEYWORDS:
                kind, value = "kw", value.upper()
            self.tokens.append((kind, value, start))
            pos = m.end()
        self.i = 0

    def fail(self, message: str, pos: int | None = None) -> None:
        where = f" at position {pos}" if pos is not None else ""
        raise SalesforceApiError(
            400,
            "MALFORMED_QUERY",
            f"{message}{where}. The fake Salesforce understands SELECT fields and child subqueries "
            "FROM an object, WHERE comparisons joined by AND (=, !=, <, >, <=, >=, LIKE, IN with a "
            "list or one semi-join), ORDER BY and LIMIT.",
        )

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.i] if self.i < len(self.tokens) else ("eof", "", len(self.text))

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok[0] != kind or (value is not None and tok[1] != value):
            self.fail(f"expected {value or kind}, found {tok[1] or 'end of query'!r}", tok[2])
        self.i += 1
        return tok[1]

    def query(self) -> _Query:
        self.take("kw", "SELECT")
        fields: list[str] = []
        subs: list[_Query] = []
        while True:
            if self.peek()[1] == "(":
                self.take("punct", "(")
                subs.append(self.query())
                self.take("punct", ")")
            else:
                fields.append(self.take("ident"))
            if self.peek()[1] != ",":
                break
            self.take("punct", ",")
        self.take("kw", "FROM")
        q = _Query(fields=fields, subqueries=subs, sobject=self.take("ident"))
        if self.peek()[1] == "WHERE":
            self.take("kw", "WHERE")
            q.where.append(self.condition())
            while self.peek()[1] == "AND":
                self.take("kw", "AND")
                q.where.append(self.condition())
            if self.peek()[1] == "OR":
                self.fail("OR is not supported", self.peek()[2])
        if self.peek()[1] == "ORDER":
            self.take("kw", "ORDER")
            self.take("kw", "BY")
            path = self.take("ident")
            desc = False
            if self.peek()[1] in ("ASC", "DESC"):
                desc = self.take("kw") == "DESC"
            q.order_by = (path, desc)
        if self.peek()[1] == "LIMIT":
            self.take("kw", "LIMIT")
            q.limit = int(self.take("num"))
        return q

    def value(self) -> Any:
        kind, raw, pos = self.peek()
        self.i += 1
        if kind == "str":
            return raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
        if kind == "num":
            return float(raw)
        if kind == "dt":
            return _parse_dt(raw)
        if kind == "kw" and raw in ("TRUE", "FALSE"):
            return raw == "TRUE"
        if kind == "kw" and raw == "NULL":
            return None
        self.fail(f"expected a value, found {raw!r}", pos)

    def condition(self) -> tuple:
        path = self.take("ident")
        kind, raw, pos = self.peek()
        if kind == "op":
            self.i += 1
            return (path, raw, self.value())
        if raw == "LIKE":
            self.i += 1
            return (path, "LIKE", self.value())
        if raw == "IN":
            self.i += 1
            self.take("punct", "(")
            if self.peek()[1] == "SELECT":
                sub = self.query()
                self.take("punct", ")")
                return (path, "IN_SEMI", sub)
            values = [self.value()]
            while self.peek()[1] == ",":
                self.take("punct", ",")
                values.append(self.value())
            self.take("punct", ")")
            return (path, "IN", values)
        self.fail(f"unsupported condition after {path!r}: {raw or 'end of query'!r}", pos)
        raise AssertionError


def parse_soql(text: str) -> _Query:
    parser = _Parser(text)
    q = parser.query()
    if parser.i != len(parser.tokens):
        parser.fail(f"unexpected {parser.peek()[1]!r}", parser.peek()[2])
    return q


# --- the org -----------------------------------------------------------------------------


@dataclass
class Fault:
    # limit | concurrent_limit | api_disabled | org_api_disabled | unavailable | error |
    # timeout (not for subrequests)
    kind: str
    remaining: int
    match: str | None = None  # substring of the request path (None: any)
    # A Composite subrequest's own failure (the call answers 200, that subresponse fails);
    # `match` is then a substring of the subrequest's URL, query string included.
    subrequest: bool = False


# What a fault answers, as Salesforce does: the status and the body of its error array.
_FAULT_ANSWERS: dict[str, tuple[int, list[dict]]] = {
    "limit": (
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    ),
    "concurrent_limit": (
        403,
        [
            {
                "message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
                "errorCode": "REQUEST_LIMIT_EXCEEDED",
            }
        ],
    ),
    # The integration user's profile lost API Enabled; the org's edition has no API.
    "api_disabled": (
        403,
        [{"message": "API is disabled for this User", "errorCode": "API_CURRENTLY_DISABLED"}],
    ),
    "org_api_disabled": (
        403,
        [
            {
                "message": "The REST API is not enabled for this Organization.",
                "errorCode": "API_DISABLED_FOR_ORG",
            }
        ],
    ),
    "unavailable": (
        503,
        [{"message": "Service temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}],
    ),
    "error": (
        500,
        [
            {
                "message": "An unexpected error occurred. Please include this ErrorId if you "
                "contact support: 1234567890-12345 (-1234567890)",
                "errorCode": "UNKNOWN_EXCEPTION",
            }
        ],
    ),
}
# What a proxy in front of the org answers a bad gateway with (fault "gateway_html"): its own
# HTML page, not Salesforce's JSON error array.
GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# Its page for an upstream that did not answer in time (fault "gateway_timeout").
GATEWAY_TIMEOUT_HTML = (
    "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 "
    "Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# The refusal of a write in read-only mode. The code is in Salesforce's StatusCode list (client
# libraries map it, e.g. Restforce's ErrorCode::InsertUpdateDeleteNotAllowedDuringMaintenance);
# the message is the one Apex DML reports ("Updates can't be made during maintenance. Try again
# when maintenance is complete."). The HTTP status of a refused top-level REST write is not
# documented: 400 here, and in an sObject Collections request each record fails with it.
MAINTENANCE_CODE = "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE"
MAINTENANCE_MESSAGE = (
    "Updates can't be made during maintenance. Try again when maintenance is complete."
)
# Currencies without minor units (CurrencyType.DecimalPlaces 0), as Salesforce sets them.
_ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "PYG"}


class FakeSalesforce:
    """The org's data, its rules, its faults and its call counter. Thread-safe."""

    def __init__(
        self,
        *,
        api_version: str = "61.0",
        roadmap_fields_installed: bool = True,
        validation_rule_active: bool = True,
        notes_resource_installed: bool = True,
        api_limit: int = 100_000,
        corporate_currency: str = "USD",
        currencies: dict[str, float] | None = None,
    ) -> None:
        """`corporate_currency` is the org's currency (Organization.DefaultCurrencyIsoCode).
        `currencies` (ISO code → conversion rate against the corporate currency) makes the org
        multi-currency, as `enable_multi_currency` does; None (the default of every org):
        single-currency, where CurrencyType and Opportunity.CurrencyIsoCode do not exist."""
        self.api_version = api_version
        self.lock = threading.RLock()
        self.store: dict[str, dict[str, dict]] = defaultdict(dict)
        self.children: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self.type_of: dict[str, str] = {}
        self._seq = itertools.count(1)
        self.tokens = {"integration-token": INTEGRATION_USER, "rep-token": REP_USER}
        self.org_id = ORG_ID
        self.my_domain = "fakeorg.my"  # the org's My Domain: https://fakeorg.my.salesforce.com
        self.instance_url = "https://fakeorg.my.salesforce.com"  # set by FakeSalesforceServer
        # OAuth connected apps: client id → {"secret", "public_key" (PEM), "run_as" user id}
        self.connected_apps: dict[str, dict[str, Any]] = {}
        self.token_requests: list[tuple[str, str]] = []  # (Host header, grant_type)
        self.custom_fields: dict[str, str] = (
            dict(ROADMAP_FIELDS) if roadmap_fields_installed else {}
        )
        self.unwritable_fields: set[str] = set()  # field-level security: not updateable
        # The active values of restricted picklists among the custom fields (an admin may
        # deactivate one: a write of it is then INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST).
        self.picklist_values: dict[str, set[str]] = (
            {"Roadmap_Check_Status__c": {"clear", "warning", "blocked"}}
            if roadmap_fields_installed
            else {}
        )
        self.validation_rule_active = validation_rule_active
        self.validation_message = DEFAULT_VALIDATION_MESSAGE
        # The won stages the deployed rule names (its ISPICKVALs); set from the seeded won
        # stages below, and from the formula by `deploy`. A won stage added later is not in it.
        self.validation_won_stages: list[str] = []
        # The RoadmapGuardNotes Apex REST class (setup salesforce): off = 404, as if not deployed.
        self.notes_resource_installed = notes_resource_installed
        self.notes_resource_forbidden = False  # installed, but the user lacks class access
        # An exception inside the class (e.g. a heap limit): Salesforce answers 500 APEX_ERROR.
        self.notes_resource_error: str | None = None
        # Extra validation rules an admin might have: fn(old, new) -> error message or None.
        # `add_rule(fn, honours_bypass=True)` models a rule whose formula the admin ANDed with
        # NOT($Permission.Roadmap_Guard_Bypass_Validation): it does not run for a user who holds
        # that custom permission (through the Roadmap_Guard_Integration permission set).
        self.extra_rules: list[Callable[[dict, dict], str | None]] = []
        # The deployed permission set grants the bypass custom permission (setup's package does).
        self.permission_set_grants_bypass = roadmap_fields_installed
        self.permission_set_assignees: set[str] = set()  # users assigned Roadmap_Guard_Integration
        # Private sharing: these opportunities are visible to their owner only, and to a user
        # whose assigned permission set has View All Records on Opportunity (setup's does).
        self.private_opportunities: set[str] = set()
        self.permission_set_view_all = roadmap_fields_installed
        # ... and Modify All Records (edit whatever the sharing, and records an approval locked).
        self.permission_set_modify_all = roadmap_fields_installed
        # Records an approval process has locked (ENTITY_IS_LOCKED on an update).
        self.locked_records: set[str] = set()
        # Text field lengths (STRING_TOO_LONG past them); an org may make a field shorter.
        self.text_limits: dict[tuple[str, str], int] = dict(_TEXT_LIMITS)
        # Apex test methods that fail when a deploy runs them: (class, method, message).
        self.apex_test_failures: list[tuple[str, str, str]] = []
        # Other deployed permission sets (setup's Roadmap_Guard_Sales_Read): name → field →
        # (readable, editable).
        self.permission_sets: dict[str, dict[str, tuple[bool, bool]]] = {}
        # Deleted records (sobject -> id -> record, IsDeleted true): only queryAll answers them.
        self.recycle_bin: dict[str, dict[str, dict]] = defaultdict(dict)
        self._include_deleted = False
        # The integration user's Query All Files permission (API 59.0+): ContentDocumentLink
        # may then be queried without an Id filter. Off, as for a user without View All Data.
        self.query_all_files = False
        # Read-only mode (Salesforce Help, "Read-Only Mode": during site switches, instance
        # migrations and other planned maintenance "you can't ... Perform API write or edit
        # actions"): every create and update is refused with MAINTENANCE_CODE; reads answer.
        self.read_only_mode = False
        self.faults: list[Fault] = []
        # Per-record refusals on demand (`inject_record_error`): [code, message, match, times].
        self.record_faults: list[list] = []
        self.timeout_seconds = 2.0
        self.api_limit = api_limit
        self.api_used = 0
        self.calls: list[tuple[str, str]] = []
        self.deployments: dict[str, dict] = {}
        self.page_size = 2000
        self.page_size_with_children = 200
        self._cursors: dict[str, tuple[list[dict], int]] = {}
        self.queries: list[str] = []  # every SOQL text received, in order (reset_calls clears)
        self.corporate_currency = corporate_currency
        self.multi_currency = False
        self.dated_rates = False  # advanced currency management
        self._seed_reference_data()
        self.validation_won_stages = [
            st["ApiName"] for st in self.store["OpportunityStage"].values() if st["IsWon"]
        ]
        if currencies is not None:
            self.enable_multi_currency(currencies)

    # -- seeding ------------------------------------------------------------------------
    def new_id(self, sobject: str) -> str:
        return to18(f"{_PREFIX[sobject]}{next(self._seq):012d}")

    def insert(self, sobject: str, record: dict) -> str:
        with self.lock:
            rec = dict(record)
            rec.setdefault("Id", self.new_id(sobject))
            now = sf_datetime()
            for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
                if name in _SCHEMA[sobject]["fields"]:
                    rec.setdefault(name, now)
            if "LastModifiedById" in _SCHEMA[sobject]["fields"]:
                rec.setdefault("LastModifiedById", REP_USER)
            if "IsDeleted" in _SCHEMA[sobject]["fields"]:
                rec.setdefault("IsDeleted", False)
            if self.multi_currency:
                for name in _MULTI_CURRENCY_FIELDS.get(sobject, []):
                    rec.setdefault(name, self.corporate_currency)  # the creating user's, here
            self.store[sobject][rec["Id"]] = rec
            self.type_of[rec["Id"]] = sobject
            for _rel, (child, fk) in _SCHEMA.get("Opportunity", {}).get("children", {}).items():
                if child == sobject and rec.get(fk):
                    self.children[(child, fk)][rec[fk]].append(rec["Id"])
            if sobject == "Opportunity":
                self._derive_stage(rec, stage_changed=rec.get("Probability") is None)
            if sobject == "Task":
                rec["IsClosed"] = self._status_closed(rec.get("Status"))
            return rec["Id"]

    def _seed_reference_data(self) -> None:
        stages = [
            ("Prospecting", False, False, 10),
            ("Qualification", False, False, 20),
            ("Negotiation/Review", False, False, 80),
            ("Closed Won", True, True, 100),
            ("Signed - Booked", True, True, 100),
            ("Closed Lost", False, True, 0),
        ]
        for order, (name, won, closed, prob) in enumerate(stages):
            self.insert(
                "OpportunityStage",
                {
                    "ApiName": name,
                    "MasterLabel": name,
                    "IsActive": True,
                    "IsWon": won,
                    "IsClosed": closed,
                    "DefaultProbability": float(prob),
                    "SortOrder": order,
                },
            )
        self.set_task_picklists(
            priorities=[("High", False, True), ("Normal", True, False), ("Low", False, False)],
            statuses=[
                ("Not Started", True, False),
                ("In Progress", False, False),
                ("Completed", False, True),
                ("Deferred", False, False),
            ],
        )
        self.insert(
            "User",
            {
                "Id": INTEGRATION_USER,
                "Name": "Roadmap Guard Integration",
                "Username": "rg@example.com",
                "IsActive": True,
            },
        )
        self.insert(
            "User",
            {
                "Id": REP_USER,
                "Name": "Riley Rep",
                "Username": "riley@example.com",
                "IsActive": True,
            },
        )
        self.insert(
            "Organization",
            {
                "Id": self.org_id,
                "Name": "Fake Org",
                "DefaultCurrencyIsoCode": self.corporate_currency,
                "OrganizationType": "Developer Edition",
                "IsSandbox": False,
                "InstanceName": "FAKE1",
            },
        )

    def add_user(self, name: str, *, active: bool = True) -> str:
        """Another user of the org (e.g. a rep who owns opportunities)."""
        with self.lock:
            n = next(self._seq)
            return self.insert(
                "User",
                {"Name": name, "Username": f"user{n}@example.com", "IsActive": active},
            )

    def add_rule(
        self,
        rule: Callable[[dict, dict], str | None],
        *,
        honours_bypass: bool = False,
        sobject: str = "Opportunity",
    ) -> None:
        """Another validation rule of the org, on Opportunity or on Task (an Activity rule, run
        for tasks; `old` is {} on a create); `honours_bypass`: its formula has
        `NOT($Permission.Roadmap_Guard_Bypass_Validation)`, as setup's instructions ask."""

        def wrapped(old: dict, new: dict) -> str | None:
            return rule(old, new)

        wrapped.honours_bypass = honours_bypass  # type: ignore[attr-defined]
        wrapped.sobject = sobject  # type: ignore[attr-defined]
        with self.lock:
            self.extra_rules.append(wrapped)

    def assign_permission_set(self, user_id: str) -> None:
        """Assign Roadmap_Guard_Integration to a user (Setup > Permission Set Assignments)."""
        with self.lock:
            self.permission_set_assignees.add(to18(user_id))

    def has_bypass(self, user_id: str) -> bool:
        """$Permission.Roadmap_Guard_Bypass_Validation for this user."""
        return self.permission_set_grants_bypass and to18(user_id) in self.permission_set_assignees

    def set_user_active(self, user_id: str, active: bool) -> None:
        """Deactivate (or reactivate) a user, as an admin does when someone leaves."""
        with self.lock:
            self.store["User"][to18(user_id)]["IsActive"] = active

    # -- currencies -----------------------------------------------------------------------
    def enable_multi_currency(self, currencies: dict[str, float] | None = None) -> None:
        """Turn multi-currency on (in Salesforce, once on it cannot be turned off): CurrencyType
        appears, with the corporate currency at rate 1 and `currencies` (ISO code → conversion
        rate against the corporate currency), all active; Opportunity gets CurrencyIsoCode, and
        every existing record the corporate currency, as Salesforce does on activation."""
        with self.lock:
            if self.multi_currency:
                raise ValueError("the org is already multi-currency")
            rates = dict(currencies or {})
            if rates.setdefault(self.corporate_currency, 1.0) != 1.0:
                raise ValueError(f"the corporate currency {self.corporate_currency} has rate 1")
            self.multi_currency = True
            for iso_code, rate in rates.items():
                self.set_currency(iso_code, rate)
            for sobject, names in _MULTI_CURRENCY_FIELDS.items():
                for rec in self.store[sobject].values():
                    for name in names:
                        rec.setdefault(name, self.corporate_currency)

    def enable_dated_rates(self, periods: dict[str, list[tuple[str, float]]]) -> None:
        """Turn on advanced currency management: DatedConversionRate appears with, for each ISO
        code, its (StartDate "YYYY-MM-DD", ConversionRate) periods; each one's NextStartDate is
        the next period's start, the last one's null. The corporate currency stays at 1."""
        with self.lock:
            if not self.multi_currency:
                raise ValueError("advanced currency management needs multi-currency")
            self.dated_rates = True
            for iso_code, entries in periods.items():
                ordered = sorted(entries)
                for i, (start, rate) in enumerate(ordered):
                    self.insert(
                        "DatedConversionRate",
                        {
                            "IsoCode": iso_code,
                            "ConversionRate": float(rate),
                            "StartDate": start,
                            "NextStartDate": ordered[i + 1][0] if i + 1 < len(ordered) else None,
                        },
                    )

    def set_currency(self, iso_code: str, rate: float | None = None, *, active: bool = True) -> str:
        """Add a currency, or change its rate (against the corporate currency) or whether it is
        active, as an admin does in Manage Currencies. Multi-currency orgs only."""
        with self.lock:
            if not self.multi_currency:
                raise ValueError("a single-currency org has no CurrencyType")
            corporate = iso_code == self.corporate_currency
            if corporate and (not active or rate not in (None, 1.0)):
                raise ValueError("the corporate currency stays active, at rate 1")
            existing = next(
                (c for c in self.store["CurrencyType"].values() if c["IsoCode"] == iso_code), None
            )
            if existing is None:
                if rate is None:
                    raise ValueError(f"{iso_code} is new: give its conversion rate")
                return self.insert(
                    "CurrencyType",
                    {
                        "IsoCode": iso_code,
                        "ConversionRate": float(rate),
                        "IsCorporate": corporate,
                        "IsActive": active,
                        "DecimalPlaces": 0 if iso_code in _ZERO_DECIMAL_CURRENCIES else 2,
                    },
                )
            if rate is not None:
                existing["ConversionRate"] = float(rate)
            existing["IsActive"] = active
            existing["LastModifiedDate"] = existing["SystemModstamp"] = sf_datetime()
            return existing["Id"]

    def set_task_picklists(
        self,
        *,
        priorities: list[tuple[str, bool, bool]],
        statuses: list[tuple[str, bool, bool]],
    ) -> None:
        """Replace the org's Task picklists: priorities (name, IsDefault, IsHighPriority) and
        statuses (name, IsDefault, IsClosed). Other values are then refused on write with
        INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, as Salesforce does."""
        with self.lock:
            for sobject in ("TaskPriority", "TaskStatus"):
                for rid in list(self.store[sobject]):
                    self.delete(sobject, rid)
            for order, (name, default, high) in enumerate(priorities):
                self.insert(
                    "TaskPriority",
                    {
                        "ApiName": name,
                        "MasterLabel": name,
                        "IsDefault": default,
                        "IsHighPriority": high,
                        "SortOrder": order,
                    },
                )
            for order, (name, default, closed) in enumerate(statuses):
                self.insert(
                    "TaskStatus",
                    {
                        "ApiName": name,
                        "MasterLabel": name,
                        "IsDefault": default,
                        "IsClosed": closed,
                        "SortOrder": order,
                    },
                )

    def add_opportunity(
        self,
        name: str,
        *,
        stage: str = "Prospecting",
        amount: float | None = 50000.0,
        owner_id: str = REP_USER,
        account: str | None = "Acme Corp",
        line_items: list[dict] | None = None,
        notes: list[str] | None = None,
        content_notes: list[str] | None = None,
        currency: str | None = None,
        **fields: Any,
    ) -> str:
        """Seed an opportunity with products, classic notes and enhanced (Content) notes.
        `currency`: its CurrencyIsoCode (multi-currency orgs only; default the corporate one)."""
        with self.lock:
            if currency is not None:
                if not self.multi_currency:
                    raise ValueError("a single-currency org has no CurrencyIsoCode")
                if not any(c["IsoCode"] == currency for c in self.store["CurrencyType"].values()):
                    raise ValueError(f"{currency} is not a currency of this org")
                fields["CurrencyIsoCode"] = currency
            account_id = self.insert("Account", {"Name": account}) if account else None
            opp_id = self.insert(
                "Opportunity",
                {
                    "Name": name,
                    "StageName": stage,
                    "Amount": amount,
                    "CloseDate": "2030-01-31",
                    "OwnerId": owner_id,
                    "AccountId": account_id,
                    **fields,
                },
            )
            for item in line_items or []:
                product_id = self.insert(
                    "Product2",
                    {"Name": item["name"], "ProductCode": item.get("code"), "IsActive": True},
                )
                entry_id = self.insert(
                    "PricebookEntry",
                    {
                        "Name": item["name"],
                        "ProductCode": item.get("code"),
                        "Product2Id": product_id,
                        "UnitPrice": item.get("price", 100.0),
                    },
                )
                qty = item.get("quantity", 1.0)
                self.insert(
                    "OpportunityLineItem",
                    {
                        "OpportunityId": opp_id,
                        "Name": f"{name} {item['name']}",
                        "ProductCode": item.get("code"),
                        "Product2Id": product_id,
                        "PricebookEntryId": entry_id,
                        "Quantity": qty,
                        "UnitPrice": item.get("price", 100.0),
                        "TotalPrice": qty * item.get("price", 100.0),
                    },
                )
            for body in notes or []:
                self.insert(
                    "Note",
                    {
                        "ParentId": opp_id,
                        "Title": "Meeting notes",
                        "Body": body,
                        "CreatedById": owner_id,
                    },
                )
            for body in content_notes or []:
                self.add_content_note(opp_id, body)
            return opp_id

    def add_content_note(self, linked_id: str, html: str, title: str = "Call notes") -> str:
        with self.lock:
            note_id = self.insert(
                "ContentNote",
                {"Title": title, "FileType": "SNOTE", "CreatedById": REP_USER},
            )
            self.edit_content_note(note_id, html)
            self.insert(
                "ContentDocumentLink",
                {
                    "LinkedEntityId": linked_id,
                    "ContentDocumentId": note_id,
                    "ShareType": "V",
                    "Visibility": "AllUsers",
                },
            )
            return note_id

    def edit_content_note(self, note_id: str, html: str, *, by: str = REP_USER) -> None:
        """Save a new body, as a user editing the note does: a new published version (the
        note's LastModifiedDate moves; its opportunity's does not)."""
        with self.lock:
            text = re.sub(r"<[^>]+>", " ", html)
            text = re.sub(r"\s+", " ", text).strip()
            self.store["ContentNote"][to18(note_id)].update(
                {
                    "Content": html.encode(),
                    "TextPreview": text[:PREVIEW_CHARS],
                    "ContentSize": len(html.encode()),
                    "LatestPublishedVersionId": self.new_id("ContentVersion"),
                    "LastModifiedDate": sf_datetime(),
                    "LastModifiedById": by,
                }
            )

    def can_see(self, user: str | None, sobject: str, rec: dict) -> bool:
        """Sharing: a private opportunity is visible to its owner and to View All Records."""
        if user is None or sobject != "Opportunity" or rec["Id"] not in self.private_opportunities:
            return True
        if rec.get("OwnerId") == user:
            return True
        return self.permission_set_view_all and to18(user) in self.permission_set_assignees

    def delete(self, sobject: str, record_id: str, *, purge: bool = False) -> None:
        """Delete a record as a user would in the UI (no API call is counted): it goes to the
        Recycle Bin (queryAll answers it, IsDeleted true, its SystemModstamp the time of the
        deletion: what the Get Deleted resource reports as its deletedDate), or with `purge`
        nowhere at all; an Opportunity takes its Tasks with it, as Salesforce deletes a
        record's activities. Its LastModifiedDate stays, and so does its parent's: deleting a
        classic Note or an OpportunityLineItem does not modify the opportunity here (the fake
        keeps no Amount roll-up; a zero-price line item changes no amount in Salesforce
        either)."""
        with self.lock:
            rid = to18(record_id)
            if sobject == "Opportunity":
                # Salesforce deletes an opportunity's activities with it: its Tasks go to the
                # Recycle Bin too (an update of one answers ENTITY_IS_DELETED).
                for task_id in list(self.children[("Task", "WhatId")].get(rid, [])):
                    self.delete("Task", task_id, purge=purge)
            rec = self.store[sobject].pop(rid)
            if not purge:
                gone = {**rec, "IsDeleted": True}
                if "SystemModstamp" in _SCHEMA[sobject]["fields"]:
                    gone["SystemModstamp"] = sf_datetime()
                self.recycle_bin[sobject][rid] = gone
            self.type_of.pop(rid, None)
            for (child, fk), index in self.children.items():
                if child == sobject and rec.get(fk) in index:
                    index[rec[fk]] = [i for i in index[rec[fk]] if i != rid]

    def line_items_of(self, opp_id: str) -> list[dict]:
        with self.lock:
            ids = self.children[("OpportunityLineItem", "OpportunityId")].get(to18(opp_id), [])
            return [self.store["OpportunityLineItem"][i] for i in ids]

    def opportunity(self, opp_id: str) -> dict:
        return self.store["Opportunity"][to18(opp_id)]

    def tasks_of(self, opp_id: str) -> list[dict]:
        with self.lock:
            return [
                self.store["Task"][t]
                for t in self.children[("Task", "WhatId")].get(to18(opp_id), [])
            ]

    # -- OAuth ------------------------------------------------------------------------------
    def add_connected_app(
        self,
        client_id: str,
        *,
        secret: str | None = None,
        public_key_pem: bytes | None = None,
        run_as: str = INTEGRATION_USER,
    ) -> None:
        """A connected app: a secret (client credentials, run as `run_as`) and/or the certificate's
        public key (JWT bearer, for pre-authorized users)."""
        with self.lock:
            self.connected_apps[client_id] = {
                "secret": secret,
                "public_key": public_key_pem,
                "run_as": run_as,
            }

    def oauth_token(self, host: str, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        """POST /services/oauth2/token → (status, JSON): an access token or {error, description}."""
        grant = form.get("grant_type", "")
        with self.lock:
            self.token_requests.append((host.split(":")[0], grant))
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_bearer(form.get("assertion", ""))
        if grant == "client_credentials":
            return self._client_credentials(host.split(":")[0], authorization)
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "grant type not supported",
        }

    def _jwt_bearer(self, assertion: str) -> tuple[int, dict]:
        import jwt

        try:
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "invalid assertion"}
        app = self.connected_apps.get(str(claims.get("iss")))
        if app is None or app["public_key"] is None:
            return 400, {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
            }
        try:
            jwt.decode(
                assertion,
                app["public_key"],
                algorithms=["RS256"],
                audience=["https://login.salesforce.com", "https://test.salesforce.com"],
                options={"require": ["exp", "sub", "aud", "iss"]},
            )
        except jwt.InvalidAudienceError:
            return 400, {"error": "invalid_grant", "error_description": "audience is invalid"}
        except jwt.ExpiredSignatureError:
            return 400, {
                "error": "invalid_grant",
                "error_description": "expired authorization code",
            }
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "invalid assertion"}
        user = next(
            (
                u["Id"]
                for u in self.store["User"].values()
                if u.get("Username") == claims.get("sub") and u.get("IsActive")
            ),
            None,
        )
        if user is None:
            return 400, {
                "error": "invalid_grant",
                "error_description": "user hasn't approved this consumer",
            }
        return 200, self._issue(user, signature_key=None)

    def _client_credentials(self, host: str, authorization: str) -> tuple[int, dict]:
        if host in ("login.salesforce.com", "test.salesforce.com"):
            return 400, {
                "error": "invalid_grant",
                "error_description": "request not supported on this domain",
            }
        if host != f"{self.my_domain}.salesforce.com":
            return 400, {"error": "invalid_grant", "error_description": "unknown My Domain"}
        try:
            client_id, _, secret = (
                base64.b64decode(authorization.removeprefix("Basic ").strip())
                .decode()
                .partition(":")
            )
        except ValueError:
            client_id, secret = "", ""
        app = self.connected_apps.get(client_id)
        if app is None or not app["secret"] or not hmac.compare_digest(app["secret"], secret):
            return 400, {
                "error": "invalid_client",
                "error_description": "invalid client credentials",
            }
        return 200, self._issue(app["run_as"], signature_key=app["secret"])

    def _issue(self, user: str, *, signature_key: str | None) -> dict:
        token = f"{self.org_id[:15]}!fake.{next(self._seq):08d}"
        with self.lock:
            self.tokens[token] = user
        identity = f"https://login.salesforce.com/id/{self.org_id}/{user}"
        issued_at = str(int(time.time() * 1000))
        body = {
            "access_token": token,
            "scope": "api",
            "instance_url": self.instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        if signature_key is not None:
            # HMAC-SHA256 over id + issued_at with the client secret, base64-encoded.
            digest = hmac.new(
                signature_key.encode(), (identity + issued_at).encode(), hashlib.sha256
            ).digest()
            body["signature"] = base64.b64encode(digest).decode()
        return body

    # -- faults and counting ------------------------------------------------------------
    def inject(
        self, kind: str, times: int = 1, match: str | None = None, *, subrequest: bool = False
    ) -> None:
        """Fail the next `times` requests whose path contains `match`; with `subrequest`, the
        next Composite subrequests whose URL (query string included) contains it."""
        if kind not in (
            "limit",
            "concurrent_limit",
            "unavailable",
            "error",
            "timeout",
            "gateway_html",
            "gateway_timeout",
        ) or (subrequest and kind in ("timeout", "gateway_html", "gateway_timeout")):
            raise ValueError(kind)
        with self.lock:
            self.faults.append(Fault(kind, times, match, subrequest))

    def inject_record_error(
        self, code: str, message: str, *, match: str | None = None, times: int = 1
    ) -> None:
        """Refuse the next `times` record writes (a create or update, alone or in an sObject
        Collections request) whose sObject type or Id contains `match` with this error, as
        Salesforce refuses one record and saves the others: e.g. UNABLE_TO_LOCK_ROW "unable to
        obtain exclusive access to this record" (another transaction holds its lock)."""
        with self.lock:
            self.record_faults.append([code, message, match, times])

    def _take_record_fault(self, sobject: str, record_id: str | None) -> None:
        with self.lock:
            for fault in self.record_faults:
                code, message, match, left = fault
                if left > 0 and (match is None or match in sobject or match in (record_id or "")):
                    fault[3] -= 1
                    raise SalesforceApiError(400, code, message)

    def _take_fault(self, path: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.remaining > 0
                    and not fault.subrequest
                    and (fault.match is None or fault.match in path)
                ):
                    fault.remaining -= 1
                    return fault.kind
        return None

    def _take_subrequest_fault(self, url: str) -> str | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.remaining > 0
                    and fault.subrequest
                    and (fault.match is None or fault.match in url)
                ):
                    fault.remaining -= 1
                    return fault.kind
        return None

    def count(self) -> int:
        with self.lock:
            return len(self.calls)

    def calls_by_kind(self) -> Counter:
        with self.lock:
            return Counter(kind for _m, kind in self.calls)

    def reset_calls(self) -> None:
        with self.lock:
            self.calls.clear()
            self.queries.clear()

    # -- rules --------------------------------------------------------------------------
    def _stage(self, api_name: str | None) -> dict | None:
        for st in self.store["OpportunityStage"].values():
            if st["ApiName"] == api_name:
                return st
        return None

    def _derive_stage(self, rec: dict, *, stage_changed: bool = True) -> None:
        """IsWon and IsClosed follow the stage. Probability is the stage's default probability
        when the record is created without one or its stage changes; a rep may override it, and
        a save that does not change the stage (or that sets Probability itself) keeps it."""
        st = self._stage(rec.get("StageName"))
        rec["IsWon"] = bool(st and st["IsWon"])
        rec["IsClosed"] = bool(st and st["IsClosed"])
        if st and stage_changed:
            rec["Probability"] = st["DefaultProbability"]

    def _status_closed(self, status: str | None) -> bool:
        return any(
            s["ApiName"] == status and s["IsClosed"] for s in self.store["TaskStatus"].values()
        )

    def _check_fields(self, sobject: str, values: dict, *, creating: bool) -> None:
        """Refuse what the org would: a field it does not have or that cannot be written, and
        a long text over its length (Task.Description and Note.Body: 32,000 characters;
        STRING_TOO_LONG, as Salesforce answers)."""
        allowed = self._fields_of(sobject)
        for name in values:
            if name in ("attributes", "Id"):
                continue
            if name not in allowed:
                raise SalesforceApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {sobject}",
                    [name],
                )
            if name in self.unwritable_fields or name in (
                "IsClosed",
                "IsWon",
                "IsDeleted",
                "CreatedDate",
                "LastModifiedDate",
                "LastModifiedById",
                "SystemModstamp",
            ):
                raise SalesforceApiError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                    [name],
                )
            allowed_values = self.picklist_values.get(name) if sobject == "Opportunity" else None
            if (
                allowed_values is not None
                and values[name] not in (None, "")
                and values[name] not in allowed_values
            ):
                label = name.removesuffix("__c").replace("_", " ")
                raise SalesforceApiError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{label}: bad value for restricted picklist field: {values[name]}",
                    [name],
                )
            self._check_temporal(sobject, name, values)
            limit = self.text_limits.get((sobject, name))
            value = values[name]
            if limit is not None and isinstance(value, str) and len(value) > limit:
                raise SalesforceApiError(
                    400,
                    "STRING_TOO_LONG",
                    f"{name}: data value too large: {value[:40]}... (max length={limit})",
                    [name],
                )
        if sobject == "Task":
            if "Status" in values and not any(
                s["ApiName"] == values["Status"] for s in self.store["TaskStatus"].values()
            ):
                raise SalesforceApiError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Status: bad value for restricted picklist field: {values['Status']}",
                    ["Status"],
                )
            if "Priority" in values and not any(
                s["ApiName"] == values["Priority"] for s in self.store["TaskPriority"].values()
            ):
                raise SalesforceApiError(
                    400,
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"Priority: bad value for restricted picklist field: {values['Priority']}",
                    ["Priority"],
                )
            what = values.get("WhatId")
            if creating and (not what or self.type_of.get(what) != "Opportunity"):
                raise SalesforceApiError(
                    400,
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Related To ID: id value of incorrect type",
                    ["WhatId"],
                )

    def _check_temporal(self, sobject: str, name: str, values: dict) -> None:
        """A dateTime or date field's value in a format the REST API takes ("Valid Date and
        DateTime Formats": yyyy-MM-ddTHH:mm:ss.SSS+/-HH:mm or yyyy-MM-ddTHH:mm:ss.SSSZ, the
        milliseconds optional; a date yyyy-MM-dd, with no offset), kept as Salesforce then
        answers it (a dateTime as 2026-12-08T01:02:03.000+0000). The refusal's code is the
        fake's best guess (the page gives none)."""
        value = values[name]
        is_datetime = sobject == "Opportunity" and self.custom_fields.get(name) == "datetime"
        if value is None or not (is_datetime or (sobject, name) in _DATE_FIELDS):
            return
        pattern = _REST_DATETIME if is_datetime else _REST_DATE
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise SalesforceApiError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {'datetime' if is_datetime else 'date'} from "
                f"VALUE_STRING value {value}",
                [name],
            )
        if is_datetime:
            values[name] = sf_datetime(_parse_dt(value))

    def _check_task_owner(self, owner_id: str | None) -> None:
        """A Task may not be assigned to, nor saved while owned by, an inactive user."""
        try:
            owner = self.store["User"].get(to18(owner_id)) if owner_id else None
        except ValueError:
            owner = None
        if owner is not None and not owner.get("IsActive"):
            raise SalesforceApiError(
                400,
                "INACTIVE_OWNER_OR_USER",
                f"operation performed with inactive user [{owner_id}] as owner of task",
            )

    def _check_writable(self) -> None:
        if self.read_only_mode:
            raise SalesforceApiError(400, MAINTENANCE_CODE, MAINTENANCE_MESSAGE)

    def create(self, sobject: str, values: dict, user: str) -> str:
        with self.lock:
            self._check_writable()
            self._take_record_fault(sobject, None)
            if sobject not in ("Task", "Opportunity", "Note"):
                raise SalesforceApiError(
                    404, "NOT_FOUND", f"The requested resource does not exist: sobjects/{sobject}"
                )
            clean = {k: v for k, v in values.items() if k != "attributes"}
            self._check_fields(sobject, clean, creating=True)
            if sobject == "Task":
                clean.setdefault("OwnerId", user)  # the creator owns it unless told otherwise
                self._run_rules(sobject, {}, clean, user)
                self._check_task_owner(clean["OwnerId"])
            clean["LastModifiedById"] = user
            return self.insert(sobject, clean)

    def _run_rules(self, sobject: str, old: dict, new: dict, user: str) -> None:
        """The org's other validation rules on this object (`add_rule`)."""
        for rule in self.extra_rules:
            if getattr(rule, "sobject", "Opportunity") != sobject:
                continue
            if getattr(rule, "honours_bypass", False) and self.has_bypass(user):
                continue
            msg = rule(old, new)
            if msg:
                raise SalesforceApiError(400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", msg)

    def update(self, sobject: str, record_id: str, values: dict, user: str) -> None:
        with self.lock:
            self._check_writable()
            self._take_record_fault(sobject, record_id)
            try:
                rid = to18(record_id)
            except ValueError:
                raise SalesforceApiError(400, "MALFORMED_ID", f"malformed id {record_id}") from None
            rec = self.store.get(sobject, {}).get(rid)
            if rec is None:
                raise SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")
            clean = {k: v for k, v in values.items() if k not in ("attributes", "Id")}
            self._check_fields(sobject, clean, creating=False)
            modify_all = (
                sobject == "Opportunity"
                and self.permission_set_modify_all
                and to18(user) in self.permission_set_assignees
            )
            if rid in self.locked_records and not modify_all:
                # An approval process locked it: only admins (and Modify All) may edit it.
                raise SalesforceApiError(
                    400, "ENTITY_IS_LOCKED", "the entity is locked for editing"
                )
            if (
                sobject == "Opportunity"
                and rid in self.private_opportunities
                and rec.get("OwnerId") != to18(user)
                and not modify_all
            ):
                # Edit respects sharing: View All Records reads a private deal, but only its
                # owner (or Modify All Records) may edit it.
                raise SalesforceApiError(
                    400,
                    "INSUFFICIENT_ACCESS_OR_READONLY",
                    "insufficient access rights on object id",
                )
            new = {**rec, **clean}
            if sobject == "Opportunity":
                if "StageName" in clean and self._stage(clean["StageName"]) is None:
                    raise SalesforceApiError(
                        400,
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"Stage: bad value for restricted picklist field: {clean['StageName']}",
                        ["StageName"],
                    )
                stage = self._stage(new.get("StageName"))
                changed_stage = clean.get("StageName", rec.get("StageName")) != rec.get("StageName")
                if (
                    self.validation_rule_active
                    and changed_stage
                    and stage
                    and stage["ApiName"] in self.validation_won_stages
                    and new.get("Roadmap_Block__c") is True
                ):
                    raise SalesforceApiError(
                        400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", self.validation_message
                    )
                self._run_rules(sobject, rec, new, user)
                self._derive_stage(new, stage_changed=changed_stage and "Probability" not in clean)
            if sobject == "Task":
                self._run_rules(sobject, rec, new, user)
                self._check_task_owner(new.get("OwnerId"))
                new["IsClosed"] = self._status_closed(new.get("Status"))
            new["LastModifiedDate"] = sf_datetime()
            if "LastModifiedById" in _SCHEMA[sobject]["fields"]:
                new["LastModifiedById"] = user
            if "SystemModstamp" in _SCHEMA[sobject]["fields"]:
                new["SystemModstamp"] = new["LastModifiedDate"]
            rec.clear()
            rec.update(new)

    # -- query --------------------------------------------------------------------------
    def _fields_of(self, sobject: str) -> set[str]:
        base = set(_SCHEMA[sobject]["fields"])
        if self.multi_currency:
            base |= set(_MULTI_CURRENCY_FIELDS.get(sobject, []))
        return base | set(self.custom_fields) if sobject == "Opportunity" else base

    def _has_type(self, sobject: str) -> bool:
        """Does this org have the sObject type (CurrencyType: multi-currency orgs only;
        DatedConversionRate: with advanced currency management)?"""
        if sobject == "DatedConversionRate":
            return self.dated_rates
        return sobject in _SCHEMA and (self.multi_currency or sobject not in _MULTI_CURRENCY_ONLY)

    def _validate(self, q: _Query, *, child: bool = False) -> None:
        """`child`: a child relationship subquery (its parent rows are its filter)."""
        if not self._has_type(q.sobject):
            raise SalesforceApiError(
                400, "INVALID_TYPE", f"sObject type '{q.sobject}' is not supported."
            )
        if (
            q.sobject == "ContentDocumentLink"
            and not child
            and not self.query_all_files
            and not any(
                path in ("Id", "ContentDocumentId", "LinkedEntityId")
                and op in ("=", "IN", "IN_SEMI")
                for path, op, _value in q.where
            )
        ):
            raise SalesforceApiError(400, "MALFORMED_QUERY", CDL_FILTER_MESSAGE)
        for path in q.fields + [w[0] for w in q.where] + ([q.order_by[0]] if q.order_by else []):
            self._resolve_type(q.sobject, path)
        for path, _op, _value in q.where:
            self._check_filterable(q.sobject, path)
        for _path, op, value in q.where:
            if op == "IN_SEMI":
                if len(value.fields) != 1 or value.subqueries:
                    raise SalesforceApiError(
                        400, "MALFORMED_QUERY", "a semi-join selects exactly one Id field"
                    )
                self._validate(value)
        for sub in q.subqueries:
            rel = _SCHEMA[q.sobject].get("children", {}).get(sub.sobject)
            if rel is None:
                raise SalesforceApiError(
                    400,
                    "INVALID_TYPE",
                    f"Didn't understand relationship '{sub.sobject}' in FROM part of query call.",
                )
            if sub.subqueries:
                raise SalesforceApiError(
                    400, "MALFORMED_QUERY", "Nesting of semi join sub-selects is not supported"
                )
            self._validate(
                _Query(sub.fields, [], rel[0], sub.where, sub.order_by, sub.limit), child=True
            )

    def _check_filterable(self, sobject: str, path: str) -> None:
        """A WHERE clause names "any field except a long text area field, encrypted data field,
        or base64-encoded field" (SOQL and SOSL Reference, fieldExpression Syntax). The code and
        message of the refusal are the fake's best guess (not in that page)."""
        parts = path.split(".")
        current = sobject
        for part in parts[:-1]:
            current = _SCHEMA[current]["lookups"][part][0]
        name = parts[-1]
        long_text = (current, name) in _LONG_TEXT or (
            current == "Opportunity" and self.custom_fields.get(name) == "textarea"
        )
        if long_text or (current, name) in _BASE64_FIELDS:
            raise SalesforceApiError(
                400, "INVALID_FIELD", f"field '{name}' can not be filtered in a query call"
            )

    def _resolve_type(self, sobject: str, path: str) -> None:
        parts = path.split(".")
        current = sobject
        for i, part in enumerate(parts):
            if i < len(parts) - 1:
                lookup = _SCHEMA[current].get("lookups", {}).get(part)
                if lookup is None:
                    raise SalesforceApiError(
                        400,
                        "INVALID_FIELD",
                        f"Didn't understand relationship '{part}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name.",
                    )
                current = lookup[0]
            elif part not in self._fields_of(current):
                raise SalesforceApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{part}' on entity '{current}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.",
                )

    def _get(self, sobject: str, rec: dict, path: str) -> Any:
        parts = path.split(".")
        current_type, current = sobject, rec
        for part in parts[:-1]:
            target, id_field = _SCHEMA[current_type]["lookups"][part]
            current = self.store[_STORE_OF.get(target, target)].get(current.get(id_field) or "")
            current_type = target
            if current is None:
                return None
        return current.get(parts[-1])

    def _matches(self, sobject: str, rec: dict, where: list[tuple]) -> bool:
        for path, op, value in where:
            actual = self._get(sobject, rec, path)
            if op == "IN_SEMI":
                allowed = {r[value.fields[0]] for r in self._select(value)}
                if actual not in allowed:
                    return False
                continue
            if op == "IN":
                norm = {
                    to18(v)
                    if isinstance(v, str) and path.endswith("Id") and len(v) in (15, 18)
                    else _fold(path, v)
                    for v in value
                }
                if _fold(path, actual) not in norm:
                    return False
                continue
            if op == "LIKE":
                pattern = "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$"
                if actual is None or not re.match(pattern, str(actual), re.IGNORECASE):
                    return False
                continue
            if isinstance(value, datetime) and isinstance(actual, str):
                actual = _parse_dt(actual)
            if isinstance(value, str) and path.endswith("Id") and len(value) in (15, 18):
                value = to18(value)
            actual, value = _fold(path, actual), _fold(path, value)
            ok = {
                "=": lambda a, b: a == b,
                "!=": lambda a, b: a != b,
                "<": lambda a, b: a is not None and a < b,
                ">": lambda a, b: a is not None and a > b,
                "<=": lambda a, b: a is not None and a <= b,
                ">=": lambda a, b: a is not None and a >= b,
            }[op](actual, value)
            if not ok:
                return False
        return True

    def _candidates(self, q: _Query) -> list[dict]:
        store = self.store[_STORE_OF.get(q.sobject, q.sobject)]
        if self._include_deleted:
            store = {**store, **self.recycle_bin.get(_STORE_OF.get(q.sobject, q.sobject), {})}
        for path, op, value in q.where:
            if path == "Id" and op == "IN":
                ids = []
                for v in value:
                    try:
                        ids.append(to18(v))
                    except ValueError:
                        raise SalesforceApiError(
                            400, "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {v}"
                        ) from None
                # Each record once, however often the list names it (as SOQL answers).
                return [store[i] for i in dict.fromkeys(ids) if i in store]
        return list(store.values())

    def _select(self, q: _Query) -> list[dict]:
        # A semi-join is evaluated once, then treated as an IN list.
        where = [
            (p, "IN", sorted({r[v.fields[0]] for r in self._select(v)}))
            if op == "IN_SEMI"
            else (p, op, v)
            for p, op, v in q.where
        ]
        q = _Query(q.fields, q.subqueries, q.sobject, where, q.order_by, q.limit)
        rows = [r for r in self._candidates(q) if self._matches(q.sobject, r, q.where)]
        if q.order_by:
            path, desc = q.order_by
            rows.sort(
                key=lambda r: (
                    self._get(q.sobject, r, path) is None,
                    str(self._get(q.sobject, r, path)),
                ),
                reverse=desc,
            )
        if q.limit is not None:
            rows = rows[: q.limit]
        return rows

    def _attrs(self, sobject: str, rec_id: str) -> dict:
        return {
            "type": sobject,
            "url": f"/services/data/v{self.api_version}/sobjects/{sobject}/{rec_id}",
        }

    def _render(self, sobject: str, rec: dict, q: _Query) -> dict:
        out: dict[str, Any] = {"attributes": self._attrs(sobject, rec["Id"])}
        for path in q.fields:
            parts = path.split(".")
            if len(parts) == 1:
                value = rec.get(path)
                if isinstance(value, bytes):  # base64 fields come back as the blob's URL
                    value = (
                        f"/services/data/v{self.api_version}/sobjects/{sobject}/{rec['Id']}/{path}"
                    )
                out[path] = value
                continue
            # Lookups render as nested objects (or null), as the REST API does.
            node, current_type, current = out, sobject, rec
            for part in parts[:-1]:
                target, id_field = _SCHEMA[current_type]["lookups"][part]
                linked = self.store[_STORE_OF.get(target, target)].get(
                    (current or {}).get(id_field) or ""
                )
                if linked is None:
                    node[part] = None
                    break
                child = node.get(part) or {"attributes": self._attrs(target, linked["Id"])}
                node[part] = child
                node, current_type, current = child, target, linked
            else:
                node[parts[-1]] = current.get(parts[-1])
        for sub in q.subqueries:
            child_type, fk = _SCHEMA[sobject]["children"][sub.sobject]
            ids = self.children[(child_type, fk)].get(rec["Id"], [])
            child_q = _Query(sub.fields, [], child_type, sub.where, sub.order_by, sub.limit)
            rows = [
                self.store[child_type][i]
                for i in ids
                if self._matches(child_type, self.store[child_type][i], sub.where)
            ]
            if sub.limit is not None:
                rows = rows[: sub.limit]
            out[sub.sobject] = (
                None
                if not rows
                else {
                    "totalSize": len(rows),
                    "done": True,
                    "records": [self._render(child_type, r, child_q) for r in rows],
                }
            )
        return out

    def query(self, soql: str, user: str | None = None, *, include_deleted: bool = False) -> dict:
        """`include_deleted`: queryAll (deleted records too, IsDeleted true). Both obey sharing
        for `user` (None: no sharing, as a test peeking at the org)."""
        with self.lock:
            self.queries.append(soql)
            q = parse_soql(soql)
            self._validate(q)
            self._include_deleted = include_deleted
            try:
                selected = self._select(q)
            finally:
                self._include_deleted = False
            rows = [
                self._render(q.sobject, r, q) for r in selected if self.can_see(user, q.sobject, r)
            ]
            size = self.page_size_with_children if q.subqueries else self.page_size
            return self._page(rows, 0, size, total=len(rows))

    def _page(self, rows: list[dict], offset: int, size: int, *, total: int) -> dict:
        chunk = rows[offset : offset + size]
        done = offset + size >= len(rows)
        body: dict[str, Any] = {"totalSize": total, "done": done, "records": chunk}
        if not done:
            locator = f"01gFAKE{next(self._seq):08d}-{offset + size}"
            self._cursors[locator] = (rows, size)
            body["nextRecordsUrl"] = f"/services/data/v{self.api_version}/query/{locator}"
        return body

    def query_more(self, locator: str) -> dict:
        with self.lock:
            cursor = self._cursors.pop(locator, None)
            if cursor is None:
                raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            rows, size = cursor
            offset = int(locator.rsplit("-", 1)[1])
            return self._page(rows, offset, size, total=len(rows))

    def describe(self, sobject: str) -> dict:
        if not self._has_type(sobject):
            raise SalesforceApiError(
                404, "NOT_FOUND", f"The requested resource does not exist: {sobject}"
            )
        fields = []
        types = {"Id": "id", "Amount": "currency", "CloseDate": "date", "StageName": "picklist"}
        for name in sorted(self._fields_of(sobject)):
            ftype = self.custom_fields.get(name) or types.get(name, "string")
            system = name in (
                "Id",
                "IsClosed",
                "IsWon",
                "CreatedDate",
                "LastModifiedDate",
                "LastModifiedById",
                "SystemModstamp",
            )
            fields.append(
                {
                    "name": name,
                    "label": name.replace("__c", "").replace("_", " "),
                    "type": ftype,
                    "custom": name.endswith("__c"),
                    "updateable": not system and name not in self.unwritable_fields,
                    "createable": not system and name not in self.unwritable_fields,
                    "nillable": ftype != "boolean",
                }
            )
        children = [
            {"relationshipName": rel, "childSObject": obj, "field": fk}
            for rel, (obj, fk) in _SCHEMA[sobject].get("children", {}).items()
        ]
        return {
            "name": sobject,
            "label": sobject,
            "queryable": True,
            "updateable": True,
            "fields": fields,
            "childRelationships": children,
        }

    # -- collections and composite --------------------------------------------------------
    def collection(self, method: str, body: dict, user: str) -> list[dict]:
        records = body.get("records")
        if not isinstance(records, list) or not records:
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "records must be a non-empty array")
        if len(records) > 200:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        if body.get("allOrNone"):
            raise SalesforceApiError(
                400, "UNSUPPORTED_IN_FAKE", "the fake Salesforce supports allOrNone false only"
            )
        types = [
            (rec.get("attributes") or {}).get("type") if isinstance(rec, dict) else None
            for rec in records
        ]
        chunks = sum(1 for i, t in enumerate(types) if i == 0 or t != types[i - 1])
        if chunks > COLLECTION_MAX_CHUNKS:
            raise SalesforceApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "Cannot have more than 10 chunks in a single operation. Please rearrange the data "
                "to reduce chunking.",
            )
        results = []
        for rec in records:
            sobject = (rec.get("attributes") or {}).get("type")
            if not sobject:
                results.append(
                    {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "INVALID_TYPE",
                                "message": "attributes.type is required",
                                "fields": [],
                            }
                        ],
                    }
                )
                continue
            try:
                if method == "POST":
                    if rec.get("Id"):
                        raise SalesforceApiError(
                            400,
                            "INVALID_FIELD_FOR_INSERT_UPDATE",
                            "cannot specify Id in an insert call",
                            ["Id"],
                        )
                    new_id = self.create(sobject, rec, user)
                    results.append({"id": new_id, "success": True, "errors": []})
                else:
                    if not rec.get("Id"):
                        raise SalesforceApiError(
                            400, "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]
                        )
                    self.update(sobject, rec["Id"], rec, user)
                    results.append({"id": to18(rec["Id"]), "success": True, "errors": []})
            except SalesforceApiError as exc:
                code = "ENTITY_IS_DELETED" if exc.code == "NOT_FOUND" else exc.code
                results.append(
                    {
                        "success": False,
                        "errors": [
                            {"statusCode": code, "message": exc.message, "fields": exc.fields}
                        ],
                    }
                )
        return results

    def composite(self, body: dict, user: str) -> dict:
        subrequests = body.get("compositeRequest")
        if not isinstance(subrequests, list) or not subrequests:
            raise SalesforceApiError(
                400, "JSON_PARSER_ERROR", "compositeRequest must be a non-empty array"
            )
        if len(subrequests) > 25:
            raise SalesforceApiError(
                400, "LIMIT_EXCEEDED", "A composite request may contain at most 25 subrequests"
            )
        heavy = sum(
            1
            for s in subrequests
            if "/query" in s.get("url", "") or "/composite/sobjects" in s.get("url", "")
        )
        if heavy > 5:
            raise SalesforceApiError(
                400, "LIMIT_EXCEEDED", "At most 5 subrequests may be queries or sObject Collections"
            )
        if body.get("allOrNone"):
            raise SalesforceApiError(
                400, "UNSUPPORTED_IN_FAKE", "the fake Salesforce supports allOrNone false only"
            )
        out = []
        for sub in subrequests:
            fault = self._take_subrequest_fault(_decoded_url(sub.get("url", "")))
            if fault is not None:
                status, payload = _FAULT_ANSWERS[fault]
            else:
                status, payload = self.dispatch(
                    sub.get("method", "GET"), sub.get("url", ""), sub.get("body"), user, nested=True
                )
            out.append(
                {
                    "body": payload,
                    "httpHeaders": {},
                    "httpStatusCode": status,
                    "referenceId": sub.get("referenceId"),
                }
            )
        return {"compositeResponse": out}

    @staticmethod
    def _check_query_string(query: str) -> None:
        """Refuse a query string a server could not decode as meant: a character RFC 3986 does
        not allow there (a space, "[", ...), or a "%" that does not start a %XX escape."""
        unescaped = re.sub(r"%[0-9A-Fa-f]{2}", "", query)
        if "%" in unescaped or not _QUERY_CHARS.fullmatch(unescaped):
            bad = "%" if "%" in unescaped else re.sub(_QUERY_CHARS, "", unescaped)[:1]
            raise SalesforceApiError(
                400,
                "MALFORMED_QUERY",
                f"the query string is not percent-encoded (found {bad!r}): encode a SOQL text "
                "in a URL (spaces as + or %20, % as %25)",
            )

    def dispatch(
        self, method: str, url: str, body: Any, user: str, *, nested: bool = False
    ) -> tuple[int, Any]:
        """Route one REST request (top level or composite subrequest) → (status, JSON body)."""
        parts = urlsplit(url)
        prefix = f"/services/data/v{self.api_version}/"
        if not parts.path.startswith(prefix):
            return 404, [
                {
                    "errorCode": "NOT_FOUND",
                    "message": f"API version must be v{self.api_version}: {parts.path}",
                }
            ]
        rest = parts.path[len(prefix) :].strip("/")
        try:
            self._check_query_string(parts.query)
            if rest in ("query", "queryAll") and method == "GET":
                q = parse_qs(parts.query).get("q")
                if not q:
                    raise SalesforceApiError(400, "MALFORMED_QUERY", "q is required")
                return 200, self.query(q[0], user, include_deleted=rest == "queryAll")
            if (rest.startswith("query/") or rest.startswith("queryAll/")) and method == "GET":
                return 200, self.query_more(rest.split("/", 1)[1])
            if rest == "chatter/users/me" and method == "GET":
                me = self.store["User"].get(user) or {"Id": user}
                return 200, {
                    "id": me["Id"],
                    "username": me.get("Username"),
                    "name": me.get("Name"),
                    "displayName": me.get("Name"),
                    "type": "User",
                }
            if rest == "composite" and method == "POST" and not nested:
                return 200, self.composite(body or {}, user)
            if rest == "composite/sobjects" and method in ("POST", "PATCH"):
                return 200, self.collection(method, body or {}, user)
            segs = rest.split("/")
            if segs[0] == "sobjects" and len(segs) >= 2:
                sobject = segs[1]
                if len(segs) == 3 and segs[2] == "describe" and method == "GET":
                    return 200, self.describe(sobject)
                if len(segs) == 2 and method == "POST":
                    new_id = self.create(sobject, body or {}, user)
                    return 201, {"id": new_id, "success": True, "errors": []}
                if len(segs) == 3 and method == "PATCH":
                    self.update(sobject, segs[2], body or {}, user)
                    return 204, None
                if len(segs) == 3 and method == "GET":
                    rec = self.store.get(sobject, {}).get(to18(segs[2]))
                    if rec is None:
                        raise SalesforceApiError(
                            404, "NOT_FOUND", "The requested resource does not exist"
                        )
                    return 200, {
                        "attributes": self._attrs(sobject, rec["Id"]),
                        **{k: v for k, v in rec.items() if not isinstance(v, bytes)},
                    }
            raise SalesforceApiError(
                404, "NOT_FOUND", f"The requested resource does not exist: {method} {rest}"
            )
        except SalesforceApiError as exc:
            return exc.status, exc.body()

    # -- Apex REST ------------------------------------------------------------------------
    def apex_rest(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        """/services/apexrest/<mapping>: only the RoadmapGuardNotes class exists, when installed."""
        mapping = path[len(APEX_REST_PREFIX) :].strip("/")
        if mapping != NOTES_MAPPING or not self.notes_resource_installed:
            return 404, [{"errorCode": "NOT_FOUND", "message": "Could not find a match for URL"}]
        if self.notes_resource_forbidden:
            return 403, [
                {
                    "errorCode": "FORBIDDEN",
                    "message": "You do not have access to the Apex class named 'RoadmapGuardNotes'.",
                }
            ]
        if self.notes_resource_error is not None:
            return 500, [{"errorCode": "APEX_ERROR", "message": self.notes_resource_error}]
        if method != "POST":
            return 405, [
                {
                    "errorCode": "METHOD_NOT_ALLOWED",
                    "message": f"HTTP Method '{method}' not allowed. Allowed are POST",
                }
            ]
        ids = (body or {}).get("ids") if isinstance(body, dict) else None
        if ids is None:
            ids = []
        if not isinstance(ids, list):
            return 400, [
                {"errorCode": "JSON_PARSER_ERROR", "message": "ids must be a JSON array of Ids"}
            ]
        if len(ids) > NOTES_MAX_IDS:
            return 400, []  # the class sets statusCode 400 and returns an empty list
        out = []
        with self.lock:
            for raw in ids:
                try:
                    note = self.store["ContentNote"].get(to18(str(raw)))
                except ValueError:
                    return 400, [
                        {"errorCode": "JSON_PARSER_ERROR", "message": f"Invalid ID: {raw}"}
                    ]
                if note is not None:
                    out.append(
                        {
                            "noteId": note["Id"],
                            "versionId": note.get("LatestPublishedVersionId"),
                            "content": (note.get("Content") or b"").decode("utf-8", "replace"),
                        }
                    )
        return 200, out

    # -- Metadata API (deploy) --------------------------------------------------------------
    def deploy(self, soap_body: bytes) -> str:
        from defusedxml.ElementTree import fromstring

        root = fromstring(soap_body)
        ns = {"met": "http://soap.sforce.com/2006/04/metadata"}
        zipped = root.findtext(".//met:ZipFile", namespaces=ns) or ""
        check_only = (root.findtext(".//met:checkOnly", namespaces=ns) or "").lower() == "true"
        errors, components = [], 0
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(zipped))) as zf:
            names = zf.namelist()
            if "package.xml" not in names:
                errors.append(("package.xml", "No package.xml found"))
            for name in names:
                if not name.startswith("objects/") or not name.endswith(".object"):
                    continue
                obj = fromstring(zf.read(name))
                mns = {"m": ns["met"]}
                for fld in obj.findall("m:fields", mns):
                    fname, ftype = (
                        fld.findtext("m:fullName", namespaces=mns),
                        fld.findtext("m:type", namespaces=mns),
                    )
                    components += 1
                    if not fname or not fname.endswith("__c"):
                        errors.append((name, f"invalid custom field name {fname!r}"))
                    elif not check_only:
                        self.custom_fields[fname] = {
                            "Checkbox": "boolean",
                            "DateTime": "datetime",
                            "LongTextArea": "textarea",
                            "Picklist": "picklist",
                        }.get(ftype or "", "string")
                        if ftype == "Picklist":
                            self.picklist_values[fname] = {
                                v
                                for v in (
                                    value.findtext("m:fullName", namespaces=mns)
                                    for value in fld.iter(f"{{{ns['met']}}}value")
                                )
                                if v
                            }
                for rule in obj.findall("m:validationRules", mns):
                    components += 1
                    formula = rule.findtext("m:errorConditionFormula", namespaces=mns) or ""
                    if "Roadmap_Block__c" not in formula:
                        errors.append((name, "validation rule does not reference Roadmap_Block__c"))
                    elif not check_only:
                        self.validation_rule_active = (
                            rule.findtext("m:active", namespaces=mns) or ""
                        ) == "true"
                        self.validation_message = (
                            rule.findtext("m:errorMessage", namespaces=mns)
                            or self.validation_message
                        )
                        self.validation_won_stages = [
                            re.sub(r"\\(.)", r"\1", m)
                            for m in re.findall(
                                r'ISPICKVAL\(StageName, "((?:[^"\\]|\\.)*)"\)', formula
                            )
                        ]
            for name in names:
                if not name.startswith("permissionsets/"):
                    continue
                pset = fromstring(zf.read(name))
                mns = {"m": ns["met"]}
                # Activities have no object permissions (Edit Tasks / Edit Events instead):
                # Salesforce refuses the permission set, and the deploy with it.
                for op in pset.findall("m:objectPermissions", mns):
                    obj = op.findtext("m:object", namespaces=mns)
                    if obj in ("Task", "Event", "Activity"):
                        errors.append((name, f"Unknown object: {obj}"))
                if check_only:
                    continue
                if not name.endswith(f"/{INTEGRATION_PERMISSION_SET}.permissionset"):
                    self.permission_sets[name.rsplit("/", 1)[-1].split(".")[0]] = {
                        fp.findtext("m:field", namespaces=mns): (
                            fp.findtext("m:readable", namespaces=mns) == "true",
                            fp.findtext("m:editable", namespaces=mns) == "true",
                        )
                        for fp in pset.findall("m:fieldPermissions", mns)
                    }
                    continue
                granted = {
                    cp.findtext("m:name", namespaces=mns)
                    for cp in pset.findall("m:customPermissions", mns)
                    if (cp.findtext("m:enabled", namespaces=mns) or "") == "true"
                }
                perm = "Roadmap_Guard_Bypass_Validation"
                if perm in granted and f"customPermissions/{perm}.customPermission" not in names:
                    errors.append(
                        (name, f"In field: name - no CustomPermission named {perm} found")
                    )
                else:
                    self.permission_set_grants_bypass = perm in granted
                self.permission_set_view_all = any(
                    op.findtext("m:object", namespaces=mns) == "Opportunity"
                    and op.findtext("m:viewAllRecords", namespaces=mns) == "true"
                    for op in pset.findall("m:objectPermissions", mns)
                )
                self.permission_set_modify_all = any(
                    op.findtext("m:object", namespaces=mns) == "Opportunity"
                    and op.findtext("m:modifyAllRecords", namespaces=mns) == "true"
                    for op in pset.findall("m:objectPermissions", mns)
                )
            classes = {
                n[len("classes/") : -len(".cls")]: zf.read(n).decode("utf-8", "replace")
                for n in names
                if n.startswith("classes/") and n.endswith(".cls")
            }
            for cls, source in classes.items():
                components += 1
                if f"classes/{cls}.cls-meta.xml" not in names:
                    errors.append((f"classes/{cls}.cls", "missing .cls-meta.xml"))
                if "ContentNote" in source and not self._has_type("ContentNote"):
                    # Enhanced Notes turned off: the type does not exist, the class cannot compile.
                    errors.append((f"classes/{cls}.cls", "Invalid type: ContentNote"))
        if classes:
            # Production runs Apex tests with a deploy that contains Apex: ours names its own.
            level = root.findtext(".//met:testLevel", namespaces=ns) or ""
            run = [t.text for t in root.iter(f"{{{ns['met']}}}runTests")]
            tested = [t for t in run if "@IsTest" in classes.get(t or "", "")]
            if level != "RunSpecifiedTests" or not tested:
                errors.append(
                    (
                        "package.xml",
                        "Average test coverage across all Apex Classes and Triggers is 0%, at "
                        "least 75% test coverage is required.",
                    )
                )
            # A test method that fails in this org (e.g. one of its own rules or triggers refuses
            # the test's insert): reported under runTestResult, and the deploy fails.
            test_failures = [f for f in self.apex_test_failures if f[0] in tested]
            source = classes.get(NOTES_CLASS, "")
            if source and f"@RestResource(urlMapping='/{NOTES_MAPPING}')" not in source:
                errors.append((f"classes/{NOTES_CLASS}.cls", "unexpected urlMapping"))
            elif source and not errors and not test_failures and not check_only:
                self.notes_resource_installed = True
        else:
            test_failures = []
        async_id = f"0Af{next(self._seq):012d}"
        self.deployments[async_id] = {
            "errors": errors,
            "components": components,
            "test_failures": test_failures,
        }
        return async_id

    def deploy_status_xml(self, async_id: str) -> str:
        dep = self.deployments.get(async_id)
        if dep is None:
            raise SalesforceApiError(400, "INVALID_ID_FIELD", f"unknown deployment {async_id}")
        failures = "".join(
            f"<componentFailures><componentType>CustomObject</componentType><fileName>{f}</fileName>"
            f"<problemType>Error</problemType><problem>{p}</problem></componentFailures>"
            for f, p in dep["errors"]
        )
        tests = dep.get("test_failures") or []
        # DeployResult.details.runTestResult.failures (RunTestFailure: name, methodName,
        # message, stackTrace), as the Metadata API reports a failed Apex test.
        test_xml = (
            "<runTestResult>"
            + "".join(
                f"<failures><name>{xml_escape(c)}</name><methodName>{xml_escape(m)}</methodName>"
                f"<message>{xml_escape(msg)}</message>"
                f"<stackTrace>Class.{xml_escape(c)}.{xml_escape(m)}: line 1, column 1</stackTrace>"
                "</failures>"
                for c, m, msg in tests
            )
            + f"<numFailures>{len(tests)}</numFailures><numTestsRun>{len(tests)}</numTestsRun>"
            "</runTestResult>"
            if tests
            else ""
        )
        ok = not dep["errors"] and not tests
        status = "Succeeded" if ok else "Failed"
        return (
            '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><checkDeployStatusResponse><result>'
            f"<id>{async_id}</id><done>true</done><status>{status}</status><success>{str(ok).lower()}</success>"
            f"<numberComponentErrors>{len(dep['errors'])}</numberComponentErrors><numberComponentsDeployed>{dep['components'] - len(dep['errors'])}</numberComponentsDeployed>"
            f"<numberComponentsTotal>{dep['components']}</numberComponentsTotal><numberTestErrors>{len(tests)}</numberTestErrors><numberTestsCompleted>{len(tests)}</numberTestsCompleted><numberTestsTotal>{len(tests)}</numberTestsTotal>"
            f"<details>{failures}{test_xml}</details></result></checkDeployStatusResponse></soapenv:Body></soapenv:Envelope>"
        )


# --- HTTP over TLS -------------------------------------------------------------------------


def _handler(fake: FakeSalesforce) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            return None

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            if body is None:
                data = b""
            elif isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = json.dumps(body).encode()
            try:
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                with fake.lock:
                    used = fake.api_used
                self.send_header("Sforce-Limit-Info", f"api-usage={used}/{fake.api_limit}")
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass  # the client gave up (a timeout we caused)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            uri = len(self.path.encode())
            headers = sum(len(f"{k}: {v}\r\n".encode()) for k, v in self.headers.items())
            if uri > MAX_URI_AND_HEADERS:  # refused in front of the org: not an API call
                return self._send(414, None)
            if uri + headers > MAX_URI_AND_HEADERS:
                return self._send(431, None)
            path = unquote(urlsplit(self.path).path)
            kind = _kind(self.command, path)
            with fake.lock:
                fake.calls.append((self.command, kind))
                fake.api_used += 1
            fault = fake._take_fault(path)
            # "gateway_timeout": the org runs the request to the end, and the proxy in front of
            # it, tired of waiting, answers its own 504 page instead (the write landed unseen).
            gateway_lost = fault == "gateway_timeout"
            if fault == "timeout":
                time.sleep(fake.timeout_seconds)
            elif fault == "gateway_html":
                return self._send(502, GATEWAY_HTML, "text/html")
            elif fault is not None and not gateway_lost:
                return self._send(*_FAULT_ANSWERS[fault])
            if path.startswith("/services/Soap/m/"):
                return self._metadata(path, raw)
            if path == "/services/oauth2/token" and self.command == "POST":
                form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
                status, payload = fake.oauth_token(
                    self.headers.get("Host", ""), form, self.headers.get("Authorization", "")
                )
                return self._send(status, payload)
            auth = self.headers.get("Authorization", "")
            user = fake.tokens.get(auth.removeprefix("Bearer ").strip())
            if user is None:
                return self._send(
                    401,
                    [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                )
            if path.startswith(APEX_REST_PREFIX):
                try:
                    apex_body = json.loads(raw) if raw else None
                except ValueError:
                    return self._send(
                        400, [{"errorCode": "JSON_PARSER_ERROR", "message": "body is not JSON"}]
                    )
                return self._send(*fake.apex_rest(self.command, path, apex_body))
            blob = re.match(
                rf"^/services/data/v{re.escape(fake.api_version)}/sobjects/ContentNote/(\w+)/Content$",
                path,
            )
            if blob and self.command == "GET":
                rec = fake.store["ContentNote"].get(blob.group(1))
                if rec is None:
                    return self._send(
                        404,
                        [
                            {
                                "errorCode": "NOT_FOUND",
                                "message": "The requested resource does not exist",
                            }
                        ],
                    )
                return self._send(200, rec["Content"], "text/html")
            body = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self._send(
                        400, [{"errorCode": "JSON_PARSER_ERROR", "message": "body is not JSON"}]
                    )
            status, payload = fake.dispatch(self.command, self.path, body, user)
            if gateway_lost:
                return self._send(504, GATEWAY_TIMEOUT_HTML, "text/html")
            self._send(status, payload)

        def _metadata(self, path: str, raw: bytes) -> None:
            try:
                if path.endswith("/deployRequest"):
                    async_id = fake.deploy(raw)
                    xml = (
                        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                        'xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body><deployResponse><result>'
                        f"<done>false</done><id>{async_id}</id><state>Queued</state></result></deployResponse></soapenv:Body></soapenv:Envelope>"
                    )
                    return self._send(200, xml, "text/xml")
                async_id = path.rsplit("/", 1)[1]
                return self._send(200, fake.deploy_status_xml(async_id), "text/xml")
            except (SalesforceApiError, zipfile.BadZipFile, ValueError) as exc:
                return self._send(500, f"<fault>{exc}</fault>", "text/xml")

        def _safe(self) -> None:
            try:
                self._handle()
            except Exception as exc:  # a fake bug must surface as a 500, not a dropped socket
                self._send(500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": f"fake: {exc!r}"}])

        do_GET = do_POST = do_PATCH = do_DELETE = _safe

    return Handler


def _kind(method: str, path: str) -> str:
    if "/composite/sobjects" in path:
        return "collections"
    if path.endswith("/composite"):
        return "composite"
    if "/query" in path:
        return "query"
    if path.endswith("/describe"):
        return "describe"
    if path.endswith("/Content"):
        return "blob"
    if path.startswith(APEX_REST_PREFIX):
        return "apexrest"
    if path.startswith("/services/Soap/m/"):
        return "metadata"
    if path.startswith("/services/oauth2/"):
        return "oauth"
    return f"sobject_{method.lower()}"


class FakeSalesforceServer:
    """Serve a FakeSalesforce over HTTPS on 127.0.0.1 with a throwaway CA.

    `instance_url` and `ca_bundle` are what settings need (SALESFORCE_INSTANCE_URL,
    SALESFORCE_CA_BUNDLE); the access tokens are in `fake.tokens`.
    """

    def __init__(self, fake: FakeSalesforce | None = None) -> None:
        import trustme

        self.fake = fake or FakeSalesforce()
        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._dir = tempfile.TemporaryDirectory(prefix="fake-sf-")
        self.ca_bundle = str(Path(self._dir.name) / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.fake))
        self.httpd.daemon_threads = True
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.instance_url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.fake.instance_url = self.instance_url
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="fake-salesforce", daemon=True
        )

    def __enter__(self) -> FakeSalesforceServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    def start(self) -> FakeSalesforceServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._dir.cleanup()


def route_salesforce_hosts(session: Any, server: FakeSalesforceServer) -> Any:
    """Send the session's requests for *.salesforce.com to the fake server, keeping the Host
    header: a stand-in for DNS, so simple-salesforce's own login URLs reach the fake unchanged."""
    import requests
    from requests.adapters import HTTPAdapter

    target = urlsplit(server.instance_url)

    class _Route(HTTPAdapter):
        def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
            url = urlsplit(request.url or "")
            if url.hostname and url.hostname.endswith(".salesforce.com"):
                request.headers["Host"] = url.netloc
                request.url = url._replace(netloc=target.netloc).geturl()
            return super().send(request, *args, **kwargs)

    session.mount("https://", _Route())
    return session


def outbound_message(
    notifications: list[tuple[str, str, dict[str, str | None]]],
    *,
    org_id: str = ORG_ID,
    session_id: str | None = None,
    sobject_type: str = "Opportunity",
    instance: str = "https://example.my.salesforce.com",
) -> bytes:
    """An outbound message as Salesforce sends it: [(notification id, record id, fields)]."""
    from xml.sax.saxutils import escape

    session = (
        f"<SessionId>{escape(session_id)}</SessionId>"
        if session_id
        else '<SessionId xsi:nil="true"/>'
    )
    items = []
    for notification_id, record_id, fields in notifications:
        cells = "".join(
            f'<sf:{k} xsi:nil="true"/>' if v is None else f"<sf:{k}>{escape(str(v))}</sf:{k}>"
            for k, v in {"Id": record_id, **fields}.items()
        )
        items.append(
            f"<Notification><Id>{notification_id}</Id>"
            f'<sObject xsi:type="sf:{sobject_type}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{cells}</sObject></Notification>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId><ActionId>04k000000000001AAA</ActionId>{session}"
        f"<EnterpriseUrl>{instance}/services/Soap/c/61.0/{org_id[:15]}</EnterpriseUrl>"
        f"<PartnerUrl>{instance}/services/Soap/u/61.0/{org_id[:15]}</PartnerUrl>"
        + "".join(items)
        + "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()
