"""Round 16 of the notes helper: misreadings of an answer that we do not know ("No idea")
after a question (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference

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
    (
        "Open questions:\nSCIM by Q1\nNo SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
    ("Open questions:\nSCIM by Q1\nNo blockers", [("scim", True, Q1, None, False)]),
    ("Open questions:\nSCIM by Q1\nNo ideas", [("scim", True, Q1, None, False)]),
    (
        "Open questions:\nSCIM by Q1\nNo date for SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, False)],
    ),
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
