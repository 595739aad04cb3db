"""Domain errors carry their HTTP status; one handler in main.py renders them.

422 is kept for payload shape (FastAPI/pydantic validation); these are for everything else.
"""

from __future__ import annotations

import collections.abc
import difflib
import json
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout


def json_path(loc: Sequence[str | int]) -> str:
    """A validation error's location as a JSON path: ("rules", 0, "severity") ->
    "rules[0].severity"."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_details(
    errors: Iterable[Mapping[str, Any]], model: Any = None
) -> list[dict[str, Any]]:
    """pydantic errors as every error body lists them: {loc, path, msg, type}.

    `model` is the type the errors' locations start from (a route's body model): with it, a
    key that is not allowed is answered with the key meant, or with the keys allowed there."""
    return [_detail(e["loc"], error_message(e, model), e["type"]) for e in errors]


def _detail(loc: Sequence[str | int], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": list(loc), "path": json_path(loc), "msg": msg, "type": kind}


def summary(details: Sequence[Mapping[str, Any]]) -> str:
    """A 422's message: the first mistake with its path, and how many more `details` list."""
    if not details:
        return "body: invalid request"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return f"{details[0]['path']}: {details[0]['msg']}{more}"


def _unknown_key_hint(error: Mapping[str, Any], model: Any) -> str:
    """ "; did you mean 'snapshots'?" for a misspelt key, else "; allowed here: ..." (a key
    from another shape, such as `sku` where a mapping takes `match_kind` and `match_value`).

    pydantic's "Extra inputs are not permitted" names neither; the allowed keys are found by
    following the error's location through `model`'s fields."""
    loc = error.get("loc") or ()
    if model is None or error.get("type") != "extra_forbidden" or not loc:
        return ""
    given = loc[-1]
    allowed = keys_at(model, loc[:-1])
    if not allowed or not isinstance(given, str):
        return ""
    return did_you_mean(given, allowed) or "; allowed here: " + ", ".join(allowed)


def keys_at(model: Any, loc: Sequence[str | int]) -> list[str]:
    """The keys an object at `loc` inside `model` may have (several shapes: all of them)."""
    kinds = _members(model)
    for part in loc:
        step: list[Any] = []
        for kind in kinds:
            origin = typing.get_origin(kind)
            if isinstance(part, int):
                if origin in (list, tuple, set, frozenset, collections.abc.Sequence):
                    step.extend(_members(typing.get_args(kind)[0]))
            elif _is_model(kind):
                for name, field in kind.model_fields.items():
                    if part in (name, field.alias):
                        step.extend(_members(field.annotation))
            elif origin in (dict, collections.abc.Mapping) and len(typing.get_args(kind)) == 2:
                step.extend(_members(typing.get_args(kind)[1]))
        # A part that is no key (a union's tag such as "<field-ref>" or a member's name):
        # the location stays where it was.
        kinds = step or kinds
    keys: dict[str, None] = {}
    for kind in kinds:
        if _is_model(kind):
            keys.update(dict.fromkeys(f.alias or n for n, f in kind.model_fields.items()))
    return list(keys)


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _members(kind: Any) -> list[Any]:
    """`kind` without Annotated/Optional/Union wrappers: every type it may be."""
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        return _members(typing.get_args(kind)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(kind) for m in _members(arg)]
    return [kind]


def error_message(error: Mapping[str, Any], model: Any = None) -> str:
    """A pydantic error's `msg` with the hint that makes it actionable: the choice or the key
    most likely meant, or the keys allowed where a key is not (see `validation_details`)."""
    return (
        _own_message(error)
        + _did_you_mean(error)
        + _unknown_key_hint(error, model)
        + _format_hint(error)
        + _type_hint(error)
    )


# Strict JSON types (rule definitions: "off" is not false, "30" is not 30): pydantic says
# "Input should be a valid boolean"; the writer needs what to write, and what they wrote.
_TYPE_HINTS = {
    "bool_type": "write true or false, without quotes",
    "int_type": "write a whole number, without quotes",
    "float_type": "write a number, without quotes",
    "string_type": "write text in double quotes",
}


def _type_hint(error: Mapping[str, Any]) -> str:
    hint = _TYPE_HINTS.get(error.get("type", ""))
    if hint is None or "input" not in error:
        return ""
    try:
        given = json.dumps(error["input"])
    except (TypeError, ValueError):
        return f": {hint}"
    return f": {hint} (got {given[:60]})"


