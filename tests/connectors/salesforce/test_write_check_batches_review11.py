"""The write's check query (a change between our read and our write) answered in batches.

Source: REST API Developer Guide, "Query" (resources_query): "up to 2,000 records can be
returned at a time ... the returned batch can include fewer records than the limit or what's set
in the request, based on the size and complexity of records queried". Found by the fake
Salesforce fidelity review 11 (helper 162).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.sandbox.salesforce import REP_USER, sf_datetime
from tests.connectors.salesforce.test_connector import write


def test_a_rep_change_beyond_the_write_checks_first_batch_is_read_again(connector, fake):
    """The write's first Composite call starts with a query of the opportunities'
    LastModifiedDate / LastModifiedById (a change made between our read and our write queues a
    read). Salesforce may answer that query in a smaller batch than asked: the opportunities its
    first batch left out were taken as unchanged, and a rep's edit of one of them was lost (our
    write then made us its last modifier, which reconciliation skips). They are read again.
    Fails without the fix: the third opportunity's edit was not flagged."""
    opps = sorted(fake.add_opportunity(f"Deal {i}") for i in range(3))
    snapshots = connector.read_deals(opps)
    fake.page_size = 2  # the check query's first batch holds two of the three rows
    later = sf_datetime(datetime.now(UTC) + timedelta(minutes=1))
    fake.opportunity(opps[2]).update(LastModifiedDate=later, LastModifiedById=REP_USER)
    fake.reset_calls()
    out = connector.write_back([write(o, snapshots[o]) for o in opps])
    assert out[opps[2]].reread  # left out of the first batch: read again
    assert not out[opps[0]].reread and not out[opps[1]].reread  # answered, unchanged
    assert all(fake.opportunity(o)["Roadmap_Check_Status__c"] == "blocked" for o in opps)
    assert fake.calls_by_kind()["query"] == 0  # no queryMore after the writes


def test_a_change_in_the_checks_first_batch_is_still_told_from_no_change(connector, fake):
    """The same batching, the edit in the first batch: that one is read again, and an
    opportunity the first batch answered unchanged is not."""
    opps = sorted(fake.add_opportunity(f"Deal {i}") for i in range(3))
    snapshots = connector.read_deals(opps)
    fake.page_size = 2
    later = sf_datetime(datetime.now(UTC) + timedelta(minutes=1))
    fake.opportunity(opps[0]).update(LastModifiedDate=later, LastModifiedById=REP_USER)
    out = connector.write_back([write(o, snapshots[o]) for o in opps])
    assert out[opps[0]].reread and not out[opps[1]].reread
