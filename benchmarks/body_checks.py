"""The longest event-loop stall while an 8 MB /api/ body is checked in a worker thread.

    .venv/bin/python -m benchmarks.body_checks [--runs 5] [--mb 8]

`RefuseNulMiddleware` checks a body over 64 KB in a worker thread (`nul._body_refusal`), but
re, json and bytes methods hold the GIL for a whole call: one long call in the thread holds the
event loop (every webhook ack) as surely as running it there. While a body is checked, a task
on the loop wakes every millisecond; the figure is the longest it waited past its millisecond
(the stall), the median of `--runs` checks, with the wall time of a check. Each body is checked
in the same process with the previous implementations (security review 11: the depth scan
`errors.json_too_deep` as one pattern over the whole body; the UTF-16 pattern over a whole body
holding a NUL) and with the current ones: `json_too_deep` alone, then the whole check
(`_body_refusal`: NUL, depth, parse). No assertions: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import anyio.to_thread

from app import errors
from app.api import nul

# The previous `errors.json_too_deep` (1021b90), kept here to measure against.
_OLD_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_OLD_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_OLD_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


def old_json_too_deep(text: bytes | str, limit: int = errors.MAX_JSON_DEPTH) -> bool:
    if (
        text.count("[" if isinstance(text, str) else b"[")
        + text.count("{" if isinstance(text, str) else b"{")
        <= limit
    ):
        return False
    raw = text.encode() if isinstance(text, str) else text
    brackets = _OLD_STRING.sub(b"", raw).translate(None, _OLD_NOT_BRACKETS)
    for _ in range(4):
        brackets = _OLD_INNERMOST_PAIR.sub(b"", brackets)
        limit -= 1
    depth = 0
    for char in brackets:
        if char in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def old_is_utf16(body: bytes) -> bool:
    return nul._UTF16.search(body) is not None


@contextmanager
def previous_checks():
    """`nul._body_refusal` as it was: the old depth scan, the UTF-16 pattern over it all."""
    saved = nul.json_too_deep, nul.is_utf16
    nul.json_too_deep, nul.is_utf16 = old_json_too_deep, old_is_utf16
    try:
        yield
    finally:
        nul.json_too_deep, nul.is_utf16 = saved


def bodies(size: int) -> dict[str, bytes]:
    """JSON bodies of about `size` bytes, each with more than MAX_JSON_DEPTH opening brackets
    (an ordinary body with fewer is not scanned: two counts)."""
    snapshots = []
    while sum(len(s) for s in snapshots) < size:
        i = len(snapshots)
        snapshots.append(
            json.dumps(
                {
                    "deal_id": f"D-{i}",
                    "line_items": [{"sku": f"SKU-{i % 97}", "name": "Seat pack", "qty": 5}],
                    "notes": [f"Call {i}: they asked whether SSO is ready; told them Q3."],
                }
            )
        )
    objects = ("[" + ",".join(snapshots) + "]").encode()
    text = json.dumps({"note": "x" * (size - 100), "ids": [[1]] * 300}).encode()
    flat = b"[]," * 300  # enough opening brackets for the scan to run
    escaped = b'{"a": [' + flat + b'"' + b'\\"' * (size // 2) + b'"]}'
    empty = b"[" + flat + b'"",' * (size // 3) + b'""]'
    nul_at_end = objects[:-1] + b',"\x00"]'
    return {
        "objects (snapshots)": objects,
        "one long string": text,
        "escaped quotes": escaped,
        "empty strings": empty,
        "NUL at the end": nul_at_end,
    }


async def _stall_while(work: Callable[[], Any]) -> tuple[float, float]:
    """(the longest the loop waited past a 1 ms sleep while `work` ran in a worker thread,
    the seconds `work` took)."""
    longest = 0.0
    done = False

    async def ticker() -> None:
        nonlocal longest
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            longest = max(longest, time.perf_counter() - before - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    longest = 0.0
    started = time.perf_counter()
    await anyio.to_thread.run_sync(work)
    took = time.perf_counter() - started
    done = True
    await task
    return longest, took


async def _median(work: Callable[[], Any], runs: int) -> tuple[float, float]:
    stalls, took = [], []
    for _ in range(runs):
        stall, seconds = await _stall_while(work)
        stalls.append(stall)
        took.append(seconds)
    return statistics.median(stalls), statistics.median(took)


async def main(runs: int, size: int) -> None:
    print(f"longest event-loop stall (median of {runs}), ms / wall time of the check, ms")
    print(f"{'body':<22}{'check':<16}{'before':>18}{'now':>18}")
    for name, body in bodies(size).items():
        checks = [("_body_refusal", lambda b=body: nul._body_refusal(b, True))]
        if not nul.has_nul(body):  # else the depth is not looked at
            checks.insert(0, ("json_too_deep", lambda b=body: errors.json_too_deep(b)))
        for label, check in checks:
            with previous_checks():
                before = await _median(
                    (lambda b=body: old_json_too_deep(b)) if label == "json_too_deep" else check,
                    runs,
                )
            now = await _median(check, runs)
            print(
                f"{name:<22}{label:<16}"
                f"{before[0] * 1000:>8.1f} /{before[1] * 1000:>7.0f}"
                f"{now[0] * 1000:>10.1f} /{now[1] * 1000:>7.0f}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mb", type=float, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.runs, int(args.mb * 1024 * 1024) - 4096))
