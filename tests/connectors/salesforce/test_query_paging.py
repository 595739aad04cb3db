"""Query paging as Salesforce does it: child relationship rows paged under their parent, and a
parent's queryMore releasing the child cursors of the pages before it."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from app.connectors.base import PermanentError, TransientError
from app.jobs.types import Outcome
from tests.fakes.salesforce import PagedChildren

SOQL = "SELECT Id, Name, (SELECT Id, Name FROM OpportunityLineItems) FROM Opportunity ORDER BY Name"


def _items(n: int, prefix: str) -> list[dict]:
    return [{"name": f"{prefix} product {i}", "code": f"{prefix}-{i}"} for i in range(n)]


def test_fake_releases_child_cursors_when_the_parent_pages_on(rep, fake):
    """The fake models Salesforce's rule: a child cursor followed after the parent's queryMore
    answers INVALID_QUERY_LOCATOR; followed before it, it answers its rows."""
    PagedChildren(fake, size=2)
    fake.page_size_with_children = 1
    fake.add_opportunity("A", line_items=_items(5, "a"))
    fake.add_opportunity("B", line_items=_items(5, "b"))
    first = rep.query(SOQL)
    child = first["records"][0]["OpportunityLineItems"]
    assert child["done"] is False and len(child["records"]) == 2
    more = rep.query_more(child["nextRecordsUrl"], identifier_is_url=True)
    assert len(more["records"]) == 2  # followed before the parent moved on: fine
    rep.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_QUERY_LOCATOR"):
        rep.query_more(more["nextRecordsUrl"], identifier_is_url=True)


def test_child_rows_of_every_parent_page_are_read_before_the_parent_pages_on(connector, fake):
    """Opportunities over several parent pages, each with more line items and notes than a
    child page holds: every line item and note of every opportunity is read. The children of
    a page were followed only after the last parent page, when Salesforce has released their
    cursors: INVALID_QUERY_LOCATOR, a PermanentError for the whole batch, and every deal of it
    went dead."""
    PagedChildren(fake, size=2)
    fake.page_size_with_children = 2
    ids = [
        fake.add_opportunity(
            f"Deal {n}",
            line_items=_items(5, f"d{n}"),
            notes=[f"note {n}.{i}" for i in range(3)],
        )
        for n in range(5)
    ]
    snaps = connector.read_deals(ids)
    for n, opp in enumerate(ids):
        snap = snaps[opp]
        assert snap is not None
        assert sorted(li.sku for li in snap.line_items) == [f"d{n}-{i}" for i in range(5)]
        assert sorted(note.body.split("\n")[-1] for note in snap.notes) == [
            f"note {n}.{i}" for i in range(3)
        ]


def test_an_expired_query_locator_is_retried_not_dead(connector, fake):
    """A next page asked for with a locator Salesforce no longer holds (expired; released)
    answers 400 INVALID_QUERY_LOCATOR. It was a PermanentError: the whole batch of deals went
    dead for a cursor. The query run again from the start answers, so it is transient."""
    fake.page_size_with_children = 2
    ids = [fake.add_opportunity(f"Deal {n}") for n in range(3)]
    query_more = fake.query_more

    def expired(locator: str) -> dict:
        fake._cursors.pop(locator, None)  # gone before we asked
        fake.query_more = query_more  # once
        return query_more(locator)

    fake.query_more = expired
    with pytest.raises(TransientError, match="INVALID_QUERY_LOCATOR") as info:
        connector.read_deals(ids)
    assert not isinstance(info.value, PermanentError)
    assert Outcome.from_exception(info.value).kind == "retry"
    snaps = connector.read_deals(ids)  # the retry reads them all
    assert all(snaps[i] is not None for i in ids)
