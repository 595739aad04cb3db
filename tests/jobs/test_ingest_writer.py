"""IngestWriter: deliveries that wait together commit together, each with its own result; a
failing delivery fails alone; closing commits what was accepted. SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from app.jobs.ingest import InboundEvent, IngestResult, IngestWriter, ingest_events
from app.models import DealQueue, WebhookEvent


def _events(*pairs: tuple[str, str]) -> list[InboundEvent]:
    return [InboundEvent("test", key, "test", deal, "deal.updated") for key, deal in pairs]


def _stored(engine) -> list[str]:
    with Session(engine) as s:
        return sorted(s.exec(select(WebhookEvent.dedup_key)).all())


def _queued(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(DealQueue)).one()


class _HeldFirstCommit:
    """Holds the writer inside its first transaction until released, so the next deliveries
    are all waiting when it comes back for more."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.inside = threading.Event()
        self.release = threading.Event()
        self.commits = 0
        event.listen(engine, "commit", self._on_commit)

    def _on_commit(self, _conn) -> None:
        self.commits += 1
        if self.commits == 1:
            self.inside.set()
            assert self.release.wait(10)

    def remove(self) -> None:
        event.remove(self.engine, "commit", self._on_commit)


def test_waiting_deliveries_share_one_transaction_with_their_own_results(engine):
    writer = IngestWriter(engine)
    held = _HeldFirstCommit(engine)
    try:
        first = writer.submit(_events(("a1", "D1")))
        assert held.inside.wait(10)
        waiting = [
            writer.submit(_events(("b1", "D2"), ("b2", "D2"))),
            # a1 is a duplicate of the committed delivery, b1 of the one before it in the group
            writer.submit(_events(("a1", "D1"), ("b1", "D2"), ("c1", "D3"))),
            writer.submit(_events(("d1", "D4"))),
        ]
        held.release.set()
        results = [f.result(10) for f in (first, *waiting)]
    finally:
        held.remove()
        writer.close()
    assert [(r.received, r.new, r.duplicates, r.queued_deals) for r in results] == [
        (1, 1, 0, 1),
        (2, 2, 0, 1),
        (3, 1, 2, 1),
        (1, 1, 0, 1),
    ]
    assert (writer.deliveries, writer.transactions) == (4, 2)
    assert _stored(engine) == ["a1", "b1", "b2", "c1", "d1"]
    assert _queued(engine) == 4


def test_a_failing_delivery_fails_alone_and_the_others_of_its_group_are_committed(engine):
    writer = IngestWriter(engine)
    held = _HeldFirstCommit(engine)

    def poison(_conn, _cursor, statement, parameters, _context, _many):
        if "poison" in str(parameters):
            raise OperationalError(statement, parameters, Exception("disk I/O error"))

    event.listen(engine, "before_cursor_execute", poison)
    try:
        first = writer.submit(_events(("a1", "D1")))
        assert held.inside.wait(10)
        good_before = writer.submit(_events(("b1", "D2")))
        bad = writer.submit(_events(("poison", "D3")))
        good_after = writer.submit(_events(("c1", "D4")))
        held.release.set()
        assert first.result(10).new == 1
        assert good_before.result(10).new == 1
        with pytest.raises(OperationalError, match="disk I/O error"):
            bad.result(10)
        assert good_after.result(10).new == 1
    finally:
        event.remove(engine, "before_cursor_execute", poison)
        held.remove()
        writer.close()
    assert _stored(engine) == ["a1", "b1", "c1"]
    assert _queued(engine) == 3


def test_close_commits_what_was_waiting_and_a_later_delivery_starts_again(engine):
    writer = IngestWriter(engine)
    held = _HeldFirstCommit(engine)
    try:
        futures = [writer.submit(_events(("a1", "D1")))]
        assert held.inside.wait(10)
        futures.append(writer.submit(_events(("b1", "D2"))))
        closer = threading.Thread(target=writer.close)
        closer.start()
        held.release.set()
        closer.join(10)
        assert not closer.is_alive()
    finally:
        held.remove()
    assert [f.result(0).new for f in futures] == [1, 1]
    assert writer._thread is None
    # An app started again (tests do) keeps ingesting.
    assert writer.submit(_events(("c1", "D3"))).result(10).new == 1
    writer.close()
    assert _stored(engine) == ["a1", "b1", "c1"]


def test_the_thread_ends_when_idle_and_the_next_delivery_starts_another(sqlite_engine):
    writer = IngestWriter(sqlite_engine, idle_seconds=0.01)
    assert writer.submit(_events(("a1", "D1"))).result(10).new == 1
    first = writer._thread
    if first is not None:
        first.join(10)
    assert writer._thread is None
    assert writer.submit(_events(("b1", "D2"))).result(10).new == 1
    assert writer.deliveries == 2
    writer.close()


def test_a_group_is_capped_at_max_events(sqlite_engine):
    writer = IngestWriter(sqlite_engine, max_events=3)
    held = _HeldFirstCommit(sqlite_engine)
    try:
        first = writer.submit(_events(("a1", "D1")))
        assert held.inside.wait(10)
        rest = [writer.submit(_events((f"k{i}", "D2"), (f"l{i}", "D3"))) for i in range(3)]
        held.release.set()
        results: list[IngestResult] = [f.result(10) for f in (first, *rest)]
    finally:
        held.remove()
        writer.close()
    assert [r.new for r in results] == [1, 2, 2, 2]
    # 2 + 2 events exceed the cap of 3: each two-event delivery is a transaction of its own.
    assert writer.transactions == 4


def test_the_writer_and_ingest_events_store_the_same_thing(engine):
    writer = IngestWriter(engine)
    try:
        via_writer = writer.submit(_events(("a1", "D1"), ("a1", "D1"), ("a2", "D1"))).result(10)
    finally:
        writer.close()
    direct = ingest_events(engine, _events(("a2", "D1"), ("a3", "D2")))
    assert (via_writer.received, via_writer.new, via_writer.duplicates) == (3, 2, 1)
    assert (direct.new, direct.duplicates, direct.queued_deals) == (1, 1, 1)
    assert _stored(engine) == ["a1", "a2", "a3"]
