"""Dependencies: settings, session (the request owns the transaction), the caller and roles."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

import structlog
from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.db import read_only, session_scope
from app.errors import (
    DomainError,
    ErrorResponse,
    Forbidden,
    InvalidRequest,
    Unauthorized,
    did_you_mean,
)
from app.models.types import RequestDate, not_a_timestamp
from app.security import TOUCH_INTERVAL, Role, authenticate, hash_key, touch, touch_due
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


# Integers that reach SQL: ids and offsets are 64-bit (BIGINT on PostgreSQL, the rowid on
# SQLite). A larger one in a path or query failed inside the driver with a 500, not a 422.
DB_INT_MAX = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX, description="the row's id")]
Offset = Annotated[int, Query(ge=0, le=DB_INT_MAX, description="rows to skip")]
# The page size of the API's lists (`{total, limit, offset, items}`), default 50.
PageLimit = Annotated[int, Query(ge=1, le=500, description="rows per page")]

# A 201's headers (RFC 9110 15.3.2): where the created resource is read, and its ETag for an
# If-Match on the next write. Declared on each create route's 201 (`responses=CREATED`).
CREATED = {
    201: {
        "headers": {
            "Location": {
                "description": "the path of what was created (GET it there)",
                "schema": {"type": "string"},
            },
            "ETag": {
                "description": "its ETag, for If-Match on a later write",
                "schema": {"type": "string"},
            },
        }
    }
}


def if_match_header(entity: str):
    """The If-Match header of a write to `entity` (a feature, a mapping), as documented."""
    return Annotated[
        str | None,
        Header(
            alias="If-Match",
            description=f"the ETag a read of the {entity} answered: the write is a 412 if the "
            f"{entity} changed since; without it the write goes through whatever changed",
        ),
    ]


def precondition(entity: str) -> dict:
    """The 412 a write to `entity` declares, for `if_match_header`."""
    return {
        412: {
            "model": ErrorResponse,
            "description": f"If-Match names another ETag than the {entity}'s: it changed since "
            "it was read; nothing was written (details: the ETag now)",
        }
    }


def created_at(response: Response, path: str, etag: str) -> None:
    """Set a 201's Location (`path`, the resource's own /api/ path) and ETag."""
    response.headers["Location"] = path
    response.headers["ETag"] = etag


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    """One page of an API list. Each list names its own subclass, e.g.
    `class RulePage(Page[RulePublic]): pass`, so its OpenAPI component keeps that name."""

    total: int
    limit: int
    offset: int
    items: list[ItemT]


# Dates and times from a request that the service shifts (a day added to an inclusive end, a
# time zone converted to UTC for storage or comparison): at the calendar's ends (0001-01-01,
# 9999-12-31) that arithmetic overflowed into a 500. Both are refused with a 422 instead.
_FIRST, _LAST = date(1, 1, 2), date(9999, 12, 30)


def _representable_date(value: date) -> date:
    if not _FIRST <= value <= _LAST:
        raise ValueError(f"must be between {_FIRST.isoformat()} and {_LAST.isoformat()}")
    return value


def _representable_datetime(value: datetime) -> datetime:
    _representable_date(value.date())
    return value


# A date from a query string: a number is refused (see `not_a_timestamp`).
QueryDate = RequestDate
# ... that the service shifts (see `_representable_date`).
SafeDate = Annotated[QueryDate, AfterValidator(_representable_date)]


def _not_a_timestamp_time(value: object) -> object:
    """`not_a_timestamp` for a date and time: "since=0" was 1970-01-01T00:00:00Z."""
    try:
        return not_a_timestamp(value)
    except ValueError:
        raise ValueError(
            "must be a date and time in ISO 8601 (e.g. 2027-03-31T09:00:00Z), not a number"
        ) from None


SafeDateTime = Annotated[
    datetime, BeforeValidator(_not_a_timestamp_time), AfterValidator(_representable_datetime)
]

SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
# scope="function": the commit runs when the handler returns, before the answer is sent, so a
# failing commit (a constraint, a lost connection) answers 409/5xx instead of a 200 for a write
# that did not happen. With the default scope the commit ran after the response was sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

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


class ApiKeyCache:
    """Keys this process authenticated in the last `ttl` seconds, so a busy caller (a webhook
    sender, a dashboard) costs one database read per key per `ttl`, not one per request.

    Entries are keyed by the key's SHA-256, never the key. Only successes are kept: a wrong key
    always reaches the database. A key revoked through this process (admin API) is refused at
    once; one revoked elsewhere (the CLI, another replica) within `ttl`. `ttl` 0 turns it off.
    Measured: the per-request key lookup was a third of the webhook ack's CPU (benchmarks/
    ingest.py, 8 senders: 20k -> 28k events/s with the cache).
    """

    MAX_ENTRIES = 4096

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, tuple[float, Principal, datetime | None]] = {}
        self._revoked: set[int] = set()
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> tuple[Principal, datetime | None] | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        expires, principal, last_used_at = entry
        if expires <= self.clock() or principal.key_id in self._revoked:
            self._entries.pop(key_hash, None)
            return None
        return principal, last_used_at

    def put(self, key_hash: str, principal: Principal, last_used_at: datetime | None) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if principal.key_id in self._revoked:
                return
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_hash] = (self.clock() + self.ttl, principal, last_used_at)

    def revoked(self, key_id: int) -> None:
        """Refuse `key_id` from now on, before its revocation is committed (never un-revoked)."""
        with self._lock:
            self._revoked.add(key_id)
            for key_hash, (_, principal, _) in list(self._entries.items()):
                if principal.key_id == key_id:
                    del self._entries[key_hash]


def api_key_cache(app) -> ApiKeyCache:
    cache = getattr(app.state, "api_key_cache", None)
    if cache is None:
        cache = app.state.api_key_cache = ApiKeyCache(app.state.settings.api_key_cache_seconds)
    return cache


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


async def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    key = _credentials(request, bearer, header_key)
    principal, last_used_at = await verified_key(request, key)
    assert principal.key_id is not None
    record_key_use(request, principal.key_id, last_used_at)
    request.state.principal = principal
    return principal


async def verified_key(request: Request, key: str | None) -> tuple[Principal, datetime | None]:
    """The principal of `key` (from `_credentials`) and its stored last use, or Unauthorized
    saying what is missing or wrong. Checked against `ApiKeyCache` first."""
    if not key:
        if request.cookies.get(COOKIE):
            raise Unauthorized(
                "the dashboard cookie only authorizes reads (GET): "
                "send 'Authorization: Bearer <key>'"
            )
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    cache = api_key_cache(request.app)
    key_hash = hash_key(key)
    cached = cache.get(key_hash)
    if cached is None:  # the database read off the event loop; a cache hit needs neither
        cached = await run_in_threadpool(_lookup_key, request.app.state.engine, key)
        cache.put(key_hash, *cached)
    return cached


async def request_credentials(request: Request) -> str | None:
    """The API key a request carries, read as `get_principal` reads it (Bearer, X-API-Key, on
    a read the dashboard's cookie), from its headers alone: the body is not touched."""
    return _credentials(request, await _bearer(request), await _header(request))


def record_key_use(request: Request, key_id: int, last_used_at: datetime | None) -> None:
    """Record the key's `last_used_at`, at most once a minute per key and app, off the
    request's path: it never waits for this write (on SQLite it would queue behind the
    process's other writers), and it happens however the request ends. The API's
    authentication and the dashboard's sign-in cookie both record use through here."""
    if _claim_touch(request, key_id, last_used_at):
        _touch_pool.submit(_touch, request.app.state.engine, key_id)


def _lookup_key(engine: Engine, key: str) -> tuple[Principal, datetime | None]:
    # A short session of its own: authentication must not ride in the handler's transaction.
    with Session(read_only(engine)) as session:
        row = authenticate(session, key)
        if row is None:
            raise Unauthorized("invalid or revoked API key")
        return Principal(key_id=row.id, name=row.name, role=Role(row.role)), row.last_used_at


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


def refuse_role(principal: Principal, allowed: frozenset[Role] | set[Role]) -> None:
    """Forbidden (403) unless the principal's role is one of `allowed`."""
    if principal.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"role '{principal.role.value}' may not do this; needs one of: {names}")


