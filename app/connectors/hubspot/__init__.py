"""HubSpot connector: signed webhooks in, batched reads, write-back and the closed-won guard out."""

from app.connectors.hubspot.connector import HubSpotConnector

__all__ = ["HubSpotConnector"]
