"""What the rep reads in the CRM: a one-line status, a task, and a note.

Plain language for a salesperson: what is wrong, what may be said instead (already inside each
finding's message), and how a block is lifted. Approved findings name who approved them.

`closed` says the deal is past the point where the rep can act on the check: "won" (signed, or
closed won with nothing of ours blocking it) or "lost". Then nothing is asked of the rep: no
"before this deal can close", no "to lift a block"; the findings are still listed for the record.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Literal

from app.rules.model import DealSnapshot, EvaluationResult, Finding, Severity, VerdictStatus

Closed = Literal["won", "lost"] | None

SUMMARY_LIMIT = 1000
SUBJECT_LIMIT = 250  # HubSpot's task subject is cut there too
# A promise is read from the deal's notes as they stand: correcting it with the customer and
# logging that in a new note left the promising note, and the block, in place.
HOW_TO_LIFT = (
    "To lift a block, change the deal: remove the line item, or correct the promise with the "
    "customer in writing, then edit or delete the note that makes it (a new note saying it "
    "was corrected does not lift the block). Or ask a product owner to approve it in "
    "roadmap-guard."
)
_LABEL = {Severity.block: "BLOCKER", Severity.warning: "WARNING", Severity.info: "FYI"}


def _unapproved(result: EvaluationResult, severity: Severity) -> list[Finding]:
    return [f for f in result.findings if f.severity == severity and not f.approved]


def _approved(result: EvaluationResult) -> list[Finding]:
    return [f for f in result.findings if f.approved]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _key(f: Finding) -> str:
    return f.feature_name or f.rule_name


def _names(findings: list[Finding]) -> str:
    return ", ".join(dict.fromkeys(_key(f) for f in findings))


def _count(findings: list[Finding], word: str) -> str:
    """How many problems, counted as the names list them: one per feature (an approval covers
    a feature's findings at once). A feature sold on a line item and promised in a note read
    "3 problems ... (Single Sign-On, Offline mode)"."""
    return _plural(len({_key(f) for f in findings}), word)


def _grouped(findings: list[Finding]) -> list[Finding]:
    """The findings with each feature's together, features in the order first found: the
    rep reads one feature's points at once, not interleaved with another's."""
    order = {name: i for i, name in enumerate(dict.fromkeys(_key(f) for f in findings))}
    return sorted(findings, key=lambda f: order[_key(f)])


# Never left at the end of a cut text: a word's joiner, or the opening of what was cut.
_CUT_TRAILING = " \t\n,;:(\"'\u201c\u2018\u200d"


def cut_at_word(text: str, limit: int) -> str:
    """`text` whole, or cut at a word and ended with "\u2026" in at most `limit` characters.
    It was cut at the character: a rep read "the responsive\u2026" for "the responsive web
    app", or half a name, or a letter without its accent."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace():  # inside a word: back to the space before it
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > 0:
            cut = cut[:space]
        else:  # one word longer than the limit: at least not inside a character
            while cut and (
                unicodedata.combining(text[len(cut)]) or text[len(cut)] in "\u200d\ufe0f"
            ):
                cut = cut[:-1]
    return cut.rstrip(_CUT_TRAILING) + "\u2026"


def needs_action(result: EvaluationResult, closed: Closed = None) -> bool:
    """Whether the rep has something to do: an open deal with a block or warning not approved.
    Otherwise the roadmap task is completed (every problem approved, or the deal closed)."""
    return closed is None and any(
        not f.approved and f.severity in (Severity.block, Severity.warning) for f in result.findings
    )


def summary_text(result: EvaluationResult, closed: Closed = None, *, fyi: bool = True) -> str:
    """One short status for a CRM property (at most 1000 characters). `fyi=False`: without
    the FYI findings a clear deal's status quotes (the note lists every finding itself)."""
    blocks = _unapproved(result, Severity.block)
    warnings = _unapproved(result, Severity.warning)
    approved = _approved(result)
    parts: list[str] = []
    fyis: dict[tuple[str, str], str] = {}
    if closed is not None and (blocks or warnings):
        problems = blocks or warnings
        head = (
            f"Roadmap check on a {'signed' if closed == 'won' else 'lost'} deal: "
            f"{_count(problems, 'problem')} ({_names(problems)}); "
        )
        parts.append(
            head
            + (
                "the deal is not blocked. A promise made at signing that is now at risk gets "
                "its own follow-up task."
                if closed == "won"
                else "nothing is asked of you."
            )
        )
        blocks = []  # named above
    elif result.status == VerdictStatus.blocked:
        parts.append(
            f"Blocked by the roadmap check: {_count(blocks, 'problem')} must be fixed or "
            f"approved before this deal can close ({_names(blocks)})."
        )
    elif result.status == VerdictStatus.warning and not (blocks or warnings):
        parts.append(
            "Roadmap check: every problem on this deal is approved"
            # a closed deal: "it may close" was written on signed and lost deals
            + ("; it may close." if closed is None else ".")
        )
    elif result.status == VerdictStatus.warning:
        parts.append("Roadmap warnings: the deal may close, but read the roadmap task first.")
    else:
        checked = len({r.feature_key or r.feature_name for r in result.references})
        counted = f" ({_plural(checked, 'feature')} checked)." if checked else "."
        # A clear deal gets no task: the sidebar is the only place the rep reads what an FYI
        # finding says may be said (a coming-soon feature: mention it, promise no date). It
        # read "nothing in this deal depends on features that are not ready" instead.
        # A closed deal's too: "depends on nothing not ready" was said of a signed deal that
        # sold a coming-soon feature (only its FYI, which a closed deal does not quote).
        # One per feature and rule (a feature named in three notes is one FYI): by feature
        # alone, a RevOps info rule's FYI on a coming-soon feature hid the default pack's (or
        # the other way round), the last found overwriting the first.
        infos = {(_key(f), f.rule_id): f.message for f in _unapproved(result, Severity.info)}
        if infos:
            parts.append(
                "Roadmap check clear: nothing in this deal blocks it or needs a warning" + counted
            )
            if fyi and closed is None:
                fyis = infos
        else:
            parts.append(
                "Roadmap check clear: nothing in this deal depends on features that are not ready"
                + counted
            )
    # A feature already named as a block is not named again as a warning: the rep has one
    # thing to fix about it (the task still lists every finding).
    blocked_names = {f.feature_name or f.rule_name for f in blocks}
    warnings = [f for f in warnings if (f.feature_name or f.rule_name) not in blocked_names]
    if warnings and closed is None:
        parts.append(f"Warnings: {_names(warnings)}.")
    if approved:
        parts.append(
            "Approved: "
            + "; ".join(
                f"{f.feature_name or f.rule_name} by {f.approved_by}"
                # by feature key, or by name for off-roadmap promises (no key): two approved
                # off-roadmap promises read as the last one alone
                for f in {(f.feature_key or _key(f), f.approved_by): f for f in approved}.values()
            )
            + "."
        )
    if fyis:
        return _with_fyis(parts, fyis)
    return cut_at_word(" ".join(parts), SUMMARY_LIMIT)


def _sentence(text: str) -> str:
    """`text` ended as a sentence: a message ending in guidance product wrote without a full
    stop ("... say instead: Offer the CSV import") ran into the next FYI of the summary
    ("Offer the CSV import Mobile app is coming soon")."""
    text = text.rstrip()
    if text and not text.rstrip("\"')]\u201d\u2019").endswith((".", "!", "?", "\u2026")):
        return text + "."
    return text


def _with_fyis(parts: list[str], fyis: dict[tuple[str, str], str]) -> str:
    """A clear deal's status with as many of its FYIs (by feature) as fit whole, naming the
    features whose FYI did not: cut at the limit, the third feature's "What you can say
    instead" stopped mid-sentence, and a clear deal has no task to read the rest in."""
    head, rest = parts[0], parts[1:]
    messages = [_sentence(m) for m in fyis.values()]
    names = [name for name, _rule in fyis]
    for shown in range(len(messages), -1, -1):
        text = head
        if shown:
            text += " FYI: " + " ".join(messages[:shown])
        if shown < len(messages):
            text += (
                f" {'More FYI' if shown else 'FYI'} ({', '.join(dict.fromkeys(names[shown:]))}): "
                "see this deal in roadmap-guard."
            )
        text = " ".join([text, *rest])
        if len(text) <= SUMMARY_LIMIT:
            return text
    return cut_at_word(text, SUMMARY_LIMIT)


def _finding_lines(f: Finding) -> list[str]:
    head = f"[{_LABEL[f.severity]}] {f.message}"
    if f.approved:
        head = f"[APPROVED by {f.approved_by}] {f.message}"
    return [head]


def task_text(
    result: EvaluationResult, snapshot: DealSnapshot, closed: Closed = None
) -> tuple[str, str]:
    """Subject and body of the one roadmap task per deal."""
    deal = snapshot.name or snapshot.deal_id
    blocks = _unapproved(result, Severity.block)
    warnings = _unapproved(result, Severity.warning)
    act = needs_action(result, closed)
    if closed is not None and not act and (blocks or warnings):
        state = f" is closed {closed}, nothing left to do"
    elif result.status == VerdictStatus.blocked:
        state = f" is blocked ({_count(blocks, 'problem')} to fix)"
    elif result.status == VerdictStatus.warning and not act:
        state = " is approved, nothing left to do"
    elif result.status == VerdictStatus.warning:
        state = f" has {_count(warnings, 'warning')}"
    else:
        state = " is clear"
    # A long deal name is shortened, not the state: cut at the end, a deal named at length
    # (HubSpot takes thousands of characters) read "Roadmap check: Acme ... Renewal 2027 - Ph…"
    # in the rep's task list, never saying it was blocked.
    head = "Roadmap check: "
    subject = head + cut_at_word(deal, max(SUBJECT_LIMIT - len(head) - len(state), 20)) + state
    lines: list[str] = []
    if result.status == VerdictStatus.clear:
        lines.append("All roadmap problems on this deal are resolved. Nothing left to do.")
    elif closed is not None and (blocks or warnings):
        lines.append(
            f"This deal is closed {closed}: nothing is left to do here. The roadmap check's "
            "findings are kept below for the record."
        )
    elif not act:
        lines.append("Every roadmap problem on this deal is approved. Nothing left to do.")
    else:
        lines.append(
            "This deal depends on features that are not ready to be sold as described. "
            "Please review each point below."
        )
    for f in _grouped(blocks) + _grouped(warnings):
        lines.append("")
        lines.extend(_finding_lines(f))
    # What may be said of the features that are fine to mention (a coming-soon feature: no
    # date before its target). A blocked or warned deal's rep reads the task, not the summary:
    # a deal blocked over one feature never told them what to say of another it mentioned.
    fyis = {(_key(f), f.message): f for f in _grouped(_unapproved(result, Severity.info))}
    if act and fyis:
        lines.append("")
        lines.append("For your information:")
        for f in fyis.values():
            lines.extend(_finding_lines(f))
    if approved := _approved(result):
        lines.append("")
        lines.append("Already approved:")
        for f in approved:
            lines.extend(_finding_lines(f))
    if blocks and closed is None:
        lines.append("")
        lines.append(HOW_TO_LIFT)
    return cut_at_word(subject, SUBJECT_LIMIT), "\n".join(lines)


def note_text(
    result: EvaluationResult,
    snapshot: DealSnapshot,
    closed: Closed = None,
    *,
    lapsed: Sequence[str] = (),
) -> str:
    """A fuller record for the deal's timeline: verdict, every finding, what was checked;
    `lapsed`: approvals that ended since the last verdict (why a block came back)."""
    status = {
        VerdictStatus.blocked: "BLOCKED",
        VerdictStatus.warning: "WARNING",
        VerdictStatus.clear: "CLEAR",
    }[result.status]
    lines = [f"Roadmap check: {status}", summary_text(result, closed, fyi=False)]
    if lapsed:
        lines.append("Blocked again because " + "; ".join(lapsed) + ".")
    if result.findings:
        # What is still to do first (blockers, warnings, FYI), then what is approved, each
        # feature's findings together: in the engine's order a WARNING note could open with
        # three approved findings and show its one warning last.
        lines.append("")
        for f in [
            *_grouped(_unapproved(result, Severity.block)),
            *_grouped(_unapproved(result, Severity.warning)),
            *_grouped(_unapproved(result, Severity.info)),
            *_grouped(_approved(result)),
        ]:
            lines.extend(_finding_lines(f))
    if result.references:
        lines.append("")
        lines.append("Features this deal depends on:")
        # Each feature once, with every way the deal names it: only the first was said, so
        # a BLOCKED note listed "- SCIM provisioning (note, asked about)" for a deal blocked
        # by a later note promising it, or "(line item)" for one also promised in a note.
        ways: dict[str, dict[str, dict[str, None]]] = {}
        for ref in result.references:
            how = "line item" if ref.source == "line_item" else "note"
            flag = "promised" if ref.is_commitment else "asked about" if ref.is_question else ""
            ways.setdefault(ref.feature_name, {}).setdefault(how, {})[flag] = None
        for name, sources in ways.items():
            said = "; ".join(
                ", ".join([how, *(flag for flag in flags if flag)])
                for how, flags in sources.items()
            )
            lines.append(f"- {name} ({said})")
    if _unapproved(result, Severity.block) and closed is None:
        lines.append("")
        lines.append(HOW_TO_LIFT)
    return "\n".join(lines)
