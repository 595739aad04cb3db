from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from simple_salesforce import Salesforce

from app.connectors.salesforce import SalesforceConnector
from app.connectors.salesforce.auth import TimeoutSession
from app.sandbox.salesforce import INTEGRATION_USER, ORG_ID, FakeSalesforce, FakeSalesforceServer
from app.settings import Settings

OUTBOUND_TOKEN = "outbound-url-token"


@pytest.fixture
def sf_server() -> Iterator[FakeSalesforceServer]:
    with FakeSalesforceServer() as server:
        yield server


@pytest.fixture
def fake(sf_server: FakeSalesforceServer) -> FakeSalesforce:
    return sf_server.fake


@pytest.fixture
def sf_overrides(sf_server: FakeSalesforceServer) -> dict:
    """Settings overrides pointing the service at the fake (model_copy does not validate)."""
    return {
        "salesforce_instance_url": sf_server.instance_url,
        "salesforce_access_token": SecretStr("integration-token"),
        "salesforce_ca_bundle": sf_server.ca_bundle,
        "salesforce_org_id": ORG_ID,
        "salesforce_outbound_token": SecretStr(OUTBOUND_TOKEN),
        "salesforce_integration_user_id": INTEGRATION_USER,
        # Generous: a 450-record Composite write takes the fake well over a second on a
        # loaded CI machine. Tests of our timeout use quick_connector.
        "salesforce_timeout_seconds": 10.0,
    }


@pytest.fixture
def sf_settings(sf_overrides: dict, tmp_path) -> Settings:
    """Standalone settings: connector tests need no database (e2e tests pass their engine)."""
    base = Settings(
        _env_file=None,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        worker_mode="off",
        public_base_url="http://testserver",
    )
    return base.model_copy(update=sf_overrides)


@pytest.fixture
def connector(sf_settings: Settings) -> SalesforceConnector:
    return SalesforceConnector.from_settings(sf_settings)


@pytest.fixture
def quick_connector(sf_settings: Settings) -> SalesforceConnector:
    """A connector that gives up on an answer after half a second (a held call costs that)."""
    return SalesforceConnector.from_settings(
        sf_settings.model_copy(update={"salesforce_timeout_seconds": 0.5})
    )


@pytest.fixture
def rep(sf_server: FakeSalesforceServer) -> Salesforce:
    """A sales rep's own client (another user of the same org), e.g. to move a stage."""
    session = TimeoutSession(5.0, verify=sf_server.ca_bundle)
    return Salesforce(
        instance_url=sf_server.instance_url, session_id="rep-token", version="61.0", session=session
    )
