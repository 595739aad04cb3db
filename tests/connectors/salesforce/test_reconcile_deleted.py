"""Reconciliation finds opportunities deleted in Salesforce: a deletion sends no Outbound
Message, and the query resource leaves deleted records out."""

from __future__ import annotations

import time
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


def test_a_deleted_note_or_line_item_queues_its_opportunity_and_the_read_lifts_the_block(
    connector, fake
):
    """A rep deletes the "we promised SSO" note, or the zero-price SSO line item: neither
    touches the opportunity's LastModifiedDate and neither sends an Outbound Message, so
    reconciliation never queued the opportunity and it stayed blocked until something else
    changed it. The deletions are asked for with queryAll (IsDeleted, SystemModstamp)."""
    by_note = fake.add_opportunity("Promised by note", notes=["We promised SSO for the pilot."])
    by_item = fake.add_opportunity(
        "Promised by line item", line_items=[{"name": "SSO add-on", "code": "SKU-SSO", "price": 0}]
    )
    quiet = fake.add_opportunity("Quiet", notes=["Intro call."])
    (note_id,) = fake.children[("Note", "ParentId")][by_note]
    (item_id,) = [li["Id"] for li in fake.line_items_of(by_item)]
    time.sleep(1.1)  # Salesforce's timestamps have whole seconds
    fake.add_opportunity("Later")  # the cursor ends after the others were written
    _ids, cursor = connector.changed_since(None)
    time.sleep(1.1)
    modified = {opp: fake.opportunity(opp)["LastModifiedDate"] for opp in (by_note, by_item)}
    fake.delete("Note", note_id)
    fake.delete("OpportunityLineItem", item_id)
    assert {o: fake.opportunity(o)["LastModifiedDate"] for o in modified} == modified
    ids, newest = connector.changed_since(cursor)
    assert by_note in ids and by_item in ids and quiet not in ids
    assert newest is not None and newest > cursor
    snaps = connector.read_deals([by_note, by_item])
    assert snaps[by_note].notes == [] and snaps[by_item].line_items == []
    # a run whose cursor is past the deletions does not queue them again (the cursor is sent
    # to the second, the stamps have milliseconds)
    assert connector.changed_since(newest + timedelta(seconds=1))[0] == []


def test_a_deleted_note_of_another_object_queues_nothing(connector, fake):
    account = fake.insert("Account", {"Name": "Acme"})
    note = fake.insert("Note", {"ParentId": account, "Title": "t", "Body": "b"})
    _ids, cursor = connector.changed_since(None)
    time.sleep(1.1)
    fake.delete("Note", note)
    ids, newest = connector.changed_since(cursor)
    assert ids == []  # an account's note: no opportunity to check
