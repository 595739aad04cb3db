"""SalesforceConnector: opportunities in as DealSnapshots, results out through Composite.

Reading a claim of N opportunities costs one Composite call per `salesforce_batch_size` (200)
opportunities, plus one for the org facts when they are not fresh (below). Each carries, as
subrequests (at most 5 queries per call, Salesforce's limit):
- ONE SOQL query on Opportunity with child subqueries for OpportunityLineItems (Product2 name
  and code, PricebookEntry), classic Notes, ContentDocumentLinks to enhanced notes (SNOTE) and
  our own Tasks (found by the subject marker);
- one ContentNote query for the linked notes' text: ContentNote is not a child relationship of
  Opportunity (it hangs off ContentDocumentLink), so its TextPreview needs a semi-join query.
  A note whose preview is full (it may be truncated) needs its body: one POST per batch of up to
  NOTE_BODY_BATCH of them to the Apex REST resource `setup salesforce` installs
  (/services/apexrest/roadmapguard/notes, class RoadmapGuardNotes), after the Composite call:
  Composite only carries /services/data resources, not /services/apexrest. Where the resource is
  not installed (404 NOT_FOUND, or 403 without class access) the connector remembers that for
  NOTES_RESOURCE_RETRY_SECONDS and fetches each body with one blob GET (sObject Blob Get is
  unsupported in Composite, and REST answers a base64 field with its blob URL). Bodies are cached
  by (note id, LatestPublishedVersionId): fetched once per edit of the note, not once per
  evaluation of the opportunity;
Large child lists and pages are followed with `query_more`.

Every SOQL text put in a Composite subrequest URL is percent-encoded (`_query_url`): a raw `%`
(`LIKE '[roadmap-guard%'`), space or bracket is not something a server must accept or decode as
meant.

Org facts, cached for META_TTL_SECONDS (and reloaded after an unknown stage), are five queries in
one Composite call of their own (and a sixth in a second one, in multi-currency orgs only): OpportunityStage (all stages, retired ones too: an opportunity
may still sit in a stage made inactive since), TaskPriority and TaskStatus (won/closed stages
and the org's own task picklist values; nothing is hard-coded), Organization
(DefaultCurrencyIsoCode), CurrencyType (every currency, active or not, with its rate against the
corporate one; a single-currency org has no CurrencyType) and DatedConversionRate (the rate periods of
advanced currency management; an org without it has no such type). They are loaded before the opportunity query,
which selects CurrencyIsoCode only in a multi-currency org (see `_read_chunk`).

Writing a claim: one Composite call per up to 5 sObject Collections requests of 200 records:
opportunity field updates, task updates, task and note creates. Only changed values are sent;
unchanged opportunities cost nothing. Salesforce processes a collection's records in chunks of
consecutive records of one type and refuses a request of more than 10 chunks, so each
collection carries its records grouped by type (`_run_collections`), whatever order the deals
came in. A task refused because its owner is an inactive user (INACTIVE_OWNER_OR_USER: the
opportunity of a rep who left) is sent again without that owner (see `_owner_fallback`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote_plus

from app.connectors.base import (
    CREDENTIALS_RETRY_SECONDS,
    ConnectorError,
    CredentialsError,
    DealIdPage,
    DealWriteBack,
    PermanentError,
    TaskSpec,
    TransientError,
    WriteOutcome,
    fit_lines,
    html_to_text,
)
from app.connectors.salesforce.client import SalesforceApi, subrequest, subresponse_error
from app.connectors.salesforce.errors import (
    FIELD_ACCESS_CODES,
    MISSING_CODES,
    UNAVAILABLE_RETRY_SECONDS,
    ApexResourceFailed,
    ApexResourceUnavailable,
    OrgRuleRefused,
    RequestTimedOut,
    classify,
    error_code,
    error_entries,
)
from app.connectors.salesforce.ids import to18
from app.rules.messages import cut_at_word
from app.rules.model import DealSnapshot, LineItem, Note, Stage
from app.settings import Settings

log = logging.getLogger(__name__)
# Names the generated package (setup.py) gives these; the connector names them in its errors.
BYPASS_PERMISSION = "Roadmap_Guard_Bypass_Validation"
OPPORTUNITY_PREFIX = "006"  # key prefix of Opportunity ids (as events.OPPORTUNITY_PREFIX)
PERMISSION_SET_NAME = "Roadmap_Guard_Integration"

TASK_MARKER = "[roadmap-guard]"  # subject prefix of our one task per opportunity
# Opportunities whose last field write this process remembers (see `_fields_written`).
FIELDS_WRITTEN_KEPT = 10_000
MARKER_LIKE = "[roadmap-guard%"  # also matches follow-up markers "[roadmap-guard:<key>]"
NOTE_MARKER = "[roadmap-guard]"  # title prefix of our notes: never read back as deal notes
# A cut-short write's notes are looked for from when it began, less this: our clock and
# Salesforce's CreatedDate need not agree to the second.
CUT_SHORT_CLOCK_SKEW = timedelta(minutes=2)
PREVIEW_CHARS = 255  # ContentNote.TextPreview length: a full preview may be truncated
META_TTL_SECONDS = 3600.0
MAX_QUERIES_PER_COMPOSITE = 5
# Before a write, whether someone changed the opportunity since its snapshot was read (see
# `_flag_changed_since_read`): by Salesforce's LastModifiedDate when the snapshot has it;
# else, for a snapshot read more than STALE_SNAPSHOT_SECONDS ago, by our read time less
# STALE_SNAPSHOT_SKEW (our clock and Salesforce's need not agree).
STALE_SNAPSHOT_SECONDS = 60.0
STALE_SNAPSHOT_SKEW = timedelta(minutes=2)
COLLECTION_SIZE = 200
NOTE_BODY_CACHE_SIZE = 10_000  # long note bodies kept, by (note id, version)
NOTES_RESOURCE = "roadmapguard/notes"  # Apex REST urlMapping of RoadmapGuardNotes (setup.py)
NOTE_BODY_BATCH = 200  # note ids per POST (the Apex class refuses more)
NOTE_BODY_BATCH_BYTES = 1_000_000  # ContentSize per POST, well inside Apex's 6 MB heap
NOTES_RESOURCE_RETRY_SECONDS = 3600.0  # after a 404, blob GETs until then (then ask again)
# A user a Task could not be assigned to (INACTIVE_OWNER_OR_USER) is not given tasks for this
# long (then tried again: a user may be reactivated).
INACTIVE_OWNER_RETRY_SECONDS = 3600.0
INACTIVE_OWNER = "INACTIVE_OWNER_OR_USER"
SUBJECT_MAX = 255
# Salesforce ends a REST call after 10 minutes (API Timeout Limits): a write we stopped waiting
# for has landed or failed by then, so a create it carried may be repeated only after that.
SALESFORCE_CALL_LIMIT_SECONDS = 600.0
# Per-record codes a write gets when its opportunity was deleted since the read: the update says
# ENTITY_IS_DELETED, a Task or Note pointing at it FIELD_INTEGRITY_EXCEPTION ("Related To ID: id
# value of incorrect type") or a cross-reference error. Each is confirmed by a query before the
# deal counts as gone: the same codes can mean other things.
GONE_HINT_CODES = {
    "ENTITY_IS_DELETED",
    "FIELD_INTEGRITY_EXCEPTION",
    "INVALID_CROSS_REFERENCE_KEY",
    "NOT_FOUND",
}
DESCRIPTION_MAX = 32000
SUMMARY_FIELD_LENGTH = 4000  # the LongTextArea setup deploys
# STRING_TOO_LONG's message: "<field label>: data value too large: <value> (max length=255)".
MAX_LENGTH_RE = re.compile(r"max length\s*=\s*(\d+)")
CENT = Decimal("0.01")  # converted amounts are rounded half-up to cents


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _soql_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _sf_dt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def strip_html(text: str | None) -> str:
    """ContentNote content is HTML; rules read plain text (classic Note bodies are text)."""
    return html_to_text(text)


def followup_marker(key: str) -> str:
    return f"[roadmap-guard:{hashlib.sha1(key.encode()).hexdigest()[:10]}]"


def _sobject_type(record: dict) -> str:
    return str((record.get("attributes") or {}).get("type") or "")


def parse_won_stages(value: str | None) -> frozenset[str] | None:
    """SALESFORCE_WON_STAGES ("Closed Won,Signed - Booked") as a set; None when not set."""
    if value is None:
        return None
    return frozenset(v.strip() for v in value.split(",") if v.strip()) or None


def _not_supported(response: dict) -> bool:
    """A query subresponse refused with 400 INVALID_TYPE ("sObject type 'ContentNote' is not
    supported."): the org does not have the object. ContentNote exists only where enhanced
    Notes are enabled (Setup > Notes Settings; Salesforce: "Notes must be enabled"), and an
    org can turn them off: it has no enhanced notes to read, an answer, not a failure. It was a
    PermanentError for every read, and every deal of such an org went dead."""
    if int(response.get("httpStatusCode") or 0) != 400:
        return False
    entries = error_entries(response.get("body"))
    return bool(entries) and error_code(entries[0]) == "INVALID_TYPE"


def _children(record: dict, relationship: str) -> dict:
    return record.get(relationship) or {"records": [], "done": True}


@dataclass
class OrgFacts:
    """Per-org picklists, stage and currency facts, cached for META_TTL_SECONDS."""

    # Every stage, active or retired (an opportunity keeps a stage made inactive since).
    stages: dict[str, Stage] = field(default_factory=dict)
    # The stages a user can still pick (OpportunityStage.IsActive).
    active_stages: set[str] = field(default_factory=set)
    priority_high: str | None = None
    status_open: str | None = None
    status_done: str | None = None
    # Organization.DefaultCurrencyIsoCode: a single-currency org's one currency.
    org_currency: str | None = None
    # Multi-currency org (CurrencyType exists): the corporate currency and the static
    # ConversionRate of each currency against it (the corporate one's is 1), inactive ones
    # too: Salesforce keeps converting the records left in a deactivated currency with it.
    multi_currency: bool = False
    corporate_currency: str | None = None
    rates: dict[str, Decimal] = field(default_factory=dict)
    # Advanced currency management (DatedConversionRate exists): each currency's rate periods,
    # (StartDate, NextStartDate or None, rate) in order of StartDate; empty without it.
    dated_rates: dict[str, list[tuple[date, date | None, Decimal]]] = field(default_factory=dict)
    loaded_at: float = 0.0
    stale: bool = False  # an unknown stage was seen: reload with the next read

    def fresh(self) -> bool:
        return (
            bool(self.stages)
            and not self.stale
            and time.monotonic() - self.loaded_at < META_TTL_SECONDS
        )

    @property
    def home_currency(self) -> str | None:
        """The org's company currency: corporate (multi-currency) or its only one."""
        return self.corporate_currency if self.multi_currency else self.org_currency

    def home_amount(
        self, amount: Decimal | None, currency: str | None, on: date | None = None
    ) -> Decimal | None:
        """`amount`, in `currency`, converted to `home_currency`, for an opportunity closing `on`.

        Single-currency org: the amount itself. Multi-currency org: amount / the conversion
        rate of its currency, rounded half-up to 0.01: with advanced currency management the
        dated rate of the period holding `on` (the close date, as Salesforce converts
        opportunity amounts), else, or outside every period, the static
        CurrencyType.ConversionRate. A currency deactivated since the record was saved converts
        with the rate it keeps (Salesforce's static rates apply to active and inactive
        currencies alike, and its reports convert such records with it). None when there is no
        amount, or no rate for the currency (a record without CurrencyIsoCode, no corporate
        currency): no rate is guessed. convertCurrency() is not
        used: it converts to the integration user's personal currency, not the corporate one."""
        if amount is None:
            return None
        if not self.multi_currency:
            return amount
        rate = self._dated_rate(currency, on) or self.rates.get(currency or "")
        if rate is None or rate <= 0 or self.corporate_currency is None:
            return None
        return (amount / rate).quantize(CENT, rounding=ROUND_HALF_UP)

    def _dated_rate(self, currency: str | None, on: date | None) -> Decimal | None:
        periods = self.dated_rates.get(currency or "")
        if not periods or on is None:
            return None
        i = bisect_right(periods, on, key=lambda period: period[0]) - 1
        if i < 0:
            return None
        _start, next_start, rate = periods[i]
        return rate if next_start is None or on < next_start else None


@dataclass(frozen=True)
class FieldNames:
    status: str
    summary: str
    block: str
    checked_at: str

    @classmethod
    def from_settings(cls, settings: Settings) -> FieldNames:
        return cls(
            status=settings.salesforce_status_field,
            summary=settings.salesforce_summary_field,
            block=settings.salesforce_block_field,
            checked_at=settings.salesforce_checked_at_field,
        )

    def all(self) -> list[str]:
        return [self.status, self.summary, self.block, self.checked_at]


class SalesforceConnector:
    name = "salesforce"

    def __init__(self, settings: Settings, api: SalesforceApi | None = None) -> None:
        self.settings = settings
        self.api = api or SalesforceApi(settings)
        self.fields = FieldNames.from_settings(settings)
        self.batch_size = settings.salesforce_batch_size
        self.integration_user_id = (
            to18(settings.salesforce_integration_user_id)
            if settings.salesforce_integration_user_id
            else None
        )
        self.facts = OrgFacts()
        self._facts_lock = threading.Lock()
        # SALESFORCE_WON_STAGES: the stages the deployed validation rule names (None: unknown).
        self.deployed_won_stages = parse_won_stages(settings.salesforce_won_stages)
        self._note_bodies: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._note_bodies_lock = threading.Lock()
        # monotonic time until which the notes Apex resource counts as not installed
        self._notes_resource_missing_until = 0.0
        # Opportunity id → (monotonic deadline, subject markers): a write carrying these creates
        # got no answer, so it may still land. Until they show up or the deadline passes, they
        # are not created again. Process-local (see docs/salesforce.md).
        self._unconfirmed_creates: dict[str, tuple[float, set[str]]] = {}
        self._unconfirmed_lock = threading.Lock()
        # User id → monotonic deadline: refused as a Task owner (INACTIVE_OWNER_OR_USER), so not
        # given tasks until then. Process-local, like the memories above.
        self._inactive_owners: dict[str, float] = {}
        self._inactive_owners_lock = threading.Lock()
        # The summary field's length, once Salesforce refused a longer value (STRING_TOO_LONG:
        # SALESFORCE_SUMMARY_FIELD set to an org's own Text(255) field, say): later summaries
        # are cut to it before they are compared and sent. Process-local, like the memories above.
        self.summary_max: int = SUMMARY_FIELD_LENGTH
        # Opportunity id → (when, the roadmap fields as written then), for writes whose outcome
        # carried an error (a task a rule refused): the pipeline records nothing of such a
        # write, so a held retry planned from a stored snapshot sent the fields again every
        # few minutes, moving Roadmap Checked At and LastModifiedDate each time. Used only when
        # newer than both the snapshot's read and the last recorded write (`_current`).
        # Process-local and bounded, like the memories above.
        self._fields_written: OrderedDict[str, tuple[datetime, dict]] = OrderedDict()
        self._fields_written_lock = threading.Lock()
        self.lost_write_retry_seconds = max(
            2 * settings.salesforce_timeout_seconds, UNAVAILABLE_RETRY_SECONDS
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceConnector:
        return cls(settings)

    # --- org facts ------------------------------------------------------------------------
    def _query_url(self, soql: str) -> str:
        """The Query resource URL of a SOQL text, for a Composite subrequest: the text is
        percent-encoded (spaces as +), as any query string must be."""
        return f"{self.api.data_path}query?q={quote_plus(soql)}"

    def _facts_subrequests(self) -> list[dict]:
        q = self._query_url
        return [
            # Every stage, not only active ones: an opportunity can sit in a stage retired since.
            subrequest(
                "GET",
                q(
                    "SELECT ApiName, MasterLabel, IsActive, IsWon, IsClosed, DefaultProbability "
                    "FROM OpportunityStage ORDER BY SortOrder"
                ),
                "stages",
            ),
            subrequest(
                "GET",
                q("SELECT ApiName, IsDefault, IsHighPriority FROM TaskPriority ORDER BY SortOrder"),
                "priorities",
            ),
            subrequest(
                "GET",
                q("SELECT ApiName, IsDefault, IsClosed FROM TaskStatus ORDER BY SortOrder"),
                "statuses",
            ),
            subrequest(
                "GET", q("SELECT DefaultCurrencyIsoCode FROM Organization LIMIT 1"), "organization"
            ),
            subrequest(
                "GET",
                q("SELECT IsoCode, ConversionRate, IsCorporate FROM CurrencyType"),
                "currencies",
            ),
        ]

    def _load_dated_rates(self) -> dict[str, list[tuple[date, date | None, Decimal]]]:
        """The rate periods of advanced currency management: a Composite call of its own (the
        facts call holds the five queries one Composite request may), made by multi-currency
        orgs only, once per facts load."""
        [response] = self.api.composite(
            "dated_rates",
            [
                subrequest(
                    "GET",
                    self._query_url(
                        "SELECT IsoCode, ConversionRate, StartDate, NextStartDate "
                        "FROM DatedConversionRate ORDER BY StartDate"
                    ),
                    "dated_rates",
                )
            ],
        )
        return self._dated_rates(response)

    @staticmethod
    def _currency_facts(response: dict) -> tuple[bool, str | None, dict[str, Decimal]]:
        """(multi-currency?, corporate currency, rates) from the CurrencyType query: every
        currency, active or not (a record may keep a currency deactivated since, and Salesforce
        converts it with that currency's rate: leaving it out dropped the deal from pipeline
        totals).

        A single-currency org has no CurrencyType: Salesforce answers 400 INVALID_TYPE ("sObject
        type 'CurrencyType' is not supported."), an answer, not a failure. Any other failure (an
        outage, a limit, no access) is raised like every facts error: taking it for
        single-currency would label every amount of a multi-currency org with the wrong currency.
        """
        if int(response.get("httpStatusCode") or 0) == 400:
            entries = error_entries(response.get("body"))
            if entries and error_code(entries[0]) == "INVALID_TYPE":
                return False, None, {}
        error = subresponse_error(response)
        if error:
            raise error
        corporate = None
        rates: dict[str, Decimal] = {}
        for currency in response["body"]["records"]:
            iso_code = currency.get("IsoCode")
            rate = _decimal(currency.get("ConversionRate"))
            if not iso_code or rate is None or rate <= 0:
                continue
            rates[iso_code] = rate
            if currency.get("IsCorporate"):
                corporate = iso_code
        return True, corporate, rates

    def _dated_rates(self, response: dict) -> dict[str, list[tuple[date, date | None, Decimal]]]:
        """Each currency's rate periods from the DatedConversionRate query, every page of it.

        An org without advanced currency management (or without multi-currency) has no such
        type: 400 INVALID_TYPE, the answer "none". Any other failure is raised, as for
        CurrencyType: the static rates in its place would convert with the wrong rate."""
        if int(response.get("httpStatusCode") or 0) == 400:
            entries = error_entries(response.get("body"))
            if entries and error_code(entries[0]) == "INVALID_TYPE":
                return {}
        error = subresponse_error(response)
        if error:
            raise error
        out: dict[str, list[tuple[date, date | None, Decimal]]] = {}
        page = response["body"]
        while True:
            for rec in page.get("records") or []:
                rate = _decimal(rec.get("ConversionRate"))
                start = rec.get("StartDate")
                if not rec.get("IsoCode") or not start or rate is None or rate <= 0:
                    continue
                following = rec.get("NextStartDate")
                out.setdefault(rec["IsoCode"], []).append(
                    (
                        date.fromisoformat(start),
                        date.fromisoformat(following) if following else None,
                        rate,
                    )
                )
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                break
            page = self.api.query_more(page["nextRecordsUrl"])
        for periods in out.values():
            periods.sort(key=lambda period: period[0])
        return out

    def _load_facts(self, responses: dict[str, dict]) -> None:
        for ref in ("stages", "priorities", "statuses", "organization"):
            error = subresponse_error(responses[ref])
            if error:
                raise error
        multi_currency, corporate, rates = self._currency_facts(responses["currencies"])
        dated_rates = self._load_dated_rates() if multi_currency else {}
        org = next(iter(responses["organization"]["body"].get("records") or []), {})
        stages = {}
        active_stages = set()
        for st in responses["stages"]["body"]["records"]:
            if st.get("IsActive"):
                active_stages.add(st["ApiName"])
            prob = st.get("DefaultProbability")
            stages[st["ApiName"]] = Stage(
                id=st["ApiName"],
                label=st.get("MasterLabel") or st["ApiName"],
                is_won=bool(st.get("IsWon")),
                is_closed=bool(st.get("IsClosed")),
                probability=None if prob is None else float(prob) / 100.0,
            )
        priorities = responses["priorities"]["body"]["records"]
        statuses = responses["statuses"]["body"]["records"]
        high = next((p for p in priorities if p.get("IsHighPriority")), None)
        default_priority = next((p for p in priorities if p.get("IsDefault")), None)
        open_status = next(
            (s for s in statuses if s.get("IsDefault") and not s.get("IsClosed")), None
        ) or next((s for s in statuses if not s.get("IsClosed")), None)
        done_status = next((s for s in statuses if s.get("IsClosed")), None)
        if open_status is None or done_status is None:
            raise PermanentError("Salesforce TaskStatus has no open or no closed value")
        with self._facts_lock:
            self.facts = OrgFacts(
                stages=stages,
                active_stages=active_stages,
                priority_high=(high or default_priority or {}).get("ApiName"),
                status_open=open_status["ApiName"],
                status_done=done_status["ApiName"],
                org_currency=org.get("DefaultCurrencyIsoCode"),
                multi_currency=multi_currency,
                corporate_currency=corporate,
                rates=rates,
                dated_rates=dated_rates,
                loaded_at=time.monotonic(),
            )

    def ensure_facts(self) -> OrgFacts:
        """Load stage, task picklist and currency facts unless fresh (one Composite call)."""
        if not self.facts.fresh():
            subs = self._facts_subrequests()
            responses = self.api.composite("org_facts", subs)
            self._load_facts({r["referenceId"]: r for r in responses})
            self._warn_unguarded_won_stages()
        return self.facts

    def unguarded_won_stages(self) -> list[str]:
        """Active won stages the deployed rule does not name (per SALESFORCE_WON_STAGES; empty
        when that is not set: the connector does not know the deployed list then)."""
        if self.deployed_won_stages is None:
            return []
        facts = self.facts
        return sorted(
            s.id
            for s in facts.stages.values()
            if s.is_won and s.id in facts.active_stages and s.id not in self.deployed_won_stages
        )

    def _warn_unguarded_won_stages(self) -> None:
        missing = self.unguarded_won_stages()
        if missing:
            log.warning(
                "salesforce: active won stage(s) %s are not named by the deployed validation rule "
                "(SALESFORCE_WON_STAGES=%s): a blocked deal can be moved into them. Re-run "
                "`roadmap-guard setup salesforce --deploy` and update SALESFORCE_WON_STAGES",
                ", ".join(repr(m) for m in missing),
                ",".join(sorted(self.deployed_won_stages or ())),
            )

    def won_stages(self) -> list[str]:
        """The won stages a user can still pick (the validation rule names these)."""
        facts = self.ensure_facts()
        return [s.id for s in facts.stages.values() if s.is_won and s.id in facts.active_stages]

    # --- reading ----------------------------------------------------------------------------
    def opportunity_soql(self, ids: Sequence[str], *, multi_currency: bool | None = None) -> str:
        """`multi_currency` (default: the cached facts) adds CurrencyIsoCode, a field only
        multi-currency orgs have (a single-currency org refuses it with INVALID_FIELD)."""
        id_list = ", ".join(_soql_str(i) for i in ids)
        own = ", ".join(self.fields.all())
        if multi_currency is None:
            multi_currency = self.facts.multi_currency
        amount = "Amount, CurrencyIsoCode" if multi_currency else "Amount"
        return (
            f"SELECT Id, Name, StageName, {amount}, CloseDate, OwnerId, Owner.Name, Account.Name, "
            f"CreatedDate, LastModifiedDate, LastModifiedById, {own}, "
            "(SELECT Id, Name, ProductCode, Quantity, TotalPrice, Product2Id, Product2.Name, "
            "Product2.ProductCode, PricebookEntryId, PricebookEntry.Name FROM OpportunityLineItems), "
            "(SELECT Id, Title, Body, CreatedDate, CreatedBy.Name FROM Notes), "
            "(SELECT ContentDocumentId FROM ContentDocumentLinks "
            "WHERE ContentDocument.FileType = 'SNOTE'), "
            "(SELECT Id, Subject, Description, Status, Priority, OwnerId, IsClosed FROM Tasks "
            f"WHERE Subject LIKE {_soql_str(MARKER_LIKE)}) "
            f"FROM Opportunity WHERE Id IN ({id_list})"
        )

    def content_note_soql(self, ids: Sequence[str]) -> str:
        id_list = ", ".join(_soql_str(i) for i in ids)
        return (
            "SELECT Id, Title, TextPreview, LatestPublishedVersionId, ContentSize, LastModifiedDate, "
            "CreatedDate, CreatedBy.Name FROM ContentNote "
            "WHERE Id IN (SELECT ContentDocumentId FROM ContentDocumentLink "
            f"WHERE LinkedEntityId IN ({id_list}))"
        )

    def read_deals(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | None]:
        """Each opportunity under the id as asked (15- or 18-character; the snapshot carries
        the 18-character one); None for one that is gone. Keyed by the 18-character id, a
        15-character id asked for found nothing under its own key and its deal read as gone.
        An id that is no Salesforce id names no opportunity: None too. It raised a
        PermanentError for the whole call, and the pipeline then failed every deal of the
        batch (up to 200) for one bad id."""
        result: dict[str, DealSnapshot | None] = {}
        wanted: list[str] = []
        keys: dict[str, str | None] = {}  # as given -> 18-character id (None: not an id)
        for raw in deal_ids:
            try:
                keys[raw] = to18(raw)
            except ValueError:
                keys[raw] = None
                log.warning("not a Salesforce opportunity id, read as gone: %r", str(raw)[:40])
                continue
            wanted.append(keys[raw])
        wanted = list(dict.fromkeys(wanted))
        for chunk in _chunks(wanted, self.batch_size):
            result.update(self._read_chunk(list(chunk)))
        missing = [i for i in wanted if result.get(i) is None]
        if missing:
            self._confirm_gone(missing)
        return {raw: result.get(key) if key else None for raw, key in keys.items()}

    def _confirm_gone(self, ids: list[str]) -> None:
        """Opportunities the read did not return: deleted, or hidden from the integration user
        by sharing (a private org without the permission set's View All Records). One queryAll
        per 200 of them (only for ids not returned; none when every deal was read) tells the
        deleted ones (IsDeleted true: in the Recycle Bin) from the rest. The rest are still read
        as gone (queryAll obeys sharing too, and a purged record answers nothing either, so the
        two cannot be told apart), but logged at error level, not untracked silently."""
        deleted: set[str] = set()
        for chunk in _chunks(ids, self.batch_size):
            id_list = ", ".join(_soql_str(i) for i in chunk)
            soql = f"SELECT Id, IsDeleted FROM Opportunity WHERE Id IN ({id_list})"
            for rec in self.api.query_all_rows("opportunities_deleted", soql):
                if rec.get("IsDeleted"):
                    deleted.add(to18(rec["Id"]))
        unconfirmed = [i for i in ids if i not in deleted]
        if unconfirmed:
            log.error(
                "salesforce: opportunities %s are not visible to the integration user and not "
                "in the Recycle Bin: purged, or hidden by sharing. They are read as gone; if they "
                "still exist, assign the permission set %s (View All Records on Opportunity) to "
                "the integration user and queue them again",
                ", ".join(unconfirmed[:20]) + (" ..." if len(unconfirmed) > 20 else ""),
                PERMISSION_SET_NAME,
            )

    def _read_chunk(self, ids: list[str]) -> dict[str, DealSnapshot | None]:
        # The org facts are loaded first, in their own Composite call, whenever they are not
        # fresh (a process's first read, then once per META_TTL_SECONDS or after an unknown
        # stage), instead of riding in the read's call as they once did:
        # - the opportunity query may select CurrencyIsoCode only once the org is known to be
        #   multi-currency (a single-currency org refuses the field), and a cold start does not
        #   know that until CurrencyType has answered;
        # - the five facts queries and the read's two would exceed Composite's five queries per
        #   call anyway.
        # So each reload costs one call, and every read uses currency facts of the same age as
        # its stage facts (a multi-currency switch made since is seen at the next reload).
        facts = self.ensure_facts()
        soql = self.opportunity_soql(ids, multi_currency=facts.multi_currency)
        subs = [
            subrequest("GET", self._query_url(soql), "opportunities"),
            subrequest("GET", self._query_url(self.content_note_soql(ids)), "content_notes"),
        ]
        responses = {r["referenceId"]: r for r in self.api.composite("read", subs)}
        if _not_supported(responses["content_notes"]):
            responses["content_notes"] = {"body": {"records": [], "done": True}}
        for ref in ("opportunities", "content_notes"):
            error = subresponse_error(responses[ref])
            if error:
                raise self._unreadable_roadmap_field(responses[ref]) or error
        records = self._all_records(responses["opportunities"]["body"])
        notes_by_id = {n["Id"]: n for n in self._all_records(responses["content_notes"]["body"])}
        bodies = self._long_note_bodies(notes_by_id.values())
        read_at = datetime.now(UTC)
        unknown_stage = False
        out: dict[str, DealSnapshot | None] = dict.fromkeys(ids)
        for rec in records:
            snapshot = self._snapshot(rec, notes_by_id, read_at, bodies, facts=facts)
            unknown_stage |= snapshot.extra.get("unknown_stage", False)
            out[to18(rec["Id"])] = snapshot
        if unknown_stage:
            facts.stale = True  # a stage we do not know: reload facts with the next read
        return out

    def _unreadable_roadmap_field(self, response: dict) -> CredentialsError | None:
        """The read refused with INVALID_FIELD ("No such column 'Roadmap_Block__c' on entity
        'Opportunity'") for one of our own fields: not deployed, or hidden from the integration
        user by field-level security (its permission set unassigned). That is the org's
        configuration, as a field it cannot edit is at write time: every deal fails the same way
        until an admin fixes it, so the deals are held (CredentialsError), not sent dead to be
        replayed one by one. None for any other failure."""
        entries = error_entries(response.get("body"))
        if not entries or error_code(entries[0]) != "INVALID_FIELD":
            return None
        message = str(entries[0].get("message") or "")
        named = [name for name in self.fields.all() if f"'{name}'" in message]
        if not named:
            return None
        return CredentialsError(
            f"Salesforce: INVALID_FIELD: the integration user cannot read {', '.join(named)} on "
            "Opportunity: the roadmap fields are not deployed, or it lost access to them. Run "
            f"`roadmap-guard setup salesforce --deploy` and assign the permission set "
            f"{PERMISSION_SET_NAME} to the integration user"
        )

    def _all_records(self, page: dict) -> list[dict]:
        """All records of a query result, following nextRecordsUrl for the parent and children.

        Each page's child results (a subquery's rows beyond a page, `done` false) are followed
        before the parent's next page is asked for: Salesforce documents that a queryMore on
        the parent invalidates every child cursor of the result before it, which then answers
        INVALID_QUERY_LOCATOR."""
        records: list[dict] = []
        while True:
            batch = list(page.get("records") or [])
            for rec in batch:
                for _key, value in rec.items():
                    if (
                        isinstance(value, dict)
                        and "records" in value
                        and not value.get("done", True)
                    ):
                        value["records"] = self._all_records(value)
                        value["done"] = True
            records.extend(batch)
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return records
            page = self.api.query_more(page["nextRecordsUrl"])

    @staticmethod
    def _note_key(note: dict) -> tuple[str, str] | None:
        """(note id, version) of a note whose full preview may be cut short; None if short."""
        if len(note.get("TextPreview") or "") < PREVIEW_CHARS:
            return None
        version = note.get("LatestPublishedVersionId") or note.get("LastModifiedDate") or ""
        return (note["Id"], str(version))

    def _cache_body(self, key: tuple[str, str], text: str) -> None:
        with self._note_bodies_lock:
            self._note_bodies[key] = text
            self._note_bodies.move_to_end(key)
            while len(self._note_bodies) > NOTE_BODY_CACHE_SIZE:
                self._note_bodies.popitem(last=False)

    def _cached_body(self, key: tuple[str, str]) -> str | None:
        with self._note_bodies_lock:
            cached = self._note_bodies.get(key)
            if cached is not None:
                self._note_bodies.move_to_end(key)
            return cached

    def _long_note_bodies(self, notes: Iterable[dict]) -> dict[tuple[str, str], str]:
        """The bodies of this chunk's long notes that are not cached, through the Apex resource:
        one POST per NOTE_BODY_BATCH notes. Notes it cannot serve are left to `_note_text`."""
        wanted: list[tuple[tuple[str, str], int]] = []
        previews: dict[str, str] = {}
        for note in notes:
            key = self._note_key(note)
            if key is None or (note.get("Title") or "").startswith(NOTE_MARKER):
                continue
            if self._cached_body(key) is None:
                wanted.append((key, int(note.get("ContentSize") or 0)))
                previews[note["Id"]] = note.get("TextPreview") or ""
        found: dict[tuple[str, str], str] = {}
        if not wanted or time.monotonic() < self._notes_resource_missing_until:
            return found
        batches: list[list[tuple[str, str]]] = [[]]
        size = 0
        for key, content_size in wanted:
            if batches[-1] and (
                len(batches[-1]) >= NOTE_BODY_BATCH or size + content_size > NOTE_BODY_BATCH_BYTES
            ):
                batches.append([])
                size = 0
            batches[-1].append(key)
            size += content_size
        for batch in batches:
            try:
                answer = self.api.apex_post(
                    "note_bodies", NOTES_RESOURCE, {"ids": [note_id for note_id, _v in batch]}
                )
            except ApexResourceUnavailable as exc:
                self._notes_resource_missing_until = time.monotonic() + NOTES_RESOURCE_RETRY_SECONDS
                log.info(
                    "salesforce: Apex resource %s not usable (%s); long notes are read one blob "
                    "GET each. `roadmap-guard setup salesforce` installs it.",
                    NOTES_RESOURCE,
                    exc,
                )
                return found
            except ApexResourceFailed as exc:
                log.warning(
                    "salesforce: %s failed, blob GETs for this batch: %s", NOTES_RESOURCE, exc
                )
                continue
            versions = dict(batch)
            for item in answer if isinstance(answer, list) else []:
                note_id = str(item.get("noteId") or "")
                if note_id in versions and isinstance(item.get("content"), str):
                    key = (note_id, versions[note_id])
                    found[key] = strip_html(item["content"])
                    self._cache_body(key, found[key])
            for note_id, version in batch:
                # Not answered: deleted since the query (or no longer shared). Its preview is all
                # there is; a blob GET would only be refused. Not cached: the next read asks again.
                found.setdefault((note_id, version), previews[note_id])
        return found

    def enhanced_notes_enabled(self) -> bool:
        """Does the org have enhanced Notes (the ContentNote type)? An org that turned them off
        answers a ContentNote query with 400 INVALID_TYPE (see `_not_supported`)."""
        [response] = self.api.composite(
            "content_note_probe",
            [
                subrequest(
                    "GET", self._query_url("SELECT Id FROM ContentNote LIMIT 1"), "content_notes"
                )
            ],
        )
        if _not_supported(response):
            return False
        error = subresponse_error(response)
        if error:
            raise error
        return True

    def notes_resource_available(self) -> bool:
        """Is the notes Apex resource installed and callable (one POST with no ids)?"""
        try:
            self.api.apex_post("note_bodies", NOTES_RESOURCE, {"ids": []})
        except (ApexResourceUnavailable, ApexResourceFailed):
            return False
        return True

    def _note_text(self, note: dict, bodies: dict[tuple[str, str], str] | None = None) -> str:
        key = self._note_key(note)
        if key is None:
            return note.get("TextPreview") or ""
        if bodies and key in bodies:
            return bodies[key]
        cached = self._cached_body(key)
        if cached is not None:
            return cached
        # A full preview may be cut short: the body blob, fetched once per version of the note.
        path = f"{self.api.data_path}sobjects/ContentNote/{note['Id']}/Content"
        text = strip_html(self.api.blob(path).decode("utf-8", errors="replace"))
        self._cache_body(key, text)
        return text

    def _snapshot(
        self,
        rec: dict,
        content_notes: dict[str, dict],
        read_at: datetime,
        bodies: dict[tuple[str, str], str] | None = None,
        *,
        facts: OrgFacts | None = None,
    ) -> DealSnapshot:
        """`facts`: those the opportunity query was built with (default: the cached ones)."""
        facts = facts or self.facts
        opp_id = to18(rec["Id"])
        stage_name = rec.get("StageName") or ""
        stage = facts.stages.get(stage_name)
        unknown = stage is None
        if stage is None:
            stage = Stage(id=stage_name, label=stage_name)
        line_items = []
        for li in _children(rec, "OpportunityLineItems")["records"]:
            product = li.get("Product2") or {}
            entry = li.get("PricebookEntry") or {}
            line_items.append(
                LineItem(
                    id=li["Id"],
                    name=product.get("Name") or entry.get("Name") or li.get("Name") or "",
                    sku=product.get("ProductCode") or li.get("ProductCode"),
                    product_id=li.get("Product2Id"),
                    quantity=li.get("Quantity"),
                    amount=_decimal(li.get("TotalPrice")),
                )
            )
        notes = []
        for n in _children(rec, "Notes")["records"]:
            title = n.get("Title") or ""
            if title.startswith(NOTE_MARKER):
                continue  # our own findings note: reading it back would feed us our own words
            body = "\n".join(p for p in (title, n.get("Body") or "") if p)
            notes.append(
                Note(
                    id=n["Id"],
                    body=body,
                    created_at=_parse_dt(n.get("CreatedDate")),
                    author=(n.get("CreatedBy") or {}).get("Name"),
                )
            )
        for link in _children(rec, "ContentDocumentLinks")["records"]:
            cn = content_notes.get(link.get("ContentDocumentId"))
            if cn is None or (cn.get("Title") or "").startswith(NOTE_MARKER):
                continue
            body = "\n".join(p for p in (cn.get("Title") or "", self._note_text(cn, bodies)) if p)
            notes.append(
                Note(
                    id=cn["Id"],
                    body=body,
                    created_at=_parse_dt(cn.get("CreatedDate")),
                    author=(cn.get("CreatedBy") or {}).get("Name"),
                )
            )
        tasks = [
            {
                k: t.get(k)
                for k in (
                    "Id",
                    "Subject",
                    "Description",
                    "Status",
                    "Priority",
                    "OwnerId",
                    "IsClosed",
                )
            }
            for t in _children(rec, "Tasks")["records"]
        ]
        close = rec.get("CloseDate")
        close_date = date.fromisoformat(close) if close else None
        amount = _decimal(rec.get("Amount"))
        # Multi-currency: each record's own CurrencyIsoCode; single-currency: the org's currency.
        currency = rec.get("CurrencyIsoCode") if facts.multi_currency else facts.org_currency
        return DealSnapshot(
            crm=self.name,
            deal_id=opp_id,
            name=rec.get("Name") or "",
            stage=stage,
            amount=amount,
            currency=currency,
            amount_home=facts.home_amount(amount, currency, close_date),
            home_currency=facts.home_currency,
            close_date=close_date,
            owner_id=rec.get("OwnerId"),
            owner_name=(rec.get("Owner") or {}).get("Name"),
            account_name=(rec.get("Account") or {}).get("Name"),
            created_at=_parse_dt(rec.get("CreatedDate")),
            updated_at=_parse_dt(rec.get("LastModifiedDate")),
            line_items=line_items,
            notes=notes,
            url=f"{self.api.instance_url}/lightning/r/Opportunity/{opp_id}/view",
            extra={
                "fields": {
                    "status": rec.get(self.fields.status),
                    "summary": rec.get(self.fields.summary),
                    "block": rec.get(self.fields.block),
                    "checked_at": rec.get(self.fields.checked_at),
                },
                "tasks": tasks,
                "last_modified_by": rec.get("LastModifiedById"),
                "read_at": read_at.isoformat(),
                "unknown_stage": unknown,
                # what the record shows of our verdict, in the pipeline's terms: a hand edit of
                # our fields read after our last write is written back (pipeline `_drifted`)
                **(
                    {
                        "shown": {
                            "status": rec.get(self.fields.status),
                            "block": bool(rec.get(self.fields.block)),
                        }
                    }
                    if rec.get(self.fields.status)
                    else {}
                ),
            },
        )

    # --- writing ----------------------------------------------------------------------------
    def _current(self, item: DealWriteBack, facts: OrgFacts) -> tuple[dict, dict[str, dict]]:
        """What the CRM holds now: the fresher of the snapshot just read and what we last wrote.

        `previous` is Deal.written, in the pipeline's canonical keys (status, summary, block,
        evaluation_url, task {subject, body, open}; see canonical_write) plus written_at. It is
        the truth for a stored snapshot (a roadmap or approval re-check), which was read before
        that write. Its keys map onto the fields compared here: checked_at is taken as
        written_at (the pipeline's "when roadmap-guard last changed this record"), and the task,
        under the stored task id, as the record `_task_fields` makes of it (our last write set
        every one of those fields)."""
        snap = item.snapshot
        extra = snap.extra if snap is not None else {}
        previous = item.previous or {}
        read_at = _parse_dt(extra.get("read_at"))
        written_at = _parse_dt(previous.get("written_at"))
        snapshot_fields = extra.get("fields")
        tasks = {t["Id"]: dict(t) for t in extra.get("tasks") or [] if t.get("Id")}
        if snapshot_fields is not None and (
            written_at is None or (read_at and read_at >= written_at)
        ):
            return self._with_unrecorded_write(
                item.deal_id, dict(snapshot_fields), read_at, written_at
            ), tasks
        fields = dict(snapshot_fields or {})
        if "status" in previous:
            summary = previous.get("summary")
            fields.update(
                status=previous.get("status"),
                summary=self._fit_summary(summary) if isinstance(summary, str) else summary,
                block=previous.get("block"),
                checked_at=previous.get("written_at"),
            )
        last_task = previous.get("task")
        if isinstance(last_task, dict) and item.task_id:
            task_id = to18(item.task_id)
            spec = TaskSpec(
                subject=str(last_task.get("subject") or ""),
                body=str(last_task.get("body") or ""),
                open=bool(last_task.get("open")),
            )
            owner = (item.task.owner_id if item.task else None) or (snap.owner_id if snap else None)
            tasks[task_id] = {
                **tasks.get(task_id, {}),
                **self._task_fields(spec, facts, owner),
                "Id": task_id,
                "IsClosed": not spec.open,
            }
        return self._with_unrecorded_write(item.deal_id, fields, read_at, written_at), tasks

    def _with_unrecorded_write(
        self,
        deal_id: str,
        fields: dict,
        read_at: datetime | None,
        written_at: datetime | None,
    ) -> dict:
        """`fields`, or the fields this process wrote since both the snapshot's read and the
        last write the pipeline recorded (a write whose outcome carried an error)."""
        with self._fields_written_lock:
            remembered = self._fields_written.get(to18(deal_id))
        if remembered is None:
            return fields
        at, values = remembered
        if any(t is not None and t >= at for t in (read_at, written_at)):
            return fields
        return {**fields, **values}

    def _remember_fields(self, deal_id: str, values: dict) -> None:
        with self._fields_written_lock:
            self._fields_written[deal_id] = (datetime.now(UTC), values)
            self._fields_written.move_to_end(deal_id)
            while len(self._fields_written) > FIELDS_WRITTEN_KEPT:
                self._fields_written.popitem(last=False)

    def _plan(
        self, item: DealWriteBack, facts: OrgFacts, *, fresh_tasks: list[dict] | None = None
    ) -> dict:
        deal_id = to18(item.deal_id)
        fields_now, tasks = self._current(item, facts)
        for task in fresh_tasks or []:  # read just now: newer than the snapshot's
            tasks[task["Id"]] = {**tasks.get(task["Id"], {}), **task}
        now = datetime.now(UTC)
        wanted = {
            "status": item.status.value,
            "summary": self._fit_summary(item.summary),
            "block": bool(item.block),
        }
        changes = {k: v for k, v in wanted.items() if fields_now.get(k) != v}
        # The checked-at field says when roadmap-guard last changed what the rep sees on the
        # record: it is written with a change of status, summary or block, never alone (each
        # write moves the opportunity's LastModifiedDate and LastModifiedBy, which stale-deal
        # reports read). A task, follow-up or note is another record: it moves neither.
        if changes:
            changes["checked_at"] = _sf_dt(item.checked_at or now)
        names = {
            "status": self.fields.status,
            "summary": self.fields.summary,
            "block": self.fields.block,
            "checked_at": self.fields.checked_at,
        }
        opp_update = (
            {
                "attributes": {"type": "Opportunity"},
                "Id": deal_id,
                **{names[k]: v for k, v in changes.items()},
            }
            if changes
            else None
        )
        plan: dict[str, Any] = {
            "deal_id": deal_id,
            "fields_now": fields_now,
            "field_changes": changes,
            "opp_update": opp_update,
            "task_update": None,
            "task_create": None,
            "task_state": None,
            "note_create": None,
            "followup_creates": {},
            "followups_found": {},
            "outcome": WriteOutcome(deal_id=deal_id),
        }
        owner = None
        if item.snapshot is not None:
            owner = item.snapshot.owner_id
        # The one task: found by stored id, else by the subject marker in the read query.
        existing = None
        if item.task_id and to18(item.task_id) in tasks:
            existing = tasks[to18(item.task_id)]
        elif item.task_id:
            existing = {"Id": to18(item.task_id)}  # not seen in the read (renamed?): update by id
        else:
            ours = [
                t
                for t in tasks.values()
                if (t.get("Subject") or "").startswith(TASK_MARKER + " ")
                or t.get("Subject") == TASK_MARKER
            ]
            ours.sort(key=lambda t: bool(t.get("IsClosed")))
            existing = ours[0] if ours else None
        if item.task is not None:
            body = self._task_fields(item.task, facts, owner)
            if existing is None:
                if item.task.open:
                    plan["task_create"] = self._new_task(deal_id, body)
            else:
                diff = {k: v for k, v in body.items() if existing.get(k) != v}
                plan["task_state"] = existing
                if diff:
                    plan["task_update"] = {
                        "attributes": {"type": "Task"},
                        "Id": existing["Id"],
                        **diff,
                    }
                    plan["task_wanted"] = {**existing, **body, "IsClosed": not item.task.open}
        elif existing is not None:
            plan["task_state"] = existing
        # A task to complete that is not there (yet): an unanswered create may still make it
        # (see _hold_unconfirmed).
        plan["close_unfound"] = item.task is not None and not item.task.open and existing is None
        if item.note:
            plan["note_create"] = {
                "attributes": {"type": "Note"},
                "ParentId": deal_id,
                "Title": f"{NOTE_MARKER} Roadmap check: {item.status.value}"[:80],
                "Body": fit_lines(item.note, DESCRIPTION_MAX),
            }
        for key, spec in item.followups.items():
            marker = followup_marker(key)
            found = next(
                (t for t in tasks.values() if (t.get("Subject") or "").startswith(marker)), None
            )
            if found is not None:
                plan["followups_found"][key] = found["Id"]
                continue
            body = self._task_fields(spec, facts, owner, marker=marker)
            plan["followup_creates"][key] = self._new_task(deal_id, body)
        owner_id = (item.task.owner_id if item.task else None) or owner
        tasks_sent = plan["task_create"] or plan["task_update"] or plan["followup_creates"]
        if tasks_sent and self._owner_inactive(owner_id):
            plan["outcome"].changes["task_owner"] = (
                f"owner {owner_id} is an inactive Salesforce user ({INACTIVE_OWNER}, refused "
                "not long ago): tasks are not assigned to them"
            )
        return plan

    def _task_fields(
        self, spec: TaskSpec, facts: OrgFacts, owner: str | None, *, marker: str = TASK_MARKER
    ) -> dict:
        body: dict[str, Any] = {
            "Subject": f"{marker} {spec.subject}"[:SUBJECT_MAX],
            "Description": fit_lines(spec.body, DESCRIPTION_MAX),
            "Status": facts.status_open if spec.open else facts.status_done,
            "Priority": facts.priority_high,
        }
        owner_id = spec.owner_id or owner
        if owner_id and not self._owner_inactive(owner_id):  # else the integration user owns it
            body["OwnerId"] = owner_id
        if spec.due_at is not None:
            body["ActivityDate"] = spec.due_at.date().isoformat()
        return {k: v for k, v in body.items() if v is not None}

    @staticmethod
    def _new_task(deal_id: str, body: dict) -> dict:
        """A task to create: due tomorrow unless its spec says when, as HubSpot's are (with no
        due date it never showed in a rep's Today or Overdue list, and an org's common
        "due date required" Task rule refused it). An update keeps the date the task has."""
        due = body.get("ActivityDate") or (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        return {"attributes": {"type": "Task"}, "WhatId": deal_id, **body, "ActivityDate": due}

    def write_back(self, items: Sequence[DealWriteBack]) -> dict[str, WriteOutcome]:
        if not items:
            return {}
        facts = self.ensure_facts()
        unconfirmed = self._unconfirmed([to18(i.deal_id) for i in items])
        # Writes the pipeline says were cut short (perhaps in another process, whose memory of
        # unanswered creates is gone): what they made is read now, not taken from a snapshot
        # that may predate them.
        cut_short = {
            to18(i.deal_id): i.unconfirmed_since for i in items if i.unconfirmed_since is not None
        }
        check = sorted(set(unconfirmed) | set(cut_short))
        found: dict[str, list[dict]] = {}
        notes_found: dict[str, str] = {}
        check_error: ConnectorError | None = None
        if check:
            # Check right before creating: an earlier write that got no answer may have landed.
            try:
                found = self._marker_tasks(check)
                notes_found = self._our_notes_since(cut_short)
            except ConnectorError as exc:
                check_error = exc
        plans = []
        for item in items:
            deal_id = to18(item.deal_id)
            plan = self._plan(
                item, facts, fresh_tasks=found.get(deal_id, []) if deal_id in check else None
            )
            if deal_id in unconfirmed:
                self._hold_unconfirmed(plan, found.get(deal_id, []), check_error)
            if deal_id in cut_short:
                self._finish_cut_short(plan, notes_found.get(deal_id), check_error)
            plans.append(plan)
        # Each entry: (collection method, record, plan, role, followup key)
        ops: list[tuple[str, dict, dict, str, str | None]] = []
        for plan in plans:
            if plan["opp_update"]:
                ops.append(("PATCH", plan["opp_update"], plan, "fields", None))
        for plan in plans:
            if plan["task_update"]:
                ops.append(("PATCH", plan["task_update"], plan, "task_update", None))
        for plan in plans:
            if plan["task_create"]:
                ops.append(("POST", plan["task_create"], plan, "task_create", None))
            for key, rec in plan["followup_creates"].items():
                ops.append(("POST", rec, plan, "followup", key))
            if plan["note_create"]:
                ops.append(("POST", plan["note_create"], plan, "note", None))
        # Each round sends what the last one said is worth sending again (a deleted task made
        # anew, a task without its inactive owner): a few records, at most four rounds (an
        # update of a deleted task, its create, the create without the inactive owner).
        by_deal = {to18(i.deal_id): i for i in items}
        suspects: dict[str, tuple[dict, ConnectorError]] = {}  # maybe deleted since the read
        seen = self._seen_at_read(plans, by_deal) if ops else {}
        check = (
            "SELECT Id, LastModifiedDate, LastModifiedById FROM Opportunity WHERE Id IN "
            f"({', '.join(_soql_str(d) for d in sorted(seen))})"
            if seen
            else None
        )
        pending = ops
        while pending:
            results, checked = self._run_collections(pending, check=check)
            if check is not None:
                self._flag_changed_since_read(plans, seen, checked)
                check = None
            pending = [
                again
                for op, res in zip(pending, results, strict=True)
                if (again := self._settle_result(op, res, by_deal, facts, suspects)) is not None
            ]
        if suspects:
            self._settle_suspects(suspects)
        return {p["deal_id"]: self._finish(p) for p in plans}

    def complete_tasks(self, task_ids: Sequence[str]) -> dict[str, ConnectorError | None]:
        """Complete the roadmap tasks of opportunities deleted since (the org's closed
        TaskStatus, as a write completes a task), 200 Task updates per sObject Collections
        request. Salesforce deletes an opportunity's activities with it, so the usual answer is
        ENTITY_IS_DELETED (or another missing-record code): that task is done as well. A task
        whose owner is an inactive user (refused with INACTIVE_OWNER_OR_USER) is sent again
        owned by the integration user, when SALESFORCE_INTEGRATION_USER_ID is set."""
        out: dict[str, ConnectorError | None] = {}
        if not task_ids:
            return out
        facts = self.ensure_facts()
        ops: list[tuple[str, dict, dict, str, str | None]] = []
        for task_id in dict.fromkeys(task_ids):
            try:
                sf_id = to18(task_id)
            except ValueError:
                out[task_id] = PermanentError(f"Salesforce: not a Task id: {task_id!r}")
                continue
            record = {"attributes": {"type": "Task"}, "Id": sf_id, "Status": facts.status_done}
            ops.append(("PATCH", record, {"task_id": task_id}, "task_complete", None))
        pending = ops
        while pending:
            results, _checked = self._run_collections(pending)
            again = []
            for op, res in zip(pending, results, strict=True):
                _method, record, ref, _role, _key = op
                if res.get("success"):
                    out[ref["task_id"]] = None
                    continue
                if isinstance(res.get("exception"), ConnectorError):
                    out[ref["task_id"]] = res["exception"]  # the call failed: sent again later
                    continue
                errs = res.get("errors") or []
                code = error_code(errs[0]) if errs else "UNKNOWN"
                message = "; ".join(f"{error_code(e)}: {e.get('message', '')}" for e in errs)
                if code in MISSING_CODES:
                    out[ref["task_id"]] = None  # deleted (with its opportunity): done
                elif (
                    code == INACTIVE_OWNER
                    and self.integration_user_id
                    and record.get("OwnerId") != self.integration_user_id
                ):
                    again.append(
                        (*op[:1], {**record, "OwnerId": self.integration_user_id}, *op[2:])
                    )
                else:
                    out[ref["task_id"]] = classify(code, message or code)
            pending = again
        return out

    def _seen_at_read(
        self, plans: list[dict], items: dict[str, DealWriteBack]
    ) -> dict[str, tuple[datetime | None, datetime | None]]:
        """The opportunities to check before writing (see `_flag_changed_since_read`), each
        with its snapshot's LastModifiedDate (Salesforce's clock, when the read saw it) and
        when we read it. Only with the integration user known: without it reconciliation
        does not leave our own writes out, and there is nothing to make up for."""
        if not self.integration_user_id:
            return {}
        out: dict[str, tuple[datetime | None, datetime | None]] = {}
        for plan in plans:
            snapshot = items[plan["deal_id"]].snapshot
            if snapshot is None:
                continue
            read_at = _parse_dt(snapshot.extra.get("read_at"))
            if snapshot.updated_at is not None or read_at is not None:
                out[plan["deal_id"]] = (snapshot.updated_at, read_at)
        return out

    def _flag_changed_since_read(
        self,
        plans: list[dict],
        seen: dict[str, tuple[datetime | None, datetime | None]],
        checked: dict | None,
    ) -> None:
        """Mark `reread` the opportunities someone else changed after their snapshot was read.

        Our write makes the integration user the last modifier, and both ways a change reaches
        us then miss a change made between our read and our write: reconciliation leaves
        opportunities we modified last out, and a rep's Outbound Message still queued when our
        write lands is delivered with our user as LastModifiedById (Salesforce sends the
        record as it is at delivery) and ignored as our own echo. So the write's first
        Composite call starts with a query of LastModifiedDate and LastModifiedById, run before
        its updates (no call of its own). A change by someone else after the one our read saw
        (both Salesforce's clock) queues a read. A snapshot from before this was recorded has
        no LastModifiedDate: then our read time, less STALE_SNAPSHOT_SKEW for the clocks, and
        only for a snapshot older than STALE_SNAPSHOT_SECONDS (an extra read is harmless).

        Salesforce may answer a query in batches smaller than 2,000 rows ("the returned batch
        can include fewer records than the limit ... based on the size and complexity of
        records queried", REST API Developer Guide, Query resource). Only the first batch came
        before the writes; a later one would be fetched after them, and whether it shows the
        records as they were at the query or as our writes left them (last modified by us,
        the rep's change hidden) is not documented. So an opportunity the first batch did not
        answer when it was not the last (`done` false) is read again: an extra read, not a
        missed edit. It was ignored, as if unchanged."""
        if checked is None:
            return
        stale_before = datetime.now(UTC) - timedelta(seconds=STALE_SNAPSHOT_SECONDS)
        by_id = {to18(r["Id"]): r for r in checked["records"] if r.get("Id")}
        for plan in plans:
            if plan["deal_id"] not in seen:
                continue
            rec = by_id.get(plan["deal_id"])
            if rec is None:
                if not checked["done"]:
                    plan["outcome"].reread = True  # not answered in the first batch
                continue
            last_seen, read_at = seen[plan["deal_id"]]
            modified = _parse_dt(rec.get("LastModifiedDate"))
            by = to18(rec["LastModifiedById"]) if rec.get("LastModifiedById") else None
            if modified is None or by == self.integration_user_id:
                continue
            if last_seen is not None:
                changed = modified > last_seen
            else:
                changed = (
                    read_at is not None
                    and read_at < stale_before
                    and modified > read_at - STALE_SNAPSHOT_SKEW
                )
            if changed:
                plan["outcome"].reread = True

    def _settle_result(
        self,
        op: tuple[str, dict, dict, str, str | None],
        res: dict,
        items: dict[str, DealWriteBack],
        facts: OrgFacts,
        suspects: dict[str, tuple[dict, ConnectorError]],
    ) -> tuple[str, dict, dict, str, str | None] | None:
        """Record one record's result on its plan. Returns the record to send again, if any."""
        _method, record, plan, role, key = op
        if res.get("success"):
            self._applied(plan, role, key, record, res.get("id"))
            return None
        call_error = res.get("exception")
        if isinstance(call_error, ConnectorError):
            # The whole call failed (or was not sent after an earlier one failed).
            if res.get("unanswered"):
                self._remember_unconfirmed([op])
            self._fail(plan, call_error)
            return None
        errs = res.get("errors") or []
        code = error_code(errs[0]) if errs else "UNKNOWN"
        message = "; ".join(f"{error_code(e)}: {e.get('message', '')}" for e in errs) or code
        if role == "task_update" and code in MISSING_CODES:
            # Our stored task was deleted in Salesforce: create a fresh one (not a duplicate).
            spec = items[plan["deal_id"]].task
            if spec is not None and spec.open:
                owner = plan["task_state"].get("OwnerId") if plan["task_state"] else None
                body = self._task_fields(spec, facts, owner)
                record = self._new_task(plan["deal_id"], body)
                return ("POST", record, plan, "task_create", None)
            plan["outcome"].task_id = None
            plan["outcome"].task_open = False
            return None
        if code == "STRING_TOO_LONG" and role == "fields":
            again = self._summary_fallback(op, errs)
            if again is not None:
                return again
        if code == INACTIVE_OWNER and role in ("task_create", "task_update", "followup"):
            fallback = self._owner_fallback(op, message)
            if fallback is not False:
                return fallback if isinstance(fallback, tuple) else None
        error = classify(code, message)
        if code in FIELD_ACCESS_CODES and role in ("task_create", "task_update", "followup"):
            # Field-level security on a Task field (Description, say, hidden by the integration
            # user's profile): the message said "cannot edit a roadmap field" and sent the admin
            # to the Opportunity fields, which were written.
            fields = sorted({f for e in errs for f in (e.get("fields") or [])})
            error = CredentialsError(
                f"Salesforce: {message} (the integration user cannot set "
                f"{', '.join('Task.' + f for f in fields) or 'a Task field'} on the roadmap task "
                f"of opportunity {plan['deal_id']}: give it read/edit access to that Task field "
                "(field-level security on its profile or a permission set); the opportunity's "
                "roadmap fields are a separate write)"
            )
        picklists = sorted(
            {f for e in errs for f in (e.get("fields") or [])} & {self.fields.status}
        )
        if code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" and role == "fields" and picklists:
            # An admin deactivated (or removed) a value of our own status picklist: Salesforce
            # refuses the whole record, so the block was not written either. It was a refusal
            # of the deal: every deal with that verdict went dead and could be won meanwhile.
            # The org's configuration: held, through once the value is back.
            error = CredentialsError(
                f"Salesforce: {message} on opportunity {plan['deal_id']} (a value of the "
                f"restricted picklist {', '.join(picklists)} is inactive or gone, so the "
                "roadmap fields and the block were not written: reactivate it, or run "
                "`roadmap-guard setup salesforce --deploy`, which restores the values clear, "
                "warning and blocked)"
            )
            log.error("salesforce: %s", error)
        if code == "INSUFFICIENT_ACCESS_OR_READONLY" and role == "fields":
            # Edit respects sharing: in an org whose Opportunity sharing is private, a user
            # without Modify All Records may read a rep's deal (View All) but not write it, so
            # the block never lands and the deal can be won. The org's configuration, not the
            # deal's: held like refused credentials, through once an admin grants the access.
            error = CredentialsError(
                f"Salesforce: {message} on opportunity {plan['deal_id']} (the integration user "
                "may read it but not edit it, e.g. private sharing: assign the permission set "
                f"{PERMISSION_SET_NAME}, which grants Modify All Records on Opportunity, or share "
                "every opportunity Read/Write with the integration user; until then the block "
                "is not written)"
            )
            log.error("salesforce: %s", error)
        if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
            # Someone's validation rule refused our own write. Our rule (BLOCK_RULE_NAME) fires
            # only on a StageName change, which we never write, so the rule is another one of
            # the org's (e.g. "Close Date cannot be in the past", or an Activity rule such as
            # "a task needs a due date"), or a trigger's addError. It was a PermanentError: the
            # deal went dead with its block unwritten, the rep could win it, and nothing wrote
            # the block once the admin added the bypass or the rep fixed the record. Held now
            # (OrgRuleRefused), for every record of ours: a Task or Note is refused the same
            # way for every deal until the admin adds the bypass to that rule, and goes
            # through by itself then, as a Task field hidden by field-level security does.
            rule_messages = "; ".join(
                str(e.get("message", "")) for e in errs if error_code(e) == code
            )
            record = {
                "fields": "the roadmap fields",
                "task_create": "a new roadmap task",
                "task_update": "the roadmap task",
                "followup": "a follow-up task",
                "note": "the findings note",
            }.get(role, role)
            if role == "fields":
                consequence = "so the roadmap fields (and the block) were not written"
                rule_object = "Opportunity"
                lands = "the block is written"
                record_fix = ", or the opportunity changed so that the rule passes"
            else:
                # A Task or Note is a record of its own: the opportunity's fields are not it, and
                # saying "the block was not written" sent the admin to the wrong rule.
                consequence = (
                    f"so {record} was not {'updated' if role == 'task_update' else 'created'} "
                    "(the opportunity's roadmap fields are a separate write that this rule does "
                    "not refuse)"
                )
                rule_object = "Note" if role == "note" else "Task (or Activity)"
                lands = f"{record} is written"
                record_fix = ""
            error = OrgRuleRefused(
                f"another validation rule refused roadmap-guard's write of {record} on "
                f"opportunity {plan['deal_id']} (FIELD_CUSTOM_VALIDATION_EXCEPTION, rule "
                f"message: {rule_messages or message!r}), {consequence}. Fix: assign the "
                f"permission set {PERMISSION_SET_NAME} (it grants the custom permission "
                f"{BYPASS_PERMISSION}) to the integration user and add "
                f"NOT($Permission.{BYPASS_PERMISSION}) to that {rule_object} validation rule's "
                "formula (see docs/salesforce.md). Held, not dead: roadmap-guard tries again "
                f"every {int(CREDENTIALS_RETRY_SECONDS // 60)} minutes and at the next edit of "
                f"the deal, and {lands} once the rule lets it through (the bypass added"
                f"{record_fix})"
            )
            log.error("salesforce: %s", error)
        if code in GONE_HINT_CODES:
            suspects.setdefault(plan["deal_id"], (plan, error))
            return None
        self._fail(plan, error)
        return None

    # --- a summary field shorter than the summary ------------------------------------------
    def _fit_summary(self, summary: str) -> str:
        limit = self.summary_max
        if len(summary) <= limit:
            return summary
        return cut_at_word(summary, limit) if limit > 0 else ""

    def _summary_fallback(
        self, op: tuple[str, dict, dict, str, str | None], errs: list[dict]
    ) -> tuple[str, dict, dict, str, str | None] | None:
        """The opportunity update refused with STRING_TOO_LONG on the summary field: the field
        is shorter than the summary (an org's own Text(255) field as SALESFORCE_SUMMARY_FIELD).
        Salesforce refuses the whole record, so the block did not land either and the deal could
        be won; it went dead, and so would every deal with a longer summary. The record is sent
        again with the summary cut to the length Salesforce states ("max length=255"), and the
        length is remembered so later writes fit at once. None when that cannot help."""
        method, record, plan, role, key = op
        name = self.fields.summary
        summary = record.get(name)
        if not isinstance(summary, str):
            return None
        for e in errs:
            if error_code(e) != "STRING_TOO_LONG" or name not in (e.get("fields") or [name]):
                continue
            found = MAX_LENGTH_RE.search(str(e.get("message") or ""))
            if not found or int(found.group(1)) >= len(summary):
                continue
            limit = int(found.group(1))
            if limit < self.summary_max:
                self.summary_max = limit
                log.warning(
                    "salesforce: %s holds at most %d characters (STRING_TOO_LONG): roadmap "
                    "summaries are cut to fit. Setup's field holds %d",
                    name,
                    limit,
                    SUMMARY_FIELD_LENGTH,
                )
            cut = self._fit_summary(summary)
            if "summary" in plan["field_changes"]:
                plan["field_changes"]["summary"] = cut
            return (method, {**record, name: cut}, plan, role, key)
        return None

    # --- tasks of inactive owners -----------------------------------------------------------
    @staticmethod
    def _user_key(user_id: str) -> str:
        try:
            return to18(user_id)  # a message may name the 15-character id
        except ValueError:
            return user_id

    def _owner_inactive(self, owner_id: str | None) -> bool:
        """Was this user refused as a Task owner (INACTIVE_OWNER_OR_USER) not long ago?"""
        if not owner_id:
            return False
        owner_id = self._user_key(owner_id)
        with self._inactive_owners_lock:
            until = self._inactive_owners.get(owner_id)
            if until is not None and time.monotonic() >= until:
                del self._inactive_owners[owner_id]
                until = None
        return until is not None

    def _owner_fallback(
        self, op: tuple[str, dict, dict, str, str | None], message: str
    ) -> tuple[str, dict, dict, str, str | None] | bool:
        """A task refused with INACTIVE_OWNER_OR_USER: its owner (the opportunity's owner, a rep
        who left: their open deals are common) is an inactive user. The deal must not go dead
        for that after its fields were written, so the task is sent again:
        - a create without OwnerId: the integration user, who creates it, owns it;
        - an update without the OwnerId it carried, keeping the task's present owner; if that
          owner is the inactive one (Salesforce refuses to save a record an inactive user owns),
          with OwnerId = SALESFORCE_INTEGRATION_USER_ID.
        The user is remembered for INACTIVE_OWNER_RETRY_SECONDS (later tasks are not assigned to
        them), the outcome's `changes["task_owner"]` and the log say why. Returns the record to
        send again; True when nothing is left to send (the update only moved the owner); False
        when there is no fallback left (the error stands)."""
        method, record, plan, role, key = op
        named = re.search(r"\[(\w{15,18})\]", message)
        sent = record.get("OwnerId")
        present = (plan.get("task_state") or {}).get("OwnerId") if role == "task_update" else None
        inactive = named.group(1) if named else (sent or present)
        again = {k: v for k, v in record.items() if k != "OwnerId"}
        if sent and sent != self.integration_user_id:
            how = (
                "created without an owner: the integration user owns it"
                if role != "task_update"
                else "updated without changing its owner"
            )
            new_owner = None if role != "task_update" else present
        elif role == "task_update" and self.integration_user_id and sent is None:
            again["OwnerId"] = self.integration_user_id
            how = "reassigned to the integration user"
            new_owner = self.integration_user_id
        else:
            return False
        if inactive:
            with self._inactive_owners_lock:
                until = time.monotonic() + INACTIVE_OWNER_RETRY_SECONDS
                self._inactive_owners[self._user_key(inactive)] = until
        reason = f"owner {inactive or '?'} is an inactive Salesforce user ({INACTIVE_OWNER}): {how}"
        plan["outcome"].changes["task_owner"] = reason
        log.info("salesforce: task on opportunity %s: %s", plan["deal_id"], reason)
        if role == "task_update":
            plan["task_wanted"] = {**plan["task_wanted"], "OwnerId": new_owner}
            if not set(again) - {"attributes", "Id"}:
                return True  # only the owner was to change: the task stays as it is
        return (method, again, plan, role, key)

    def _settle_suspects(self, suspects: dict[str, tuple[dict, ConnectorError]]) -> None:
        """An opportunity that no longer exists is gone (the pipeline stops tracking it);
        for one that does, the error stands."""
        try:
            existing = self._existing_opportunities(sorted(suspects))
        except ConnectorError as exc:
            for plan, _error in suspects.values():
                self._fail(plan, exc)
            return
        for deal_id, (plan, error) in suspects.items():
            if deal_id in existing:
                self._fail(plan, error)
            else:
                plan["gone"] = True

    def _existing_opportunities(self, deal_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(deal_ids, self.batch_size):
            soql = (
                f"SELECT Id FROM Opportunity WHERE Id IN ({', '.join(_soql_str(d) for d in chunk)})"
            )
            found.update(to18(r["Id"]) for r in self.api.query_all("opportunities_exist", soql))
        return found

    @staticmethod
    def _fail(plan: dict, error: ConnectorError) -> None:
        plan.setdefault("errors", []).append(error)
        if plan["outcome"].error is None or isinstance(error, PermanentError):
            plan["outcome"].error = error

    # --- creates whose answer was lost ------------------------------------------------------
    @staticmethod
    def _create_marker(role: str, key: str | None) -> str | None:
        if role == "task_create":
            return TASK_MARKER
        if role == "followup" and key is not None:
            return followup_marker(key)
        return None

    def _remember_unconfirmed(self, ops: Iterable[tuple[str, dict, dict, str, str | None]]) -> None:
        """These creates were sent and never answered: they may still land in Salesforce."""
        deadline = time.monotonic() + SALESFORCE_CALL_LIMIT_SECONDS
        with self._unconfirmed_lock:
            for _method, _record, plan, role, key in ops:
                marker = self._create_marker(role, key)
                if marker is None:
                    continue
                _old, markers = self._unconfirmed_creates.get(plan["deal_id"], (0.0, set()))
                self._unconfirmed_creates[plan["deal_id"]] = (deadline, markers | {marker})

    def _unconfirmed(self, deal_ids: Iterable[str]) -> dict[str, tuple[float, set[str]]]:
        with self._unconfirmed_lock:
            return {
                d: (deadline, set(markers))
                for d in deal_ids
                if d in self._unconfirmed_creates
                for deadline, markers in [self._unconfirmed_creates[d]]
            }

    def _marker_tasks(self, deal_ids: Sequence[str]) -> dict[str, list[dict]]:
        """Our tasks (roadmap and follow-ups) on these opportunities, read now."""
        out: dict[str, list[dict]] = {}
        for chunk in _chunks(deal_ids, self.batch_size):
            soql = (
                "SELECT Id, WhatId, Subject, Description, Status, Priority, OwnerId, IsClosed "
                f"FROM Task WHERE WhatId IN ({', '.join(_soql_str(d) for d in chunk)}) "
                f"AND Subject LIKE {_soql_str(MARKER_LIKE)}"
            )
            for rec in self.api.query_all("unconfirmed_tasks", soql):
                task = {k: v for k, v in rec.items() if k not in ("attributes", "WhatId")}
                out.setdefault(to18(rec["WhatId"]), []).append(task)
        return out

    def _our_notes_since(self, since_by_deal: dict[str, datetime]) -> dict[str, str]:
        """The title of our newest note on each of these opportunities created since its
        cut-short write began (less CUT_SHORT_CLOCK_SKEW: our clock and Salesforce's need not
        agree). Newest, not any: writes cut short one after another may each have posted a
        verdict (blocked, then clear), and only the last one says the verdict now shown."""
        newest: dict[str, tuple[datetime, str, str]] = {}
        if not since_by_deal:
            return {}
        since = min(since_by_deal.values()) - CUT_SHORT_CLOCK_SKEW
        for chunk in _chunks(sorted(since_by_deal), self.batch_size):
            soql = (
                "SELECT Id, ParentId, Title, CreatedDate FROM Note "
                f"WHERE ParentId IN ({', '.join(_soql_str(d) for d in chunk)}) "
                f"AND Title LIKE {_soql_str(NOTE_MARKER + '%')} "
                f"AND CreatedDate >= {_sf_dt(since)}"
            )
            for rec in self.api.query_all("cut_short_notes", soql):
                parent = to18(rec["ParentId"])
                created = _parse_dt(rec.get("CreatedDate"))
                if created is None or created < since_by_deal[parent] - CUT_SHORT_CLOCK_SKEW:
                    continue
                key = (created, rec.get("Id") or "", rec.get("Title") or "")
                if parent not in newest or key > newest[parent]:
                    newest[parent] = key
        return {parent: title for parent, (_c, _i, title) in newest.items()}

    def _finish_cut_short(
        self, plan: dict, newest_note: str | None, check_error: ConnectorError | None
    ) -> None:
        """After a cut-short write: the tasks it made were read (`fresh_tasks`) and are updated
        instead of created again; a verdict note it already posted is not posted twice. If they
        could not be read, nothing is created now (the deal is retried)."""
        if check_error is not None:
            if plan["task_create"] or plan["followup_creates"] or plan["note_create"]:
                plan["task_create"], plan["note_create"] = None, None
                plan["followup_creates"].clear()
                plan["outcome"].error = check_error
            return
        note = plan["note_create"]
        if note is not None and note["Title"] == newest_note:
            plan["note_create"] = None

    def _hold_unconfirmed(
        self, plan: dict, tasks: list[dict], check_error: ConnectorError | None
    ) -> None:
        """Drop the creates of a plan that an unanswered earlier write may still make."""
        deal_id = plan["deal_id"]
        with self._unconfirmed_lock:
            deadline, markers = self._unconfirmed_creates.get(deal_id, (0.0, set()))
            if check_error is None:
                subjects = [t.get("Subject") or "" for t in tasks]
                markers = {
                    m for m in markers if not any(s == m or s.startswith(m + " ") for s in subjects)
                }
            now = time.monotonic()
            if not markers or (now >= deadline and check_error is None):
                self._unconfirmed_creates.pop(deal_id, None)  # landed, or can no longer land
                return
            self._unconfirmed_creates[deal_id] = (deadline, markers)
        held = False
        if TASK_MARKER in markers and (plan["task_create"] is not None or plan["close_unfound"]):
            plan["task_create"] = None  # a close waits for the task, to complete it
            held = True
        for key in [k for k in plan["followup_creates"] if followup_marker(k) in markers]:
            del plan["followup_creates"][key]
            held = True
        if held:
            plan["outcome"].error = check_error or TransientError(
                "an earlier roadmap write to Salesforce got no answer and may still create the "
                "task; not creating another until it shows up or Salesforce's 10-minute call "
                "limit has passed",
                retry_after=min(max(deadline - now, 1.0), self.lost_write_retry_seconds),
                # The wait ends by itself (the task shows up, or the limit passes): the retries
                # until then spend no attempt, or the deal would go dead before the 10 minutes.
                hold=True,
            )

    def _run_collections(
        self, ops: list[tuple[str, dict, dict, str, str | None]], *, check: str | None = None
    ) -> tuple[list[dict], dict | None]:
        """Send the records as sObject Collections subrequests, ≤5 per Composite call.

        Salesforce processes a collection's records in chunks of consecutive records of one
        type and refuses, whole, a request of more than 10 chunks ("Cannot have more than 10
        chunks in a single operation"): deal by deal (Task, Note, Task, Note, ...) a batch of
        creates would be refused. So each method's records are sent grouped by type, in the
        order each type first appears: at most one chunk per type in a collection. Results are
        mapped back by the index of each record in `ops`, not by position.

        Never raises: a failed call marks its records failed with the error ("exception"),
        and "unanswered" when it was sent but timed out (its records may still be written).
        After a call fails, the rest are not sent; the results of earlier calls are kept.

        `check`, a SOQL query, runs first in the first call (before its writes; one of that
        call's 5 query-or-collection subrequests); its first batch is returned beside the
        results, as {"records", "done"} (None if it failed or was not sent)."""
        if not ops:
            return [], None
        groups: list[tuple[str, list[int]]] = []
        for method in ("PATCH", "POST"):
            idx = [i for i, op in enumerate(ops) if op[0] == method]
            types = list(dict.fromkeys(_sobject_type(ops[i][1]) for i in idx))
            idx.sort(key=lambda i: types.index(_sobject_type(ops[i][1])))  # stable
            for chunk in _chunks(idx, COLLECTION_SIZE):
                groups.append((method, list(chunk)))
        results: list[dict | None] = [None] * len(ops)
        url = self.api.data_path + "composite/sobjects"
        stopped: ConnectorError | None = None
        checked: dict | None = None
        calls: list[Sequence[tuple[str, list[int]]]] = []
        if check is not None:
            calls.append(groups[: MAX_QUERIES_PER_COMPOSITE - 1])
            groups = groups[MAX_QUERIES_PER_COMPOSITE - 1 :]
        calls.extend(_chunks(groups, MAX_QUERIES_PER_COMPOSITE))
        for number, call_groups in enumerate(calls):
            if stopped is not None:
                for _method, idx in call_groups:
                    for i in idx:
                        results[i] = {"success": False, "exception": stopped}
                continue
            subs = [
                subrequest(
                    method, url, f"c{n}", {"allOrNone": False, "records": [ops[i][1] for i in idx]}
                )
                for n, (method, idx) in enumerate(call_groups)
            ]
            with_check = check is not None and number == 0
            if with_check:
                subs.insert(0, subrequest("GET", self._query_url(check), "check"))
            try:
                responses = self.api.composite("write", subs)
            except ConnectorError as exc:
                error: ConnectorError = exc
                if isinstance(exc, RequestTimedOut):
                    error = TransientError(
                        f"{exc}; the write may still complete in Salesforce",
                        retry_after=self.lost_write_retry_seconds,
                    )
                for _method, idx in call_groups:
                    for i in idx:
                        results[i] = {
                            "success": False,
                            "exception": error,
                            "unanswered": isinstance(exc, RequestTimedOut),
                        }
                stopped = error
                continue
            if with_check:
                head, responses = responses[0], responses[1:]
                if subresponse_error(head) is None and isinstance(head.get("body"), dict):
                    # Only the first batch: the writes of this call ran after the query, and a
                    # later batch would be fetched after them (see `_flag_changed_since_read`).
                    checked = {
                        "records": list(head["body"].get("records") or []),
                        "done": bool(head["body"].get("done", True)),
                    }
            for (_method, idx), response in zip(call_groups, responses, strict=True):
                error = subresponse_error(response)
                body = response.get("body")
                if error is not None or not isinstance(body, list) or len(body) != len(idx):
                    err = error or TransientError("malformed sObject Collections response")
                    for i in idx:
                        results[i] = {"success": False, "exception": err}
                    if isinstance(err, TransientError):
                        stopped = err
                    continue
                for i, res in zip(idx, body, strict=True):
                    results[i] = res
        return [r or {"success": False, "errors": []} for r in results], checked

    def _applied(
        self, plan: dict, role: str, key: str | None, record: dict, new_id: str | None
    ) -> None:
        outcome: WriteOutcome = plan["outcome"]
        if role == "fields":
            plan["fields_applied"] = True
            outcome.changes["fields"] = dict(plan["field_changes"])
            self._remember_fields(plan["deal_id"], dict(plan["field_changes"]))
        elif role == "task_update":
            plan["task_state"] = plan["task_wanted"]
            closing = record.get("Status") == self.facts.status_done
            outcome.changes["task"] = "completed" if closing else "updated"
        elif role == "task_create":
            outcome.task_id = new_id
            outcome.task_open = True
            plan["task_state"] = {
                **{k: v for k, v in record.items() if k != "attributes"},
                "Id": new_id,
                "IsClosed": False,
            }
            outcome.changes["task"] = "created"
        elif role == "followup" and key is not None and new_id:
            outcome.followups_created[key] = new_id
            outcome.changes.setdefault("followups", []).append(key)
        elif role == "note":
            outcome.changes["note"] = new_id

    def _finish(self, plan: dict) -> WriteOutcome:
        outcome: WriteOutcome = plan["outcome"]
        if plan.get("gone"):
            # Deleted since the read: nothing to write to, and not an error to retry or show.
            outcome.deal_gone = True
            outcome.error = None
        fields = dict(plan["fields_now"])
        if plan.get("fields_applied"):
            fields.update(plan["field_changes"])
        outcome.followups_created.update(plan["followups_found"])
        task = plan["task_state"]
        if task is not None and task.get("Id"):
            outcome.task_id = task["Id"]
            outcome.task_open = not task.get("IsClosed", False)
        outcome.written = {
            "fields": fields,
            "task": (
                {
                    k: task.get(k)
                    for k in (
                        "Id",
                        "Subject",
                        "Description",
                        "Status",
                        "Priority",
                        "OwnerId",
                        "IsClosed",
                    )
                }
                if task and task.get("Id")
                else None
            ),
            "written_at": datetime.now(UTC).isoformat(),
        }
        return outcome

    # --- reconciliation --------------------------------------------------------------------
    def changed_since(self, since: datetime | None) -> tuple[list[str], datetime | None]:
        """Opportunities modified after `since` (all open ones on the first run), or whose
        notes were, or deleted since, or whose classic Note or line item was (after the first
        run), with the latest LastModifiedDate (a deletion's SystemModstamp) seen: the next
        cursor. Our own writes are left out."""
        where = []
        if since is None:
            where.append("IsClosed = false")
        else:
            where.append(f"LastModifiedDate > {_sf_dt(since)}")
        if self.integration_user_id:
            where.append(f"LastModifiedById != {_soql_str(self.integration_user_id)}")
        soql = (
            "SELECT Id, LastModifiedDate FROM Opportunity WHERE "
            + " AND ".join(where)
            + " ORDER BY LastModifiedDate ASC"
        )
        records = self.api.query_all("reconcile", soql)
        ids = [to18(r["Id"]) for r in records]
        stamps = [r.get("LastModifiedDate") for r in records]
        if since is not None:
            # A note added or edited does not touch the opportunity's LastModifiedDate, and
            # Outbound Messages fire on Opportunity only: look for changed notes too.
            note_ids, note_stamps = self._opportunities_with_changed_notes(since)
            ids += [i for i in note_ids if i not in set(ids)]
            stamps += note_stamps
            deleted_ids, deleted_stamps = self._opportunities_deleted_since(since)
            ids += [i for i in deleted_ids if i not in set(ids)]
            stamps += deleted_stamps
        latest = max(
            (_parse_dt(v) for v in stamps),
            default=None,
            key=lambda d: d or datetime.min.replace(tzinfo=UTC),
        )
        return list(dict.fromkeys(ids)), latest

    def _opportunities_deleted_since(self, since: datetime) -> tuple[list[str], list[Any]]:
        """Opportunities deleted after `since`, or whose classic Note or line item was, with
        those deletion times. A deletion sends no Outbound Message and the query resource
        leaves deleted records out, so without this a deleted opportunity stayed tracked as
        open (its amount in every feature's pipeline), and an opportunity whose "we promised
        SSO" note or zero-price SSO line item a rep deleted stayed blocked, until something
        else made us read it: a note's deletion does not touch the opportunity's
        LastModifiedDate, and Salesforce documents no such change for a line item's (a zero-price
        one changes no Amount either), so they are asked for themselves. Opportunity, Note
        and OpportunityLineItem all have IsDeleted and SystemModstamp and support getDeleted:
        a deleted record is in the Recycle Bin with IsDeleted true, its SystemModstamp when it
        was deleted (what the Get Deleted resource reports as its deletedDate). So one
        Composite call carries three QueryAll subrequests. A deleted opportunity, queued, is
        read, found in the Recycle Bin and reported gone; the parent of a deleted note or line
        item is read without it. Deletions by the integration user are not left out: it deletes
        neither notes nor line items, and a note of ours a rep deleted costs one re-read."""
        after = _sf_dt(since)
        asks = [
            ("Opportunity", "Id"),
            ("Note", "ParentId"),
            ("OpportunityLineItem", "OpportunityId"),
        ]
        subs = [
            subrequest(
                "GET",
                f"{self.api.data_path}queryAll?q="
                + quote_plus(
                    f"SELECT {parent}, SystemModstamp FROM {sobject} "
                    f"WHERE IsDeleted = true AND SystemModstamp > {after}"
                ),
                f"deleted_{sobject}",
            )
            for sobject, parent in asks
        ]
        ids: list[str] = []
        stamps: list[Any] = []
        responses = self.api.composite("reconcile_deleted", subs)
        for (_sobject, parent), response in zip(asks, responses, strict=True):
            error = subresponse_error(response)
            if error:
                raise error
            for row in self._all_records(response["body"]):
                parent_id = row.get(parent) or ""
                if parent_id.startswith(OPPORTUNITY_PREFIX):
                    ids.append(to18(parent_id))
                    stamps.append(row.get("SystemModstamp"))
        return ids, stamps

    def _content_notes_changed(self, after: str) -> dict[str, Any]:
        """Enhanced notes of open opportunities changed as `after` says: note id → its
        LastModifiedDate.

        A query on ContentNote (a ContentDocument) that names no Id answers only the notes the
        integration user owns or was shared directly, not those it sees through the opportunity
        a note is linked to: Salesforce documents that "if a user only has access to a file
        because they have access to a record that the file is shared with, the file won't be
        returned in a query such as SELECT Id FROM ContentDocument" (View All Data does not
        change that; only Query All Files does). Asked that way, every rep's note was missed.
        So the notes are asked for through their links to the open opportunities, as the read
        asks: one query listing the open opportunities (2,000 ids a page), then one ContentNote
        query with a ContentDocumentLink semi-join per 200 of them, five per Composite call."""
        open_ids = [
            to18(r["Id"])
            for r in self.api.query_all(
                "reconcile_open", "SELECT Id FROM Opportunity WHERE IsClosed = false"
            )
        ]
        subs = [
            subrequest(
                "GET",
                self._query_url(
                    "SELECT Id, LastModifiedDate FROM ContentNote WHERE Id IN "
                    "(SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId IN "
                    f"({', '.join(_soql_str(i) for i in chunk)})) AND {after}"
                ),
                f"notes{n}",
            )
            for n, chunk in enumerate(_chunks(open_ids, self.batch_size))
        ]
        changed: dict[str, Any] = {}
        for call in _chunks(subs, MAX_QUERIES_PER_COMPOSITE):
            for response in self.api.composite("reconcile_content_notes", list(call)):
                if _not_supported(response):
                    return {}  # no enhanced notes in this org (see `_not_supported`)
                error = subresponse_error(response)
                if error:
                    raise error
                for note in self._all_records(response["body"]):
                    changed[note["Id"]] = note.get("LastModifiedDate")
        return changed

    def _opportunities_with_changed_notes(self, since: datetime) -> tuple[list[str], list[Any]]:
        """Opportunities whose classic Notes (ParentId) or enhanced notes (ContentNote, linked by
        ContentDocumentLink.LinkedEntityId) someone other than the integration user changed
        after `since`, with those notes' LastModifiedDate. The classic Notes query, the enhanced
        notes' (`_content_notes_changed`), plus one per 200 changed enhanced notes
        (ContentDocumentLink must be filtered by ContentDocumentId or LinkedEntityId with = or
        IN)."""
        not_ours = (
            f" AND LastModifiedById != {_soql_str(self.integration_user_id)}"
            if self.integration_user_id
            else ""
        )
        after = f"LastModifiedDate > {_sf_dt(since)}{not_ours}"
        ids: list[str] = []
        stamps: list[Any] = []
        for note in self.api.query_all(
            "reconcile_notes", f"SELECT ParentId, LastModifiedDate FROM Note WHERE {after}"
        ):
            parent = note.get("ParentId") or ""
            if parent.startswith(OPPORTUNITY_PREFIX):
                ids.append(to18(parent))
                stamps.append(note.get("LastModifiedDate"))
        changed = self._content_notes_changed(after)
        for chunk in _chunks(list(changed), self.batch_size):
            id_list = ", ".join(_soql_str(i) for i in chunk)
            soql = (
                "SELECT LinkedEntityId, ContentDocumentId FROM ContentDocumentLink "
                f"WHERE ContentDocumentId IN ({id_list})"
            )
            for link in self.api.query_all("reconcile_note_links", soql):
                linked = link.get("LinkedEntityId") or ""
                if linked.startswith(OPPORTUNITY_PREFIX):
                    ids.append(to18(linked))
                    stamps.append(changed.get(link.get("ContentDocumentId")))
        return ids, stamps

    def changed_deal_ids(self, since: datetime | None) -> list[str]:
        return self.changed_since(since)[0]

    def open_deal_ids(self) -> Iterator[DealIdPage]:
        """Every open opportunity, a query page (up to 2,000 ids) at a time, whoever modified it
        last (reconciliation leaves our own writes out; a backfill must not), with the query's
        totalSize."""
        soql = "SELECT Id FROM Opportunity WHERE IsClosed = false ORDER BY Id"
        for page in self.api.query_pages("backfill", soql):
            ids = [to18(r["Id"]) for r in page.get("records") or []]
            if ids:
                yield DealIdPage(ids=ids, total=page.get("totalSize"))
