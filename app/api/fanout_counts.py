"""The fan-out counts every roadmap write answers with (docs/roadmap.md, *Fan-out*): features,
mappings and sources, created, changed or deleted, all say them with the same two fields."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.fanout import FanOutResult


class FanOutCounts(BaseModel):
    """Base of a write's answer: `class SourceDeleted(FanOutCounts): name: str`, then
    `SourceDeleted(name=name, **fanout_counts(fanout))`."""

    deals_reevaluated: int = Field(
        description="open deals depending on the change, re-evaluated (or queued to be)"
    )
    deals_requeued: int = Field(description="deals queued for the CRM write-back")


def fanout_counts(fanout: FanOutResult) -> dict[str, int]:
    return {"deals_reevaluated": fanout.candidates, "deals_requeued": fanout.requeued_count}
