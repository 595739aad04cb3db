"""A database that cannot be reached answers 503 on every route, saying so, as the webhook
routes do; a statement the code got wrong is still a 500."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app.db import make_engine


@contextmanager
def _database(app, url: str):
    """The app's requests go to `url` meanwhile (the lifespan's own engine is kept)."""
    saved = app.state.engine
    outage = make_engine(url)
    app.state.engine = outage
    try:
        yield
    finally:
        app.state.engine = saved
        outage.dispose()


def _closed_port_url() -> str:
    return "postgresql://postgres@127.0.0.1:1/nothing?connect_timeout=2"


@pytest.mark.parametrize("where", ["postgresql", "sqlite"])
def test_every_route_answers_503_with_the_database_as_reason_while_it_is_unreachable(
    client, app, api_key, tmp_path, where
):
    admin = api_key("admin")
    assert client.get("/api/v1/queue", headers=admin).status_code == 200  # the key is cached
    (tmp_path / "a-dir").mkdir()  # a directory cannot be opened as the database file
    url = _closed_port_url() if where == "postgresql" else f"sqlite:///{tmp_path / 'a-dir'}"
    with _database(app, url):
        answers = [
            client.get("/api/v1/queue", headers=admin),
            client.get("/api/v1/features", headers=admin),
            client.patch("/api/v1/features/sso", json={"name": "SSO"}, headers=admin),
            client.post(
                "/api/v1/features",
                json={"key": "sso", "name": "Single sign-on", "availability": "available"},
                headers=admin,
            ),
            # a key not cached: the outage meets the key lookup itself
            client.get("/api/v1/queue", headers={"Authorization": "Bearer rg_not_cached"}),
        ]
        for r in answers:
            assert r.status_code == 503, (r.request.url, r.text)
            error = r.json()["error"]
            assert error["code"] == "unavailable"
            assert error["message"].startswith("database unavailable")
            assert error["details"]["reason"] == "database_unavailable"
            assert r.headers["Retry-After"] == "5"
        assert client.get("/readyz").status_code == 503
    assert client.get("/api/v1/queue", headers=admin).status_code == 200  # back


def test_a_statement_the_code_got_wrong_is_still_a_500_not_a_503(app, api_key, tmp_path):
    admin = api_key("admin")
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/api/v1/queue", headers=admin).status_code == 200
        # a database without the tables: "no such table" is an OperationalError on SQLite
        with _database(app, f"sqlite:///{tmp_path / 'empty.db'}"):
            r = c.get("/api/v1/queue", headers=admin)
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "internal"


def test_database_unavailable_tells_connection_failures_from_programming_errors():
    import sqlite3

    from sqlalchemy.exc import OperationalError, ProgrammingError

    from app.errors import database_unavailable

    def op(orig, statement="SELECT 1", invalidated=False):
        return OperationalError(statement, {}, orig, connection_invalidated=invalidated)

    assert database_unavailable(op(sqlite3.OperationalError("unable to open database file")))
    assert database_unavailable(op(sqlite3.OperationalError("database is locked")))
    assert not database_unavailable(op(sqlite3.OperationalError("no such table: deal")))
    assert database_unavailable(op(sqlite3.OperationalError("no such table"), invalidated=True))
    assert database_unavailable(op(RuntimeError("refused"), statement=None))  # connecting
    assert not database_unavailable(
        ProgrammingError("SELECT nope", {}, sqlite3.ProgrammingError("syntax"))
    )
    assert not database_unavailable(ValueError("not the database"))
