"""Test-only faults on top of the sandbox Salesforce (app/sandbox/salesforce.py)."""

from __future__ import annotations

import threading
from typing import Any

from app.sandbox.salesforce import FakeSalesforce, parse_soql


class HeldCall:
    """The next request whose path contains `match` is held inside the fake org until
    `finish()`: the client times out meanwhile, and the org then runs the request to the end
    (`land=True`, Salesforce finishing a call nobody waits for) or fails it (`land=False`).
    Deterministic: no test waits for a race."""

    def __init__(self, fake: FakeSalesforce, match: str) -> None:
        self.fake = fake
        self.match = match
        self._armed = True
        self._land = True
        self._release = threading.Event()
        self._done = threading.Event()
        self._thread: int | None = None
        self._take_fault = fake._take_fault
        self._dispatch = fake.dispatch
        fake._take_fault = self._take  # type: ignore[method-assign]
        fake.dispatch = self._run  # type: ignore[method-assign]

    def _take(self, path: str) -> str | None:
        if self._armed and self.match in path:
            self._armed = False
            self._thread = threading.get_ident()
            self._release.wait(10)
            if not self._land:
                self._done.set()
                return "unavailable"  # answered 503 to nobody: nothing was written
            return None
        return self._take_fault(path)

    def _run(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        try:
            return self._dispatch(*args, **kwargs)
        finally:
            if threading.get_ident() == self._thread and not kwargs.get("nested"):
                self._done.set()

    def finish(self, *, land: bool = True) -> None:
        """Let the held request go on, and wait until the org has finished it."""
        self._land = land
        self._release.set()
        assert self._done.wait(10), "the held request never reached the org"


class PagedChildren:
    """Child relationship results (a subquery's rows under each parent record) longer than
    `size` are paged as Salesforce pages them: the first `size` rows, `done` false and a
    `nextRecordsUrl` of their own. And, as Salesforce documents for queryMore ("A queryMore()
    call on a parent object invalidates all child cursors in the previous result set. If you
    need the results from the child, you must use queryMore() on those results before using
    queryMore() on the parent results."), following the parent's nextRecordsUrl releases the
    child cursors of the pages before it: they answer 400 INVALID_QUERY_LOCATOR.

    Installed on the fake's `query` / `query_more` (top level and Composite subrequests)."""

    def __init__(self, fake: FakeSalesforce, size: int) -> None:
        self.fake = fake
        self.size = size
        self._query = fake.query
        self._query_more = fake.query_more
        self._seq = 0
        # parent locator → child locators opened by the page that handed out that locator
        self._children_before: dict[str, set[str]] = {}
        self._child_group: dict[str, set[str]] = {}  # child locator → its page's group
        fake.query = self._on_query  # type: ignore[method-assign]
        fake.query_more = self._on_query_more  # type: ignore[method-assign]

    def _page_children(self, body: dict) -> set[str]:
        opened: set[str] = set()
        for rec in body.get("records") or []:
            for value in rec.values():
                if not (isinstance(value, dict) and isinstance(value.get("records"), list)):
                    continue
                rows = value["records"]
                if len(rows) <= self.size or not value.get("done", True):
                    continue
                self._seq += 1
                locator = f"01gCHILD{self._seq:08d}-{self.size}"
                self.fake._cursors[locator] = (rows, self.size)
                value.update(
                    records=rows[: self.size],
                    done=False,
                    nextRecordsUrl=f"/services/data/v{self.fake.api_version}/query/{locator}",
                )
                opened.add(locator)
        return opened

    def _track(self, body: dict, group: set[str]) -> None:
        for locator in group:
            self._child_group[locator] = group
        next_url = body.get("nextRecordsUrl")
        if next_url:
            self._children_before[next_url.rsplit("/", 1)[1]] = group

    def _on_query(self, *args: Any, **kwargs: Any) -> dict:
        with self.fake.lock:
            body = self._query(*args, **kwargs)
            self._track(body, self._page_children(body))
            return body

    def _on_query_more(self, locator: str) -> dict:
        with self.fake.lock:
            group = self._child_group.get(locator)
            if group is not None:  # a child cursor: its next page stays in its parent's group
                body = self._query_more(locator)
                next_url = body.get("nextRecordsUrl")
                if next_url:
                    group.add(next_url.rsplit("/", 1)[1])
                    self._child_group[next_url.rsplit("/", 1)[1]] = group
                return body
            for child in self._children_before.pop(locator, set()):
                self.fake._cursors.pop(child, None)  # released by the parent's queryMore
            body = self._query_more(locator)
            self._track(body, self._page_children(body))
            return body


class FileQueryVisibility:
    """Who sees which files in SOQL, as Salesforce documents it for ContentDocument and
    ContentVersion (a ContentNote is one): a query that names no Id answers only the files
    the querying user owns (here: created), not those it can see through a record the file
    is linked to ("if a user only has access to a file because they have access to a record
    that the file is shared with, the file won't be returned in a query such as SELECT Id FROM
    ContentDocument"). A query filtering on Id (`Id IN (SELECT ContentDocumentId FROM
    ContentDocumentLink WHERE LinkedEntityId IN (...))`) answers them. Installed on the fake's
    `query` (top level and Composite subrequests); results of one page only."""

    def __init__(self, fake: FakeSalesforce) -> None:
        self.fake = fake
        self._query = fake.query
        fake.query = self._on_query  # type: ignore[method-assign]

    def _on_query(self, soql: str, user: str | None = None, **kwargs: Any) -> dict:
        with self.fake.lock:
            body = self._query(soql, user, **kwargs)
            q = parse_soql(soql)
            if q.sobject != "ContentNote" or user is None or any(c[0] == "Id" for c in q.where):
                return body
            assert not body.get("nextRecordsUrl"), "FileQueryVisibility filters one page only"
            notes = self.fake.store["ContentNote"]
            body["records"] = [
                r
                for r in body["records"]
                if (notes.get(r.get("Id")) or {}).get("CreatedById") == user
            ]
            body["totalSize"] = len(body["records"])
            return body


def without_enhanced_notes(fake: FakeSalesforce) -> None:
    """An org whose enhanced Notes are turned off (Setup > Notes Settings): it has no
    ContentNote object, and a query on it answers 400 INVALID_TYPE "sObject type 'ContentNote'
    is not supported.", as for any object an org does not have. Classic Notes remain."""
    has_type = fake._has_type
    fake._has_type = lambda sobject: sobject != "ContentNote" and has_type(sobject)  # type: ignore[method-assign]
