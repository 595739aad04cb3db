"""Prometheus metrics, one registry per process (GET /metrics renders it).

Connectors report every CRM call through `crm_call`, so calls per deal can be read off
production the same way the benchmarks count them on the fakes.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "roadmap_guard_webhook_events_total",
    "Webhook events by source and result (received, duplicate, rejected, ignored)",
    ["source", "result"],
)
QUEUE_DEPTH = Gauge("roadmap_guard_queue_depth", "Deal queue rows by status", ["status"])
PROCESSING_SECONDS = Histogram(
    "roadmap_guard_processing_seconds",
    "From first enqueue to finished evaluation, per deal",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)
OUTCOMES = Counter("roadmap_guard_outcomes_total", "Processing outcomes", ["crm", "outcome"])
CRM_CALLS = Counter(
    "roadmap_guard_crm_calls_total", "CRM API calls", ["connector", "operation", "result"]
)
ROADMAP_STALENESS = Gauge(
    "roadmap_guard_roadmap_source_staleness_seconds",
    "Seconds since the roadmap source last refreshed successfully",
    ["source"],
)


def crm_call(connector: str, operation: str, result: str = "ok") -> None:
    """Count one CRM API call. result: ok | rate_limited | error | timeout."""
    CRM_CALLS.labels(connector=connector, operation=operation, result=result).inc()
