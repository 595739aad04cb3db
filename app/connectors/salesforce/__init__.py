"""Salesforce connector: outbound messages and signed JSON in, one-query reads, Composite writes."""

from app.connectors.salesforce.connector import SalesforceConnector

__all__ = ["SalesforceConnector"]
