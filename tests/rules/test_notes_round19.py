"""Round 19 of the notes helper: misreadings of "no" before a feature after our word ("We will
have no SSO in Q1") or before another feature ("No SSO, SCIM by Q2"), and of the customer's go-live or shipping
after "whereas" or "only" ("They need SCIM whereas will ship their app in Q2"), and of "no" of
a feature after a question ('Open questions:\nSCIM by Q1\nNo SSO') (one table per fix, with the
close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "no" right after our word and right before a feature, with a date, a joint or nothing after
# it ("We will have no SSO", "We will have no SSO in Q1") denies what our word says, as "We will
# not have SSO" does: a plain dependency. Each made SSO our promise (by Q1 after "in Q1", by Q3
# after "until Q3"), a commitment and a block. A feature named after it is a part of its own.
NO_FEATURE_AFTER_OUR_WORD = [
    # (moved from test_notes_round18.py, where they pinned SSO our promise, not decided there)
    ("We will have no SSO in Q1", [("sso", False, None, None, False)]),
    ("We will have no SSO until Q3", [("sso", False, None, None, False)]),
    ("We will have no SSO", [("sso", False, None, None, False)]),
    (
        "We will have no SSO in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # (new)
    ("We will have no SSO.", [("sso", False, None, None, False)]),
    ("We will have no SSO support", [("sso", False, None, None, False)]),
    ("We promised no SSO", [("sso", False, None, None, False)]),
    ("We promised no SSO in Q1", [("sso", False, None, None, False)]),
    ("We will ship no SSO in Q1", [("sso", False, None, None, False)]),
    (
        "We will have no SSO, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We will have no SSO and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We will have no SSO but SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We will have no SSO or SCIM",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    ("What we promised:\n- We will have no SSO", [("sso", False, None, None, False)]),
    # ... our word after it is ours (was by Q1)
    ("We will have no SSO in Q1, we will have it by Q2", [("sso", True, Q2, None, False)]),
    # ... what stays
    ("We will have no SSO by Q1", [("sso", False, None, None, False)]),
    (
        "We will have no SSO by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    ("We will not have SSO in Q1", [("sso", False, None, None, False)]),
    ("We will have SSO in Q1", [("sso", True, Q1, None, False)]),
    ("We will have SSO until Q3", [("sso", True, Q3, None, False)]),
    ("We will have SCIM and no SSO", [("scim", True, None, None, False)]),
    ("No SSO in Q1", [("sso", False, None, None, False)]),
    # (not decided here: "no" of something else named after the feature)
    ("We will have no SSO downtime", [("sso", True, None, None, False)]),
    ("We will have no SSO issues by Q1", [("sso", True, Q1, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_FEATURE_AFTER_OUR_WORD,
    ids=[c[0][:40] for c in NO_FEATURE_AFTER_OUR_WORD],
)
def test_no_before_a_feature_after_our_word_denies_it(body: str, expected: list) -> None:
    assert readings(body) == expected


# "No" opening a clause right before a feature with no date, then ", " and another feature ("No
# SSO, SCIM by Q2"): the feature after the comma is a part of its own, as after "No SSO in Q1,"
# (round 18) and "No SSO; ": SSO a plain dependency. Each made SSO our promise by the date of
# the part after it (30 June), a block; under a heading of needs, needed by it.
NO_FEATURE_THEN_ANOTHER = [
    # (moved from test_notes_round18.py, where it pinned SSO our promise by Q2, not decided there)
    (
        "No SSO, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # (new)
    (
        "No SSO, SCIM by Q2, offline mode by Q3",
        [
            ("sso", False, None, None, False),
            ("scim", True, Q2, None, False),
            ("offline", True, Q3, None, False),
        ],
    ),
    (
        "No SSO support, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO, SCIM, offline mode by Q2",
        [
            ("sso", False, None, None, False),
            ("scim", True, Q2, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "No SSO, SCIM and offline mode by Q2",
        [
            ("sso", False, None, None, False),
            ("scim", True, Q2, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "No SSO nor SCIM, offline mode by Q2",
        [
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "Requirements:\n- No SSO, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", False, None, Q2, False)],
    ),
    # ... what stays
    (
        "No SSO, SCIM",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "No SSO, SCIM in Q2",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "No SSO; SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO, but SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO, we will have SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO, they need SCIM by Q2",
        [("sso", False, None, None, False), ("scim", False, None, Q2, False)],
    ),
    (
        "No SSO in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SCIM by Q1; no SSO, offline mode by Q2",
        [("scim", True, Q1, None, False), ("offline", True, Q2, None, False)],
    ),
    ("No SSO needed, SCIM by Q2", [("scim", False, None, Q2, False)]),
    (
        "They need no SSO, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "SSO, SCIM by Q2",
        [("sso", True, Q2, None, False), ("scim", True, Q2, None, False)],
    ),
    # (not decided here: "no" before a list ending in "or", or joined by " and " / " or ")
    (
        "No SSO, SCIM or offline mode by Q2",
        [
            ("sso", True, Q2, None, False),
            ("scim", True, Q2, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "No SSO and SCIM by Q2",
        [("sso", True, Q2, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO or SCIM by Q2",
        [("sso", True, Q2, None, False), ("scim", True, Q2, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_FEATURE_THEN_ANOTHER,
    ids=[c[0][:40] for c in NO_FEATURE_THEN_ANOTHER],
)
def test_no_before_a_feature_then_another_is_only_its_part(body: str, expected: list) -> None:
    assert readings(body) == expected


# The subject left out after "whereas" is that of the clause before, as after "but" and "though"
# (round 16), and "only" may stand before the customer's go-live as "already" does: the date is
# when they need the feature. Each made SCIM our promise by 30 June, a block.
THEIR_DATE_AFTER_WHEREAS_OR_ONLY = [
    # (moved from test_notes_round16.py, where they pinned SCIM our promise by Q2)
    ("They need SCIM whereas will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will only go live in Q2", [("scim", False, None, Q2, False)]),
    # (new)
    ("They need SCIM, whereas will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM whereas will ship by Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM whereas are shipping in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM whereas go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM whereas will go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but only go live in Q2", [("scim", False, None, Q2, False)]),
    (
        "Requirements:\n- They need SCIM whereas will ship their app in Q2",
        [("scim", False, None, Q2, False)],
    ),
    # ... what stays
    ("They need SCIM but will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM though will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and will only go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will only launch in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM whereas we will ship it in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM whereas will ship it in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM but we will only go live in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will only go live in Q2", [("scim", True, Q2, None, False)]),
    (
        "We will have SCIM by Q1 whereas offline mode is not planned",
        [("scim", True, Q1, None, False)],
    ),
    # (not decided here: "only" before their shipping; a need with no subject of theirs)
    ("They need SCIM but will only ship in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is needed whereas will ship their app in Q2", [("scim", True, Q2, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    THEIR_DATE_AFTER_WHEREAS_OR_ONLY,
    ids=[c[0][:40] for c in THEIR_DATE_AFTER_WHEREAS_OR_ONLY],
)
def test_their_date_after_whereas_or_only_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# A line opening with "no" of a feature or of something else ("No SSO", "No date for SSO", "No
# we can't") right after lines with no mark under a heading of questions is no yes: those lines
# stay the heading's questions (plain), as after our no ("No", "No, Q2 at the earliest") and "No
# idea" (rounds 13 and 16). Each made SCIM our promise by 31 March, a block (the question and its
# "answer" were read as written).
NO_OF_A_FEATURE_AFTER_A_QUESTION = [
    # (moved from test_notes_round13.py and test_notes_round16.py, where they pinned SCIM our
    # promise by Q1, "as they were")
    (
        "Open questions:\nSCIM by Q1\nNo SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nSCIM by Q1\nNo ideas", [("scim", False, None, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nNo date for SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    # (new)
    (
        "Open questions:\nSCIM by Q1\nNo SSO by Q1",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nSCIM by Q1\nNo SSO needed", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo we can't do it by Q1", [("scim", False, None, None, False)]),
    (
        "They asked:\nSCIM by Q1\nNo SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    # ... what stays
    ("Open questions:\nSCIM by Q1\nNo", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo, Q2 at the earliest", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo idea", [("scim", False, None, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nNope, SSO first",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nSCIM by Q1\nYes, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nTold them yes, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo problem, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo worries, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo blockers", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo issues", [("scim", True, Q1, None, False)]),
    (
        "Open questions:\n- SCIM by Q1\nNo SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "Open questions:\nSCIM by Q1\nSSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\nSCIM - Q1\nNo SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "Requirements:\nSCIM by Q1\nNo SSO",
        [("scim", False, None, Q1, False), ("sso", False, None, None, False)],
    ),
    (
        "Open questions:\nSCIM by Q1\nNo SSO\nWe will have SCIM by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_OF_A_FEATURE_AFTER_A_QUESTION,
    ids=[c[0][:40] for c in NO_OF_A_FEATURE_AFTER_A_QUESTION],
)
def test_no_of_a_feature_after_a_question_leaves_it_a_question(body: str, expected: list) -> None:
    assert readings(body) == expected
