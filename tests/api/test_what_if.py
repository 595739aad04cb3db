"""Roadmap what-if end to end: the real engine, the default rule pack, the pipeline, the test CRM.

SSO is coming soon with a target date before every deal closes, so mentioning, promising or
selling it blocks nothing today. What would slipping it, or dropping it, do?
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.jobs.types import QueueItem
from app.models import AuditLog, DealQueue, Evaluation, Feature, ProductMapping
from app.rules.model import DealSnapshot, LineItem, Note, Stage
from app.services.pipeline import DealPipeline

OPEN = Stage(id="negotiation", label="Negotiation", probability=0.6)
WON = Stage(id="won", label="Won", probability=1.0, is_won=True, is_closed=True)
CLOSE = date.today() + timedelta(days=60)
TARGET = date.today() + timedelta(days=30)


def _deal(deal_id: str, *, amount: str, currency: str = "USD", home: str | None = None,
          note: str | None = None, sku: bool = False, stage: Stage = OPEN) -> DealSnapshot:  # fmt: skip
    return DealSnapshot(
        crm="test", deal_id=deal_id, name=f"Deal {deal_id}", stage=stage,
        amount=Decimal(amount), currency=currency,
        amount_home=Decimal(home or amount), home_currency="USD",
        close_date=CLOSE, owner_id="o1", owner_name="Alex Rep",
        notes=[Note(id=f"n-{deal_id}", body=note)] if note else [],
        line_items=[LineItem(id=f"li-{deal_id}", name="SSO add-on", sku="SKU-SSO")] if sku else [],
    )  # fmt: skip


@pytest.fixture
def seeded(engine, settings):
    from app.services.rules_service import install_default_rules

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single Sign-On", aliases=["SSO"],
                      availability="coming_soon", target_date=TARGET,
                      guidance="Say it is planned; do not promise a date."))  # fmt: skip
        s.add(Feature(key="api", name="Public API", availability="available"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-SSO", feature_keys=["sso"]))
        install_default_rules(s)
        s.commit()
    crm = TestCrmConnector(engine)
    deals = [
        _deal("D1", amount="10000", note="They need SSO before signing."),
        _deal(
            "D2",
            amount="900",
            currency="EUR",
            home="1000",
            note="We promised SSO to them by the end of next month.",
        ),  # fmt: skip
        _deal("D3", amount="5000", sku=True),
        _deal("D4", amount="7000", sku=True, stage=WON),  # closed: guards nothing any more
        _deal("D5", amount="3000", note="They use our Public API daily."),  # another feature
    ]
    pipeline = DealPipeline(engine, settings, {"test": crm})
    for n, snapshot in enumerate(deals, start=1):
        crm.put_deal(snapshot)
        pipeline.process(
            [QueueItem(id=n, crm="test", deal_id=snapshot.deal_id, attempts=1, reason="webhook")]
        )
    with Session(engine) as s:  # the write-backs of the seeding are not the what-if's
        for row in s.exec(select(DealQueue)):
            s.delete(row)
        s.commit()
    return crm


def _counts(engine) -> tuple[int, int, int]:
    with Session(engine) as s:
        return tuple(
            s.exec(select(func.count()).select_from(table)).one()
            for table in (Evaluation, DealQueue, AuditLog)
        )


def test_dropping_a_feature_shows_the_deals_and_pipeline_it_would_block(
    client, api_key, engine, seeded
):
    before = _counts(engine)
    r = client.post("/api/v1/features/sso/what-if", json={"availability": "never"},
                    headers=api_key("engineering"))  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["features"] == [
        {
            "feature_key": "sso",
            "feature_name": "Single Sign-On",
            "availability": {"before": "coming_soon", "after": "never"},
            "target_date": {"before": TARGET.isoformat(), "after": TARGET.isoformat()},
        }
    ]
    assert body["deals"] == 3
    assert body["before"] == {"clear": 3, "warning": 0, "blocked": 0}
    assert body["after"] == {"clear": 0, "warning": 0, "blocked": 3}
    # In the company currency: the EUR 900 deal adds 1,000 USD.
    assert body["newly_blocked"] == {
        "deal_count": 3, "amount": 16000.0, "currency": "USD", "mixed_currencies": False
    }  # fmt: skip
    assert body["no_longer_blocked"] == {
        "deal_count": 0, "amount": 0.0, "currency": None, "mixed_currencies": False
    }  # fmt: skip
    items = {i["deal_id"]: i for i in body["items"]}
    assert set(items) == {"D1", "D2", "D3"}  # not the won deal, not the API-only deal
    assert (items["D2"]["amount"], items["D2"]["currency"]) == (1000.0, "USD")
    finding = items["D3"]["findings_after"][0]
    assert (finding["severity"], finding["feature_key"]) == ("block", "sso")
    # Nothing written: no evaluation, no queue row, no audit entry, the feature unchanged.
    assert _counts(engine) == before
    assert client.get("/api/v1/features/sso", headers=api_key("viewer")).json()["availability"] == (
        "coming_soon"
    )


def test_a_slip_past_the_close_dates_blocks_promises_and_sales_not_mentions(
    client, api_key, seeded
):
    slipped = (CLOSE + timedelta(days=90)).isoformat()
    h = api_key("viewer")
    body = client.post("/api/v1/features/sso/what-if", json={"target_date": slipped},
                       headers=h).json()  # fmt: skip
    assert body["features"][0]["target_date"] == {"before": TARGET.isoformat(), "after": slipped}
    assert body["after"] == {"clear": 1, "warning": 0, "blocked": 2}
    assert body["newly_blocked"] == {
        "deal_count": 2, "amount": 6000.0, "currency": "USD", "mixed_currencies": False
    }  # fmt: skip
    verdicts = {i["deal_id"]: (i["before"], i["after"]) for i in body["items"]}
    # The mention stays clear; it is listed because its finding now names the new date.
    assert verdicts == {"D1": ("clear", "clear"), "D2": ("clear", "blocked"),
                        "D3": ("clear", "blocked")}  # fmt: skip
    assert body["changed"] == 3
    # No date at all: the same as a date after the close ("or there is none").
    none = client.post("/api/v1/features/sso/what-if", json={"target_date": None},
                       headers=h).json()  # fmt: skip
    assert none["features"][0]["target_date"]["after"] is None
    assert none["after"]["blocked"] == 2
    # Every dependant listed, paged.
    page = client.post("/api/v1/features/sso/what-if",
                       json={"target_date": slipped, "only_changed": False, "limit": 2, "offset": 2},
                       headers=h).json()  # fmt: skip
    assert (page["matching"], page["offset"], len(page["items"])) == (3, 2, 1)


def test_bringing_a_dropped_feature_back_shows_what_it_would_clear(client, api_key, engine, seeded):
    with Session(engine) as s:  # dropped in the roadmap (no fan-out here: the deals keep
        s.get(Feature, "sso").availability = "never"  # their last verdicts)
        s.commit()
    body = client.post("/api/v1/features/sso/what-if", json={"availability": "available"},
                       headers=api_key("engineering")).json()  # fmt: skip
    assert body["before"]["blocked"] == 3 and body["after"]["blocked"] == 0
    assert body["no_longer_blocked"] == {
        "deal_count": 3, "amount": 16000.0, "currency": "USD", "mixed_currencies": False
    }  # fmt: skip


def test_pipeline_in_several_currencies_says_it_is_mixed(client, api_key, engine, settings, seeded):
    """A GBP deal the CRM did not convert adds its own amount to the USD ones: the figure says
    `mixed_currencies` (it was `currency: null`, which also means "not known")."""
    gbp = DealSnapshot(crm="test", deal_id="G1", name="Deal G1", stage=OPEN,
                       amount=Decimal("191500"), currency="GBP", close_date=CLOSE,
                       notes=[Note(id="n-G1", body="They need SSO before signing.")])  # fmt: skip
    seeded.put_deal(gbp)
    DealPipeline(engine, settings, {"test": seeded}).process(
        [QueueItem(id=98, crm="test", deal_id="G1", attempts=1, reason="webhook")]
    )
    h = api_key("engineering")
    body = client.post("/api/v1/features/sso/what-if", json={"availability": "never"},
                       headers=h).json()  # fmt: skip
    assert body["newly_blocked"] == {
        "deal_count": 4, "amount": 207500.0, "currency": None, "mixed_currencies": True
    }  # fmt: skip
    assert body["no_longer_blocked"]["mixed_currencies"] is False
    with Session(engine) as s:  # dropped in the roadmap: bringing it back clears them
        s.get(Feature, "sso").availability = "never"
        s.commit()
    back = client.post("/api/v1/features/sso/what-if", json={"availability": "available"},
                       headers=h).json()  # fmt: skip
    assert (back["no_longer_blocked"]["currency"], back["no_longer_blocked"]["mixed_currencies"]) == (
        None, True
    )  # fmt: skip


@pytest.mark.parametrize(
    ("path", "payload", "status", "says"),
    [
        ("sso", {}, 422, "give availability, target_date or both"),
        ("sso", {"availabilty": "never"}, 422, "availabilty"),
        ("sso", {"availability": None}, 422, "availability cannot be null"),
        ("sso", {"availability": "dropped"}, 422, "availability"),
        ("sso", {"target_date": "next year"}, 422, "target_date"),
        # A number is no date (it was read as Unix time: 1970-01-01, and answered).
        ("sso", {"target_date": 0}, 422, "must be a date as YYYY-MM-DD"),
        ("sso", {"target_date": "0"}, 422, "must be a date as YYYY-MM-DD"),
        ("sso", {"target_date": 20270930}, 422, "must be a date as YYYY-MM-DD"),
        ("sso", {"availability": "never", "limit": 5000}, 422, "limit"),
        ("nope", {"availability": "never"}, 404, "feature 'nope' is not on the roadmap\""),
        (
            "SSO",
            {"availability": "never"},
            404,
            "feature 'SSO' is not on the roadmap; did you mean 'sso'?",
        ),  # fmt: skip
        ("a" * 129, {"availability": "never"}, 404, "is not on the roadmap"),  # was a 500
    ],
)
def test_what_if_input_is_checked(client, api_key, seeded, path, payload, status, says):
    r = client.post(f"/api/v1/features/{path}/what-if", json=payload, headers=api_key("viewer"))
    assert r.status_code == status, r.text
    assert says in r.text


def test_a_number_for_a_target_date_is_refused_where_it_was_written(client, api_key, seeded):
    """`"target_date": 0` was 1970-01-01, answered with a 200: a 422 invalid_request at the
    field, in a feature's what-if and in each change of a scenario."""
    h = api_key("viewer")
    r = client.post("/api/v1/features/sso/what-if", json={"target_date": 0}, headers=h)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert (detail["loc"], r.json()["error"]["code"]) == (["target_date"], "invalid_request")
    r = client.post("/api/v1/roadmap/what-if", headers=h, json={"changes": [
        {"feature_key": "sso", "availability": "never"},
        {"feature_key": "api", "target_date": "0"}]})  # fmt: skip
    assert r.status_code == 422, r.text
    assert [d["loc"] for d in r.json()["error"]["details"]] == [["changes", 1, "target_date"]]


