"""A per-portal token bucket: HubSpot's limits are per account, shared by every app in it.

Buckets live in a process-wide registry keyed by portal (or token fingerprint), so every
connector instance in the process draws from the same budget. Capacity is the documented burst
(requests per 10 s); tokens refill continuously. Waits are short (at most a few seconds); a
longer wait becomes a TransientError so the deal queue, not a sleeping thread, owns it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.connectors.base import TransientError


class TokenBucket:
    def __init__(
        self,
        per_10s: int,
        *,
        max_wait: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.capacity = float(per_10s)
        self.rate = per_10s / 10.0
        self.tokens = float(per_10s)
        self.max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now

    def block_for(self, seconds: float) -> None:
        """HubSpot said 429: empty the bucket and stop everyone in this process for a while."""
        with self._lock:
            now = self._clock()
            self._refill(now)
            self.tokens = 0.0
            self._blocked_until = max(self._blocked_until, now + seconds)

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            if self._blocked_until > now:
                wait = self._blocked_until - now
                if wait > self.max_wait:
                    raise TransientError(
                        "HubSpot rate limit: portal budget paused", retry_after=wait
                    )
                self._sleep(wait)
                now = self._clock()
            self._refill(now)
            if self.tokens < 1.0:
                wait = (1.0 - self.tokens) / self.rate
                if wait > self.max_wait:
                    raise TransientError("HubSpot rate limit: budget exhausted", retry_after=wait)
                self._sleep(wait)
                self.waited += wait
                now = self._clock()
                self._refill(now)
            self.tokens -= 1.0


_BUCKETS: dict[str, TokenBucket] = {}
_REGISTRY_LOCK = threading.Lock()


def bucket_for(portal_key: str, per_10s: int) -> TokenBucket:
    with _REGISTRY_LOCK:
        bucket = _BUCKETS.get(portal_key)
        if bucket is None or bucket.capacity != float(per_10s):
            bucket = TokenBucket(per_10s)
            _BUCKETS[portal_key] = bucket
        return bucket
