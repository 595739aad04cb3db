"""Round 21 of the notes helper: "not" before a feature's date with no cue of its own ("SSO not
in Q1, SCIM by Q2") left the sentence's promise to it, a hedge after a denied date went with
the next feature ("SSO not by Q1, maybe Q2, SCIM by Q3"), and the roadmap's plan after a
feature's label was not hedged ("SSO: planned for Q3") (one table per fix, with the close
phrasings that stay)."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3
from .test_sales_language import CATALOG

Q3_2027 = date(2027, 9, 30)

# "not" before "in", "until" or "till" and a date right after a feature's name ("SSO not in
# Q1") denies only its part, as "not by" ("SSO not by Q1, SCIM by Q2") and "no" ("No SSO in Q1,
# SCIM by Q2") do: the promise after ", " or " and " was read as SSO's too, by the date denied
# (a false block). SCIM read plain in each.
NOT_IN_DATE_PART_ONLY = [
    (
        "SSO not in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not in Q1 and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not until Q3, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not till Q3, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO is not in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO support not in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "- SSO not in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SCIM by Q1; SSO not in Q1, offline mode by Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "SSO not in Q1, SCIM by Q2, offline mode by Q3",
        [
            ("sso", False, None, None, False),
            ("scim", True, Q2, None, False),
            ("offline", True, Q3, None, False),
        ],
    ),
    # ... what stays
    ("SSO not in Q1", [("sso", False, None, None, False)]),
    ("SSO not until Q3", [("sso", False, None, None, False)]),
    (
        "SSO not by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not before Q3, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "No SSO in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO in Q1, SCIM by Q2",
        [("sso", True, Q1, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not in scope, SCIM by Q2",
        [("scim", True, Q2, None, False)],
    ),
    (
        "SCIM by Q2, SSO not in Q1",
        [("scim", True, Q2, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SSO not in Q1 but Q2, SCIM by Q3",
        [("sso", False, None, None, False), ("scim", True, Q3, None, False)],
    ),
    # ... our word before the feature: promised, by no date (round 22)
    (
        "We promised SSO not in Q1, SCIM by Q2",
        [("sso", True, None, None, False), ("scim", True, Q2, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), NOT_IN_DATE_PART_ONLY, ids=[c[0][:60] for c in NOT_IN_DATE_PART_ONLY]
)
def test_not_in_a_features_date_denies_only_its_part(body: str, expected: list) -> None:
    assert readings(body) == expected


def hedged_readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# A date hedged after a feature's date denied ("SSO not by Q1, maybe Q2") is the denied part's:
# the cut before the feature named after it fell at the first ", " or " and ", so the hedge went
# with the next feature's promise (SCIM hedged). The cut is now at the last joint before that
# feature. SCIM was hedged in each.
HEDGE_STAYS_WITH_THE_DENIED_PART = [
    (
        "SSO not by Q1, maybe Q2, SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "SSO not by Q1, maybe Q2 and SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "SSO not by Q1, hopefully Q2, SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "SSO not in Q1, maybe Q2, SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "No SSO by Q1, maybe Q2, SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "No SSO in Q1, maybe Q2, SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "We will have no SSO in Q1, maybe Q2, SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    (
        "SSO not by Q1, maybe Q2, SCIM by Q3, offline mode by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False), ("offline", True, Q3, False)],
    ),
    # ... what stays: a hedge in SCIM's own part
    ("SSO not by Q1, SCIM maybe by Q2", [("sso", False, None, False), ("scim", True, Q2, True)]),
    (
        "SSO not by Q1, SCIM by Q2, maybe Q3",
        [("sso", False, None, False), ("scim", True, Q2, True)],
    ),
    (
        "SSO not by Q1, SCIM by Q3, maybe Q2",
        [("sso", False, None, False), ("scim", True, Q3, True)],
    ),
    ("SSO not by Q1, SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    ("No SSO, SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    ("No SSO until Q3 and SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    (
        "SSO not by Q1, maybe Q2; SCIM by Q3",
        [("sso", False, None, False), ("scim", True, Q3, False)],
    ),
    # ... no denial: the hedge over the sentence, as before
    ("SSO by Q1, maybe Q2, SCIM by Q3", [("sso", True, Q1, True), ("scim", True, Q3, True)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    HEDGE_STAYS_WITH_THE_DENIED_PART,
    ids=[c[0][:60] for c in HEDGE_STAYS_WITH_THE_DENIED_PART],
)
def test_a_hedge_after_a_denied_date_is_the_denied_parts(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


# The roadmap's plan after a feature's label and a colon ("SSO: planned for Q3") is hedged, as
# "SSO is planned for Q3" is (round 20): still a commitment, marked `hedged`. Each was a firm
# promise. Only right after the colon of a label that ends with the feature's name.
LABELLED_PLAN_HEDGED = [
    ("SSO: planned for Q3", [("sso", True, Q3, True)]),
    ("SSO: scheduled for Q3", [("sso", True, Q3, True)]),
    ("SSO: on the roadmap for Q3", [("sso", True, Q3, True)]),
    ("SSO: on our roadmap for Q3", [("sso", True, Q3, True)]),
    ("SSO support: planned for Q3", [("sso", True, Q3, True)]),
    ("SSO: planned for Q3 2027", [("sso", True, Q3_2027, True)]),
    ("- SSO: planned for Q3", [("sso", True, Q3, True)]),
    ("What we told them:\n- SSO: planned for Q3", [("sso", True, Q3, True)]),
    ("SSO and SCIM: planned for Q3", [("sso", True, Q3, True), ("scim", True, Q3, True)]),
    # ... what stays
    ("SSO is planned for Q3", [("sso", True, Q3, True)]),
    ("SSO planned for Q3", [("sso", True, Q3, False)]),
    ("SSO: promised by Q3", [("sso", True, Q3, False)]),
    ("SSO: by Q3", [("sso", True, Q3, False)]),
    ("SSO: not planned for Q3", [("sso", False, None, False)]),
    ("SSO: we have it planned for Q3", [("sso", True, Q3, False)]),
    ("Demo: scheduled for Monday, SSO by Q2", [("sso", True, Q2, False)]),
    ("We promised SSO by Q2. Kickoff: planned for May.", [("sso", True, Q2, False)]),
    ("SSO by Q2 - kickoff: planned for May", [("sso", True, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), LABELLED_PLAN_HEDGED, ids=[c[0][:60] for c in LABELLED_PLAN_HEDGED]
)
def test_the_roadmaps_plan_after_a_features_label_is_hedged(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected
