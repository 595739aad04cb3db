from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from app.connectors.hubspot.client import HubSpotApi
from app.connectors.hubspot.connector import HubSpotConnector
from app.connectors.hubspot.ratelimit import TokenBucket
from app.sandbox.hubspot import FakeHubSpot


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def api(fake: FakeHubSpot) -> HubSpotApi:
    # A private bucket per test: the process-wide registry would couple tests.
    return HubSpotApi(
        access_token=fake.access_token,
        api_base=fake.base_url,
        timeout=2.0,
        bucket=TokenBucket(1000),
    )


@pytest.fixture
def connector(fake: FakeHubSpot, api: HubSpotApi) -> HubSpotConnector:
    return HubSpotConnector(api, portal_id=fake.portal_id, app_id=fake.app_id)


@pytest.fixture
def hubspot_settings(fake: FakeHubSpot) -> dict:
    """Settings overrides that point the service at the fake (model_copy does not validate)."""
    return {
        "hubspot_access_token": SecretStr(fake.access_token),
        "hubspot_client_secret": SecretStr(fake.client_secret),
        "hubspot_app_id": fake.app_id,
        "hubspot_portal_id": fake.portal_id,
        "hubspot_api_base": fake.base_url,
        "hubspot_timeout_seconds": 2.0,
    }


def hubspot_event(fake: FakeHubSpot, **kw) -> dict:
    """A deal.propertyChange webhook event of the fake portal, as HubSpot sends it."""
    base = {
        "eventId": 100,
        "subscriptionId": 13,
        "portalId": int(fake.portal_id),
        "appId": int(fake.app_id),
        "occurredAt": 1_700_000_000_000,
        "subscriptionType": "deal.propertyChange",
        "attemptNumber": 0,
        "objectId": 555,
        "propertyName": "dealstage",
        "propertyValue": "contractsent",
        "changeSource": "CRM_UI",
        "sourceId": "userId:7",
    }
    return {**base, **kw}
