"""API keys through the admin API: shown once, listed without secrets, revocable, audited."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from app.api.deps import ApiKeyCache, wait_for_touches
from app.errors import Conflict
from app.logging import configure_logging
from app.models import ApiKey, AuditLog, utcnow
from app.security import Role, create_api_key, touch


@pytest.fixture
def client(make_app):
    with TestClient(make_app(connectors={})) as c:
        yield c


@pytest.fixture
def captured_logs(settings):
    """Every log line of the test, as JSON, in a buffer."""
    buffer = io.StringIO()
    configure_logging(settings.model_copy(update={"log_format": "json"}), stream=buffer)
    yield buffer
    configure_logging(settings)


def test_a_created_key_is_shown_once_works_and_is_never_listed_or_logged(
    client, api_key, engine, captured_logs
):
    admin = api_key("admin", name="root")
    response = client.post(
        "/api/v1/admin/api-keys", json={"name": "revops-bot", "role": "revops"}, headers=admin
    )
    assert response.status_code == 201
    created = response.json()
    key = created["key"]
    assert key.startswith("rg_") and created["role"] == "revops"

    as_revops = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/queue", headers=as_revops).status_code == 200

    listed = client.get("/api/v1/admin/api-keys", headers=admin).json()
    mine = next(k for k in listed["items"] if k["id"] == created["id"])
    assert mine["prefix"] == key[: len(mine["prefix"])]
    assert "key" not in mine and "key_hash" not in mine
    assert key not in json.dumps(listed)

    with Session(engine) as s:
        stored = s.get(ApiKey, created["id"])
        entry = s.exec(select(AuditLog).where(AuditLog.action == "api_key.create")).one()
    assert key not in stored.key_hash
    assert entry.actor == "admin:root" and key not in json.dumps(entry.after)

    logs = captured_logs.getvalue()
    assert '"path": "/api/v1/admin/api-keys"' in logs and '"request_id"' in logs
    assert key not in logs


@pytest.mark.parametrize("how", ["delete", "post"])
def test_a_revoked_key_is_refused_and_the_revocation_audited(client, api_key, engine, how):
    admin = api_key("admin")
    created = client.post(
        "/api/v1/admin/api-keys", json={"name": "temp", "role": "viewer"}, headers=admin
    ).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/queue", headers=headers).status_code == 200
    url = f"/api/v1/admin/api-keys/{created['id']}"
    revoked = (
        client.delete(url, headers=admin)
        if how == "delete"
        else client.post(f"{url}/revoke", headers=admin)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/api/v1/queue", headers=headers).status_code == 401
    with Session(engine) as s:
        entry = s.exec(select(AuditLog).where(AuditLog.action == "api_key.revoke")).one()
    assert entry.before["revoked_at"] is None and entry.after["revoked_at"] is not None
    assert client.delete("/api/v1/admin/api-keys/999999", headers=admin).status_code == 404
    # revoking again answers the key as it is, first time kept, and is audited once only
    for again in (client.delete(url, headers=admin), client.post(f"{url}/revoke", headers=admin)):
        assert again.status_code == 200
        assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    with Session(engine) as s:
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "api_key.revoke")).all()) == 1


def test_api_keys_are_listed_a_page_at_a_time(client, api_key):
    """The key list came back whole, unlike every other list: it pages the same way."""
    admin = api_key("admin")
    for n in range(4):
        body = {"name": f"bot-{n}", "role": "viewer"}
        assert client.post("/api/v1/admin/api-keys", json=body, headers=admin).status_code == 201
    whole = client.get("/api/v1/admin/api-keys?limit=500", headers=admin).json()
    ids = [k["id"] for k in whole["items"]]
    assert whole["total"] == len(ids) == 5 and ids == sorted(ids)
    page = client.get("/api/v1/admin/api-keys?limit=2&offset=3", headers=admin).json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 3)
    assert [k["id"] for k in page["items"]] == ids[3:5]
    for query, path in (("limit=0", "query.limit"), ("limit=501", "query.limit"),
                        ("offset=-1", "query.offset")):  # fmt: skip
        r = client.get(f"/api/v1/admin/api-keys?{query}", headers=admin)
        assert r.status_code == 422
        assert [d["path"] for d in r.json()["error"]["details"]] == [path]


def test_only_admins_manage_keys_and_bad_input_is_422(client, api_key):
    body = {"name": "x", "role": "revops"}
    assert client.post("/api/v1/admin/api-keys", json=body).status_code == 401
    assert (
        client.post("/api/v1/admin/api-keys", json=body, headers=api_key("revops")).status_code
        == 403
    )
    admin = api_key("admin")
    for bad in (
        {"name": "x", "role": "overlord"},
        {"role": "viewer"},
        {"name": "", "role": "viewer"},
        {"name": "  ", "role": "viewer"},
    ):
        assert client.post("/api/v1/admin/api-keys", json=bad, headers=admin).status_code == 422


def test_the_dashboard_cookie_authorizes_reads_only(client, api_key, engine):
    """A browser sends the cookie with requests other sites start (CSRF): it may read, and a
    change needs the key in a header."""
    admin = api_key("admin", name="dash")
    key = admin["Authorization"].removeprefix("Bearer ")
    client.cookies.set("rg_api_key", key)
    try:
        assert client.get("/api/v1/admin/api-keys").status_code == 200
        assert client.get("/api/v1/queue").status_code == 200

        body = {"name": "planted", "role": "admin"}
        refused = client.post("/api/v1/admin/api-keys", json=body)
        assert refused.status_code == 401
        assert "only authorizes reads" in refused.json()["error"]["message"]
        assert client.post("/api/v1/queue/replay-dead").status_code == 401
        assert client.delete("/api/v1/admin/api-keys/1").status_code == 401
        with Session(engine) as s:
            assert s.exec(select(ApiKey).where(ApiKey.name == "planted")).first() is None
            assert s.exec(select(AuditLog)).first() is None

        # With the key in a header the same write goes through (the cookie is irrelevant).
        assert client.post("/api/v1/admin/api-keys", json=body, headers=admin).status_code == 201
    finally:
        client.cookies.clear()


def _last_used(engine, name: str):
    wait_for_touches()  # the write happens off the request's path
    with Session(engine) as s:
        return s.exec(select(ApiKey).where(ApiKey.name == name)).one().last_used_at


def test_last_used_at_is_recorded_at_most_once_a_minute_per_key(client, api_key, engine):
    viewer = api_key("viewer", name="reader")
    assert _last_used(engine, "reader") is None

    started = utcnow()
    assert client.get("/api/v1/queue", headers=viewer).status_code == 200
    first = _last_used(engine, "reader")
    assert first is not None and first >= started - timedelta(seconds=1)

    for _ in range(3):  # within the minute: no more writes
        assert client.get("/api/v1/queue", headers=viewer).status_code == 200
    assert _last_used(engine, "reader") == first

    # A minute later (the stored time and this app's own throttle both aged), the next
    # request records it again, even one the key's role may not make.
    with Session(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.name == "reader")).one()
        row.last_used_at = first - timedelta(minutes=2)
        s.add(row)
        s.commit()
    client.app.state.api_key_touches.clear()
    assert client.post("/api/v1/queue/replay-dead", headers=viewer).status_code == 403
    again = _last_used(engine, "reader")
    assert again >= first

    listed = client.get("/api/v1/admin/api-keys", headers=api_key("admin")).json()
    shown = next(k for k in listed["items"] if k["name"] == "reader")["last_used_at"]
    assert datetime.fromisoformat(shown.replace("Z", "+00:00")) == again


def test_touch_writes_once_however_many_racers(engine, api_key):
    api_key("viewer", name="racer")
    with Session(engine) as s:
        key_id = s.exec(select(ApiKey).where(ApiKey.name == "racer")).one().id
        now = utcnow()
        assert touch(s, key_id, now) is True
        assert touch(s, key_id, now + timedelta(seconds=30)) is False  # within the interval
        assert touch(s, key_id, now + timedelta(seconds=61)) is True
        s.commit()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key_lookups(engine):
    """Every SELECT on api_key during the test (the authentication reads)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM api_key" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _revoke_elsewhere(engine, name: str) -> None:
    """As the CLI or another replica would: straight in the database."""
    with Session(engine) as s:
        row = s.exec(select(ApiKey).where(ApiKey.name == name)).one()
        row.revoked_at = utcnow()
        s.add(row)
        s.commit()