def _own_message(error: Mapping[str, Any]) -> str:
    """The error's `msg`; a validator's own message without pydantic's "Value error, " before
    it, which tells the writer nothing ("must include a timezone", not "Value error, must...")."""
    msg = error["msg"]
    return msg.removeprefix("Value error, ") if error.get("type") == "value_error" else msg


# pydantic's date and time errors say what failed ("input is too short" for "Q3 2027"), not
# what to write instead.
_DATE_ERRORS = frozenset(
    ("date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type")
)
_DATETIME_ERRORS = frozenset(("datetime_parsing", "datetime_from_date_parsing", "datetime_type"))


def _format_hint(error: Mapping[str, Any]) -> str:
    """ "; write a date as YYYY-MM-DD (e.g. 2027-09-30)" after a date that does not parse, and
    the ISO 8601 form after a time that does not."""
    kind = error.get("type")
    if kind in _DATE_ERRORS:
        return "; write a date as YYYY-MM-DD (e.g. 2027-09-30)"
    if kind in _DATETIME_ERRORS:
        return "; write a time as ISO 8601 with its offset (e.g. 2027-09-30T17:00:00Z)"
    return ""


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


# JSON nested deeper than this is refused before any route parses it (`RefuseNulMiddleware`,
# the mapping import): no body the API takes comes near it (a rule's conditions nest 40 deep at
# most), and Python's parser gives up at an unspecified depth near 1,000 (a RecursionError:
# FastAPI's vague 400), so the limit must be one of ours to be said precisely.
MAX_JSON_DEPTH = 256
JSON_TOO_DEEP = f"not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels"
# A JSON string, escapes included; one left open runs to the end (never a failed match that
# the scan would retry from each later quote: quadratic on '"\\"\\"...').
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
# `json_too_deep` looks at a text this much at a time. re, bytes and str methods hold the GIL
# from start to end, and a thread gets its turn only between two Python instructions: one
# pattern over an 8 MB body held the event loop for 0.2-0.6 s from the worker thread checking
# it (1.3 s for a string of escaped quotes), every webhook ack waiting (security review 11).
# Over a slice each call took 3 ms at most here (a slice of empty strings; a slice of text
# is encoded first: up to 4 bytes a character).
_SLICE = 64 * 1024
# Appended to a slice with its strings removed, what is left of it says where the slice ended:
# outside a string, 'a' is left ('"b' opens a string running to the end); inside one, the quote
# closes it and 'b' is left.
_ENDS_WHERE = b'a"b'
_OPENING = frozenset(b"[{")


