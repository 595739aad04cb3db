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


def test_a_proxys_504_after_the_org_ran_the_write_never_makes_a_second_task(
    connector, fake
) -> None:
    """The org created the task; the proxy in front of it answered its own 504 page. The retry
    created the task again (a second task for the rep): a gateway's page, not Salesforce's
    answer, says nothing of whether the write ran, so it is an unanswered write, as a timeout
    is: the retry looks for the task before creating one."""
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    fake.inject("gateway_timeout", 1, "composite")
    out = connector.write_back([write(opp, snap)])[opp]
    assert isinstance(out.error, TransientError) and "504 Gateway Time-out" in str(out.error)
    assert len(fake.tasks_of(opp)) == 1  # the org ran it
    retry = connector.write_back([write(opp, connector.read_deals([opp])[opp])])[opp]
    assert retry.error is None
    assert len(fake.tasks_of(opp)) == 1
    assert fake.opportunity(opp)["Roadmap_Block__c"] is True
