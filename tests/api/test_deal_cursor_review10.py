"""Paging the deal lists while deals change: an offset counts rows, so a deal that closed (or
moved up the sort) between two page requests shifted every later row, and the next page
repeated a deal or skipped one. `next_cursor` continues after the last deal shown."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import Session, select

from app.models import Deal
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.services.pipeline import replace_dependencies

N = 9


@pytest.fixture
def deals(engine):
    """Nine open deals depending on SSO; amounts 900, 800, ... 100, and two without an amount
    or a close date sorting last, so NULLs and ties cross a page boundary."""
    with Session(engine) as s:
        for i in range(N):
            amount = None if i >= 7 else Decimal(900 - 100 * i)
            deal = Deal(crm="test", deal_id=f"d{i}", name=f"Deal {i % 3}", pipeline="p",
                        stage_id="demo", stage_label="Demo", probability=0.5, amount=amount,
                        currency="USD", owner_id="o1", owner_name="Olga")  # fmt: skip
            s.add(deal)
            s.flush()
            refs = [FeatureReference(feature_key="sso", feature_name="SSO", source="note",
                                     evidence="needs SSO")]  # fmt: skip
            replace_dependencies(
                s, deal, EvaluationResult(status=VerdictStatus.clear, references=refs)
            )
        s.commit()


def _close(engine, deal_id: str) -> None:
    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == deal_id)).one()
        deal.is_closed = True
        s.add(deal)
        refs = [FeatureReference(feature_key="sso", feature_name="SSO", source="note",
                                 evidence="needs SSO")]  # fmt: skip
        replace_dependencies(s, deal, EvaluationResult(status=VerdictStatus.clear, references=refs))
        s.commit()


def _walk(client, headers, url: str) -> list[str]:
    seen, cursor = [], None
    for _ in range(N + 2):
        r = client.get(url, params={"limit": 3, **({"cursor": cursor} if cursor else {})},
                       headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [d["deal_id"] for d in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


URLS = [
    "/api/v1/deals?sort=-amount",
    "/api/v1/deals?sort=name,-close_date",  # ties on name, NULL close dates
    "/api/v1/deals?sort=verdict",
    "/api/v1/deals?sort=-updated_at,probability",  # a timestamp in the cursor
    "/api/v1/features/sso/deals?sort=-amount",  # from the dependency rows
    "/api/v1/features/sso/deals?sort=name",  # joined to deal
    "/api/v1/deals?feature=sso&sort=amount",
]


@pytest.mark.parametrize("url", URLS)
def test_a_cursor_walks_every_deal_once_in_the_order_of_the_list(client, api_key, deals, url):
    h = api_key("viewer")
    everything = client.get(url, params={"limit": 100}, headers=h).json()
    assert everything["next_cursor"] is None
    assert _walk(client, h, url) == [d["deal_id"] for d in everything["items"]]


@pytest.mark.parametrize("url", ["/api/v1/deals?sort=-amount", "/api/v1/features/sso/deals"])
def test_a_deal_closing_between_pages_neither_repeats_nor_skips_one(
    client, api_key, engine, deals, url
):
    h = api_key("viewer")
    first = client.get(url, params={"limit": 3}, headers=h).json()
    assert [d["deal_id"] for d in first["items"]] == ["d0", "d1", "d2"]
    _close(engine, "d1")  # a deal of the first page closes
    after = client.get(url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=h)
    assert [d["deal_id"] for d in after.json()["items"]] == ["d3", "d4", "d5"]
    # by offset, the next page starts one deal late: d3 is never shown
    by_offset = client.get(url, params={"limit": 3, "offset": 3}, headers=h).json()
    assert [d["deal_id"] for d in by_offset["items"]] == ["d4", "d5", "d6"]


def test_a_cursor_is_refused_with_an_offset_another_sort_or_when_not_one(client, api_key, deals):
    h = api_key("viewer")
    cursor = client.get("/api/v1/deals?limit=2", headers=h).json()["next_cursor"]
    for params, path, said in [
        ({"cursor": cursor, "offset": 2}, "query.offset", "give a cursor or an offset"),
        ({"cursor": cursor, "sort": "name"}, "query.cursor", "continues the order '-amount'"),
        ({"cursor": "not-a-cursor"}, "query.cursor", "not a cursor of this list"),
    ]:
        r = client.get("/api/v1/deals", params=params, headers=h)
        assert r.status_code == 422, r.text
        [detail] = r.json()["error"]["details"]
        assert detail["path"] == path and said in detail["msg"], detail


def test_the_ledger_pages_by_cursor_past_a_win_signed_meanwhile(client, api_key, engine):
    """The ledger lists the latest signatures first: a win recorded between two page
    requests pushed every entry one down, and the next page by offset repeated one."""
    from datetime import UTC, datetime, timedelta

    from app.models import Commitment

    t0 = datetime(2026, 3, 1, tzinfo=UTC)

    def sign(i: int, at: datetime) -> Commitment:
        return Commitment(crm="test", deal_id=f"w{i}", deal_name=f"Win {i}", feature_key="sso",
                          promise_key="sso", amount=Decimal(100 + i), signed_at=at)  # fmt: skip

    with Session(engine) as s:
        s.add_all([sign(i, t0 - timedelta(days=i)) for i in range(6)])
        s.commit()
    h = api_key("viewer")
    first = client.get("/api/v1/commitments?limit=3", headers=h).json()
    assert [c["deal_id"] for c in first["items"]] == ["w0", "w1", "w2"]
    with Session(engine) as s:
        s.add(sign(9, t0 + timedelta(days=1)))  # signed since: first in the ledger
        s.commit()
    after = client.get(f"/api/v1/commitments?limit=3&cursor={first['next_cursor']}", headers=h)
    assert [c["deal_id"] for c in after.json()["items"]] == ["w3", "w4", "w5"]
    assert after.json()["next_cursor"] is not None  # a full page: there may be more
    last = client.get(
        f"/api/v1/commitments?limit=3&cursor={after.json()['next_cursor']}", headers=h
    ).json()
    assert (last["items"], last["next_cursor"]) == ([], None)
    by_offset = client.get("/api/v1/commitments?limit=3&offset=3", headers=h).json()
    assert [c["deal_id"] for c in by_offset["items"]] == ["w2", "w3", "w4"]  # w2 again
    # every sort key's values ride in the cursor (dates, amounts, text, NULLs)
    for sort in ("amount", "-promised_date,deal_name", "flagged_at", "-close_date"):
        seen, cursor = [], None
        for _ in range(5):
            params = {"limit": 2, "sort": sort, **({"cursor": cursor} if cursor else {})}
            body = client.get("/api/v1/commitments", params=params, headers=h).json()
            seen += [c["deal_id"] for c in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        whole = client.get("/api/v1/commitments", params={"sort": sort}, headers=h).json()
        assert seen == [c["deal_id"] for c in whole["items"]], sort
