"""Reconciliation finds a rep's enhanced note (ContentNote) edited since the cursor, though
Salesforce's file visibility hides it from a ContentNote query that names no Id."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.fakes.salesforce import FileQueryVisibility


def _note_of(fake, opp: str) -> str:
    return next(
        link["ContentDocumentId"]
        for link in fake.store["ContentDocumentLink"].values()
        if link["LinkedEntityId"] == opp
    )


def test_fake_hides_a_reps_note_from_a_content_note_query_that_names_no_id(rep, fake):
    FileQueryVisibility(fake)
    opp = fake.add_opportunity("Deal", content_notes=["<p>Intro call.</p>"])  # written by a rep
    integration = fake.tokens["integration-token"]
    assert fake.query("SELECT Id FROM ContentNote", integration)["records"] == []
    linked = (
        "SELECT Id FROM ContentNote WHERE Id IN (SELECT ContentDocumentId FROM "
        f"ContentDocumentLink WHERE LinkedEntityId IN ('{opp}'))"
    )
    assert [r["Id"] for r in fake.query(linked, integration)["records"]] == [_note_of(fake, opp)]


def test_a_reps_enhanced_note_edited_since_the_cursor_queues_its_opportunity(connector, fake):
    """The note query asked ContentNote for every note changed since the cursor, naming no Id:
    Salesforce answers the integration user's own files only, so a rep's note edited to say
    "we promised SSO" was never found by reconciliation (only the optional Apex triggers sent
    it). The notes are asked for through their links to the open opportunities now."""
    FileQueryVisibility(fake)
    opp = fake.add_opportunity("Quiet", content_notes=["<p>Intro call, seat count.</p>"])
    lost = fake.add_opportunity("Lost", stage="Closed Lost", content_notes=["<p>Old.</p>"])
    time.sleep(1.1)  # Salesforce's timestamps have whole seconds
    fake.add_opportunity("Later")  # the cursor ends after the notes were first written
    _ids, cursor = connector.changed_since(None)
    time.sleep(1.1)
    fake.edit_content_note(_note_of(fake, opp), "<p>Intro call. We promised SSO for the pilot.</p>")
    fake.edit_content_note(_note_of(fake, lost), "<p>Lost to a competitor.</p>")
    ids, newest = connector.changed_since(cursor)
    assert opp in ids and lost not in ids  # only open opportunities are evaluated
    assert newest is not None and newest > cursor
    time.sleep(1.1)
    assert connector.changed_since(datetime.now(UTC))[0] == []  # nothing changed since
