"""Review round 7 of POST /api/v1/rules/simulate: a simulated later day counts only the
approvals still in force on it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session

from app.models import Approval, utcnow
from tests.api.test_simulate import seed


def test_a_later_day_does_not_count_an_approval_expired_by_then(client, api_key, engine):
    """d-offline is blocked (a never-built feature) and approved for ten days. Simulated on a
    day a month ahead, it read as approved (warning), the block lifted by an approval that will
    have expired by then."""
    seed(engine)
    now = utcnow()
    with Session(engine) as s:
        s.add(
            Approval(
                crm="test",
                deal_id="d-offline",
                feature_key="offline",
                rule_id="never-sold",
                reason="signed off",
                approver="pat",
                expires_at=now + timedelta(days=10),
                created_at=now,
                covers=[{"rule_id": "never-sold", "feature_key": "offline", "evidence": None}],
            )
        )
        s.commit()
    headers = api_key("revops")

    def counts(day: date | None) -> dict:
        body = {"rules": [], "only_changed": False}
        if day is not None:
            body["today"] = day.isoformat()
        r = client.post("/api/v1/rules/simulate", json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["before"]

    approved = {"clear": 2, "warning": 1, "blocked": 0}
    assert counts(None) == approved
    assert counts(now.date() + timedelta(days=5)) == approved
    assert counts(now.date() - timedelta(days=5)) == approved
    assert counts(now.date() + timedelta(days=30)) == {"clear": 2, "warning": 0, "blocked": 1}
