"""Domain errors carry their HTTP status; one handler in main.py renders them.

422 is kept for payload shape (FastAPI/pydantic validation); these are for everything else.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.exc import DataError, IntegrityError


def json_path(loc: Sequence[str | int]) -> str:
    """A validation error's location as a JSON path: ("rules", 0, "severity") ->
    "rules[0].severity"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """pydantic errors as every error body lists them: {loc, path, msg, type}."""
    return [
        {
            "loc": list(e["loc"]),
            "path": json_path(e["loc"]),
            "msg": e["msg"] + _did_you_mean(e),
            "type": e["type"],
        }
        for e in errors
    ]


def _did_you_mean(error: Mapping[str, Any]) -> str:
    """ "; did you mean 'feature.availability'?" for a misspelt choice, else "".

    A closed vocabulary answers a typo with every allowed value (27 field names for a rule's
    `field`); the one the writer meant is what they need to see."""
    given = error.get("input")
    expected = (error.get("ctx") or {}).get("expected")
    if error.get("type") not in ("literal_error", "enum") or not isinstance(given, str):
        return ""
    return did_you_mean(given, re.findall(r"'([^']*)'", str(expected)))


def did_you_mean(given: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'replace'?" when `given` is close to one of `choices`, else ""."""
    close = difflib.get_close_matches(given.strip().lower(), list(choices), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close and close[0] != given else ""


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class Invalid(DomainError):
    """Semantically invalid input that passed shape validation (e.g. unknown feature key)."""

    status_code = 422
    code = "invalid"


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


def integrity_conflict(exc: IntegrityError) -> Conflict:
    """The 409 for a write that broke a database constraint and was not caught by its service:
    most often two requests writing the same thing at once, the second losing the race.

    The request's transaction is rolled back, so nothing of it was written; the caller may
    reload and retry. Details name the constraint (PostgreSQL: its name; SQLite: its columns).
    """
    constraint = _constraint(exc)
    what = f" ({constraint})" if constraint else ""
    return Conflict(
        f"the write conflicts with existing data or a change made at the same time{what}; "
        "nothing was written: reload and retry",
        details={"constraint": constraint} if constraint else None,
    )


def unstorable_value(exc: DataError) -> Invalid:
    """The 422 for a value the database refused to store (a NUL character in text on
    PostgreSQL, a number beyond its column). Nothing was written: the transaction is rolled
    back. The driver's first line says what was wrong without the statement or its values."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else "invalid value"
    return Invalid(f"a value in the request cannot be stored: {reason}; nothing was written")


def _constraint(exc: IntegrityError) -> str | None:
    diag = getattr(exc.orig, "diag", None)  # psycopg
    if diag is not None and getattr(diag, "constraint_name", None):
        return diag.constraint_name
    message = str(exc.orig)  # sqlite3: "UNIQUE constraint failed: product_mapping.match_kind, ..."
    _, found, columns = message.partition("constraint failed: ")
    return (columns.strip() or None) if found else None
