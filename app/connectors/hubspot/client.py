"""The one door to HubSpot: the real hubspot-api-client, a budget, a timeout, typed errors.

Every call goes through `HubSpotApi.call`, which takes a token from the portal's bucket, passes
`_request_timeout`, counts the call in metrics (`crm_call`), and maps failures.

Retries. Left alone, the client hands urllib3 its default `Retry(3)`: connection errors are
retried for every method (safe: nothing was sent), read errors only for idempotent methods, and
a 429/503 *with* Retry-After on GET/PUT/DELETE is retried after sleeping Retry-After, three
times, inside the worker thread. POST (every batch endpoint, every create) is never retried on
status or read errors. We install an explicit `Retry` that keeps only connect retries: a 429 is
the queue's business (TransientError with retry_after), and a create whose response was lost
is never blindly re-sent (write-back looks for the task first: HubSpotConnector._find_pending
in connector.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any, TypeVar

import hubspot
import urllib3
from urllib3.util.retry import Retry

from app.connectors.base import ConnectorError, PermanentError, TransientError
from app.connectors.hubspot.account import DAILY_RESET_MARGIN_SECONDS, seconds_until_midnight
from app.connectors.hubspot.errors import PortalPausedError, classify, missing_scope
from app.connectors.hubspot.ratelimit import TokenBucket, bucket_for, search_bucket_for
from app.metrics import crm_call

T = TypeVar("T")

CONNECTOR = "hubspot"


def connect_only_retry() -> Retry:
    return Retry(
        total=2,
        connect=2,
        read=0,
        status=0,
        other=0,
        redirect=0,
        status_forcelist=(),
        respect_retry_after_header=False,
        raise_on_status=False,
        backoff_factor=0.2,
    )


class HubSpotApi:
    def __init__(
        self,
        *,
        access_token: str,
        api_base: str = "https://api.hubapi.com",
        timeout: float = 10.0,
        requests_per_10s: int = 100,
        portal_key: str | None = None,
        daily_retry_seconds: float = 3600.0,
        bucket: TokenBucket | None = None,
        search_bucket: TokenBucket | None = None,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.daily_retry_seconds = daily_retry_seconds
        # The portal's time zone (account details, set by the connector once read): the daily
        # limit resets at midnight there. None: a DAILY 429 waits daily_retry_seconds.
        self.portal_time_zone: tzinfo | None = None
        self._token = access_token
        key = portal_key or "token:" + hashlib.sha256(access_token.encode()).hexdigest()[:16]
        self.bucket = bucket or bucket_for(f"{self.api_base}|{key}", requests_per_10s)
        self.search_bucket = search_bucket or search_bucket_for(f"{self.api_base}|{key}")
        self.client = hubspot.Client.create(
            access_token=access_token, retry=connect_only_retry(), host=self.api_base
        )
        self._apis: dict[str, Any] = {}

    def api(self, path: str) -> Any:
        """A generated API object, built once: each build makes a new connection pool."""
        found = self._apis.get(path)
        if found is None:
            found = self.client
            for part in path.split("."):
                found = getattr(found, part)
            self._apis[path] = found
        return found

    def call(
        self,
        operation: str,
        fn: Callable[..., T],
        *args: Any,
        not_found_ok: bool = False,
        ok_statuses: tuple[int, ...] = (),
        optional_scope: str | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> T:
        """One API call: budget, timeout, metrics, typed errors. 404 → None if not_found_ok.

        Operations named `*.search` also draw from the per-second search budget. With
        `optional_scope` (a call the service can do without, e.g. owner names), a 403 raises
        MissingScopeError and is counted as an error: a scope the token was never asked to
        have is not a refusal of our credentials, and must not raise their alarm. `timeout`
        overrides the client's for this call."""
        searching = operation.endswith(".search")
        if searching:
            self.search_bucket.acquire()
        self.bucket.acquire()
        try:
            result = fn(*args, _request_timeout=timeout or self.timeout, **kwargs)
        except urllib3.exceptions.HTTPError as exc:
            crm_call(CONNECTOR, operation, "timeout")
            raise TransientError(f"HubSpot {operation}: network error: {exc}") from exc
        except ConnectorError:
            raise
        except Exception as exc:
            if getattr(exc, "status", None) is None or not type(exc).__module__.startswith(
                "hubspot"
            ):
                crm_call(CONNECTOR, operation, "error")
                if isinstance(exc, ValueError):
                    raise PermanentError(
                        f"HubSpot {operation}: unexpected response: {exc}"
                    ) from exc
                raise
            status = getattr(exc, "status", None)
            if (not_found_ok and status == 404) or status in ok_statuses:
                crm_call(CONNECTOR, operation, "ok")
                return None  # type: ignore[return-value]
            if optional_scope is not None and status == 403:
                crm_call(CONNECTOR, operation, "error")
                raise missing_scope(exc, operation, optional_scope) from exc
            error, result_label = classify(exc, operation, daily_retry_seconds=self.daily_wait())
            crm_call(CONNECTOR, operation, result_label)
            # A 429, a 423 (locked: 2 s) or a 477 (migrating: Retry-After) pauses every call
            # to the portal from this process, not only this one.
            paused = result_label == "rate_limited" or isinstance(error, PortalPausedError)
            if paused and isinstance(error, TransientError):
                self.bucket.block_for(error.retry_after or 10.0)
                if searching:
                    self.search_bucket.block_for(error.retry_after or 10.0)
            raise error from exc
        crm_call(CONNECTOR, operation, "ok")
        return result

    def daily_wait(self, now: datetime | None = None) -> float:
        """How long a DAILY 429 without Retry-After stops calls: until just after the portal's
        midnight, when HubSpot resets the limit, and never longer than daily_retry_seconds
        (a limit raised meanwhile is noticed); daily_retry_seconds while the zone is unknown."""
        zone = self.portal_time_zone
        if zone is None:
            return self.daily_retry_seconds
        until = seconds_until_midnight(zone, now) + DAILY_RESET_MARGIN_SECONDS
        return min(self.daily_retry_seconds, until)

    def raw(
        self,
        operation: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        ok_statuses: tuple[int, ...] = (),
    ) -> Any:
        """An endpoint the client has no typed API for (e.g. private-app token info)."""
        api_client = self.api("crm.deals.basic_api").api_client
        return self.call(
            operation,
            api_client.call_api,
            path,
            method,
            {},
            [],
            {"Accept": "application/json", "Content-Type": "application/json"},
            body=body,
            response_types_map={200: "object"},
            auth_settings=["oauth2"],
            _return_http_data_only=True,
            ok_statuses=ok_statuses,
        )
