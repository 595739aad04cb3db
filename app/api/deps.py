"""Dependencies: settings, session (the request owns the transaction), the caller and roles."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import read_only, session_scope
from app.errors import Forbidden, Unauthorized
from app.security import TOUCH_INTERVAL, Role, authenticate, touch, touch_due
from app.settings import Settings

log = structlog.get_logger("app.auth")


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    GET and HEAD handlers only read: their transaction takes no write lock on SQLite.
    """
    engine = request.app.state.engine
    if request.method in ("GET", "HEAD"):
        engine = read_only(engine)
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer rg_...`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key")


@dataclass(frozen=True)
class Principal:
    key_id: int | None
    name: str
    role: Role

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"


COOKIE = "rg_api_key"
COOKIE_METHODS = frozenset({"GET", "HEAD"})


def _credentials(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    header_key: str | None,
) -> str | None:
    if bearer is not None:
        return bearer.credentials
    if header_key:
        return header_key
    # The dashboard signs in once and keeps the key in an HttpOnly cookie; its links reach the
    # API's reads (CSV downloads). A browser attaches the cookie to requests other sites start,
    # so it never authorizes a change: writes need the key in a header (no CSRF to defend).
    if request.method in COOKIE_METHODS:
        return request.cookies.get(COOKIE)
    return None


def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    key = _credentials(request, bearer, header_key)
    if not key:
        if request.cookies.get(COOKIE):
            raise Unauthorized(
                "the dashboard cookie only authorizes reads (GET): "
                "send 'Authorization: Bearer <key>'"
            )
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    # A short session of its own: authentication must not ride in the handler's transaction.
    engine = request.app.state.engine
    with Session(read_only(engine)) as session:
        row = authenticate(session, key)
        if row is None:
            raise Unauthorized("invalid or revoked API key")
        principal = Principal(key_id=row.id, name=row.name, role=Role(row.role))
        last_used_at = row.last_used_at
    if _claim_touch(request, row.id, last_used_at):
        # Off the request's path: it never waits for this write (on SQLite it would queue
        # behind the process's other writers), and it happens however the request ends.
        _touch_pool.submit(_touch, engine, row.id)
    request.state.principal = principal
    return principal


_touch_lock = threading.Lock()
# One thread: the writes are rare (a key a minute) and never compete with each other.
_touch_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rg-key-touch")


def _claim_touch(request: Request, key_id: int, last_used_at: datetime | None) -> bool:
    """Whether this request should record the key's use: the stored time is a minute old and
    no other request of this app claimed the write in the last minute."""
    if not touch_due(last_used_at):
        return False
    now = time.monotonic()
    state = request.app.state
    with _touch_lock:
        claimed: dict[int, float] = getattr(state, "api_key_touches", None) or {}
        state.api_key_touches = claimed
        if now - claimed.get(key_id, -math.inf) < TOUCH_INTERVAL.total_seconds():
            return False
        claimed[key_id] = now
    return True


def _touch(engine: Engine, key_id: int) -> None:
    try:
        with session_scope(engine) as session:
            touch(session, key_id)
    except Exception as exc:  # bookkeeping: never worth a noisy trace
        log.warning("api key last_used_at not recorded", key_id=key_id, error=type(exc).__name__)


def wait_for_touches(timeout: float = 10.0) -> None:
    """Block until the last_used_at writes submitted so far are done (for tests)."""
    _touch_pool.submit(lambda: None).result(timeout=timeout)


def require_roles(*roles: Role):
    """Dependency that admits the given roles; admin is always admitted."""
    allowed = {Role.admin, *roles}

    def _check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role '{principal.role.value}' may not do this; needs one of: {names}")
        return principal

    _check.allowed_roles = frozenset(allowed)  # read by the role-matrix test
    return _check


READ_ROLES = (Role.revops, Role.engineering, Role.viewer, Role.approver)
ReadPrincipal = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
RevOpsPrincipal = Annotated[Principal, Depends(require_roles(Role.revops))]
ApproverPrincipal = Annotated[Principal, Depends(require_roles(Role.approver))]
AdminPrincipal = Annotated[Principal, Depends(require_roles())]
