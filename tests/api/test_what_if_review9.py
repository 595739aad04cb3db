"""Review 9: the what-if against what the roadmap change then does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.models import Deal
from tests.api.test_what_if import CLOSE, seeded  # noqa: F401


def _verdicts(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {
            d.deal_id: d.verdict
            for d in s.exec(select(Deal).where(Deal.is_closed == False))  # noqa: E712
        }


@pytest.mark.parametrize(
    "change",
    [
        {"availability": "never"},
        {"target_date": (CLOSE + timedelta(days=90)).isoformat()},
        {"target_date": None},
        {"availability": "available"},
        {"availability": "uncertain"},
        {"availability": "beta"},
    ],
)
def test_what_if_predicts_what_the_change_then_does(client, api_key, engine, seeded, change):  # noqa: F811
    h = api_key("admin")
    body = client.post("/api/v1/features/sso/what-if", headers=h,
                       json={**change, "only_changed": False}).json()  # fmt: skip
    predicted = {i["deal_id"]: i["after"] for i in body["items"]}
    before = _verdicts(engine)
    r = client.patch("/api/v1/features/sso", headers=h, json=change)
    assert r.status_code == 200, r.text
    after = _verdicts(engine)
    assert {k: after[k] for k in predicted} == predicted
    assert {k: v for k, v in after.items() if k not in predicted} == {
        k: v for k, v in before.items() if k not in predicted
    }


def test_a_scenario_with_an_approval_and_stale_references_predicts_the_change(
    client,
    api_key,
    engine,
    seeded,  # noqa: F811
):
    """SSO dropped for real, D2's block approved, D3's snapshot newer than its last check (its
    notes read again): the scenario "SSO back with a date after the closes, the API dropped"
    says what the two edits then do, deal by deal."""
    from sqlalchemy import update

    from app.models import utcnow

    admin = api_key("admin")
    assert client.patch("/api/v1/features/sso", headers=admin,
                        json={"availability": "never"}).status_code == 200  # fmt: skip
    expires = (utcnow() + timedelta(days=30)).isoformat()
    r = client.post("/api/v1/approvals", headers=api_key("approver", name="pat"),
                    json={"crm": "test", "deal_id": "D2", "feature_key": "sso",
                          "reason": "exec sponsor", "expires_at": expires})  # fmt: skip
    assert r.status_code == 201, r.text
    with Session(engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "D3").values(snapshot_at=utcnow()))
        s.commit()
    slipped = (CLOSE + timedelta(days=90)).isoformat()
    changes = [
        {"feature_key": "sso", "availability": "coming_soon", "target_date": slipped},
        {"feature_key": "api", "availability": "never"},
    ]
    body = client.post("/api/v1/roadmap/what-if", headers=api_key("viewer"),
                       json={"changes": changes, "only_changed": False}).json()  # fmt: skip
    predicted = {i["deal_id"]: i["after"] for i in body["items"]}
    assert set(predicted) == {"D1", "D2", "D3", "D5"}
    for change in changes:
        key = change.pop("feature_key")
        assert (
            client.patch(f"/api/v1/features/{key}", headers=admin, json=change).status_code == 200
        )
    assert {k: v for k, v in _verdicts(engine).items() if k in predicted} == predicted