def test_a_key_is_read_from_the_database_once_per_cache_period(client, api_key, key_lookups):
    clock = _Clock()
    client.app.state.api_key_cache = ApiKeyCache(5.0, clock=clock)
    viewer = api_key("viewer", name="busy")
    lookups = key_lookups
    for _ in range(3):
        assert client.get("/api/v1/queue", headers=viewer).status_code == 200
    assert len(lookups) == 1
    clock.now += 5.0
    assert client.get("/api/v1/queue", headers=viewer).status_code == 200
    assert len(lookups) == 2
    # A wrong key is never remembered: each attempt is checked.
    wrong = {"Authorization": "Bearer rg_" + "x" * 43}
    for _ in range(2):
        assert client.get("/api/v1/queue", headers=wrong).status_code == 401
    assert len(lookups) == 4


def test_a_key_revoked_through_the_api_is_refused_at_once_though_cached(client, api_key, engine):
    client.app.state.api_key_cache = ApiKeyCache(300.0, clock=_Clock())
    admin = api_key("admin", name="boss")
    viewer = api_key("viewer", name="leaked")
    assert client.get("/api/v1/queue", headers=viewer).status_code == 200  # now cached
    with Session(engine) as s:
        key_id = s.exec(select(ApiKey).where(ApiKey.name == "leaked")).one().id
    assert client.delete(f"/api/v1/admin/api-keys/{key_id}", headers=admin).status_code == 200
    refused = client.get("/api/v1/queue", headers=viewer)
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]


