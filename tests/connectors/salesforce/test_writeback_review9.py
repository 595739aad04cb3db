"""Salesforce write-back under faults from outside the org (review 9)."""

from __future__ import annotations

from app.connectors.base import CredentialsError, TransientError
from app.jobs.types import Outcome
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


def test_an_inactive_status_picklist_value_holds_the_deal_until_it_is_back(connector, fake) -> None:
    """An admin deactivated 'blocked' on the restricted picklist Roadmap_Check_Status__c:
    Salesforce refuses the whole record (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST), so the block
    was not written and the deal went dead (a PermanentError). Held now, naming the field and
    the fix; written once the value is back, with one task."""
    opp = fake.add_opportunity("Deal")
    snap = connector.read_deals([opp])[opp]
    fake.picklist_values["Roadmap_Check_Status__c"].discard("blocked")
    out = connector.write_back([write(opp, snap)])[opp]
    assert isinstance(out.error, CredentialsError), out.error
    assert Outcome.from_exception(out.error).hold
    assert "Roadmap_Check_Status__c" in str(out.error) and "setup salesforce" in str(out.error)
    assert not fake.opportunity(opp).get("Roadmap_Block__c")

    fake.picklist_values["Roadmap_Check_Status__c"].add("blocked")
    snap = connector.read_deals([opp])[opp]
    again = connector.write_back([write(opp, snap, task_id=out.task_id)])[opp]
    assert again.error is None
    rec = fake.opportunity(opp)
    assert (rec["Roadmap_Check_Status__c"], rec["Roadmap_Block__c"]) == ("blocked", True)
    assert len(fake.tasks_of(opp)) == 1
