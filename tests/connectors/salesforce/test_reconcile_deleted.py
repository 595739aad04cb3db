"""Reconciliation finds opportunities deleted in Salesforce: a deletion sends no Outbound
Message, and the query resource leaves deleted records out."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.sandbox.salesforce import FakeSalesforce


def _delete(fake: FakeSalesforce, opp: str, at: datetime) -> None:
    """A user deletes the opportunity: it goes to the Recycle Bin, its SystemModstamp the time
    of the deletion (what Salesforce's Get Deleted resource reports as deletedDate)."""
    fake.delete("Opportunity", opp)
    fake.recycle_bin["Opportunity"][opp]["SystemModstamp"] = at.strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000"
    )


def test_an_opportunity_deleted_since_the_cursor_is_queued_and_then_read_as_gone(connector, fake):
    kept = fake.add_opportunity("Kept")
    doomed = fake.add_opportunity("Doomed")
    old = fake.add_opportunity("Deleted long ago")
    ids, cursor = connector.changed_since(None)
    assert set(ids) == {kept, doomed, old} and cursor is not None
    _delete(fake, old, cursor - timedelta(hours=1))  # before the cursor: seen by an earlier run
    deleted_at = cursor + timedelta(minutes=1)
    _delete(fake, doomed, deleted_at)
    ids, newest = connector.changed_since(cursor)
    # (`kept` may come back too: the cursor is cut to the second, its LastModifiedDate is not)
    assert doomed in ids and old not in ids  # it was missed: it stayed tracked as open
    assert newest == deleted_at.replace(microsecond=0)  # the cursor moves past the deletion
    assert connector.read_deals([doomed])[doomed] is None  # the worker's read: gone
    assert connector.changed_since(newest)[0] == []  # not queued again
