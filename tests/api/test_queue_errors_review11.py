"""Review 11: GET /api/v1/queue shows a row's error as recorded to revops and admin only; the
other read roles see its kind (an unexpected error's text may hold SQL, hostnames, addresses),
and no lease owner (host:pid). Held rows are told apart from backing-off ones."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.jobs.queue import INTERNAL_ERROR, enqueue_deals
from app.models import DealQueue

LEAKY = (
    "OperationalError: (psycopg.OperationalError) connection to server at "
    '"db-primary.internal" (10.2.3.4), port 5432 failed [SQL: SELECT deal.id FROM deal]'
)
RULE = "OrgRuleRefused: FIELD_CUSTOM_VALIDATION_EXCEPTION: Close Date cannot be in the past"
STOPPED = (
    "the worker processing this deal stopped without recording an outcome (its lease expired: "
    "killed, out of memory, crashed?) on the last of its 3 attempts; not claimed again"
)
ROWS = {
    # deal id: (status, held, attempts, last_error, lease_owner)
    "LEAK": ("pending", False, 2, LEAKY, None),
    "RULE": ("pending", True, 0, RULE, None),
    "LIMIT": ("pending", True, 0, "TransientError: HubSpot rate limit: daily", None),
    "GAVEUP": (
        "dead",
        False,
        3,
        "KeyError: 'amount' on db-replica-2 (gave up after 3 attempts)",
        None,
    ),
    "STOPPED": (
        "dead",
        False,
        3,
        STOPPED + "; the error before: ValueError: 10.9.9.9 said no",
        None,
    ),
    "RUN": ("running", False, 1, None, "worker-7.internal:4242:abc123"),
}


@pytest.fixture
def client(make_app):
    with TestClient(make_app(connectors={}), raise_server_exceptions=True) as c:
        yield c


def _seed(engine) -> None:
    with Session(engine) as s:
        enqueue_deals(s, "hubspot", list(ROWS))
        s.flush()
        for row in s.exec(select(DealQueue)).all():
            row.status, row.held, row.attempts, row.last_error, row.lease_owner = ROWS[row.deal_id]
            s.add(row)
        s.commit()


def _rows(client, headers) -> dict[str, dict]:
    rows = {}
    for status in ("pending", "dead", "running"):
        answer = client.get(f"/api/v1/queue?status={status}", headers=headers)
        assert answer.status_code == 200, answer.text
        rows.update({r["deal_id"]: r for r in answer.json()["rows"]["items"]})
    return rows


@pytest.mark.parametrize("role", ["revops", "admin"])
def test_operators_read_the_error_as_recorded(client, engine, api_key, role):
    _seed(engine)
    rows = _rows(client, api_key(role))
    assert {d: r["last_error"] for d, r in rows.items()} == {d: v[3] for d, v in ROWS.items()}
    assert rows["RUN"]["lease_owner"] == "worker-7.internal:4242:abc123"


@pytest.mark.parametrize("role", ["engineering", "viewer", "approver"])
def test_other_read_roles_do_not_read_an_unexpected_errors_text(client, engine, api_key, role):
    """An unexpected exception's text (a database error: SQL, a hostname, an address) was shown
    to every read role. A CRM's refusal or limit, written for whoever watches the queue, and
    our own messages are still shown as they are."""
    _seed(engine)
    rows = _rows(client, api_key(role))
    assert rows["LEAK"]["last_error"] == INTERNAL_ERROR
    assert rows["GAVEUP"]["last_error"] == INTERNAL_ERROR + " (gave up after 3 attempts)"
    assert rows["STOPPED"]["last_error"] == STOPPED + "; the error before: " + INTERNAL_ERROR
    assert rows["RULE"]["last_error"] == RULE
    assert rows["LIMIT"]["last_error"] == "TransientError: HubSpot rate limit: daily"
    assert rows["RUN"]["last_error"] is None and rows["RUN"]["lease_owner"] is None
    body = str(rows)
    for secret in ("db-primary", "10.2.3.4", "SELECT", "db-replica", "10.9.9.9", "worker-7"):
        assert secret not in body


def test_every_connector_error_class_is_known_to_readable_error():
    """A connector error class missing from CONNECTOR_ERRORS would be hidden as an internal
    error from the roles that watch the queue (its text is written for them)."""
    import app.connectors.hubspot.errors
    import app.connectors.salesforce.errors  # noqa: F401
    from app.connectors.base import ConnectorError
    from app.jobs.queue import CONNECTOR_ERRORS

    def every(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from every(sub)

    assert {c.__name__ for c in every(ConnectorError)} <= CONNECTOR_ERRORS


def test_held_rows_are_told_apart_from_backing_off_ones(client, engine, api_key):
    _seed(engine)
    view = client.get(
        "/api/v1/queue?status=pending&with_error=true", headers=api_key("viewer")
    ).json()
    assert view["pending_with_error"] == 3 and view["pending_held"] == 2
    assert {r["deal_id"]: r["held"] for r in view["rows"]["items"]} == {
        "LEAK": False,
        "RULE": True,
        "LIMIT": True,
    }