def json_too_deep(text: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON `text` nests arrays and objects more than `limit` deep (brackets inside
    strings do not count). Text with no more than `limit` opening brackets is not read further,
    so an ordinary body costs two counts; what is not JSON is left to the parser to report.

    Every step looks at one `_SLICE` of the text at most, so that a large body checked in a
    worker thread lets the event loop run between two steps."""
    if _opening_brackets(text, limit) <= limit:
        return False
    brackets = _brackets_outside_strings(text)
    # Each pass drops the innermost pairs, exactly one level off every nesting: a flat body (a
    # list of objects) is gone after a few, without the count below. Both kinds at once:
    # dropping `[]` and then `{}` took two levels off '{[]}' at once, and bodies alternating
    # objects and arrays passed up to four levels past the limit.
    for _ in range(4):
        brackets = _without_innermost_pairs(brackets)
        limit -= 1
    return _deeper_than(brackets, limit)


def _opening_brackets(text: bytes | str, limit: int) -> int:
    """How many `[` and `{` `text` holds, counted up to the first slice that takes it past
    `limit`."""
    opening = ("[", "{") if isinstance(text, str) else (b"[", b"{")
    count = 0
    for start in range(0, len(text), _SLICE):
        piece = text[start : start + _SLICE]
        count += piece.count(opening[0]) + piece.count(opening[1])
        if count > limit:
            break
    return count


def _brackets_outside_strings(text: bytes | str) -> list[bytes]:
    """The brackets of `text` outside its strings, in order, in pieces (one a slice): what
    `_JSON_STRING.sub(b"", text).translate(None, _NOT_BRACKETS)` is, a slice at a time. A slice
    starting inside a string is looked at after a quote opening it (and a backslash when the
    previous slice ended on a backslash escaping its first byte)."""
    pieces = []
    inside = escaped = False
    for start in range(0, len(text), _SLICE):
        piece = text[start : start + _SLICE]
        chunk = piece.encode() if isinstance(piece, str) else piece
        if inside:
            chunk = (b'"\\' if escaped else b'"') + chunk
        left = _JSON_STRING.sub(b"", chunk + _ENDS_WHERE)
        inside = left.endswith(b"b")
        if inside:
            # the backslashes ending it start after a character or an escape (or the quote):
            # an odd run escapes the next slice's first byte
            escaped = (len(chunk) - len(chunk.rstrip(b"\\"))) % 2 == 1
        pieces.append(left.translate(None, _NOT_BRACKETS))
    return pieces


def _without_innermost_pairs(pieces: list[bytes]) -> list[bytes]:
    """`pieces` without each `[]` and `{}` they hold once joined, all dropped at once (a pair
    that dropping another one makes is kept). An opening bracket ending a piece goes with the
    next one, so that no pair is split between two."""
    out = []
    carried = b""
    for piece in pieces:
        piece = carried + piece
        carried = b""
        if piece and piece[-1] in _OPENING:
            piece, carried = piece[:-1], piece[-1:]
        # '[]' and '{}' never overlap; '{[]}' must not become '{}' and go too: '[]' is
        # replaced by a byte that keeps its neighbours apart, then dropped
        out.append(piece.replace(b"[]", b"-").replace(b"{}", b"").replace(b"-", b""))
    out.append(carried)
    return out


def _deeper_than(pieces: list[bytes], limit: int) -> bool:
    """Whether the brackets in `pieces` (an opening one a level more, a closing one a level
    less) reach past `limit`. A piece whose every opening bracket could not take the depth past
    it is counted, not walked."""
    depth = 0
    for piece in pieces:
        opening = piece.count(b"[") + piece.count(b"{")
        if depth + opening <= limit:
            depth += 2 * opening - len(piece)
            continue
        for char in piece:
            if char in _OPENING:
                depth += 1
                if depth > limit:
                    return True
            else:
                depth -= 1
    return False


_DIGITS_LIMIT = re.compile(r"Exceeds the limit \((\d+) digits\) for integer string conversion")


def too_many_digits(exc: BaseException | None) -> str | None:
    """What to say of a JSON number Python refused to read for its length (`ValueError:
    Exceeds the limit (4300 digits) for integer string conversion`), else None: no value the
    API takes has that many digits, and the parser's own words name an interpreter setting."""
    if not isinstance(exc, ValueError):
        return None
    found = _DIGITS_LIMIT.search(str(exc))
    if found is None:
        return None
    return f"not valid JSON: a number with more than {int(found.group(1)):,} digits"


def not_json_body(msg: str) -> dict[str, Any]:
    """The 422 `invalid_request` body for a request body that is not JSON the API can read
    (not UTF-8, nested too deeply): the one mistake at path `body`, with FastAPI's `detail`."""
    detail = {"loc": ["body"], "path": "body", "msg": msg, "type": "json_invalid"}
    return {
        "error": {"code": "invalid_request", "message": f"body: {msg}", "details": [detail]},
        "detail": [{k: detail[k] for k in ("loc", "msg", "type")}],
    }


class ErrorInfo(BaseModel):
    code: str  # "not_found", "invalid", "invalid_request", "conflict", "unauthorized", ...
    message: str  # what is wrong, in a sentence; for 422s the first mistake and its path
    details: Any = None  # per error: for 422s, every mistake as {loc, path, msg, type}


class ErrorResponse(BaseModel):
    """Every error answer's body (documented in the OpenAPI document: `document_errors`)."""

    error: ErrorInfo


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After

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


class InvalidRequest(Invalid):
    """A mistake in the request's shape found outside pydantic (a query parameter the route
    does not define, an unknown sort key, a date range backwards, a body field that names
    nothing): the same 422 `invalid_request` body as pydantic's shape errors, `details` listing
    each as {loc, path, msg, type}, so one client handler reads them all."""

    code = "invalid_request"

    def __init__(self, errors: list[dict[str, Any]], *, rendered: bool = False) -> None:
        """`rendered`: each error's `msg` already carries its hints (error_message was applied),
        so it is kept as it is."""
        details = (
            [_detail(e["loc"], e["msg"], e["type"]) for e in errors]
            if rendered
            else validation_details(errors)
        )
        super().__init__(summary(details), details=details)

    @classmethod
    def at(
        cls, loc: Sequence[str | int], msg: str, *, input: Any = None, type: str = "value_error"
    ) -> InvalidRequest:
        """One mistake at `loc` (("query", "sort"), ("body", "expires_at"))."""
        return cls([{"loc": tuple(loc), "msg": msg, "type": type, "input": input}])


class ServiceUnavailable(DomainError):
    status_code = 503
    code = "unavailable"


class WriteSlotBusy(ServiceUnavailable, TimeoutError):
    """SQLite's one write slot stayed taken (a large import, a fan-out) past the wait: the
    request wrote nothing and may be sent again. A TimeoutError too, for callers that wait."""

    retry_after = 5


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached (refused, gone, shutting down, out of connections): the
    same 503 `unavailable` the webhook routes answer when a delivery cannot be stored. The
    request's transaction did not commit, so nothing of it was written; send it again."""

    retry_after = 5


# PostgreSQL SQLSTATEs of a database that cannot serve us, not of a statement we got wrong:
# class 08 (connection exception), 53 (insufficient resources: too many connections, disk
# full), 57P01-57P03 (admin or crash shutdown, cannot connect now).
_PG_UNAVAILABLE_CLASSES = ("08", "53")
_PG_UNAVAILABLE_STATES = frozenset({"57P01", "57P02", "57P03"})
# SQLite's: its file cannot be opened or read, or another process holds the write lock.
_SQLITE_UNAVAILABLE = ("unable to open database file", "disk i/o error", "database is locked")


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached or used right now, as opposed to a
    statement the code got wrong (a missing table or column, a syntax error: still a 500).

    Yes for a connection SQLAlchemy found dead (`connection_invalidated`), a failure to
    connect at all (an OperationalError with no statement), the pool's own timeout, and
    OperationalErrors whose driver code says the server is unavailable."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if exc.statement is None:  # raised while connecting: refused, unknown host, ...
        return True
    orig = exc.orig
    module = type(orig).__module__
    if module.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        if state is None:  # raised by the client: the connection closed or broke
            return True
        return state[:2] in _PG_UNAVAILABLE_CLASSES or state in _PG_UNAVAILABLE_STATES
    if module.startswith("sqlite3"):
        message = str(orig).lower()
        return any(text in message for text in _SQLITE_UNAVAILABLE)
    return False


class DatabaseCollision(ServiceUnavailable):
    """PostgreSQL aborted the request's transaction for a deadlock or a serialization failure
    with concurrent work (another request, the worker, a fan-out): nothing of it was written,
    and sending it again, a moment later, normally succeeds."""

    retry_after = 1


# PostgreSQL SQLSTATEs of a transaction rolled back because of concurrent work: 40001
# (serialization_failure), 40P01 (deadlock_detected).
_PG_COLLISION_STATES = frozenset({"40001", "40P01"})


def database_collision(exc: BaseException) -> bool:
    """Whether `exc` is a deadlock or serialization failure (psycopg's DeadlockDetected,
    SerializationFailure, as SQLAlchemy wraps them): the transaction collided with concurrent
    work and was rolled back, not a statement the code got wrong."""
    if not isinstance(exc, DBAPIError) or exc.connection_invalidated:
        return False
    orig = exc.orig
    if not type(orig).__module__.startswith("psycopg"):
        return False
    return getattr(orig, "sqlstate", None) in _PG_COLLISION_STATES


def database_collision_error(exc: BaseException) -> DatabaseCollision:
    """The 503 for `exc` (see `database_collision`): what kind of collision, without the
    driver's message (it names tables and process ids)."""
    kind = type(getattr(exc, "orig", None) or exc).__name__
    return DatabaseCollision(
        f"the request collided with concurrent work ({kind}) and was rolled back: nothing was "
        "written; it can be sent again",
        details={"reason": "database_collision", "error": kind},
    )


def database_unavailable_error(exc: BaseException) -> DatabaseUnavailable:
    """The 503 for `exc` (see `database_unavailable`): says the database is the cause, and
    what kind of failure, without the driver's message (it may name hosts and users)."""
    kind = type(getattr(exc, "orig", None) or exc).__name__
    return DatabaseUnavailable(
        f"database unavailable ({kind}): nothing was written; try again shortly",
        details={"reason": "database_unavailable", "error": kind},
    )


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
