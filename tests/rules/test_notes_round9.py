"""Round 9 of the notes helper: misreadings of a need the customer dropped, the customer's
report of our roadmap, the customer's own shipping and a list item's date before our word
(one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "Dropped by the customer" (or the client, the prospect, them) right after a feature's name:
# the customer's need given up, as bare "Offline mode dropped" already was (round 7): no
# reference (each was a plain dependency, a block through never-built).
DROPPED_BY_THE_CUSTOMER = [
    ("Offline mode dropped by the customer", []),
    ("Offline mode dropped by them", []),
    ("Offline mode dropped by the client", []),
    ("Offline mode dropped by customer", []),
    ("Offline mode: dropped by the customer", []),
    ("Offline mode - dropped by the prospect", []),
    ("Offline mode dropped by the customer for now", []),
    ("Offline mode dropped by the customer.", []),
    ("Offline mode dropped by the customer, SSO still needed", [("sso", False, None, None, False)]),
    (
        "Offline mode dropped by the customer; they need SSO by Q1",
        [("sso", False, None, Q1, False)],
    ),
    ("Requirements:\n- Offline mode dropped by the customer\n- SSO", [("sso", False, None, None, False)]),
    (
        "We will have SCIM by Q1, offline mode dropped by the customer",
        [("scim", True, Q1, None, False)],
    ),
    # as they were: bare "dropped", a date after it (round 8), a negation, a question,
    # another party, more said after the customer, the customer as subject
    ("Offline mode dropped", []),
    ("Offline mode dropped by Q1", [("offline", False, None, None, False)]),
    ("Offline mode not dropped by the customer", [("offline", False, None, None, False)]),
    ("Offline mode dropped by the customer?", [("offline", False, None, None, False)]),
    ("SCIM dropped by the vendor", [("scim", False, None, None, False)]),
    ("Offline mode dropped by the customer in Q1", [("offline", False, None, None, False)]),
    ("Offline mode dropped by the customer's IT team", [("offline", False, None, None, False)]),
    ("The customer dropped offline mode", []),
    ("SCIM dropped in Q2", [("scim", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), DROPPED_BY_THE_CUSTOMER, ids=[c[0][:40] for c in DROPPED_BY_THE_CUSTOMER]
)
def test_a_feature_dropped_by_the_customer_is_no_dependency(body: str, expected: list) -> None:
    assert readings(body) == expected


# The customer's report of our roadmap as a clause of its own before a colon or dash, or
# after "according to" or "per" the customer: their word, not our promise, as "They told us
# SCIM releases in Q2" already was (round 8): a plain dependency (each read as our promise
# by its date, a block).
THEIR_REPORT_SET_APART = [
    ("They told us: SCIM releases in Q2", [("scim", False, None, None, False)]),
    ("They told us: SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("They told us:SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("The customer said: SCIM will be ready by Q2", [("scim", False, None, None, False)]),
    ("Customer mentioned: SCIM is slated for Q2", [("scim", False, None, None, False)]),
    ("They told us: SCIM by Q2", [("scim", False, None, None, False)]),
    ("They said - SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("They said \u2013 SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- They told us: SCIM releases in Q2", [("scim", False, None, None, False)]),
    ("According to the customer, SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("According to the customer SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("According to them, SCIM releases in Q2", [("scim", False, None, None, False)]),
    ("According to their CTO, SCIM will be ready by Q2", [("scim", False, None, None, False)]),
    ("Per the customer, SCIM ships in Q2", [("scim", False, None, None, False)]),
    # ... our word after it is ours
    ("They told us: SCIM releases in Q2; we will have it by Q3", [("scim", True, Q3, None, False)]),
    ("They told us: SCIM releases in Q2, we confirmed", [("scim", True, Q2, None, False)]),
    (
        "According to the customer, SCIM ships in Q2; we will have it by Q3",
        [("scim", True, Q3, None, False)],
    ),
    (
        "According to the customer, SCIM ships in Q2, and we confirmed it",
        [("scim", True, Q2, None, False)],
    ),
    # as they were: our word in the report, told to them, their need, our own sources, a
    # label that is no report, "he" (our rep may be meant), the report in one clause
    ("They told us: we will have SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("They told us - we will have SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("According to the customer, we will have SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("We told them: SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("Told them: SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("They were told: SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("They told us: they need SCIM by Q2", [("scim", False, None, Q2, False)]),
    ("According to the customer, they need SCIM by Q2", [("scim", False, None, Q2, False)]),
    ("According to our PM, SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("According to the roadmap, SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("Per our roadmap, SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("Customer call: SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("Note from them: SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    (
        "They need SSO: SCIM releases in Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "They told us: SSO needed; SCIM releases in Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    ("He said: SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("They told us SCIM releases in Q2", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), THEIR_REPORT_SET_APART, ids=[c[0][:40] for c in THEIR_REPORT_SET_APART]
)
def test_their_report_set_apart_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected
