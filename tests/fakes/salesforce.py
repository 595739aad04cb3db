"""Test-only faults on top of the sandbox Salesforce (app/sandbox/salesforce.py)."""

from __future__ import annotations

import threading
from typing import Any

from app.sandbox.salesforce import FakeSalesforce


class HeldCall:
    """The next request whose path contains `match` is held inside the fake org until
    `finish()`: the client times out meanwhile, and the org then runs the request to the end
    (`land=True`, Salesforce finishing a call nobody waits for) or fails it (`land=False`).
    Deterministic: no test waits for a race."""

    def __init__(self, fake: FakeSalesforce, match: str) -> None:
        self.fake = fake
        self.match = match
        self._armed = True
        self._land = True
        self._release = threading.Event()
        self._done = threading.Event()
        self._thread: int | None = None
        self._take_fault = fake._take_fault
        self._dispatch = fake.dispatch
        fake._take_fault = self._take  # type: ignore[method-assign]
        fake.dispatch = self._run  # type: ignore[method-assign]

    def _take(self, path: str) -> str | None:
        if self._armed and self.match in path:
            self._armed = False
            self._thread = threading.get_ident()
            self._release.wait(10)
            if not self._land:
                self._done.set()
                return "unavailable"  # answered 503 to nobody: nothing was written
            return None
        return self._take_fault(path)

    def _run(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            return self._dispatch(*args, **kwargs)
        finally:
            if threading.get_ident() == self._thread and not kwargs.get("nested"):
                self._done.set()

    def finish(self, *, land: bool = True) -> None:
        """Let the held request go on, and wait until the org has finished it."""
        self._land = land
        self._release.set()
        assert self._done.wait(10), "the held request never reached the org"
