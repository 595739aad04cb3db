"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator
from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.types import TypeDecorator

# Row ids and the columns that point at them: 64-bit everywhere. PostgreSQL's INTEGER (and the
# sequence SERIAL makes) ends at 2,147,483,647, which the tables rewritten on every evaluation
# (deal_feature) or fed by every webhook reach within a year or two of busy use. SQLite keeps
# INTEGER: only `INTEGER PRIMARY KEY` is its 64-bit rowid with autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def not_a_timestamp(value: object) -> object:
    """pydantic reads a number as Unix time: "close_from=0" was 1970-01-01, a typo in a filter
    that matched every deal, and `"target_date": 0` a feature due in 1970. A date in a request
    is written as a date."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d+(?:\.\d*)?\s*", value)
    ):
        raise ValueError("must be a date as YYYY-MM-DD (e.g. 2027-03-31), not a number")
    return value


# A date in a request (query or body): see `not_a_timestamp`.
RequestDate = Annotated[date, BeforeValidator(not_a_timestamp)]


def web_link(value: str | None) -> str | None:
    """`value` when it is an http(s) URL with a host, else None: a link we show or write into
    a CRM record must open a page, never run (a "javascript:" URL) or open a local file. Not
    one with a user part before its host ("https://roadmap.acme.com@evil.example/sso" reads
    as acme's and opens evil.example), nor one whose host holds a space or a backslash."""
    if not value:
        return None
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or not host:
        return None
    if "@" in parts.netloc or any(c in parts.netloc for c in " \\\t\n"):
        return None
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a time without a zone is taken as UTC (as `UTCDateTime` stores it)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


NUL = "\x00"
# How JSON writes it (json.dumps and pydantic alike): one C-level scan of a serialised value
# finds out whether `storable` has anything to do.
NUL_IN_JSON = "\\u0000"
# What a NUL character becomes: visible in a quote, and storable.
NUL_REPLACEMENT = "\ufffd"
M = TypeVar("M", bound=BaseModel)


def storable(value: Any) -> Any:
    """`value` with every NUL character in its text (nested dicts and lists included)
    replaced by U+FFFD; the same object when there is none.

    PostgreSQL text cannot hold NUL. Text from outside (a CRM deal name or note, a webhook
    payload, a roadmap item) carrying one made every write of it fail: the deal went dead after
    its attempts, a webhook batch was refused until its sender gave up on it, and a roadmap
    refresh failed for good. Cleaned where such text enters, it is stored the same on both
    databases."""
    return map_text(value, _nul_free)


def _nul_free(text: str) -> str:
    return text.replace(NUL, NUL_REPLACEMENT) if NUL in text else text


def map_text(value: Any, fix: Callable[[str], str]) -> Any:
    """`value` with `fix` applied to every string in it (nested dicts, their keys, lists and
    tuples included); the same object when `fix` returned each string unchanged, so the
    usual clean value costs no copy."""
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, dict):
        changed, out = False, {}
        for k, v in value.items():
            ck, cv = map_text(k, fix), map_text(v, fix)
            changed = changed or ck is not k or cv is not v
            out[ck] = cv
        return out if changed else value
    if isinstance(value, list | tuple):
        items = [map_text(v, fix) for v in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            return type(value)(items)
        return value
    return value


def storable_model(model: M) -> M:
    """`storable` for a pydantic model: the same model when no text of it holds NUL (checked on
    its JSON, so a deal read from the CRM is not walked value by value for a rare case)."""
    if NUL_IN_JSON not in model.model_dump_json():
        return model
    dumped = model.model_dump()
    cleaned = storable(dumped)
    return model if cleaned is dumped else type(model).model_validate(cleaned)


class UTCDateTime(TypeDecorator):
    """Always timezone-aware UTC in Python; stored as UTC on both databases.

    SQLite has no timezone type and hands back naive datetimes, which then refuse to compare
    with aware ones; this normalises both directions.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
