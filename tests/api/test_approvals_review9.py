"""Review round 9 of approvals: what a product owner's approval does once the deal is signed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from app.jobs.types import QueueItem
from app.models import Approval, AuditLog, Commitment
from app.rules.model import DealSnapshot, LineItem, Stage
from tests.api import test_approvals as base

OPEN, _body, _state = base.OPEN, base._body, base._state
crm, pipeline, web = base.crm, base.pipeline, base.web  # its fixtures

WON = Stage(id="won", label="Closed won", is_won=True, is_closed=True, probability=1.0)


def _put(crm, pipeline, stage: Stage, n: int) -> None:
    crm.put_deal(
        DealSnapshot(
            crm="test", deal_id="D1", name="Acme", stage=stage, amount=Decimal("50000"),
            close_date=date.today() + timedelta(days=30), owner_id="owner-1",
            line_items=[LineItem(id="li-1", name="SSO add-on", sku="SKU-SSO", quantity=1)],
        )
    )  # fmt: skip
    pipeline.process([QueueItem(id=n, crm="test", deal_id="D1", attempts=1, reason="webhook")])


def test_an_approval_a_deal_was_signed_under_is_not_revoked_behind_the_signature(
    web, engine, crm, pipeline, api_key
):
    """Acme was won under Pat's approval of SSO; the ledger records the promise as approved by
    Pat. Revoking the approval afterwards was accepted: the signed deal was re-evaluated
    without it and the CRM showed `blocked` on business already signed ("a promise made at
    signing that is now at risk gets its own follow-up task", and no task came), while the
    ledger still named Pat and the leadership report moved the override to `revoked`. The
    expiry of that approval is already left alone for the same reason; revoking it is now a
    409 saying so. Reopened (no longer signed business), it is revoked as any other."""
    pat = api_key("approver", name="pat")
    r = web.post("/api/v1/approvals", json=_body(), headers=pat)
    assert r.status_code == 201, r.text
    approval_id = r.json()["id"]
    _put(crm, pipeline, WON, 2)
    verdict, _, props, _ = _state(engine)
    assert (verdict, props["status"], props["block"]) == ("warning", "warning", False)
    with Session(engine) as s:
        (entry,) = s.exec(select(Commitment)).all()
        assert (entry.approver, entry.approval_id) == ("pat", approval_id)

    r = web.post(f"/api/v1/approvals/{approval_id}/revoke", headers=pat)
    assert r.status_code == 409, r.text
    assert "signed" in r.json()["error"]["message"]
    verdict, _, props, queue = _state(engine)
    assert (verdict, props["status"]) == ("warning", "warning")
    with Session(engine) as s:
        assert s.get(Approval, approval_id).revoked_at is None
        assert not s.exec(select(AuditLog).where(AuditLog.action == "approval.revoke")).all()

    _put(crm, pipeline, OPEN, 3)  # reopened: open business again
    r = web.post(f"/api/v1/approvals/{approval_id}/revoke", headers=pat)
    assert r.status_code == 200, r.text
    assert _state(engine)[0] == "blocked"
