"""Round 9 of the notes helper: misreadings of a need the customer dropped, the customer's
report of our roadmap, the customer's own shipping and a list item's date before our word
(one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, readings  # the same reading of each reference

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
