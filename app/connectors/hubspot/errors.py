"""HubSpot failures → TransientError / PermanentError / CredentialsError, in one table.

HubSpot error bodies carry status, message, correlationId and category (and for 429s a
policyName: TEN_SECONDLY_ROLLING, SECONDLY, DAILY). The correlation id goes into every error so
HubSpot support can find the request.

Two 4xx are not refusals (HubSpot's error-handling guide): 423 Locked ("Locks will last for 2
seconds, so if you receive a 423 error, you should include a delay of at least 2 seconds
between your API requests") and 477 Migration in Progress (the account is moving between data
hosting locations; a Retry-After header says how many seconds to wait, typically up to 24
hours). Both are transient and pause every call to the portal, as a 429 does.
"""

from __future__ import annotations

import html
import json
import re

from app.connectors.base import (
    MAX_RETRY_AFTER,
    ConnectorError,
    CredentialsError,
    HeldError,
    PermanentError,
    TransientError,
)


class RefusedError(PermanentError):
    """HubSpot refused the request's input (a 4xx other than auth, rate limits, 423 and 477).
    In a batch, one bad input refuses all of them: sent alone, the others go through."""


class PropertyRuleRefused(HeldError):
    """An admin's property validation rule on one of roadmap-guard's own deal properties
    refused the value it writes (HubSpot enforces those rules on API writes: 400
    VALIDATION_ERROR, "Property values were not valid: [{"isValid":false,"message":"Enter only
    letters","error":"INVALID_ALPHA","name":...}]"). The portal's set-up, not the deal: held,
    retried every `retry_after` seconds without spending attempts, through once the rule is
    removed. It was a refusal of the deal: dead, its status and clearance (the block) never
    written, and nothing wrote them once the rule was gone."""


class PortalPausedError(TransientError):
    """HubSpot asked for a pause of every call to the portal (423 Locked, 477 Migration in
    Progress): nothing is wrong with the input. The client pauses the portal's budget for
    `retry_after`, as after a 429; a batch is never split on it."""


class MissingScopeError(PermanentError):
    """HubSpot answered 403 to a call of an optional feature (owner names: the Owners API)
    that the token's scopes do not cover. Not a refusal of our credentials: the deals go on
    without the feature, and no credentials alarm is raised (`HubSpotApi.call(optional_scope=)`).
    `scope` is the scope to add (HubSpot's `requiredScopes`, else the one the caller named)."""

    def __init__(self, message: str, *, scope: str, correlation_id: str | None = None) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.scope = scope


def missing_scope(exc: BaseException, operation: str, scope: str) -> MissingScopeError:
    """A 403 on an optional call: the scope HubSpot names (`errors[].context.requiredScopes`
    of its MISSING_SCOPES body), else `scope`."""
    body = _body(exc)
    named = _required_scopes(body)
    needed = named[0] if named else scope
    category = body.get("category") or "FORBIDDEN"
    return MissingScopeError(
        f"HubSpot {operation}: HTTP 403 {category}: the token lacks the scope {needed}",
        scope=needed,
        correlation_id=body.get("correlationId") or _header(exc, "x-hubspot-correlation-id"),
    )


def _required_scopes(body: dict) -> list[str]:
    """The scopes a MISSING_SCOPES body names (`errors[].context.requiredScopes`)."""
    return [
        s
        for error in body.get("errors") or []
        if isinstance(error, dict) and isinstance(error.get("context"), dict)
        for s in error["context"].get("requiredScopes") or []
        if isinstance(s, str)
    ]


# Seconds to wait on a rolling-limit 429 without Retry-After: the window is ten seconds.
ROLLING_WAIT = 10.0
# 423 Locked: HubSpot's locks last 2 seconds; wait at least that (longer if Retry-After says so).
LOCKED_WAIT = 2.0
# 477 Migration in Progress without Retry-After (HubSpot documents that it sends one): an hour.
# A migration takes hours (the deals wait without spending attempts: `hold`).
MIGRATION_WAIT = 3600.0
# A DAILY 429 without Retry-After waits `daily_retry_seconds`, which the client passes in as
# the time to the portal's midnight (when HubSpot resets the limit) capped by the setting
# (HubSpotApi.daily_wait).


def _body(exc: BaseException) -> dict:
    raw = getattr(exc, "body", None)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {"message": not_json(str(raw), "HubSpot")}
    return data if isinstance(data, dict) else {}


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def not_json(text: str, crm: str) -> str:
    """An answer that is not the CRM's JSON, in words for the operator. An HTML page (a 502 or
    504 from the CDN or gateway in front of the API: "<html><head><title>502 Bad Gateway</title>
    ...cloudflare...") is named by its title, not quoted: its first 300 characters of markup
    were the deal's error. Anything else: its first 300 characters, as it came."""
    if not text.lstrip().startswith("<"):
        return text[:300]
    found = _TITLE.search(text)
    title = " ".join(html.unescape(found.group(1)).split())[:120] if found else ""
    return (
        f"{title or 'an HTML page'} (an HTML page, not {crm}'s JSON: a gateway in front of the "
        "API answered; retried)"
    )


def _header(exc: BaseException, name: str) -> str | None:
    headers = getattr(exc, "headers", None) or {}
    for key, value in dict(headers).items():
        if key.lower() == name.lower():
            return value
    return None


