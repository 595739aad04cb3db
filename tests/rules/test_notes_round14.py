"""Round 14 of the notes helper: misreadings of the customer's own shipping with a word between
its subject and verb, in the plain present and after "and" with its subject left out, and of
"no" before another feature (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "Already", "currently", "still", "now" (also "also") between the customer's subject and its
# shipping ("They are already shipping in Q2", "They will already be shipping", "They already
# will ship their app"): the customer's own shipping, their date when they state a need, as
# "They are shipping in Q2 and need SCIM" (round 11) already was; each read as our promise by
# Q2, a block, and the need's date was lost.
ALREADY_SHIPPING = [
    # (moved from test_notes_round11.py, where it was pinned as our promise by Q2, not decided)
    ("They are already shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are currently shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are still shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are now shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are also shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They're already shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They're still shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer is already shipping in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("The client is currently shipping in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Customer is already shipping in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("Their app is already shipping in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("They will already be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will still be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will be already shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They already will ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are already going to ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are already shipping in Q2 and need SCIM by Q1", [("scim", False, None, Q1, False)]),
    (
        "Requirements:\n- They are already shipping in Q2 and need SCIM",
        [("scim", False, None, Q2, False)],
    ),
    # ... "by Q2": no longer ours, its date not read, as "They are shipping by Q2 and need SCIM"
    ("They are already shipping by Q2 and need SCIM", [("scim", False, None, None, False)]),
    # ... and the need in a clause of its own, as "They need SCIM; they are shipping in Q2"
    ("They need SCIM; they are already shipping in Q2", [("scim", False, None, None, False)]),
    # ... our word after it is ours
    (
        "They are already shipping in Q2 and need SCIM; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: the forms without the word, "they" with no need (our team may be meant), a
    # feature, we or "it" as the subject, a feature named as what ships, a date denied
    ("They are shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They need SCIM; they are shipping in Q2", [("scim", False, None, None, False)]),
    ("They are already shipping in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("They are still shipping in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("SCIM: talked to product, they are already shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is already shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is still shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will still be shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is now going to ship in Q2", [("scim", True, Q2, None, False)]),
    ("Their SCIM is already shipping in Q2", [("scim", True, Q2, None, False)]),
    ("We are already shipping in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("We are already shipping in Q2 and they need SCIM", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it is already shipping in Q2", [("scim", True, Q2, None, False)]),
    ("They are already shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("They are not shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), ALREADY_SHIPPING, ids=[c[0][:40] for c in ALREADY_SHIPPING]
)
def test_the_customers_shipping_with_already_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# "Ship in" / "ships in" (the plain present) after the customer's subject, with nothing of ours
# named as what ships ("They ship in Q2 and need SCIM", "The customer ships in Q2"): the
# customer's own shipping, their date when they state a need, as "They are shipping in Q2 and
# need SCIM" and "They launch in Q2 and need SCIM" already were; each read as our promise by
# Q2, a block, and the need's date was lost.
THEY_SHIP = [
    ("They ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They already ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They currently ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will already ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer ships in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Customer ships in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("Their app ships in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("Their team ships in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("The client ships in Q2 and needs SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- They ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    # ... "by", "on", "before": no longer ours, the date not read (as "They are shipping by Q2
    # and need SCIM")
    ("They ship by Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They ship on March 3 and need SCIM", [("scim", False, None, None, False)]),
    ("They ship before Q3 and need SCIM", [("scim", False, None, None, False)]),
    # ... the need in a clause of its own, and the customer's subject with "with", as with
    # "are shipping" and "will ship" ("The customer will ship in Q2 with SCIM")
    ("They need SCIM; they ship in Q2", [("scim", False, None, None, False)]),
    ("The customer ships in Q2 with SCIM", [("scim", False, None, None, False)]),
    # ... our word after it is ours
    (
        "They ship in Q2 and need SCIM; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: "they" with no need (our team may be meant), a feature, we, "it" or our
    # product team as the subject, a feature named as what ships, no subject, their launch
    ("They ship in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("SCIM: talked to product, they ship in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM ships in Q2, they need it", [("scim", True, Q2, None, False)]),
    ("Their SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("We ship in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it ships in Q2", [("scim", True, Q2, None, False)]),
    ("Product ships in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("Told them SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("Ships in Q2: SCIM", [("scim", True, Q2, None, False)]),
    ("They ship SCIM in Q2", [("scim", False, None, None, False)]),
    ("They launch in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), THEY_SHIP, ids=[c[0][:40] for c in THEY_SHIP])
def test_the_customers_plain_present_shipping_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# The subject left out after "and" is the customer's when the clause opens with their need
# ("They need SCIM and will ship their app in Q2"): their own shipping, read as "They will ship
# their app in Q2 and need SCIM" (round 9), its date theirs however far from the need word;
# each read as our promise by Q2, a block. "It" after the verb is the feature named before, and
# shipping our feature is ours whoever the subject, as "They will ship SCIM in Q2" is: "They
# need SCIM and will ship it in Q2" stays our promise by Q2 (and their need by Q2).
LEFT_OUT_SUBJECT = [
    # (moved from test_notes_round9.py, where it was pinned as our promise by Q2, not decided)
    ("They need SCIM and will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and will ship in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and will ship by Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and will ship their app by Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and will ship their app in March", [("scim", False, None, Q1, False)]),
    ("They need SCIM, and will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They also need SCIM and will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They want SCIM and will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("The customer needs SCIM and will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("Customer needs SCIM and will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("Their team needs SCIM and will ship in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and are shipping in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and will be shipping in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and ship in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM by Q1 and will ship their app in Q2", [("scim", False, None, Q1, False)]),
    (
        "They need SCIM and SSO and will ship their mobile app in Q2",
        [("scim", False, None, Q2, False), ("sso", False, None, Q2, False)],
    ),
    (
        "Call went well, they need SCIM and will ship their app in Q2",
        [("scim", False, None, Q2, False)],
    ),
    (
        "Requirements:\n- They need SCIM and will ship their app in Q2",
        [("scim", False, None, Q2, False)],
    ),
    # ... our word after it is ours
    (
        "They need SCIM and will ship their app in Q2; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: "it" or a feature as what ships, our subject after "and" or before the
    # need, a feature as the subject, no need word opening the clause, the order with the need
    # last ("but": test_notes_round15.py)
    ("They need SCIM and will ship it in Q2", [("scim", True, Q2, Q2, False)]),
    ("They need SCIM and will ship SCIM in Q2", [("scim", True, Q2, Q2, False)]),
    (
        "They need SCIM and will ship SSO in Q2",
        [("scim", True, Q2, Q2, False), ("sso", True, Q2, None, False)],
    ),
    ("They need SCIM and we will ship it in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM; we will ship it in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it will ship in Q2", [("scim", True, Q2, Q2, False)]),
    ("We need SCIM and will ship it in Q2", [("scim", True, Q2, Q2, False)]),
    ("We promised SCIM and will ship in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is required and will ship in Q2", [("scim", True, Q2, Q2, False)]),
    ("They asked for SCIM and will ship their app in Q2", [("scim", False, None, None, False)]),
    ("They need SCIM and they will ship their app in Q2", [("scim", False, None, None, False)]),
    ("They need SCIM and will launch in Q2", [("scim", False, None, Q2, False)]),
    ("They will ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), LEFT_OUT_SUBJECT, ids=[c[0][:40] for c in LEFT_OUT_SUBJECT]
)
def test_the_subject_left_out_after_their_need_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# "No" before a feature after a comma or in parentheses ("SCIM by Q1, no SSO", "(no SSO)"): no
# dependency on it, as ", not SSO" and "(not SSO)" already were (round 13); each made the
# feature our promise by the date of the one before it, a block (under a heading of needs,
# their need by it).
NO_OF_ANOTHER_FEATURE = [
    ("What we promised:\n- SCIM - Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM by Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1 (no SSO)", [("scim", True, Q1, None, False)]),
    ("What we promised:\nSCIM - Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("What we told them:\n- SCIM - Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1, no SSO, no offline mode", [("scim", True, Q1, None, False)]),
    (
        "What we promised:\n- SCIM - Q1, no SSO\n- Offline mode - Q2",
        [("scim", True, Q1, None, False), ("offline", True, Q2, None, False)],
    ),
    ("SCIM by Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1 (no SSO)", [("scim", True, Q1, None, False)]),
    ("We will have SCIM by Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("We promised SCIM by Q1, no SSO by Q1", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, no SSO until Q3", [("scim", True, Q1, None, False)]),
    ("They need SCIM by Q1, no SSO", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, no SSO", [("scim", False, None, Q1, False)]),
    ("They need SCIM, no SSO", [("scim", False, None, None, False)]),
    ("SCIM - Q1, no SSO", [("scim", False, None, None, False)]),
    # as they were: ", not SSO" (round 13), "no" of something else, "no SSO" in a clause of
    # its own or at the start, "no SSO needed" (after a date: test_notes_round16.py), another
    # feature listed without "no" ("and no": test_notes_round15.py)
    ("SCIM by Q1, not SSO", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, not SSO until Q3", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1, not SSO", [("scim", False, None, None, False)]),
    ("What we promised:\n- SCIM - Q1, no extra cost", [("scim", True, Q1, None, False)]),
    (
        "What we promised:\n- SCIM - Q1\n- no SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SCIM by Q1, but no SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SCIM by Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("No SSO in Q1", [("sso", False, None, None, False)]),
    ("They need SCIM, no SSO needed", [("scim", False, None, None, False)]),
    (
        "What we promised:\n- SCIM - Q1, SSO",
        [("scim", True, Q1, None, False), ("sso", True, Q1, None, False)],
    ),
    (
        "SCIM by Q1, no, SSO by Q2",
        [("scim", True, Q1, None, False), ("sso", True, Q2, None, False)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NO_OF_ANOTHER_FEATURE, ids=[c[0][:40] for c in NO_OF_ANOTHER_FEATURE]
)
def test_no_before_another_feature_is_no_dependency(body: str, expected: list) -> None:
    assert readings(body) == expected
