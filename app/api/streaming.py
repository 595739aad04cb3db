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


class _ReaderGone(Exception):
    """Raised in the computation's thread at its next progress report once the response's
    reader has gone (the client disconnected): the computation stops there."""


def _events(run: Callable[[Progress], BaseModel], name: str) -> Iterator[str]:
    """The computation's lines. When the reader goes away (the server closes this generator),
    the computation stops at its next progress report: it ran to its end, a simulation over
    every stored deal holding a CPU (and the interpreter, which the webhook acks share) for
    no one, once per abandoned request; and with 1000 reports unread it blocked for good on
    the full queue, its thread and database session never freed."""
    events: queue.Queue[dict | None] = queue.Queue(maxsize=1000)
    gone = threading.Event()

    def put(event: dict | None) -> None:
        while not gone.is_set():
            try:
                events.put(event, timeout=0.2)
                return
            except queue.Full:
                continue
        raise _ReaderGone

    def progress(done: int, total: int) -> None:
        put({"type": "progress", "processed": done, "total": total})

    def work() -> None:
        last: dict | None = None
        try:
            result = run(progress)
            last = {"type": "result", "result": result.model_dump(mode="json")}
        except _ReaderGone:
            log.info("streamed computation stopped: its reader went away", stream=name)
        except DomainError as exc:  # written for the caller
            last = {"type": "error", "code": exc.code, "message": exc.message}
        except Exception:  # reported in the stream: the 200 status is already sent
            log.exception("streamed computation failed", stream=name)
            last = {"type": "error", "code": "internal", "message": INTERNAL_ERROR}
        finally:  # the end of the stream, whatever ended the computation, unless no one reads
            try:
                if last is not None:
                    put(last)
                put(None)
            except _ReaderGone:
                pass

    threading.Thread(target=work, name=name, daemon=True).start()
    try:
        while (event := events.get()) is not None:
            yield json.dumps(event) + "\n"
    finally:
        gone.set()
