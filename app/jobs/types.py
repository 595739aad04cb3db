"""What the worker hands a processor and what it gets back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class QueueItem:
    id: int
    crm: str
    deal_id: str
    attempts: int  # including this one
    reason: str
    priority: int = 0  # the row's (queue.SWEEP_REASONS): 0 urgent, 1 a sweep


@dataclass(frozen=True)
class Outcome:
    kind: Literal["done", "retry", "dead"]
    error: str | None = None
    retry_after: float | None = None  # seconds, when the remote said so
    # A retry that spends no attempt (the CRM refused our credentials: not this deal's fault,
    # and it must not reach dead while an admin renews the token; a lost create given time to
    # land). See TransientError.hold.
    hold: bool = False

    @classmethod
    def done(cls) -> Outcome:
        return cls("done")

    @classmethod
    def from_exception(cls, exc: BaseException) -> Outcome:
        from app.connectors.base import PermanentError, TransientError

        if isinstance(exc, TransientError):  # held (CredentialsError, ...) or not
            return cls(
                "retry",
                error=f"{type(exc).__name__}: {exc}",
                retry_after=exc.retry_after,
                hold=exc.hold,
            )
        if isinstance(exc, PermanentError):
            return cls("dead", error=f"{type(exc).__name__}: {exc}")
        # Unknown failures are retried: a bug fixed and deployed lets them through; attempts cap it.
        return cls("retry", error=f"{type(exc).__name__}: {exc}")


class Processor(Protocol):
    def process(self, batch: Sequence[QueueItem]) -> dict[int, Outcome]:
        """An outcome per queue item id. Items missing from the result count as retry."""
        ...
