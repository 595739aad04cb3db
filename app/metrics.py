"""Prometheus metrics, one registry per process (GET /metrics renders it).

Connectors report every CRM call through `crm_call`, so calls per deal can be read off
production the same way the benchmarks count them on the fakes.

The API renders the registry at GET /metrics. A standalone worker (`roadmap-guard worker
--metrics-port N`) serves its own with `start_metrics_server`: its outcomes, processing latency
and CRM calls happen in that process, not the API's.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

_log = logging.getLogger(__name__)

EVENTS = Counter(
    "roadmap_guard_webhook_events_total",
    "Webhook events by source and result (received, duplicate, rejected, ignored, malformed)",
    ["source", "result"],
)
QUEUE_DEPTH = Gauge("roadmap_guard_queue_depth", "Deal queue rows by status", ["status"])
QUEUE_OLDEST_DUE = Gauge(
    "roadmap_guard_queue_oldest_due_seconds",
    "How long the longest-waiting pending deal has been due (0: none due), by priority (0: a "
    "CRM change or an approval, 1: a sweep): the queue's lag",
    ["priority"],
)
PROCESSING_SECONDS = Histogram(
    "roadmap_guard_processing_seconds",
    "From first enqueue to finished evaluation, per deal; priority 0: a CRM change or an "
    "approval, 1: a sweep (roadmap or rule change, backfill, reread, ledger)",
    ["priority"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
OUTCOMES = Counter("roadmap_guard_outcomes_total", "Processing outcomes", ["crm", "outcome"])
CRM_CALLS = Counter(
    "roadmap_guard_crm_calls_total", "CRM API calls", ["connector", "operation", "result"]
)
CRM_CREDENTIALS_REFUSED = Gauge(
    "roadmap_guard_crm_credentials_refused",
    "1 while the CRM refuses our credentials or scopes (its deals are held, not dead), else 0",
    ["crm"],
)
ROADMAP_STALENESS = Gauge(
    "roadmap_guard_roadmap_source_staleness_seconds",
    "Seconds since the roadmap source last refreshed successfully",
    ["source"],
)


# A schedule's run in this process: how long it has run, kept current by its lease heartbeat
# (0 when none runs). A run that never ends keeps its schedule from running anywhere else (its
# lease is renewed): alert on a value far above the schedule's usual run.
SCHEDULE_RUNNING_SECONDS = Gauge(
    "roadmap_guard_schedule_running_seconds",
    "How long each schedule's current run in this process has been running (0: not running)",
    ["schedule"],
)
_refused: set[str] = set()  # connectors whose last answered call refused our credentials
_refused_lock = threading.Lock()


def crm_call(connector: str, operation: str, result: str = "ok") -> None:
    """Count one CRM API call. result: ok | rate_limited | unauthorized | error | timeout.

    `unauthorized` (the CRM refused our token or its scopes) also raises
    roadmap_guard_crm_credentials_refused{crm} and logs an error once; the next call that
    succeeds lowers it and says so. The deals meanwhile are held, not dead (CredentialsError).
    """
    CRM_CALLS.labels(connector=connector, operation=operation, result=result).inc()
    if result not in ("ok", "unauthorized"):
        return  # a timeout or a 5xx says nothing about the credentials
    refused = result == "unauthorized"
    with _refused_lock:
        changed = refused != (connector in _refused)
        if changed:
            (_refused.add if refused else _refused.discard)(connector)
    CRM_CREDENTIALS_REFUSED.labels(crm=connector).set(1 if refused else 0)
    if changed and refused:
        _log.error(
            "%s refused our credentials (%s): its deals are held, retried every few minutes, "
            "until the token or its scopes are fixed",
            connector,
            operation,
        )
    elif changed:
        _log.warning("%s accepts our credentials again: held deals go through", connector)


# --- the standalone worker's exporter -------------------------------------------------------


class _SilentHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log: a scrape every few seconds is noise."""


def check_health(
    health: Callable[[], tuple[bool, dict[str, object]]] | None,
) -> tuple[bool, dict[str, object]]:
    """`health()` as a /healthz answers it: (True, {}) without one (the process answers), and
    a check that raises is an unhealthy answer naming the error, not a 500."""
    if health is None:
        return True, {}
    try:
        return health()
    except Exception as exc:
        return False, {"error": type(exc).__name__}


def metrics_wsgi_app(
    health: Callable[[], tuple[bool, dict[str, object]]] | None = None,
    registry: CollectorRegistry = REGISTRY,
):
    """Prometheus text on every path (like prometheus_client's own server), and
    `GET /healthz`: 200 {"status": "ok", ...} or 503 {"status": "unhealthy", ...} as
    `health()` says (200 when there is no `health`: the process answers)."""
    prometheus = make_wsgi_app(registry)

    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            ok, details = check_health(health)
            body = json.dumps({"status": "ok" if ok else "unhealthy", **details}).encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return prometheus(environ, start_response)

    return app


def start_metrics_server(
    port: int,
    addr: str = "0.0.0.0",
    *,
    health: Callable[[], tuple[bool, dict[str, object]]] | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> WSGIServer:
    """Serve this process's metrics (and /healthz) from a daemon thread, the way
    `prometheus_client.start_http_server` does; port 0 picks a free port
    (`server.server_port`). Stop it with `server.shutdown(); server.server_close()`."""

    class _Server(ThreadingWSGIServer):
        # IPv4 or IPv6, whichever `addr` is.
        address_family = socket.getaddrinfo(addr or "0.0.0.0", port, type=socket.SOCK_STREAM)[0][0]

    server = make_server(
        addr, port, metrics_wsgi_app(health, registry), _Server, handler_class=_SilentHandler
    )
    threading.Thread(target=server.serve_forever, name="rg-metrics", daemon=True).start()
    return server
