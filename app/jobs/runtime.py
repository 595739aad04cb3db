"""Start and stop the in-process worker with the app (WORKER_MODE=embedded).

`startup(app)` installs the default rules when asked, then (embedded mode) starts two daemon
threads: the deal worker and the schedule runner. `shutdown(app)` stops them; the worker
finishes the batch in hand or, after its grace period, gives the leases back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from sqlalchemy.engine import Engine

from app.connectors.base import CrmConnector
from app.db import session_scope
from app.jobs.schedules import ScheduleRunner, ScheduleThread
from app.jobs.types import Processor
from app.jobs.worker import StopEvent, Worker, default_owner
from app.settings import Settings

log = structlog.get_logger("app.runtime")

ProcessorFactory = Callable[[Engine, Settings, dict[str, CrmConnector]], Processor]


def default_processor(
    engine: Engine, settings: Settings, connectors: dict[str, CrmConnector]
) -> Processor:
    from app.services.pipeline import DealPipeline

    return DealPipeline(engine, settings, connectors)


@dataclass
class EmbeddedRuntime:
    stop_event: StopEvent
    worker: Worker
    worker_thread: threading.Thread
    schedules: ScheduleThread

    def stop(self, timeout: float) -> None:
        """Stop both threads within `timeout` in all (they wind down in parallel)."""
        self.stop_event.set()
        self.worker_thread.join(timeout=self.stop_event.remaining(timeout))
        self.schedules.stop(self.stop_event.remaining(timeout))


def install_default_rules(engine: Engine) -> None:
    from app.services.rules_service import install_default_rules as _install

    with session_scope(engine) as session:
        _install(session)


def start_background(
    engine: Engine,
    settings: Settings,
    connectors: dict[str, CrmConnector],
    processor: Processor,
    *,
    grace_seconds: float = 20.0,
) -> EmbeddedRuntime:
    """The worker loop and schedule runner, each in a daemon thread (embedded and CLI worker)."""
    owner = default_owner()
    stop = StopEvent()
    worker = Worker(engine, settings, processor, owner=owner, grace_seconds=grace_seconds)
    runner = ScheduleRunner(engine, settings, connectors, owner=owner)
    worker_thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="rg-worker", daemon=True
    )
    worker_thread.start()
    schedules = ScheduleThread(
        runner, stop, poll_seconds=max(settings.worker_poll_seconds, 1.0)
    ).start()
    return EmbeddedRuntime(
        stop_event=stop, worker=worker, worker_thread=worker_thread, schedules=schedules
    )


def startup(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    engine: Engine = app.state.engine
    if settings.install_default_rules:
        install_default_rules(engine)
    app.state.runtime = None
    if settings.worker_mode != "embedded":
        return
    from app.settings import embedded_worker_problem

    # `serve` says it on one line before starting; an app started another way (uvicorn on
    # app.main:create_app) is stopped here, before a worker that would dead-letter every
    # delivered deal starts.
    if (problem := embedded_worker_problem(settings)) is not None:
        raise RuntimeError(problem)
    factory: ProcessorFactory = getattr(app.state, "processor_factory", None) or default_processor
    connectors = app.state.connectors
    processor = factory(engine, settings, connectors)
    app.state.runtime = start_background(engine, settings, connectors, processor)
    log.info("embedded worker started", owner=app.state.runtime.worker.owner)


def shutdown(app: FastAPI) -> None:
    runtime: EmbeddedRuntime | None = getattr(app.state, "runtime", None)
    if runtime is None:
        return
    runtime.stop(timeout=runtime.worker.grace_seconds + 5)
    app.state.runtime = None