def allowed_roles(dependant) -> frozenset[Role] | None:
    """The roles the `require_roles` check in a route's dependency tree admits; None if the
    route has none."""
    found = getattr(dependant.call, "allowed_roles", None)
    if found is not None:
        return found
    for sub in dependant.dependencies:
        found = allowed_roles(sub)
        if found is not None:
            return found
    return None


def require_roles(*roles: Role):
    """Dependency that admits the given roles; admin is always admitted."""
    allowed = {Role.admin, *roles}

    async def _check(
        request: Request, principal: Annotated[Principal, Depends(get_principal)]
    ) -> Principal:
        refuse_role(principal, allowed)
        await refuse_non_json_body(request)
        return principal

    _check.allowed_roles = frozenset(allowed)  # read by the role-matrix test
    return _check


READ_ROLES = (Role.revops, Role.engineering, Role.viewer, Role.approver)
# Roles that read an operational error whole (a queue row's, a roadmap source's): any
# exception's text as stored. The other read roles see a connector's or our own message as it
# is, and an unexpected exception's (SQL, hostnames, addresses) replaced.
ERROR_DETAIL_ROLES = frozenset({Role.admin, Role.revops})
ReadPrincipal = Annotated[Principal, Depends(require_roles(*READ_ROLES))]
RevOpsPrincipal = Annotated[Principal, Depends(require_roles(Role.revops))]
ApproverPrincipal = Annotated[Principal, Depends(require_roles(Role.approver))]
AdminPrincipal = Annotated[Principal, Depends(require_roles())]


