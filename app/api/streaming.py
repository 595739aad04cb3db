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
import weakref
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


# Streamed computations running at once in this process. Each is a thread of its own (outside
# the request thread pool, which bounds everything else) holding a database session for as long
# as it evaluates every deal it covers: without a bound, any read-only key could start
# hundreds (the roadmap what-if is every role's), each a thread and a pooled connection, until
# the other requests waited for connections and answered 503, and the webhook acks shared the
# interpreter with all of them. Past the bound: 503 `busy` with Retry-After, before the stream.
MAX_RUNNING = 4
_slots = threading.BoundedSemaphore(MAX_RUNNING)


class Busy(DomainError):
    status_code = 503
    code = "busy"
    retry_after = 5


def progress_stream(run: Callable[[Progress], BaseModel], *, name: str) -> StreamingResponse:
    """`run(progress)` in a thread; its progress and result as an NDJSON response. `Busy`
    (503) while MAX_RUNNING others run."""
    if not _slots.acquire(blocking=False):
        raise Busy(
            f"{MAX_RUNNING} streamed computations are running on this service already: "
            "retry in a few seconds, or ask without stream=true"
        )
    release = _once(_slots.release)
    started = threading.Event()
    lines = _events(run, name, release=release, started=started)

    def never_started() -> None:
        # A stream the server never starts (its client gone before the answer began) runs
        # nothing: its slot comes back when the stream is dropped. A started one's thread
        # gives it back when the computation ends.
        if not started.is_set():
            release()

    weakref.finalize(lines, never_started)
    return StreamingResponse(lines, media_type="application/x-ndjson")


def _once(release: Callable[[], None]) -> Callable[[], None]:
    lock = threading.Lock()
    done = False

    def once() -> None:
        nonlocal done
        with lock:
            if done:
                return
            done = True
        release()

    return once


class _ReaderGone(Exception):
    """Raised in the computation's thread at its next progress report once the response's
    reader has gone (the client disconnected): the computation stops there."""


def _events(
    run: Callable[[Progress], BaseModel],
    name: str,
    *,
    release: Callable[[], None] | None = None,
    started: threading.Event | None = None,
) -> Iterator[str]:
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
            if release is not None:  # the computation is over: its slot is free
                release()
            try:
                if last is not None:
                    put(last)
                put(None)
            except _ReaderGone:
                pass

    if started is not None:
        started.set()
    threading.Thread(target=work, name=name, daemon=True).start()
    try:
        while (event := events.get()) is not None:
            yield json.dumps(event) + "\n"
    finally:
        gone.set()