def test_a_key_revoked_elsewhere_is_refused_when_the_cache_period_ends(client, api_key, engine):
    clock = _Clock()
    client.app.state.api_key_cache = ApiKeyCache(5.0, clock=clock)
    viewer = api_key("viewer", name="leaked")
    assert client.get("/api/v1/queue", headers=viewer).status_code == 200
    _revoke_elsewhere(engine, "leaked")
    clock.now += 4.9  # the documented window: still trusted by this process
    assert client.get("/api/v1/queue", headers=viewer).status_code == 200
    clock.now += 0.1
    assert client.get("/api/v1/queue", headers=viewer).status_code == 401


def test_with_the_cache_off_every_request_checks_the_database(make_app, api_key, engine):
    with TestClient(make_app(connectors={}, api_key_cache_seconds=0)) as client:
        viewer = api_key("viewer", name="leaked")
        assert client.get("/api/v1/queue", headers=viewer).status_code == 200
        _revoke_elsewhere(engine, "leaked")
        assert client.get("/api/v1/queue", headers=viewer).status_code == 401


def test_a_second_active_key_of_the_same_name_is_refused(client, api_key, engine):
    """Approvals say `approver: "dana"` and the audit `approver:dana`: two active keys called
    dana could not be told apart. A revoked key's name is free again."""
    admin = api_key("admin")
    first = client.post(
        "/api/v1/admin/api-keys", json={"name": "dana", "role": "approver"}, headers=admin
    ).json()
    for name in ("dana", " Dana ", "DANA"):
        r = client.post(
            "/api/v1/admin/api-keys", json={"name": name, "role": "viewer"}, headers=admin
        )
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert f"id {first['id']}, prefix {first['prefix']}" in error["message"]
        assert error["details"]["existing_key_id"] == first["id"]
        assert error["details"]["existing_prefix"] == first["prefix"]
    with Session(engine) as s:
        assert len(s.exec(select(ApiKey).where(ApiKey.name == "dana")).all()) == 1
    client.delete(f"/api/v1/admin/api-keys/{first['id']}", headers=admin)
    r = client.post(
        "/api/v1/admin/api-keys", json={"name": "Dana", "role": "approver"}, headers=admin
    )
    assert r.status_code == 201, r.text


