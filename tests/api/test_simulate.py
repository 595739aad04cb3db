"""POST /api/v1/rules/simulate and `rules simulate`: verdict counts before/after, changed deals,
posted snapshots, NDJSON progress, and proof that a simulation writes nothing."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from app.models import Deal, Rule, utcnow
from app.rules.model import DealSnapshot, LineItem, Stage
from app.services import features_service
from app.services.pipeline import apply_snapshot, reevaluate_stored

NEVER = {
    "id": "never-sold",
    "name": "Never sold",
    "severity": "block",
    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
    "message": "{feature.name} will never be built.",
}
BETA_WARN = {
    "id": "beta-sold",
    "name": "Beta sold",
    "severity": "warning",
    "when": {"field": "feature.availability", "op": "eq", "value": "beta"},
    "message": "{feature.name} is beta.",
}


def _snapshot(deal_id: str, sku: str, *, closed: bool = False) -> DealSnapshot:
    return DealSnapshot(
        crm="test",
        deal_id=deal_id,
        name=f"Deal {deal_id}",
        stage=Stage(id="s", is_closed=closed),
        close_date=date(2026, 12, 31),
        line_items=[LineItem(id="li", name="Add-on", sku=sku)],
    )


def seed(engine) -> None:
    with Session(engine) as s:
        for key, availability in (("offline", "never"), ("ai", "beta"), ("sso", "available")):
            features_service.create_feature(
                s,
                features_service.FeatureCreate(
                    key=key, name=key.upper(), availability=availability, skus=[f"SKU-{key}"]
                ),
                actor="t",
            )
        s.add(Rule(id="never-sold", name="Never sold", definition=NEVER))
        now = utcnow()
        snaps = [
            _snapshot("d-offline", "SKU-offline"),
            _snapshot("d-ai", "SKU-ai"),
            _snapshot("d-ai-closed", "SKU-ai", closed=True),
            _snapshot("d-sso", "SKU-sso"),
        ]
        for snap in snaps:
            deal = Deal(crm="test", deal_id=snap.deal_id)
            apply_snapshot(deal, snap, now)
            s.add(deal)
        s.flush()
        reevaluate_stored(s, "test", [x.deal_id for x in snaps], trigger="webhook")
        s.commit()


def _table_state(engine) -> dict[str, list]:
    state = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            # An API key's last_used_at is authentication bookkeeping, written off the request.
            columns = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "last_used_at")
            rows = conn.execute(text(f'SELECT {columns} FROM "{table.name}"')).all()
            state[table.name] = sorted(map(repr, rows))
    return state


def test_simulation_reports_counts_and_changes_and_writes_nothing(client, api_key, engine):
    seed(engine)
    headers = api_key("revops")
    before = _table_state(engine)
    r = client.post("/api/v1/rules/simulate", json={"rules": [BETA_WARN]}, headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["processed"] == result["total"] == 3  # closed deals left out by default
    assert result["before"] == {"clear": 2, "warning": 0, "blocked": 1}
    assert result["after"] == {"clear": 1, "warning": 1, "blocked": 1}
    assert result["rules_after"] == ["never-sold", "beta-sold"]
    assert result["changed"] == 1
    [deal] = result["deals"]
    assert (deal["deal_id"], deal["before"], deal["after"]) == ("d-ai", "clear", "warning")
    assert deal["findings_after"][0]["rule_id"] == "beta-sold"

    # Switching the current rule off in the draft set, drafts alone, and closed deals included.
    r = client.post(
        "/api/v1/rules/simulate",
        json={
            "rules": [{**NEVER, "enabled": False}],
            "include_closed": True,
            "only_changed": False,
            "limit": 2,
            "offset": 1,
        },  # fmt: skip
        headers=headers,
    ).json()
    assert r["total"] == 4 and r["after"] == {"clear": 4, "warning": 0, "blocked": 0}
    assert r["matching"] == 4 and len(r["deals"]) == 2
    assert _table_state(engine) == before


def test_a_draft_that_changes_nothing_changes_no_deal(client, api_key, engine):
    """A draft of a stored rule is compared by what the rep would see: an unchanged copy, or
    one with only a new description, changes no deal (its version alone made every finding of
    the rule "changed"); a new message does, on the deals the rule fires on."""
    seed(engine)
    headers = api_key("revops")
    for draft in (NEVER, {**NEVER, "description": "reworded"}):
        r = client.post("/api/v1/rules/simulate", json={"rules": [draft]}, headers=headers)
        assert r.status_code == 200, r.text
        assert (r.json()["changed"], r.json()["findings_changed"], r.json()["deals"]) == (0, 0, [])
    reworded = {**NEVER, "enabled": True, "message": "{feature.name} is not on the roadmap."}
    r = client.post("/api/v1/rules/simulate", json={"rules": [reworded]}, headers=headers).json()
    assert (r["changed"], r["findings_changed"]) == (0, 1)
    [deal] = r["deals"]
    assert deal["deal_id"] == "d-offline"
    assert [f["rule_version"] for f in deal["findings_before"]] == [1]
    assert [f["rule_version"] for f in deal["findings_after"]] == [2]  # as it would be saved


def test_simulation_of_posted_snapshots_and_bad_drafts(client, api_key, engine):
    seed(engine)
    headers = api_key("revops")
    posted = [
        _snapshot("x1", "SKU-ai").model_dump(mode="json"),
        _snapshot("x2", "SKU-sso").model_dump(mode="json"),
    ]
    r = client.post(
        "/api/v1/rules/simulate",
        json={"rules": [BETA_WARN], "base": "none", "snapshots": posted},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["after"] == {"clear": 1, "warning": 1, "blocked": 0}
    assert [d["deal_id"] for d in r.json()["deals"]] == ["x1"]

    r = client.post(
        "/api/v1/rules/simulate",
        json={"rules": [{**BETA_WARN, "severity": "loud"}], "snapshots": [{"crm": "t"}]},
        headers=headers,
    )
    assert r.status_code == 422
    locs = {tuple(e["loc"][:4]) for e in r.json()["detail"]}
    assert ("body", "rules", 0, "severity") in locs
    assert ("body", "snapshots", 0, "deal_id") in locs
    assert (
        client.post("/api/v1/rules/simulate", json={}, headers=api_key("viewer")).status_code == 403
    )
    # the same deal posted twice was counted twice (processed 2, listed twice)
    r = client.post(
        "/api/v1/rules/simulate",
        json={"rules": [BETA_WARN], "snapshots": [posted[0], posted[1], posted[0]]},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["error"]["details"]
    assert error["path"] == "snapshots"
    assert error["msg"] == (
        "snapshots[2] repeats snapshots[0] (crm 'test', deal_id 'x1'): post each deal once"
    )


def test_posted_snapshots_take_the_test_crms_shorthand_and_a_known_crm(client, api_key, engine):
    """The deal as the test CRM takes it (stage as its id, line items without ids) is
    simulated as it is; a misspelt CRM is refused at its path, with the one meant."""
    seed(engine)
    headers = api_key("revops")
    deal = {
        "crm": "test",
        "deal_id": "typed",
        "name": "Typed",
        "stage": "negotiation",
        "close_date": "2026-12-31",
        "line_items": [{"name": "Add-on", "sku": "SKU-ai"}, {"name": "Other", "sku": "none"}],
        "notes": [{"body": "Called them."}],
    }
    body = {"rules": [BETA_WARN], "base": "none", "snapshots": [deal]}
    r = client.post("/api/v1/rules/simulate", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["after"] == {"clear": 0, "warning": 1, "blocked": 0}
    body["snapshots"] = [{**deal, "crm": "hubspt"}]
    r = client.post("/api/v1/rules/simulate", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["path"] == "snapshots[0].crm"
    assert r.json()["error"]["details"][0]["msg"] == (
        "unknown CRM 'hubspt'; did you mean 'hubspot'? (one of: hubspot, salesforce, test)"
    )
    # the test CRM still takes its shorthand
    r = client.put("/api/v1/test-crm/deals/T-1", json=deal | {"deal_id": None}, headers=headers)
    assert r.status_code == 202, r.text


def test_drafts_with_one_id_are_refused_and_unnamed_drafts_get_ids_of_their_own(
    client, api_key, engine
):
    seed(engine)
    headers = api_key("revops")
    r = client.post(
        "/api/v1/rules/simulate",
        json={"rules": [BETA_WARN, {**BETA_WARN, "severity": "block"}], "base": "none"},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["error"]["details"]
    assert (error["path"], error["msg"]) == (
        "rules[1].id",
        f"'{BETA_WARN['id']}' repeats rules[0].id: each draft needs its own id",
    )

    unnamed = {k: v for k, v in BETA_WARN.items() if k != "id"}
    r = client.post(
        "/api/v1/rules/simulate",
        json={"rules": [unnamed, {**BETA_WARN, "id": "draft-1"}, unnamed], "base": "none"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["rules_after"] == ["draft-2", "draft-1", "draft-3"]


def test_an_unnamed_draft_never_takes_a_stored_rules_id_and_a_draft_carries_its_next_version(
    client, api_key, engine
):
    """A stored rule may be called `draft-1` (a rule named "Draft 1"): an unnamed draft gets an
    id no stored rule has, so it is added beside that rule instead of silently replacing it.
    A draft of a switched-off rule carries the version a PUT of it would make."""
    seed(engine)
    headers = api_key("revops")
    r = client.post("/api/v1/rules", json={**NEVER, "id": "draft-1"}, headers=headers)
    assert r.status_code == 201, r.text
    unnamed = {k: v for k, v in BETA_WARN.items() if k != "id"}
    r = client.post("/api/v1/rules/simulate", json={"rules": [unnamed]}, headers=headers).json()
    assert r["rules_after"] == ["draft-1", "never-sold", "draft-2"]
    assert (r["before"], r["after"]) == (
        {"clear": 2, "warning": 0, "blocked": 1},
        {"clear": 1, "warning": 1, "blocked": 1},
    )
    assert client.put("/api/v1/rules/never-sold", json=NEVER, headers=headers).status_code == 200
    r = client.post("/api/v1/rules/never-sold/disable", headers=headers)
    assert r.json()["version"] == 3
    reworded = {**NEVER, "enabled": True, "message": "{feature.name} is not on the roadmap."}
    r = client.post(
        "/api/v1/rules/simulate", json={"rules": [reworded], "only_changed": False}, headers=headers
    ).json()
    versions = {f["rule_version"] for d in r["deals"] for f in d["findings_after"]
                if f["rule_id"] == "never-sold"}  # fmt: skip
    saved = client.put("/api/v1/rules/never-sold", json=reworded, headers=headers).json()
    assert versions == {saved["version"]} == {4}


def test_a_draft_without_enabled_keeps_a_stored_rule_on_or_off_as_a_put_would(
    client, api_key, engine
):
    """Rewording a switched-off rule: the simulation keeps it off (a PUT of the same body
    does), so it predicts no change; "enabled": true in the draft switches it on."""
    seed(engine)
    headers = api_key("revops")
    assert client.post("/api/v1/rules/never-sold/disable", headers=headers).status_code == 200
    reworded = {**NEVER, "message": "{feature.name} is not on the roadmap."}
    r = client.post("/api/v1/rules/simulate", json={"rules": [reworded]}, headers=headers).json()
    assert (r["before"], r["after"], r["changed"]) == (
        {"clear": 3, "warning": 0, "blocked": 0},
        {"clear": 3, "warning": 0, "blocked": 0},
        0,
    )
    assert "never-sold" not in r["rules_after"]
    on = {**reworded, "enabled": True}
    r = client.post("/api/v1/rules/simulate", json={"rules": [on]}, headers=headers).json()
    assert r["after"]["blocked"] == 1 and "never-sold" in r["rules_after"]
    saved = client.put("/api/v1/rules/never-sold", json=reworded, headers=headers).json()
    assert saved["enabled"] is False


def test_streamed_simulation_reports_progress_then_result(client, api_key, engine, monkeypatch):
    from app.services import simulate

    monkeypatch.setattr(simulate, "CHUNK", 1)  # one progress line per deal
    seed(engine)
    headers = api_key("revops")
    before = _table_state(engine)
    with client.stream(
        "POST", "/api/v1/rules/simulate?stream=true", json={"rules": [BETA_WARN]}, headers=headers
    ) as r:
        assert r.headers["content-type"].startswith("application/x-ndjson")
        events = [json.loads(line) for line in r.iter_lines() if line]
    assert events[:-1] == [
        {"type": "progress", "processed": done, "total": 3} for done in (0, 1, 2, 3)
    ]
    assert events[-1]["type"] == "result" and events[-1]["result"]["changed"] == 1
    assert _table_state(engine) == before


@pytest.mark.parametrize("posted", [False, True], ids=["stored", "posted"])
def test_progress_is_reported_after_each_chunk(engine, posted):
    from app.services.simulate import SimulateRequest, run_simulation

    seed(engine)
    snapshots = [_snapshot(f"p{n}", "SKU-ai") for n in range(3)] if posted else None
    request = SimulateRequest.model_validate(
        {"rules": [BETA_WARN], "snapshots": snapshots and [s.model_dump() for s in snapshots]}
    )
    seen: list[tuple[int, int]] = []
    with Session(engine) as s:
        result = run_simulation(
            s, request, progress=lambda done, total: seen.append((done, total)), chunk_size=2
        )
        s.rollback()
    assert seen == [(0, 3), (2, 3), (3, 3)]  # before the first deal, after each chunk of two
    assert result.processed == 3


def test_cli_simulate_prints_counts(sqlite_engine, tmp_path, monkeypatch, capsys):
    from app.cli import main
    from app.settings import get_settings

    seed(sqlite_engine)
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps([BETA_WARN]))
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        assert main(["rules", "simulate", "--file", str(draft)]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr()
    assert "deals: 3, changed verdict: 1" in out.out
    assert "warning" in out.out and "test/d-ai" in out.out
    assert "simulating" in out.err  # the tqdm bar

    draft.write_text(json.dumps([{"name": "x"}]))
    get_settings.cache_clear()
    try:
        assert main(["rules", "simulate", "--file", str(draft)]) == 2
    finally:
        get_settings.cache_clear()
    assert "rules[0].severity: Field required" in capsys.readouterr().err


def test_cli_simulate_takes_one_rule_a_bom_and_says_what_is_wrong_as_the_api_does(
    sqlite_engine, tmp_path, monkeypatch, capsys
):
    from app.cli import main
    from app.settings import get_settings

    seed(sqlite_engine)
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    draft = tmp_path / "draft.json"

    def run(content: bytes, *extra: str) -> int:
        draft.write_bytes(content)
        get_settings.cache_clear()
        try:
            return main(["rules", "simulate", "--file", str(draft), *extra])
        finally:
            get_settings.cache_clear()

    # one rule object, as the docs show a rule
    assert run(json.dumps(BETA_WARN).encode()) == 0
    assert "deals: 3, changed verdict: 1" in capsys.readouterr().out
    # a list saved by a Windows editor, with a byte order mark
    assert run(b"\xef\xbb\xbf" + json.dumps([BETA_WARN]).encode()) == 0
    assert "deals: 3, changed verdict: 1" in capsys.readouterr().out
    # not an object, with --base: one line, no traceback
    assert run(b'"x"', "--base", "none") == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"error: {draft} holds a JSON string; expected a rule definition, a list of them, or "
        "a simulate request object"
    )
    # paths and hints as the API gives them
    assert run(json.dumps({"rules": [{**BETA_WARN, "severty": "x"}], "bse": "none"}).encode()) == 2
    err = capsys.readouterr().err.splitlines()
    assert "rules[0].severty: Extra inputs are not permitted; did you mean 'severity'?" in err
    assert "bse: Extra inputs are not permitted; did you mean 'base'?" in err


def test_a_draft_with_a_deleted_rules_id_is_refused_as_creating_it_is(client, api_key, engine):
    seed(engine)
    headers = api_key("revops")
    assert client.post("/api/v1/rules", json=BETA_WARN, headers=headers).status_code == 201
    assert client.delete("/api/v1/rules/beta-sold", headers=headers).status_code == 200
    said = "rule 'beta-sold' was deleted (restore it with POST /api/v1/rules/beta-sold/restore)"
    body = {"rules": [NEVER, BETA_WARN]}
    for stream in ("false", "true"):
        r = client.post(f"/api/v1/rules/simulate?stream={stream}", json=body, headers=headers)
        assert r.status_code == 422, r.text
        [error] = r.json()["error"]["details"]
        assert (error["path"], error["msg"]) == ("rules[1].id", f"{said}, or choose another id")
    r = client.post("/api/v1/rules", json=BETA_WARN, headers=headers)
    assert r.status_code == 409
    assert r.json()["error"]["message"].startswith(said)


def test_cli_simulate_refuses_a_deleted_rules_id_in_one_line(
    sqlite_engine, tmp_path, monkeypatch, capsys
):
    from app.cli import main
    from app.settings import get_settings

    seed(sqlite_engine)
    with Session(sqlite_engine) as s:
        s.get(Rule, "never-sold").deleted_at = utcnow()
        s.commit()
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(NEVER))
    monkeypatch.setenv("DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        assert main(["rules", "simulate", "--file", str(draft)]) == 2
    finally:
        get_settings.cache_clear()
    assert capsys.readouterr().err.splitlines()[-1] == (
        "rules[0].id: rule 'never-sold' was deleted (restore it with POST "
        "/api/v1/rules/never-sold/restore), or choose another id"
    )


@pytest.fixture(autouse=True)
def _no_db_env(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)


LATE_FOR_PROMISE = {
    "id": "late-for-promise",
    "name": "Ships after the promised date",
    "severity": "block",
    "when": {
        "field": "feature.target_date",
        "op": "after",
        "value": {"field": "reference.promised_date"},
    },
    "message": "{feature.name} ships after {reference.promised_date}.",
}


@pytest.mark.parametrize(("fiscal_start", "verdict"), [(1, "blocked"), (2, "clear")])
def test_notes_are_read_in_the_configured_fiscal_year(
    make_app, api_key, engine, monkeypatch, fiscal_start, verdict
):
    """FISCAL_YEAR_START_MONTH reaches note reading: "by Q3" written on 2026-11-25 is
    2027-09-30 in a calendar year, and 2027-10-31 with a February start (Aug-Oct)."""
    from datetime import UTC, datetime

    after = _simulate_one_note(
        lambda: make_app(fiscal_year_start_month=fiscal_start),
        api_key,
        engine,
        monkeypatch,
        "We promised SCIM by Q3.",
        written=datetime(2026, 11, 25, tzinfo=UTC),
        target=date(2027, 10, 15),
    )
    assert after[verdict] == 1


@pytest.mark.parametrize(
    ("zone", "verdict"), [("UTC", "clear"), ("America/Los_Angeles", "blocked")]
)
def test_notes_are_dated_in_the_business_timezone(
    make_app, api_key, engine, monkeypatch, zone, verdict
):
    """BUSINESS_TIMEZONE reaches note reading: "next quarter" written at 7 pm on 31 March in
    Los Angeles (02:00 on 1 April UTC) is Q2, ending 2027-06-30, before SCIM's target date of
    2027-08-15 (blocked); read as 1 April it would be Q3, ending 2027-09-30 (clear)."""
    from datetime import UTC, datetime

    after = _simulate_one_note(
        lambda: make_app(business_timezone=zone),
        api_key,
        engine,
        monkeypatch,
        "We'll have SCIM for them next quarter.",
        written=datetime(2027, 4, 1, 2, 0, tzinfo=UTC),
        target=date(2027, 8, 15),
    )
    assert after[verdict] == 1


def _simulate_one_note(new_app, api_key, engine, monkeypatch, body, *, written, target) -> dict:
    """The draft LATE_FOR_PROMISE's verdict counts on one snapshot with one note, `body`,
    written at `written`, about SCIM (coming soon, target date `target`), in the app `new_app`
    builds (after the note-reading settings are saved: building it sets them)."""
    from fastapi.testclient import TestClient

    from app.rules.model import Note
    from app.services import catalog as catalog_service

    # `configure` sets both when the app starts: restored afterwards
    monkeypatch.setattr(catalog_service, "_fiscal_year_start", None)
    monkeypatch.setattr(catalog_service, "_business_timezone", None)
    with Session(engine) as s:
        features_service.create_feature(
            s,
            features_service.FeatureCreate(
                key="scim", name="SCIM", availability="coming_soon", target_date=target
            ),
            actor="t",
        )
        s.commit()
    note = Note(id="n1", body=body, created_at=written)
    snap = DealSnapshot(crm="test", deal_id="fy", stage=Stage(id="s"), notes=[note])
    with TestClient(new_app()) as client:
        r = client.post(
            "/api/v1/rules/simulate",
            json={
                "rules": [LATE_FOR_PROMISE],
                "base": "none",
                "snapshots": [snap.model_dump(mode="json")],
            },
            headers=api_key("revops"),
        )
    assert r.status_code == 200, r.text
    return r.json()["after"]


def test_a_number_for_today_is_refused_not_read_as_unix_time(client, api_key):
    r = client.post(
        "/api/v1/rules/simulate", json={"today": 0, "rules": []}, headers=api_key("revops")
    )
    assert r.status_code == 422, r.text
    error = r.json()["detail"][0]
    assert error["loc"] == ["body", "today"] and "YYYY-MM-DD" in error["msg"]


def test_a_deal_queued_but_not_read_yet_is_not_counted_in_the_total(client, api_key, engine):
    """A deal a webhook queued but no worker has read has no snapshot: `total` counted it and
    `processed` could never reach `total` (the progress read as stuck short of the end)."""
    seed(engine)
    with Session(engine) as s:
        s.add(Deal(crm="test", deal_id="d-queued"))  # tracked, never read
        s.commit()
    r = client.post(
        "/api/v1/rules/simulate", json={"rules": [BETA_WARN]}, headers=api_key("revops")
    )
    assert r.status_code == 200, r.text
    assert r.json()["processed"] == r.json()["total"] == 3
