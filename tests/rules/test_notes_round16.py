"""Round 16 of the notes helper: misreadings of an answer that we do not know ("No idea")
after a question, of the customer's own shipping, go-live or launch after "but" or "though"
with its subject left out, of "no" before a feature with a date opening a clause of an item
under a heading of promises, and of "no <feature> needed" after a date (one table per fix, with
the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3

# "No idea", "No clue", "No ETA", "No date" ("yet" after them too) as the answer after lines with
# no mark under a heading of questions: we do not know, so no answer that makes the lines a
# question and our answer; they stay the heading's questions, a plain dependency, as after our
# no ("Open questions:\nSCIM by Q1\nNo", round 13) and as "Not sure", "Unknown", "TBD", "Don't
# know" already were. Each read as our promise by Q1, a block. After a label alone they do not
# deny it either ("Offline mode?\nNo idea", "Open questions:\n- SSO\nNo idea": still a question,
# a plain dependency; each was no reference), as "Multi-region: no idea yet." already was.
NO_IDEA_IS_NO_ANSWER = [
    ("Open questions:\nSCIM by Q1\nNo idea", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo idea.", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo idea yet", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo clue", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo ETA", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo ETA yet", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo date yet", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo idea, ask product", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nA: no idea", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nTold them no idea yet", [("scim", False, None, None, False)]),
    ("They asked:\nSCIM by Q1\nNo idea", [("scim", False, None, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nNo idea\nSSO by Q2",
        [("scim", False, None, None, False), ("sso", True, Q2, None, False)],
    ),
    # ... our word after it is ours, as after our no (was by Q1)
    (
        "Open questions:\nSCIM by Q1\nNo idea, but we will have it by Q2",
        [("scim", True, Q2, None, False)],
    ),
    # ... and after a label alone it denies nothing (each was no reference)
    ("Offline mode?\nNo idea", [("offline", False, None, None, False)]),
    ("Offline mode? No idea.", [("offline", False, None, None, False)]),
    ("Offline mode? No ETA", [("offline", False, None, None, False)]),
    ("Open questions:\n- SSO\nNo idea", [("sso", False, None, None, False)]),
    # as they were: the other answers that do not know, our no, a yes, "no" of something
    ("Open questions:\nSCIM by Q1\nNot sure", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nUnknown", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nTBD", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nDon't know", [("scim", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo", [("scim", False, None, None, False)]),
    ("Open questions:\n- SCIM by Q1\nNo idea", [("scim", False, None, None, False)]),
    ("Open questions:\nSSO\nNo idea", [("sso", False, None, None, False)]),
    ("Open questions:\nSCIM by Q1\nYes, by Q1", [("scim", True, Q1, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nNo, but we will have it by Q2",
        [("scim", True, Q2, None, False)],
    ),
    # ('...\nNo SSO', '...\nNo ideas', '...\nNo date for SSO': decided in
    # test_notes_round19.py)
    ("Open questions:\nSCIM by Q1\nNo blockers", [("scim", True, Q1, None, False)]),
    ("Will SCIM be ready by Q1? No idea.", [("scim", False, None, None, False)]),
    ("Multi-region: no idea yet.", [("multi-region", False, None, None, False)]),
    ("Offline mode?\nNo", []),
    ("Offline mode?\nNo need", []),
    ("Open questions:\n- SSO\nNo", []),
    ("Open questions:\nSSO\nNo", []),
    ("Offline mode: no", []),
    ("What we promised:\n- SSO - no ETA", [("sso", False, None, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NO_IDEA_IS_NO_ANSWER, ids=[c[0][:40] for c in NO_IDEA_IS_NO_ANSWER]
)
def test_no_idea_after_a_question_is_no_answer(body: str, expected: list) -> None:
    assert readings(body) == expected


# The clause after "though" or "although" opening with the verb leaves out the subject of the
# clause before, as after "but" (round 15): the customer's shipping after their need is theirs
# ("They need SCIM though will ship their app in Q2"); and their go-live or launch after "but"
# or "though" is theirs, as after "and" ("They need SCIM but go live in Q2", "... but will
# launch in Q2"). Needed by Q2, no commitment: each read as our promise by Q2, a block, except
# "... but will launch in Q2" and the like, a plain dependency (its date lost).
LEFT_OUT_AFTER_THOUGH_AND_BUT = [
    ("They need SCIM though will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM although will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM, though will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM, but go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM though go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but should go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but already go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will already go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but are going live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but are already going live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will be going live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will go live with it in Q2", [("scim", False, None, Q2, False)]),
    ("The customer needs SCIM but goes live in Q2", [("scim", False, None, Q2, False)]),
    ("The customer needs SCIM but is going live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but are launching in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will launch in Q2", [("scim", False, None, Q2, False)]),
    ("Their team needs SCIM but will launch in Q2", [("scim", False, None, Q2, False)]),
    ("They want SCIM but will launch in Q2", [("scim", False, None, Q2, False)]),
    ("Requirements:\n- They need SCIM but go live in Q2", [("scim", False, None, Q2, False)]),
    (
        "They need SCIM and SSO but go live in Q2",
        [("scim", False, None, Q2, False), ("sso", False, None, Q2, False)],
    ),
    # ... the need's own date stays theirs (was also our promise by Q2)
    ("They need SCIM by Q1 but go live in Q2", [("scim", False, None, Q1, False)]),
    # ... a feature after it is no promise of ours, as after "and" (SSO was by Q2)
    (
        "They need SCIM but go live in Q2 with SSO",
        [("scim", False, None, Q2, False), ("sso", False, None, None, False)],
    ),
    # ... our word after it is ours (was by Q2)
    (
        "They need SCIM but go live in Q2; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: "and", "but" with shipping, a subject of its own, ours, "it", a feature
    # named as what ships or launches, no need word, not their need, "whereas", a sentence
    ("They need SCIM and will launch in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and go live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM and are going live in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but launch in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but will ship their app in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but their go-live is in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM but go-live is in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM although launch is in Q2", [("scim", False, None, Q2, False)]),
    ("They need SCIM though they will ship their app in Q2", [("scim", False, None, None, False)]),
    ("They need SCIM though will ship it in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM but we go live in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM but we will launch in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM but it will go live in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM but SCIM will go live in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM but will launch SCIM in Q2", [("scim", False, None, None, False)]),
    ("They need SCIM but will launch it in Q2", [("scim", False, None, None, False)]),
    ("They need SCIM but we will have it by Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is required but will go live in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is required but is going live in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is required though will ship in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM by Q1 though will ship in Q2", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1 but go live in Q2", [("scim", True, Q1, None, False)]),
    ("We need SCIM but will go live in Q2", [("scim", True, Q2, None, False)]),
    ("We need SCIM but will launch in Q2", [("scim", False, None, None, False)]),
    ("They asked for SCIM but will go live in Q2", [("scim", False, None, None, False)]),
    ("They asked for SCIM but will launch in Q2", [("scim", False, None, None, False)]),
    # ("They need SCIM whereas will ship their app in Q2", "They need SCIM but will only go
    # live in Q2": decided in test_notes_round19.py)
    ("They need SCIM. But go live in Q2", [("scim", False, None, None, False)]),
    ("SCIM will launch in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM goes live in Q2", [("scim", True, Q2, None, False)]),
    ("We go live with SCIM in Q2", [("scim", True, Q2, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    LEFT_OUT_AFTER_THOUGH_AND_BUT,
    ids=[c[0][:40] for c in LEFT_OUT_AFTER_THOUGH_AND_BUT],
)
def test_the_subject_left_out_after_though_or_but_is_that_of_their_need(
    body: str, expected: list
) -> None:
    assert readings(body) == expected


# "No" before the one feature a clause names, with a date after it, opening a clause of an item
# under a heading of promises or of what we told them ('What we promised:\n- SCIM - Q1; no SSO
# in Q1'): the clause is read as written, as the item '- No SSO in Q1' is and as "SCIM by Q1; no
# SSO in Q1" reads outside a heading (round 15): a plain dependency on SSO. Each made SSO our
# promise by the clause's date, a block.
NO_FEATURE_IN_AN_ITEM_OF_PROMISES = [
    (
        "What we promised:\n- SCIM - Q1 - no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO until Q3",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO in Q1; offline mode in Q2",
        [
            ("scim", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("offline", True, Q2, None, False),
        ],
    ),
    (
        "What we promised:\n1. SCIM - Q1\n2. Offline mode - Q2; no SSO in Q1",
        [
            ("scim", True, Q1, None, False),
            ("offline", True, Q2, None, False),
            ("sso", False, None, None, False),
        ],
    ),
    (
        "What we promised:\n- Q1: SCIM; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\nSCIM - Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "Promised for Q2:\n- SCIM; no SSO in Q1",
        [("scim", True, Q2, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we told them:\n- SCIM - Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we told them:\n- SCIM in Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we told them:\nSCIM in Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    # as they were: outside a heading, no date after the name, after a comma, "and" or "(",
    # the item opening with "no", "no" of something else, "now", "no" alone, another feature
    # in the clause, "not", our word after it, a promise cue of the clause's own, needs
    (
        "SCIM by Q1; no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SCIM by Q1 - no SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("What we promised:\n- SCIM - Q1; no SSO", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1 - no SSO", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1; no SSO - Q2", [("scim", True, Q1, None, False)]),
    ("Promised for Q2:\n- SCIM; no SSO", [("scim", True, Q2, None, False)]),
    ("What we promised:\n- SCIM - Q1, no SSO in Q1", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1 and no SSO in Q1", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1 (no SSO in Q1)", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- No SSO in Q1", [("sso", False, None, None, False)]),
    (
        "What we promised:\n- SCIM - Q1\n- No SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- no SSO in Q1; SCIM - Q1",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no extra cost for SSO",
        [("scim", True, Q1, None, False), ("sso", True, Q1, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; now SSO in Q1",
        [("scim", True, Q1, None, False), ("sso", True, Q1, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no, SSO in Q2",
        [("scim", True, Q1, None, False), ("sso", True, Q2, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; SSO in Q2",
        [("scim", True, Q1, None, False), ("sso", True, Q2, None, False)],
    ),
    # ("- SCIM - Q1 - no SSO by Q1" moved to test_notes_round17.py and "- SCIM - Q1; no SSO in
    # Q1, offline mode in Q2" to test_notes_round18.py: SSO a plain dependency, as outside a
    # heading now)
    (
        "What we promised:\n- SCIM - Q1; not SSO in Q1",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; SSO not in Q1",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "What we promised:\n- SCIM - Q1; no SSO in Q1, we will have it by Q2",
        # (SCIM's own item: its Q1, since round 27; "it" is SSO)
        [("scim", True, Q1, None, False), ("sso", True, Q2, None, False)],
    ),
    (
        "Requirements:\n- SCIM by Q1; no SSO in Q1",
        [("scim", False, None, Q1, False), ("sso", False, None, Q1, False)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_FEATURE_IN_AN_ITEM_OF_PROMISES,
    ids=[c[0][:40] for c in NO_FEATURE_IN_AN_ITEM_OF_PROMISES],
)
def test_no_before_a_feature_with_a_date_in_an_item_of_promises_is_no_promise(
    body: str, expected: list
) -> None:
    assert readings(body) == expected


# "No" before a feature and "needed" after it ("SCIM by Q1, no SSO needed") after a date cue:
# the need is denied, no need of the customer's, so the date before it is no date they need the
# feature by, and the feature before keeps its reading, as "SCIM by Q1, no SSO" (round 14) and
# "SCIM by Q1, SSO not needed" already did: our promise by Q1 (each was a plain dependency, a
# missed promise; under a heading of needs their need by Q1, was plain).
NO_FEATURE_NEEDED_AFTER_A_DATE = [
    # moved from test_notes_round14.py, where it was a plain dependency ("as they were")
    ("SCIM by Q1, no SSO needed", [("scim", True, Q1, None, False)]),
    # moved from test_notes_round15.py, where it was a plain dependency ("as they were")
    ("SCIM by Q1 and no SSO needed", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, no SSO required", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1 and no SSO required", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, no SSO support needed", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, no SSO needed by them", [("scim", True, Q1, None, False)]),
    (
        "SCIM by Q1, no SSO needed, offline mode required",
        [("scim", True, Q1, None, False), ("offline", False, None, None, False)],
    ),
    ("Requirements:\n- SCIM by Q1, no SSO needed", [("scim", False, None, Q1, False)]),
    ("Nice to have:\n- SCIM by Q1, no SSO needed", [("scim", False, None, Q1, True)]),
    # as they were: the need word before the date or of the feature itself, "not needed",
    # "no" alone, a date alone, "no need for" (not decided here), no date, a heading of
    # promises
    ("SCIM by Q1, no SSO", [("scim", True, Q1, None, False)]),
    ("SCIM - Q1, no SSO needed", [("scim", False, None, None, False)]),
    ("SCIM by Q1; no SSO needed", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, SSO not needed", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, they don't need SSO", [("scim", True, Q1, None, False)]),
    (
        "SCIM by Q1, SSO needed",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SCIM by Q1, no SSO, offline mode required",
        [("scim", True, Q1, None, False), ("offline", False, None, None, False)],
    ),
    ("We will have SCIM by Q1, no SSO needed", [("scim", True, Q1, None, False)]),
    ("What we promised:\n- SCIM - Q1, no SSO needed", [("scim", True, Q1, None, False)]),
    ("They need SCIM by Q1, no SSO needed", [("scim", False, None, Q1, False)]),
    ("SCIM needed by Q1, no SSO needed", [("scim", False, None, Q1, False)]),
    ("SCIM by Q1 is a must, no SSO needed", [("scim", False, None, Q1, False)]),
    ("No SSO needed, SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("SSO not needed, SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("They need SCIM, no SSO needed", [("scim", False, None, None, False)]),
    ("SCIM by Q1, no need for SSO", [("scim", False, None, None, False)]),
    ("SCIM by Q1, no need to rush", [("scim", False, None, None, False)]),
    (
        "SCIM by Q1, no needs for SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("SCIM by Q1, no deadline", [("scim", False, None, None, False)]),
    ("No need for SCIM by Q1", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    NO_FEATURE_NEEDED_AFTER_A_DATE,
    ids=[c[0][:40] for c in NO_FEATURE_NEEDED_AFTER_A_DATE],
)
def test_no_feature_needed_after_a_date_is_no_need_of_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected
