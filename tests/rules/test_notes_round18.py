"""Round 18 of the notes helper: misreadings of "no" before a feature and a date ("No SSO in
Q1, SCIM by Q2") (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "No" opening a clause right before a feature and a date ("No SSO in Q1") denies the date, as
# "No SSO in Q1" alone reads: a plain dependency. A feature named after the next ", " or " and "
# is a part of its own, so a promise there is not the denied feature's: each made SSO our
# promise by its own date (31 March; 30 September after "until Q3"; 31 December after "this
# quarter"), a block; offline mode in the item under promises likewise.
NO_FEATURE_WITH_A_DATE_THEN_ANOTHER = [
    (
        "No SSO in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO in Q1 and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO until Q3, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO this quarter, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO in Q1, SCIM by Q2, offline mode by Q3",
        [
            ("sso", False, None, None, False),
            ("scim", True, Q2, None, False),
            ("offline", True, Q3, None, False),
        ],
    ),
    (
        "SCIM by Q1; no SSO in Q1, offline mode by Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    # (moved from test_notes_round16.py, where it pinned SSO our promise by Q1, not decided there)
    (
        "What we promised:\n- SCIM - Q1; no SSO in Q1, offline mode in Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO in Q1 and offline mode in Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    # ... what stays
    ("No SSO in Q1", [("sso", False, None, None, False)]),
    (
        "No SSO in Q1; SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO in Q1, but SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO in Q1, SCIM in Q2",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    ("No SSO in Q1, we will have it by Q2", [("sso", True, Q2, None, False)]),
    (
        "SSO in Q1, SCIM by Q2",
        [("sso", True, Q1, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "They need no SSO in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "Requirements:\n- No SSO in Q1, SCIM by Q2",
        [("sso", False, None, Q1, False), ("scim", False, None, Q2, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO in Q1; offline mode in Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "SCIM by Q1, no SSO in Q1, offline mode by Q2",
        [("scim", True, Q1, None, False), ("offline", True, Q2, None, False)],
    ),
    # ("No SSO, SCIM by Q2", "We will have no SSO in Q1, SCIM by Q2": decided in
    # test_notes_round19.py)
]


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_FEATURE_WITH_A_DATE_THEN_ANOTHER,
    ids=[c[0][:40] for c in NO_FEATURE_WITH_A_DATE_THEN_ANOTHER],
)
def test_no_before_a_feature_and_a_date_is_only_its_part(body: str, expected: list) -> None:
    assert readings(body) == expected


# "No" right before a feature named right before a date cue that "not" before denies denies the
# date, as "No SSO by Q1" reads since round 17, also after our word about that feature ("We
# will have no SSO by Q1": we will not have it by then) and with "support" after the name. Each
# read as our promise by Q1, a block.
NO_FEATURE_BY_A_DATE_AFTER_OUR_WORD = [
    # (moved from test_notes_round17.py, where they pinned SSO our promise by Q1)
    ("We will have no SSO by Q1", [("sso", False, None, None, False)]),
    ("We promised no SSO by Q1", [("sso", False, None, None, False)]),
    ("No SSO support by Q1", [("sso", False, None, None, False)]),
    ("We will have no SSO support by Q1", [("sso", False, None, None, False)]),
    ("We will have no SSO before Q3", [("sso", False, None, None, False)]),
    ("What we promised:\n- We will have no SSO by Q1", [("sso", False, None, None, False)]),
    (
        "We will have no SSO by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We promised no SSO by Q1 and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We will have no SSO by Q1 but SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # ... our word after it is ours (was by Q1)
    ("We will have no SSO by Q1, we will have it by Q2", [("sso", True, Q2, None, False)]),
    # ... what stays
    ("We will have SCIM, no SSO by Q1", [("scim", True, Q1, None, False)]),
    ("We will have SCIM and no SSO by Q1", [("scim", True, Q1, None, False)]),
    ("We will have SCIM by Q1 and no SSO by Q1", [("scim", True, Q1, None, False)]),
    ("We will have SSO by Q1, no SCIM by Q1", [("sso", True, Q1, None, False)]),
    (
        "We promised SCIM; no SSO by Q1",
        [("scim", True, None, None, False), ("sso", False, None, None, False)],
    ),
    ("We will have SSO by Q1", [("sso", True, Q1, None, False)]),
    ("SSO support by Q1", [("sso", True, Q1, None, False)]),
    ("Now SSO support by Q1", [("sso", True, Q1, None, False)]),
    ("No extra cost for SSO by Q1", [("sso", True, Q1, None, False)]),
    ("No SSO support in Q1", [("sso", False, None, None, False)]),
    ("No SSO support needed by Q1", []),
    ("Requirements:\n- No SSO support by Q1", [("sso", False, None, Q1, False)]),
    ("They need no SSO by Q1", [("sso", False, None, None, False)]),
    ("We will not have SSO by Q1", [("sso", False, None, None, False)]),
    # ("We will have no SSO in Q1", "... until Q3", "We will have no SSO": decided in
    # test_notes_round19.py)
]


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_FEATURE_BY_A_DATE_AFTER_OUR_WORD,
    ids=[c[0][:40] for c in NO_FEATURE_BY_A_DATE_AFTER_OUR_WORD],
)
def test_no_before_a_feature_by_a_date_after_our_word_denies_the_date(
    body: str, expected: list
) -> None:
    assert readings(body) == expected
