"""`roadmap-guard worker` whose batches wait at a gate: the SIGTERM test in tests/test_cli.py.

Run as a script with the CLI's arguments (`python tests/jobs/_gated_worker.py worker ...`). It is
the real command (app.cli.main, signal handlers, Worker loop, the deal pipeline over the test
CRM); the only difference is that the processor `worker` builds is wrapped: each batch first
writes the deal ids it holds to $RG_TEST_GATE_DIR/claimed, then waits until
$RG_TEST_GATE_DIR/open exists before the real pipeline processes it. The test sends SIGTERM in
between, so the signal always lands while a batch is in hand. No application code is changed:
`cmd_worker` looks `default_processor` up in app.jobs.runtime when it runs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import app.jobs.runtime as runtime
from app.cli import main
from app.jobs.types import Outcome, QueueItem

GATE = Path(os.environ["RG_TEST_GATE_DIR"])
_real_processor = runtime.default_processor


class GatedProcessor:
    def __init__(self, inner) -> None:
        self.inner = inner

    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        tmp = GATE / "claimed.tmp"
        tmp.write_text(json.dumps(sorted(item.deal_id for item in batch)))
        tmp.replace(GATE / "claimed")  # atomic: the test never reads half a file
        deadline = time.monotonic() + 300
        while not (GATE / "open").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never opened the gate")
            time.sleep(0.05)
        return self.inner.process(batch)


def gated_processor(engine, settings, connectors) -> GatedProcessor:
    return GatedProcessor(_real_processor(engine, settings, connectors))


runtime.default_processor = gated_processor

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
