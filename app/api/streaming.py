"""Long read-only computations answered as NDJSON with progress (`?stream=true`).

The work runs in a thread of its own and reports `{"type":"progress","processed":n,"total":N}`
lines as it goes, then one `{"type":"result",...}` line, or `{"type":"error","message":...}`
(the 200 status is sent before the work ends, so a failure is reported in the stream). Used by
rule simulation and the roadmap what-if.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterator

from pydantic import BaseModel
from starlette.responses import StreamingResponse

Progress = Callable[[int, int], None]


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
        except Exception as exc:  # reported in the stream: the 200 status is already sent
            events.put({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        finally:
            events.put(None)

    threading.Thread(target=work, name=name, daemon=True).start()
    while (event := events.get()) is not None:
        yield json.dumps(event) + "\n"
