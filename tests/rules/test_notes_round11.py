"""Round 11 of the notes helper: misreadings of our own shipping ahead (one table per fix,
with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference

# "We will be shipping SCIM in Q2" (also "we'll be", "we shall be", "we are / we're going to
# be"; delivering, adding, building, as "we're delivering SCIM" is): our word, a commitment,
# as "We will ship SCIM in Q2" already was (each read as a plain dependency: "shipping" with
# no "in" right after it was no cue after "will be").
WE_WILL_BE_SHIPPING = [
    ("We will be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We'll be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We\u2019ll be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We shall be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We are going to be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We're going to be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We\u2019re going to be delivering SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will be shipping SCIM", [("scim", True, None, None, False)]),
    ("We will be shipping the SCIM connector in Q2", [("scim", True, Q2, None, False)]),
    ("We will be delivering SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will be adding SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will be building SCIM in Q2", [("scim", True, Q2, None, False)]),
    (
        "We will be shipping SCIM and SSO in Q2",
        [("scim", True, Q2, None, False), ("sso", True, Q2, None, False)],
    ),
    ("We will be shipping SCIM in Q2; they need it by Q1", [("scim", True, Q2, Q1, False)]),
    ("We will be shipping SCIM, they need it by Q1", [("scim", True, None, Q1, False)]),
    ("They need SCIM, we will be shipping it in Q2", [("scim", True, Q2, None, False)]),
    ("Requirements:\n- We will be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    # as they were: "will ship", "are shipping", a "by" date (already a cue), "shipping in"
    # right after (round 10), negations, questions, a condition, the customer's own shipping
    # and another subject (not decided here: "They will ship SCIM in Q2" is ours), "also" and
    # "I" (not decided here), a sale item shipped
    ("We will ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We are shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will be shipping SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("We are going to be shipping SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("We will be shipping in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("We'll be shipping in Q2 and they need SCIM", [("scim", True, Q2, None, False)]),
    ("We won't be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("We will not be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("Will we be shipping SCIM in Q2?", [("scim", False, None, None, False)]),
    ("We will be shipping SCIM in Q2?", [("scim", False, None, None, False)]),
    ("If we will be shipping SCIM in Q2, they sign", [("scim", False, None, None, False)]),
    ("They will be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("We will also be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("I will be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    (
        "We will be shipping the proposal by Friday, they need SCIM",
        [("scim", False, None, None, False)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), WE_WILL_BE_SHIPPING, ids=[c[0][:40] for c in WE_WILL_BE_SHIPPING]
)
def test_our_shipping_ahead_is_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected
