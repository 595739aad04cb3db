"""One answer, one snapshot: a list's `total`, its page and its `totals` are read by several
statements, and on PostgreSQL (READ COMMITTED) a deal or ledger entry committed between them
was on the page but not in the total, so the numbers of one answer did not add up."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session

from app.models import Commitment, Deal
from app.services import queries
from tests.dashboard.seed import seed


@pytest.fixture
def seeded(engine):
    with Session(engine) as s:
        seed(s)
        s.commit()


@pytest.fixture
def commit_between_statements(engine, monkeypatch):
    """Commit `row` from another connection while the request runs: after its count, when its
    page statement is being built (`queries.order_by`)."""

    def arm(make_row):
        real = queries.order_by
        done = []

        def order_by(*args, **kwargs):
            if not done:
                done.append(True)
                with Session(engine) as other:
                    other.add(make_row())
                    other.commit()
            return real(*args, **kwargs)

        monkeypatch.setattr(queries, "order_by", order_by)
        return done

    return arm


def test_a_deal_list_counts_the_rows_it_lists(client, api_key, seeded, commit_between_statements):
    done = commit_between_statements(
        lambda: Deal(
            crm="hubspot",
            deal_id="late",
            name="Late",
            pipeline="default",
            stage_id="qualified",
            stage_label="Qualified",
            owner_id="alice",
            owner_name="Alice Ng",
            amount=Decimal(1),
        )  # fmt: skip
    )
    body = client.get("/api/v1/deals?limit=500", headers=api_key("viewer")).json()
    assert done
    assert body["total"] == len(body["items"]) == 5  # the seeded open deals, as counted
    assert "late" not in {d["deal_id"] for d in body["items"]}


def test_the_ledger_counts_and_sums_the_entries_it_lists(
    client, api_key, seeded, commit_between_statements
):
    done = commit_between_statements(
        lambda: Commitment(
            crm="hubspot",
            deal_id="h1",
            deal_name="Deal h1",
            feature_key="api",
            promise_key="api",
            amount=Decimal(500),
            signed_at=datetime(2026, 2, 1, tzinfo=UTC),
        )  # fmt: skip
    )
    body = client.get("/api/v1/commitments", headers=api_key("viewer")).json()
    assert done
    assert body["total"] == len(body["items"]) == 1
    assert body["totals"]["deals"] == 1 and body["totals"]["amount"] == 7000.0
