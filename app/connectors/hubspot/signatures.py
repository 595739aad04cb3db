"""HubSpot request signatures (v1, v2, v3), verified over the raw body in constant time.

v3 (HubSpot's "Validating requests" page): base64(HMAC-SHA256(client_secret,
method + uri + body + timestamp)); the timestamp is X-HubSpot-Request-Timestamp in epoch ms and
requests older (or further ahead) than five minutes are refused. The URI is the URL HubSpot
called, rebuilt from the configured public base URL (never from proxy headers, which a client
controls) with the percent-escapes HubSpot lists decoded; anything else stays encoded.
v1: hex(SHA-256(secret + body)); v2: hex(SHA-256(secret + method + uri + body)); both have no
timestamp, so a captured request verifies forever: they are accepted only when configured, and
only when v3 is not. HubSpot sends the v3 headers beside the older signature on every request,
so with v3 accepted a request carrying only v1/v2 is refused: otherwise anyone holding a
captured delivery could drop its v3 headers and replay it on v1 outside the 5-minute window.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_SKEW_MS = 5 * 60 * 1000

# HubSpot documents exactly these escapes as decoded before signing v3.
_V3_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def decode_uri(uri: str) -> str:
    """Decode the escapes HubSpot decodes (case-insensitively); leave every other escape alone."""
    out: list[str] = []
    i = 0
    while i < len(uri):
        chunk = uri[i : i + 3]
        if len(chunk) == 3 and chunk[0] == "%" and chunk.upper() in _V3_DECODE:
            out.append(_V3_DECODE[chunk.upper()])
            i += 3
        else:
            out.append(uri[i])
            i += 1
    return "".join(out)


def request_uri(public_base_url: str, raw_path: str, query_string: str = "") -> str:
    """The URL HubSpot signed: our public base URL + the path and query as received."""
    uri = public_base_url.rstrip("/") + raw_path
    if query_string:
        uri += "?" + query_string
    return uri


def sign_v1(secret: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + body).hexdigest()


def sign_v2(secret: str, method: str, uri: str, body: bytes) -> str:
    return hashlib.sha256(secret.encode() + method.encode() + uri.encode() + body).hexdigest()


def sign_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + decode_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    version: str | None = None
    reason: str = ""


def verify(
    *,
    headers: Mapping[str, str],
    method: str,
    uri: str,
    body: bytes,
    secrets: Iterable[str],
    versions: Iterable[str] = ("v3",),
    now_ms: int | None = None,
) -> Verdict:
    """Check the request against every configured secret (two during a rotation).

    When `versions` allows v3, only v3 decides: a request without its headers is refused even
    if v1/v2 are allowed too (they carry no timestamp: see the module docstring). v1/v2 are
    checked only when `versions` allows them and not v3. `headers` must be case-insensitive
    (Starlette's are).
    """
    secrets = [s for s in secrets if s and s.strip()]
    allowed = {v.strip().lower() for v in versions}
    if not secrets:
        return Verdict(False, reason="no client secret configured")
    v3_sig = headers.get("x-hubspot-signature-v3")
    if v3_sig is not None and "v3" in allowed:
        timestamp = headers.get("x-hubspot-request-timestamp")
        # ASCII digits, and not absurdly many (int() of 5,000 digits raises, not refuses).
        if (
            not timestamp
            or not (timestamp.isascii() and timestamp.isdigit())
            or len(timestamp) > 16
        ):
            return Verdict(False, "v3", "missing or malformed X-HubSpot-Request-Timestamp")
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
            return Verdict(False, "v3", "timestamp more than 5 minutes from now")
        for secret in secrets:
            expected = sign_v3(secret, method.upper(), uri, body, timestamp)
            if hmac.compare_digest(expected.encode(), v3_sig.encode()):
                return Verdict(True, "v3")
        return Verdict(False, "v3", "v3 signature does not match")
    legacy = headers.get("x-hubspot-signature")
    if "v3" in allowed and (legacy is not None or v3_sig is not None):
        return Verdict(
            False,
            reason="no X-HubSpot-Signature-v3: v1/v2 signatures are not accepted while v3 is "
            "(HubSpot sends v3 with every request)",
        )
    version = (headers.get("x-hubspot-signature-version") or "v1").lower()
    if legacy is not None and version in allowed and version in {"v1", "v2"}:
        for secret in secrets:
            if version == "v1":
                expected = sign_v1(secret, body)
            else:
                expected = sign_v2(secret, method.upper(), uri, body)
            if hmac.compare_digest(expected.encode(), legacy.lower().encode()):
                return Verdict(True, version)
        return Verdict(False, version, f"{version} signature does not match")
    if legacy is not None or v3_sig is not None:
        return Verdict(False, reason="signature version not accepted by configuration")
    return Verdict(False, reason="no HubSpot signature header")
