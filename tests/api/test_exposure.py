"""Exposure per feature over the seeded set; totals are hand-computed from tests/dashboard/seed.py.

Open, tracked deals only: h3 (won) and h4 (deleted in the CRM) never count.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlmodel import Session

from tests.dashboard.seed import seed, wish_for_sso_on_s3


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        seed(s)
        s.commit()


def _by_key(body):
    return {i["feature_key"]: i for i in body["items"]}


def test_exposure_totals_by_feature_stage_and_availability(client, api_key, seeded):
    r = client.get("/api/v1/exposure", headers=api_key("engineering"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["feature_key"] for i in body["items"]] == ["audit", "sso", "scim", "api"]
    items = _by_key(body)
    # sso: h1 1000×0.2 + h2 2000×0.5 + s3 3000×0.8; h1 mentions it twice but counts once
    assert (
        items["sso"]["deal_count"],
        items["sso"]["amount"],
        items["sso"]["weighted_amount"],
    ) == (3, 6000.0, 3600.0)
    assert (
        items["audit"]["deal_count"],
        items["audit"]["amount"],
        items["audit"]["weighted_amount"],
    ) == (2, 7000.0, 5000.0)
    # s2 has no amount and no probability: counted, worth nothing
    assert (
        items["api"]["deal_count"],
        items["api"]["amount"],
        items["api"]["weighted_amount"],
    ) == (2, 1000.0, 200.0)
    assert items["sso"]["availability"] == "coming_soon"
    assert items["sso"]["target_date"] == "2026-09-30"
    stages = {(s["pipeline"], s["stage_id"]): (s["deal_count"], s["amount"], s["weighted_amount"])
              for s in items["sso"]["by_stage"]}  # fmt: skip
    assert stages == {
        ("default", "qualified"): (1, 1000.0, 200.0),
        ("default", "proposal"): (1, 2000.0, 1000.0),
        ("enterprise", "Negotiation"): (1, 3000.0, 2400.0),
    }
    split = {a["availability"]: (a["deal_count"], a["amount"], a["weighted_amount"])
             for a in body["by_availability"]}  # fmt: skip
    assert split == {
        "coming_soon": (3, 6000.0, 3600.0),
        "never": (2, 7000.0, 5000.0),
        "available": (2, 1000.0, 200.0),
        "uncertain": (1, 3000.0, 2400.0),
    }
    assert body["total"] == 4


def _split(client, headers, query: str = "") -> dict[str, tuple]:
    body = client.get(f"/api/v1/exposure?{query}", headers=headers).json()
    return {a["availability"]: (a["deal_count"], a["amount"], a["weighted_amount"])
            for a in body["by_availability"]}  # fmt: skip


def test_availability_split_follows_feature_edits_before_any_reevaluation(
    client, api_key, engine, seeded, monkeypatch
):
    """The split reads the availability copied onto the dependency rows. An edit or a delete
    must rewrite the copy in its own transaction: here the fan-out only queues the deals (as a
    large one does), so nothing is re-evaluated and no row is rebuilt."""
    from sqlmodel import select

    from app.models import DealFeature, DealQueue
    from app.services import fanout

    monkeypatch.setattr(fanout, "INLINE_LIMIT", 0)
    h, revops = api_key("viewer"), api_key("revops")
    r = client.patch("/api/v1/features/sso", json={"availability": "available"}, headers=revops)
    assert r.status_code == 200, r.text
    # sso (coming_soon → available) joins api on h1 and s2: h1, h2, s2, s3
    assert _split(client, h) == {
        "available": (4, 6000.0, 3600.0),
        "never": (2, 7000.0, 5000.0),
        "uncertain": (1, 3000.0, 2400.0),
    }
    r = client.get("/api/v1/exposure?availability=available", headers=h).json()
    assert {i["feature_key"] for i in r["items"]} == {"sso", "api"}
    assert r["by_availability"] == [
        {"availability": "available", "deal_count": 4, "amount": 6000.0, "weighted_amount": 3600.0,
         "currency": "USD", "mixed_currencies": False}
    ]  # fmt: skip
    assert (r["currency"], r["mixed_currencies"]) == ("USD", False)
    assert client.delete("/api/v1/features/sso", headers=revops).status_code == 200
    assert _split(client, h) == {
        "unknown": (3, 6000.0, 3600.0),
        "available": (2, 1000.0, 200.0),
        "never": (2, 7000.0, 5000.0),
        "uncertain": (1, 3000.0, 2400.0),
    }
    with Session(engine) as s:
        queued = {q.deal_id for q in s.exec(select(DealQueue))}
        copies = set(
            s.exec(select(DealFeature.availability).where(DealFeature.feature_key == "sso"))
        )
    assert queued == {"h1", "h2", "s3"}  # the open dependants wait for the worker
    assert copies == {"unknown"}  # closed and untracked deals' rows too


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("crm=salesforce", {"audit": (1, 5000.0), "sso": (1, 3000.0), "scim": (1, 3000.0), "api": (1, 0.0)}),
        ("owner=alice", {"audit": (1, 5000.0), "sso": (1, 1000.0), "api": (1, 1000.0)}),
        ("owner=Bob%20Roy", {"sso": (2, 5000.0), "audit": (1, 2000.0), "scim": (1, 3000.0)}),
        ("pipeline=default", {"sso": (2, 3000.0), "audit": (1, 2000.0), "api": (1, 1000.0)}),
        ("close_from=2026-12-01&close_to=2026-12-31", {"audit": (1, 5000.0), "sso": (1, 1000.0), "api": (1, 1000.0)}),
        ("availability=never", {"audit": (2, 7000.0)}),
        # several (a repeat kept the last alone, silently)
        ("availability=never&availability=uncertain", {"audit": (2, 7000.0), "scim": (1, 3000.0)}),
    ],
)  # fmt: skip
def test_exposure_filters(client, api_key, seeded, query, expected):
    r = client.get(f"/api/v1/exposure?{query}", headers=api_key("viewer"))
    assert r.status_code == 200, r.text
    got = {k: (v["deal_count"], v["amount"]) for k, v in _by_key(r.json()).items()}
    assert got == expected
    if query.startswith("availability="):  # the split holds the availabilities asked for
        asked = {part.split("=")[1] for part in query.split("&")}
        assert {row["availability"] for row in r.json()["by_availability"]} == asked


def test_exposure_paging_sorting_and_csv(client, api_key, seeded):
    h = api_key("revops")
    r = client.get("/api/v1/exposure?sort=feature_key&limit=2&offset=1", headers=h)
    assert [i["feature_key"] for i in r.json()["items"]] == ["audit", "scim"]
    assert r.json()["total"] == 4
    r = client.get("/api/v1/exposure?sort=-deal_count,feature_key", headers=h)
    assert [i["feature_key"] for i in r.json()["items"]] == ["sso", "api", "audit", "scim"]
    r = client.get("/api/v1/exposure", headers={**h, "Accept": "text/csv"})
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["feature_key"], x["amount"]) for x in rows][:2] == [
        ("audit", "7000.0"),
        ("sso", "6000.0"),
    ]
    r = client.get("/api/v1/exposure?format=csv&csv_rows=stage", headers=h)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 3 + 2 + 1 + 2  # sso 3 stages, audit 2, scim 1, api 2
    r = client.get("/api/v1/exposure?csv_rows=stage", headers={**h, "Accept": "text/csv"})
    assert len(list(csv.DictReader(io.StringIO(r.text)))) == len(rows)
    explicit = client.get("/api/v1/exposure?format=csv&csv_rows=feature", headers=h)
    assert explicit.text == client.get("/api/v1/exposure?format=csv", headers=h).text
    # asked of a JSON answer it was ignored; now it says where it applies
    r = client.get("/api/v1/exposure?csv_rows=stage", headers=h)
    assert r.status_code == 422
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.csv_rows"
    assert detail["msg"].startswith("applies to a CSV answer (format=csv or Accept: text/csv)")


def _items(body) -> dict[str, tuple]:
    return {i["feature_key"]: (i["deal_count"], i["amount"], i["weighted_amount"])
            for i in body["items"]}  # fmt: skip


def test_exposure_of_promises_apart_from_mentions(client, api_key, seeded):
    """Engineering's question: how much pipeline was promised a feature (or buys it), apart
    from the deals that only talk about it. Line items are the seeded promises: h1 buys SSO and
    API access, s1 Audit Export, s2 the API tier; h2 and s3 only mention features."""
    h = api_key("engineering")
    body = client.get("/api/v1/exposure?promised=true", headers=h).json()
    assert _items(body) == {
        "audit": (1, 5000.0, 4000.0),
        "sso": (1, 1000.0, 200.0),
        "api": (2, 1000.0, 200.0),
    }
    assert _split(client, h, "promised=true") == {
        "never": (1, 5000.0, 4000.0),
        "coming_soon": (1, 1000.0, 200.0),
        "available": (2, 1000.0, 200.0),
    }
    body = client.get("/api/v1/exposure?promised=false", headers=h).json()
    assert _items(body) == {
        "sso": (2, 5000.0, 3400.0),
        "audit": (1, 2000.0, 1000.0),
        "scim": (1, 3000.0, 2400.0),
    }
    assert _split(client, h, "promised=false") == {
        "coming_soon": (2, 5000.0, 3400.0),
        "never": (1, 2000.0, 1000.0),
        "uncertain": (1, 3000.0, 2400.0),
    }
    # promises and mentions alone add up to the whole, per feature and per availability
    for key, (n, amount, weighted) in _items(
        client.get("/api/v1/exposure", headers=h).json()
    ).items():
        parts = [_items(client.get(f"/api/v1/exposure?promised={p}", headers=h).json()).get(key, (0, 0.0, 0.0))
                 for p in ("true", "false")]  # fmt: skip
        assert tuple(map(sum, zip(*parts, strict=True))) == (n, amount, weighted), key
    # with the other filters and in a CSV
    body = client.get("/api/v1/exposure?promised=true&crm=hubspot", headers=h).json()
    assert _items(body) == {"sso": (1, 1000.0, 200.0), "api": (1, 1000.0, 200.0)}
    r = client.get("/api/v1/exposure?promised=false&format=csv", headers=h)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["feature_key"], x["deal_count"]) for x in rows] == [
        ("sso", "2"),
        ("scim", "1"),
        ("audit", "1"),
    ]


@pytest.mark.parametrize("promised_feature", ["sso", "audit"])
def test_promised_split_counts_a_deal_promised_any_feature_of_an_availability(
    client, api_key, engine, seeded, monkeypatch, promised_feature
):
    """h2 mentions two features that are both `never` once SSO is marked so, and one of them
    becomes a promise. Whichever it is, h2 counts under `never` with `promised=true` (promised
    at least one never-built feature) and not with `promised=false` (which counts the deals
    that only mention features of an availability): the two splits add up to the whole."""
    from sqlmodel import select

    from app.models import DealFeature
    from app.services import fanout, queries

    monkeypatch.setattr(fanout, "INLINE_LIMIT", 0)  # the copies rewritten, nothing rebuilt
    revops, h = api_key("revops"), api_key("viewer")
    r = client.patch("/api/v1/features/sso", json={"availability": "never"}, headers=revops)
    assert r.status_code == 200, r.text
    with Session(engine) as s:
        row = s.exec(
            select(DealFeature).where(
                DealFeature.deal_id == "h2", DealFeature.feature_key == promised_feature
            )
        ).one()
        row.is_commitment = row.promised = True
        s.add(row)
        s.flush()
        queries.mark_availability_first(s, [promised_feature])  # as a re-evaluation writes it
        s.commit()
    # never: h1 (buys SSO), s1 (buys Audit Export), h2 (promised one of its two)
    assert _split(client, h, "promised=true")["never"] == (3, 8000.0, 5200.0)
    # never, mentions only: s3 (SSO)
    assert _split(client, h, "promised=false")["never"] == (1, 3000.0, 2400.0)
    assert _split(client, h)["never"] == (4, 11000.0, 7600.0)
    # per feature, h2's other feature is still a mention: audit on h2; SSO on h2 and s3
    mentions = {"audit": (1, 2000.0, 1000.0), "sso": (2, 5000.0, 3400.0)}
    other = "audit" if promised_feature == "sso" else "sso"
    assert (
        _items(client.get("/api/v1/exposure?promised=false", headers=h).json())[other]
        == (mentions[other])
    )


def test_exposure_of_needs_apart_from_nice_to_haves(client, api_key, engine, seeded):
    """Engineering's question: how much pipeline needs a feature, leaving out the deals that
    only called it nice to have. s3 wishes for SSO; h1 buys it and h2 needs it."""
    wish_for_sso_on_s3(engine)
    h = api_key("engineering")
    everything = _items(client.get("/api/v1/exposure", headers=h).json())
    assert everything["sso"] == (3, 6000.0, 3600.0)  # a wish is still a mention
    body = client.get("/api/v1/exposure?optional=false", headers=h).json()
    assert _items(body) == {
        "audit": (2, 7000.0, 5000.0),
        "sso": (2, 3000.0, 1200.0),
        "scim": (1, 3000.0, 2400.0),
        "api": (2, 1000.0, 200.0),
    }
    assert _split(client, h, "optional=false")["coming_soon"] == (2, 3000.0, 1200.0)
    body = client.get("/api/v1/exposure?optional=true", headers=h).json()
    assert _items(body) == {"sso": (1, 3000.0, 2400.0)}
    assert _split(client, h, "optional=true") == {"coming_soon": (1, 3000.0, 2400.0)}
    # needs and wishes add up to the whole, per feature and per availability
    for key, whole in everything.items():
        parts = [_items(client.get(f"/api/v1/exposure?optional={o}", headers=h).json()).get(key, (0, 0.0, 0.0))
                 for o in ("true", "false")]  # fmt: skip
        assert tuple(map(sum, zip(*parts, strict=True))) == whole, key
    whole_split = _split(client, h)
    wishes, needs = _split(client, h, "optional=true"), _split(client, h, "optional=false")
    for availability, whole in whole_split.items():
        parts = [p.get(availability, (0, 0.0, 0.0)) for p in (wishes, needs)]
        assert tuple(map(sum, zip(*parts, strict=True))) == whole, availability
    # with promised: the wish is a mention, never a promise
    body = client.get("/api/v1/exposure?optional=true&promised=true", headers=h).json()
    assert body["items"] == [] and body["by_availability"] == []
    r = client.get("/api/v1/exposure?optional=true&format=csv", headers=h)
    assert [(x["feature_key"], x["deal_count"]) for x in csv.DictReader(io.StringIO(r.text))] == [
        ("sso", "1")
    ]


def test_a_needed_feature_stands_for_the_deal_in_the_split_after_an_availability_change(
    client, api_key, engine, seeded, monkeypatch
):
    """SCIM becomes coming soon: s3 now needs one coming-soon feature (SCIM) and wishes for
    another (SSO). The rows' availability is rewritten by the fan-out and the row standing for
    s3 re-derived, so s3 counts among the deals needing a coming-soon feature, not among those
    only wishing for one."""
    from app.services import fanout

    monkeypatch.setattr(fanout, "INLINE_LIMIT", 0)  # the copies rewritten, nothing rebuilt
    wish_for_sso_on_s3(engine)
    revops, h = api_key("revops"), api_key("viewer")
    r = client.patch("/api/v1/features/scim", json={"availability": "coming_soon"}, headers=revops)
    assert r.status_code == 200, r.text
    assert "coming_soon" not in _split(client, h, "optional=true")
    # coming soon, needed: h1 (buys SSO), h2 (needs SSO), s3 (needs SCIM)
    assert _split(client, h, "optional=false")["coming_soon"] == (3, 6000.0, 3600.0)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("sort=secret_column", "sort"),
        ("availability=maybe", "availability"),
        ("close_from=yesterday", "close_from"),
        ("ownr=alice", "ownr"),
        ("close_from=2027-01-01&close_to=2026-01-01", "close_from"),
        ("limit=0", "limit"),
        ("promised=perhaps", "promised"),
        ("optional=sometimes", "optional"),
    ],
)
def test_exposure_bad_parameters_are_named(client, api_key, seeded, query, named):
    r = client.get(f"/api/v1/exposure?{query}", headers=api_key("viewer"))
    assert r.status_code == 422
    assert named in r.text


def test_exposure_follows_the_pipeline_as_deal_facts_change(client, api_key, engine, settings):
    """The deal facts exposure sums are copies on the dependency rows: every path that changes
    a deal (a fresh read, closing it, deleting it in the CRM) must carry through."""
    from datetime import date
    from decimal import Decimal

    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.types import QueueItem
    from app.models import Feature, ProductMapping
    from app.rules.model import DealSnapshot, LineItem, Note, Stage
    from app.services.pipeline import DealPipeline, reevaluate_stored

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="beta"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        s.commit()
    crm = TestCrmConnector(engine)
    pipeline = DealPipeline(engine, settings, {"test": crm})
    h = api_key("viewer")

    def put(stage: Stage, amount: str) -> None:
        crm.put_deal(
            DealSnapshot(
                crm="test", deal_id="D1", name="Acme", stage=stage, amount=Decimal(amount),
                currency="USD", close_date=date(2026, 12, 1), owner_id="o1",
                line_items=[LineItem(id="li-1", name="SSO add-on", sku="SKU-SSO")],
                notes=[Note(id="n-1", body="They need SSO before signing.")],
            )
        )  # fmt: skip
        assert (
            pipeline.process(
                [QueueItem(id=1, crm="test", deal_id="D1", attempts=1, reason="webhook")]
            )[1].kind
            == "done"
        )

    def sso() -> tuple:
        body = client.get("/api/v1/exposure", headers=h).json()
        item = _by_key(body).get("sso")
        if item is None:
            return ()
        stages = [(s["stage_id"], s["deal_count"]) for s in item["by_stage"]]
        return item["deal_count"], item["amount"], item["weighted_amount"], stages

    put(Stage(id="demo", label="Demo", probability=0.25), "1000")
    # Mentioned in a line item and a note: one deal, one primary row.
    assert sso() == (1, 1000.0, 250.0, [("demo", 1)])
    # The rows the pipeline writes carry the feature's availability.
    assert _split(client, h) == {"beta": (1, 1000.0, 250.0)}
    put(Stage(id="proposal", label="Proposal", probability=0.5), "4000")
    assert sso() == (1, 4000.0, 2000.0, [("proposal", 1)])
    with Session(engine) as s:  # a re-evaluation from the stored snapshot keeps the facts
        reevaluate_stored(s, "test", ["D1"], "roadmap")
        s.commit()
    assert sso() == (1, 4000.0, 2000.0, [("proposal", 1)])
    r = client.get("/api/v1/features/sso/deals?owner=o1", headers=h).json()
    assert [(d["deal_id"], d["stage_id"], d["sources"]) for d in r["items"]] == [
        ("D1", "proposal", ["line_item", "note"])
    ]
    put(Stage(id="won", label="Won", probability=1.0, is_won=True, is_closed=True), "4000")
    assert sso() == ()
    put(Stage(id="demo", label="Demo", probability=0.25), "1000")  # reopened
    assert sso() == (1, 1000.0, 250.0, [("demo", 1)])
    crm.delete_deal("D1")
    pipeline.process([QueueItem(id=2, crm="test", deal_id="D1", attempts=1, reason="webhook")])
    assert sso() == ()


def test_the_split_runs_beside_the_cells_on_postgresql_with_the_same_result(
    engine, seeded, monkeypatch
):
    """A read-only session on PostgreSQL computes the split on a second connection at the same
    time; the numbers are the ones the sequential path gives. A session that may have written
    (or SQLite) computes it in order, on its own connection."""
    from app.db import read_only
    from app.services import queries
    from app.services.queries import DealFilters, PageRequest

    calls: list[str] = []
    real = queries._split_on_own_connection
    monkeypatch.setattr(
        queries,
        "_split_on_own_connection",
        lambda *a: calls.append("beside") or real(*a),
    )
    page = PageRequest(limit=10, sort="-amount")
    with Session(read_only(engine)) as s:
        beside = queries.exposure(s, DealFilters(), page).extra["by_availability"]
    with Session(engine) as s:
        in_order = queries.exposure(s, DealFilters(), page).extra["by_availability"]
    assert beside == in_order and len(beside) == 4
    expected = ["beside"] if engine.dialect.name == "postgresql" else []
    assert calls == expected


def test_exposure_adds_amounts_in_the_company_currency_and_labels_them(
    client, api_key, engine, settings
):
    """Totals add each deal's amount as its CRM converted it to the company currency, never
    its own amounts across currencies (JPY 1,500,000 is not 1.5M of pipeline in USD); the
    answer says which currency they are in, and says so when it cannot (a deal stored before
    conversion, in another currency)."""
    from datetime import date
    from decimal import Decimal

    from sqlmodel import select

    from app.connectors.testcrm import TestCrmConnector
    from app.jobs.types import QueueItem
    from app.models import Deal, DealFeature, Feature
    from app.rules.model import DealSnapshot, Note, Stage
    from app.services.pipeline import DealPipeline

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="beta"))
        s.commit()
    crm = TestCrmConnector(engine)
    pipeline = DealPipeline(engine, settings, {"test": crm})
    h = api_key("viewer")
    deals = {  # deal id: own amount, own currency, amount in USD as the CRM converted it
        "D-usd": ("5000", "USD", "5000"),
        "D-eur": ("900", "EUR", "1000"),
        "D-jpy": ("1500000", "JPY", "10000"),
        "D-jpy-small": ("150000", "JPY", "1000"),
        "D-none": (None, "EUR", None),  # no amount yet: adds nothing, changes no label
    }
    for n, (deal_id, (amount, currency, home)) in enumerate(deals.items(), start=1):
        crm.put_deal(
            DealSnapshot(
                crm="test", deal_id=deal_id, name=deal_id, stage=Stage(id="demo", probability=0.5),
                amount=amount and Decimal(amount), currency=currency,
                amount_home=home and Decimal(home), home_currency="USD", close_date=date(2026, 12, 1),
                notes=[Note(id=f"n-{deal_id}", body="They need SSO before signing.")],
            )
        )  # fmt: skip
        pipeline.process([QueueItem(id=n, crm="test", deal_id=deal_id, attempts=1, reason="x")])

    body = client.get("/api/v1/exposure", headers=h).json()
    sso = _by_key(body)["sso"]
    assert (sso["deal_count"], sso["amount"], sso["weighted_amount"]) == (5, 17000.0, 8500.0)
    assert (body["currency"], body["mixed_currencies"]) == ("USD", False)
    assert [(a["availability"], a["amount"], a["currency"]) for a in body["by_availability"]] == [
        ("beta", 17000.0, "USD")
    ]
    # Dependants and deal lists sort by what a deal is worth in USD, not by its number: the
    # JPY 150,000 deal (1,000 USD) comes after the USD 5,000 one.
    for path in ("/api/v1/features/sso/deals?sort=-amount", "/api/v1/deals?sort=-amount"):
        order = [d["deal_id"] for d in client.get(path, headers=h).json()["items"]]
        assert order[:2] == ["D-jpy", "D-usd"], path
        assert sorted(order[2:4]) == ["D-eur", "D-jpy-small"], path  # 1,000 USD each
        assert order[4] == "D-none", path
    # The deal keeps its own amount and currency for display.
    r = client.get("/api/v1/features/sso/deals", headers=h).json()
    jpy = next(d for d in r["items"] if d["deal_id"] == "D-jpy")
    assert (jpy["amount"], jpy["currency"]) == (1500000.0, "JPY")
    assert (jpy["amount_home"], jpy["home_currency"]) == (10000.0, "USD")  # and what it is worth

    # A deal stored before amounts were converted: its row adds its own EUR amount.
    with Session(engine) as s:
        row = s.exec(select(DealFeature).where(DealFeature.deal_id == "D-eur")).one()
        row.amount, row.currency = Decimal("900"), "EUR"
        deal = s.exec(select(Deal).where(Deal.deal_id == "D-eur")).one()
        deal.amount_home = deal.home_currency = None
        s.commit()
    body = client.get("/api/v1/exposure", headers=h).json()
    assert _by_key(body)["sso"]["amount"] == 16900.0
    assert (body["currency"], body["mixed_currencies"]) == (None, True)
    assert body["by_availability"][0]["mixed_currencies"] is True


def test_each_feature_and_stage_says_its_own_currency_in_json_and_csv(
    client, api_key, engine, seeded
):
    """A feature's amount is labelled with the currency of its own deals: the one currency
    they share, else `mixed_currencies` (JSON) / `mixed` (CSV), else not known (null / empty).
    Stages likewise."""
    from sqlmodel import select

    from app.models import DealFeature

    h = api_key("engineering")
    body = client.get("/api/v1/exposure", headers=h).json()
    assert {k: (i["currency"], i["mixed_currencies"]) for k, i in _by_key(body).items()} == {
        k: ("USD", False) for k in ("sso", "audit", "api", "scim")
    }
    # h2 (sso and audit, default/proposal) was stored in EUR before amounts were converted;
    # s2 (api, no amount) has no currency at all.
    with Session(engine) as s:
        for row in s.exec(select(DealFeature).where(DealFeature.deal_id.in_(["h2", "s2"]))):
            row.currency = "EUR" if row.deal_id == "h2" else None
            s.add(row)
        s.commit()
    body = client.get("/api/v1/exposure", headers=h).json()
    items = _by_key(body)
    assert {k: (i["currency"], i["mixed_currencies"]) for k, i in items.items()} == {
        "sso": (None, True),  # h1, s3 in USD, h2 in EUR
        "audit": (None, True),  # s1 in USD, h2 in EUR
        "api": (None, False),  # h1 in USD, s2 unknown: not known, not known to be mixed
        "scim": ("USD", False),
    }
    assert (body["currency"], body["mixed_currencies"]) == (None, True)
    stages = {
        (s["stage_id"], s["currency"], s["mixed_currencies"]) for s in items["sso"]["by_stage"]
    }
    assert stages == {
        ("qualified", "USD", False),
        ("proposal", "EUR", False),  # one stage of a mixed feature: its own currency
        ("Negotiation", "USD", False),
    }
    # Filtered and paged (per-feature availability joins `feature`): the same labels.
    r = client.get("/api/v1/exposure?availability=never&limit=1", headers=h).json()
    assert [(i["feature_key"], i["currency"], i["mixed_currencies"]) for i in r["items"]] == [
        ("audit", None, True)
    ]
    r = client.get("/api/v1/exposure?crm=salesforce", headers=h).json()
    assert {i["feature_key"]: i["currency"] for i in r["items"]} == {
        "audit": "USD",  # without h2, audit is s1 alone
        "sso": "USD",
        "scim": "USD",
        "api": None,
    }

    r = client.get("/api/v1/exposure?format=csv", headers=h)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0])[-4:] == ["deal_count", "amount", "weighted_amount", "currency"]
    assert {x["feature_key"]: x["currency"] for x in rows} == {
        "sso": "mixed",
        "audit": "mixed",
        "api": "",
        "scim": "USD",
    }
    r = client.get("/api/v1/exposure?format=csv&csv_rows=stage", headers=h)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0])[-1] == "currency"
    assert {(x["feature_key"], x["stage_id"]): x["currency"] for x in rows} == {
        ("sso", "qualified"): "USD",
        ("sso", "proposal"): "EUR",
        ("sso", "Negotiation"): "USD",
        ("audit", "proposal"): "EUR",
        ("audit", "Negotiation"): "USD",
        ("api", "qualified"): "USD",
        ("api", "Prospecting"): "",
        ("scim", "Negotiation"): "USD",
    }


def test_a_stage_renamed_in_the_crm_is_one_stage_of_exposure(client, api_key, engine, seeded):
    """HubSpot renamed 'Qualified' to 'Qualified lead': h2, read since, carries the new label,
    h1 the old one. The stage was listed twice, its deals split between the two entries (and
    two CSV rows); it is one stage, whatever its deals' labels say."""
    from sqlmodel import select

    from app.models import Deal
    from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
    from app.services.pipeline import replace_dependencies

    with Session(engine) as s:
        deal = s.exec(select(Deal).where(Deal.deal_id == "h2")).one()
        deal.stage_id, deal.stage_label = "qualified", "Qualified lead"
        refs = [FeatureReference(feature_key="sso", feature_name="SSO", source="note",
                                 evidence="needs SSO")]  # fmt: skip
        replace_dependencies(
            s, deal, EvaluationResult(status=VerdictStatus.blocked, references=refs)
        )
        s.commit()
    h = api_key("engineering")
    sso = _by_key(client.get("/api/v1/exposure", headers=h).json())["sso"]
    stages = {(s["pipeline"], s["stage_id"]): s for s in sso["by_stage"]}
    assert len(stages) == len(sso["by_stage"]) == 2
    qualified = stages[("default", "qualified")]
    assert qualified["stage_label"] in ("Qualified", "Qualified lead")
    assert (qualified["deal_count"], qualified["amount"], qualified["weighted_amount"]) == (
        2, 3000.0, 1200.0)  # fmt: skip
    assert (qualified["currency"], qualified["mixed_currencies"]) == ("USD", False)
    assert (sso["deal_count"], sso["amount"]) == (3, 6000.0)
    r = client.get("/api/v1/exposure?format=csv&csv_rows=stage", headers=h)
    rows = [x for x in csv.DictReader(io.StringIO(r.text)) if x["feature_key"] == "sso"]
    assert [(x["stage_id"], x["deal_count"]) for x in rows] == [
        ("qualified", "2"), ("Negotiation", "1")]  # fmt: skip


def test_a_feature_gone_from_the_roadmap_keeps_the_name_its_deals_quoted(
    client, api_key, engine, seeded
):
    """Until its deals are checked again, a feature deleted from the roadmap still has deals:
    it is listed by the name they quoted it by, not by its key."""
    from sqlmodel import select

    from app.models import DealFeature, Feature

    with Session(engine) as s:
        quoted = s.exec(select(DealFeature.feature_name).where(DealFeature.feature_key == "sso"))
        names = set(quoted)
        s.delete(s.get(Feature, "sso"))
        s.commit()
    items = _by_key(client.get("/api/v1/exposure", headers=api_key("engineering")).json())
    assert items["sso"]["feature_name"] != "sso"
    assert items["sso"]["feature_name"] in names
    assert items["sso"]["availability"] == "unknown"
