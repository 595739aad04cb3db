"""HMAC-SHA256 signatures for the JSON events endpoint (Flow HTTP callouts, Apex, relays).

Signed string: the timestamp header, a dot, then the raw body bytes. Header
`X-Roadmap-Guard-Signature: v1=<hex>`; `X-Roadmap-Guard-Timestamp: <unix seconds>`. The
timestamp is inside the MAC so a captured request cannot be replayed outside the window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Roadmap-Guard-Timestamp"
SIGNATURE_HEADER = "X-Roadmap-Guard-Signature"
WINDOW_SECONDS = 300


class SignatureError(ValueError):
    pass


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float | None = None,
    window: int = WINDOW_SECONDS,
) -> None:
    """Raise SignatureError saying what is wrong; return None when the request is authentic.

    A blank secret verifies nothing: anyone can compute an HMAC with an empty key."""
    if not secret.strip():
        raise SignatureError("no events secret configured")
    if not timestamp:
        raise SignatureError(f"missing {TIMESTAMP_HEADER} header")
    if not signature:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    try:
        # unix seconds: 10 digits until 2286; a few hundred digits overflowed the float
        # subtraction below (a 500, with no secret needed)
        if len(timestamp.strip().lstrip("+-")) > 12:
            raise ValueError
        ts = int(timestamp)
    except ValueError:
        digits = timestamp.strip()
        if digits.isdigit() and len(digits) == 13:  # Apex's getTime(), JavaScript's Date.now()
            raise SignatureError(
                f"{TIMESTAMP_HEADER} must be unix seconds; {digits} looks like milliseconds "
                "(divide by 1000)"
            ) from None
        raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - ts) > window:
        raise SignatureError(f"timestamp outside the {window} s window")
    expected = sign(secret, timestamp, body)
    # Several signatures may be sent during a secret rotation: "v1=aa,v1=bb".
    candidates = [s.strip() for s in signature.split(",") if s.strip()]
    if not any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        raise SignatureError("signature does not match")
