"""The connector boundary: canonical types in and out, typed errors.

A CRM connector reads deals in batches and writes results back. Errors are typed so the deal
queue alone owns retry policy: `TransientError` → retried later (honouring `retry_after`),
`PermanentError` → dead, visible and replayable through the API, `CredentialsError` → held
(retried every few minutes without spending attempts: nothing is wrong with the deal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from typing import Protocol, runtime_checkable

from app.rules.model import DealSnapshot, VerdictStatus
from app.rules.references import BLOCK_TAGS, CELL_TAGS


class ConnectorError(Exception):
    def __init__(self, message: str, *, correlation_id: str | None = None) -> None:
        super().__init__(message)
        self.correlation_id = correlation_id

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (correlation id {self.correlation_id})" if self.correlation_id else base


# The longest Retry-After any remote is taken at: a day (HubSpot's daily limit resets within
# one). A longer, negative or non-finite one is no usable wait.
MAX_RETRY_AFTER = 86_400.0


class TransientError(ConnectorError):
    """Try again later. `retry_after` in seconds when the remote said how long. `hold`: the
    retry spends no attempt (the wait is not the deal's failure and has a known end, e.g. a
    create whose answer was lost is given Salesforce's ten minutes to land)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        correlation_id: str | None = None,
        hold: bool = False,
    ) -> None:
        super().__init__(message, correlation_id=correlation_id)
        self.retry_after = retry_after
        self.hold = hold


class PermanentError(ConnectorError):
    """Retrying this deal cannot help (the CRM refused our write for this record)."""


# How long a deal waits after the CRM refused our credentials: long enough not to hammer an
# API that answers 401, short enough that fixing the token lets the backlog through soon.
CREDENTIALS_RETRY_SECONDS = 300.0