def test_deals_whose_last_evaluation_predates_their_snapshot_have_their_notes_read(
    client, api_key, engine, seeded, monkeypatch
):
    """Stored references are reused only where the last evaluation saw the current snapshot;
    otherwise the notes are read again, with the same answer."""
    from sqlalchemy import update

    import app.rules.references as references
    from app.models import Deal, utcnow

    h = api_key("engineering")
    reused = client.post("/api/v1/features/sso/what-if", json={"availability": "never"},
                         headers=h).json()  # fmt: skip
    reads: list[str] = []
    real = references.find_references
    monkeypatch.setattr(
        references,
        "find_references",
        lambda snapshot, catalog, *, today: (
            reads.append(snapshot.deal_id) or real(snapshot, catalog, today=today)
        ),
    )
    with Session(engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "D2").values(snapshot_at=utcnow()))
        s.commit()
    again = client.post("/api/v1/features/sso/what-if", json={"availability": "never"},
                        headers=h).json()  # fmt: skip
    assert reads == ["D2"]
    assert again == reused


def test_a_streamed_what_if_reports_progress_then_the_same_answer(
    client, api_key, seeded, monkeypatch, engine
):
    import json

    from app.services import what_if

    monkeypatch.setattr(what_if, "CHUNK", 2)  # three dependants: two chunks
    h = api_key("engineering")
    plain = client.post("/api/v1/features/sso/what-if", json={"availability": "never"},
                        headers=h).json()  # fmt: skip
    r = client.post("/api/v1/features/sso/what-if?stream=true", json={"availability": "never"},
                    headers=h)  # fmt: skip
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    # the total first (a what-if with no dependants streamed no progress at all), then each
    # chunk
    assert [(e["processed"], e["total"]) for e in lines if e["type"] == "progress"] == [
        (0, 3),
        (2, 3),
        (3, 3),
    ]
    assert lines[-1] == {"type": "result", "result": plain}
    with Session(engine) as s:  # a feature no deal depends on: its total, and the answer
        s.add(Feature(key="offline", name="Offline mode", availability="coming_soon"))
        s.commit()
    r = client.post("/api/v1/features/offline/what-if?stream=true", json={"availability": "never"},
                    headers=h)  # fmt: skip
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [(e["processed"], e["total"]) for e in lines if e["type"] == "progress"] == [(0, 0)]
    assert lines[-1]["type"] == "result" and lines[-1]["result"]["deals"] == 0
    r = client.post("/api/v1/features/nope/what-if?stream=true", json={"availability": "never"},
                    headers=h)  # fmt: skip
    assert r.status_code == 404