class UnsupportedMediaType(DomainError):
    status_code = 415
    code = "unsupported_media_type"


def _json_media(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


async def refuse_non_json_body(request: Request) -> None:
    """Refuse a JSON route's body sent without a JSON Content-Type (415): `curl -d` sends
    application/x-www-form-urlencoded, and the route read a JSON object as text, answering
    "body: Input should be a valid dictionary or object", which it was. Run once the caller
    is authenticated and authorized (`require_roles`): a 401 or 403 comes first."""
    route = request.scope.get("route")
    if route is None or not request.url.path.startswith("/api/"):
        return
    body_field = getattr(route, "body_field", None)
    content_type = request.headers.get("content-type", "")
    if body_field is not None and not _json_media(content_type) and await request.body():
        raise UnsupportedMediaType(
            "the body must be JSON sent with 'Content-Type: application/json' (got "
            + (f"'{content_type}'" if content_type else "no Content-Type")
            + "); nothing was written"
        )


def check_params(request: Request) -> None:
    """Refuse query parameters an /api/ route does not define, naming them: a misspelt filter
    (`?availabilty=never`) silently answered with everything. Applied to every route (see
    create_app); paths outside /api/ (webhooks, the dashboard) are left as they are."""
    route = request.scope.get("route")
    if route is None or not request.url.path.startswith("/api/"):
        return
    from fastapi.dependencies.utils import field_annotation_is_sequence

    known: set[str] = set()
    single: set[str] = set()  # parameters that take one value
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        for p in dependant.query_params:
            known.add(p.alias)
            if not field_annotation_is_sequence(p.field_info.annotation):
                single.add(p.alias)
        stack.extend(dependant.dependencies)
    # `?availability=coming_soon&availability=never` on a one-value parameter answered for the
    # last value alone, as if the first had not been sent
    repeated = sorted(
        name
        for name in single & set(request.query_params)
        if len(request.query_params.getlist(name)) > 1
    )
    if repeated:
        raise InvalidRequest(
            [
                {
                    "loc": ("query", name),
                    "msg": f"given {len(request.query_params.getlist(name))} times; this "
                    "parameter takes one value",
                    "type": "value_error",
                    "input": request.query_params.getlist(name),
                }
                for name in repeated
            ]
        )
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        allowed = sorted(known)
        raise InvalidRequest(
            [
                {
                    "loc": ("query", name),
                    "msg": f"unknown query parameter '{name}'"
                    + (
                        did_you_mean(name, allowed) or "; allowed here: " + ", ".join(allowed)
                        if allowed
                        else "; this route takes none"
                    ),
                    "type": "extra_forbidden",
                    "input": request.query_params.get(name),
                }
                for name in unknown
            ]
        )
