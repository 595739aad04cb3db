"""API keys through the admin API: shown once, listed without secrets, revocable, audited."""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.logging import configure_logging
from app.models import ApiKey, AuditLog


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
    mine = next(k for k in listed if k["id"] == created["id"])
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
    ):
        assert client.post("/api/v1/admin/api-keys", json=bad, headers=admin).status_code == 422
