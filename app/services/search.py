"""Text search in list endpoints: what a user types is searched for literally."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement

from app.db import SQLITE_LOWER


def lower(column: Any, dialect: str) -> ColumnElement:
    """SQL lower() of `column` as Python's str.lower folds, on SQLite (`SQLITE_LOWER`) and on
    PostgreSQL alike: lower-case the searched text with `str.lower` to compare."""
    return getattr(func, SQLITE_LOWER)(column) if dialect == "sqlite" else func.lower(column)


def contains_text(column: ColumnElement, text: str) -> ColumnElement[bool]:
    """`column LIKE '%text%'` with `%` and `_` (and the escape character) in `text` escaped, so
    `q=_` finds underscores instead of every row. Same on SQLite and PostgreSQL (an explicit
    ESCAPE clause: SQLite has no default escape character)."""
    return column.contains(text, autoescape=True)
