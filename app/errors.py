"""Domain errors carry their HTTP status; one handler in main.py renders them.

422 is kept for payload shape (FastAPI/pydantic validation); these are for everything else.
"""

from __future__ import annotations

from typing import Any


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
