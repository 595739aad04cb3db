"""The portal's account details: its company currency and its time zone.

`GET /account-info/v3/details` (HubSpot's account information API; the only scope it needs is
`oauth`, which every app and private-app token carries) answers, among others:

    {"portalId": 123456, "accountType": "STANDARD", "timeZone": "US/Eastern",
     "companyCurrency": "USD", "additionalCurrencies": ["EUR"], "utcOffset": "-05:00",
     "utcOffsetMilliseconds": -18000000, "uiDomain": "app.hubspot.com",
     "dataHostingLocation": "na1"}

Three things need it. HubSpot converts each deal's amount into the company currency
(`amount_in_home_currency`) but no deal property says which currency that is: the company
currency labels pipeline totals. HubSpot resets the daily API limit at midnight in the
account's time zone: after a DAILY 429 the client waits until then (at most
HUBSPOT_DAILY_LIMIT_RETRY_SECONDS) instead of a fixed time. And `closedate` is a datetime, shown
in local time: the deal's close date is its day in the account's time zone. Its `portalId` and
`uiDomain` make the deal links (and a HUBSPOT_PORTAL_ID that differs is logged as an error).

Read lazily, at most once an hour per process. A failed read (network, a token refused) does
not fail the deal read that asked: what was known is kept, HUBSPOT_COMPANY_CURRENCY and the
fixed daily wait stand in until then, and the read is tried again after RETRY_SECONDS. A 429
(or a 423 or 477) is the exception: it pauses every call to the portal, so it is raised to the
caller as is.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog

from app.connectors.base import ConnectorError, TransientError

if TYPE_CHECKING:
    from app.connectors.hubspot.client import HubSpotApi

log = structlog.get_logger(__name__)

ACCOUNT_DETAILS_PATH = "/account-info/v3/details"
REFRESH_SECONDS = 3600.0
RETRY_SECONDS = 600.0
# Calls resume this long after the portal's midnight: HubSpot's reset and our clock need not
# agree to the second.
DAILY_RESET_MARGIN_SECONDS = 60.0
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UI_DOMAIN = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.hubspot\.com$")


@dataclass(frozen=True)
class AccountFacts:
    company_currency: str | None
    time_zone: tzinfo | None
    time_zone_name: str | None
    # The host of the portal's HubSpot UI ("app.hubspot.com"; "app-eu1.hubspot.com" for an
    # account hosted in the EU): deal links point there.
    ui_domain: str | None = None
    # The portal (hub) id the token reads, to check HUBSPOT_PORTAL_ID against.
    portal_id: str | None = None


def parse_account_details(answer: Any) -> AccountFacts:
    """The facts in an account-details answer; what is missing or malformed is None. A time
    zone name this machine's tz database does not know falls back to the answer's fixed UTC
    offset (right until the portal's next daylight-saving change)."""
    if not isinstance(answer, dict):
        return AccountFacts(None, None, None)
    currency = answer.get("companyCurrency")
    if not (isinstance(currency, str) and _CURRENCY.match(currency)):
        currency = None
    name = answer.get("timeZone") if isinstance(answer.get("timeZone"), str) else None
    zone: tzinfo | None = None
    if name:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    offset = answer.get("utcOffsetMilliseconds")
    if zone is None and isinstance(offset, int) and abs(offset) < 86_400_000:
        zone = timezone(timedelta(milliseconds=offset))
    ui = answer.get("uiDomain")
    ui_domain = ui.lower() if isinstance(ui, str) and _UI_DOMAIN.match(ui.lower()) else None
    portal = answer.get("portalId")
    portal_id = (
        str(portal)
        if isinstance(portal, int) and not isinstance(portal, bool) and portal > 0
        else None
    )
    return AccountFacts(
        company_currency=currency,
        time_zone=zone,
        time_zone_name=name,
        ui_domain=ui_domain,
        portal_id=portal_id,
    )


def read_account_details(api: HubSpotApi) -> AccountFacts:
    """One call; raises ConnectorError as every call does, except for a 403: a token that may
    not read the details answers no facts (a scope this optional read lacks is not a refusal
    of our credentials, and must not raise the credentials alarm as one)."""
    answer = api.raw("account.details", "GET", ACCOUNT_DETAILS_PATH, ok_statuses=(403,))
    return parse_account_details(answer)


def seconds_until_midnight(zone: tzinfo, now: datetime | None = None) -> float:
    """Seconds from `now` to the next midnight in `zone` (daylight-saving days included)."""
    now = now or datetime.now(UTC)
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return max((midnight - now).total_seconds(), 0.0)


class AccountInfo:
    """The portal's account facts, read when first needed and again hourly (see module doc)."""

    def __init__(self, api: HubSpotApi, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.api = api
        self.clock = clock
        self._facts: AccountFacts | None = None
        self._next_read = 0.0
        self._lock = threading.Lock()

    def facts(self) -> AccountFacts | None:
        with self._lock:
            now = self.clock()
            if now < self._next_read:
                return self._facts
            try:
                facts = read_account_details(self.api)
            except ConnectorError as exc:
                if isinstance(exc, TransientError) and exc.retry_after is not None:
                    # Rate limited (or locked, or migrating: errors.py): the portal is paused
                    # for every call, the caller's included; say so now, with HubSpot's reason,
                    # rather than on the caller's next call.
                    raise
                self._next_read = now + RETRY_SECONDS
                log.warning(
                    "hubspot account details not readable; keeping what was known",
                    error=str(exc),
                    retry_in_seconds=RETRY_SECONDS,
                )
                return self._facts
            if facts.company_currency is None and facts.time_zone is None:
                facts = self._facts or facts  # keep what an earlier read found
                log.warning(
                    "hubspot account details not readable with this token (403) or empty; "
                    "HUBSPOT_COMPANY_CURRENCY labels totals and the daily-limit wait is fixed",
                    retry_in_seconds=REFRESH_SECONDS,
                )
            self._facts = facts
            self._next_read = now + REFRESH_SECONDS
            # The client's daily-limit wait runs to the portal's midnight from now on.
            self.api.portal_time_zone = facts.time_zone
            return facts