def test_a_scenario_changes_several_features_at_once(client, api_key, engine, settings, seeded):
    """A release cut: SSO dropped and the Public API slipped, in one answer. A deal depending
    on both is evaluated once; the findings listed are those on the changed features."""
    from app.rules.model import DealSnapshot, Note

    both = DealSnapshot(crm="test", deal_id="D6", name="Deal D6", stage=OPEN,
                        amount=Decimal("2000"), currency="USD", amount_home=Decimal("2000"),
                        home_currency="USD", close_date=CLOSE,
                        notes=[Note(id="n-D6", body="They need SSO and the Public API.")])  # fmt: skip
    seeded.put_deal(both)
    DealPipeline(engine, settings, {"test": seeded}).process(
        [QueueItem(id=99, crm="test", deal_id="D6", attempts=1, reason="webhook")]
    )
    before = _counts(engine)
    body = client.post(
        "/api/v1/roadmap/what-if",
        json={"changes": [{"feature_key": "sso", "availability": "never"},
                          {"feature_key": "api", "availability": "uncertain"}],
              "only_changed": False},
        headers=api_key("engineering"),
    ).json()  # fmt: skip
    assert [f["feature_key"] for f in body["features"]] == ["sso", "api"]
    assert body["deals"] == 5  # D1, D2, D3 (SSO), D5 (API), D6 (both) once
    assert body["newly_blocked"]["deal_count"] == 4  # every SSO dependant; the API one is warned
    items = {i["deal_id"]: i for i in body["items"]}
    assert items["D5"]["after"] == "warning"
    assert {f["feature_key"] for f in items["D6"]["findings_after"]} == {"sso", "api"}
    assert _counts(engine) == before


