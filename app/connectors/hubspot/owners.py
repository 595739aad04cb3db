"""Deal owners' names, from HubSpot's CRM Owners API (v3), cached.

A deal names its owner by id (`hubspot_owner_id`); the name is the owner's: `GET
/crm/v3/owners/{ownerId}` or the paged `GET /crm/v3/owners` (at most 500 a page), fields
`firstName`, `lastName`, `email`, `archived`; scope `crm.objects.owners.read`. Both answer only
active owners unless `archived=true`, and then only archived ones (deactivated users, whose
deals keep their owner id), so an owner not found active is looked for archived.

The name shown is "First Last", else the e-mail (an owner without a name), else None.

Looked up once per owner, not per deal read: names are cached in the process for
TTL_SECONDS (a rename shows within an hour), an id no owner has for MISSING_TTL_SECONDS. A
batch of deals with at most BY_ID_MAX unknown owners costs one call per owner (two for an
archived one); more, and the owner list is read instead (one call per 500 owners, then
the archived ones), which fills the cache with every owner of the portal.

The names are optional: a missing scope (403), an owner HubSpot does not know (404), a 5xx, a
timeout or a 429 never fails or holds the deal read. The deal is read without its owner's
name (or with the name known before, while a refresh fails), lookups pause for a while, and
the failure is logged once, not per deal: the missing scope with how to add it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import structlog

from app.connectors.base import ConnectorError, TransientError
from app.connectors.hubspot.errors import MissingScopeError

if TYPE_CHECKING:
    from app.connectors.hubspot.client import HubSpotApi

log = structlog.get_logger(__name__)

OWNERS_SCOPE = "crm.objects.owners.read"
TTL_SECONDS = 3600.0
MISSING_TTL_SECONDS = 600.0
# After a failed lookup: no call for this long (a 429's Retry-After when longer).
FAILURE_PAUSE_SECONDS = 60.0
# After a 403 for the scope: asked again this often, so a scope added is used within minutes.
MISSING_SCOPE_PAUSE_SECONDS = 600.0
BY_ID_MAX = 3
PAGE_LIMIT = 500  # the Owners API's largest page
# A name is not worth holding a deal read for: an Owners call that hangs is cut short.
TIMEOUT_SECONDS = 3.0

ADD_SCOPE_HINT = (
    "add the scope to the private app (HubSpot: Settings > Integrations > Private Apps > the "
    "app > Scopes > crm.objects.owners.read; commit the change), then check with "
    "`roadmap-guard setup hubspot`"
)


def display_name(first: Any, last: Any, email: Any) -> str | None:
    """ "First Last" (either alone when the other is empty), else the e-mail, else None."""
    name = " ".join(p.strip() for p in (first, last) if isinstance(p, str) and p.strip())
    if name:
        return name
    return email.strip() if isinstance(email, str) and email.strip() else None


class OwnerNames:
    """owner id -> display name, cached per process (see the module doc)."""

    def __init__(
        self,
        api: HubSpotApi,
        *,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = TTL_SECONDS,
    ) -> None:
        self.api = api
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[str, tuple[str | None, float]] = {}  # id -> (name, fresh until)
        self._paused_until = 0.0
        self._lock = threading.Lock()
        # One lookup at a time: a second batch waiting for it finds the names it fetched.
        self._fetch_lock = threading.Lock()
        self._failing = False
        self._scope_logged = False

    def names(self, owner_ids: Iterable[Any]) -> dict[str, str | None]:
        """The names of these owners (None: no name known). Never raises."""
        ids = {str(i) for i in owner_ids if i not in (None, "")}
        # HubSpot's owner ids are numbers; anything else is no owner (and a 400 if asked).
        wanted = {i for i in ids if i.isascii() and i.isdigit()}
        known, stale = self._cached(wanted)
        if stale and self.clock() >= self._paused_until:
            with self._fetch_lock:
                known, stale = self._cached(wanted)
                if stale and self.clock() >= self._paused_until:
                    self._lookup(sorted(stale))
                    known, _ = self._cached(wanted)
        return {i: known.get(i) for i in ids}

    def _cached(self, ids: set[str]) -> tuple[dict[str, str | None], set[str]]:
        """(the names known, also past their time; the ids to look up)."""
        now = self.clock()
        known: dict[str, str | None] = {}
        stale: set[str] = set()
        with self._lock:
            for owner_id in ids:
                entry = self._cache.get(owner_id)
                if entry is not None:
                    known[owner_id] = entry[0]
                if entry is None or entry[1] <= now:
                    stale.add(owner_id)
        return known, stale

    def _store(self, owner_id: str, name: str | None, ttl: float) -> None:
        with self._lock:
            self._cache[owner_id] = (name, self.clock() + ttl)

    def _lookup(self, ids: list[str]) -> None:
        try:
            if len(ids) <= BY_ID_MAX:
                for owner_id in ids:
                    self._by_id(owner_id)
            else:
                self._from_list(set(ids))
        except Exception as exc:  # a name must never fail a deal read
            self._failed(exc)
            return
        if self._failing:
            log.info("hubspot owner names readable again")
        self._failing = False
        self._scope_logged = False

    def _call(self, operation: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.api.call(
            operation,
            fn,
            *args,
            optional_scope=OWNERS_SCOPE,
            timeout=min(TIMEOUT_SECONDS, self.api.timeout),
            **kwargs,
        )

    def _by_id(self, owner_id: str) -> None:
        owners = self.api.api("crm.owners.owners_api")
        for archived in (False, True):
            owner = self._call(
                "owners.get",
                owners.get_by_id,
                owner_id,
                id_property="id",
                archived=archived,
                not_found_ok=True,
            )
            if owner is not None:
                name = display_name(owner.first_name, owner.last_name, owner.email)
                self._store(owner_id, name, self.ttl)
                return
        self._store(owner_id, None, MISSING_TTL_SECONDS)

    def _from_list(self, ids: set[str]) -> None:
        owners = self.api.api("crm.owners.owners_api")
        missing = set(ids)
        for archived in (False, True):
            after: str | None = None
            while True:
                kwargs: dict[str, Any] = {"limit": PAGE_LIMIT, "archived": archived}
                if after is not None:
                    kwargs["after"] = after
                page = self._call("owners.get_page", owners.get_page, **kwargs)
                for owner in page.results or []:
                    owner_id = str(owner.id)
                    name = display_name(owner.first_name, owner.last_name, owner.email)
                    self._store(owner_id, name, self.ttl)
                    missing.discard(owner_id)
                paging = page.paging
                after = paging.next.after if paging is not None and paging.next else None
                if not after:
                    break
        for owner_id in missing:
            self._store(owner_id, None, MISSING_TTL_SECONDS)

    def _failed(self, exc: Exception) -> None:
        if isinstance(exc, MissingScopeError):
            self._paused_until = self.clock() + MISSING_SCOPE_PAUSE_SECONDS
            if not self._scope_logged:
                self._scope_logged = True
                log.warning(
                    f"HubSpot owner names unavailable: the access token lacks the scope "
                    f"{exc.scope}; deals are checked without their owner's name (messages say "
                    f"'the deal owner', views show the owner id). To fix it, {ADD_SCOPE_HINT}",
                    scope=exc.scope,
                    retry_in_seconds=MISSING_SCOPE_PAUSE_SECONDS,
                )
            return
        wait = FAILURE_PAUSE_SECONDS
        if isinstance(exc, TransientError) and exc.retry_after:
            wait = max(wait, exc.retry_after)
        self._paused_until = self.clock() + wait
        if not self._failing:
            self._failing = True
            log.warning(
                "hubspot owner names not readable; deals are read without them meanwhile",
                error=str(exc) if isinstance(exc, ConnectorError) else repr(exc),
                retry_in_seconds=wait,
            )
