"""HubSpotConnector: deals in as DealSnapshots (batched), results out (batched, only what changed).

Reading a claim of N deals costs, for N > 2: ceil(N/50) deal batch reads (with dealstage
history, which HubSpot serves for at most 50 inputs a call), 2 v4 association batch reads per
1000 deals (line items, notes; plus pages), and ceil(items/100) + ceil(notes/100) batch reads
pooled across the whole claim. For one or two deals a single GET per deal returns the
properties, the history and the association ids at once, which is cheaper than three batch
calls; it lists the deal's companies too. In a batch the deals' companies cost one more v4
association read per 1000 deals. Either way, company names not read in the last hour cost
ceil(companies/100) batch reads (companies.py).

Writing a claim: a guard revert costs one call per reverted deal (alone, so a refusal fails no
other deal); then tasks updated in one batch, created in one batch (each already associated with
its deal), notes created in one batch, then one batch update of the deals' properties (with the
new task ids). Unchanged deals cost nothing. A deal whose revert, task or note failed still gets
its properties (status, summary, guard property) written: the block must not wait for a task.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from app.connectors.base import (
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
from app.connectors.hubspot import properties as P
from app.connectors.hubspot.account import AccountFacts, AccountInfo
from app.connectors.hubspot.client import HubSpotApi
from app.connectors.hubspot.companies import COMPANIES_SCOPE, AccountNames, from_object_read
from app.connectors.hubspot.errors import (
    MissingScopeError,
    PropertyRuleRefused,
    RefusedError,
    invalid_properties,
    refusal_reason,
)
from app.connectors.hubspot.events import object_id as hubspot_id
from app.connectors.hubspot.guard import guard_action
from app.connectors.hubspot.owners import OwnerNames
from app.rules.model import DealSnapshot, LineItem, Note, Stage

log = structlog.get_logger(__name__)

BATCH = 100
# HubSpot answers 400 ("The maximum number of inputs supported in a batch request for property
# histories is 50") to a batch read with propertiesWithHistory and more inputs than this.
HISTORY_BATCH = 50
# A lost create is looked for among the newest this many tasks (or notes) of its deal.
PENDING_LOOKUP_PER_DEAL = 100
ASSOC_BATCH = 1000
SINGLE_READ_MAX = 2
TASK_TO_DEAL = 216
NOTE_TO_DEAL = 214
# HubSpot's limit on a note's body (`hs_note_body`, "limited to 65,536 characters"); a task's
# body is a string property of the same limit. Counted on the HTML sent.
BODY_MAX = 65_536


def rich_body(text: str, tail: str, limit: int = BODY_MAX) -> str:
    """`text` as HubSpot rich text (escaped, lines joined by <br>), then `tail` (the marker
    that finds the object again), in at most `limit` characters (`fit_lines`)."""
    return fit_lines(text, limit - len(tail), escape=html.escape, joiner="<br>") + tail


SEARCH_PAGE = 200  # HubSpot's maximum search page
DEFAULT_UI_DOMAIN = "app.hubspot.com"  # while the account details cannot be read


OWNER = "hubspot_owner_id"
# What a rep may set on our task and an update leaves alone (a create sets them).
TASK_REP_SETTINGS = ("hs_task_priority", "hs_task_type")
TASK_STATUS = "hs_task_status"


def _owner_of(item: Any) -> tuple[dict, str | None]:
    """The plan and the owner of a task input (a create tuple or an update plan)."""
    if isinstance(item, tuple):
        return item[0], item[3].get(OWNER)
    return item, (item.get("task_update") or {}).get(OWNER)


def _create_unowned(item: tuple) -> tuple | None:
    plan, key, marker, props = item
    if not props.get(OWNER):
        return None
    return plan, key, marker, {k: v for k, v in props.items() if k != OWNER}


def _update_unowned(plan: dict) -> dict | None:
    props = plan.get("task_update") or {}
    if not props.get(OWNER):
        return None
    return {**plan, "task_update": {k: v for k, v in props.items() if k != OWNER}}


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def strip_html(body: str | None) -> str:
    """Note bodies are HTML in HubSpot; rules read plain text."""
    return html_to_text(body)


def _parse_dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value)
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_date(value: Any, zone: tzinfo | None = None) -> date | None:
    """The calendar day of a date or datetime value. A datetime (an instant, e.g. `closedate`)
    is the day it falls on in `zone`, the portal's time zone, when known (HubSpot shows
    datetimes in local time, not UTC); a plain date ("2026-07-01") is that day anywhere."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    parsed = _parse_dt(value)
    if parsed is None:
        return None
    return (parsed.astimezone(zone) if zone is not None else parsed).date()


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _float(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


def _ms(dt: datetime) -> str:
    return str(int(dt.timestamp() * 1000))


class PipelineCache:
    """Deal pipelines and their stages: which are won, closed, and how probable.

    Loaded when first needed, refreshed when a deal shows a stage id we have not seen (a stage
    was added), and at least every REFRESH_SECONDS: an admin who makes an existing stage a won
    one (closed, probability 100%), or renames one, changes no stage id, and a worker that
    never reloaded did not guard that stage until it restarted."""

    REFRESH_SECONDS = 3600.0

    def __init__(self, api: HubSpotApi, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.clock = clock
        self._stages: dict[str, dict[str, tuple[Stage, int]]] = {}
        self._loaded = False
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    RETRY_SECONDS = 600.0

    def _stale(self) -> bool:
        return not self._loaded or self.clock() - self._loaded_at >= self.REFRESH_SECONDS

    def _reload(self) -> None:
        """The hourly reload. It failing keeps the stages already known (tried again in
        RETRY_SECONDS): an hour-old cache is better than failing every deal read meanwhile.
        Only the first load has nothing to fall back on and raises."""
        if not self._loaded:
            self.refresh()
            return
        try:
            self.refresh()
        except ConnectorError as exc:
            with self._lock:
                self._loaded_at = self.clock() - self.REFRESH_SECONDS + self.RETRY_SECONDS
            log.warning(
                "hubspot pipelines not reloaded; keeping the stages known",
                error=str(exc),
                retry_in_seconds=self.RETRY_SECONDS,
            )

    def refresh(self) -> None:
        started = self.clock()
        response = self.api.call(
            "pipelines.get_all", self.api.api("crm.pipelines.pipelines_api").get_all, "deals"
        )
        stages: dict[str, dict[str, tuple[Stage, int]]] = {}
        for pipeline in response.results or []:
            by_id: dict[str, tuple[Stage, int]] = {}
            for st in pipeline.stages or []:
                meta = st.metadata or {}
                probability = _float(meta.get("probability"))
                closed = str(meta.get("isClosed", "false")).lower() == "true"
                by_id[st.id] = (
                    Stage(
                        id=st.id,
                        label=st.label,
                        is_closed=closed,
                        # HubSpot marks won stages as closed with probability 1.0.
                        is_won=closed and probability is not None and probability >= 1.0,
                        probability=probability,
                    ),
                    st.display_order or 0,
                )
            stages[pipeline.id] = by_id
        with self._lock:
            self._stages = stages
            self._loaded = True
            self._loaded_at = started

    def stage(self, pipeline: str | None, stage_id: str | None, *, refreshed: list[bool]) -> Stage:
        if self._stale() and not refreshed[0]:
            self._reload()
            refreshed[0] = True
        found = self._find(pipeline, stage_id)
        if found is None and stage_id and not refreshed[0]:
            self.refresh()
            refreshed[0] = True
            found = self._find(pipeline, stage_id)
        return found or Stage(id=stage_id or "unknown", label=stage_id)

    def _find(self, pipeline: str | None, stage_id: str | None) -> Stage | None:
        if stage_id is None:
            return None
        if pipeline and pipeline in self._stages:
            hit = self._stages[pipeline].get(stage_id)
            return hit[0] if hit else None
        for by_id in self._stages.values():
            if stage_id in by_id:
                return by_id[stage_id][0]
        return None

    def stage_in(
        self, pipeline: str | None, stage_id: str, *, refreshed: list[bool]
    ) -> Stage | None:
        """The stage only if it belongs to this pipeline (refreshing once on a miss)."""
        if not pipeline:
            return None
        hit = self._stages.get(pipeline, {}).get(stage_id)
        if hit is None and not refreshed[0]:
            self.refresh()
            refreshed[0] = True
            hit = self._stages.get(pipeline, {}).get(stage_id)
        return hit[0] if hit else None

    def won_stage_ids(self) -> list[str]:
        if self._stale():
            self._reload()
        return sorted(
            {st.id for by_id in self._stages.values() for st, _ in by_id.values() if st.is_won}
        )


class HubSpotConnector:
    name = "hubspot"

    def __init__(
        self,
        api: HubSpotApi,
        *,
        portal_id: str | None = None,
        app_id: str | None = None,
        guard_mode: str = "revert",
        guard_property: str = P.DEFAULT_GUARD,
        company_currency: str | None = None,
    ) -> None:
        self.api = api
        self.portal_id = portal_id
        # The label of `amount_in_home_currency`: HubSpot converts the amount, and says into
        # which currency in the account details (read hourly: `account`). The configured
        # HUBSPOT_COMPANY_CURRENCY stands in while they cannot be read; HubSpot's answer wins.
        self.company_currency = company_currency
        self.account = AccountInfo(api)
        self._currency_mismatch_logged = False
        self._portal_mismatch_logged = False
        self.app_id = app_id
        self.guard_mode = guard_mode
        self.guard_property = guard_property
        self.pipelines = PipelineCache(api)
        # Deal owners' names (CRM Owners API), cached for the process: owners.py.
        self.owners = OwnerNames(api)
        # Each deal's company name (its account name), read with the batch: companies.py.
        self.accounts = AccountNames(api)
        # Markers of task creates whose response never arrived (timeout): search before
        # creating again. Process-local; see docs/hubspot.md for the crash window.
        self._pending_creates: set[str] = set()
        self._pending_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> HubSpotConnector:
        if settings.hubspot_access_token is None:
            raise PermanentError("HUBSPOT_ACCESS_TOKEN is not set")
        api = HubSpotApi(
            access_token=settings.hubspot_access_token.get_secret_value(),
            api_base=settings.hubspot_api_base,
            timeout=settings.hubspot_timeout_seconds,
            requests_per_10s=settings.hubspot_requests_per_10s,
            portal_key=settings.hubspot_portal_id,
            daily_retry_seconds=settings.hubspot_daily_limit_retry_seconds,
        )
        return cls(
            api,
            portal_id=settings.hubspot_portal_id,
            app_id=settings.hubspot_app_id,
            guard_mode=settings.hubspot_guard_mode,
            guard_property=settings.hubspot_guard_property,
            company_currency=settings.hubspot_company_currency,
        )

    # --- reading ------------------------------------------------------------------------------

    def _deal_properties(self) -> list[str]:
        return P.DEAL_READ_PROPERTIES + sorted(P.own_properties(self.guard_property))

    def read_deals(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | None]:
        ids = list(dict.fromkeys(str(d) for d in deal_ids))
        if not ids:
            return {}
        # deal id -> its company, where the deal's GET listed its companies (companies.py)
        companies: dict[str, str | None] = {}
        if len(ids) <= SINGLE_READ_MAX:
            records = self._read_deals_single(ids, companies)
        else:
            records = self._read_deals_batch(ids)
        line_item_ids = sorted({i for r in records.values() if r for i in r["line_items"]})
        note_ids = sorted({i for r in records.values() if r for i in r["notes"]})
        items = self._batch_read("line_items", line_item_ids, P.LINE_ITEM_PROPERTIES)
        notes = self._batch_read("notes", note_ids, P.NOTE_PROPERTIES)
        # The deals' company names: the notes reader tells the customer's own steps by them.
        account_names = self.accounts.names(
            [d for d in ids if records.get(d) is not None], companies
        )
        refreshed = [False]
        facts = self.account.facts()
        self._check_portal(facts)
        if any(records.get(deal_id) is None for deal_id in ids) and (
            wrong := self._wrong_portal(facts)
        ):
            # Every deal of ours is missing from the token's portal: read as deleted, each
            # deal the worker read was untracked (gone from every total, its dependencies
            # dropped) until it changed again. Held instead, as for a refused token.
            raise CredentialsError(wrong)
        home_currency = self._home_currency(facts)
        zone = facts.time_zone if facts is not None else None
        ui_domain = (facts.ui_domain if facts is not None else None) or DEFAULT_UI_DOMAIN
        # The deal links' portal: the token's own (account details), else HUBSPOT_PORTAL_ID.
        # Without the setting (it is optional) every deal had no link to HubSpot at all.
        portal = (facts.portal_id if facts is not None else None) or self.portal_id
        # The owners' names, last: a lookup that fails (a missing scope, a 429) reads the
        # deals without them, after every other read of the batch went through.
        owner_names = self.owners.names(
            {r["properties"].get(OWNER) for r in records.values() if r is not None}
        )
        out: dict[str, DealSnapshot | None] = {}
        for deal_id in ids:
            record = records.get(deal_id)
            out[deal_id] = (
                None
                if record is None
                else self._snapshot(
                    record,
                    items,
                    notes,
                    refreshed,
                    home_currency,
                    zone,
                    ui_domain,
                    portal,
                    owner_names,
                    account_names,
                )
            )
        return out

    def _check_portal(self, facts: AccountFacts | None) -> None:
        """HUBSPOT_PORTAL_ID against the portal the token reads (account details): the webhook
        stores every event of another portal as `ignored`, so a wrong id left the service deaf
        to every webhook (only reconciliation still found changed deals) with nothing in the
        log saying why. Said once per process, as an error."""
        actual = facts.portal_id if facts is not None else None
        if not (self.portal_id and actual) or str(self.portal_id) == actual:
            return
        if not self._portal_mismatch_logged:
            self._portal_mismatch_logged = True
            log.error(
                "HUBSPOT_PORTAL_ID is not the portal of HUBSPOT_ACCESS_TOKEN: every webhook is "
                "stored as another portal's and ignored, and deal links point to the wrong "
                "portal; set HUBSPOT_PORTAL_ID to the token's portal",
                configured=str(self.portal_id),
                token_portal=actual,
            )

    def _home_currency(self, facts: AccountFacts | None) -> str | None:
        """The company currency `amount_in_home_currency` is in: HubSpot's account details,
        else HUBSPOT_COMPANY_CURRENCY, else unknown (totals unlabelled)."""
        actual = facts.company_currency if facts is not None else None
        if actual is None:
            return self.company_currency
        mismatch = self.company_currency and actual != self.company_currency
        if mismatch and not self._currency_mismatch_logged:
            self._currency_mismatch_logged = True
            log.warning(
                "HUBSPOT_COMPANY_CURRENCY differs from the portal's company currency; "
                "labelling amounts with HubSpot's",
                configured=self.company_currency,
                hubspot=actual,
            )
        return actual

    def _get_deal(self, deal_id: str) -> tuple[Any, bool]:
        """A deal's GET (None: not found), and whether it lists the deal's companies: asked
        for unless the companies scope is known missing. A 403 to the GET with them (HubSpot
        does not document what it answers without the scope: assumed refused as a whole) is
        asked again without them, and pauses the company reads as any missing scope does."""
        basic = self.api.api("crm.deals.basic_api")

        def get(associations: list[str], optional_scope: str | None = None) -> Any:
            return self.api.call(
                "deals.get",
                basic.get_by_id,
                deal_id,
                properties=self._deal_properties(),
                properties_with_history=["dealstage"],
                associations=associations,
                not_found_ok=True,
                optional_scope=optional_scope,
            )

        if self.accounts.readable():
            try:
                return get(["line_items", "notes", "companies"], COMPANIES_SCOPE), True
            except MissingScopeError as exc:
                obj = get(["line_items", "notes"])  # another 403 is a refusal of ours
                self.accounts.missing(exc)
                return obj, False
        return get(["line_items", "notes"]), False

    def _read_deals_single(
        self, ids: list[str], companies: dict[str, str | None]
    ) -> dict[str, dict | None]:
        """`companies` gets each deal's company where its GET decided it (companies.py)."""
        records: dict[str, dict | None] = {}
        needs_paging: list[str] = []
        for deal_id in ids:
            obj, with_companies = self._get_deal(deal_id)
            if obj is None or str(obj.id) != deal_id:
                # Merged away: HubSpot answers the old id with the deal it was merged into,
                # which is queued and read under its own id. This one is gone.
                records[deal_id] = None
                continue
            record = self._record(obj)
            associations = obj.associations or {}
            if with_companies:
                listed = associations.get("companies")
                more = listed is not None and listed.paging is not None and listed.paging.next
                decided, company = from_object_read(
                    listed.results or [] if listed is not None else [], bool(more)
                )
                if decided:
                    companies[deal_id] = company
            for key, assoc in associations.items():
                target = "line_items" if key.replace(" ", "_") == "line_items" else key
                if target not in ("line_items", "notes"):
                    continue
                record[target] = [str(a.id) for a in assoc.results or []]
                if assoc.paging is not None and assoc.paging.next is not None:
                    needs_paging.append(deal_id)
            records[deal_id] = record
        if needs_paging:
            for target in ("line_items", "notes"):
                found = self._associations("deals", target, sorted(set(needs_paging)))
                for deal_id in set(needs_paging):
                    records[deal_id][target] = found.get(deal_id, [])
        return records

    def _read_deals_batch(self, ids: list[str]) -> dict[str, dict | None]:
        batch = self.api.api("crm.deals.batch_api")
        records: dict[str, dict | None] = {deal_id: None for deal_id in ids}
        for chunk in _chunks(ids, HISTORY_BATCH):
            response = self.api.call(
                "deals.batch_read",
                batch.read,
                {
                    "inputs": [{"id": d} for d in chunk],
                    "properties": self._deal_properties(),
                    "propertiesWithHistory": ["dealstage"],
                },
            )
            for obj in response.results or []:
                records[str(obj.id)] = self._record(obj)
        present = [d for d, r in records.items() if r is not None]
        line_items = self._associations("deals", "line_items", present)
        notes = self._associations("deals", "notes", present)
        for deal_id in present:
            records[deal_id]["line_items"] = line_items.get(deal_id, [])
            records[deal_id]["notes"] = notes.get(deal_id, [])
        return records

    @staticmethod
    def _record(obj: Any) -> dict:
        history = []
        for entry in (getattr(obj, "properties_with_history", None) or {}).get(
            "dealstage", []
        ) or []:
            history.append({"value": entry.value, "timestamp": entry.timestamp})
        history.sort(key=lambda h: h["timestamp"] or datetime.min.replace(tzinfo=UTC), reverse=True)
        return {
            "id": str(obj.id),
            "properties": dict(obj.properties or {}),
            "history": history,
            "line_items": [],
            "notes": [],
        }

    def _associations(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        """v4 batch association read, following each object's paging until done."""
        batch = self.api.api("crm.associations.v4.batch_api")
        found: dict[str, list[str]] = {}
        pending: list[dict] = [{"id": i} for i in ids]
        while pending:
            next_round: list[dict] = []
            for chunk in _chunks(pending, ASSOC_BATCH):
                response = self.api.call(
                    f"associations.{from_type}_{to_type}",
                    batch.get_page,
                    from_type,
                    to_type,
                    {"inputs": list(chunk)},
                )
                for result in response.results or []:
                    from_id = str(result._from.id)
                    found.setdefault(from_id, []).extend(
                        str(t.to_object_id) for t in result.to or []
                    )
                    paging = result.paging
                    if paging is not None and paging.next is not None and paging.next.after:
                        next_round.append({"id": from_id, "after": paging.next.after})
            pending = next_round
        return found

    def _batch_read(self, object_type: str, ids: list[str], props: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        api = self.api.api(
            "crm.line_items.batch_api"
            if object_type == "line_items"
            else f"crm.objects.{object_type}.batch_api"
        )
        out: dict[str, dict] = {}
        for chunk in _chunks(ids, BATCH):
            response = self.api.call(
                f"{object_type}.batch_read",
                api.read,
                {"inputs": [{"id": i} for i in chunk], "properties": props},
            )
            for obj in response.results or []:
                out[str(obj.id)] = dict(obj.properties or {})
        return out

    def _snapshot(
        self,
        record: dict,
        items: dict[str, dict],
        notes: dict[str, dict],
        refreshed: list[bool],
        home_currency: str | None,
        zone: tzinfo | None = None,
        ui_domain: str = DEFAULT_UI_DOMAIN,
        portal_id: str | None = None,
        owner_names: dict[str, str | None] | None = None,
        account_names: dict[str, str | None] | None = None,
    ) -> DealSnapshot:
        props = record["properties"]
        pipeline = props.get("pipeline")
        stage = self.pipelines.stage(pipeline, props.get("dealstage"), refreshed=refreshed)
        extra: dict[str, Any] = {
            "crm_properties": {
                name: props.get(name) or "" for name in P.own_properties(self.guard_property)
            },
            # when these values were read: newer than our last write, they are the truth
            # (`_current`), so a hand edit of our properties is seen and put back
            "read_at": datetime.now(UTC).isoformat(),
        }
        status = props.get(P.STATUS) or ""
        if status:  # what the record shows of our verdict, in the pipeline's terms (`_drifted`)
            extra["shown"] = {
                "status": status,
                "block": (props.get(self.guard_property) or "") != "clear",
            }
        previous = self._previous_stage(record["history"], stage, pipeline, refreshed)
        if previous is not None:
            extra["previous_stage"] = previous.id
            extra["previous_stage_label"] = previous.label
        line_items = []
        for li_id in record["line_items"]:
            p = items.get(li_id)
            if p is None:
                continue
            product_id = p.get("hs_product_id") or None
            sku = p.get("hs_sku") or None
            line_items.append(
                LineItem(
                    id=li_id,
                    # No product: the SKU, then the name identify what is sold.
                    name=p.get("name") or sku or product_id or "",
                    sku=sku,
                    product_id=product_id,
                    quantity=_float(p.get("quantity")),
                    amount=_decimal(p.get("amount")),
                )
            )
        note_list = []
        for note_id in record["notes"]:
            p = notes.get(note_id)
            if p is None or self._is_own_note(p):
                continue
            note_list.append(
                Note(
                    id=note_id,
                    body=strip_html(p.get("hs_note_body")),
                    created_at=_parse_dt(p.get("hs_timestamp") or p.get("hs_createdate")),
                    author=p.get("hubspot_owner_id") or None,
                )
            )
        deal_id = record["id"]
        url = (
            # The portal's own UI host (account details): an EU-hosted portal's records live
            # on app-eu1.hubspot.com, not app.hubspot.com.
            f"https://{ui_domain}/contacts/{portal_id}/record/0-3/{deal_id}" if portal_id else None
        )
        return DealSnapshot(
            crm=self.name,
            deal_id=deal_id,
            name=props.get("dealname") or "",
            pipeline=pipeline,
            stage=stage,
            amount=_decimal(props.get("amount")),
            currency=props.get("deal_currency_code") or None,
            # HubSpot's own conversion with the portal's exchange rates ("Amount in company
            # currency", a calculated property): what its deal totals and reports add up.
            amount_home=_decimal(props.get("amount_in_home_currency")),
            home_currency=home_currency,
            # `closedate` is a datetime: the day is the one HubSpot shows in the portal's time
            # zone (account details), UTC while that is unknown.
            close_date=_parse_date(props.get("closedate"), zone),
            owner_id=props.get(OWNER) or None,
            # "First Last" (or the e-mail) of the owner (Owners API; None while unreadable):
            # message templates' {deal.owner_name}, the owner in views and reports
            owner_name=(owner_names or {}).get(str(props.get(OWNER) or "")),
            # The deal's primary company's name, else its first company's (companies.py)
            account_name=(account_names or {}).get(deal_id),
            created_at=_parse_dt(props.get("createdate")),
            updated_at=_parse_dt(props.get("hs_lastmodifieddate")),
            line_items=line_items,
            notes=note_list,
            url=url,
            extra=extra,
        )

    def _is_own_note(self, props: dict) -> bool:
        """Our findings notes quote feature names; read back, they would block the deal."""
        if self.app_id and props.get("hs_object_source_id") == str(self.app_id):
            return True
        return P.NOTE_FOOTER in (props.get("hs_note_body") or "")

    def _previous_stage(
        self, history: list[dict], current: Stage, pipeline: str | None, refreshed: list[bool]
    ) -> Stage | None:
        """The open stage of the deal's current pipeline it was in before the current one.

        Entries from another pipeline (the deal was moved between pipelines) are skipped:
        HubSpot refuses a stage that is not in the deal's pipeline. None: nothing to return to,
        so the guard flags the deal instead of guessing a stage."""
        for entry in history:
            value = entry["value"]
            if not value or value == current.id:
                continue
            stage = self.pipelines.stage_in(pipeline, value, refreshed=refreshed)
            if stage is not None and not stage.is_closed:
                return stage
        return None

    # --- writing ------------------------------------------------------------------------------

    def write_back(self, items: Sequence[DealWriteBack]) -> dict[str, WriteOutcome]:
        plans = [self._plan(item) for item in items]
        outcomes = {p["deal_id"]: WriteOutcome(deal_id=p["deal_id"]) for p in plans}
        failed: dict[str, ConnectorError] = {}
        gone: set[str] = set()  # deleted since the read: nothing more is written for them

        def fail(deal_ids: Iterable[str], error: ConnectorError) -> None:
            for deal_id in deal_ids:
                if deal_id not in gone:
                    failed.setdefault(deal_id, error)

        def done_with(deal_id: str) -> bool:
            return deal_id in failed or deal_id in gone

        def settle(parts: list[tuple[list, Any]], deal_of: Any) -> list[tuple[list, Any]]:
            """Fail the refused parts' deals (a deal deleted since the read is gone instead);
            return the parts that went through, with their results."""
            ok, refused = [], {}
            for part, result in parts:
                if not isinstance(result, ConnectorError):
                    ok.append((part, result))
                elif isinstance(result, RefusedError) and len(part) == 1:
                    refused[deal_of(part[0])] = result
                else:
                    fail({deal_of(x) for x in part}, result)
            if refused:
                try:
                    missing = self._missing_deals(sorted(refused))
                except ConnectorError as exc:
                    fail(refused, exc)
                    return ok
                gone.update(missing)
                for deal_id, error in refused.items():
                    if deal_id not in missing:
                        fail([deal_id], error)
            return ok

        # 0. Guard reverts first, one deal per call: HubSpot may refuse a stage move (a pipeline
        #    rule, a stage it will not take), and that must not fail other deals' writes. A
        #    refused revert (a 4xx refusal only) becomes a flag, and the task written below says
        #    so. Any other failure (a 429, a 423 lock, a 5xx) fails the deal, to be retried:
        #    it says nothing about whether HubSpot would take the move.
        for index, p in enumerate(plans):
            if not p["revert_to"]:
                continue
            revert = {"deal_id": p["deal_id"], "props": {"dealstage": p["revert_to"]}}
            try:
                self._update_deals([revert])
            except RefusedError as exc:
                # The task quotes HubSpot's reason without the call's correlation id (logged
                # here): a new id at every check made the task differ, so it was rewritten
                # (and reopened) on every webhook of a deal left in the won stage.
                log.warning(
                    "HubSpot refused the guard revert; the deal is flagged",
                    deal_id=p["deal_id"],
                    error=str(exc),
                )
                reason = refusal_reason(exc)
                plans[index] = self._plan(items[index], revert_refused=reason)
                continue
            except ConnectorError as exc:
                fail([p["deal_id"]], exc)
                continue
            if revert["props"]:
                p["reverted"] = True
            else:  # the deal is gone
                p["revert_to"] = None

        # 1. Tasks we know: update in place (a deleted one is created again below).
        updates = [p for p in plans if p["task_update"] is not None and not done_with(p["deal_id"])]
        try:
            self._keep_progress([p for p in updates if p.get("keep_progress")])
        except ConnectorError as exc:
            fail([p["deal_id"] for p in updates if p.get("keep_progress")], exc)
            updates = [p for p in updates if not done_with(p["deal_id"])]
        for chunk in _chunks(updates, BATCH):
            parts = self._isolated(list(chunk), self._update_tasks, _update_unowned)
            for part, missing in settle(parts, lambda p: p["deal_id"]):
                for p in part:
                    if p["task_id"] not in missing:
                        p["task_landed"] = True
                    else:
                        # Deleted in HubSpot. An open task is made again: the rep still has
                        # something to do. One we only came to complete is not: the rep who
                        # deleted it got a new, already completed task on the deal's timeline.
                        p["task_create"] = p["task_props"] if p["task_open"] else None
                        p["task_changed"] = p["task_open"]
                        p["task_update"], p["task_id"] = None, None

        # 2. Tasks to create (the roadmap task and one-off followups), found first if a previous
        #    create may have succeeded without us hearing back. Followups are always searched
        #    for: a followup made by an earlier write whose outcome the pipeline never recorded
        #    (a crash, a lost lease) is asked for again and must not become a second task. The
        #    roadmap task is searched for when this process sent a create it never heard back
        #    from, or when the pipeline says an earlier write was cut short (`unconfirmed`).
        creates: list[tuple[dict, str | None, str, dict]] = []  # plan, followup key, marker, props
        for p in plans:
            if done_with(p["deal_id"]):
                continue
            if p["task_create"] is not None:
                creates.append((p, None, p["task_marker"], p["task_create"]))
            for key, (marker, props) in p["followups"].items():
                creates.append((p, key, marker, props))
        if creates:
            try:
                recovered = self._find_pending(
                    [(c[0]["deal_id"], c[2]) for c in creates],
                    always=[c[2] for c in creates if c[1] is not None or c[0]["unconfirmed"]],
                )
            except ConnectorError as exc:
                fail({c[0]["deal_id"] for c in creates}, exc)
                recovered = {}
                creates = []
            fresh = []
            for plan, key, marker, props in creates:
                if marker in recovered:
                    self._created(plan, key, recovered[marker])
                    if key is None:  # bring the found task up to date
                        plan["task_changed"] = True
                        plan["task_landed"] = False  # found, not yet what the plan says
                        try:
                            self._update_tasks(
                                [{**plan, "task_id": recovered[marker], "task_update": props}]
                            )
                        except ConnectorError as exc:
                            fail([plan["deal_id"]], exc)
                        else:
                            plan["task_landed"] = True
                elif key is not None or not plan["task_adopt_only"]:
                    fresh.append((plan, key, marker, props))
            for chunk in _chunks(fresh, BATCH):
                chunk = [c for c in chunk if not done_with(c[0]["deal_id"])]
                if not chunk:
                    continue
                # A refused batch (e.g. one deal deleted since the read, so its association is
                # invalid) is split until the refused input is alone: the others are created.
                parts = self._isolated(chunk, self._create_tasks, _create_unowned)
                for part, ids in settle(parts, lambda c: c[0]["deal_id"]):
                    for (plan, key, _marker, _props), task_id in zip(part, ids, strict=True):
                        self._created(plan, key, task_id)

        # 3. Notes with the full findings (verdict changed).
        notes = [p for p in plans if p["note"] and not done_with(p["deal_id"])]
        if notes:
            try:
                posted = self._find_pending(
                    [(p["deal_id"], p["note_marker"]) for p in notes],
                    always=[p["note_marker"] for p in notes if p["unconfirmed"]],
                    object_type="notes",
                )
            except ConnectorError as exc:
                fail([p["deal_id"] for p in notes], exc)
                posted, notes = {}, []
            notes = [p for p in notes if p["note_marker"] not in posted]
        for chunk in _chunks(notes, BATCH):
            for part, _ in settle(
                self._isolated(list(chunk), self._create_notes), lambda p: p["deal_id"]
            ):
                for p in part:
                    p["note_landed"] = True

        # 4. Deal properties and the stored task id, in one batch update. A deal whose revert,
        #    task or note failed above gets its properties too (its outcome still carries that
        #    error, so it is retried): a deal that turned blocked must not keep the guard
        #    property "clear" (and reach closed-won) until its task goes through. Its stored
        #    task id changes only to a task made in this write.
        for p in plans:
            if p["deal_id"] in gone:
                continue
            task_id = p["task_id"] or ""
            # A failed write never clears the stored id (its task may be made on the retry).
            settled = bool(task_id) or p["deal_id"] not in failed
            if settled and task_id != (p["current"].get(P.TASK_ID) or ""):
                p["props"][P.TASK_ID] = task_id
            if p["props"] and P.CHECKED_AT not in p["props"]:
                p["props"][P.CHECKED_AT] = p["checked_at_value"]
        deal_updates = [p for p in plans if p["deal_id"] not in gone and p["props"]]
        props_written: set[str] = set()
        for chunk in _chunks(deal_updates, BATCH):
            parts = self._isolated(list(chunk), self._update_deals)
            for part, missing in settle(parts, lambda p: p["deal_id"]):
                gone.update(missing)
                props_written.update(p["deal_id"] for p in part if p["props"])

        for p in plans:
            outcome = outcomes[p["deal_id"]]
            if p["deal_id"] in gone:
                outcome.deal_gone = True
                outcome.written = dict(p["previous"])
                continue
            if p["deal_id"] in failed:
                outcome.error = failed[p["deal_id"]]
                outcome.written = dict(p["previous"])
                # A task created, updated, completed or reopened before the failure is so in
                # HubSpot: reported as written ("task" in the changes: the pipeline records it
                # as such), so the retry neither creates a second one nor writes it again. It
                # was reported as before the try: a held deal's task was rewritten at every
                # retry (due date moved, the rep's progress reset every 5 minutes), and one
                # reopened was recorded closed, never completed once the deal turned clear.
                landed = bool(p.get("task_landed")) and bool(p["task_id"])
                created = bool(p["task_id"]) and p["task_id"] != p["previous_task_id"]
                outcome.task_id = p["task_id"] if created or landed else p["previous_task_id"]
                outcome.task_open = (
                    p["task_open"]
                    if created or landed
                    else bool((p["previous"].get("task") or {}).get("open"))
                )
                # Followups made before the failure exist too: reported, they are not asked
                # for again.
                outcome.followups_created = dict(p["followups_created"])
                # So do a revert and the properties written despite the failure: the write log
                # records them (the retry reads a deal already moved back and would not know).
                if p["deal_id"] in props_written:
                    outcome.changes = dict(p["props"])
                elif p.get("props_landed"):  # past a property rule: all but the refused ones
                    outcome.changes = dict(p["props_landed"])
                if landed and p["task_changed"]:
                    outcome.changes["task"] = "open" if p["task_open"] else "completed"
                if p.get("note_landed"):
                    outcome.changes["note"] = True
                if p["followups_created"]:
                    outcome.changes["followups"] = sorted(p["followups_created"])
                if p["reverted"]:
                    outcome.reverted_to_stage = p["revert_to"]
                    outcome.changes["dealstage"] = p["revert_to"]
                continue
            written = {**p["current"], **p["props"]}
            written.pop("dealstage", None)
            outcome.written = written
            outcome.task_id = p["task_id"]
            outcome.task_open = bool(p["task_id"]) and p["task_open"]
            outcome.followups_created = dict(p["followups_created"])
            outcome.reverted_to_stage = p["revert_to"]
            outcome.changes = {k: v for k, v in p["props"].items()}
            if p["revert_to"]:
                outcome.changes["dealstage"] = p["revert_to"]
            if p["task_changed"]:
                outcome.changes["task"] = "open" if p["task_open"] else "completed"
            if p["note"]:
                outcome.changes["note"] = True
            if p["followups_created"]:
                outcome.changes["followups"] = sorted(p["followups_created"])
            if p.get("owner_refused"):
                outcome.changes["task_owner"] = (
                    f"HubSpot refused owner {p['owner_refused']} (a deactivated user?): the "
                    "task is unassigned until the deal has an active owner"
                )
        return outcomes

    def _keep_progress(self, plans: Sequence[dict]) -> None:
        """For open tasks that stay open: keep the status the rep gave them ("In progress",
        "Waiting"), and reopen only one the rep completed while the deal still has something
        to do. One batch read of the tasks' status (100 a call), for such updates only."""
        if not plans:
            return
        ids = sorted({p["task_id"] for p in plans})
        statuses = self._batch_read("tasks", ids, [TASK_STATUS])
        for p in plans:
            status = (statuses.get(p["task_id"]) or {}).get(TASK_STATUS)
            if status and status != "COMPLETED":
                p["task_update"] = {k: v for k, v in p["task_update"].items() if k != TASK_STATUS}

    def _current(self, item: DealWriteBack) -> dict[str, str]:
        """What our properties hold in HubSpot now: the fresher of the snapshot's values and
        what we last wrote.

        `previous` is what the pipeline recorded after our last successful write (canonical
        keys, with `written_at`); it is the truth for a stored snapshot (roadmap/approval
        re-evaluation), whose property values predate that write. A snapshot read after that
        write is the truth instead: a rep who filled the guard property by hand on a blocked
        deal (to pass HubSpot's stage requirement) has it emptied again, as Salesforce's
        connector does. Without `previous` (first write, or state lost), the snapshot's values
        avoid rewriting what HubSpot already shows."""
        extra = item.snapshot.extra if item.snapshot else {}
        crm = dict(extra.get("crm_properties", {}))
        current = {k: crm.get(k) or "" for k in P.own_properties(self.guard_property)}
        previous = item.previous or {}
        read_at = _parse_dt(extra.get("read_at"))
        written_at = _parse_dt(previous.get("written_at"))
        if crm and read_at is not None and (written_at is None or read_at >= written_at):
            return current
        if "status" in previous:
            current[P.STATUS] = previous.get("status") or ""
            current[P.SUMMARY] = previous.get("summary") or ""
            current[P.EVALUATION_URL] = previous.get("evaluation_url") or ""
            current[self.guard_property] = "" if previous.get("block") else "clear"
        return current

    def _plan(self, item: DealWriteBack, *, revert_refused: str | None = None) -> dict:
        previous = dict(item.previous or {})
        current = self._current(item)
        desired = {
            P.STATUS: item.status.value,
            P.SUMMARY: item.summary or "",
            P.EVALUATION_URL: item.evaluation_url or "",
            self.guard_property: "" if item.block else "clear",
        }
        props = {k: v for k, v in desired.items() if (current.get(k) or "") != v}
        checked_at_value = _ms(item.checked_at)
        # With a change of what the deal shows, and only then: a write of the task, a note or
        # a follow-up alone leaves the deal (and its last-modified, which stale-deal reports
        # read) as the rep left it. The first write stamps it.
        if props or not current.get(P.CHECKED_AT):
            props[P.CHECKED_AT] = checked_at_value

        action = guard_action(item, self.guard_mode, revert_refused=revert_refused)
        task = item.task
        if action.message and task is None:
            task = TaskSpec(subject="Roadmap check: blocked deal in a won stage", body="")
        task_id = item.task_id or current.get(P.TASK_ID) or None
        last_task = previous.get("task") or {}
        plan: dict[str, Any] = {
            "deal_id": item.deal_id,
            "previous": previous,
            "previous_task_id": task_id,
            "current": current,
            "props": props,
            "checked_at_value": checked_at_value,
            "revert_to": action.revert_to,
            "reverted": False,  # the revert went through (step 0 of write_back)
            "task_id": task_id,
            "task_update": None,
            "task_create": None,
            "task_marker": P.TASK_MARKER.format(deal_id=item.deal_id),
            "task_open": bool(last_task.get("open")),
            "task_changed": False,
            "task_landed": False,  # this call wrote the roadmap task as planned
            "task_adopt_only": False,  # task_create only completes a task found by marker
            "note": item.note,
            # Stable across retries of this write (nothing newer was recorded in between), so
            # a retry finds the note a lost response hid instead of posting a second one.
            "note_marker": P.NOTE_MARKER.format(
                deal_id=item.deal_id,
                digest=hashlib.sha1(
                    f"{previous.get('written_at')}|{item.status.value}".encode()
                ).hexdigest()[:10],
            ),
            "followups": {},
            "followups_created": {},
            # An earlier write was cut short (perhaps in another process): its task or note
            # may exist, so they are searched for by marker before anything is created.
            "unconfirmed": item.unconfirmed_since is not None,
        }
        owner = item.snapshot.owner_id if item.snapshot is not None else None
        if task is not None:
            body = task.body
            if action.message:
                body = f"{action.message}\n\n{body}".strip()
            if action.message and not action.revert_to:
                # Flagged, not moved: the flag holds as long as the deal sits blocked in the won
                # stage. The task is recorded as written, flag included (the pipeline keeps
                # `item.task`), so the next check of an unchanged deal rewrites nothing (the
                # task was updated, and reset to "not started", on every webhook), and a deal
                # taken out of the won stage has the stale flag taken out of its task.
                task = item.task = replace(task, body=body)
            task_props = self._task_properties(
                task, body, plan["task_marker"], task.owner_id or owner, link=item.evaluation_url
            )
            same = (
                last_task.get("subject") == task.subject
                and last_task.get("body") == task.body
                and bool(last_task.get("open")) == task.open
                # the deal changed hands (an owner recorded with the task): it follows the deal
                and last_task.get("owner_id", task.owner_id) == task.owner_id
                # a revert is news: its task says so at once
                and not action.revert_to
            )
            if task_id is None:
                if task.open:
                    plan["task_create"] = task_props
                    plan["task_changed"] = True
                elif plan["unconfirmed"]:
                    # A task to complete that we know no id of: the cut-short write may have
                    # made it. Step 2 looks for it and completes it; none found, none is made.
                    plan["task_create"] = task_props
                    plan["task_adopt_only"] = True
            elif not same:
                # An open task brought up to date keeps its due date: moved to tomorrow at
                # every change of findings, an ignored task would never fall overdue. So does a
                # task completed (its due date was moved to the day after it was done). A task
                # reopened (or made again if deleted: `task_props`) is due tomorrow.
                plan["task_props"] = task_props
                update = (
                    task_props
                    if task.open and not last_task.get("open")
                    else {k: v for k, v in task_props.items() if k != "hs_timestamp"}
                )
                # The rep's own settings of the task stay: its priority and type (set when it
                # was made) and, while it stays open, its progress (`keep_progress`). Every
                # change of findings reset them, "In progress" to "Not started", a lowered
                # priority to HIGH.
                plan["task_update"] = {
                    k: v for k, v in update.items() if k not in TASK_REP_SETTINGS
                }
                plan["keep_progress"] = task.open and bool(last_task.get("open"))
                plan["task_changed"] = True
            plan["task_open"] = task.open
        for key, spec in item.followups.items():
            marker = P.FOLLOWUP_MARKER.format(
                deal_id=item.deal_id, key=re.sub(r"[^A-Za-z0-9]", "", key)
            )
            plan["followups"][key] = (
                marker,
                self._task_properties(spec, spec.body, marker, spec.owner_id or owner),
            )
        return plan

    @staticmethod
    def _task_properties(
        task: TaskSpec, body: str, marker: str, owner: str | None, *, link: str | None = None
    ) -> dict:
        due = task.due_at or datetime.now(UTC) + timedelta(days=1)
        # HubSpot keeps and shows a task's body as rich text (HTML, as it stores what a user
        # types: `<div>...<br></div>`): plain newlines would collapse into one paragraph and
        # quoted note text could render as markup. The text is escaped, lines become <br>.
        # The marker is a searchable token: it finds this task if a create response is lost.
        tail = f"(roadmap-guard ref {marker})"
        if link and link.startswith(("https://", "http://")):
            # The deal's page in roadmap-guard, which the task tells the rep to go to (a cut
            # list's rest, a product owner's approval) and which a task, read in the task
            # list away from the deal's properties, never linked to.
            href = html.escape(link)
            tail = f'Full check in roadmap-guard: <a href="{href}">{href}</a><br><br>{tail}'
        props = {
            "hs_task_subject": task.subject[:250],
            "hs_task_body": rich_body(body, f"<br><br>{tail}") if body else tail,
            "hs_task_status": "NOT_STARTED" if task.open else "COMPLETED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "TODO",
            "hs_timestamp": _ms(due),
        }
        if owner:
            props["hubspot_owner_id"] = owner
        return props

    def _created(self, plan: dict, key: str | None, task_id: str) -> None:
        if key is None:
            plan["task_id"] = task_id
            plan["task_landed"] = True
        else:
            plan["followups_created"][key] = task_id

    def _find_pending(
        self,
        wanted: Sequence[tuple[str, str]],
        always: Collection[str] = (),
        *,
        object_type: str = "tasks",
    ) -> dict[str, str]:
        """Find, by marker, the tasks (or notes) whose create was sent but never answered, and
        for the `always` markers whatever an earlier write may have made. `wanted` pairs each
        marker with its deal. Returns marker -> object id.

        Looked for among the objects associated with each deal (one v4 association read, one
        batch read of the newest PENDING_LOOKUP_PER_DEAL of them), not with the search API:
        HubSpot's search index trails a create by seconds ("it may take a few moments for
        newly created objects to appear in search results"), so a retry soon after a lost
        create would not find it there and would make a second one. Reads are consistent."""
        always = set(always)
        with self._pending_lock:
            pending = [(d, m) for d, m in wanted if m in self._pending_creates or m in always]
        if not pending:
            return {}
        markers_by_deal: dict[str, list[str]] = {}
        for deal_id, marker in pending:
            markers_by_deal.setdefault(deal_id, []).append(marker)
        deal_ids = sorted(markers_by_deal)
        associated = self._associations("deals", object_type, deal_ids)
        newest = {
            d: sorted(associated.get(d, []), key=lambda i: (len(i), i), reverse=True)[
                :PENDING_LOOKUP_PER_DEAL
            ]
            for d in deal_ids
        }
        body_property = "hs_note_body" if object_type == "notes" else "hs_task_body"
        bodies = self._batch_read(
            object_type, sorted({i for ids in newest.values() for i in ids}), [body_property]
        )
        found: dict[str, str] = {}
        for deal_id in deal_ids:
            for object_id in newest[deal_id]:
                body = (bodies.get(object_id) or {}).get(body_property) or ""
                for m in markers_by_deal[deal_id]:
                    if m in body.split() or f"{m})" in body:
                        found.setdefault(m, object_id)
        with self._pending_lock:
            self._pending_creates.difference_update(m for _d, m in pending)
        return found

    @contextmanager
    def _in_flight(self, markers: list[str]) -> Iterator[None]:
        """Creates sent and not yet answered: until the answer arrives a lost one is searched
        for by marker before anything is created again. An answer, or a refusal (HubSpot
        created none of them), ends it; a timeout or lost connection does not."""
        with self._pending_lock:
            self._pending_creates.update(markers)
        try:
            yield
        except RefusedError:
            with self._pending_lock:
                self._pending_creates.difference_update(markers)
            raise
        with self._pending_lock:
            self._pending_creates.difference_update(markers)

    def _create_tasks(self, chunk: list[tuple[dict, str | None, str, dict]]) -> list[str]:
        markers = [c[2] for c in chunk]
        with self._in_flight(markers):
            response = self._send_task_creates(chunk)
        by_marker: dict[str, str] = {}
        for obj in response.results or []:
            body = (obj.properties or {}).get("hs_task_body") or ""
            for marker in markers:
                if f"ref {marker})" in body:
                    by_marker[marker] = str(obj.id)
        if len(by_marker) != len(markers):
            raise TransientError("HubSpot tasks.batch_create: results do not match the inputs")
        return [by_marker[m] for m in markers]

    def _send_task_creates(self, chunk: list[tuple[dict, str | None, str, dict]]) -> Any:
        batch = self.api.api("crm.objects.tasks.batch_api")
        return self.api.call(
            "tasks.batch_create",
            batch.create,
            {
                "inputs": [
                    {
                        "properties": props,
                        "associations": [
                            {
                                "to": {"id": plan["deal_id"]},
                                "types": [
                                    {
                                        "associationCategory": "HUBSPOT_DEFINED",
                                        "associationTypeId": TASK_TO_DEAL,
                                    }
                                ],
                            }
                        ],
                    }
                    for plan, _key, _marker, props in chunk
                ]
            },
        )

    def _update_tasks(self, plans: Sequence[dict]) -> set[str]:
        """Returns the task ids HubSpot no longer has (deleted by a user)."""
        batch = self.api.api("crm.objects.tasks.batch_api")
        response = self.api.call(
            "tasks.batch_update",
            batch.update,
            {"inputs": [{"id": p["task_id"], "properties": p["task_update"]} for p in plans]},
        )
        returned = {str(obj.id) for obj in response.results or []}
        return {p["task_id"] for p in plans} - returned

    def complete_tasks(self, task_ids: Sequence[str]) -> dict[str, ConnectorError | None]:
        """Complete the roadmap tasks of deals deleted or merged away (a merge moves the
        secondary's tasks to the primary, where ours stayed open beside the primary's own).
        Only `hs_task_status` is sent, in the tasks batch updates the write uses (100 a call):
        the task keeps its text, owner and due date. A task HubSpot no longer has (deleted by
        a user) is done; a refused batch is split until the refused input is alone."""
        out: dict[str, ConnectorError | None] = {}
        ids = list(dict.fromkeys(task_ids))
        # A task a live deal names as its roadmap task is that deal's now: HubSpot's merge
        # makes a new deal that keeps the primary's properties (our task id with them) and
        # moves the tasks to it. Completed as the gone primary's, the survivor's only roadmap
        # task was closed while its deal stayed blocked, and nothing reopened it.
        try:
            claimed = self._tasks_of_live_deals([t for t in ids if hubspot_id(t) == t])
        except ConnectorError as exc:  # a 429, a pause: every task is tried again
            return {t: exc for t in ids}
        for task_id in claimed:
            out[task_id] = None
        inputs = [
            {"deal_id": None, "task_id": t, "task_update": {"hs_task_status": "COMPLETED"}}
            for t in ids
            if t not in out
        ]
        for chunk in _chunks(inputs, BATCH):
            for part, result in self._isolated(list(chunk), self._update_tasks):
                error = result if isinstance(result, ConnectorError) else None
                out.update((p["task_id"], error) for p in part)
        return out

    def _tasks_of_live_deals(self, task_ids: Sequence[str]) -> set[str]:
        """The tasks some deal HubSpot still has names in `roadmap_guard_task_id`: one v4
        association read (tasks -> deals, 1000 a call) and one deals batch read per 100."""
        if not task_ids:
            return set()
        deals_of = self._associations("tasks", "deals", list(task_ids))
        deal_ids = sorted({d for ids in deals_of.values() for d in ids})
        claimed: dict[str, str] = {}
        batch = self.api.api("crm.deals.batch_api")
        for chunk in _chunks(deal_ids, BATCH):
            response = self.api.call(
                "deals.batch_read",
                batch.read,
                {"inputs": [{"id": d} for d in chunk], "properties": [P.TASK_ID]},
            )
            for obj in response.results or []:
                claimed[str(obj.id)] = (obj.properties or {}).get(P.TASK_ID) or ""
        return {t for t, deals in deals_of.items() if any(claimed.get(d) == t for d in deals)}

    def _isolated(
        self, chunk: list, send: Any, unowned: Callable[[Any], Any] | None = None
    ) -> list[tuple[list, Any]]:
        """`send(chunk)`; if HubSpot refuses the batch (4xx), each half again, down to single
        inputs, so one bad input fails only itself. Returns (part, result or error) pairs.

        A task refused alone for its owner (HubSpot validates an engagement's owner against
        the Owners API, and the owner of a rep who left is archived: INVALID_OPTION on
        `hubspot_owner_id`) is sent once more without an owner (`unowned(input)`: the input
        without it, or None), as Salesforce's connector gives such a task to the integration
        user: else the deal's task failed at every attempt until the deal went dead."""
        try:
            return [(chunk, send(chunk))]
        except RefusedError as exc:
            if len(chunk) == 1:
                return [(chunk, self._without_owner(chunk[0], exc, send, unowned))]
            half = len(chunk) // 2
            return self._isolated(chunk[:half], send, unowned) + self._isolated(
                chunk[half:], send, unowned
            )
        except ConnectorError as exc:
            return [(chunk, exc)]

    def _without_owner(
        self, item: Any, refusal: RefusedError, send: Any, unowned: Callable[[Any], Any] | None
    ) -> Any:
        retry = unowned(item) if unowned is not None and OWNER in str(refusal) else None
        if retry is None:
            return refusal
        try:
            result = send([retry])
        except RefusedError:
            return refusal  # not (only) the owner: the first refusal says what
        except ConnectorError as exc:
            return exc
        plan, owner = _owner_of(item)
        plan["owner_refused"] = owner
        log.warning(
            "HubSpot refused a task's owner; sent unassigned", owner=owner, deal_id=plan["deal_id"]
        )
        return result

    def missing_deal_ids(self, deal_ids: Sequence[str]) -> set[str]:
        """The deals of `deal_ids` HubSpot no longer has (deleted, or merged into another):
        one deals batch read per 100 (the reconciliation's sweep of tracked deals).

        Not while the token reads another portal than HUBSPOT_PORTAL_ID (a sandbox's token, a
        token swapped in another deployment's): every tracked deal is missing from that one,
        and the sweep stopped tracking them all, a thousand a run, dropping them from every
        total and their dependencies for good (a deal is tracked again only once it changes).
        Raised instead (the sweep tries again next run)."""
        wrong = self._wrong_portal(self.account.facts())
        if wrong is not None:
            raise PermanentError(wrong)
        return self._missing_deals(deal_ids)

    def _wrong_portal(self, facts: AccountFacts | None) -> str | None:
        """Why a deal missing from HubSpot cannot be taken for deleted: the token reads
        another portal than HUBSPOT_PORTAL_ID (a sandbox's token, one swapped in from another
        deployment), where none of our deals is. None when they agree or either is unknown."""
        actual = facts.portal_id if facts is not None else None
        if not (self.portal_id and actual) or str(self.portal_id) == actual:
            return None
        return (
            f"HUBSPOT_ACCESS_TOKEN reads portal {actual}, not HUBSPOT_PORTAL_ID "
            f"{self.portal_id}: whether the deals still exist cannot be told with it, so none "
            "is taken for deleted; set the token (or HUBSPOT_PORTAL_ID) of the portal the "
            "deals are in"
        )

    def _missing_deals(self, deal_ids: Sequence[str]) -> set[str]:
        """The deals HubSpot no longer has (deleted or merged away since the read)."""
        batch = self.api.api("crm.deals.batch_api")
        found: set[str] = set()
        for chunk in _chunks(list(deal_ids), BATCH):
            response = self.api.call(
                "deals.batch_read",
                batch.read,
                {"inputs": [{"id": d} for d in chunk], "properties": ["hs_object_id"]},
            )
            found.update(str(obj.id) for obj in response.results or [])
        return set(deal_ids) - found

    def _create_notes(self, plans: Sequence[dict]) -> None:
        with self._in_flight([p["note_marker"] for p in plans]):
            self._send_notes(plans)

    def _send_notes(self, plans: Sequence[dict]) -> None:
        batch = self.api.api("crm.objects.notes.batch_api")
        now = _ms(datetime.now(UTC))
        self.api.call(
            "notes.batch_create",
            batch.create,
            {
                "inputs": [
                    {
                        "properties": {
                            "hs_note_body": rich_body(
                                p["note"], f"<br><br>{P.NOTE_FOOTER} (ref {p['note_marker']})"
                            ),
                            "hs_timestamp": now,
                        },
                        "associations": [
                            {
                                "to": {"id": p["deal_id"]},
                                "types": [
                                    {
                                        "associationCategory": "HUBSPOT_DEFINED",
                                        "associationTypeId": NOTE_TO_DEAL,
                                    }
                                ],
                            }
                        ],
                    }
                    for p in plans
                ]
            },
        )

    def _update_deals(self, plans: Sequence[dict]) -> set[str]:
        """Returns the deal ids HubSpot no longer has (deleted since the read).

        A refusal of one of our own properties (deleted by an admin, never created, or an
        option of ours taken off it) is the portal's set-up, not the deal: every deal is
        refused alike, and none gets its status or block until `setup hubspot` puts the
        property back. It was a refusal of each deal: every deal written went dead (a replay
        each once fixed) and a deal turned blocked kept its guard property "clear" meanwhile.
        Held instead (CredentialsError), naming the property and the fix."""
        batch = self.api.api("crm.deals.batch_api")
        try:
            response = self.api.call(
                "deals.batch_update",
                batch.update,
                {"inputs": [{"id": p["deal_id"], "properties": p["props"]} for p in plans]},
            )
        except RefusedError as exc:
            own = P.own_properties(self.guard_property)
            invalid = invalid_properties(exc)
            refused = {
                name: error
                for name, error in invalid.items()
                if name in own and error in ("PROPERTY_DOESNT_EXIST", "INVALID_OPTION")
            }
            ruled = sorted(name for name in invalid if name in own and name not in refused)
            if not refused and ruled and len(plans) == 1:
                return self._past_property_rule(batch, plans[0], ruled, exc)
            if not refused:
                # Not our property (the deal's input), or a rule's refusal in a batch: HubSpot
                # refuses the whole batch for one input, so it is split down to that deal.
                raise
            what = ", ".join(
                f"{name} ({'missing' if error == 'PROPERTY_DOESNT_EXIST' else 'an option missing'})"
                for name, error in sorted(refused.items())
            )
            raise CredentialsError(
                f"HubSpot refused roadmap-guard's deal properties: {what}: {refusal_reason(exc)}. "
                "Run `roadmap-guard setup hubspot` to create them and bring their options up "
                "to date; the deals are held until then",
                correlation_id=exc.correlation_id,
            ) from exc
        returned = {str(obj.id) for obj in response.results or []}
        missing = set()
        for p in plans:
            if p["deal_id"] not in returned:
                p["props"] = {}
                missing.add(p["deal_id"])
        return missing

    def _past_property_rule(
        self, batch: Any, plan: dict, ruled: list[str], exc: RefusedError
    ) -> set[str]:
        """An admin's property validation rule on our own `ruled` properties (text or date:
        HubSpot has no rules on the enumerations that carry the status and the clearance)
        refused this deal's update. The rest is sent again without them, so the status and
        the clearance (the block) land now; the deal is held (PropertyRuleRefused) for what
        the rule refused, written once an admin removes the rule. The checked-at date alone
        is not sent again: a retry that finds nothing else to write must not move it. Returns
        the deal id if HubSpot no longer has the deal."""
        deal_id = plan["deal_id"]
        rest = {k: v for k, v in plan["props"].items() if k not in ruled}
        written: list[str] = []
        if set(rest) - {P.CHECKED_AT}:
            response = self.api.call(
                "deals.batch_update",
                batch.update,
                {"inputs": [{"id": deal_id, "properties": rest}]},
            )
            if deal_id not in {str(obj.id) for obj in response.results or []}:
                plan["props"] = {}
                return {deal_id}
            written = sorted(set(rest) - {P.CHECKED_AT})
            plan["props_landed"] = rest  # the write log records what landed
        labels = {d["name"]: d["label"] for d in P.deal_properties(self.guard_property)}
        where = ", ".join(f"{name} ('{labels.get(name, name)}')" for name in ruled)
        log.error(
            "HubSpot: a property validation rule refuses roadmap-guard's value",
            deal_id=deal_id,
            properties=ruled,
            written=written,
            error=str(exc),
        )
        raise PropertyRuleRefused(
            f"HubSpot refused roadmap-guard's value of its own deal property {where} on deal "
            f"{deal_id}: {refusal_reason(exc)}. A property validation rule on it refuses what "
            "roadmap-guard writes: remove the rule (Settings > Properties > the property > "
            "Rules); roadmap-guard's properties take only its own values. "
            + (f"The other properties were written ({', '.join(written)}). " if written else "")
            + "Held, not dead: tried again every 5 minutes, and written once the rule is gone",
            correlation_id=exc.correlation_id,
        ) from exc

    # --- reconciliation and line-item resolution ----------------------------------------------------

    def changed_deal_ids(self, since: datetime | None) -> list[str]:
        """Deals modified since `since` (every deal when None), and won-stage deals we never
        evaluated (no status property: won before install, or lost beyond the lookback).
        With them, the deals merged into them (`hs_merged_object_ids`): read, each answers
        under the deal it went into and counts as gone. Without them a merge whose webhook
        was lost (or never subscribed: setup did not ask for deal.merge) left the merged-away
        deal tracked as open forever, its amount counted twice.

        Paged by keyset (see `_search_deal_ids`)."""
        groups: list[list[dict]] = []
        if since is not None:
            groups.append(
                [{"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": _ms(since)}]
            )
        else:
            groups.append([])
        won = self.pipelines.won_stage_ids()
        if won and since is not None:
            groups.append(
                [
                    {"propertyName": "dealstage", "operator": "IN", "values": won},
                    {"propertyName": P.STATUS, "operator": "NOT_HAS_PROPERTY"},
                ]
            )
        merged: list[str] = []
        ids = [i for page in self._search_deal_ids(groups, merged) for i in page.ids]
        return list(dict.fromkeys(ids + merged))

    def open_deal_ids(self) -> Iterator[DealIdPage]:
        """Every open deal (HubSpot's calculated `hs_is_closed` is false), a search page at a
        time, for a backfill. `total` is the search's count of matches when the first page
        was read (deals created meanwhile are listed too; the total does not grow)."""
        return self._search_deal_ids(
            [[{"propertyName": "hs_is_closed", "operator": "EQ", "value": "false"}]]
        )

    def _search_deal_ids(
        self, groups: list[list[dict]], merged: list[str] | None = None
    ) -> Iterator[DealIdPage]:
        """Deal ids matching any of the filter `groups`, one search page at a time, paged by
        keyset (hs_object_id > the last id seen, ascending, 200 a page), not by the `after`
        offset: HubSpot search answers at most 10,000 results per query. With `merged`, the
        ids each match lists in `hs_merged_object_ids` ("1;2") are added to it."""
        search = self.api.api("crm.deals.search_api")
        last = "0"
        total: int | None = None
        while True:
            key = {"propertyName": "hs_object_id", "operator": "GT", "value": last}
            body: dict[str, Any] = {
                "filterGroups": [{"filters": [*filters, key]} for filters in groups],
                "properties": ["hs_object_id"]
                + (["hs_merged_object_ids"] if merged is not None else []),
                "limit": SEARCH_PAGE,
                "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            }
            response = self.api.call("deals.search", search.do_search, body)
            page = [str(obj.id) for obj in response.results or []]
            if merged is not None:
                for obj in response.results or []:
                    listed = str((obj.properties or {}).get("hs_merged_object_ids") or "")
                    merged.extend(i for i in map(hubspot_id, listed.split(";")) if i is not None)
            if total is None:
                total = response.total
            if page:
                yield DealIdPage(ids=page, total=total)
            paging = response.paging
            if not page or paging is None or paging.next is None:
                return
            last = page[-1]

    def deals_for_line_items(self, line_item_ids: Sequence[str]) -> dict[str, list[str]]:
        """line item id → the deal ids it belongs to (v4 associations, batched)."""
        ids = sorted({str(i) for i in line_item_ids})
        return self._associations("line_items", "deals", ids) if ids else {}

    def deals_for_notes(self, note_ids: Sequence[str]) -> dict[str, list[str]]:
        """note id → the deal ids it is on (v4 associations, batched)."""
        ids = sorted({str(i) for i in note_ids})
        return self._associations("notes", "deals", ids) if ids else {}
