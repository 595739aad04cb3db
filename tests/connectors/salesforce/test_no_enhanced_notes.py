"""An org with enhanced Notes turned off has no ContentNote object: its deals are read, and
reconciled, from their classic notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.fakes.salesforce import without_enhanced_notes


def test_fake_answers_invalid_type_for_content_note_when_notes_are_off(rep, fake):
    without_enhanced_notes(fake)
    with pytest.raises(SalesforceMalformedRequest) as info:
        rep.query("SELECT Id FROM ContentNote")
    assert info.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_deals_of_an_org_without_enhanced_notes_are_read_and_reconciled(connector, fake):
    """The read's ContentNote query was refused with INVALID_TYPE, a PermanentError for the
    whole read: every deal of such an org went dead. No ContentNote object means no enhanced
    notes: the deals are read with their classic notes."""
    without_enhanced_notes(fake)
    since = datetime.now(UTC) - timedelta(minutes=5)
    opp = fake.add_opportunity(
        "Deal", line_items=[{"name": "SSO", "code": "SSO-1"}], notes=["We promised SSO by Q3"]
    )
    snap = connector.read_deals([opp])[opp]
    assert [li.sku for li in snap.line_items] == ["SSO-1"]
    assert [n.body for n in snap.notes] == ["Meeting notes\nWe promised SSO by Q3"]
    ids, newest = connector.changed_since(since)
    assert ids == [opp] and newest is not None
