"""The pipeline, owner and stage filters of the engineering and product views: a value that
matches nothing roadmap-guard has seen is a 422 naming it and the values known (it answered an
empty list, no exposure and an empty CSV: "no pipeline there"), a pipeline may be named as the
CRM names it, and a value that is known but has no open deal is an empty answer, not an error."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Commitment, Deal
from tests.dashboard.seed import seed


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        seed(s)
        s.commit()


# url, the filters it takes
VIEWS = [
    ("/api/v1/deals", ("pipeline", "owner", "stage")),
    ("/api/v1/features/sso/deals", ("pipeline", "owner", "stage")),
    ("/api/v1/exposure", ("pipeline", "owner")),
    ("/api/v1/commitments", ("pipeline", "owner")),
]
TYPOS = {
    # value, the one meant, said as
    "pipeline": ("defualt", "default", "no deal has pipeline 'defualt'"),
    "owner": ("Bob Ray", "Bob Roy", "no deal has owner 'Bob Ray'"),
    "stage": ("Negotation", "Negotiation", "no deal is in stage 'Negotation'"),
}
CASES = [(url, name) for url, names in VIEWS for name in names]


@pytest.mark.parametrize(("url", "name"), CASES)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_filter_value_matching_nothing_is_refused_naming_the_one_meant(
    client, api_key, seeded, url, name, fmt
):
    value, meant, said = TYPOS[name]
    r = client.get(url, params={name: value, "format": fmt}, headers=api_key("engineering"))
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == f"query.{name}"
    msg = detail["msg"]
    if url == "/api/v1/commitments":
        said = said.replace("no deal", "no deal or ledger entry")
    assert msg.startswith(said), msg
    assert f"did you mean '{meant}'?" in msg
    assert "; known: " in msg and meant in msg.split("; known: ")[1]
    # the value meant answers
    ok = client.get(url, params={name: meant, "format": fmt}, headers=api_key("engineering"))
    assert ok.status_code == 200, ok.text


def test_the_known_values_are_listed_and_every_unmatched_filter_is_named(client, api_key, seeded):
    r = client.get(
        "/api/v1/deals",
        params={"pipeline": "nope", "owner": "bob roy", "stage": "Qualified"},
        headers=api_key("viewer"),
    )
    assert r.status_code == 422, r.text
    details = {d["path"]: d["msg"] for d in r.json()["error"]["details"]}
    assert set(details) == {"query.pipeline", "query.owner"}  # the stage exists
    assert details["query.pipeline"] == (
        "no deal has pipeline 'nope' (a pipeline's id, or its name in the CRM in any case); "
        "known: default, enterprise"
    )
    assert details["query.owner"] == (
        "no deal has owner 'bob roy' (an owner's id or name); did you mean 'Bob Roy'?; "
        "known: Alice Ng, Bob Roy, Carol Lee"
    )


def test_a_value_of_another_crm_is_named_with_the_crm(client, api_key, seeded):
    """crm=salesforce&pipeline=default: the pipeline is HubSpot's; the answer says which CRM
    has no such pipeline."""
    r = client.get(
        "/api/v1/exposure?crm=salesforce&pipeline=default", headers=api_key("engineering")
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["msg"] == (
        "no salesforce deal has pipeline 'default' (a pipeline's id, or its name in the CRM in "
        "any case); known: enterprise"
    )


def test_a_known_value_without_open_deals_is_an_empty_answer(client, api_key, engine, seeded):
    """A pipeline whose deals are all closed (or a deal deleted in the CRM) is a legitimate
    filter: its open exposure is none, and the list of all states has its deals."""
    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="old", name="Old", pipeline="legacy",
                   stage_id="closedlost", stage_label="Closed lost", is_closed=True,
                   owner_id="dora", owner_name="Dora Fox", amount=Decimal(10)))  # fmt: skip
        s.commit()
    h = api_key("engineering")
    for url in ("/api/v1/deals", "/api/v1/exposure", "/api/v1/features/sso/deals"):
        for query in ("pipeline=legacy", "owner=Dora%20Fox", "stage=closedlost", "owner=dora"):
            if url == "/api/v1/exposure" and query.startswith("stage"):
                continue
            r = client.get(f"{url}?{query}", headers=h)
            assert r.status_code == 200, (url, query, r.text)
            assert r.json()["total"] == 0
    r = client.get("/api/v1/deals?pipeline=legacy&state=all", headers=h)
    assert [d["deal_id"] for d in r.json()["items"]] == ["old"]
    # h4, deleted in the CRM, still makes its owner and pipeline known
    assert client.get("/api/v1/deals?owner=alice&stage=closedwon", headers=h).status_code == 200


def test_the_ledger_knows_the_values_of_its_own_entries(client, api_key, engine):
    """A ledger entry outlives its deal: its pipeline and owner filter the ledger without any
    deal carrying them."""
    with Session(engine) as s:
        s.add(Commitment(crm="hubspot", deal_id="gone", deal_name="Gone", feature_key="sso",
                         promise_key="sso", pipeline="p-old", owner_id="o-old",
                         signed_at=datetime(2026, 1, 5, tzinfo=UTC), amount=Decimal(5)))  # fmt: skip
        s.commit()
    h = api_key("engineering")
    for query in ("pipeline=p-old", "owner=o-old"):
        r = client.get(f"/api/v1/commitments?{query}", headers=h)
        assert [c["deal_id"] for c in r.json()["items"]] == ["gone"], r.text
    r = client.get("/api/v1/commitments?pipeline=p-olds", headers=h)
    assert r.status_code == 422
    assert "did you mean 'p-old'?" in r.json()["error"]["details"][0]["msg"]
    # the deal lists do not know it: no deal carries it
    assert client.get("/api/v1/deals?pipeline=p-old", headers=h).status_code == 422


class NamedPipelines:
    """A connector that names its pipelines (what `crm_pipeline_names` asks a connector)."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.asked = 0

    def pipeline_names(self) -> dict[str, str]:
        self.asked += 1
        return self.names


