"""Roadmap what-if: what changing features would block or clear, before anyone changes them.

    POST /api/v1/features/{key}/what-if   one feature
    POST /api/v1/roadmap/what-if          several at once (a scenario)

Both re-evaluate the changed features' open dependants from their stored snapshots under the
roadmap as it is and as tried (services/what_if.py), in a read-only transaction (no write lock
on SQLite: webhooks and the worker go on meanwhile), and write nothing. Every role may ask.
With `stream=true` the answer is NDJSON: `{"type":"progress","processed":n,"total":N}` lines,
then `{"type":"result",...}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from app.api.deps import EngineDep, ReadPrincipal
from app.api.streaming import Progress, progress_stream
from app.db import read_only
from app.services.what_if import (
    FeatureChange,
    ScenarioRequest,
    WhatIfRequest,
    WhatIfResult,
    features_as_they_are,
    run_scenario,
    what_if,
)

router = APIRouter(tags=["roadmap"])
Stream = Annotated[bool, Query(description="stream progress as NDJSON")]


@router.post(
    "/api/v1/features/{key}/what-if",
    summary="What a change to this feature would block or clear: deals and pipeline; writes nothing",
    operation_id="feature_what_if",
)
def feature_what_if(
    key: str, body: WhatIfRequest, engine: EngineDep, _p: ReadPrincipal, stream: Stream = False
) -> WhatIfResult:
    """The feature's availability, target date or both, tried alone."""
    return _answer(
        engine,
        stream,
        lambda session, progress: what_if(session, key, body, progress),
        check=lambda session: features_as_they_are(
            session, [FeatureChange.model_construct(feature_key=key)], scenario=False
        ),
    )


@router.post(
    "/api/v1/roadmap/what-if",
    summary="What changing several features at once would block or clear; writes nothing",
    operation_id="roadmap_what_if",
)
def roadmap_what_if(
    body: ScenarioRequest, engine: EngineDep, _p: ReadPrincipal, stream: Stream = False
) -> WhatIfResult:
    """A scenario: each change names its feature (`feature_key`) and what to try for it."""
    return _answer(
        engine,
        stream,
        lambda session, progress: run_scenario(session, body, progress),
        check=lambda session: features_as_they_are(session, body.changes),
    )


def _answer(
    engine,
    stream: bool,
    run: Callable[[Session, Progress | None], WhatIfResult],
    *,
    check: Callable[[Session], object],
) -> WhatIfResult:
    def work(progress: Progress | None = None) -> WhatIfResult:
        with Session(read_only(engine)) as session:
            return run(session, progress)

    if not stream:
        return work()
    # What would refuse the request is refused before the stream starts (a 404 or 422, not an
    # error line after a 200).
    with Session(read_only(engine)) as session:
        check(session)
    return progress_stream(work, name="what-if")  # type: ignore[return-value]
