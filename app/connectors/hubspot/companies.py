"""Deals' account names: the name of each deal's company (`DealSnapshot.account_name`).

The notes reader uses it to tell the customer's own steps from our promises ("Acme will roll
out SCIM by March" is Acme's plan); Salesforce gives it as Opportunity.Account.Name. On HubSpot
a deal's customer is its associated company: the PRIMARY one (HubSpot-defined association type
5, "Deal with Primary Company", listed beside the unlabeled type 341 that every associated
company has), else the associated company with the lowest id (the oldest; the same one on every
read, whatever order HubSpot lists them in).

One or two deals are read with one GET each (connector.py), which asks for the deal's
companies among its associations (`associations=companies`): HubSpot lists each associated
company with the type `deal_to_company_unlabeled`, and the primary one once more with the type
`deal_to_company`, so no association call is needed (`from_object_read`; a deal with more
companies than the GET lists and no primary among them is read as a batch's deal is). A batch
of deals costs one v4 batch association read (`POST
/crm/v4/associations/deals/companies/batch/read`, up to 1000 deals a call; a deal's further
pages only while its primary company has not been seen). Then the names: cached in the process
for NAME_TTL_SECONDS per company (a rename shows within the hour; a company deleted since,
MISSING_TTL_SECONDS), the others read with one batch read of their `name` (`POST
/crm/v3/objects/companies/batch/read`, 100 a call, each company once however many deals share
it). No company, a company deleted since, or one without a name: None (the deal reads as it did
before the account name was read at all).

A 429, 5xx or timeout fails the batch's read like a line-item or note read does (the queue
retries it): read without its account name, a deal's notes could block it for the customer's
own plan. A missing scope (403: `crm.objects.companies.read`, a scope installs made before it
was asked for lack) never fails the read: the deals read with no account name, one warning
says how to add the scope, and the companies are asked again every MISSING_SCOPE_PAUSE_SECONDS,
so an added scope is used within minutes. The deal GET asking for the companies without the
scope is refused as a whole (a 403; HubSpot's documentation does not say, so the connector
assumes the strictest answer): it is read again without them, and the GETs leave the companies
out during the same pause.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from app.connectors.hubspot.errors import MissingScopeError

if TYPE_CHECKING:
    from app.connectors.hubspot.client import HubSpotApi

log = structlog.get_logger(__name__)

COMPANIES_SCOPE = "crm.objects.companies.read"
# HubSpot-defined association type of a deal's primary company (associations v4).
DEAL_TO_PRIMARY_COMPANY = 5
ASSOC_BATCH = 1000
BATCH = 100
# The account name column (deal and commitment rows) holds this many characters; HubSpot's
# string properties hold far more.
NAME_MAX = 255
MISSING_SCOPE_PAUSE_SECONDS = 600.0
# How long a company's name is used before it is read again; a company not found (deleted).
NAME_TTL_SECONDS = 3600.0
MISSING_TTL_SECONDS = 600.0
# Past this many cached names, the expired ones are dropped when names are stored.
CACHE_PRUNE_AT = 50_000
# The v3 object read's association types (`associations=companies` on a deal GET): every
# associated company is listed with the unlabeled type; the primary one also with this.
PRIMARY_TYPE_V3 = "deal_to_company"

ADD_SCOPE_HINT = (
    "add the scope to the private app (HubSpot: Settings > Integrations > Private Apps > the "
    "app > Scopes > crm.objects.companies.read; commit the change), then check with "
    "`roadmap-guard setup hubspot`"
)


def _chunks(seq: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


def _id_key(value: str) -> tuple[int, str]:
    return (int(value), value) if value.isdigit() else (1 << 63, value)


def from_object_read(results: Iterable[Any], more: bool) -> tuple[bool, str | None]:
    """A deal's company from the associations of its v3 GET (`results`: items with `id` and
    `type`; `more`: HubSpot has more pages): (decided, company id or None). Not decided when
    further pages could hold the primary company."""
    lowest: str | None = None
    for item in results:
        company = str(item.id)
        if getattr(item, "type", None) == PRIMARY_TYPE_V3:
            return True, company
        if lowest is None or _id_key(company) < _id_key(lowest):
            lowest = company
    if more:
        return False, None
    return True, lowest


def company_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())[:NAME_MAX]


class AccountNames:
    """deal id -> the name of its company (see the module doc)."""

    def __init__(
        self,
        api: HubSpotApi,
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = NAME_TTL_SECONDS,
    ) -> None:
        self.api = api
        self.clock = clock
        self.ttl = ttl
        self._paused_until = 0.0
        self._scope_logged = False
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str | None, float]] = {}  # id -> (name, fresh until)

    def readable(self) -> bool:
        """False while paused after a missing scope: the deal GETs leave the companies out."""
        return self.clock() >= self._paused_until

    def names(
        self, deal_ids: Sequence[str], known: dict[str, str | None] | None = None
    ) -> dict[str, str | None]:
        """The account names of these deals (a deal missing from the answer has none).
        `known`: deal id -> its company (None: no company) where the deal's GET decided it;
        the others' companies are read by association. Raises what the calls raise, except a
        missing scope (see the module doc)."""
        if not deal_ids or not self.readable():
            return {}
        known = known or {}
        try:
            rest = [d for d in deal_ids if d not in known]
            chosen = self._companies(rest) if rest else {}
            chosen.update({d: c for d, c in known.items() if c is not None and d in deal_ids})
            names = self._names_of(sorted(set(chosen.values()), key=_id_key))
        except MissingScopeError as exc:
            self.missing(exc)
            return {}
        if self._scope_logged:
            self._scope_logged = False
            log.info("hubspot company names readable again; deals read with their account name")
        return {deal: names.get(company) for deal, company in chosen.items()}

    def _call(self, operation: str, fn: Callable[..., Any], *args: Any) -> Any:
        return self.api.call(operation, fn, *args, optional_scope=COMPANIES_SCOPE)

    def _companies(self, deal_ids: list[str]) -> dict[str, str]:
        """deal id -> its primary company, else its associated company with the lowest id."""
        batch = self.api.api("crm.associations.v4.batch_api")
        lowest: dict[str, str] = {}
        primary: dict[str, str] = {}
        pending: list[dict] = [{"id": i} for i in deal_ids]
        while pending:
            next_round: list[dict] = []
            for chunk in _chunks(pending, ASSOC_BATCH):
                response = self._call(
                    "associations.deals_companies",
                    batch.get_page,
                    "deals",
                    "companies",
                    {"inputs": list(chunk)},
                )
                for result in response.results or []:
                    deal = str(result._from.id)
                    for link in result.to or []:
                        company = str(link.to_object_id)
                        if deal not in lowest or _id_key(company) < _id_key(lowest[deal]):
                            lowest[deal] = company
                        if deal not in primary and any(
                            t.type_id == DEAL_TO_PRIMARY_COMPANY
                            and (t.category or "HUBSPOT_DEFINED") == "HUBSPOT_DEFINED"
                            for t in link.association_types or []
                        ):
                            primary[deal] = company
                    paging = result.paging
                    more = paging is not None and paging.next is not None and paging.next.after
                    if more and deal not in primary:
                        next_round.append({"id": deal, "after": paging.next.after})
            pending = next_round
        return {deal: primary.get(deal, company) for deal, company in lowest.items()}

    def _names_of(self, company_ids: list[str]) -> dict[str, str | None]:
        """The companies' names: cached ones while fresh, the others read."""
        now = self.clock()
        out: dict[str, str | None] = {}
        stale: list[str] = []
        with self._lock:
            for company in company_ids:
                entry = self._cache.get(company)
                if entry is not None and entry[1] > now:
                    out[company] = entry[0]
                else:
                    stale.append(company)
        if stale:
            out.update(self._read_names(stale))
        return out

    def _read_names(self, company_ids: list[str]) -> dict[str, str | None]:
        api = self.api.api("crm.companies.batch_api")
        out: dict[str, str | None] = {}
        for chunk in _chunks(company_ids, BATCH):
            response = self._call(
                "companies.batch_read",
                api.read,
                {"inputs": [{"id": i} for i in chunk], "properties": ["name"]},
            )
            found: dict[str, str | None] = {}
            # A company deleted since the association read is missing (207 with errors).
            for obj in response.results or []:
                found[str(obj.id)] = company_name((obj.properties or {}).get("name"))
            now = self.clock()
            with self._lock:
                if len(self._cache) > CACHE_PRUNE_AT:
                    self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
                for company in chunk:
                    if company in found:
                        self._cache[company] = (found[company], now + self.ttl)
                    else:
                        self._cache[company] = (None, now + MISSING_TTL_SECONDS)
            out.update(found)
        return out

    def missing(self, exc: MissingScopeError) -> None:
        """The scope is missing: pause the company reads, and say so once."""
        with self._lock:
            self._paused_until = self.clock() + MISSING_SCOPE_PAUSE_SECONDS
            first = not self._scope_logged
            self._scope_logged = True
        if first:
            log.warning(
                f"HubSpot company names unavailable: the access token lacks the scope "
                f"{exc.scope}; deals are checked without their account name (a customer's own "
                f"step named by its company, 'Acme will roll out SCIM by March', can read as "
                f"our promise). To fix it, {ADD_SCOPE_HINT}",
                scope=exc.scope,
                retry_in_seconds=MISSING_SCOPE_PAUSE_SECONDS,
            )
