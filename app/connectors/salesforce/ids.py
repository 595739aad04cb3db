"""Salesforce record ids: 15-character (case-sensitive) and 18-character (case-safe) forms.

Outbound messages, Flows and the REST API do not agree on which form they send, so every id
that crosses our boundary is normalised to the 18-character form before it is compared or
stored (the deal queue would otherwise hold the same opportunity twice).
"""

from __future__ import annotations

import re

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def _suffix(id15: str) -> str:
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out.append(_ALPHABET[bits])
    return "".join(out)


def is_salesforce_id(value: str) -> bool:
    return bool(_ID.match(value or ""))


def to18(value: str) -> str:
    """The 18-character form of a 15- or 18-character id. Raises ValueError otherwise."""
    value = (value or "").strip()
    if not _ID.match(value):
        raise ValueError(f"not a Salesforce id: {value!r}")
    if len(value) == 18:
        # The suffix encodes the case of the first 15: a wrong suffix means a mangled id.
        if value[15:].upper() != _suffix(value[:15]):
            raise ValueError(f"not a Salesforce id (bad checksum): {value!r}")
        return value[:15] + value[15:].upper()
    return value + _suffix(value)


def same_id(a: str | None, b: str | None) -> bool:
    """Whether two ids name the same record, whatever their forms."""
    if not a or not b:
        return False
    try:
        return to18(a) == to18(b)
    except ValueError:
        return False
