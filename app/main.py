"""create_app(): routers, error rendering, lifespan (starts the embedded worker)."""

from __future__ import annotations

import gc
import math
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.connectors.base import CrmConnector
from app.db import make_engine
from app.errors import (
    JSON_TOO_DEEP,
    DomainError,
    database_collision,
    database_collision_error,
    database_unavailable,
    database_unavailable_error,
    integrity_conflict,
    not_json_body,
    summary,
    too_many_digits,
    unstorable_value,
    validation_details,
)
from app.jobs.ingest import IngestWriter
from app.services import catalog as catalog_service
from app.settings import Settings, get_settings

log = structlog.get_logger("app.errors")


def _routers():
    # Imported here so that importing app.main stays cheap and cycle-free.
    from app.api import (
        admin,
        approvals,
        audit,
        commitments,
        dashboard,
        deals,
        exposure,
        features,
        mappings,
        ops,
        reports,
        roadmap,
        rules,
        testcrm,
        webhooks_hubspot,
        webhooks_salesforce,
        webhooks_test,
        what_if,
    )

    return [
        ops.router,
        admin.router,
        webhooks_test.router,
        testcrm.router,
        webhooks_hubspot.router,
        webhooks_salesforce.router,
        features.router,
        what_if.router,
        roadmap.router,
        mappings.router,
        rules.router,
        deals.router,
        exposure.router,
        approvals.router,
        commitments.router,
        reports.router,
        audit.router,
        dashboard.router,
    ]


_ERROR_ANSWERS = {
    401: "no API key, or one that is unknown or revoked",
    403: "the key's role may not do this",
    404: "what the path (or the body of a write) names does not exist",
    409: "the change conflicts with the current state (taken id, parallel write): reload, retry",
    413: "the request body is larger than 8 MB: nothing was read or written",
    415: "the body was not sent as JSON (Content-Type: application/json): nothing was written",
    422: "the request is invalid: every mistake with its JSON path in error.details",
    503: "the database cannot be reached (error.message: database unavailable), the request "
    "collided with concurrent work (a deadlock, error.details.reason: database_collision), or "
    "SQLite's write slot stayed taken: nothing was written; retry after Retry-After",
}