@pytest.mark.parametrize(
    ("payload", "status", "says"),
    [
        ({"changes": []}, 422, "changes"),
        ({"changes": [{"feature_key": "sso"}]}, 422, "give availability, target_date or both"),
        (
            {"changes": [{"feature_key": "sso", "availability": "never"},
                         {"feature_key": "sso", "target_date": None}]},
            422,
            "changes[1].feature_key: 'sso' repeats changes[0]",
        ),
        (
            {"changes": [{"feature_key": "sso", "availability": "never"},
                         {"feature_key": "gone", "availability": "never"}]},
            422,
            "changes[1].feature_key: feature 'gone' is not on the roadmap",
        ),
        ({"changes": [{"feature_key": "gone", "availability": "never"}]}, 422, "'gone'"),
        ({"changes": [{"feature_key": "sso", "availability": "never", "owner": "x"}]}, 422, "owner"),
        ({"changes": [{"feature_key": "sso", "target_date": 0}]}, 422, "not a number"),
    ],
)  # fmt: skip
def test_scenario_input_is_checked_before_anything_runs(
    client, api_key, seeded, payload, status, says
):
    for query in ("", "?stream=true"):  # a streamed request is refused before it streams
        r = client.post(f"/api/v1/roadmap/what-if{query}", json=payload, headers=api_key("viewer"))
        assert r.status_code == status, r.text
        assert says in r.text


