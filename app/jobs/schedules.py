"""Periodic jobs that exactly one worker in the cluster runs each time they are due.

A domain module registers a job with `@schedule(...)`; the worker (jobs/worker.py) claims due
rows of the `periodic_job` table with a lease, runs the function, stores its returned state.
Modules that define schedules are listed in SCHEDULE_MODULES so every process sees the same set.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from app.connectors.base import CrmConnector
from app.settings import Settings


@dataclass
class JobContext:
    engine: Engine
    settings: Settings
    connectors: dict[str, CrmConnector]
    state: dict[str, Any] = field(default_factory=dict)  # persisted between runs (e.g. a cursor)


@dataclass(frozen=True)
class Schedule:
    name: str
    interval: Callable[[Settings], int]  # seconds
    run: Callable[[JobContext], dict | None]  # returns the new state (or None to keep it)
    enabled: Callable[[Settings, dict[str, CrmConnector]], bool]


SCHEDULES: dict[str, Schedule] = {}

SCHEDULE_MODULES = [
    "app.services.roadmap_refresh",
    "app.services.approvals",
    "app.connectors.hubspot.reconcile",
    "app.connectors.salesforce.reconcile",
]


def schedule(
    name: str,
    *,
    interval: Callable[[Settings], int],
    enabled: Callable[[Settings, dict[str, CrmConnector]], bool] = lambda _s, _c: True,
):
    def _register(fn: Callable[[JobContext], dict | None]):
        SCHEDULES[name] = Schedule(name=name, interval=interval, run=fn, enabled=enabled)
        return fn

    return _register


def load_schedules() -> dict[str, Schedule]:
    for module in SCHEDULE_MODULES:
        importlib.import_module(module)
    return SCHEDULES
