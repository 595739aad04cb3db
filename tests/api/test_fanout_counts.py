"""The fan-out counts of a roadmap write say where the dependent deals went: re-checked now
(`deals_requeued` of them changed and queued for write-back) or, above the inline limit,
queued for the worker's re-check (`deals_deferred`)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.models import DealQueue
from tests.dashboard.seed import seed

SSO_DEALS = 3  # open, tracked deals depending on sso in the seed: h1, h2, s3


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        seed(s)
        s.commit()


def _roadmap_rows(engine) -> int:
    with Session(engine) as s:
        rows = s.exec(select(DealQueue).where(DealQueue.status == "pending")).all()
    return sum(1 for r in rows if r.reason == "roadmap")


def _counts(body: dict) -> tuple[int, int, int]:
    return body["deals_reevaluated"], body["deals_requeued"], body["deals_deferred"]


def test_a_large_feature_change_says_its_deals_were_queued_for_a_deferred_recheck(
    client, api_key, engine, seeded, monkeypatch
):
    from app.services import fanout

    monkeypatch.setattr(fanout, "INLINE_LIMIT", SSO_DEALS - 1)  # as above 2,000 deals
    revops = api_key("revops")
    r = client.patch("/api/v1/features/sso", json={"availability": "never"}, headers=revops)
    assert r.status_code == 200, r.text
    assert _counts(r.json()) == (SSO_DEALS, 0, SSO_DEALS)
    assert _roadmap_rows(engine) == SSO_DEALS

    r = client.delete("/api/v1/features/sso", headers=revops)
    assert r.status_code == 200, r.text
    assert _counts(r.json()) == (SSO_DEALS, 0, SSO_DEALS)


def test_a_small_feature_change_is_rechecked_inline_and_defers_nothing(
    client, api_key, engine, seeded
):
    revops = api_key("revops")
    r = client.patch("/api/v1/features/sso", json={"availability": "never"}, headers=revops)
    assert r.status_code == 200, r.text
    reevaluated, requeued, deferred = _counts(r.json())
    assert (reevaluated, deferred) == (SSO_DEALS, 0)
    assert 0 < requeued <= SSO_DEALS  # the verdicts that changed, queued for write-back
    assert _roadmap_rows(engine) == requeued


def test_a_large_mapping_change_says_its_deals_were_deferred(
    client, api_key, engine, seeded, monkeypatch
):
    from app.services import fanout

    monkeypatch.setattr(fanout, "INLINE_LIMIT", 0)
    revops = api_key("revops")
    body = {"match_kind": "name", "match_value": "SSO add-on", "feature_keys": ["scim"]}
    r = client.post("/api/v1/mappings", json=body, headers=revops)
    assert r.status_code in (200, 201), r.text
    reevaluated, requeued, deferred = _counts(r.json())
    assert reevaluated > 0 and requeued == 0 and deferred == reevaluated
    assert _roadmap_rows(engine) == deferred


def test_the_cli_says_a_deferred_recheck_was_queued_not_that_nothing_was():
    """The roadmap CLI printed "2100 open deals re-evaluated, 0 queued for write-back" for a
    change whose 2,100 deals were all queued for the workers' re-check."""
    from app.services.fanout import FanOutResult

    deferred = FanOutResult(candidates=2100, deferred=2100)
    assert deferred.summary().startswith("2100 open deals queued for the workers to re-check")
    inline = FanOutResult(candidates=3, requeued={"hubspot": ["1", "2"]})
    assert inline.summary() == "3 open deals re-evaluated, 2 queued for write-back"
