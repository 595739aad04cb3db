"""The closed-won guard on HubSpot. No CRM lets a webhook veto a save, so the service acts after.

revert (default): a deal with an unapproved blocking finding found in a won stage is moved back
to the stage it came from (the latest open stage of its current pipeline in dealstage history)
and the task says so. With no such stage, or when HubSpot refuses the move, it is flagged for
manual review instead, the task saying what the rep does: move it back, then resolve or get an
approval ("needs manual review" alone left the deal sitting in the won stage). warn: the deal is
only flagged (status, task saying the same, guard property empty). Either way the guard
property stays empty, so a HubSpot pipeline rule that requires it stops the move in the UI in
the first place (docs/hubspot.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.connectors.base import DealWriteBack


@dataclass(frozen=True)
class GuardAction:
    revert_to: str | None
    won_stage: str | None
    message: str | None


def guard_action(
    item: DealWriteBack, mode: str, *, revert_refused: str | None = None
) -> GuardAction:
    snapshot = item.snapshot
    if not item.block or snapshot is None or not snapshot.stage.is_won:
        return GuardAction(None, None, None)
    won = snapshot.stage.label or snapshot.stage.id
    if mode != "revert":
        return GuardAction(
            None,
            snapshot.stage.id,
            f"This deal is in '{won}' but has blocking roadmap findings. Move it back to an "
            "open stage, then resolve them or get an approval.",
        )
    target = snapshot.extra.get("previous_stage")
    if not target:
        return GuardAction(
            None,
            snapshot.stage.id,
            f"This deal reached '{won}' with blocking roadmap findings and no earlier stage "
            "to return to; it needs manual review: move it back to an open stage yourself, "
            "then resolve them or get an approval.",
        )
    label = snapshot.extra.get("previous_stage_label") or target
    if revert_refused:
        return GuardAction(
            None,
            snapshot.stage.id,
            f"roadmap-guard could not move this deal back from '{won}' to '{label}' "
            f"(HubSpot refused: {revert_refused}). It has blocking roadmap findings and needs "
            f"manual review: move it back to '{label}' yourself (or ask a HubSpot admin to), "
            "then resolve them or get an approval.",
        )
    return GuardAction(
        target,
        snapshot.stage.id,
        f"roadmap-guard moved this deal back from '{won}' to '{label}': it has blocking "
        "roadmap findings. Resolve them or get an approval, then move it again.",
    )
