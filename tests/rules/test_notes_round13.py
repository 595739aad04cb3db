"""Round 13 of the notes helper: misreadings of denials under a heading of what we told them
and of questions answered no (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference

# An item under a heading of what we told them that denies ("- SSO not in Q1", "- SSO: not in
# Q1"): read as written, no promise, as under a heading of promises (round 12); each read as
# our promise by the date denied, a block. And "(not SSO)" is "not SSO", as ", not SSO" is: no
# dependency on SSO (each made SSO our promise by the date of the feature before it).
DENIED_TOLD_ITEMS = [
    ("What we told them:\n- SSO not in Q1", [("sso", False, None, None, False)]),
    ("What we told them:\n- SSO: not in Q1", [("sso", False, None, None, False)]),
    ("What we told them:\n- SSO - not in Q1, maybe Q2", [("sso", False, None, None, False)]),
    ("What we told them:\n- No SSO in Q1", [("sso", False, None, None, False)]),
    ("Told them:\n- SSO not in Q1", [("sso", False, None, None, False)]),
    ("We told them:\n- SSO not in Q1", [("sso", False, None, None, False)]),
    (
        "What we told them:\n- SCIM - Q1\n- SSO not in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("What we promised:\n- SCIM by Q1 (not SSO)", [("scim", True, Q1, None, False)]),
    ("What we told them:\n- SCIM by Q1 (not SSO)", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1 (not SSO)", [("scim", True, Q1, None, False)]),
    ("We will have SCIM by Q1 (not SSO)", [("scim", True, Q1, None, False)]),
    ("We will have SCIM (not SSO) by Q1", [("scim", True, Q1, None, False)]),
    ("They need SCIM by Q1 (not SSO)", [("scim", False, None, Q1, False)]),
    # ... and a label with its date keeps its dependency before "not" of another feature
    # (was no reference at all: read as "Offline mode - not interested")
    ("SCIM - Q1, not SSO", [("scim", False, None, None, False)]),
    ("SCIM - Q1 (not SSO)", [("scim", False, None, None, False)]),
    ("What we promised:\n- SCIM - Q1, not SSO", [("scim", False, None, None, False)]),
    ("Offline mode - they don't need SSO", [("offline", False, None, None, False)]),
    # as they were: round 12's items under promises, the other items of the heading, a date
    # denied alone, "no" of something else, the sentence with no heading, "not" of the label
    ("What we promised:\n- SSO: not in Q1", [("sso", False, None, None, False)]),
    ("What we promised:\n- SSO not in Q1", [("sso", False, None, None, False)]),
    (
        "What we told them:\n- SCIM in Q1\n- SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we told them:\n- SCIM in Q1, SSO not yet",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("What we told them:\n- SCIM in Q1", [("scim", True, Q1, None, False)]),
    ("What we told them:\n- SSO - not promised", [("sso", False, None, None, False)]),
    ("What we told them:\n- SSO not yet", [("sso", False, None, None, False)]),
    ("What we told them:\n- SCIM: not by Q1", [("scim", True, None, None, False)]),
    ("What we told them:\n- SSO in Q2, no extra cost", [("sso", True, Q2, None, False)]),
    ("Told them SSO not in Q1", [("sso", False, None, None, False)]),
    ("SSO not in Q1", [("sso", False, None, None, False)]),
    ("SCIM by Q1, not SSO", [("scim", True, Q1, None, False)]),
    ("They need SCIM, not SSO", [("scim", False, None, None, False)]),
    (
        "They need SCIM (not just SSO)",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("SSO (not yet)", [("sso", False, None, None, False)]),
    ("SSO (not needed)", []),
    ("Offline mode - not interested", [("offline", False, None, None, False)]),
    ("Offline mode - they don't need it", []),
    ("Offline mode: no need", []),
    ("What we promised:\n- SCIM - Q1", [("scim", True, Q1, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), DENIED_TOLD_ITEMS, ids=[c[0][:40] for c in DENIED_TOLD_ITEMS]
)
def test_a_told_items_denial_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Lines with no mark under a heading of questions followed right away by our no ("No", "Nope",
# "Told them no", "A: no"): the heading's questions, as with a mark ("Open questions:\n- SCIM
# by Q1\nNo"); each was read as written, a question and our answer, so "SCIM by Q1" was our
# promise by Q1, a block. A yes ("Yes, by Q1", "Told them yes") still makes it our promise.
QUESTIONS_ANSWERED_NO = [
    ("Open questions:\nSCIM by Q1\nNo", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo.", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNope", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo, Q2 at the earliest", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo - Q2", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nTold them no", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nTold them: no", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nWe said no", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nA: no", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nAnswer: no", [("scim", False, None, None, False)]),
    ("They asked:\nSCIM by Q1\nNo", [("scim", False, None, None, False)]),
    ("They asked:\nSCIM by Q1\nTold them no", [("scim", False, None, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nSSO by Q2\nNo",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    # ... our word after the no is ours, as after a question with a mark
    (
        "Open questions:\nSCIM by Q1\nNo, but we will have it by Q2",
        [("scim", True, Q2, None, False)],
    ),
    (
        "Open questions:\nSCIM by Q1\nNo, SSO by Q2",
        [("scim", False, None, None, False), ("sso", True, Q2, None, False)],
    ),
    # ... a label alone answered no is none, as with a mark and as "Offline mode?\nNo" (was a
    # plain dependency)
    ("Open questions:\nSSO\nNo", []),
    # as they were: a yes, our word with a date, the marked list, no answer, "no" of a feature,
    # the question in a sentence
    ("Open questions:\nSCIM by Q1\nYes, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nYes", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nTold them yes", [("scim", True, Q1, None, False)]),
    ("They asked:\nSCIM by Q1\nTold them yes, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\n- SCIM by Q1", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1", [("scim", False, None, None, False)]),
    ("Open questions:\n- SCIM by Q1\nNo", [("scim", False, None, None, False)]),
    ("Open questions:\n- SCIM by Q1\nTold them yes", [("scim", True, Q1, None, False)]),
    ("Open questions:\n- SSO\nNo", []),
    (
        "Open questions:\nSCIM by Q1\nNo SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nSCIM by Q1\nNo blockers", [("scim", True, Q1, None, False)]),
    ("Will SCIM be ready by Q1? No", [("scim", False, None, None, False)]),
    (
        "Customer asked whether SCIM will be ready by Q1, told them no",
        [("scim", False, None, None, False)],
    ),
    ("SCIM by Q1?\nNo", [("scim", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), QUESTIONS_ANSWERED_NO, ids=[c[0][:40] for c in QUESTIONS_ANSWERED_NO]
)
def test_a_question_answered_no_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected
