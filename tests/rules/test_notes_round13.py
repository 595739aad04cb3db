"""Round 13 of the notes helper: misreadings of denials under a heading of what we told them,
of questions answered no and of "isn't shipping" opening a sentence (one table per fix, with
the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

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
    # (their lack of interest: no dependency, as "not interested in offline mode", round 27)
    ("Offline mode - not interested", []),
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
    # ('Open questions:\nSCIM by Q1\nNo SSO': decided in test_notes_round19.py)
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


# "Isn't shipping" (also "isnt", "isn’t", "aren't", "wasn't", "weren't") opening the sentence,
# the feature after it: our shipping denied, as "SCIM isn't shipping in Q2" (round 12) and "-
# Isn't shipping in Q2: SCIM" already were; each read as our promise by Q2, a block.
NOT_SHIPPING_FIRST = [
    ("Isn't shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("Isnt shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("Isn\u2019t shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("Wasn't shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("Isn't shipping in Q2 - SCIM", [("scim", False, None, None, False)]),
    ("Isn't shipping in Q2, SCIM", [("scim", False, None, None, False)]),
    (
        "Aren't shipping in Q2: SCIM, SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Call went well. Isn't shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    (
        "SSO is live\nIsn't shipping in Q2: SCIM",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    ("Requirements:\nIsn't shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    (
        "Isn't shipping in Q2: SCIM. Shipping in Q3: SSO",
        [("scim", False, None, None, False), ("sso", True, Q3, None, False)],
    ),
    # ... our word after it is ours (was by Q2)
    ("Isn't shipping in Q2: SCIM, we will have it by Q3", [("scim", True, Q3, None, False)]),
    ("Isn't shipping in Q2: SCIM. We will have it by Q3.", [("scim", True, Q3, None, False)]),
    # as they were: the forms it now agrees with, our shipping not denied, a promise before it
    ("SCIM isn't shipping in Q2", [("scim", False, None, None, False)]),
    ("- Isn't shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("SCIM: isn't shipping in Q2", [("scim", False, None, None, False)]),
    ("Not shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("Won't be shipping in Q2: SCIM", [("scim", False, None, None, False)]),
    ("They aren't shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("Shipping in Q2: SCIM", [("scim", True, Q2, None, False)]),
    ("Is shipping in Q2: SCIM", [("scim", True, Q2, None, False)]),
    ("Ships in Q2: SCIM", [("scim", True, Q2, None, False)]),
    ("We promised SCIM by Q1, isn't shipping in Q2", [("scim", True, Q1, None, False)]),
    ("Isn't shipping in Q2 but we promised SCIM by Q3", [("scim", True, Q3, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NOT_SHIPPING_FIRST, ids=[c[0][:40] for c in NOT_SHIPPING_FIRST]
)
def test_isnt_shipping_opening_the_sentence_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected
