"""One table deciding what a Salesforce error means: retry later, or stop and show someone.

Salesforce answers REST errors as arrays of {errorCode, message, fields}; per-record results of
sObject Collections carry {statusCode, message, fields}. Both are classified by code here, so
the connector raises only TransientError / PermanentError / CredentialsError (a refused login or
token: the deals are held, not dead) and the deal queue owns retries.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError

from app.connectors.base import (
    ConnectorError,
    CredentialsError,
    HeldError,
    PermanentError,
    TransientError,
)

# The org's rolling 24-hour API allowance is spent ("TotalRequests Limit exceeded."): hammering
# it again soon cannot help.
REQUEST_LIMIT_RETRY_SECONDS = 1800.0
# Salesforce answers REQUEST_LIMIT_EXCEEDED for its concurrency limits too ("ConcurrentRequests
# (Concurrent API Requests) Limit exceeded.", "ConcurrentPerOrgLongTxn Limit exceeded."): too
# many long requests in flight at once in the org, which clears as they finish, within seconds.
CONCURRENT_LIMIT_RETRY_SECONDS = 15.0
UNAVAILABLE_RETRY_SECONDS = 30.0
# INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE: the org is in read-only mode for planned
# maintenance (Salesforce Help, "Read-Only Mode": site switches, roughly every six months,
# instance migrations and refreshes; "you can't ... Perform API write or edit actions"; the
# trust.salesforce.com schedule says when and for how long). Reads still answer. It was a
# PermanentError: every deal written during the window went dead with its block unwritten,
# and a rep could win it once the org was writable again. Now held (no attempt spent) and
# tried again every MAINTENANCE_RETRY_SECONDS until the window ends.
MAINTENANCE_CODE = "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE"
MAINTENANCE_RETRY_SECONDS = 300.0
# ENTITY_IS_LOCKED: an approval process locked the opportunity. The lock lasts as long as the
# approval (hours, days): the write is tried again every half hour, without spending the deal's
# attempts, and lands once the record is unlocked.
LOCKED_RETRY_SECONDS = 1800.0

TRANSIENT_CODES = {
    "REQUEST_LIMIT_EXCEEDED",
    "SERVER_UNAVAILABLE",
    "UNABLE_TO_LOCK_ROW",
    "QUERY_TIMEOUT",
    "CONCURRENT_REQUESTS_LIMIT_EXCEEDED",
    "TXN_SECURITY_METERING_ERROR",
    # A query's next page asked for with a locator Salesforce no longer holds (expired, or
    # released: a parent's queryMore releases the child cursors before it). Nothing is wrong
    # with the deals: the query run again from the start answers.
    "INVALID_QUERY_LOCATOR",
}
# Codes that mean "the record is gone" (our stored task id points nowhere).
MISSING_CODES = {
    "ENTITY_IS_DELETED",
    "NOT_FOUND",
    "INVALID_CROSS_REFERENCE_KEY",
    "INVALID_ID_FIELD",
}


# Field-level security refusing our write: "Unable to create/update fields: Roadmap_Block__c".
FIELD_ACCESS_CODES = frozenset(("INVALID_FIELD_FOR_INSERT_UPDATE",))
# API access itself refused (403), for every call whatever the deal: the org's configuration,
# held like refused credentials (they were PermanentErrors: every deal in flight went dead and
# had to be replayed once the admin fixed it), with what the admin must change.
API_ACCESS_FIXES = {
    # "API is disabled for this User": the user's profile and permission sets lack API Enabled.
    "API_CURRENTLY_DISABLED": "the integration user may not use the API: give it the API "
    "Enabled permission (its profile, or a permission set)",
    # "The REST API is not enabled for this Organization.": the edition has no API access.
    "API_DISABLED_FOR_ORG": "this org's edition has no API access (Enterprise, Unlimited, "
    "Performance and Developer include it; Professional only with the API add-on)",
}


class RequestLimitExceeded(TransientError):
    """REQUEST_LIMIT_EXCEEDED: the org's 24-hour API allowance, or one of its concurrency limits
    (`retry_after` says which: REQUEST_LIMIT_RETRY_SECONDS or CONCURRENT_LIMIT_RETRY_SECONDS).
    Raised with `hold`: the deal waits without spending attempts (a spent allowance, counted
    against them, sent deals to dead after about 3.5 hours)."""


class RequestTimedOut(TransientError):
    """Sent, but no answer within our timeout: Salesforce may still run it to the end (a write
    can land after we gave up; the connector must not repeat its creates blindly)."""


class OrgRuleRefused(HeldError):
    """FIELD_CUSTOM_VALIDATION_EXCEPTION on roadmap-guard's own write: one of the org's
    validation rules (or a trigger's addError) refused it. Ours never fires on our writes, so
    the rule is the org's: it lets the write through once an admin adds the bypass clause
    (the org's set-up, every deal alike) or once the record passes it (a rep fixes an overdue
    close date). Held like a refused permission: retried every `retry_after` seconds without
    spending the deal's attempts, and sooner on the rep's next edit of the deal (its event
    makes the held row urgent). Dead, a deal whose block never landed stayed winnable, and
    nothing wrote the block once the rule allowed it. Raises no credentials alarm: the
    connection works."""


class ApexResourceUnavailable(PermanentError):
    """An Apex REST resource answered 404 NOT_FOUND (not installed) or 403 (no class access)."""


class ApexResourceFailed(PermanentError):
    """An Apex REST resource ran and threw (500 APEX_ERROR, e.g. a governor limit)."""


def error_entries(content: Any) -> list[dict]:
    """The [{errorCode|statusCode, message, fields}] entries of an error body, whatever its form."""
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return [{"errorCode": "UNKNOWN", "message": _not_json(str(content))}]
    return [e for e in content if isinstance(e, dict)]


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _not_json(text: str) -> str:
    """An answer that is not Salesforce's JSON, in words for the operator: an HTML page (a
    502/503 from a proxy or load balancer in front of the org, a maintenance page) by its
    title, not its first 500 characters of markup; anything else as it came."""
    if not text.lstrip().startswith("<"):
        return text[:500]
    found = _TITLE.search(text)
    title = " ".join(html.unescape(found.group(1)).split())[:120] if found else ""
    return f"{title or 'an HTML page'} (an HTML page, not Salesforce's JSON)"


def error_code(entry: dict) -> str:
    return str(entry.get("errorCode") or entry.get("statusCode") or "UNKNOWN")


def describe_errors(entries: Iterable[dict]) -> str:
    parts = []
    for e in entries:
        fields = e.get("fields") or []
        suffix = f" [{', '.join(fields)}]" if fields else ""
        parts.append(f"{error_code(e)}: {e.get('message', '')}{suffix}")
    return "; ".join(parts) or "unknown error"


def classify(code: str, message: str, *, status: int | None = None) -> ConnectorError:
    """A typed error for one Salesforce error code."""
    if code == "REQUEST_LIMIT_EXCEEDED":
        if "concurrent" in message.lower() and "totalrequests" not in message.lower():
            return RequestLimitExceeded(
                f"Salesforce concurrent request limit reached: {message}",
                retry_after=CONCURRENT_LIMIT_RETRY_SECONDS,
                hold=True,
            )
        # TotalRequests (the rolling 24-hour allowance), or a limit we cannot tell apart: wait
        # long rather than spend the deal's attempts against a spent allowance.
        return RequestLimitExceeded(
            f"Salesforce API limit reached: {message}",
            retry_after=REQUEST_LIMIT_RETRY_SECONDS,
            hold=True,
        )
    # a per-record message already reads "CODE: ..." (connector._settle_result): not twice
    detail = message if message.startswith(f"{code}:") else f"{code}: {message}"
    if code == MAINTENANCE_CODE:
        return TransientError(
            f"Salesforce: {detail} (the org is read-only for planned maintenance, see "
            "trust.salesforce.com: roadmap-guard writes once it is writable again, trying every "
            f"{int(MAINTENANCE_RETRY_SECONDS // 60)} minutes)",
            retry_after=MAINTENANCE_RETRY_SECONDS,
            hold=True,
        )
    if code == "ENTITY_IS_LOCKED":
        # It was a PermanentError: the deal went dead while the approval ran, and the block was
        # never written after it, so the deal could be won once unlocked.
        return TransientError(
            f"Salesforce: {detail} (the opportunity is locked, e.g. by an approval process: "
            "roadmap-guard writes it once it is unlocked, trying every "
            f"{int(LOCKED_RETRY_SECONDS // 60)} minutes; to write while it is locked, the "
            "integration user needs Modify All Records on Opportunity, which the permission set "
            "Roadmap_Guard_Integration grants: check that it is assigned)",
            retry_after=LOCKED_RETRY_SECONDS,
            hold=True,
        )
    if code in API_ACCESS_FIXES:
        return CredentialsError(
            f"Salesforce refused API access: {detail} ({API_ACCESS_FIXES[code]})"
        )
    if code in FIELD_ACCESS_CODES:
        # Field-level security on our own fields (a permission set removed): Salesforce refuses
        # the whole record, so no block reached it and the validation rule let the deal close.
        # The org's configuration, not the deal: held like refused credentials, and through
        # once an admin restores access (dead, every deal needed a replay).
        return CredentialsError(
            f"Salesforce: {detail} (the integration user cannot edit a roadmap field: check "
            "its permission set, see `roadmap-guard setup salesforce`)"
        )
    if code in TRANSIENT_CODES or (status is not None and status >= 500):
        return TransientError(f"Salesforce: {detail}", retry_after=UNAVAILABLE_RETRY_SECONDS)
    return PermanentError(f"Salesforce: {detail}")


def from_exception(exc: BaseException) -> ConnectorError:
    """Map a simple-salesforce or requests exception to a TransientError, PermanentError or
    CredentialsError."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, requests.ConnectTimeout):  # nothing was sent
        return TransientError(f"cannot reach Salesforce: {type(exc).__name__}")
    if isinstance(exc, requests.Timeout):
        return RequestTimedOut(f"Salesforce did not answer in time: {type(exc).__name__}")
    if isinstance(exc, requests.ConnectionError):
        return TransientError(f"cannot reach Salesforce: {type(exc).__name__}")
    if isinstance(exc, SalesforceAuthenticationFailed):
        # The login itself: an OAuth {error, error_description} or a SOAP fault (code = status
        # when the answer was not JSON, e.g. a 503 page).
        if isinstance(exc.code, int) and exc.code >= 500:
            return TransientError(f"Salesforce login unavailable ({exc.code})")
        return CredentialsError(f"Salesforce refused the login ({exc.code}): {exc.auth_message}")
    if isinstance(exc, SalesforceError):
        entries = error_entries(exc.content)
        first = entries[0] if entries else {"errorCode": "UNKNOWN", "message": ""}
        code = error_code(first)
        if exc.status == 401:
            return CredentialsError(
                f"Salesforce refused the credentials ({code}); renew the token or check the "
                "connected app"
            )
        return classify(code, describe_errors(entries), status=exc.status)
    return TransientError(f"unexpected Salesforce failure: {type(exc).__name__}: {exc}")


def apex_error(exc: BaseException) -> ConnectorError | None:
    """For a call to /services/apexrest/...: a missing or forbidden resource, or an exception
    thrown by the Apex code, so the caller can fall back. None: map it as any other failure."""
    if not isinstance(exc, SalesforceError):
        return None
    entries = error_entries(exc.content)
    code = error_code(entries[0]) if entries else "UNKNOWN"
    # 403 REQUEST_LIMIT_EXCEEDED is the org's allowance, not this resource: mapped as usual.
    if exc.status == 404 or (exc.status == 403 and code not in TRANSIENT_CODES):
        return ApexResourceUnavailable(
            f"Apex REST resource unavailable ({exc.status}): {describe_errors(entries)}"
        )
    if exc.status == 500 and code == "APEX_ERROR":
        return ApexResourceFailed(f"Apex REST resource failed: {describe_errors(entries)}")
    return None
