"""Which CRM connectors this deployment has, built from settings.

A connector is configured when its credentials are set; the test CRM is always present (it
backs `demo`, the spine's end-to-end tests and local exploration).
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from app.connectors.base import CrmConnector
from app.settings import Settings, salesforce_configured


def build_connectors(settings: Settings, engine: Engine) -> dict[str, CrmConnector]:
    from app.connectors.testcrm import TestCrmConnector

    connectors: dict[str, CrmConnector] = {"test": TestCrmConnector(engine)}
    if settings.hubspot_access_token is not None:
        from app.connectors.hubspot import HubSpotConnector

        connectors["hubspot"] = HubSpotConnector.from_settings(settings)
    if salesforce_configured(settings):  # the combination was checked at start-up
        from app.connectors.salesforce import SalesforceConnector

        connectors["salesforce"] = SalesforceConnector.from_settings(settings)
    return connectors
