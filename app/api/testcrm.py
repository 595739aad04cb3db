"""The test CRM's own "UI": put and delete deals, read back what roadmap-guard wrote.

Putting a deal also queues it, as a CRM webhook would; the worker then reads it through the
test connector like any other CRM. Only for exploration, demos and end-to-end tests.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from pydantic import model_validator
from sqlmodel import Session, select

from app.api.deps import EngineDep, ReadPrincipal, RevOpsPrincipal, SessionDep
from app.connectors.testcrm import TestCrmConnector
from app.errors import Invalid, NotFound
from app.jobs.ingest import InboundEvent, ingest_events
from app.models import TestCrmDeal, TestCrmNote, TestCrmTask, utcnow
from app.rules.model import DealSnapshot, human_deal_shape

router = APIRouter(prefix="/api/v1/test-crm", tags=["test CRM"])


# The deal id's column is 64 characters: a longer id was stored on SQLite (and went on to
# the queue and the worker) and refused on PostgreSQL as a value that "cannot be stored".
DealId = Annotated[str, Path(min_length=1, max_length=64, description="the deal's id")]


def _connector(request: Request) -> TestCrmConnector:
    return request.app.state.connectors["test"]


class TestCrmDealBody(DealSnapshot):
    """A deal snapshot for the test CRM, in the shape a person types. `crm` and `deal_id` may be
    left out: the path names the deal and the CRM is `test`; given, they must say the same.
    `stage` may be just its id (`"negotiation"` for `{"id": "negotiation"}`), and a line item or
    note without an `id` gets one by its place: `li-1`, `li-2`..., `n-1`, `n-2`... The stored
    snapshot has the full shape the CRM connectors produce."""

    __test__ = False  # not a pytest class, whatever its name
    crm: str = "test"
    deal_id: str | None = None  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _human_shape(cls, data: Any) -> Any:
        return human_deal_shape(data)


@router.put(
    "/deals/{deal_id}", status_code=status.HTTP_202_ACCEPTED, operation_id="put_test_crm_deal"
)
def put_deal(
    deal_id: DealId,
    body: TestCrmDealBody,
    request: Request,
    engine: EngineDep,
    _: RevOpsPrincipal,
) -> dict:
    wrong = [
        {
            "loc": [name],
            "path": name,
            "msg": f"must be {want!r} (or left out), not {got!r}",
            "type": "value_error",
        }
        for name, got, want in (("crm", body.crm, "test"), ("deal_id", body.deal_id, deal_id))
        if got is not None and got != want
    ]
    if wrong:
        raise Invalid(
            "; ".join(f"{w['path']} {w['msg']}" for w in wrong),
            details=wrong,
        )
    snapshot = DealSnapshot.model_construct(
        **{name: getattr(body, name) for name in DealSnapshot.model_fields}
        | {"crm": "test", "deal_id": deal_id}
    )
    _connector(request).put_deal(snapshot)
    event = InboundEvent(
        source="test_crm",
        dedup_key=f"{deal_id}:{utcnow().isoformat()}",
        crm="test",
        deal_id=deal_id,
        event_type="deal.put",
    )
    result = ingest_events(engine, [event])
    return {"deal_id": deal_id, "queued": result.queued_deals}


@router.delete(
    "/deals/{deal_id}", status_code=status.HTTP_202_ACCEPTED, operation_id="delete_test_crm_deal"
)
def delete_deal(deal_id: DealId, request: Request, engine: EngineDep, _: RevOpsPrincipal) -> dict:
    """Delete the deal in the test CRM (as a user deleting the record); deleting it again is
    no error. A deal the test CRM never had is a 404, as GET answers: nothing is queued."""
    with Session(engine) as session:
        if session.get(TestCrmDeal, deal_id) is None:
            raise NotFound(f"no deal '{deal_id}' in the test CRM")
    _connector(request).delete_deal(deal_id)
    event = InboundEvent(
        source="test_crm",
        dedup_key=f"{deal_id}:deleted:{utcnow().isoformat()}",
        crm="test",
        deal_id=deal_id,
        event_type="deal.deleted",
    )
    ingest_events(engine, [event])
    return {"deal_id": deal_id, "deleted": True}


@router.get("/deals/{deal_id}", operation_id="get_test_crm_deal")
def get_deal(deal_id: DealId, session: SessionDep, _: ReadPrincipal) -> dict:
    """What the test CRM record shows: our properties, tasks and notes."""
    row = session.get(TestCrmDeal, deal_id)
    if row is None:
        raise NotFound(f"no deal '{deal_id}' in the test CRM")
    tasks = session.exec(select(TestCrmTask).where(TestCrmTask.deal_id == deal_id))
    notes = session.exec(select(TestCrmNote).where(TestCrmNote.deal_id == deal_id))
    return {
        "deal_id": deal_id,
        "deleted": row.deleted,
        "properties": row.properties,
        "tasks": [t.model_dump(mode="json") for t in tasks],
        "notes": [n.model_dump(mode="json") for n in notes],
    }
