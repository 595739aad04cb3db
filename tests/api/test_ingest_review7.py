"""A delivery the database could not store counts, in webhook_events_total{result="rejected"},
the events the sender sent: the rows we derive from them (each other deal a HubSpot merge
names) were counted too, though `received` and `duplicate` never count them."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from app import metrics
from app.api.ingest import NotStored, store_delivery
from app.jobs.ingest import InboundEvent


class _DatabaseDown:
    async def ingest(self, events):
        raise OperationalError("INSERT", {}, Exception("connection refused"))


def _rejected(source: str) -> float:
    return metrics.EVENTS.labels(source=source, result="rejected")._value.get()


def test_a_delivery_not_stored_counts_what_the_sender_sent():
    source = "hubspot-review7"
    merge = InboundEvent(source, "m-1", "hubspot", "D1", "deal.merge")
    derived = [
        InboundEvent(source, f"m-1:merge:{d}", "hubspot", d, "deal.merge", derived=True)
        for d in ("D2", "D3")
    ]
    state = SimpleNamespace(
        ingest_writer=_DatabaseDown(), settings=SimpleNamespace(webhook_ack_timeout_seconds=5.0)
    )
    request = SimpleNamespace(app=SimpleNamespace(state=state))
    before = _rejected(source)
    with pytest.raises(NotStored):
        asyncio.run(store_delivery(request, source, [merge, *derived]))
    assert _rejected(source) - before == 1
