"""/api/v1/mappings: a product is one mapping whatever the case and spacing of its value (as the
catalog matches line items), imports read what spreadsheets write, searches are literal, and
every write answers with the same fan-out counts."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.models import ProductMapping, utcnow


@pytest.fixture
def revops(client, api_key):
    headers = api_key("revops")
    for key in ("sso", "scim", "audit", "snake_case", "percent"):
        r = client.post("/api/v1/features", json={"key": key, "name": key.upper()}, headers=headers)
        assert r.status_code == 201
    return headers


def _stored(engine) -> dict[tuple[str, str], list[str]]:
    with Session(engine) as s:
        return {
            (m.match_kind, m.match_value): m.feature_keys for m in s.exec(select(ProductMapping))
        }


def _import_csv(client, headers, text: str):
    return client.post(
        "/api/v1/mappings/import", content=text, headers={**headers, "Content-Type": "text/csv"}
    )


# --- one product, one mapping ---------------------------------------------------------------


@pytest.mark.parametrize("other", ["ai-addon", " Ai-Addon ", "AI-ADDON"])
def test_a_value_differing_only_in_case_or_spacing_is_refused_naming_the_mapping(
    client, revops, engine, other
):
    body = {"match_kind": "sku", "match_value": "AI-ADDON", "feature_keys": ["sso"]}
    first = client.post("/api/v1/mappings", json=body, headers=revops)
    assert first.status_code == 201
    existing_id = first.json()["mapping"]["id"]

    r = client.post(
        "/api/v1/mappings", json={**body, "match_value": other, "feature_keys": ["scim"]},
        headers=revops,
    )  # fmt: skip
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert f"mapping {existing_id}" in error["message"] and "'AI-ADDON'" in error["message"]
    assert error["details"]["existing"] == {
        "id": existing_id,
        "match_kind": "sku",
        "match_value": "AI-ADDON",
        "feature_keys": ["sso"],
    }
    assert _stored(engine) == {("sku", "AI-ADDON"): ["sso"]}
    # Another kind is another product.
    r = client.post(
        "/api/v1/mappings", json={**body, "match_kind": "product_id", "match_value": other},
        headers=revops,
    )  # fmt: skip
    assert r.status_code == 201


def test_inner_whitespace_counts_once(client, revops):
    body = {"match_kind": "name", "match_value": "Audit  pack", "feature_keys": ["audit"]}
    assert client.post("/api/v1/mappings", json=body, headers=revops).status_code == 201
    body["match_value"] = "audit pack"
    assert client.post("/api/v1/mappings", json=body, headers=revops).status_code == 409


def test_the_database_refuses_a_second_spelling(engine):
    """The constraint is the database's: a writer that skips the service is refused too."""
    now = utcnow()
    with Session(engine) as s:
        s.add(ProductMapping(match_kind="sku", match_value="CASE-1", feature_keys=["a"],
                             created_at=now, updated_at=now))  # fmt: skip
        s.commit()
        s.add(ProductMapping(match_kind="sku", match_value="case-1 ", feature_keys=["b"],
                             created_at=now, updated_at=now))  # fmt: skip
        with pytest.raises(IntegrityError):
            s.commit()


def test_import_flags_a_second_spelling_as_a_duplicate_row(client, revops, engine):
    r = _import_csv(
        client,
        revops,
        "match_kind,match_value,feature_keys\nsku,CASE-1,sso\nsku,case-1,scim\nsku, CASE-1 ,scim\n",
    )
    assert r.status_code == 422, r.text
    errors = r.json()["error"]["details"]
    assert [(e["row"], e["path"]) for e in errors] == [(3, "match_value"), (4, "match_value")]
    assert all("duplicate of row 2" in e["message"] for e in errors)
    assert "written 'CASE-1' there" in errors[0]["message"]
    assert _stored(engine) == {}

    r = client.post(
        "/api/v1/mappings/import",
        json=[
            {"match_kind": "sku", "match_value": "CASE-1", "feature_keys": ["sso"]},
            {"match_kind": "sku", "match_value": "case-1", "feature_keys": ["scim"]},
        ],
        headers=revops,
    )
    assert r.status_code == 422
    assert [e["row"] for e in r.json()["error"]["details"]] == [2]


