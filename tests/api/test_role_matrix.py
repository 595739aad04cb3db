"""Every /api route × every role, and no key: 401 without a key, 403 for a role the route does
not declare, anything else for a role it does. Routes added later are covered automatically."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.main import create_app
from app.security import Role, create_api_key
from app.settings import Settings


def _allowed_roles(dependant) -> frozenset[Role] | None:
    """The `allowed_roles` of the require_roles checker somewhere in the dependency tree."""
    found = getattr(dependant.call, "allowed_roles", None)
    if found is not None:
        return found
    for sub in dependant.dependencies:
        found = _allowed_roles(sub)
        if found is not None:
            return found
    return None


def _api_routes(app) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every /api route, through included routers too."""
    try:  # FastAPI >= 0.16x keeps included routers lazily; this flattens them
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        pairs = [(getattr(r, "path", ""), r) for r in app.routes]
    else:
        pairs = [(c.path or "", c.original_route) for c in iter_route_contexts(app.routes)]
    return [
        (method, path, route)
        for path, route in pairs
        if isinstance(route, APIRoute) and path.startswith("/api")
        for method in sorted(route.methods - {"HEAD", "OPTIONS"})
    ]


def _concrete(path: str) -> str:
    # Parses as every path parameter type we use (int ids, string keys) and names nothing that
    # exists, so the matrix's own requests (e.g. revoke key N) cannot disturb it.
    return re.sub(r"\{[^}]+\}", "999999", path)


@pytest.fixture
def matrix_app(sqlite_engine):
    settings = Settings(
        _env_file=None,
        database_url=str(sqlite_engine.url),
        worker_mode="off",
        install_default_rules=False,
        log_format="console",
    )
    return create_app(settings=settings, engine=sqlite_engine, connectors={})


def test_every_api_route_declares_and_enforces_its_roles(matrix_app, sqlite_engine):
    routes = _api_routes(matrix_app)
    assert any(p == "/api/v1/queue" for _m, p, _r in routes), "route discovery is broken"
    undeclared = [f"{m} {p}" for m, p, r in routes if _allowed_roles(r.dependant) is None]
    assert undeclared == [], f"/api routes without a require_roles dependency: {undeclared}"

    keys = {}
    with Session(sqlite_engine) as s:
        for role in Role:
            _, keys[role] = create_api_key(
                s, name=f"matrix-{role.value}", role=role, created_by="t"
            )
        s.commit()

    failures = []
    with TestClient(matrix_app, raise_server_exceptions=False) as client:
        for method, template, route in routes:
            allowed = _allowed_roles(route.dependant)
            assert Role.admin in allowed, f"{method} {template}: admin must always be allowed"
            path = _concrete(template)
            status = client.request(method, path, json={}).status_code
            if status != 401:
                failures.append(f"{method} {template} without a key: {status}, expected 401")
            for role in Role:
                headers = {"Authorization": f"Bearer {keys[role]}"}
                status = client.request(method, path, json={}, headers=headers).status_code
                if role in allowed and status in (401, 403):
                    failures.append(f"{method} {template} as {role.value}: {status}, allowed")
                if role not in allowed and status != 403:
                    failures.append(f"{method} {template} as {role.value}: {status}, expected 403")
    assert failures == []