def document_errors(router) -> None:
    """Declare in the OpenAPI document the error answers an /api/ route can give, each with the
    one error body (`errors.ErrorResponse`): 401 and 403 where a key is required, 404 where the
    path or a write's body names something, 409 and 413 for writes, 422 everywhere (query parameters
    are checked on every route), 503 everywhere (the database unreachable), and `text/csv` beside JSON where `format=csv` is offered.
    Idempotent: routers are module singletons and apps are built more than once (tests)."""
    from fastapi.routing import APIRoute
    from fastapi.security.base import SecurityBase

    from app.errors import ErrorResponse

    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/"):
            continue
        names, secured, stack = set(), False, [route.dependant]
        while stack:
            dependant = stack.pop()
            names.update(p.alias for p in dependant.query_params)
            secured = secured or isinstance(dependant.call, SecurityBase)
            stack.extend(dependant.dependencies)
        codes = [422, 503]
        if secured:
            codes += [401, 403]
        writes = bool(route.methods & {"POST", "PUT", "PATCH", "DELETE"})
        if "{" in route.path or writes:  # a write may name what it is about in its body
            codes.append(404)
        if writes:
            codes += [409, 413]  # any /api/ body past 8 MB (`RefuseNulMiddleware`)
        if route.body_field is not None:
            codes.append(415)  # a JSON body without a JSON Content-Type (`check_params`)
        for code in sorted(codes):
            route.responses.setdefault(
                code, {"model": ErrorResponse, "description": _ERROR_ANSWERS[code]}
            )
        if "format" in names:
            ok = route.responses.setdefault(route.status_code or 200, {})
            ok.setdefault("content", {}).setdefault("text/csv", {"schema": {"type": "string"}})


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    connectors: dict[str, CrmConnector] | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    catalog_service.configure(settings)  # the fiscal year notes' quarters are read in

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from app.jobs import runtime

        runtime.startup(app)
        try:
            yield
        finally:
            app.state.ingest_writer.close()  # deliveries already accepted are committed
            runtime.shutdown(app)

    app = FastAPI(
        title="roadmap-guard",
        version=__version__,
        description=(
            "Checks CRM deals against the product roadmap and blocks closed-won on features "
            "that do not exist. API keys: `Authorization: Bearer rg_...`."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.ingest_writer = IngestWriter(engine)
    if connectors is None:
        from app.connectors.registry import build_connectors

        connectors = build_connectors(settings, engine)
    app.state.connectors = connectors

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message}}
        if exc.details is not None:
            body["error"]["details"] = exc.details
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(body, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # The backstop for a constraint a service did not turn into its own 409 (a race the
        # service did not foresee): the request's transaction is already rolled back.
        conflict = integrity_conflict(exc)
        log.warning(
            "write refused by a database constraint",
            path=request.url.path,
            constraint=(conflict.details or {}).get("constraint"),
        )
        return await _domain_error(request, conflict)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The backstop for a value the database cannot store (PostgreSQL: a NUL character in
        # text, a number out of its column's range): the request's transaction is rolled back.
        invalid = unstorable_value(exc)
        log.warning("value refused by the database", path=request.url.path, reason=invalid.message)
        return await _domain_error(request, invalid)

    async def _database_error(request: Request, exc: Exception) -> JSONResponse:
        # The backstop for a database that cannot be reached (refused, restarted, out of
        # connections), on every route: a 503 saying so, as the webhook routes answer, not a
        # 500. Likewise a transaction PostgreSQL aborted for a deadlock or a serialization
        # failure with concurrent work: a 503 to send it again, Retry-After: 1. Anything else
        # (a missing table, a statement the code got wrong) is re-raised to the 500 handler,
        # which logs its traceback.
        if database_collision(exc):
            collision = database_collision_error(exc)
            log.warning(
                "request collided with concurrent work",
                path=request.url.path,
                error=(collision.details or {}).get("error"),
            )
            return await _domain_error(request, collision)
        if not database_unavailable(exc):
            raise exc
        unavailable = database_unavailable_error(exc)
        log.warning(
            "database unavailable",
            path=request.url.path,
            error=(unavailable.details or {}).get("error"),
        )
        return await _domain_error(request, unavailable)

    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)

    @app.exception_handler(RequestValidationError)
    async def _shape_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The usual error body, every mistake with its JSON path; FastAPI's own "detail" list
        # is kept beside it for clients written against FastAPI's default.
        # A body that is not UTF-8 comes back as the error's `input` bytes: shown with U+FFFD
        # for what does not decode (jsonable_encoder's own bytes.decode() raised: a 500).
        # A non-finite float echoed back (a query value read as NaN) is shown as text: JSON has
        # no NaN, and the answer could not be written (a 500).
        errors = jsonable_encoder(
            exc.errors(),
            custom_encoder={
                bytes: lambda b: b.decode("utf-8", "replace"),
                float: lambda f: f if math.isfinite(f) else str(f),
            },
        )
        # FastAPI's "JSON decode error" at ["body", <offset>] reads as a mistake at path "[12]":
        # said instead as what it is, and where.
        errors = [
            {
                **e,
                "loc": ["body"],
                "msg": f"not valid JSON (at character {e['loc'][1]}): "
                f"{(e.get('ctx') or {}).get('error', 'cannot be parsed')}",
            }
            if e.get("type") == "json_invalid" and len(e["loc"]) == 2
            else e
            for e in errors
        ]
        body_field = getattr(request.scope.get("route"), "body_field", None)
        body_model = body_field.field_info.annotation if body_field is not None else None
        details = [
            detail
            for e in errors
            for detail in (
                validation_details([{**e, "loc": e["loc"][1:]}], model=body_model)
                if e["loc"][:1] == ["body"] and len(e["loc"]) > 1
                else validation_details([e])
            )
        ]
        return JSONResponse(
            {
                "error": {
                    "code": "invalid_request",
                    "message": summary(details),
                    "details": details,
                },
                "detail": errors,
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Routing's own answers (404 for an unknown path, 405 for a wrong method).
        if exc.status_code == 400 and (
            isinstance(exc.__cause__, UnicodeDecodeError | RecursionError)
            or too_many_digits(exc.__cause__)
        ):
            # FastAPI's "There was an error parsing the body" (a 400 unlike every other
            # malformed body): JSON that is not UTF-8 text, or nested past what the parser
            # follows (a body without a JSON content type: `RefuseNulMiddleware` refuses the
            # others past MAX_JSON_DEPTH before they reach a route).
            cause = exc.__cause__
            if isinstance(cause, UnicodeDecodeError):
                msg = f"not valid JSON: not UTF-8 text ({cause.reason} at byte {cause.start})"
            elif too_many_digits(cause):
                # Python's int() refuses a literal past 4,300 digits (a ValueError, which
                # FastAPI answered as a 400 "There was an error parsing the body")
                msg = too_many_digits(cause)
            else:
                msg = JSON_TOO_DEEP
            return JSONResponse(not_json_body(msg), status_code=422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette's Allow named the methods of the first route on the path alone
            # (PATCH /api/v1/rules: "Allow: GET", though POST creates a rule there)
            allowed = allowed_methods(request.app, request.url.path)
            if allowed:
                headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return JSONResponse(
            {"error": {"code": code, "message": message}, "detail": exc.detail},
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette's outermost middleware calls this, answers with it and re-raises, so the
        # server logs the traceback; the caller gets the usual error body, and no internals.
        return JSONResponse(
            {
                "error": {
                    "code": "internal",
                    "message": "internal error: the request failed on our side; "
                    "the service log has the details",
                }
            },
            status_code=500,
        )

    from app.api.deps import check_params
    from app.api.nul import off_loop_bodies

    for router in _routers():  # every /api/ route refuses query parameters it does not define
        document_errors(router)
        off_loop_bodies(router)  # a large JSON body parsed and validated off the event loop
        app.include_router(router, dependencies=[Depends(check_params)])

    from app.api.nul import RefuseNulMiddleware
    from app.logging import install_middleware

    app.add_middleware(HeadAsGetMiddleware)  # HEAD answers as GET does, without the body
    app.add_middleware(ApiTrailingSlashMiddleware)  # /api/v1/rules/ is /api/v1/rules
    app.add_middleware(RefuseNulMiddleware)  # one answer to a NUL on every database
    app.add_middleware(ApiKeyFirstMiddleware)  # no key, no body read (outside the above)
    app.add_middleware(SecurityHeadersMiddleware)
    install_middleware(app)  # request ids and access logs (outermost)
    return app


# Sent on every answer that does not set its own: no MIME sniffing (an error body or a CSV echoes
# CRM text, which a browser sniffing it as HTML would run), and no framing (/docs takes an API
# key in its Authorize dialog: framed by another site, a click there is the attacker's). The
# dashboard sets a full Content-Security-Policy of its own, kept as it is.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


_BODY_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class ApiKeyFirstMiddleware:
    """An /api/ write without a valid API key is a 401 before its body is read, and one whose
    key's role may not call the route a 403 (as the route's `require_roles` answers).

    `RefuseNulMiddleware` reads an /api/ body whole (up to 8 MB) and parses it three times
    over (depth, repeated keys, non-finite numbers) on the event loop, before any route runs.
    Without a key, an 8 MB list of small objects held the loop for seconds (7.5 s measured on
    a loaded 2-core machine): every webhook ack, health check and request of the process
    waited, HubSpot's 5 s acks timed out, and anyone who could reach the port could repeat it.
    A viewer's key could do the same to any write route. The key is checked here as
    `deps.get_principal` checks it (the same answer, and the same cache, so the route's own
    check costs nothing more), and the role as the route declares it. A declared body over the cap is left
    to `RefuseNulMiddleware`'s 413, which reads nothing. A database that cannot be asked is
    left to the route, whose check answers it as every route does (503)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") not in _BODY_METHODS
            or not scope.get("path", "").startswith("/api/")
            or _declared_over_cap(scope)
        ):
            await self.app(scope, receive, send)
            return
        from starlette.requests import Request

        from app.api.deps import (
            record_key_use,
            refuse_role,
            request_credentials,
            verified_key,
        )

        request = Request(scope)
        try:
            principal, last_used = await verified_key(request, await request_credentials(request))
            allowed = _route_roles(scope["app"], scope["method"], scope["path"].rstrip("/"))
            if allowed is not None and principal.role not in allowed:
                # the key was used, as for every request it authenticates (`get_principal`)
                record_key_use(request, principal.key_id, last_used)
                refuse_role(principal, allowed)
        except DomainError as exc:
            body = {"error": {"code": exc.code, "message": exc.message}}
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            response = JSONResponse(body, status_code=exc.status_code, headers=headers)
            await response(scope, receive, send)
            return
        except Exception:  # the route's own check answers it (a 503)
            pass
        await self.app(scope, receive, send)


def _route_roles(app: FastAPI, method: str, path: str) -> frozenset | None:
    """The roles the /api/ route answering `method` `path` admits (its `require_roles`), or
    None when no route does (routing answers) or the route checks none."""
    from fastapi.routing import APIRoute, iter_route_contexts
    from starlette.routing import compile_path

    from app.api.deps import allowed_roles

    table = getattr(app.state, "route_roles", None)
    if table is None:
        table = []
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute) and (context.path or "").startswith("/api/"):
                table.append(
                    (
                        compile_path(context.path)[0],
                        frozenset(route.methods),
                        allowed_roles(route.dependant),
                    )
                )
        app.state.route_roles = table
    for regex, methods, roles in table:
        if method in methods and regex.match(path):
            return roles
    return None


def _declared_over_cap(scope) -> bool:
    from app.api.nul import MAX_BODY_BYTES

    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            return value.isdigit() and int(value) > MAX_BODY_BYTES
    return False


class SecurityHeadersMiddleware:
    """Adds SECURITY_HEADERS each answer lacks. Plain ASGI: nothing per request but the
    headers (the webhook ack path is measured)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def _send(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, _send)


def tune_garbage_collector(gen0_threshold: int) -> None:
    """Set the process's garbage collector for this service: exclude everything allocated
    while starting (imported modules, the app and its routes, ORM and pydantic metadata) from
    all future collections, and collect young objects every `gen0_threshold` allocations of
    container objects instead of Python's 700 (GC_GEN0_THRESHOLD; 0 keeps Python's).

    Why the freeze: a full collection walks every tracked object; in the serving process that
    is a few hundred thousand long-lived start-up objects, and it ran every second or so under
    webhook load, stopping every request for 60-100 ms (benchmarks/ingest.py: ack p99 165 ms
    with, 60 ms without).

    Why the threshold: re-checking a deal allocates thousands of short-lived containers (its
    snapshot and references as pydantic models, findings, rows). At 700 a collection ran every
    few dozen microseconds of that work, and enough of them survived into the older generations
    to set off a full collection every half batch: in a 50,000-deal worker drain on PostgreSQL,
    80 full collections, 11.7 s of 45 s (benchmarks/reevaluate.py; docs/roadmap.md has the
    figures). At 10,000: 5 full collections, 2 s.

    Frozen objects are never collected, so call this once per process, after start-up and
    before serving (`serve`, `worker`), not in code that builds many apps.
    """
    gc.collect()
    gc.freeze()
    if gen0_threshold:
        _gen0, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of `app` answers on `path` (HEAD with GET: see
    `HeadAsGetMiddleware`), sorted; [] for a path no route has."""
    from fastapi.routing import iter_route_contexts
    from starlette.routing import compile_path

    table = getattr(app.state, "route_methods", None)
    if table is None:
        table = []
        for context in iter_route_contexts(app.routes):
            methods = getattr(context.original_route, "methods", None)
            if context.path and methods:
                table.append((compile_path(context.path)[0], frozenset(methods)))
        app.state.route_methods = table
    found = {m for regex, methods in table if regex.match(path) for m in methods}
    if "GET" in found:
        found.add("HEAD")
    return sorted(found)


class HeadAsGetMiddleware:
    """HEAD on any GET route answers what GET would, headers only (RFC 9110 9.3.2): FastAPI's
    routes take only the methods they declare, so a monitor's `HEAD /healthz` or a client
    checking a download's size with HEAD got a 405. The route runs as a GET (it only reads)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def _send(message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, _send)


class ApiTrailingSlashMiddleware:
    """An /api/ path with a trailing slash is answered as the path without it. Starlette
    answered a 307 to an absolute URL instead, built from the request's own scheme: a script
    reading JSON got an empty body, and behind a TLS proxy whose X-Forwarded-Proto uvicorn does
    not trust the redirect said http://, where `curl -L` sent the POST, its body and its API
    key in the clear."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/api/") and path.endswith("/"):
            trimmed = path.rstrip("/")
            raw = scope.get("raw_path")
            scope = {
                **scope,
                "path": trimmed,
                "raw_path": raw.rstrip(b"/") if raw is not None else None,
            }
        await self.app(scope, receive, send)
