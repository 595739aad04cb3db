"""Round 8 of the notes helper: misreadings of the customer's report of our roadmap, dropped
needs with a date, future launches and lists of names after a wish (one table per fix, with
the close phrasings that stay)."""

from __future__ import annotations

from datetime import date

import pytest

from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference

Q3 = date(2027, 9, 30)


# The customer repeating what they heard of our roadmap is their word, not our promise, as
# another company's rep's is ("Okta rep promised them SCIM"): a plain dependency, as "They
# told us SCIM in Q1" already was (each read as our promise by its date, a block).
THEIR_REPORT = [
    ("They told us SCIM releases in Q2", [("scim", False, None, None, False)]),
    ("They told us SCIM launches in Q2", [("scim", False, None, None, False)]),
    ("Customer said SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("The customer told us SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("Their CTO said SCIM is slated for Q2", [("scim", False, None, None, False)]),
    ("They said SCIM will be ready by Q2", [("scim", False, None, None, False)]),
    ("They told us SCIM goes GA in Q1", [("scim", False, None, None, False)]),
    ("They heard SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("Customer thinks SCIM ships in Q2", [("scim", False, None, None, False)]),
    ("They told us SCIM by Q2", [("scim", False, None, None, False)]),
    # ... our word after it is ours
    ("Customer said SCIM ships in Q2; we will have it by Q3", [("scim", True, Q3, None, False)]),
    (
        "The customer told us SCIM releases in Q2 and we confirmed it",
        [("scim", True, Q2, None, False)],
    ),
    ("They said SCIM ships in Q2, we confirmed", [("scim", True, Q2, None, False)]),
    # as they were: our telling, told to them, our word inside their report, a promise of
    # ours they allege, their need, "he" (our rep may be meant), "They told us SCIM in Q1"
    ("We told them SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("Told them SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("They were told SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("Their CTO was told SCIM is slated for Q2", [("scim", True, Q2, None, False)]),
    ("They told us we will have SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("They said we promised SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("Customer said they were promised SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("They said SCIM was promised by Q2", [("scim", True, Q2, None, False)]),
    ("They told us they need SCIM by Q2", [("scim", False, None, Q2, False)]),
    ("They said SCIM is needed by Q2", [("scim", False, None, Q2, False)]),
    ("He said SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("They told us SCIM in Q1.", [("scim", False, None, None, False)]),
    ("Okta rep promised them SCIM", [("scim", False, None, None, False)]),
    ("SCIM releases in Q2", [("scim", True, Q2, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), THEIR_REPORT, ids=[c[0][:40] for c in THEIR_REPORT])
def test_the_customers_report_of_our_roadmap_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# "Dropped" right after a feature's name, then a date: the customer's need given up by then,
# or release slang as "SCIM dropped in Q2", and neither our promise (each was our promise by
# Q1, a commitment; under a heading of needs, needed by Q1). A plain dependency, as "SCIM
# dropped in Q2" already was.
DROPPED_BY_A_DATE = [
    ("Offline mode dropped by Q1", [("offline", False, None, None, False)]),
    ("Offline mode: dropped by Q1", [("offline", False, None, None, False)]),
    ("Offline mode - dropped by Q1", [("offline", False, None, None, False)]),
    ("SSO dropped by Q1", [("sso", False, None, None, False)]),
    ("Offline mode dropped before Q1", [("offline", False, None, None, False)]),
    ("Offline mode dropped next quarter", [("offline", False, None, None, False)]),
    ("Offline mode dropped by end of Q1", [("offline", False, None, None, False)]),
    ("Offline mode dropped by March", [("offline", False, None, None, False)]),
    ("Requirements:\n- Offline mode dropped by Q1", [("offline", False, None, None, False)]),
    (
        "Offline mode dropped by Q1, SSO still needed",
        [("offline", False, None, None, False), ("sso", False, None, None, False)],
    ),
    # ... our own word after it stays ours
    (
        "Offline mode dropped by Q1; we will have SCIM by Q2",
        [("offline", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # as they were: "dropped" with no date, release slang, the need dropped, a dropped
    # promise of ours, a negation, a question, "shipped by"
    ("Offline mode dropped", []),
    ("SCIM dropped in Q2", [("scim", False, None, None, False)]),
    ("SCIM dropped last week", [("scim", False, None, None, False)]),
    ("They dropped offline mode by Q1", []),
    ("Offline mode requirement dropped by Q1", []),
    ("Offline mode was dropped by Q1", []),
    ("SCIM dropped by Q1 as promised", [("scim", True, Q1, None, False)]),
    ("Offline mode not dropped by Q1", [("offline", True, Q1, None, False)]),
    ("SCIM shipped by Q1", [("scim", True, Q1, None, False)]),
    ("Requirements:\n- Offline mode by Q1", [("offline", False, None, Q1, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), DROPPED_BY_A_DATE, ids=[c[0][:40] for c in DROPPED_BY_A_DATE]
)
def test_dropped_by_a_date_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# A future launch or release said of a feature, or by us, is our word as "will ship" is
# ("SCIM will ship in Q2" was a commitment by Q2, "SCIM will launch in Q2" a plain dependency).
WILL_LAUNCH = [
    ("SCIM will launch in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will release in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will be launched in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will be released in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is going to launch in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM's going to be released in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will definitely launch in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will launch in March", [("scim", True, Q1, None, False)]),
    ("We will launch SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We'll release SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("I will release SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will launch", [("scim", True, None, None, False)]),
    ("Requirements:\n- SCIM will launch", [("scim", True, None, None, False)]),
    (
        "SCIM and SSO will launch in Q2",
        [("scim", True, Q2, None, False), ("sso", True, Q2, None, False)],
    ),
    # as they were: will ship, will launch by, negations (round 7), another subject's launch,
    # the noun, a launch with no subject after the customer's date, a pronoun
    ("SCIM will ship in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will ship", [("scim", True, None, None, False)]),
    ("SCIM will launch by Q2", [("scim", True, Q2, None, False)]),
    ("SCIM won't launch in Q2", [("scim", False, None, None, False)]),
    ("SCIM will not release in Q2", [("scim", False, None, None, False)]),
    ("SCIM won't be released in Q2", [("scim", False, None, None, False)]),
    ("SCIM won't launch by Q2", [("scim", False, None, None, False)]),
    ("They will launch in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("Their app will launch in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer will launch in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("They will release their app in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("The SCIM rollout will launch in Q2", [("scim", False, None, None, False)]),
    ("SCIM launch in Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM by Q1, will launch by Q2", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM will launch by Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it will launch in Q2", [("scim", False, None, Q2, False)]),
    ("Will SCIM launch in Q2?", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), WILL_LAUNCH, ids=[c[0][:40] for c in WILL_LAUNCH])
def test_will_launch_is_our_word_as_will_ship(body: str, expected: list) -> None:
    assert readings(body) == expected


# A list of names before its requirement with no colon after another feature's wish or
# promise: the requirement is the whole list's, as round 7 read it after a colon ("Offline
# mode: optional, SSO, SCIM required" cut its clause before SCIM, so SSO took the wish and
# offline mode lost it; "We will have offline mode by Q1, SSO, SCIM required" made SSO our
# promise by Q1). (note, [(feature, is_commitment, promised_date, needed_by, optional)])
LISTED_REQUIRED = [
    (
        "Offline mode: optional, SSO, SCIM required",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "Offline mode: optional, SSO, SCIM needed",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "Offline mode: optional, SSO and SCIM required",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "Offline mode: optional, SSO, SCIM, audit log required",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
            ("audit", False, None, None, False),
        ],
    ),
    (
        "Offline mode would be nice, SSO, SCIM required",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "We will have offline mode by Q1, SSO, SCIM required",
        [
            ("offline", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "We will have offline mode by Q1, SSO and SCIM required",
        [
            ("offline", True, Q1, None, False),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "We will have offline mode by Q1, SSO, SCIM required by Q2",
        [
            ("offline", True, Q1, None, False),
            ("sso", False, None, Q2, False),
            ("scim", False, None, Q2, False),
        ],
    ),
    (
        "SSO by Q1, SCIM and audit log required",
        [
            ("sso", True, Q1, None, False),
            ("scim", False, None, None, False),
            ("audit", False, None, None, False),
        ],
    ),
    # as they were: the colon form (round 7), one name, a wish label heading the list, a list
    # from the clause's start, no requirement after the list
    (
        "Offline mode: optional, SSO, SCIM: required",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "Offline mode: optional, SSO required",
        [("offline", False, None, None, True), ("sso", False, None, None, False)],
    ),
    (
        "Nice to have: SSO, SCIM required",
        [("sso", False, None, None, True), ("scim", False, None, None, False)],
    ),
    ("SSO, SCIM required", [("sso", False, None, None, False), ("scim", False, None, None, False)]),
    ("SSO, SCIM needed by Q1", [("sso", False, None, Q1, False), ("scim", False, None, Q1, False)]),
    (
        "SSO by Q1, SCIM required",
        [("sso", True, Q1, None, False), ("scim", False, None, None, False)],
    ),
    (
        "They need offline mode, SSO, SCIM not needed",
        [("offline", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "We promised SSO, SCIM, audit log discussed",
        [
            ("sso", True, None, None, False),
            ("scim", True, None, None, False),
            ("audit", False, None, None, False),
        ],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), LISTED_REQUIRED, ids=[c[0][:40] for c in LISTED_REQUIRED]
)
def test_a_requirement_after_a_list_of_names_is_the_lists(body: str, expected: list) -> None:
    assert readings(body) == expected


# A label whose value is the wish, followed by more names: the label's feature is optional
# ("Offline mode: optional, SSO, SCIM" gave the wish to SSO and SCIM only; offline mode, the
# label, lost it). Whether the wish reaches the names after it is not decided here: SSO and
# SCIM stay optional, as they were.
LABEL_WISH_THEN_NAMES = [
    (
        "Offline mode: optional, SSO, SCIM",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, True),
            ("scim", False, None, None, True),
        ],
    ),
    (
        "Offline mode: optional, SSO, SCIM: discussed",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, True),
            ("scim", False, None, None, True),
        ],
    ),
    (
        "Offline mode - nice to have, SSO, SCIM",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, True),
            ("scim", False, None, None, True),
        ],
    ),
    (
        "- Offline mode: optional, SSO",
        [("offline", False, None, None, True), ("sso", False, None, None, True)],
    ),
    (
        "Offline mode: optional, SSO",
        [("offline", False, None, None, True), ("sso", False, None, None, True)],
    ),
    (
        "Offline mode: optional, SSO, SCIM by Q1",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, Q1, True),
            ("scim", False, None, Q1, True),
        ],
    ),
    ("Offline mode: optional, pricing discussed", [("offline", False, None, None, True)]),
    # as they were: the requirement after the list, a need as the label's value, the wish
    # after the names, another clause's need, the label alone, our promise after the wish
    (
        "Offline mode: optional, but they need SSO",
        [("offline", False, None, None, True), ("sso", False, None, None, False)],
    ),
    (
        "Offline mode: optional, SSO, SCIM required",
        [
            ("offline", False, None, None, True),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "Offline mode: required, SSO, SCIM",
        [
            ("offline", False, None, None, False),
            ("sso", False, None, None, False),
            ("scim", False, None, None, False),
        ],
    ),
    (
        "Offline mode: SSO, optional",
        [("offline", False, None, None, False), ("sso", False, None, None, True)],
    ),
    ("Offline mode: optional", [("offline", False, None, None, True)]),
    ("Offline mode: nice to have, we will have it by Q1", [("offline", True, Q1, None, False)]),
    (
        "Nice to have: SSO, SCIM",
        [("sso", False, None, None, True), ("scim", False, None, None, True)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), LABEL_WISH_THEN_NAMES, ids=[c[0][:40] for c in LABEL_WISH_THEN_NAMES]
)
def test_a_labels_wish_before_more_names_is_the_labels(body: str, expected: list) -> None:
    assert readings(body) == expected
