"""Round 28, from the findings earlier rounds left alone (the session notes' list): hard-wrapped
e-mail lines, re-dated promises, the told customer at a line's end. Each table says what was
read before and why it was wrong."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2
from .test_sales_language import CATALOG

Q3 = date(2027, 9, 30)
MARCH = date(2027, 3, 31)


def readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, needed_by) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.needed_by)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: a line break was a sentence's end, so an e-mail pasted as it was sent (wrapped at 72
# columns) lost the date on the next line: "by the end of\nQ1" was a promise with no date, never
# checked against the feature's target (or, "SCIM provisioning\nwill be delivered in Q2", no
# promise at all). A line ending in a word no sentence ends with ("of", "and", "your"), or a
# long line with no mark at its end before one starting in lower case, runs on.
WRAPPED = [
    (
        "Hi Dana,\nWe will deliver SCIM provisioning by the end of\nQ1 as agreed.\nThanks",
        [("scim", True, Q1, None)],
    ),
    (
        "Hi Dana,\nwe are committed to shipping SCIM before the end of\nMarch.\nBest",
        [("scim", True, MARCH, None)],
    ),
    (
        "We have committed to deliver the audit log and\nSCIM provisioning by Q2.",
        [("audit", True, Q2, None), ("scim", True, Q2, None)],
    ),
    (
        "Per our call we will have SCIM ready for your\nrollout in Q2.",
        [("scim", True, Q2, None)],
    ),
    (
        "Following up on yesterday's call: we can confirm that SCIM provisioning\nwill be "
        "delivered in Q2 as promised.",
        [("scim", True, Q2, None)],
    ),
    # a quoted reply's lines at the same depth; a list item's wrapped line
    (
        "> We will deliver SCIM provisioning by the end of\n> Q1 as agreed.",
        [("scim", True, Q1, None)],
    ),
    (
        "- We will deliver SCIM provisioning by the end of\n  Q1 as agreed.",
        [("scim", True, Q1, None)],
    ),
    # kept apart: short lines of a terse list, a heading's items
    ("SCIM by Q1\naudit log by Q2", [("scim", True, Q1, None), ("audit", True, Q2, None)]),
    (
        "Requirements:\nSCIM by Q1\naudit log by Q2",
        [("scim", False, None, Q1), ("audit", False, None, Q2)],
    ),
    # a quoted line does not run into our answer below it
    (
        "On Tue, Dana wrote:\n> Can you confirm you will have SCIM ready by the end of\n> March "
        "for our rollout?\nYes, confirmed.",
        [("scim", True, MARCH, None)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), WRAPPED)
def test_a_hard_wrapped_sentence_is_read_whole(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a promise re-dated in the same sentence kept its first date ("promised for Q1, now
# Q2" was checked as Q1: a block for a date the customer no longer expects, or none when the new
# date is past the target). The new date replaces the old, earlier or later.
REDATED = [
    ("SCIM was promised for Q1, now Q2.", [("scim", True, Q2, None)]),
    ("SCIM promised Q1, now Q2.", [("scim", True, Q2, None)]),
    ("We promised SCIM for Q1 but it's now Q2.", [("scim", True, Q2, None)]),
    ("We promised SCIM by Q1; updated the customer that it's Q2 now.", [("scim", True, Q2, None)]),
    ("Committed SCIM for Q1, pushed to Q2 after the eng review.", [("scim", True, Q2, None)]),
    ("We committed to SCIM in Q3, since pulled in to Q2.", [("scim", True, Q2, None)]),
    # two promises, two dates: nothing re-dated
    (
        "We promised SCIM by Q1 and the audit log by Q2.",
        [("scim", True, Q1, None), ("audit", True, Q2, None)],
    ),
    # a range stays its later end
    ("We promised SCIM in Q1 or Q2.", [("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), REDATED)
def test_a_re_dated_promise_has_its_new_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the told customer ending a terse line ("SCIM pushed to Q3, customer informed"), or "told
# em", was no promise: the date they were told was never checked against the target.
TOLD = [
    ("SCIM was Q1, now Q2 - customer informed.", [("scim", True, Q2, None)]),
    ("SCIM pushed to Q3, customer informed.", [("scim", True, Q3, None)]),
    ("SCIM Q3 - customer notified", [("scim", True, Q3, None)]),
    ("We met Dana today. SCIM Q3, customer informed.", [("scim", True, Q3, None)]),
    ("SCIM Q2, told em.", [("scim", True, Q2, None)]),
    ("Told em SCIM in Q2.", [("scim", True, Q2, None)]),
    # their need, and no date: what they were told is not said
    ("They need SCIM by Q1, customer informed.", [("scim", False, None, Q1)]),
    ("We discussed SCIM, customer informed.", [("scim", False, None, None)]),
    ("told em we cant do SCIM", [("scim", False, None, None)]),
]


@pytest.mark.parametrize(("body", "expected"), TOLD)
def test_the_told_customer_ending_a_terse_line_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected
