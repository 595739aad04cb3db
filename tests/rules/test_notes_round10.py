"""Round 10 of the notes helper: misreadings of lines with no list mark under a heading of
needs (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# Short lines with no list mark right under a heading of needs or wishes: its items, as a
# marked list's are ("Requirements:\n- SCIM by Q1" was needed by Q1; with no mark, SCIM read
# as our promise by Q1, a block). The heading's items end at a blank line, another heading,
# a long line, a line of several sentences or a line of our own word ("We will deliver SSO by
# Q2": our promise, and what follows it is read as before).
UNMARKED_ITEMS = [
    (
        "Requirements:\nSCIM by Q1\nSSO",
        [("scim", False, None, Q1, False), ("sso", False, None, None, False)],
    ),
    (
        "Customer requirements:\nSCIM by Q1\nOffline mode",
        [("scim", False, None, Q1, False), ("offline", False, None, None, False)],
    ),
    ("Their must-haves:\nSCIM by Q1", [("scim", False, None, Q1, False)]),
    ("Requirements:\nSCIM by Q1", [("scim", False, None, Q1, False)]),
    ("Requirements:\r\nSCIM by Q1\r\nSSO", [("scim", False, None, Q1, False), ("sso", False, None, None, False)]),
    ("**Requirements:**\nSCIM by Q1", [("scim", False, None, Q1, False)]),
    ("Requirements:\nSSO\nSCIM by Q1", [("sso", False, None, None, False), ("scim", False, None, Q1, False)]),
    ("Requirements:\nSCIM - Q1", [("scim", False, None, Q1, False)]),
    ("Requirements:\nSCIM (Q1)\nAudit log (Q2)", [("scim", False, None, Q1, False), ("audit", False, None, Q2, False)]),
    ("Requirements:\nSSO\n- SCIM by Q1", [("sso", False, None, None, False), ("scim", False, None, Q1, False)]),
    ("Requirements:\nSCIM by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Nice to have:\nOffline mode by Q1", [("offline", False, None, Q1, True)]),
    (
        "Requirements:\nSCIM by Q1\nWe will deliver SSO by Q2",
        [("scim", False, None, Q1, False), ("sso", True, Q2, None, False)],
    ),
    (
        "Requirements:\nSCIM by Q1\nThey need SSO by Q2",
        [("scim", False, None, Q1, False), ("sso", False, None, Q2, False)],
    ),
    # ... a blank line ends them (SSO our promise)
    (
        "Requirements:\nSCIM by Q1\n\nWe will have SSO by Q2",
        [("scim", False, None, Q1, False), ("sso", True, Q2, None, False)],
    ),
    # as they were: the item's own word (as with a mark), no heading of needs, a blank line
    # (also right after the heading: a paragraph, as "<p>Requirements:</p><p>SCIM by Q1</p>"
    # is), our own word as a line of its own and what follows it, another heading, a line of
    # several sentences, a marked list ended by a line with no mark (headings of promises and
    # questions: test_notes_round11.py)
    ("Requirements:\nSCIM will ship by Q2", [("scim", True, Q2, None, False)]),
    ("Next steps:\nSCIM by Q1", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1\nSSO", [("scim", True, Q1, None, False), ("sso", False, None, None, False)]),
    (
        "Requirements:\nSSO\n\nSCIM by Q1",
        [("sso", False, None, None, False), ("scim", True, Q1, None, False)],
    ),
    ("Requirements:\n\nSCIM by Q1", [("scim", True, Q1, None, False)]),
    ("<p>Requirements:</p><p>SCIM by Q1</p>", [("scim", True, Q1, None, False)]),
    ("Requirements:\nWe will deliver SSO by Q2", [("sso", True, Q2, None, False)]),
    ("Requirements:\nWe'll have SCIM by Q1.", [("scim", True, Q1, None, False)]),
    ("Requirements:\nTold them SSO by Q2", [("sso", True, Q2, None, False)]),
    (
        "Requirements:\nSSO\nWe will deliver SCIM by Q2\nAudit log by Q3",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False), ("audit", True, Q3, None, False)],
    ),
    (
        "Requirements:\nSSO\nNext steps:\nSCIM by Q1",
        [("sso", False, None, None, False), ("scim", True, Q1, None, False)],
    ),
    (
        "Requirements:\nSCIM by Q1. We will have SSO by Q2.",
        [("scim", True, Q1, None, False), ("sso", True, Q2, None, False)],
    ),
    (
        "Requirements:\n- SSO\nSCIM by Q1",
        [("sso", False, None, None, False), ("scim", True, Q1, None, False)],
    ),
    ("Requirements:\n- SCIM by Q1", [("scim", False, None, Q1, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), UNMARKED_ITEMS, ids=[c[0][:40] for c in UNMARKED_ITEMS]
)
def test_unmarked_lines_under_a_heading_of_needs_are_its_items(body: str, expected: list) -> None:
    assert readings(body) == expected


# Under a heading of needs, a feature needed by a date, then after a comma our own word with
# a date of its own: the first date is the customer's, the second ours, as "- SCIM by Q1, will
# ship by Q2" (round 9) and "- SCIM needed by Q1; will ship by Q2" already were (the need
# word's clause took both dates and its first, Q1, read as our promised date too).
NEEDED_THEN_OUR_WORD = [
    ("Requirements:\n- SCIM needed by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM required by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM is needed by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Must-haves:\n- SCIM needed by Q1, will ship in Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, will be ready by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM must be ready by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- They need SCIM by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Nice to have:\n- SCIM needed by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\nSCIM needed by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    (
        "Requirements:\n- SCIM needed by Q1, will ship by Q2\n- SSO",
        [("scim", True, Q2, Q1, False), ("sso", False, None, None, False)],
    ),
    (
        "Requirements:\n- SCIM and SSO needed by Q1, will ship by Q2",
        [("scim", True, Q2, Q1, False), ("sso", True, Q2, Q1, False)],
    ),
    # as they were: the semicolon, our subject, a launch whose subject is not said, our word
    # with no date of ours, or about another feature, what is not our word, a need word after
    # the cut, no heading, headings of promises and questions (not decided here)
    ("Requirements:\n- SCIM needed by Q1; will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, we will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, will launch by Q2", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, will ship", [("scim", True, Q1, Q1, False)]),
    (
        "Requirements:\n- SCIM needed by Q1, SSO will ship by Q2",
        [("scim", False, None, Q1, False), ("sso", True, Q2, None, False)],
    ),
    ("Requirements:\n- SCIM needed by Q1, will follow up next week", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, ETA Q2", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, won't ship by Q2", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM needed by Q1, will ship by Q2?", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will ship by Q2, needed by Q3", [("scim", True, Q1, None, False)]),
    ("Requirements:\n- SCIM needed, will ship by Q2", [("scim", True, Q2, Q2, False)]),
    ("SCIM needed by Q1, will ship by Q2", [("scim", True, Q1, Q1, False)]),
    ("What we promised:\n- SCIM needed by Q1, will ship by Q2", [("scim", True, Q1, Q1, False)]),
    ("Open questions:\n- SCIM needed by Q1, will ship by Q2", [("scim", True, Q1, Q1, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NEEDED_THEN_OUR_WORD, ids=[c[0][:40] for c in NEEDED_THEN_OUR_WORD]
)
def test_a_list_items_need_date_before_our_word_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# "Will be shipping" (also "'ll be", "going to be") after the customer's subject, with nothing
# of ours named as what ships: the customer shipping their own product, their date when they
# state a need, as "They will ship their app in Q2 and need SCIM" already was (round 9; each
# read as our promise by Q2, a block, and the need's date was lost).
THEY_WILL_BE_SHIPPING = [
    ("They will be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They'll be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are going to be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They're going to be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer will be shipping in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Customer will be shipping in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("Their app will be shipping in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("Their team will be shipping in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("They will be shipping in Q2 and need SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("The customer will be shipping in Q2 with SCIM", [("scim", False, None, None, False)]),
    (
        "Requirements:\n- They will be shipping in Q2 and need SCIM",
        [("scim", False, None, Q2, False)],
    ),
    # ... our word after it is ours
    (
        "They will be shipping in Q2 and need SCIM; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: "they" with no need (our team may be meant), a feature or we as the
    # subject, "it", a question, "will ship" ("are shipping" and "won't be shipping":
    # test_notes_round11.py)
    ("They will be shipping in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("SCIM: talked to product, they will be shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will be shipping in Q2", [("scim", True, Q2, None, False)]),
    ("Their SCIM will be shipping in Q2", [("scim", True, Q2, None, False)]),
    ("We will be shipping in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("We'll be shipping in Q2 and they need SCIM", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it will be shipping in Q2", [("scim", True, Q2, None, False)]),
    ("Will they be shipping in Q2? They need SCIM", [("scim", False, None, None, False)]),
    ("SCIM shipping in Q2", [("scim", True, Q2, None, False)]),
    ("They will ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), THEY_WILL_BE_SHIPPING, ids=[c[0][:40] for c in THEY_WILL_BE_SHIPPING]
)
def test_the_customers_own_shipping_ahead_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# "Dropped by the customer" (them, the client, the prospect), then a date ending the clause:
# when the customer gave the need up, as "Offline mode dropped by the customer" already was
# (round 9): no reference. The date is neither our promise (each read as our promise by
# Q1, a block) nor their need; "in Q1" was a plain dependency (not decided in round 9).
DROPPED_BY_THE_CUSTOMER_ON_A_DATE = [
    ("Offline mode dropped by the customer by Q1", []),
    ("Offline mode dropped by the customer by Q1.", []),
    ("Offline mode dropped by the customer before Q1", []),
    ("Offline mode dropped by them by Q1", []),
    ("Offline mode dropped by the client by March", []),
    ("Offline mode dropped by customer by Q1", []),
    ("Offline mode: dropped by the customer by Q1", []),
    ("Offline mode - dropped by the prospect by Q1", []),
    ("Offline mode dropped by the customer next quarter", []),
    ("Offline mode dropped by the customer by end of Q1", []),
    ("Offline mode dropped by the customer in Q1", []),
    ("Offline mode dropped by the customer by Q1, SSO still needed", [("sso", False, None, None, False)]),
    ("Offline mode dropped by the customer by Q1 but SSO needed", [("sso", False, None, None, False)]),
    (
        "Offline mode dropped by the customer by Q1; they need SSO by Q2",
        [("sso", False, None, Q2, False)],
    ),
    ("Requirements:\n- Offline mode dropped by the customer by Q1", []),
    ("Requirements:\n- Offline mode dropped by the customer by Q1\n- SSO", [("sso", False, None, None, False)]),
    # ... our word elsewhere stays ours
    (
        "Offline mode dropped by the customer by Q1; we will have SCIM by Q2",
        [("scim", True, Q2, None, False)],
    ),
    (
        "Offline mode: dropped by the customer by Q1, we will have SSO by Q2",
        [("sso", True, Q2, None, False)],
    ),
    (
        "We will have SCIM by Q1, offline mode dropped by the customer by Q2",
        [("scim", True, Q1, None, False)],
    ),
    # as they were: a negation, a question, another party, no date after the customer ("by
    # default"), more after the date, more after the customer, a future drop, the customer as
    # subject, no agent (round 8), the bare form (round 9)
    ("Offline mode not dropped by the customer by Q1", [("offline", True, Q1, None, False)]),
    ("Offline mode dropped by the customer by Q1?", [("offline", False, None, None, False)]),
    ("SCIM dropped by the vendor by Q1", [("scim", False, None, None, False)]),
    ("Offline mode dropped by the customer by default", [("offline", False, None, None, False)]),
    ("Offline mode dropped by the customer in Q1 planning", [("offline", False, None, None, False)]),
    (
        "Offline mode dropped by the customer by Q1 as we will ship it by Q2",
        [("offline", True, Q1, None, False)],
    ),
    ("Offline mode dropped by the customer's IT team by Q1", [("offline", True, Q1, None, False)]),
    ("Offline mode will be dropped by the customer by Q1", [("offline", True, Q1, None, False)]),
    ("The customer dropped offline mode by Q1", []),
    ("Offline mode dropped by Q1", [("offline", False, None, None, False)]),
    ("Offline mode dropped by the customer", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    DROPPED_BY_THE_CUSTOMER_ON_A_DATE,
    ids=[c[0][:40] for c in DROPPED_BY_THE_CUSTOMER_ON_A_DATE],
)
def test_a_feature_dropped_by_the_customer_on_a_date_is_no_dependency(
    body: str, expected: list
) -> None:
    assert readings(body) == expected
