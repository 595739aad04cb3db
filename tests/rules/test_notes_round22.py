"""Round 22: a date denied right before it ("not in Q1", "not by Q1", "not in the Q1 release")
was read as the promised date when the promise came before the feature ("We promised SSO not
in Q1": SSO promised by Q1, a false block for a feature planned for Q2), or, with the clause
cut, the next feature's date was taken instead; and "the" before a denied date ("SSO not in
the Q1 release, SCIM by Q2") kept the clause whole, so SCIM's promise was read as SSO's too."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# (note, [(feature, is_commitment, promised_date, needed_by, is_question)])
DENIED_DATE_IS_NO_PROMISED_DATE = [
    ("We promised SSO not in Q1", [("sso", True, None, None, False)]),
    ("We promised SSO not by Q1", [("sso", True, None, None, False)]),
    ("We promised SSO not in the Q1 release", [("sso", True, None, None, False)]),
    ("We'll have SSO, just not in Q1", [("sso", True, None, None, False)]),
    (
        "We promised SSO not in Q1, SCIM by Q2",
        [("sso", True, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We promised SSO not in the Q1 release, SCIM by Q2",
        [("sso", True, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # ... a date right after, correcting the denied one, is the promised date
    ("We promised SSO not in Q1 but by Q2", [("sso", True, Q2, None, False)]),
    ("We promised SSO not in Q1, but Q2", [("sso", True, Q2, None, False)]),
    ("We promised SSO not by Q1, only by Q2", [("sso", True, Q2, None, False)]),
    (
        "We will have SSO not in Q1 but in Q2, SCIM by Q3",
        [("sso", True, Q2, None, False), ("scim", True, Q3, None, False)],
    ),
    # ... what stays: "not until" and "not before" say when it will be
    ("We promised SSO not until Q3", [("sso", True, Q3, None, False)]),
    ("We promised SSO not before Q2", [("sso", True, Q2, None, False)]),
    ("We promised SSO by Q1", [("sso", True, Q1, None, False)]),
    ("We can't promise SSO by Q1", [("sso", False, None, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    DENIED_DATE_IS_NO_PROMISED_DATE,
    ids=[c[0][:60] for c in DENIED_DATE_IS_NO_PROMISED_DATE],
)
def test_a_denied_date_is_not_the_promised_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# "the" before the denied date: the clause is cut after it as without ("SSO not in Q1, SCIM by
# Q2", round 21). SSO was promised by Q2 (SCIM's date) in each.
THE_BEFORE_A_DENIED_DATE = [
    (
        "SSO not in the Q1 release, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not in the Q1 release and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO is not in the Q1 release, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not until the Q3 release, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # ... what stays
    ("SSO not in the Q1 release", [("sso", False, None, None, False)]),
    (
        "SSO by Q1 and SCIM not in the Q1 release",
        [("sso", True, Q1, None, False), ("scim", False, None, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    THE_BEFORE_A_DENIED_DATE,
    ids=[c[0][:60] for c in THE_BEFORE_A_DENIED_DATE],
)
def test_the_before_a_denied_date_still_cuts_the_clause(body: str, expected: list) -> None:
    assert readings(body) == expected
