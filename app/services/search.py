"""Text search in list endpoints: what a user types is searched for literally."""

from __future__ import annotations

from sqlalchemy.sql.elements import ColumnElement


def contains_text(column: ColumnElement, text: str) -> ColumnElement[bool]:
    """`column LIKE '%text%'` with `%` and `_` (and the escape character) in `text` escaped, so
    `q=_` finds underscores instead of every row. Same on SQLite and PostgreSQL (an explicit
    ESCAPE clause: SQLite has no default escape character)."""
    return column.contains(text, autoescape=True)
