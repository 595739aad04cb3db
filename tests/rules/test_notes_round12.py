"""Round 12 of the notes helper: misreadings of our shipping denied and of marked items that
deny under a heading of promises (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "Won't be shipping" (also "wont", "won’t", "will not be", "can't be") denies the shipping as
# "won't ship" does: no commitment, the "in Q2" then read as "We won't ship in Q2, they need
# SCIM" reads it (the customer's date where they state a need); "isn't" / "aren't shipping"
# as "is not shipping" (a date denied). Each read as our promise by Q2, a block.
NOT_SHIPPING = [
    ("SCIM won't be shipping in Q2", [("scim", False, None, None, False)]),
    ("SCIM won\u2019t be shipping in Q2", [("scim", False, None, None, False)]),
    ("SCIM wont be shipping in Q2", [("scim", False, None, None, False)]),
    ("SCIM will not be shipping in Q2", [("scim", False, None, None, False)]),
    ("SCIM won't be shipping by Q2", [("scim", False, None, None, False)]),
    ("We won't be shipping SCIM by Q2", [("scim", False, None, None, False)]),
    ("We can't be shipping SCIM by Q2", [("scim", False, None, None, False)]),
    ("We won't be shipping in Q2, they need SCIM", [("scim", False, None, Q2, False)]),
    ("They need SCIM; it won't be shipping in Q2", [("scim", False, None, None, False)]),
    ("They need SCIM by Q1; it won't be shipping in Q2", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM won't be shipping in Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM by Q1, won't be shipping in Q2", [("scim", False, None, None, False)]),
    ("They aren't shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They arent shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They weren't shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("SCIM isn't shipping in Q2", [("scim", False, None, None, False)]),
    ("SCIM isn\u2019t shipping in Q2", [("scim", False, None, None, False)]),
    ("We aren't shipping in Q2, they need SCIM", [("scim", False, None, None, False)]),
    # ... our word after it is ours (was by Q2)
    ("SCIM won't be shipping in Q2, we will have it by Q3", [("scim", True, Q3, None, False)]),
    ("SCIM won't be shipping in Q2 but will ship in Q3", [("scim", True, Q3, None, False)]),
    # the "will ship" forms they now agree with, and as they were: "not shipping", the
    # customer's own shipping (round 11), a feature named as what ships, our shipping ahead, a
    # promise before it in the clause, a question
    ("SCIM won't ship in Q2", [("scim", False, None, None, False)]),
    ("SCIM will not ship in Q2", [("scim", False, None, None, False)]),
    ("We won't ship SCIM by Q2", [("scim", False, None, None, False)]),
    ("We won't ship in Q2, they need SCIM", [("scim", False, None, Q2, False)]),
    ("SCIM won't ship in Q2 but will ship in Q3", [("scim", True, Q3, None, False)]),
    ("SCIM is not shipping in Q2", [("scim", False, None, None, False)]),
    ("They are not shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("We are not shipping in Q2, they need SCIM", [("scim", False, None, None, False)]),
    ("We won't be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("We will not be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("We aren't shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("They won't be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They won't be shipping in Q2 and need SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("The customer won't be shipping in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("They are shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They won't be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("SCIM will be shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is shipping in Q2", [("scim", True, Q2, None, False)]),
    ("We will be shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will be shipping in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("We promised SCIM by Q1, isn't shipping in Q2", [("scim", True, Q1, None, False)]),
    ("Are they shipping in Q2? They need SCIM", [("scim", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), NOT_SHIPPING, ids=[c[0][:40] for c in NOT_SHIPPING])
def test_shipping_denied_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# A marked item under a heading of our promises that denies ("- SSO - not promised", "- SSO
# not yet", "- SSO - no commitment"): read as written, no promise, as a line with no mark that
# denies already was (round 11; each read as our promise, a block). A date denied alone
# ("- SCIM: not by Q1") keeps the promise with no date.
DENIED_PROMISE_ITEMS = [
    ("What we promised:\n- SSO - not promised", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO \u2013 not promised", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO: not promised", [("sso", False, None, None, False)]),
    ("What we promised:\n1. SSO - not promised", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO not yet", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - no commitment", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - not a commitment", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - can't commit", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - didn't commit", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - won't ship in Q2", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - not yet, Q3 maybe", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO: not in Q1", [("sso", False, None, None, False)]),
    ("Commitments:\n- SSO - not committed", [("sso", False, None, None, False)]),
    ("Promised for Q2:\n- SSO - not promised", [("sso", False, None, None, False)]),
    (
        "What we promised:\n- SCIM by Q1\n- SSO - not promised",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SSO - not promised\n- Audit log",
        [("sso", False, None, None, False), ("audit", True, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM by Q1, SSO not yet",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    # ... the sentence that denies, not the item's other sentence (SCIM by Q1 as before)
    (
        "What we promised:\n- SCIM - Q1. SSO not yet.",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    # as they were: items that do not deny, a date denied alone, the lines with no mark
    # (round 11), other headings
    ("What we promised:\n- SSO", [("sso", True, None, None, False)]),
    ("What we promised:\n- SCIM - Q1", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM: not by Q1", [("scim", True, None, None, False)]),
    ("What we promised:\n- SSO: not before Q3", [("sso", True, None, None, False)]),
    ("What we promised:\n- SCIM by Q1 - won't slip", [("scim", True, Q1, None, False)]),
    (
        "What we promised:\n- SCIM - Q1\nSSO - not promised",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("What we promised:\nSSO - not promised", [("sso", False, None, None, False)]),
    ("What we promised:\n- They don't need SSO", []),
    ("Requirements:\n- SSO not yet", [("sso", False, None, None, False)]),
    ("Open questions:\n- SSO - not promised", [("sso", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), DENIED_PROMISE_ITEMS, ids=[c[0][:40] for c in DENIED_PROMISE_ITEMS]
)
def test_a_promise_items_denial_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# "No" of something else in an item under a heading of promises is no denial of the promise:
# "- SCIM (no extra cost)" is what we promised (3842c3e read each as a plain dependency, a
# missed promise; the line with no mark was read so since round 11). "No" denies only before
# what the promise would be: a commitment, a promise, a guarantee, a date, an ETA, a plan.
NO_OF_SOMETHING_ELSE = [
    ("What we promised:\n- SCIM - no blockers", [("scim", True, None, None, False)]),
    ("What we promised:\n- SCIM (no extra cost)", [("scim", True, None, None, False)]),
    ("What we promised:\nSCIM (no extra cost)", [("scim", True, None, None, False)]),
    ("What we promised:\n- SCIM - no charge", [("scim", True, None, None, False)]),
    ("What we promised:\n- SCIM - Q1, no setup fee", [("scim", True, Q1, None, False)]),
    # as they were: an item with its own cue, "no" before the promise itself, "not", "n't",
    # a bare "no"
    ("Commitments:\n- SCIM by Q1, no extra cost", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SSO - no commitment", [("sso", False, None, None, False)]),
    ("What we promised:\nSSO - no commitment", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - no ETA", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - no date yet", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - no promise", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - not promised", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - can't commit", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO - no", []),
    ("What we promised:\n- No SSO", [("sso", False, None, None, False)]),
    (
        "What we promised:\nSCIM - Q1\nNo SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NO_OF_SOMETHING_ELSE, ids=[c[0][:40] for c in NO_OF_SOMETHING_ELSE]
)
def test_no_of_something_else_in_a_promise_item_keeps_the_promise(
    body: str, expected: list
) -> None:
    assert readings(body) == expected
