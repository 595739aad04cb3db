"""The fan-out counts every roadmap write answers with (docs/roadmap.md, *Fan-out*): features,
mappings and sources, created, changed, deleted or refreshed, all say them with the same three
fields."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.fanout import FanOutResult

REEVALUATED = (
    "open deals depending on the change: re-checked in the change's own transaction, or, above "
    "2,000, queued for the worker to re-check (then also counted in deals_deferred)"
)
REQUEUED = (
    "deals re-checked in the change's transaction whose result changed, queued for the CRM "
    "write-back (0 when the re-check was deferred: see deals_deferred)"
)
DEFERRED = (
    "deals queued (reason roadmap) for the worker to re-check from their stored snapshots, "
    "because more than 2,000 depend on the change; those whose result changes are written "
    "back then. Their progress: GET /api/v1/queue, pending_by_reason.roadmap"
)


class FanOutCounts(BaseModel):
    """Base of a write's answer: `class SourceDeleted(FanOutCounts): name: str`, then
    `SourceDeleted(name=name, **fanout_counts(fanout))`."""

    deals_reevaluated: int = Field(default=0, description=REEVALUATED)
    deals_requeued: int = Field(default=0, description=REQUEUED)
    deals_deferred: int = Field(default=0, description=DEFERRED)


def fanout_counts(fanout: FanOutResult) -> dict[str, int]:
    return {
        "deals_reevaluated": fanout.candidates,
        "deals_requeued": fanout.requeued_count,
        "deals_deferred": fanout.deferred,
    }