def classify(
    exc: BaseException, operation: str, *, daily_retry_seconds: float = 3600.0
) -> tuple[ConnectorError, str]:
    """Map an ApiException of any hubspot-api-client package. Returns (error, metrics result).

    HubSpot's own limits and pauses (429 rolling or daily, 423, 477) hold the deal (`hold`: the
    retry spends no attempt): not its failure, and each has an end. Counted as attempts, a
    daily limit hit in the morning sent every deal queued meanwhile to dead (8 attempts with
    backoff last about 7 hours) before the portal's midnight reset."""
    status = getattr(exc, "status", None)
    body = _body(exc)
    correlation = body.get("correlationId") or _header(exc, "x-hubspot-correlation-id")
    message = body.get("message") or getattr(exc, "reason", None) or type(exc).__name__
    category = body.get("category") or body.get("errorType")
    text = f"HubSpot {operation}: HTTP {status}"
    if category:
        text += f" {category}"
    text += f": {message}"
    retry_after_header = _header(exc, "retry-after")
    retry_after = float(retry_after_header) if _is_number(retry_after_header) else None
    if retry_after is not None and not 0 <= retry_after <= MAX_RETRY_AFTER:
        # "nan", "inf", 1e12, negative: no usable wait (nan crashed the outcome recording, inf
        # paused the portal's budget for good); the defaults below apply
        retry_after = None
    if status == 429:
        policy = (body.get("policyName") or "").upper()
        if policy == "DAILY" or "daily" in str(message).lower():
            wait = retry_after or max(daily_retry_seconds, 60.0)
            return (
                TransientError(
                    f"HubSpot daily API limit reached for this portal ({operation}); "
                    f"stopping calls for {wait:.0f}s. Raise the portal's API limit or lower "
                    "the load.",
                    retry_after=wait,
                    correlation_id=correlation,
                    hold=True,
                ),
                "rate_limited",
            )
        return (
            TransientError(
                text,
                retry_after=retry_after or ROLLING_WAIT,
                correlation_id=correlation,
                hold=True,
            ),
            "rate_limited",
        )
    if status == 423:
        wait = max(retry_after or 0.0, LOCKED_WAIT)
        return (
            PortalPausedError(
                f"{text} (locked by a burst of changes: pausing calls for {wait:g}s)",
                retry_after=wait,
                correlation_id=correlation,
                hold=True,
            ),
            "error",
        )
    if status == 477:
        wait = retry_after if retry_after is not None else MIGRATION_WAIT
        return (
            PortalPausedError(
                f"{text} (HubSpot is migrating this portal between data hosting locations: "
                f"pausing calls for {wait:.0f}s)",
                retry_after=wait,
                correlation_id=correlation,
                hold=True,
            ),
            "error",
        )
    if status is not None and (status >= 500 or status == 408):
        return TransientError(text, retry_after=retry_after, correlation_id=correlation), "error"
    if status in (401, 403):
        # HubSpot answers 401 for a bad, expired or revoked token and 403 for a scope the app
        # lacks: the connection, not the deal (deals are held until it is fixed).
        hint = " (check HUBSPOT_ACCESS_TOKEN and its scopes: `roadmap-guard setup hubspot`)"
        scopes = _required_scopes(body) if status == 403 else []
        if scopes:
            # HubSpot's message only says "all required scopes": the body names them.
            hint = (
                f" (the token lacks the scope {', '.join(dict.fromkeys(scopes))}: add it to the "
                "private app (Settings > Integrations > Private Apps > the app > Scopes), then "
                "check with `roadmap-guard setup hubspot`)"
            )
        return CredentialsError(text + hint, correlation_id=correlation), "unauthorized"
    if status is not None and 400 <= status < 500:
        return RefusedError(text, correlation_id=correlation), "error"
    return PermanentError(text, correlation_id=correlation), "error"


_NOT_VALID = "Property values were not valid: "


def refusal_reason(exc: BaseException) -> str:
    """HubSpot's refusal in words a rep can read: a property validation error's own messages
    ('dealstage: contractsent was not one of the allowed options'), not the JSON HubSpot puts
    inside its message ('Property values were not valid: [{"isValid":false,...}]'), nor our
    call's name and status. Anything else: HubSpot's message as it came (at most 300
    characters)."""
    text = Exception.__str__(exc)
    at = text.find(_NOT_VALID)
    if at < 0:
        marker = ": HTTP "
        k = text.find(marker)
        if k >= 0:  # "HubSpot update deals: HTTP 400 VALIDATION_ERROR: <message>"
            k = text.find(": ", k + len(marker))
            text = text[k + 2 :] if k >= 0 else text
        return text[:300]
    try:
        results = json.loads(text[at + len(_NOT_VALID) :])
    except ValueError:
        return text[at:][:300]
    reasons = []
    for result in results if isinstance(results, list) else []:
        if isinstance(result, dict):
            message = result.get("localizedErrorMessage") or result.get("message")
            name = result.get("name")
            if message:
                reasons.append(f"{name}: {message}" if name else str(message))
        elif isinstance(result, str):
            reasons.append(result)
    return "; ".join(reasons)[:300] or text[at:][:300]


def invalid_properties(exc: BaseException) -> dict[str, str]:
    """The properties a VALIDATION_ERROR refused, by name, with HubSpot's error for each
    ('PROPERTY_DOESNT_EXIST', 'INVALID_OPTION', ...): the results HubSpot puts inside its
    message ('Property values were not valid: [{"isValid":false,"error":...,"name":...}]')."""
    text = Exception.__str__(exc)
    at = text.find(_NOT_VALID)
    if at < 0:
        return {}
    try:
        results, _end = json.JSONDecoder().raw_decode(text[at + len(_NOT_VALID) :])
    except ValueError:
        return {}
    return {
        str(r["name"]): str(r.get("error") or "")
        for r in (results if isinstance(results, list) else [])
        if isinstance(r, dict) and r.get("name")
    }


def _is_number(value: str | None) -> bool:
    if value is None:
        return False
    try:
        float(value)
    except ValueError:
        return False
    return True
