"""Filters shared by the engineering and product views: a value that names nothing the service
knows is a 422 naming it, never an empty answer read as "no pipeline there"."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from tests.dashboard.seed import seed


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        seed(s)
        s.commit()


VIEWS = [
    "/api/v1/deals",
    "/api/v1/features/sso/deals",
    "/api/v1/exposure",
    "/api/v1/commitments",
    "/api/v1/reports/commitments",
]


@pytest.mark.parametrize("url", VIEWS)
@pytest.mark.parametrize(
    ("crm", "hint"),
    [("HubSpot", "; did you mean 'hubspot'?"), ("salesforse", "; did you mean 'salesforce'?"),
     ("pipedrive", "")],
)  # fmt: skip
def test_an_unknown_crm_is_refused_naming_the_one_meant(client, api_key, seeded, url, crm, hint):
    r = client.get(f"{url}?crm={crm}", headers=api_key("engineering"))
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.crm"
    assert detail["msg"] == f"unknown CRM '{crm}'{hint} (one of: hubspot, salesforce, test)"
    # the CRM as written still filters
    for known in ("salesforce", ""):  # empty: any CRM, as before
        ok = client.get(f"{url}?crm={known}", headers=api_key("engineering"))
        assert ok.status_code == 200, ok.text


@pytest.mark.parametrize(
    ("url", "known"),
    [("/api/v1/deals", "no deal references it"),
     ("/api/v1/commitments", "no deal references it and no commitment names it")],
)  # fmt: skip
def test_an_unknown_feature_filter_is_refused_naming_the_feature_meant(
    client, api_key, engine, seeded, url, known
):
    """feature=ssoo answered an empty list ("no deal depends on SSO"); /features/ssoo/deals
    was already a 404."""
    h = api_key("engineering")
    r = client.get(f"{url}?feature=ssoo", headers=h)
    assert r.status_code == 422, r.text
    [detail] = r.json()["error"]["details"]
    assert detail["path"] == "query.feature"
    assert detail["msg"] == f"feature 'ssoo' is not on the roadmap and {known}; did you mean 'sso'?"
    r = client.get(f"{url}?feature=nothing-like-it", headers=h)
    assert r.status_code == 422 and "did you mean" not in r.text
    # on the roadmap with no dependant, or removed from it and still referenced: an answer
    with Session(engine) as s:
        from app.models import Feature

        s.add(Feature(key="offline", name="Offline mode", availability="coming_soon"))
        s.delete(s.get(Feature, "scim"))  # s3 still references it
        s.commit()
    assert client.get(f"{url}?feature=offline", headers=h).json()["total"] == 0
    assert client.get(f"{url}?feature=scim", headers=h).status_code == 200


def test_the_ledger_takes_a_feature_removed_from_the_roadmap_that_it_names(
    client, api_key, engine, seeded
):
    """Promises outlive the roadmap: h3 was sold SSO, and SSO is gone from roadmap and deals."""
    from sqlmodel import delete

    from app.models import DealFeature, Feature

    with Session(engine) as s:
        s.exec(delete(DealFeature).where(DealFeature.feature_key == "sso"))
        s.delete(s.get(Feature, "sso"))
        s.commit()
    h = api_key("engineering")
    r = client.get("/api/v1/commitments?feature=sso", headers=h)
    assert r.status_code == 200 and [c["deal_id"] for c in r.json()["items"]] == ["h3"]
    assert client.get("/api/v1/deals?feature=sso", headers=h).status_code == 422
