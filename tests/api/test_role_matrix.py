"""Every /api route × every role, and no key: 401 without a key, 403 for a role the route may
not serve, neither (and no 5xx) for a role it may.

Who may do what is written down here, in EXPECTED, as the product intends it (README "API
overview"): `admin` everything; `revops` writes rules, mappings, features, roadmap sources, the
queue and the test CRM; `engineering` and `viewer` read; `approver` approves and reads. Each
route's own `require_roles` declaration must equal its row, so a route declared with the wrong
roles fails here, and a route added without a row fails until someone decides who may call it.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.api.deps import allowed_roles
from app.connectors.testcrm import TestCrmConnector
from app.main import create_app
from app.security import Role, create_api_key
from app.settings import Settings

ADMIN = frozenset({Role.admin})
READ = frozenset(Role)  # every role reads
REVOPS = frozenset({Role.admin, Role.revops})
APPROVE = frozenset({Role.admin, Role.approver})
AUDIT = READ - {Role.viewer}  # the log names people and holds the configuration's history

EXPECTED: dict[tuple[str, str], frozenset[Role]] = {
    # operations
    ("GET", "/api/v1/queue"): READ,
    ("POST", "/api/v1/queue/{row_id}/retry"): REVOPS,
    ("POST", "/api/v1/queue/replay-dead"): REVOPS,
    # admin: API keys
    ("POST", "/api/v1/admin/api-keys"): ADMIN,
    ("GET", "/api/v1/admin/api-keys"): ADMIN,
    ("DELETE", "/api/v1/admin/api-keys/{key_id}"): ADMIN,
    ("POST", "/api/v1/admin/api-keys/{key_id}/revoke"): ADMIN,
    # the test CRM
    ("GET", "/api/v1/test-crm/deals/{deal_id}"): READ,
    ("PUT", "/api/v1/test-crm/deals/{deal_id}"): REVOPS,
    ("DELETE", "/api/v1/test-crm/deals/{deal_id}"): REVOPS,
    # the audit log
    ("GET", "/api/v1/audit"): AUDIT,
    # features
    ("GET", "/api/v1/features"): READ,
    ("GET", "/api/v1/features/{key}"): READ,
    ("POST", "/api/v1/features"): REVOPS,
    ("PATCH", "/api/v1/features/{key}"): REVOPS,
    ("DELETE", "/api/v1/features/{key}"): REVOPS,
    ("POST", "/api/v1/features/{key}/what-if"): READ,  # writes nothing: engineering's question
    ("POST", "/api/v1/roadmap/what-if"): READ,
    # roadmap sources
    ("GET", "/api/v1/roadmap/sources"): READ,
    ("GET", "/api/v1/roadmap/sources/{name}"): READ,
    ("GET", "/api/v1/roadmap/sources/{name}/statuses"): READ,
    ("POST", "/api/v1/roadmap/sources"): REVOPS,
    ("PATCH", "/api/v1/roadmap/sources/{name}"): REVOPS,
    ("DELETE", "/api/v1/roadmap/sources/{name}"): REVOPS,
    ("POST", "/api/v1/roadmap/sources/{name}/refresh"): REVOPS,
    # product mappings
    ("GET", "/api/v1/mappings"): READ,
    ("GET", "/api/v1/mappings/{mapping_id}"): READ,
    ("POST", "/api/v1/mappings"): REVOPS,
    ("PUT", "/api/v1/mappings/{mapping_id}"): REVOPS,
    ("DELETE", "/api/v1/mappings/{mapping_id}"): REVOPS,
    ("POST", "/api/v1/mappings/import"): REVOPS,
    # rules
    ("GET", "/api/v1/rules"): READ,
    ("GET", "/api/v1/rules/schema"): READ,
    ("GET", "/api/v1/rules/{rule_id}"): READ,
    ("GET", "/api/v1/rules/{rule_id}/versions"): READ,
    ("POST", "/api/v1/rules/validate"): READ,  # a pure check: writes nothing, costs little
    # Writes nothing either, but it is rule authoring and evaluates every stored deal.
    ("POST", "/api/v1/rules/simulate"): REVOPS,
    ("POST", "/api/v1/rules"): REVOPS,
    ("PUT", "/api/v1/rules/{rule_id}"): REVOPS,
    ("DELETE", "/api/v1/rules/{rule_id}"): REVOPS,
    ("POST", "/api/v1/rules/{rule_id}/enable"): REVOPS,
    ("POST", "/api/v1/rules/{rule_id}/disable"): REVOPS,
    ("POST", "/api/v1/rules/{rule_id}/restore"): REVOPS,
    # dependencies
    ("GET", "/api/v1/deals"): READ,
    ("GET", "/api/v1/deals/{crm}/{deal_id}"): READ,
    ("GET", "/api/v1/features/{key}/deals"): READ,
    ("GET", "/api/v1/exposure"): READ,
    # approvals
    ("GET", "/api/v1/approvals"): READ,
    ("POST", "/api/v1/approvals"): APPROVE,
    ("POST", "/api/v1/approvals/{approval_id}/revoke"): APPROVE,
    ("POST", "/api/v1/approvals/{approval_id}/extend"): APPROVE,
    # ledger and reports
    ("GET", "/api/v1/commitments"): READ,
    ("GET", "/api/v1/reports/commitments"): READ,
}


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
    # The test CRM is always configured in production (app/connectors/registry.py).
    connectors = {"test": TestCrmConnector(sqlite_engine)}
    return create_app(settings=settings, engine=sqlite_engine, connectors=connectors)


def _name(roles) -> str:
    return "{" + ", ".join(sorted(r.value for r in roles)) + "}"


def test_every_api_route_is_in_the_table_and_declares_exactly_its_roles(matrix_app):
    routes = _api_routes(matrix_app)
    assert any(p == "/api/v1/queue" for _m, p, _r in routes), "route discovery is broken"
    found = {(m, p) for m, p, _r in routes}
    assert len(found) == len(routes), "a method and path served by two routes"
    missing = sorted(f"{m} {p}" for m, p in found - EXPECTED.keys())
    assert missing == [], (
        f"/api routes with no row in EXPECTED (decide who may call them): {missing}"
    )
    gone = sorted(f"{m} {p}" for m, p in EXPECTED.keys() - found)
    assert gone == [], f"rows in EXPECTED with no route (renamed or removed?): {gone}"

    wrong = []
    for method, path, route in routes:
        declared = allowed_roles(route.dependant)
        expected = EXPECTED[(method, path)]
        if declared is None:
            wrong.append(
                f"{method} {path}: no require_roles dependency, expected {_name(expected)}"
            )
        elif declared != expected:
            wrong.append(f"{method} {path}: declares {_name(declared)}, expected {_name(expected)}")
    assert wrong == [], "\n".join(wrong)


def test_every_api_route_enforces_its_roles(matrix_app, sqlite_engine):
    routes = _api_routes(matrix_app)
    keys = {}
    with Session(sqlite_engine) as s:
        for role in Role:
            _, keys[role] = create_api_key(
                s, name=f"matrix-{role.value}", role=role, created_by="t"
            )
        s.commit()

    failures = []
    with TestClient(matrix_app, raise_server_exceptions=False) as client:
        for method, template, _route in routes:
            allowed = EXPECTED.get((method, template), frozenset({Role.admin}))
            path = _concrete(template)
            status = client.request(method, path, json={}).status_code
            if status != 401:
                failures.append(f"{method} {template} without a key: {status}, expected 401")
            for role in Role:
                headers = {"Authorization": f"Bearer {keys[role]}"}
                status = client.request(method, path, json={}, headers=headers).status_code
                if status >= 500:
                    failures.append(
                        f"{method} {template} as {role.value}: {status}, a server error"
                    )
                elif role in allowed and status in (401, 403):
                    failures.append(f"{method} {template} as {role.value}: {status}, allowed")
                elif role not in allowed and status != 403:
                    failures.append(f"{method} {template} as {role.value}: {status}, expected 403")
    assert failures == [], "\n".join(failures)
