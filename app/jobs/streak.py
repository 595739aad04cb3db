"""A loop step failing again and again (the database down for an hour): its log and its pace.

The worker's claim and the schedule runner's pass each logged a full traceback at every poll
(about 10 KB a second, ~900 MB a day, through an outage). Now the first failure of a streak is
logged with its traceback, the next ones as one warning line a minute with their count and the
error's class, and the wait before the next try doubles from the poll interval up to a minute;
the first success after a streak logs how long it lasted.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

REPEAT_LOG_SECONDS = 60.0
MAX_WAIT_SECONDS = 60.0


class FailureStreak:
    """Failures of one loop step, `what` ("claim", "schedule pass"), in a row."""

    def __init__(
        self,
        what: str,
        base_wait: float,
        *,
        max_wait: float = MAX_WAIT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.base_wait = base_wait
        self.max_wait = max(max_wait, base_wait)
        self.clock = clock
        self.count = 0
        self._started = 0.0
        self._logged = 0.0
        self._wait = base_wait

    def failed(self, exc: BaseException) -> float:
        """Log this failure as the streak warrants; the seconds to wait before the next try."""
        now = self.clock()
        self.count += 1
        if self.count == 1:
            self._started = self._logged = now
            self._wait = self.base_wait
            log.exception(f"{self.what} failed", error=type(exc).__name__)
        else:
            self._wait = min(self._wait * 2, self.max_wait)
            if now - self._logged >= REPEAT_LOG_SECONDS:
                self._logged = now
                log.warning(
                    f"{self.what} still failing",
                    error=type(exc).__name__,
                    failures=self.count,
                    seconds=round(now - self._started, 1),
                    next_try_in=self._wait,
                )
        return self._wait

    def ok(self) -> None:
        """The step worked: end the streak (logging it, if there was one)."""
        if self.count:
            log.info(
                f"{self.what} recovered",
                failures=self.count,
                seconds=round(self.clock() - self._started, 1),
            )
            self.count = 0