class HeldError(TransientError):
    """A refusal an admin must fix, not the deal's failure (refused credentials, an org's
    validation rule, a property rule): the deal is held, retried every
    `CREDENTIALS_RETRY_SECONDS` without spending its attempts, and goes through once fixed."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = CREDENTIALS_RETRY_SECONDS,
        correlation_id: str | None = None,
    ) -> None:
        super().__init__(message, retry_after=retry_after, correlation_id=correlation_id, hold=True)


class CredentialsError(HeldError):
    """The CRM refused our credentials or their scopes (an expired or revoked token, a missing
    scope, a login refused). Nothing is wrong with the deal and every deal fails the same way
    until an admin fixes the connection: the deal is held, retried every
    `CREDENTIALS_RETRY_SECONDS` without spending its attempts, so a token that expired over a
    weekend sends no deal to dead and needs no replay once fixed."""


@dataclass
class TaskSpec:
    """The one roadmap task per deal. `open=False` means complete it (the deal is clear)."""

    subject: str
    body: str
    open: bool = True
    owner_id: str | None = None
    due_at: datetime | None = None


@dataclass
class DealWriteBack:
    """What the CRM record should show now. Connectors diff against `previous` and write less."""

    crm: str
    deal_id: str
    status: VerdictStatus
    summary: str
    block: bool
    checked_at: datetime
    evaluation_url: str | None
    # None: there never was a problem, no task needed. A connector that writes more into the
    # task than this says (HubSpot's flag on a blocked deal left in a won stage) puts what it
    # wrote back here: the pipeline records this task, and the next write compares with it.
    task: TaskSpec | None
    task_id: str | None  # the stored CRM id of our task, if we made one before
    note: str | None = None  # full findings, only when the verdict changed
    # One-off tasks (e.g. a ledger promise that slipped): created once, never updated.
    # Keyed so a retry cannot create a second one: the connector reports created keys back.
    followups: dict[str, TaskSpec] = field(default_factory=dict)
    previous: dict = field(default_factory=dict)  # what we last wrote (Deal.written)
    # The snapshot just read. The closed-won guard lives in the connector: a blocked deal whose
    # snapshot.stage.is_won is moved back (HubSpot, revert mode) or refused by the CRM (Salesforce).
    snapshot: DealSnapshot | None = None
    # An earlier write to this record began at this time and its outcome was never recorded
    # (a worker killed mid-write, a batch abandoned at shutdown, a failure after part of it
    # landed). Whatever it created may exist without our knowing its id, and the process that
    # sent it may be gone with its memory: before creating a task or a note, the connector
    # looks for ours by marker. None: the last write finished and was recorded.
    unconfirmed_since: datetime | None = None


@dataclass
class WriteOutcome:
    deal_id: str
    # What the CRM holds now, as the connector saw it (its own shape, for debugging). The pipeline
    # does not store it: Deal.written is the canonical write it planned (pipeline.record_write).
    written: dict = field(default_factory=dict)
    task_id: str | None = None
    task_open: bool = False
    changes: dict = field(default_factory=dict)  # what this call changed, for the write log
    followups_created: dict[str, str] = field(default_factory=dict)  # followup key → CRM task id
    reverted_to_stage: str | None = None  # the guard moved the deal back to this stage
    error: ConnectorError | None = None
    # The deal was deleted (or merged away) between the read and the write: stop tracking it,
    # as a read that finds it gone does. Not an error: there is nothing left to write to.
    deal_gone: bool = False
    # Someone changed the record in the CRM after the snapshot this write was planned from was
    # read (a stored snapshot): the deal is queued to be read again, in case the change's own
    # webhook was lost (reconciliation would not see it past our write).
    reread: bool = False


@dataclass
class DealIdPage:
    """One page of a CRM's deal ids (`open_deal_ids`), with how many the CRM said match in all
    (None when it does not say), so a long listing can show its progress."""

    ids: list[str]
    total: int | None = None


@runtime_checkable
class CrmConnector(Protocol):
    name: str  # "hubspot" | "salesforce" | "test"

    def read_deals(self, deal_ids: Sequence[str]) -> dict[str, DealSnapshot | None]:
        """Current state of each deal, keyed by the ids as given; None where the deal no longer
        exists.

        Raises TransientError / PermanentError / CredentialsError when the whole batch cannot
        be read.
        """
        ...

    def write_back(self, items: Sequence[DealWriteBack]) -> dict[str, WriteOutcome]:
        """Apply each item idempotently; per-deal failures go into WriteOutcome.error."""
        ...

    def complete_tasks(self, task_ids: Sequence[str]) -> dict[str, ConnectorError | None]:
        """Mark these roadmap tasks completed (those of deals deleted or merged away in the
        CRM: the rep has nothing left to do on them), in batches. Keyed by the ids as given:
        None when the CRM holds the task completed now, or no longer has it (deleted: done as
        well); else the error, typed as for any other call (a transient one is retried later).

        Raises TransientError / PermanentError / CredentialsError when none can be sent."""
        ...

    def changed_deal_ids(self, since: datetime | None) -> list[str]:
        """Deals modified since `since`, and deals in won stages (reconciliation)."""
        ...

    def open_deal_ids(self) -> Iterator[DealIdPage]:
        """Every open deal in the CRM, a page at a time (backfill: whoever modified it last)."""
        ...


class _TextExtractor(HTMLParser):
    # Tags that end a line of text, and table cells, which are separated by a space ("SSO" and
    # "needed" in two cells ran together as "SSOneeded"): the note reader's own lists, which it
    # applies to HTML left in a note body.
    BREAKS = BLOCK_TAGS
    CELLS = CELL_TAGS

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.item = False  # a list item opened and its first text not seen yet

    def _separate(self, tag: str) -> None:
        if tag in self.BREAKS:
            self.parts.append("\n")
        elif tag in self.CELLS:
            self.parts.append(" ")

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._separate(tag)
        # A list item keeps its mark ("- "), as a list typed as text does: the note reader reads
        # the items under a heading by it ("Customer requirements:" then "- SCIM by Q1" is the
        # customer's need, not our promise). Put before the item's first text, so a paragraph
        # inside the item does not leave the mark alone on a line.
        if tag == "li":
            self.item = True

    def handle_endtag(self, tag: str) -> None:
        self._separate(tag)
        if tag == "li":  # an empty item: no mark
            self.item = False

    def handle_data(self, data: str) -> None:
        if self.item and data.strip():
            # The mark goes on the text's own line: an editor's "<li>\n    SCIM by Q1" left
            # "-" alone on a line and the item unmarked.
            self.parts.append("\n- ")
            data = data.lstrip()
            self.item = False
        self.parts.append(data)


_UNCLOSED_LT = re.compile(r"<(?![^<>]*>)")


def html_to_text(body: str | None) -> str:
    """A CRM note's HTML (HubSpot note bodies, Salesforce ContentNote content) as the plain
    text notes are read in: block tags end lines, table cells are spaced, character references
    and no-break spaces become the characters they stand for, blank lines go. One parser for
    both CRMs (Salesforce's regex ran table cells together and ate text after a bare '<')."""
    if not body:
        return ""
    # A "<" that no ">" closes before the next "<" is text: escaped here, in one linear pass,
    # before the standard parser sees it. Python's HTMLParser is quadratic on unclosed
    # constructs (CVE-2025-6069: 64 KB of "<a " in a rep's note took 39 s, "<!--" 2 s) and
    # raises on some ("<![<![": AssertionError, the deal's read failed). A parser error left
    # anyway reads the body with every tag as text rather than failing the deal.
    body = _UNCLOSED_LT.sub("&lt;", body)
    parser = _TextExtractor()
    try:
        parser.feed(body)
        parser.close()
    except AssertionError:  # _markupbase on a malformed declaration
        parser = _TextExtractor()
        parser.feed(body.replace("<", "&lt;"))
        parser.close()
    # convert_charrefs=True has already turned each reference into its character, once: a second
    # unescape made a note's literal "&lt;SSO&gt;" (stored as "&amp;lt;SSO&amp;gt;") "<SSO>".
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


# Where a body cut to the CRM's limit says the rest is.
CUT_NOTICE = "\u2026 (cut here: the full list is on the deal's page in roadmap-guard)"


def fit_lines(
    text: str,
    limit: int,
    *,
    escape: Callable[[str], str] = lambda line: line,
    joiner: str = "\n",
) -> str:
    """`text`'s lines, each through `escape`, joined by `joiner`, in at most `limit`
    characters: all of them when they fit, else the first whole lines that fit and
    `CUT_NOTICE`. A task or note body longer than the CRM takes (a deal with hundreds of
    findings) would be refused at every attempt and leave the deal without it; cut at a line,
    the rep reads whole findings and where the rest is."""
    lines = [escape(line) for line in text.split("\n")]
    whole = joiner.join(lines)
    if len(whole) <= limit:
        return whole
    notice = escape(CUT_NOTICE)
    room = limit - len(notice) - len(joiner)
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = len(line) + (len(joiner) if kept else 0)
        if used + cost > room:
            break
        used += cost
        kept.append(line)
    return joiner.join([*kept, notice])[:limit]
