"""Salesforce write-back under faults from outside the org (review 9)."""

from __future__ import annotations

from app.connectors.base import TransientError
from tests.connectors.salesforce.test_connector import write


def test_a_proxys_html_502_is_retried_with_its_title_not_its_markup(connector, fake) -> None:
    """A proxy in front of the org answers a bad gateway with its own HTML page: the deal's
    error was 'UNKNOWN: <html>...' (500 characters of markup). It names the page's title."""
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    fake.inject("gateway_html", 1, "composite")
    out = connector.write_back([write(opp, snap)])[opp]
    assert isinstance(out.error, TransientError)
    assert "502 Bad Gateway" in str(out.error) and "HTML page" in str(out.error)
    assert "<" not in str(out.error)
