"""Round 17 of the notes helper: misreadings of "no" before a feature named right before its
date cue ("No SSO by Q1") (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "No" before a feature named right before a date cue ("by", "before", "next", "shipping":
# those "not" before denies) denies the date, not the feature, as "SSO: not by Q1" does and as
# "No SSO in Q1" reads: a plain dependency, no commitment. Each read as our promise by the date,
# a block; "it" after it is promised again ("No SSO by Q1, we will have it by Q2": by Q2, was by
# Q1). Under a heading of needs the date stays theirs, as in "Requirements:\n- No SSO in Q1".
NO_FEATURE_BY_A_DATE = [
    ("No SSO by Q1", [("sso", False, None, None, False)]),
    ("No SCIM by Q1", [("scim", False, None, None, False)]),
    ("No SSO before Q3", [("sso", False, None, None, False)]),
    ("No SSO next quarter", [("sso", False, None, None, False)]),
    ("No SSO by March", [("sso", False, None, None, False)]),
    ("No SSO by end of Q1", [("sso", False, None, None, False)]),
    ("No SSO shipping in Q1", [("sso", False, None, None, False)]),
    ("No SSO in time for launch", [("sso", False, None, None, False)]),
    ("We have no SSO by Q1", [("sso", False, None, None, False)]),
    ("There is no SSO by Q1", [("sso", False, None, None, False)]),
    (
        "SCIM by Q1 - no SSO by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SCIM by Q1; no SSO by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SCIM by Q1; no SSO before Q3",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "We will have SCIM by Q1; no SSO by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "No SSO by Q1 but SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "They need SCIM by Q1; no SSO by Q1",
        [("scim", False, None, Q1, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO before Q3",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    # (moved from test_notes_round16.py, where it pinned SSO our promise by Q1)
    (
        "What we promised:\n- SCIM - Q1 - no SSO by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("What we promised:\n- No SSO by Q1", [("sso", False, None, None, False)]),
    (
        "What we told them:\n- SCIM in Q1; no SSO by Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    # ... only its part: a feature named after it keeps its own reading
    (
        "No SSO by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO by Q1 and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO by Q1; SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SCIM by Q1; no SSO by Q1, offline mode by Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO by Q1, offline mode in Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    # ... our word after it is ours (was by Q1)
    ("No SSO by Q1, we will have it by Q2", [("sso", True, Q2, None, False)]),
    ("No SSO by Q1. We will have it by Q2.", [("sso", True, Q2, None, False)]),
    (
        "SCIM by Q1; no SSO by Q1, we will have it by Q2",
        [("scim", True, Q1, None, False), ("sso", True, Q2, None, False)],
    ),
    # as they were: "in", "until", "till", a need word, a question, a heading of needs, "no"
    # of something else or before two features, "now", "no,", "not", our promise before it
    ("No SSO in Q1", [("sso", False, None, None, False)]),
    ("No SSO until Q3", [("sso", False, None, None, False)]),
    ("No SSO till Q3", [("sso", False, None, None, False)]),
    (
        "SCIM by Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("SCIM: not by Q1", [("scim", False, None, None, False)]),
    ("No SSO by Q1?", [("sso", False, None, None, False)]),
    ("No SSO by Q1 is a dealbreaker", [("sso", False, None, Q1, False)]),
    ("Dealbreaker if no SSO by Q1", [("sso", False, None, Q1, False)]),
    ("Dealbreaker: no SSO by Q1", [("sso", False, None, Q1, False)]),
    ("No SSO needed by Q1", []),
    ("They need no SSO by Q1", [("sso", False, None, None, False)]),
    ("Requirements:\n- No SSO by Q1", [("sso", False, None, Q1, False)]),
    ("Must have:\n- No SSO by Q1", [("sso", False, None, Q1, False)]),
    ("Nice to have:\n- No SSO by Q1", [("sso", False, None, Q1, True)]),
    (
        "Requirements:\n- SCIM by Q1; no SSO by Q1",
        [("scim", False, None, Q1, False), ("sso", False, None, Q1, False)],
    ),
    ("Open questions:\n- No SSO by Q1", [("sso", False, None, None, False)]),
    ("No extra cost for SSO by Q1", [("sso", True, Q1, None, False)]),
    (
        "No SSO and SCIM by Q1",
        [("sso", True, Q1, None, False), ("scim", True, Q1, None, False)],
    ),
    ("Now SSO by Q1", [("sso", True, Q1, None, False)]),
    ("No, SSO by Q1", [("sso", True, Q1, None, False)]),
    ("SSO by Q1", [("sso", True, Q1, None, False)]),
    # ("No SSO support by Q1", "We promised no SSO by Q1", "We will have no SSO by Q1" moved to
    # test_notes_round18.py: no commitment now)
    ("SCIM by Q1, no SSO by Q1", [("scim", True, Q1, None, False)]),
    ("SCIM by Q3; no SSO in Q1", [("scim", True, Q3, None, False), ("sso", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NO_FEATURE_BY_A_DATE, ids=[c[0][:40] for c in NO_FEATURE_BY_A_DATE]
)
def test_no_before_a_feature_before_its_date_denies_the_date(body: str, expected: list) -> None:
    assert readings(body) == expected
