"""Start and stop the in-process worker with the app (WORKER_MODE=embedded).

Filled in by the spine: `startup(app)` starts the embedded worker thread and schedules,
`shutdown(app)` stops them, finishing or releasing the batch in hand.
"""

from __future__ import annotations

from fastapi import FastAPI


def startup(app: FastAPI) -> None:  # pragma: no cover - replaced by the spine
    return None


def shutdown(app: FastAPI) -> None:  # pragma: no cover - replaced by the spine
    return None
