"""A per-portal call budget: HubSpot's limits are per account, shared by every app in it.

HubSpot allows at most N calls in any rolling 10 s window (TEN_SECONDLY_ROLLING). A token bucket
of capacity N refilling N/10 per second lets 2N through in some 10 s window (a full burst, then a
window of refill), so this is a sliding-window log instead: the send times of the last N calls;
call N+1 waits until the oldest of them is 10 s old. Budgets live in a process-wide registry
keyed by portal (or token fingerprint), so every connector instance in the process draws from
the same budget. Waits are short (at most a few seconds); a longer wait becomes a TransientError
so the deal queue, not a sleeping thread, owns it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from app.connectors.base import TransientError

WINDOW = 10.0
# Waits end a millisecond past the window: clock jitter must not squeeze in one call too many.
MARGIN = 0.001


class TokenBucket:
    """At most `per_10s` acquisitions in any rolling `window` (10 s), plus 429 pauses."""

    def __init__(
        self,
        per_10s: int,
        *,
        window: float = WINDOW,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = int(per_10s)
        self.window = window
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def block_for(self, seconds: float) -> None:
        """HubSpot said 429: stop everyone in this process for a while."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def _wait(self, seconds: float, reason: str) -> None:
        if seconds > self.max_wait:
            # our own budget for the portal: the deal waits its turn, no attempt spent
            raise TransientError(f"HubSpot rate limit: {reason}", retry_after=seconds, hold=True)
        self._sleep(seconds)
        self.waited += seconds

    def acquire(self) -> None:
        # Holding the lock while sleeping is deliberate: callers queue up in order.
        with self._lock:
            now = self._clock()
            if self._blocked_until > now:
                self._wait(self._blocked_until - now, "portal budget paused")
                now = self._clock()
            while self._sent and self._sent[0] <= now - self.window:
                self._sent.popleft()
            if len(self._sent) >= self.limit:
                self._wait(self._sent[0] + self.window + MARGIN - now, "budget exhausted")
                now = self._clock()
                self._sent.popleft()  # the oldest call has now left the window
            self._sent.append(now)


_BUCKETS: dict[str, TokenBucket] = {}
_REGISTRY_LOCK = threading.Lock()


def bucket_for(portal_key: str, per_10s: int) -> TokenBucket:
    with _REGISTRY_LOCK:
        bucket = _BUCKETS.get(portal_key)
        if bucket is None or bucket.limit != per_10s:
            bucket = TokenBucket(per_10s)
            _BUCKETS[portal_key] = bucket
        return bucket


# The CRM search endpoints have a limit of their own, per token and per second, on top of the
# portal's 10 s budget: four requests a second in HubSpot's changelog ("CRM Search API Rate
# Limit Increase"; the usage guidelines now say five). Four: whichever is in force, never over.
SEARCH_PER_SECOND = 4
SEARCH_WINDOW = 1.0


def search_bucket_for(portal_key: str) -> TokenBucket:
    with _REGISTRY_LOCK:
        key = "search|" + portal_key
        bucket = _BUCKETS.get(key)
        if bucket is None:
            bucket = _BUCKETS[key] = TokenBucket(SEARCH_PER_SECOND, window=SEARCH_WINDOW)
        return bucket
