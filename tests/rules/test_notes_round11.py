"""Round 11 of the notes helper: misreadings of our own shipping ahead, of the customer's
own shipping and of lines with no list mark under headings of promises and questions (one
table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

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
    # their signing on it: the date they need it by (round 24)
    ("If we will be shipping SCIM in Q2, they sign", [("scim", False, None, Q2, False)]),
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


# "They are shipping in Q2" (also "they're", "the customer is") and "They won't be shipping in
# Q2" (also "will not be") after the customer's subject, with nothing of ours named as what
# ships: the customer's own shipping, their date when they state a need, as "They will be
# shipping in Q2 and need SCIM" already was (round 10; each read as our promise by Q2, a
# block, and the need's date was lost).
THEY_ARE_SHIPPING = [
    ("They are shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They're shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They\u2019re shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer is shipping in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Customer is shipping in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("Their app is shipping in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("They are shipping in Q2 and need SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("They won't be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They won\u2019t be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They wont be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will not be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer won't be shipping in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Requirements:\n- They are shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    # ... "by Q2": no longer ours, its date not read (as "They will be shipping by Q2 and
    # need SCIM" already was)
    ("They are shipping by Q2 and need SCIM", [("scim", False, None, None, False)]),
    # ... our word after it is ours
    (
        "They are shipping in Q2 and need SCIM; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: "they" with no need (our team may be meant), a feature, we or "it" as the
    # subject, a question, a feature named as what ships, "not shipping" (a date denied),
    # "will be shipping" (round 10); "aren't shipping" and a feature's "won't be shipping":
    # test_notes_round12.py; "already" / "also" between: test_notes_round14.py
    ("They are shipping in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("They're shipping in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("SCIM: talked to product, they are shipping in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is shipping in Q2", [("scim", True, Q2, None, False)]),
    ("Their SCIM is shipping in Q2", [("scim", True, Q2, None, False)]),
    ("We are shipping in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("We're shipping in Q2 and they need SCIM", [("scim", True, Q2, None, False)]),
    ("We will be shipping in Q2, they need SCIM", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it is shipping in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it's shipping in Q2", [("scim", True, Q2, None, False)]),
    ("Are they shipping in Q2? They need SCIM", [("scim", False, None, None, False)]),
    ("They are shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("They won't be shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("They are not shipping in Q2 and need SCIM", [("scim", False, None, None, False)]),
    ("They will be shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), THEY_ARE_SHIPPING, ids=[c[0][:40] for c in THEY_ARE_SHIPPING]
)
def test_the_customers_own_shipping_now_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Short lines with no list mark right under a heading of our promises or of their questions:
# its items, as a marked list's are and as lines under a heading of needs already were (round
# 10): "What we promised:\nSCIM - Q1" is our promise by Q1 (was a plain dependency, a missed
# promise), "Open questions:\nSCIM by Q1" a question (was our promise by Q1, a block). Not
# under promises a line that denies ("SSO not yet"), nor under questions an answer ("Yes, by
# Q1"); lines followed right away by an answer or our word are no items (a question and our
# answer: read as written).
UNMARKED_PROMISES_AND_QUESTIONS = [
    ("What we promised:\nSCIM - Q1", [("scim", True, Q1, None, False)]),
    (
        "What we promised:\nSCIM (Q1)\nAudit log (Q2)",
        [("scim", True, Q1, None, False), ("audit", True, Q2, None, False)],
    ),
    (
        "What we promised:\nSCIM\nAudit log",
        [("scim", True, None, None, False), ("audit", True, None, None, False)],
    ),
    ("Commitments:\nSCIM - Q1", [("scim", True, Q1, None, False)]),
    ("Promised for Q2:\nSCIM", [("scim", True, Q2, None, False)]),
    (
        "We committed to:\nSCIM - Q1\nSSO",
        [("scim", True, Q1, None, False), ("sso", True, None, None, False)],
    ),
    (
        "What we promised:\nSCIM - Q1\nThey need SSO by Q2",
        [("scim", True, Q1, None, False), ("sso", False, None, Q2, False)],
    ),
    (
        "What we promised:\nSCIM - Q1\n\nSSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\nSCIM - Q1\nNo SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nSCIM by Q1", [("scim", False, None, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nSSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nWill SCIM be ready by Q1", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM ETA for Q2", [("scim", False, None, None, False)]),
    ("Open questions:\nIs SCIM on the roadmap for Q2", [("scim", False, None, None, False)]),
    ("Questions from the call:\nSCIM by Q1", [("scim", False, None, None, False)]),
    ("They asked:\nSCIM by Q1", [("scim", False, None, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nSSO will ship by Q2",
        [("scim", False, None, None, False), ("sso", True, Q2, None, False)],
    ),
    # as they were: a mark, a promise cue of the line's own, the item's own words (as with a
    # mark), a blank line, our word as a line of its own, a marked list ended by a line with
    # no mark, a line of sentences, a line that denies under promises, our word under
    # questions, an answer right after the question, a heading of what is not needed (not
    # decided here; of what we told them: test_notes_round15.py), other headings
    ("What we promised:\n- SCIM - Q1", [("scim", True, Q1, None, False)]),
    ("What we promised:\nSCIM by Q1", [("scim", True, Q1, None, False)]),
    ("What we promised:\nCustomer confirmed SCIM for Q2", [("scim", False, None, None, False)]),
    ("What we promised:\nSCIM discussed", [("scim", False, None, None, False)]),
    ("What we promised:\nSCIM needed by Q1", [("scim", False, None, Q1, False)]),
    ("What we promised:\n\nSCIM - Q1", [("scim", False, None, None, False)]),
    ("What we promised:\nWe will deliver SSO by Q2", [("sso", True, Q2, None, False)]),
    (
        "What we promised:\n- SSO\nSCIM - Q1",
        [("sso", True, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "What we promised:\nSCIM. They also need SSO by Q2.",
        [("scim", False, None, None, False), ("sso", False, None, Q2, False)],
    ),
    (
        "What we promised:\nSCIM by Q1\nSSO not yet",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\nSCIM by Q1\nSSO - not promised",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\nSCIM by Q1, SSO not yet",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\n- SCIM by Q1", [("scim", False, None, None, False)]),
    ("Open questions:\n\nSCIM by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nWe promised SCIM by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM: promised by Q2", [("scim", True, Q2, None, False)]),
    ("Open questions:\nNone, SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("Open questions:\nNone. We will have SCIM by Q1.", [("scim", True, Q1, None, False)]),
    (
        "Open questions:\nWe shipped SSO last year and will have SCIM by Q1",
        [("sso", False, None, None, False), ("scim", True, Q1, None, False)],
    ),
    ("They asked:\nSCIM by Q1\nTold them yes, by Q1", [("scim", True, Q1, None, False)]),
    ("They asked:\nSCIM by Q1\nA: yes, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nYes, by Q1", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nTold them yes", [("scim", True, Q1, None, False)]),
    ("Questions:\nSCIM by Q1\nWe will have SCIM by Q1.", [("scim", True, Q1, None, False)]),
    ("Out of scope:\nOffline mode", [("offline", False, None, None, False)]),
    ("Next steps:\nSCIM by Q1", [("scim", True, Q1, None, False)]),
    ("Requirements:\nSCIM by Q1", [("scim", False, None, Q1, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    UNMARKED_PROMISES_AND_QUESTIONS,
    ids=[c[0][:40] for c in UNMARKED_PROMISES_AND_QUESTIONS],
)
def test_unmarked_lines_under_promises_and_questions_are_its_items(
    body: str, expected: list
) -> None:
    assert readings(body) == expected
