"""Dependencies: settings, session (the request owns the transaction), the caller and roles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import read_only
from app.errors import Forbidden, Unauthorized
from app.security import Role, authenticate
from app.settings import Settings


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


def _credentials(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None,
    header_key: str | None,
) -> str | None:
    if bearer is not None:
        return bearer.credentials
    if header_key:
        return header_key
    # The dashboard signs in once and keeps the key in an HttpOnly cookie.
    return request.cookies.get("rg_api_key")


def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    key = _credentials(request, bearer, header_key)
    if not key:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    # A short session of its own: authentication must not ride in the handler's transaction.
    with Session(read_only(request.app.state.engine)) as session:
        row = authenticate(session, key)
        if row is None:
            raise Unauthorized("invalid or revoked API key")
        principal = Principal(key_id=row.id, name=row.name, role=Role(row.role))
    request.state.principal = principal
    return principal


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