def test_import_updates_the_mapping_stored_with_another_spelling(client, revops, engine):
    body = {"match_kind": "sku", "match_value": "CASE-1", "feature_keys": ["sso"]}
    assert client.post("/api/v1/mappings", json=body, headers=revops).status_code == 201
    r = _import_csv(client, revops, "match_kind,match_value,feature_keys\nsku,case-1,scim\n")
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["updated"]) == (0, 1)
    assert _stored(engine) == {("sku", "CASE-1"): ["scim"]}
    # replace=true keeps it: the file names the same product.
    r = client.post(
        "/api/v1/mappings/import?replace=true",
        content="match_kind,match_value,feature_keys\nsku,Case-1,scim\n",
        headers={**revops, "Content-Type": "text/csv"},
    )
    assert (r.json()["unchanged"], r.json()["deleted"]) == (1, 0)
    assert _stored(engine) == {("sku", "CASE-1"): ["scim"]}


# --- JSON with a byte order mark --------------------------------------------------------------

BOM = b"\xef\xbb\xbf"
ITEMS = [{"match_kind": "sku", "match_value": "BOM-1", "feature_keys": ["sso"]}]


def test_json_import_with_a_byte_order_mark(client, revops, engine):
    r = client.post(
        "/api/v1/mappings/import",
        content=BOM + json.dumps(ITEMS).encode(),
        headers={**revops, "Content-Type": "application/json"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["created"] == 1
    upload = BOM + json.dumps({"mappings": [{**ITEMS[0], "feature_keys": ["scim"]}]}).encode()
    r = client.post(
        "/api/v1/mappings/import",
        files={"file": ("mappings.json", upload, "application/json")},
        headers=revops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["updated"] == 1
    assert _stored(engine) == {("sku", "BOM-1"): ["scim"]}


# --- CSV as spreadsheets write it -------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "\n  \n", "\ufeff"])
def test_csv_empty_file(client, revops, body):
    r = _import_csv(client, revops, body)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("empty file")


def test_csv_header_names_ignore_case_and_spaces(client, revops, engine):
    r = _import_csv(client, revops, "Match_Kind, MATCH_VALUE ,Feature_Keys\nsku,ENT-1,sso;scim\n")
    assert r.status_code == 200, r.text
    assert _stored(engine) == {("sku", "ENT-1"): ["sso", "scim"]}


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_csv_separated_by_semicolons_or_tabs_is_read(client, revops, engine, delimiter):
    d = delimiter
    text = f"match_kind{d}match_value{d}feature_keys\nsku{d}ENT-1{d}sso|scim\nname{d}A, B{d}audit\n"
    r = _import_csv(client, revops, text)
    assert r.status_code == 200, r.text
    assert _stored(engine) == {("sku", "ENT-1"): ["sso", "scim"], ("name", "A, B"): ["audit"]}


def test_csv_with_an_unknown_delimiter_says_so(client, revops):
    r = _import_csv(client, revops, "kind;value;keys\nsku;A;sso\n")
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "missing: match_kind, match_value, feature_keys" in message
    assert "separated by ','" in message


def test_csv_extra_cells_are_a_row_error(client, revops, engine):
    text = (
        "match_kind,match_value,feature_keys\n"
        "sku,ENT-1,sso,scim\n"  # line 2: the second key in a cell of its own
        "sku,ENT-2,sso,\n"  # line 3: a trailing empty cell is fine
        "sku,ENT-3,ghost\n"  # line 4: reported with the others
    )
    r = _import_csv(client, revops, text)
    assert r.status_code == 422, r.text
    errors = r.json()["error"]["details"]
    assert [(e["row"], e["path"]) for e in errors] == [(2, "row"), (4, "feature_keys[0]")]
    assert "4 cells but the header has 3 columns" in errors[0]["message"]
    assert "'scim'" in errors[0]["message"]
    assert _stored(engine) == {}
    # In a ';' file the keys' own ';' splits cells too: the error says what to use instead.
    r = _import_csv(client, revops, "match_kind;match_value;feature_keys\nsku;ENT-1;sso;scim\n")
    assert r.status_code == 422
    assert "'|'" in r.json()["error"]["details"][0]["message"]


@pytest.mark.parametrize("eol", ["\r", "\n", "\r\n"], ids=["cr", "lf", "crlf"])
def test_csv_lines_may_end_with_cr_lf_or_both(client, revops, engine, eol):
    """Old Mac Excel ends lines with a lone \r: it was a 500 (csv.Error)."""
    lines = ["match_kind,match_value,feature_keys", "sku,ENT-1,sso;scim", "", "sku,ENT-2,ghost"]
    r = _import_csv(client, revops, eol.join(lines) + eol)
    assert r.status_code == 422, r.text
    assert [(e["row"], e["path"]) for e in r.json()["error"]["details"]] == [(4, "feature_keys[0]")]
    r = _import_csv(client, revops, eol.join(lines[:3]))
    assert r.status_code == 200, r.text
    assert _stored(engine) == {("sku", "ENT-1"): ["sso", "scim"]}


def test_csv_cell_past_the_reader_limit_is_a_422_naming_the_line(client, revops, engine):
    """A cell past csv.field_size_limit (131072) was a 500; a long quoted cell that never ends
    is most likely an unclosed quote, and the error asks."""
    long = "x" * 140_000
    r = _import_csv(
        client, revops, f"match_kind,match_value,feature_keys\nsku,A,sso\nsku,{long},sso\n"
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"] == [
        {"row": 3, "path": "row", "message": "a cell longer than 131072 characters"}
    ]
    assert error["message"].startswith("CSV line 3:") and "nothing was written" in error["message"]
    text = 'match_kind,match_value,feature_keys\nsku,A,sso\nsku,"B,sso\n' + "sku,C,sso\n" * 20_000
    r = _import_csv(client, revops, text)
    assert r.status_code == 422, r.text
    assert "is the quote opened on line 3 never closed?" in r.json()["error"]["message"]
    r = _import_csv(client, revops, long + "\n")  # the header line itself
    assert r.status_code == 422 and r.json()["error"]["details"][0]["row"] == 1
    assert _stored(engine) == {}


@pytest.mark.parametrize("before", ["   \n", "\t\r\n\n", ",,\n", ' ; ;""\n'])
def test_csv_blank_lines_before_the_header_are_skipped(client, revops, engine, before):
    """A whitespace-only first line was read as the header (the real one became a bad row)."""
    r = _import_csv(client, revops, before + "match_kind,match_value,feature_keys\nsku,A,ghost\n")
    assert r.status_code == 422, r.text
    lines = before.count("\n") - before.count("\r\n") + before.count("\r")
    assert [(e["row"], e["path"]) for e in r.json()["error"]["details"]] == [
        (lines + 2, "feature_keys[0]")
    ]
    r = _import_csv(client, revops, before + "match_kind,match_value,feature_keys\nsku,A,sso\n")
    assert r.status_code == 200, r.text
    assert _stored(engine) == {("sku", "A"): ["sso"]}


def test_csv_a_column_named_twice_is_refused_naming_it(client, revops, engine):
    """The last of the two cells silently won: which one the writer meant is a guess."""
    text = "match_kind,match_value,feature_keys,Feature_Keys\nsku,A,sso,scim\n"
    r = _import_csv(client, revops, text)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert "feature_keys" in error["message"] and "more than once" in error["message"]
    assert error["details"] == [
        {
            "row": 1,
            "path": "header",
            "message": "column feature_keys appears 2 times (columns 3, 4)",
        }
    ]
    assert _stored(engine) == {}
    # Unused columns may repeat (blank names of trailing delimiters, notes): they are not read.
    text = "match_kind,match_value,feature_keys,note,note,,\nsku,A,sso,x,y,,\n"
    assert _import_csv(client, revops, text).status_code == 200


def test_csv_unclosed_quote_names_the_line_it_opened_on(client, revops, engine):
    """It was read as one cell swallowing the rest of the file, reported as a blank
    feature_keys (or a too long value) on the row the reader ended on."""
    text = (
        "match_kind,match_value,feature_keys\n"
        'sku,"Two\nlines",sso\n'  # lines 2-3: a closed quoted cell over two lines is fine
        'sku,B,"scim\n'  # line 4: never closed
        "sku,C,audit\n"
    )
    r = _import_csv(client, revops, text)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["message"].startswith("CSV line 4: the quote opened on line 4 is never closed")
    assert [(e["row"], e["path"]) for e in error["details"]] == [(4, "row")]
    assert _stored(engine) == {}


def test_csv_text_after_a_closing_quote_is_refused_naming_the_line(client, revops, engine):
    """'"A"B' was read as 'AB': the quotes were lost without a word."""
    r = _import_csv(
        client, revops, 'match_kind,match_value,feature_keys\nsku,A,sso\nsku,"B"C,sso\n'
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["row"] == 3
    assert 'written as two: ""' in r.json()["error"]["message"]
    assert _stored(engine) == {}


def test_csv_rows_are_numbered_by_the_line_they_start_on(client, revops):
    text = 'match_kind,match_value,feature_keys\nsku,"Two\nlines",ghost\n'
    r = _import_csv(client, revops, text)
    assert [e["row"] for e in r.json()["error"]["details"]] == [2]


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_excel_sep_line_is_honoured(client, revops, engine, sep):
    """Excel writes (and reads) a first line 'sep=;' naming the delimiter: it is no header."""
    rows = [["match_kind", "match_value", "feature_keys"], ["sku", "A", "sso|scim"]]
    text = f"sep={sep}\r\n" + "".join(sep.join(r) + "\r\n" for r in rows)
    rows.append(["sku", "B", "ghost"])
    bad = f"sep={sep}\r\n" + "".join(sep.join(r) + "\r\n" for r in rows)
    r = _import_csv(client, revops, bad)
    assert r.status_code == 422, r.text
    assert [e["row"] for e in r.json()["error"]["details"]] == [4]  # sep= is line 1
    r = _import_csv(client, revops, text)
    assert r.status_code == 200, r.text
    assert _stored(engine) == {("sku", "A"): ["sso", "scim"]}


def test_csv_sep_line_naming_another_delimiter_is_refused(client, revops, engine):
    r = _import_csv(client, revops, "sep=|\nmatch_kind|match_value|feature_keys\nsku|A|sso\n")
    assert r.status_code == 422, r.text
    assert "'sep=|'" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["row"] == 1
    # The header must use the delimiter the sep= line names.
    r = _import_csv(client, revops, "sep=;\nmatch_kind,match_value,feature_keys\nsku,A,sso\n")
    assert r.status_code == 422, r.text
    assert "the 'sep=' line says columns are separated by ';'" in r.json()["error"]["message"]
    assert r.json()["error"]["details"][0]["row"] == 2
    r = _import_csv(client, revops, "sep=,\n\n")
    assert r.status_code == 422 and "no header row" in r.json()["error"]["message"]
    assert _stored(engine) == {}


def test_csv_feature_key_index_is_its_place_in_the_cell(client, revops):
    """Blank and repeated keys are dropped before the check: the index must not move."""
    r = _import_csv(client, revops, "match_kind,match_value,feature_keys\nsku,A,sso;sso;;ghost\n")
    assert r.status_code == 422, r.text
    assert [(e["row"], e["path"]) for e in r.json()["error"]["details"]] == [(2, "feature_keys[3]")]


# --- literal search -----------------------------------------------------------------------------


def test_search_takes_percent_and_underscore_literally(client, revops):
    for value in ("PLAN_A", "PLANB", "100%", "1000"):
        body = {"match_kind": "sku", "match_value": value, "feature_keys": ["sso"]}
        assert client.post("/api/v1/mappings", json=body, headers=revops).status_code == 201

    def mappings(q: str) -> list[str]:
        r = client.get("/api/v1/mappings", params={"q": q}, headers=revops)
        return [m["match_value"] for m in r.json()["items"]]

    def features(q: str) -> list[str]:
        r = client.get("/api/v1/features", params={"q": q}, headers=revops)
        return [f["key"] for f in r.json()["items"]]

    assert mappings("%") == ["100%"]
    assert mappings("_") == ["PLAN_A"]
    assert mappings("n_a") == ["PLAN_A"]
    assert mappings("\\") == []
    assert features("_") == ["snake_case"]
    assert features("%") == []
    assert features("e_c") == ["snake_case"]
    # feature_key filter: an underscore in a key is not a wildcard either
    body = {"match_kind": "sku", "match_value": "SNAKE", "feature_keys": ["snake_case"]}
    assert client.post("/api/v1/mappings", json=body, headers=revops).status_code == 201
    r = client.get("/api/v1/mappings", params={"feature_key": "snake_case"}, headers=revops)
    assert [m["match_value"] for m in r.json()["items"]] == ["SNAKE"]


# --- fan-out counts ---------------------------------------------------------------------------


def test_every_mapping_write_answers_the_same_fan_out_fields(client, revops):
    body = {"match_kind": "sku", "match_value": "ENT-1", "feature_keys": ["sso"]}
    created = client.post("/api/v1/mappings", json=body, headers=revops).json()
    mapping_id = created["mapping"]["id"]
    updated = client.put(
        f"/api/v1/mappings/{mapping_id}", json={"feature_keys": ["scim"]}, headers=revops
    ).json()
    r = client.delete(f"/api/v1/mappings/{mapping_id}", headers=revops)
    assert r.status_code == 200
    counts = {"deals_reevaluated", "deals_requeued", "deals_deferred"}
    assert set(created) == set(updated) == {"mapping", "warnings"} | counts
    assert r.json() == {
        "id": mapping_id,
        "deals_reevaluated": 0,
        "deals_requeued": 0,
        "deals_deferred": 0,
    }
    deleted_feature = client.delete("/api/v1/features/percent", headers=revops).json()
    assert set(deleted_feature) == {"key", "warnings"} | counts


def test_invisible_characters_around_a_value_or_key_are_not_part_of_it(client, api_key, engine):
    """A value copied from a web page or a chat keeps a zero width space, a byte order mark or
    a direction mark at its ends, which str.strip() left: "ENT-SSO\\u200b" was stored as a
    mapping no line item matched (and beside "ENT-SSO" as another product), and "sso\\u200b"
    was refused as an unknown key with a message that showed nothing wrong."""
    from sqlmodel import Session, select

    from app.models import ProductMapping

    revops = api_key("revops")
    for key in ("sso", "scim"):
        r = client.post("/api/v1/features", json={"key": key, "name": key.upper()}, headers=revops)
        assert r.status_code == 201, r.text
    body = {"match_kind": "sku\u200b", "match_value": "\u200bENT-SSO\ufeff ",
            "feature_keys": ["sso\u200b", "\u200escim"]}  # fmt: skip
    r = client.post("/api/v1/mappings", json=body, headers=revops)
    assert r.status_code == 201, r.text
    assert (r.json()["mapping"]["match_value"], r.json()["mapping"]["feature_keys"]) == (
        "ENT-SSO",
        ["sso", "scim"],
    )
    r = client.post(
        "/api/v1/mappings",
        json={"match_kind": "sku", "match_value": "ENT-SSO\u2060", "feature_keys": ["sso"]},
        headers=revops,
    )
    assert r.status_code == 409, r.text  # the same product
    r = client.post(
        "/api/v1/mappings",
        json={"match_kind": "sku", "match_value": "\u200b\u200b", "feature_keys": ["sso"]},
        headers=revops,
    )
    assert r.status_code == 422 and "must not be blank" in r.text, r.text

    csv = "\ufeffsku\u200b,feature_keys\nENT-SSO\u200b,scim\u200b;sso\nENT-SCIM\u00a0\u200b,scim\n"
    r = client.post(
        "/api/v1/mappings/import",
        content=csv.encode(),
        headers={**revops, "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("created", "updated", "unchanged")} == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
    with Session(engine) as s:
        stored = {m.match_value: m.feature_keys for m in s.exec(select(ProductMapping))}
    assert stored == {"ENT-SSO": ["scim", "sso"], "ENT-SCIM": ["scim"]}

    r = client.post(
        "/api/v1/mappings/import",
        json=[{"match_kind": "sku", "match_value": "X\u200b", "feature_keys": ["sso\u200b", "ghost\u200b"]}],
        headers=revops,
    )  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == [
        {"row": 1, "path": "feature_keys[1]", "message": "unknown feature key 'ghost'"}
    ]


def test_keys_on_separate_lines_of_one_csv_cell_are_several_keys(client, api_key, engine):
    """Excel lists several values in one cell on separate lines (Alt+Enter), saved as a quoted
    cell with line breaks: "sso\\nscim" was refused as the one unknown key 'sso\\nscim'. A line
    break inside the feature_keys cell separates keys as ';' and '|' do (one separator with a
    ';' ending the line), and an error still names the key by its place in the cell."""
    from sqlmodel import Session, select

    from app.models import ProductMapping

    revops = api_key("revops")
    for key in ("sso", "scim", "audit"):
        r = client.post("/api/v1/features", json={"key": key, "name": key.upper()}, headers=revops)
        assert r.status_code == 201, r.text
    csv = (
        'sku,feature_keys\r\nA1,"sso\nscim"\r\nA2,"sso\r\nscim\r\naudit"\r\n'
        'A3,"sso;\r\nscim"\r\nA4,"audit |\nsso"\r\n'
    )
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200 and r.json()["created"] == 4, r.text
    with Session(engine) as s:
        stored = {m.match_value: m.feature_keys for m in s.exec(select(ProductMapping))}
    assert stored == {
        "A1": ["sso", "scim"],
        "A2": ["sso", "scim", "audit"],
        "A3": ["sso", "scim"],
        "A4": ["audit", "sso"],
    }
    csv = 'sku,feature_keys\nB1,"sso\nghost;\nscim\nspook"\n'
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"] == [
        {"row": 2, "path": "feature_keys[1]", "message": "unknown feature key 'ghost'"},
        {"row": 2, "path": "feature_keys[3]", "message": "unknown feature key 'spook'"},
    ]


def test_an_excel_text_formula_cell_is_read_as_its_text(client, api_key, engine):
    """Exports made for Excel write a code as a text formula, ="00123", so that it keeps its
    leading zeros; the import stored the formula itself as the SKU ('="00123"'), which no
    line item carries. The cell is read as its text; a value merely holding '="' is not."""
    from sqlmodel import Session, select

    from app.models import ProductMapping

    revops = api_key("revops")
    for key in ("sso", "scim"):
        r = client.post("/api/v1/features", json={"key": key, "name": key.upper()}, headers=revops)
        assert r.status_code == 201, r.text
    csv = 'sku,feature_keys\n="00123",sso\n="ENT ""X""",="scim"\na="b",sso\n="00124" x,sso\n'
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 200 and r.json()["created"] == 4, r.text
    with Session(engine) as s:
        stored = {m.match_value: m.feature_keys for m in s.exec(select(ProductMapping))}
    assert stored == {
        "00123": ["sso"],
        'ENT "X"': ["scim"],
        'a="b"': ["sso"],
        '="00124" x': ["sso"],
    }


@pytest.mark.parametrize(
    "csv",
    [
        '"sku,feature_keys"\n"A1,sso"\n',
        '"match_kind;match_value;feature_keys"\r\n"sku;A1;sso"\r\n',
        'sep=,\n"sku,feature_keys"\n"A1,sso"\n',
    ],
)
def test_a_file_with_each_whole_line_quoted_is_said_to_be_so(client, api_key, engine, csv):
    """Each whole line wrapped in quotes reads as one column: the answer asked "is
    'sku,feature_keys' meant to be feature_keys?", as if a column were misspelt. It says the
    lines are quoted whole, on the header's line, and nothing is written."""
    from sqlmodel import Session, select

    from app.models import ProductMapping

    revops = api_key("revops")
    r = client.post(
        "/api/v1/mappings/import", content=csv, headers={**revops, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    line = 2 if csv.startswith("sep=") else 1
    assert error["message"].startswith(f"line {line}: the header is one quoted cell, '")
    assert "each whole line is wrapped in quotes" in error["message"]
    assert "meant to be" not in error["message"]
    assert [(d["row"], d["path"]) for d in error["details"]] == [(line, "header")]
    with Session(engine) as s:
        assert s.exec(select(ProductMapping)).all() == []
