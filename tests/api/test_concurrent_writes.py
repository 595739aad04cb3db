"""Parallel writes of the same thing: each answers 200/201 or 409, never 500, and what is stored
stays whole (consecutive rule versions, one mapping per product, unique rule ids).

Each test sends its requests from threads at once; a delay after every read of the contested
table holds each request between its check and its insert, so without row locks or conflict
handling they would all pass the check and collide on the insert.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.models import AuditLog, ProductMapping, Rule, RuleVersion

PARALLEL = 10
RULE = {
    "id": "never-built",
    "name": "Never built",
    "severity": "block",
    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
    "message": "{feature.name} will never be built.",
}


@pytest.fixture
def raw_client(app) -> Iterator[TestClient]:
    """A client that answers 500 instead of raising the server's exception in the test."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@contextmanager
def slow_reads(engine: Engine, table: str, seconds: float = 0.05) -> Iterator[None]:
    """Every SELECT from `table` takes `seconds` longer: the window between a request's check
    and its write is wide enough for every parallel request to be inside it."""

    def delay(_conn, _cursor, statement: str, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table}" in statement:
            time.sleep(seconds)

    event.listen(engine, "after_cursor_execute", delay)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", delay)


def in_parallel(send: Callable[[int], object], n: int = PARALLEL) -> list:
    start = threading.Barrier(n)

    def go(i: int):
        start.wait()
        return send(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def _versions(engine: Engine, rule_id: str) -> list[int]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(RuleVersion.version)
                .where(RuleVersion.rule_id == rule_id)
                .order_by(RuleVersion.version)
            )
        )


def test_identical_parallel_rule_puts_make_one_version(raw_client, api_key, engine):
    revops = api_key("revops")
    assert raw_client.post("/api/v1/rules", json=RULE, headers=revops).status_code == 201
    changed = {**RULE, "severity": "warning"}
    with slow_reads(engine, "rule"):
        answers = in_parallel(
            lambda _: raw_client.put("/api/v1/rules/never-built", json=changed, headers=revops)
        )
    assert [r.status_code for r in answers] == [200] * PARALLEL, [r.text for r in answers]
    assert {r.json()["version"] for r in answers} == {2}
    assert _versions(engine, "never-built") == [1, 2]


def test_different_parallel_rule_edits_each_get_the_next_version(raw_client, api_key, engine):
    """The version bump is serialized on the rule row: every edit lands, none is lost."""
    revops = api_key("revops")
    assert raw_client.post("/api/v1/rules", json=RULE, headers=revops).status_code == 201

    def edit(i: int):
        body = {**RULE, "message": f"edit {i}: {{feature.name}} will never be built."}
        return raw_client.put("/api/v1/rules/never-built", json=body, headers=revops)

    with slow_reads(engine, "rule"):
        answers = in_parallel(edit)
    assert [r.status_code for r in answers] == [200] * PARALLEL, [r.text for r in answers]
    assert sorted(r.json()["version"] for r in answers) == list(range(2, PARALLEL + 2))
    assert _versions(engine, "never-built") == list(range(1, PARALLEL + 2))
    with Session(engine) as s:
        rule = s.get(Rule, "never-built")
        updates = s.exec(select(AuditLog).where(AuditLog.action == "rule.update")).all()
    assert rule.version == PARALLEL + 1
    # Each audit entry's before is the version the previous edit wrote.
    assert sorted((a.before["version"], a.after["version"]) for a in updates) == [
        (v, v + 1) for v in range(1, PARALLEL + 1)
    ]


def test_parallel_identical_rule_creates_without_id_create_one(raw_client, api_key, engine):
    """The same rule posted several times at once without an id (a client retrying) is one
    rule: the others are 409s (one rule twice doubled every finding, abda775)."""
    revops = api_key("revops")
    no_id = {k: v for k, v in RULE.items() if k != "id"}
    with slow_reads(engine, "rule"):
        answers = in_parallel(
            lambda _: raw_client.post("/api/v1/rules", json=no_id, headers=revops)
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * (PARALLEL - 1), [r.text for r in answers]
    created = sorted(r.json()["id"] for r in answers if r.status_code == 201)
    with Session(engine) as s:
        stored = sorted(s.exec(select(Rule.id)))
        versions = s.exec(select(RuleVersion.rule_id, RuleVersion.version)).all()
    assert stored == created
    assert sorted(versions) == [(rule_id, 1) for rule_id in created]


def test_parallel_rule_creates_with_one_id_create_one(raw_client, api_key, engine):
    revops = api_key("revops")
    with slow_reads(engine, "rule"):
        answers = in_parallel(lambda _: raw_client.post("/api/v1/rules", json=RULE, headers=revops))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * (PARALLEL - 1), [r.text for r in answers]
    refused = [r.json()["error"] for r in answers if r.status_code == 409]
    assert all("never-built" in e["message"] for e in refused), refused
    assert _versions(engine, "never-built") == [1]


def test_parallel_mapping_creates_for_one_sku_create_one(raw_client, api_key, engine):
    revops = api_key("revops")
    r = raw_client.post("/api/v1/features", json={"key": "sso", "name": "SSO"}, headers=revops)
    assert r.status_code == 201
    body = {"match_kind": "sku", "match_value": "ENT-SSO", "feature_keys": ["sso"]}
    with slow_reads(engine, "product_mapping"):
        answers = in_parallel(
            lambda _: raw_client.post("/api/v1/mappings", json=body, headers=revops)
        )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * (PARALLEL - 1), [r.text for r in answers]
    (winner,) = [r.json()["mapping"]["id"] for r in answers if r.status_code == 201]
    for r in answers:
        if r.status_code == 409:
            assert r.json()["error"]["details"]["existing"]["id"] == winner, r.text
    with Session(engine) as s:
        assert [m.id for m in s.exec(select(ProductMapping))] == [winner]
        creates = s.exec(select(AuditLog).where(AuditLog.action == "mapping.create")).all()
    assert len(creates) == 1


def test_while_the_sqlite_write_slot_is_held_a_write_gets_503_and_a_simulation_runs(
    raw_client, api_key, engine, monkeypatch
):
    """A large import holds SQLite's one write slot for a minute: another write waiting past
    the limit answers 503 with Retry-After and writes nothing (it was a 500), and a
    simulation, which writes nothing, needs no slot at all (it waited and failed too)."""
    from app import db

    if engine.dialect.name != "sqlite":
        pytest.skip("the process-wide write slot exists on SQLite only")
    monkeypatch.setattr(db, "WRITE_LOCK_TIMEOUT", 0.2)
    revops = api_key("revops")
    holding, release = threading.Event(), threading.Event()

    def hold_the_slot() -> None:
        with Session(engine) as s:
            s.connection()  # BEGIN IMMEDIATE: takes the process's write slot
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    try:
        assert holding.wait(5)
        r = raw_client.post("/api/v1/rules", json=RULE, headers=revops)
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"] == "5"
        assert r.json()["error"]["code"] == "unavailable"
        assert "nothing was written: retry" in r.json()["error"]["message"]
        sim = raw_client.post("/api/v1/rules/simulate", json={"rules": [RULE]}, headers=revops)
        assert sim.status_code == 200, sim.text
    finally:
        release.set()
        holder.join(10)
    with Session(engine) as s:
        assert s.exec(select(Rule).where(Rule.id == "never-built")).first() is None
    assert raw_client.post("/api/v1/rules", json=RULE, headers=revops).status_code == 201
