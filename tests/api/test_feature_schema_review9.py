"""The published schema of a feature's partial update says what the API takes: a name and an
availability, when sent, are never null (the API refuses null for both: a client generated from
the schema sent null and met a 422 the schema did not allow for)."""

from __future__ import annotations


def _nullable(schema: dict) -> bool:
    return schema.get("type") == "null" or any(_nullable(s) for s in schema.get("anyOf", []))


def test_the_update_schema_never_offers_null_for_name_or_availability(client):
    spec = client.get("/openapi.json").json()
    update = spec["components"]["schemas"]["FeatureUpdate"]["properties"]
    assert not _nullable(update["name"])
    assert not _nullable(update["availability"])
    assert _nullable(update["guidance"])  # an optional field is still cleared with null


def test_null_for_them_is_still_refused(client, api_key):
    revops = api_key("revops")
    r = client.post(
        "/api/v1/features",
        json={"key": "sso", "name": "SSO", "availability": "available"},
        headers=revops,
    )
    assert r.status_code == 201, r.text
    for field in ("name", "availability"):
        r = client.patch("/api/v1/features/sso", json={field: None}, headers=revops)
        assert r.status_code == 422, r.text
        assert any(d["loc"][-1] == field for d in r.json()["error"]["details"]), r.text
