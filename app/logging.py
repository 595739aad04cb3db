"""Structured logs: JSON by default, console when LOG_FORMAT=console.

Every line carries the request id (HTTP) or the deal ids (worker) through structlog's context
variables. A redaction step runs before rendering, so a secret or a whole webhook payload cannot
reach the log even when a caller passes one by mistake.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

REDACTED = "[redacted]"
OMITTED = "[omitted]"

# Substrings of a key whose value must never be logged.
_SECRET_MARKERS = (
    "authorization",
    "token",
    "secret",
    "password",
    "signature",
    "api_key",
    "apikey",
    "cookie",
    "private_key",
)
# Keys whose value is a whole body: logged as its size only.
_BODY_KEYS = frozenset({"payload", "body", "raw_body", "raw", "content"})
# A value that looks like one of our API keys, wherever it appears.
_API_KEY_PATTERN = re.compile(r"rg_[A-Za-z0-9_\-]{8,}")
_REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Generated request ids: 64 random bits per process, then a counter (32 hex characters, like a
# uuid4 hex, unique across processes in practice) without a urandom call per request.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(int.from_bytes(os.urandom(4), "big"))


def _new_prefix() -> None:  # a forked child (a pre-forking server) gets its own
    global _ID_PREFIX
    _ID_PREFIX = os.urandom(8).hex()


os.register_at_fork(after_in_child=_new_prefix)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF:016x}"


log = structlog.get_logger("app")


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return any(marker in lowered for marker in _SECRET_MARKERS)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return OMITTED
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = str(k)
            if _is_secret_key(key):
                out[key] = REDACTED
            elif key.lower() in _BODY_KEYS:
                out[key] = _summarize(v)
            else:
                out[key] = _scrub(v, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, str) and "rg_" in value:
        return _API_KEY_PATTERN.sub(REDACTED, value)
    return value


def _summarize(value: Any) -> str:
    if isinstance(value, str | bytes):
        return f"{OMITTED} ({len(value)} bytes)"
    if isinstance(value, Mapping | list | tuple):
        return f"{OMITTED} ({len(value)} items)"
    return OMITTED


def redact(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: secrets become [redacted], whole bodies their size."""
    return _scrub(event_dict)


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Route structlog and stdlib logging through one renderer at LOG_LEVEL."""
    level = getattr(logging, settings.log_level)
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if settings.log_format == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # stdlib records (uvicorn's "Exception in ASGI application", libraries) carry
            # exc_info as a tuple: rendered to text here, or JSON shows "<traceback object>".
            structlog.processors.format_exc_info,
            redact,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.set_name("roadmap-guard")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "roadmap-guard":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's own access log duplicates ours (which carries the request id).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # httpx logs every request at INFO with its whole URL, query values included (a roadmap
    # source's JQL, page cursors, a token a source takes in its query): warnings only. Our
    # connectors log their calls themselves, with the URL redacted (roadmap/_http.redact_url).
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    # alembic says at INFO which dialect it found each time a migration context opens, and
    # /readyz opens one per probe to read the revision: two lines every few seconds per
    # replica. The migrations a start runs ("Running upgrade ...") are still logged.
    migration = logging.getLogger("alembic.runtime.migration")
    if not any(isinstance(f, _AlembicContextFilter) for f in migration.filters):
        migration.addFilter(_AlembicContextFilter())
    logging.getLogger("alembic.runtime.plugins").setLevel(max(level, logging.WARNING))


class _AlembicContextFilter(logging.Filter):
    """Drops alembic's "Context impl SQLiteImpl." and "Will assume ... DDL." below WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not str(record.msg).startswith(
            ("Context impl ", "Will assume ")
        )


class RequestIdMiddleware:
    """X-Request-ID in (if well-formed) or generated; echoed in the response; bound to logs.

    Plain ASGI rather than BaseHTTPMiddleware: no extra task per request on the ingest path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = (
            incoming if incoming and _REQUEST_ID_PATTERN.match(incoming) else new_request_id()
        )
        started = time.perf_counter()
        status = 500

        async def _send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                try:
                    await self.app(scope, receive, _send)
                finally:
                    log.info(
                        "request",
                        method=scope.get("method"),
                        path=scope.get("path"),
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    )
        except Exception:
            # The server logs the traceback once this returns ("Exception in ASGI
            # application"), in this request's own task: the id stays bound for that line, so
            # the cause of a 500 can be found by the id its answer carries. The task ends
            # with it, so no other request's lines get it.
            structlog.contextvars.bind_contextvars(request_id=request_id)
            raise


def install_middleware(app: FastAPI) -> None:
    """Request ids for every route; configures logging once if the caller has not.

    Outside everything the app builds, Starlette's ServerErrorMiddleware included: that is what
    answers an unexpected error with the 500 (`app.main`'s handler), and as an ordinary
    middleware this sat inside it, so the one answer that says "the service log has the
    details" carried no X-Request-ID."""
    if not structlog.is_configured():
        configure_logging(app.state.settings)
    build = app.build_middleware_stack

    def build_with_request_ids() -> ASGIApp:
        return RequestIdMiddleware(build())

    app.build_middleware_stack = build_with_request_ids  # type: ignore[method-assign]