def test_a_scenario_names_each_bad_change_streamed_or_not(client, api_key, seeded):
    """Unknown features and repeats: one 422 invalid_request naming each at ("changes", i,
    "feature_key"), streamed or not. Streamed it was a 404 naming only the first; not streamed,
    a 422 "invalid" whose details had no loc or type."""
    payload = {"changes": [
        {"feature_key": "nope", "availability": "never"},
        {"feature_key": "sso", "availability": "never"},
        {"feature_key": "gone", "target_date": None},
        {"feature_key": "sso", "target_date": None},
        {"feature_key": "API", "availability": "never"},
    ]}  # fmt: skip
    answers = []
    for query in ("", "?stream=true"):
        r = client.post(f"/api/v1/roadmap/what-if{query}", json=payload, headers=api_key("viewer"))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/json")
        error = r.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["details"] == [
            {"loc": ["changes", 0, "feature_key"], "path": "changes[0].feature_key",
             "msg": "feature 'nope' is not on the roadmap", "type": "value_error"},
            {"loc": ["changes", 2, "feature_key"], "path": "changes[2].feature_key",
             "msg": "feature 'gone' is not on the roadmap", "type": "value_error"},
            {"loc": ["changes", 3, "feature_key"], "path": "changes[3].feature_key",
             "msg": "'sso' repeats changes[1]: one change per feature", "type": "value_error"},
            {"loc": ["changes", 4, "feature_key"], "path": "changes[4].feature_key",
             "msg": "feature 'API' is not on the roadmap; did you mean 'api'?",
             "type": "value_error"},
        ]  # fmt: skip
        answers.append(r.json())
    assert answers[0] == answers[1]
    # One feature's what-if names its feature in the path: still a 404, streamed or not.
    for query in ("", "?stream=true"):
        r = client.post(f"/api/v1/features/nope/what-if{query}", json={"availability": "never"},
                        headers=api_key("viewer"))  # fmt: skip
        assert r.status_code == 404, r.text


def test_asking_for_what_the_feature_already_is_changes_nothing(client, api_key, seeded):
    """The feature as it stands (docs/views.md): a 200 whose features entry shows before =
    after and no deal changing, not a refusal (in a scenario, one such change among others
    must not stop the rest)."""
    r = client.post("/api/v1/features/sso/what-if", json={"availability": "coming_soon",
                    "target_date": TARGET.isoformat()}, headers=api_key("viewer"))  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    [feature] = body["features"]
    assert feature["availability"] == {"before": "coming_soon", "after": "coming_soon"}
    assert body["before"] == body["after"] and body["changed"] == 0
    assert body["items"] == []


def test_the_what_if_names_owner_and_stage_ids_where_the_crm_gave_no_names(
    client, api_key, engine, seeded
):
    """The what-if's deals carried no owner or stage id: the dashboard's what-if page showed
    blank cells for a deal whose owner and stage names the CRM did not give (the sandbox
    demo's deals), where the other lists show the ids."""
    from sqlmodel import update

    from app.models import Deal

    with Session(engine) as s:
        s.exec(update(Deal).where(Deal.deal_id == "D1").values(owner_name=None, stage_label=None))
        s.commit()
    headers = api_key("engineering")
    r = client.post("/api/v1/features/sso/what-if", json={"availability": "never"}, headers=headers)
    items = {i["deal_id"]: i for i in r.json()["items"]}
    assert (items["D1"]["owner_id"], items["D1"]["owner_name"]) == ("o1", None)
    assert items["D1"]["stage_id"] and items["D1"]["stage_label"] is None
    client.cookies.set("rg_api_key", headers["Authorization"].removeprefix("Bearer "))
    page = client.get("/dashboard/features/sso/what-if?availability=never")
    assert page.status_code == 200, page.text
    row = page.text.split('data-deal="test/D1"', 1)[1].split("</tr>", 1)[0]
    assert f"<td>{items['D1']['stage_id']}</td><td>o1</td>" in row