def test_two_creates_of_one_name_at_once_leave_one_key(engine):
    """The name check and the insert are two statements: a second create that passed the
    check before the first committed is refused by the unique index, with the same 409."""
    with Session(engine) as s:
        first, _ = create_api_key(s, name="dana", role=Role.approver, created_by="a")
        s.commit()
        first_id = first.id
    with Session(engine) as s:  # as if its check ran before the first key was committed
        with pytest.raises(Conflict) as refused:
            create_api_key(s, name=" DANA ", role=Role.viewer, created_by="b")
        assert refused.value.details["existing_key_id"] == first_id
        s.commit()  # the session is still usable: the failed insert was rolled back alone
    with Session(engine) as s:
        names = [k.name for k in s.exec(select(ApiKey).where(ApiKey.revoked_at.is_(None)))]
        assert names.count("dana") == 1 and " DANA " not in names


def test_a_revoked_keys_name_is_free_again_from_the_cli_too(engine, monkeypatch, capsys):
    """Revoking from the CLI frees the name as the API does."""
    from app import cli

    with Session(engine) as s:
        row, _ = create_api_key(s, name="dana", role=Role.approver, created_by="a")
        s.commit()
        key_id = row.id
    monkeypatch.setattr(cli, "_engine", lambda _settings: engine)
    assert cli.main(["apikey", "revoke", str(key_id)]) == 0
    with Session(engine) as s:
        assert s.get(ApiKey, key_id).active_name is None
        create_api_key(s, name="Dana", role=Role.approver, created_by="a")
        s.commit()


def _share_a_name(engine, name: str, role: Role) -> dict[str, str]:
    """A key created before names were unique: active, sharing `name`, without active_name."""
    with Session(engine) as s:
        row, key = create_api_key(s, name=f"{name}-made-before", role=role, created_by="t")
        row.name, row.active_name = name, None
        s.add(row)
        s.commit()
    return {"Authorization": f"Bearer {key}"}


def test_keys_that_already_shared_a_name_keep_working(client, api_key, engine):
    """Keys duplicated before names were unique are not revoked or refused."""
    a, b = api_key("approver", name="dana"), _share_a_name(engine, "dana", Role.approver)
    for headers in (a, b):
        assert client.get("/api/v1/approvals", headers=headers).status_code == 200
    r = client.post(
        "/api/v1/admin/api-keys", json={"name": "dana", "role": "viewer"}, headers=api_key("admin")
    )
    assert r.status_code == 409


@pytest.mark.parametrize("name", ["x" * 201, "\u00df" * 150])  # ß folds to "ss": 300
def test_a_key_name_too_long_to_name_its_writes_is_refused(client, api_key, name):
    """A key's name becomes the actor "<role>:<name>" of everything it writes, in 255-character
    columns: a 250-character name was accepted, and then every write of that key failed on
    PostgreSQL with a 422 blaming the request body. Names are refused at creation beyond 200
    characters (case-folded too), with the field named."""
    admin = api_key("admin", name="root")
    r = client.post("/api/v1/admin/api-keys", json={"name": name, "role": "revops"}, headers=admin)
    assert r.status_code == 422, r.text
    assert [d["path"] for d in r.json()["error"]["details"]] == ["name"]
    ok = client.post(
        "/api/v1/admin/api-keys", json={"name": "r" * 200, "role": "engineering"}, headers=admin
    )
    assert ok.status_code == 201
    key = {"Authorization": f"Bearer {ok.json()['key']}"}
    assert client.get("/api/v1/features", headers=key).status_code == 200
