"""Long read-only computations answered as NDJSON with progress (`?stream=true`).

The work runs in a thread of its own and reports `{"type":"progress","processed":n,"total":N}`
lines as it goes, then one `{"type":"result",...}` line, or `{"type":"error","message":...}`
(the 200 status is sent before the work ends, so a failure is reported in the stream). Used by
rule simulation and the roadmap what-if.

An error line says what a `DomainError` says (written for the caller); any other exception is
logged with its traceback and reported as an internal error without its text, as the 500
handler does: a database error's text carries SQL, parameters and server addresses.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator

import structlog
from pydantic import BaseModel
from starlette.responses import StreamingResponse

from app.errors import DomainError

Progress = Callable[[int, int], None]

log = structlog.get_logger("app.errors")

INTERNAL_ERROR = (
    "internal error: the computation failed on our side; the service log has the details"
)


def progress_stream(run: Callable[[Progress], BaseModel], *, name: str) -> StreamingResponse:
    """`run(progress)` in a thread; its progress and result as an NDJSON response."""
    return StreamingResponse(_events(run, name), media_type="application/x-ndjson")


def _events(run: Callable[[Progress], BaseModel], name: str) -> Iterator[str]:
    events: queue.Queue[dict | None] = queue.Queue(maxsize=1000)

    def work() -> None:
        try:
            result = run(
                lambda done, total: events.put(
                    {"type": "progress", "processed": done, "total": total}
                )
            )
            events.put({"type": "result", "result": result.model_dump(mode="json")})
        except DomainError as exc:  # written for the caller
            events.put({"type": "error", "code": exc.code, "message": exc.message})
        except Exception:  # reported in the stream: the 200 status is already sent
            log.exception("streamed computation failed", stream=name)
            events.put({"type": "error", "code": "internal", "message": INTERNAL_ERROR})
        finally:
            events.put(None)

    threading.Thread(target=work, name=name, daemon=True).start()
    while (event := events.get()) is not None:
        yield json.dumps(event) + "\n"