@pytest.fixture
def named(make_app, seeded):
    """HubSpot names 'default' "Sales pipeline" and a pipeline of no deal yet "Renewals"; it
    has another pipeline, '9999', named "Enterprise" (the Salesforce deals' pipeline id is
    'enterprise')."""
    hubspot = NamedPipelines({"default": "Sales pipeline", "777": "Renewals", "9999": "Enterprise"})
    with TestClient(make_app(connectors={"hubspot": hubspot})) as c:
        yield c, hubspot


def _deal_ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return sorted(d["deal_id"] for d in r.json()["items"])


@pytest.mark.parametrize("name", ["Sales pipeline", "sales PIPELINE"])
def test_a_pipeline_is_filtered_by_its_name_in_the_crm(named, api_key, name, engine):
    client, hubspot = named
    h = api_key("engineering")
    by_id = client.get("/api/v1/deals?pipeline=default", headers=h)
    assert hubspot.asked == 0  # an id that matches needs no names
    assert _deal_ids(client.get("/api/v1/deals", params={"pipeline": name}, headers=h)) == (
        _deal_ids(by_id)
    ) == ["h1", "h2"]  # fmt: skip
    exposure = client.get("/api/v1/exposure", params={"pipeline": name}, headers=h).json()
    assert exposure == client.get("/api/v1/exposure?pipeline=default", headers=h).json()
    assert exposure["total"] == 3
    r = client.get("/api/v1/features/sso/deals", params={"pipeline": name}, headers=h)
    assert _deal_ids(r) == ["h1", "h2"]
    assert r.json()["totals"]["deal_count"] == 2
    r = client.get("/api/v1/exposure", params={"pipeline": name, "format": "csv"}, headers=h)
    assert [row["feature_key"] for row in csv.DictReader(io.StringIO(r.text))] == [
        "sso", "audit", "api"]  # fmt: skip
    with Session(engine) as s:
        s.add(Commitment(crm="hubspot", deal_id="h3", deal_name="Deal h3", feature_key="api",
                         promise_key="api", pipeline="default",
                         signed_at=datetime(2026, 1, 5, tzinfo=UTC)))  # fmt: skip
        s.commit()
    r = client.get("/api/v1/commitments", params={"pipeline": name}, headers=h)
    assert [(c["deal_id"], c["feature_key"]) for c in r.json()["items"]] == [("h3", "api")]


def test_a_pipeline_name_is_matched_in_its_own_crm_only(named, api_key, engine):
    """'Enterprise' is HubSpot's pipeline 9999; Salesforce's deals sit in a pipeline whose id
    is 'enterprise': the name takes in HubSpot's deals of 9999, not Salesforce's."""
    client, _ = named
    h = api_key("engineering")
    with Session(engine) as s:
        s.add(Deal(crm="hubspot", deal_id="h9", name="Big", pipeline="9999", stage_id="x",
                   owner_id="dora", owner_name="Dora Fox", amount=Decimal(10)))  # fmt: skip
        s.commit()
    assert _deal_ids(client.get("/api/v1/deals?pipeline=Enterprise", headers=h)) == ["h9"]
    # the id as stored still matches it, and Salesforce's id its own deals
    assert _deal_ids(client.get("/api/v1/deals?pipeline=9999", headers=h)) == ["h9"]
    assert _deal_ids(client.get("/api/v1/deals?pipeline=enterprise", headers=h)) == [
        "s1", "s2", "s3"]  # fmt: skip
    r = client.get("/api/v1/deals?pipeline=Enterprise&crm=salesforce", headers=h)
    assert r.status_code == 422, r.text
    assert "did you mean 'enterprise'?" in r.json()["error"]["details"][0]["msg"]


def test_a_pipeline_the_crm_has_without_deals_yet_is_an_empty_answer(named, api_key):
    client, _ = named
    h = api_key("engineering")
    for value in ("Renewals", "777"):
        r = client.get("/api/v1/exposure", params={"pipeline": value}, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 0
    r = client.get("/api/v1/deals?pipeline=Renewal", headers=h)
    assert r.status_code == 422
    msg = r.json()["error"]["details"][0]["msg"]
    assert "did you mean 'Renewals'?" in msg
    assert msg.endswith(
        "known: 777 (Renewals), 9999 (Enterprise), default (Sales pipeline), enterprise"
    )
