"""Review 8 of the RevOps catalog: features, product mappings, their bulk import, search."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from app.connectors.testcrm import TestCrmConnector
from app.jobs.worker import Worker
from app.models import Deal, Feature, ProductMapping
from app.services.pipeline import DealPipeline
from app.services.rules_service import install_default_rules


@pytest.fixture
def web(make_app, engine):
    from fastapi.testclient import TestClient

    with Session(engine) as s:
        s.add(Feature(key="offline", name="Offline mode", availability="never"))
        s.add(Feature(key="api", name="Public API", availability="available"))
        install_default_rules(s)
        s.commit()
    with TestClient(make_app(connectors={"test": TestCrmConnector(engine)})) as c:
        yield c


def _deal(line_items: list[dict]) -> dict:
    return {
        "name": "Contoso",
        "amount": "48000",
        "stage": {"id": "negotiation", "label": "Negotiation", "probability": 0.6},
        "close_date": (date.today() + timedelta(days=45)).isoformat(),
        "line_items": line_items,
    }


def _drain(engine, settings) -> None:
    pipeline = DealPipeline(engine, settings, {"test": TestCrmConnector(engine)})
    Worker(engine, settings, pipeline).run_until_empty()


def _verdicts(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {d.deal_id: d.verdict for d in s.exec(select(Deal))}


def test_a_feature_sku_pasted_with_an_invisible_character_still_matches_line_items(
    web, engine, settings, api_key
):
    """A SKU or product id copied from a web page or a chat into a feature's own `skus`
    kept its zero-width space or byte order mark: stored as "ENT-OFF\u200b", no line item
    ever matched it, and the deal selling the product was clear of a feature never built."""
    revops = api_key("revops")
    for deal_id, item in (("D1", {"sku": "ent-off"}), ("D2", {"product_id": "777"})):
        line = {"id": "l1", "name": "Field pack", **item}
        r = web.put(f"/api/v1/test-crm/deals/{deal_id}", json=_deal([line]), headers=revops)
        assert r.status_code == 202, r.text
    _drain(engine, settings)
    assert _verdicts(engine) == {"D1": "clear", "D2": "clear"}

    body = {"skus": ["ENT-OFF\u200b"], "product_ids": ["\ufeff777 ", "\u200b"]}
    r = web.patch("/api/v1/features/offline", json=body, headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["feature"]["skus"], r.json()["feature"]["product_ids"]) == (
        ["ENT-OFF"],
        ["777"],
    )
    assert r.json()["deals_reevaluated"] == 2
    assert _verdicts(engine) == {"D1": "blocked", "D2": "blocked"}

    r = web.post(
        "/api/v1/features",
        json={"key": "kiosk", "name": "\u200bKiosk mode\u200b", "skus": ["\u2060KSK-1"]},
        headers=revops,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["feature"]["name"], r.json()["feature"]["skus"]) == ("Kiosk mode", ["KSK-1"])
    r = web.post("/api/v1/features", json={"key": "blank", "name": "\u200b \u200b"}, headers=revops)
    assert r.status_code == 422, r.text


def test_an_import_row_with_its_kind_spelt_as_a_spreadsheet_would_still_warns_of_an_overlap(
    client, api_key
):
    """A row whose kind was written "SKU" (accepted, as the docs say) was imported without
    the warning a row written "sku" gets when a feature already claims its SKU: the RevOps
    person was not told that deals selling it would reference both features."""
    revops = api_key("revops")
    for body in (
        {"key": "copilot", "name": "Copilot", "skus": ["AI-ADDON"], "product_ids": ["P-9"]},
        {"key": "sso", "name": "Single sign-on"},
    ):
        assert client.post("/api/v1/features", json=body, headers=revops).status_code == 201
    r = client.post(
        "/api/v1/mappings/import",
        json=[{"match_kind": " SKU", "match_value": "ai-addon", "feature_keys": ["sso"]}],
        headers=revops,
    )
    assert r.status_code == 200, r.text
    [warning] = r.json()["warnings"]
    assert (warning["row"], warning["match_kind"], warning["claimed_by"]) == (
        1,
        "sku",
        ["copilot"],
    )
    assert warning["deals_will_reference"] == ["sso", "copilot"]

    csv = b"match_kind,match_value,feature_keys\nName,Copilot,sso\nProduct ID,p-9,sso\n"
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    assert [(w["row"], w["match_kind"], w["claimed_by"]) for w in r.json()["warnings"]] == [
        (3, "product_id", ["copilot"])
    ]


def test_a_salesforce_product_id_from_a_report_matches_the_line_items_the_api_reads(
    web, engine, settings, api_key
):
    """Salesforce reports, list views and Classic URLs show a product's 15-character id; the
    API gives line items the 18-character one. A mapping (or a feature's own product id)
    written as exported matched no line item, so the deal stayed clear; and two products whose
    15-character ids differ only in case were refused as one duplicated product."""
    revops = api_key("revops")
    lines = {
        "D1": {"product_id": "01t5g000000AbCdAAK"},  # 01t5g000000AbCd, as the API returns it
        "D2": {"product_id": "01t5g000000abcdAAA"},  # 01t5g000000abcd: another product
        "D3": {"product_id": "01t5g000000XyZwAAK"},
    }
    for deal_id, item in lines.items():
        line = {"id": "l1", "name": "Field pack", **item}
        r = web.put(f"/api/v1/test-crm/deals/{deal_id}", json=_deal([line]), headers=revops)
        assert r.status_code == 202, r.text
    _drain(engine, settings)
    assert set(_verdicts(engine).values()) == {"clear"}

    csv = b"product_id,feature_keys\n01t5g000000AbCd,offline\n01t5g000000abcd,api\n"
    r = web.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["deals_reevaluated"]) == (2, 2)
    assert _verdicts(engine) == {"D1": "blocked", "D2": "clear", "D3": "clear"}
    listed = web.get("/api/v1/mappings?match_kind=product_id", headers=revops).json()["items"]
    assert {m["match_value"]: m["feature_keys"] for m in listed} == {
        "01t5g000000AbCdAAK": ["offline"],
        "01t5g000000abcdAAA": ["api"],
    }
    # read back whole with the value as exported: still that mapping's product
    mapping = next(m for m in listed if m["feature_keys"] == ["api"])
    r = web.put(
        f"/api/v1/mappings/{mapping['id']}",
        json={**mapping, "match_value": "01t5g000000abcd", "feature_keys": ["offline"]},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert _verdicts(engine)["D2"] == "blocked"

    r = web.patch(
        "/api/v1/features/offline", json={"product_ids": ["01t5g000000XyZw"]}, headers=revops
    )
    assert r.status_code == 200, r.text
    assert r.json()["feature"]["product_ids"] == ["01t5g000000XyZwAAK"]
    assert _verdicts(engine)["D3"] == "blocked"
    # neither a HubSpot product id nor a SKU is touched
    body = {"match_kind": "sku", "match_value": "01t5g000000QqQq", "feature_keys": ["api"]}
    r = web.post("/api/v1/mappings", json=body, headers=revops)
    assert r.status_code == 201 and r.json()["mapping"]["match_value"] == "01t5g000000QqQq"


@pytest.mark.parametrize(
    ("column", "meant"),
    [
        ("Product Code", "sku"),  # a Salesforce report's column: Product2.ProductCode
        ("PRODUCTCODE", "sku"),  # Data Loader's
        ("hs_sku", "sku"),
        ("PRODUCT2ID", "product_id"),
        ("hs_product_id", "product_id"),
        ("Product Name", "name"),  # by its words, not a near miss of product_id
        ("Product SKU", "sku"),
        ("Record ID", "product_id"),  # a HubSpot products export: hs_product_id's value
    ],
)
def test_a_crm_exports_column_is_answered_with_the_kind_its_values_are(
    client, api_key, engine, column, meant
):
    """A Salesforce export's "Product Code" column was answered "is 'product_code' meant to be
    product_id?": a file renamed so mapped the SKUs as product ids, which no line item ever
    matched (line items carry ProductCode as their SKU)."""
    revops = api_key("revops")
    assert (
        client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=revops)
    ).status_code == 201
    csv = f"{column},Feature keys\nENT-SSO,sso\n".encode()
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "content-type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    name = column.lower().replace(" ", "_")
    [hint] = [d["message"] for d in r.json()["error"]["details"] if "short form" in d["message"]]
    assert hint.startswith(f"for the short form, is '{name}' meant to be {meant}?")
    with Session(engine) as s:
        assert s.exec(select(ProductMapping)).all() == []


def test_a_product_id_excel_saved_in_scientific_notation_is_refused_naming_its_cell(
    client, api_key, engine
):
    """Excel saves a long numeric product id in a General-format column as "1.23457E+11": the
    import stored that text as the mapping's value, which no line item (product id
    123456789012) ever matched, and said nothing."""
    revops = api_key("revops")
    assert (
        client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=revops)
    ).status_code == 201
    csv = b"Product ID,Feature keys\r\n1.23457E+11,sso\r\n4521,sso\r\n"
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "content-type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["error"]["details"]
    assert (error["row"], error["path"]) == (2, "product_id")
    assert error["message"].startswith("'1.23457E+11' is a number in scientific notation")
    # a ';'-separated file (a decimal comma); a product's name may be anything
    long_form = "match_kind;match_value;feature_keys\nSKU;4,5E+12;sso\nname;1E+3 Pack;sso\n"
    r = client.post(
        "/api/v1/mappings/import",
        content=long_form.encode(),
        headers={**revops, "content-type": "text/csv"},
    )
    assert r.status_code == 422, r.text
    assert [(e["row"], e["path"]) for e in r.json()["error"]["details"]] == [(2, "match_value")]
    with Session(engine) as s:
        assert s.exec(select(ProductMapping)).all() == []


def test_a_multipart_file_field_sent_as_text_is_said_to_be_text(client, api_key):
    """curl -F 'file=<mappings.csv' sends the file's content as a text field named 'file':
    the answer said the import "needs a file field named 'file'", which it had."""
    revops = api_key("revops")
    r = client.post(
        "/api/v1/mappings/import",
        data={"file": "sku,feature_keys\nENT-SSO,sso\n"},
        files={"note": ("note.txt", b"")},
        headers=revops,
    )
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    assert message.startswith("multipart field 'file' was sent as a text value, not as an up")
    assert "-F 'file=@mappings.csv'" in message
    r = client.post("/api/v1/mappings/import", files={"upload": ("m.csv", b"x")}, headers=revops)
    assert r.json()["error"]["message"] == "multipart import needs a file field named 'file'"


def test_a_clash_already_stored_does_not_refuse_an_edit_that_adds_none(client, api_key, engine):
    """A roadmap source's feature refreshed in with the registry feature's own name (a clash
    the API refuses, a refresh does not) made every later edit of the registry feature a 409
    pointing at its `name`, even one adding an unrelated alias or changing its date: the
    feature could not be edited without renaming it."""
    revops = api_key("revops")
    body = {"key": "sso", "name": "Single sign-on", "aliases": ["SSO"]}
    assert client.post("/api/v1/features", json=body, headers=revops).status_code == 201
    with Session(engine) as s:
        s.add(Feature(key="JIRA-12", name="Single Sign On", source="jira"))
        s.add(Feature(key="scim", name="SCIM provisioning", aliases=["user sync"]))
        s.commit()

    r = client.patch("/api/v1/features/sso", json={"aliases": ["SSO", "SAML"]}, headers=revops)
    assert r.status_code == 200, r.text
    whole = {**r.json()["feature"], "availability": "beta"}  # read-modify-write, name included
    r = client.patch("/api/v1/features/sso", json=whole, headers=revops)
    assert r.status_code == 200, r.text
    assert (r.json()["feature"]["availability"], r.json()["feature"]["aliases"]) == (
        "beta",
        ["SSO", "SAML"],
    )

    # what an edit brings is still judged: a new alias, or an alias made the name
    r = client.patch(
        "/api/v1/features/sso", json={"aliases": ["SCIM provisioning"]}, headers=revops
    )
    assert r.status_code == 409 and r.json()["error"]["details"][0]["path"] == "aliases[0]"
    r = client.patch(
        "/api/v1/features/sso", json={"name": "user sync", "aliases": ["user sync"]}, headers=revops
    )
    assert r.status_code == 409 and r.json()["error"]["details"][0]["feature"] == "scim"
    r = client.patch("/api/v1/features/sso", json={"name": "single-sign-on"}, headers=revops)
    assert r.status_code == 200, r.text


def test_a_feature_edit_with_a_stale_if_match_is_a_412_that_writes_nothing(client, api_key, engine):
    """Two people adding an alias each (GET, append, PATCH the whole list): the later
    silently dropped the earlier's alias. If-Match was ignored on features, though rules
    honour it; a write naming an ETag the feature no longer has is now a 412."""
    revops = api_key("revops")
    body = {"key": "sso", "name": "Single sign-on", "aliases": ["SSO"], "confidence": 0.7}
    r = client.post("/api/v1/features", json=body, headers=revops)
    assert r.status_code == 201, r.text
    created = r.headers["ETag"]
    read = client.get("/api/v1/features/sso", headers=api_key("viewer"))
    assert read.headers["ETag"] == created

    first = client.patch(
        "/api/v1/features/sso",
        json={"aliases": ["SSO", "SAML"]},
        headers={**revops, "If-Match": created},
    )
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] not in (created, None)
    assert (
        client.get("/api/v1/features/sso", headers=revops).headers["ETag"]
        == (first.headers["ETag"])
    )
    second = client.patch(
        "/api/v1/features/sso",
        json={"aliases": ["SSO", "OIDC"]},
        headers={**revops, "If-Match": created},
    )
    assert second.status_code == 412, second.text
    error = second.json()["error"]
    assert (error["code"], error["details"]["etag"]) == (
        "precondition_failed",
        first.headers["ETag"],
    )
    r = client.delete("/api/v1/features/sso", headers={**revops, "If-Match": f"W/{created}"})
    assert r.status_code == 412, r.text
    assert client.get("/api/v1/features/sso", headers=revops).json()["aliases"] == ["SSO", "SAML"]

    # a list naming the current ETag, or "*", goes through; so does a write without If-Match
    tags = f'"nope", {first.headers["ETag"]}'
    r = client.patch(
        "/api/v1/features/sso", json={"availability": "beta"}, headers={**revops, "If-Match": tags}
    )
    assert r.status_code == 200, r.text
    r = client.patch("/api/v1/features/sso", json={"confidence": 0.8}, headers=revops)
    assert r.status_code == 200, r.text
    r = client.delete("/api/v1/features/sso", headers={**revops, "If-Match": "*"})
    assert r.status_code == 200, r.text


def test_a_mapping_edit_with_a_stale_if_match_is_a_412_that_writes_nothing(client, api_key):
    """A PUT replaces a mapping's feature keys: two people adding a feature each to the keys
    they had read lost one, If-Match being ignored. A stale one is now a 412."""
    revops = api_key("revops")
    for key in ("sso", "scim", "audit"):
        body = {"key": key, "name": f"{key} feature"}
        assert client.post("/api/v1/features", json=body, headers=revops).status_code == 201
    body = {"match_kind": "sku", "match_value": "ENT-SSO", "feature_keys": ["sso"]}
    r = client.post("/api/v1/mappings", json=body, headers=revops)
    assert r.status_code == 201, r.text
    mapping_id, created = r.json()["mapping"]["id"], r.headers["ETag"]
    url = f"/api/v1/mappings/{mapping_id}"
    assert client.get(url, headers=api_key("viewer")).headers["ETag"] == created

    first = client.put(
        url, json={"feature_keys": ["sso", "scim"]}, headers={**revops, "If-Match": created}
    )
    assert first.status_code == 200, first.text
    assert client.get(url, headers=revops).headers["ETag"] == first.headers["ETag"] != created
    second = client.put(
        url, json={"feature_keys": ["sso", "audit"]}, headers={**revops, "If-Match": created}
    )
    assert second.status_code == 412, second.text
    assert second.json()["error"]["details"]["etag"] == first.headers["ETag"]
    assert client.delete(url, headers={**revops, "If-Match": created}).status_code == 412
    assert client.get(url, headers=revops).json()["feature_keys"] == ["sso", "scim"]

    r = client.put(
        url,
        json={"feature_keys": ["sso", "scim", "audit"]},
        headers={**revops, "If-Match": first.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    assert client.put(url, json={"feature_keys": ["audit"]}, headers=revops).status_code == 200
    assert client.delete(url, headers={**revops, "If-Match": "*"}).status_code == 200


def test_a_mapping_stored_with_a_15_character_product_id_can_still_be_put_back(
    client, api_key, engine
):
    """A mapping stored before 15-character Salesforce ids were read as 18-character ones is
    read back with its 15-character value: sent back whole, that value must still name it."""
    revops = api_key("revops")
    for key in ("sso", "scim"):
        body = {"key": key, "name": f"{key} feature"}
        assert client.post("/api/v1/features", json=body, headers=revops).status_code == 201
    with Session(engine) as s:
        row = ProductMapping(match_kind="product_id", match_value="01t5g000000AbCd")
        row.feature_keys = ["sso"]
        s.add(row)
        s.commit()
        mapping_id = row.id
    read = client.get(f"/api/v1/mappings/{mapping_id}", headers=revops).json()
    r = client.put(
        f"/api/v1/mappings/{mapping_id}",
        json={**read, "feature_keys": ["sso", "scim"]},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["mapping"]["match_value"] == "01t5g000000AbCd"
    r = client.put(
        f"/api/v1/mappings/{mapping_id}",
        json={**read, "match_value": "01t5g000000AbCe", "feature_keys": ["sso"]},
        headers=revops,
    )
    assert r.status_code == 422, r.text


def test_an_unknown_feature_key_that_is_an_alias_suggests_its_feature(client, api_key):
    """A mapping import naming a feature by its alias ("SAML", as sales and the roadmap call
    it) was refused as an unknown key with no hint, though a name or a key in another case
    gets one; a shared alias ("SSO" of two features) suggests neither."""
    revops = api_key("revops")
    for body in (
        {"key": "saml-sso", "name": "SAML sign-on", "aliases": ["SAML", "SSO"]},
        {"key": "oidc-sso", "name": "OIDC sign-on", "aliases": ["SSO"]},
    ):
        assert client.post("/api/v1/features", json=body, headers=revops).status_code == 201
    csv = b"sku,feature_keys\nENT-1,SAML\nENT-2,sso\n"
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "content-type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    assert [e["message"] for e in r.json()["error"]["details"]] == [
        "unknown feature key 'SAML'; did you mean 'saml-sso'?",
        "unknown feature key 'sso'",
    ]
    body = {"match_kind": "sku", "match_value": "ENT-1", "feature_keys": ["saml"]}
    r = client.post("/api/v1/mappings", json=body, headers=revops)
    assert r.json()["error"]["details"][0]["message"] == (
        "unknown feature key 'saml'; did you mean 'saml-sso'?"
    )


def test_two_edits_at_once_with_the_same_if_match_let_one_through(engine, db_backend):
    """The If-Match check holds until the write: on PostgreSQL the second edit waits for the
    first's row lock, then finds the ETag changed (a 412), rather than both passing the check
    and the later overwriting the earlier (SQLite serializes writers already)."""
    import threading

    from app.services import features_service as svc
    from app.services.rules_service import PreconditionFailed

    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single sign-on", aliases=["SSO"]))
        s.commit()
        tag = svc.etag(s.get(Feature, "sso"))
    if db_backend != "postgresql":
        pytest.skip("SQLite serializes writers: the second edit starts after the first's commit")
    first = Session(engine)
    svc.update_feature(
        first, "sso", svc.FeatureUpdate(aliases=["SSO", "SAML"]), actor="a", if_match=tag
    )
    outcome: list[object] = []

    def second() -> None:
        with Session(engine) as s:
            try:
                svc.update_feature(
                    s, "sso", svc.FeatureUpdate(aliases=["SSO", "OIDC"]), actor="b", if_match=tag
                )
                s.commit()
                outcome.append("written")
            except PreconditionFailed as exc:
                outcome.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive()  # waiting for the first edit's row lock
    first.commit()
    first.close()
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], PreconditionFailed)
    with Session(engine) as s:
        assert s.get(Feature, "sso").aliases == ["SSO", "SAML"]


def test_product_ids_stored_in_the_15_character_form_match_line_items(engine):
    """Mappings and features' own product ids are stored in the 18-character form since they
    are written so; those stored before (and product ids a roadmap source brings) kept the
    15-character form a Salesforce report shows, and matched no line item (the API gives the
    18-character id): the deal selling the product stayed clear. The catalog reads them in
    the 18-character form."""
    from app.connectors.salesforce.ids import to18
    from app.rules.model import LineItem
    from app.services.catalog import load_catalog

    short_mapped, short_own = "01t5g000000AbCd", "01t5g000000XyZw"
    with Session(engine) as s:
        s.add(Feature(key="scim", name="SCIM provisioning", availability="coming_soon"))
        s.add(Feature(key="sso", name="Single Sign-On", availability="available",
                      product_ids=[short_own]))  # fmt: skip
        s.add(ProductMapping(match_kind="product_id", match_value=short_mapped,
                             feature_keys=["scim"]))  # fmt: skip
        s.commit()
    with Session(engine) as s:
        catalog = load_catalog(s)
    for short, key in ((short_mapped, "scim"), (short_own, "sso")):
        item = LineItem(id="li", name="A product", product_id=to18(short), quantity=1)
        assert catalog.features_for_line_item(item)[0] == [key]
