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


def canonical_deal_id(crm: str, deal_id: str) -> str:
    """The form a deal's id is stored and queued under. Salesforce shows the 15-character,
    case-sensitive form of an id in reports, list views and Classic URLs, and stores (and
    roadmap-guard keeps) the 18-character one: a 15-character id pasted into an approval or
    a deal lookup is taken as its 18-character form. Any other id is returned as given."""
    if crm == "salesforce" and len(deal_id) == 15:
        from app.connectors.salesforce.ids import to18

        try:
            return to18(deal_id)
        except ValueError:
            return deal_id
    return deal_id
