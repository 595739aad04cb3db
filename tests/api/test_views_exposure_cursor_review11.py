"""Exposure pages by cursor as well as by offset: a feature appearing (or leaving) above the
page boundary between two page requests moved every later feature, and the next page by
offset repeated one or skipped one. `next_cursor` continues after the last feature shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session

from app.models import Deal
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.services.pipeline import replace_dependencies
from tests.dashboard.seed import seed


@pytest.fixture
def seeded(engine):
    """Open pipeline per feature: audit 7,000 (2 deals), sso 6,000 (3), scim 3,000 (1), api
    1,000 (2)."""
    with Session(engine) as s:
        seed(s)
        s.commit()


def _store(engine, deal_id: str, amount: str, features: list[str], stage: str = "demo") -> None:
    """An open deal depending on `features`, with its dependency rows as the pipeline writes."""
    with Session(engine) as s:
        deal = Deal(crm="test", deal_id=deal_id, name=deal_id, pipeline="p", stage_id=stage,
                    stage_label=stage.title(), probability=0.5, amount=Decimal(amount),
                    currency="USD", owner_id="o1", owner_name="Olga")  # fmt: skip
        s.add(deal)
        s.flush()
        refs = [FeatureReference(feature_key=f, feature_name=f, source="note",
                                 evidence=f"needs {f}") for f in features]  # fmt: skip
        replace_dependencies(s, deal, EvaluationResult(status=VerdictStatus.clear, references=refs))
        s.commit()


def _walk(client, headers, params: dict, limit: int) -> list[str]:
    seen, cursor = [], None
    for _ in range(20):
        r = client.get("/api/v1/exposure", headers=headers,
                       params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})})  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [f["feature_key"] for f in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


SORTS = ["-amount", "amount", "weighted_amount", "-deal_count", "deal_count,-feature_key",
         "feature_key", "-weighted_amount,deal_count"]  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("limit", [1, 3])
def test_a_cursor_walks_every_feature_once_in_the_order_of_exposure(
    client, api_key, seeded, sort, limit
):
    h = api_key("engineering")
    whole = client.get("/api/v1/exposure", params={"sort": sort}, headers=h).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 4
    assert _walk(client, h, {"sort": sort}, limit) == [f["feature_key"] for f in whole["items"]]


def test_a_feature_appearing_between_pages_is_neither_repeated_nor_skips_one(
    client, api_key, engine, seeded
):
    h = api_key("engineering")
    first = client.get("/api/v1/exposure?limit=2", headers=h).json()
    assert [f["feature_key"] for f in first["items"]] == ["audit", "sso"]
    assert first["total"] == 4 and first["next_cursor"]
    _store(engine, "big", "10000", ["offline"])  # a new feature, first by amount
    after = client.get(f"/api/v1/exposure?limit=2&cursor={first['next_cursor']}", headers=h)
    assert after.status_code == 200, after.text
    body = after.json()
    assert [f["feature_key"] for f in body["items"]] == ["scim", "api"]
    assert body["total"] == 5 and body["next_cursor"]  # a full page: there may be more
    # by offset the next page starts one feature late: sso again
    by_offset = client.get("/api/v1/exposure?limit=2&offset=2", headers=h).json()
    assert [f["feature_key"] for f in by_offset["items"]] == ["sso", "scim"]
    # past the last feature: no rows, the total still counts every feature
    last = client.get(f"/api/v1/exposure?limit=2&cursor={body['next_cursor']}", headers=h).json()
    assert (last["items"], last["next_cursor"], last["total"]) == ([], None, 5)
    # the split and the currency are there on every page, as before
    assert {"by_availability", "currency", "mixed_currencies"} <= set(last)


def test_sums_that_tie_in_binary_arithmetic_are_each_listed_once(client, api_key, engine):
    """SQLite adds NUMERIC amounts as floats: 0.10 + 0.20 is 0.30000000000000004 for both
    features here, read back rounded to 0.30. A cursor holding the rounded value matched
    neither as equal nor as less, and the second feature of the tie was skipped."""
    _store(engine, "a", "0.10", ["f1", "f2", "f3"])
    _store(engine, "b", "0.20", ["f1", "f2", "f3"])
    _store(engine, "c", "0.30", ["f4"])
    h = api_key("engineering")
    for sort in ("-amount", "amount", "-weighted_amount"):
        whole = client.get("/api/v1/exposure", params={"sort": sort}, headers=h).json()
        assert sorted(f["feature_key"] for f in whole["items"]) == ["f1", "f2", "f3", "f4"]
        assert {f["amount"] for f in whole["items"]} == {0.3}
        assert _walk(client, h, {"sort": sort}, 1) == [f["feature_key"] for f in whole["items"]]


def test_a_filtered_exposure_and_its_csv_page_by_cursor_too(client, api_key, seeded):
    h = api_key("engineering")
    params = {"owner": "alice", "sort": "feature_key"}
    whole = client.get("/api/v1/exposure", params=params, headers=h).json()
    assert [f["feature_key"] for f in whole["items"]] == ["api", "audit", "sso"]
    assert _walk(client, h, params, 1) == ["api", "audit", "sso"]
    cursor = client.get("/api/v1/exposure", params={**params, "limit": 1}, headers=h).json()[
        "next_cursor"
    ]
    r = client.get("/api/v1/exposure", headers=h,
                   params={**params, "cursor": cursor, "format": "csv"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert [line.split(",")[0] for line in r.text.splitlines()[1:]] == ["audit", "sso"]


def test_a_cursor_is_refused_with_an_offset_another_sort_or_when_not_one(client, api_key, seeded):
    h = api_key("engineering")
    cursor = client.get("/api/v1/exposure?limit=1", headers=h).json()["next_cursor"]
    for params, path, said in [
        ({"cursor": cursor, "offset": 1}, "query.offset", "give a cursor or an offset"),
        ({"cursor": cursor, "sort": "deal_count"}, "query.cursor", "continues the order '-amount'"),
        ({"cursor": "not-a-cursor"}, "query.cursor", "not a cursor of this list"),
    ]:
        r = client.get("/api/v1/exposure", params=params, headers=h)
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["path"] == path and said in detail["msg"], detail
