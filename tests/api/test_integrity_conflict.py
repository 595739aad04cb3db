"""The backstop: a database constraint violation that escapes a request answers 409 with the
usual error body, never 500, and nothing the request wrote is kept."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.api.deps import SessionDep
from app.models import AuditLog, RuleVersion
from app.services import audit


def _duplicate_versions(session: SessionDep, *, flush: bool) -> dict:
    audit.record(session, actor="tests", action="test.write", entity_type="test", entity_id="x")
    for _ in range(2):  # the same (rule_id, version) twice: uq_rule_version
        session.add(RuleVersion(rule_id="r", version=1, definition={}, actor="tests"))
    if flush:
        session.flush()  # raised in the handler
    return {"ok": True}  # else raised by the request's commit


@pytest.fixture
def raw_client(app):
    def in_handler(session: SessionDep) -> dict:
        return _duplicate_versions(session, flush=True)

    def at_commit(session: SessionDep) -> dict:
        return _duplicate_versions(session, flush=False)

    app.add_api_route("/test/conflict-in-handler", in_handler, methods=["POST"])
    app.add_api_route("/test/conflict-at-commit", at_commit, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    "where",
    ["in-handler", "at-commit"],  # at-commit: the commit runs before the answer
)
def test_constraint_violation_is_a_409_and_writes_nothing(raw_client, engine, where):
    r = raw_client.post(f"/test/conflict-{where}")
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "conflict"
    assert "nothing was written" in error["message"]
    constraint = error["details"]["constraint"]
    assert constraint in ("uq_rule_version", "rule_version.rule_id, rule_version.version")
    assert constraint in error["message"]
    with Session(engine) as s:
        assert s.exec(select(AuditLog)).all() == []
        assert s.exec(select(RuleVersion)).all() == []
