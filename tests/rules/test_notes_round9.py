"""Round 9 of the notes helper: misreadings of a need the customer dropped, the customer's
report of our roadmap, the customer's own shipping and a list item's date before our word
(one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

from datetime import date

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
    # another party, more said after the customer (a date: test_notes_round10.py), the
    # customer as subject
    ("Offline mode dropped", []),
    ("Offline mode dropped by Q1", [("offline", False, None, None, False)]),
    ("Offline mode not dropped by the customer", [("offline", False, None, None, False)]),
    ("Offline mode dropped by the customer?", [("offline", False, None, None, False)]),
    ("SCIM dropped by the vendor", [("scim", False, None, None, False)]),
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


# "Will ship" after the customer's subject, with nothing of ours named as what ships: the
# customer shipping their own product, their date when they state a need, as "They will
# launch in Q2 and need SCIM" (round 8) and "They'll ship their app in Q2 and need SCIM"
# already were (each read as our promise by Q2, a block). "They" counts only with a need of
# theirs in the sentence: it may be our own team ("Talked to product, they will ship in Q2").
THEY_WILL_SHIP = [
    ("They will ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will ship in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will ship by Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will ship their app in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("They are going to ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They're going to ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("The customer will ship their app in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Customer will ship their app in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("Their app will ship in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("Their team will ship in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("They will ship their app in Q2 and need SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("The customer will ship in Q2 with SCIM", [("scim", False, None, None, False)]),
    # ... our word after it is ours
    (
        "They will ship their app in Q2 and need SCIM; we will have it by Q3",
        [("scim", True, Q3, Q2, False)],
    ),
    # as they were: a feature as what ships, "they" with no need (our team may be meant),
    # a feature or we as the subject, "it", "they'll", our word after theirs; a subject left
    # out after "and": test_notes_round14.py
    ("They will ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("Product says they will ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM: talked to product, they will ship in Q2", [("scim", True, Q2, None, False)]),
    ("They will ship in Q2 with SCIM", [("scim", True, Q2, None, False)]),
    ("Their SCIM will ship in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will ship in Q2", [("scim", True, Q2, None, False)]),
    ("We will ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM; we will ship it in Q2", [("scim", True, Q2, None, False)]),
    ("They need SCIM, it will ship in Q2", [("scim", True, Q2, Q2, False)]),
    ("They'll ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will launch in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    (
        "The customer will ship their app in Q2; we will ship SCIM by Q1",
        [("scim", True, Q1, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), THEY_WILL_SHIP, ids=[c[0][:40] for c in THEY_WILL_SHIP]
)
def test_the_customers_own_shipping_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Under a heading of needs, a feature by a date alone, then after a comma our own word with
# a date of its own: the first date is the customer's, the second ours, as with a dash or a
# semicolon ("- SCIM by Q1 - will ship by Q2" was by Q2, needed by Q1; the comma form read
# Q1 as our promised date and lost the need).
DATE_THEN_OUR_WORD = [
    ("Requirements:\n- SCIM by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will ship in Q2", [("scim", True, Q2, Q1, False)]),
    # (before Q1 begins: `test_notes_round27`)
    (
        "Requirements:\n- SCIM before Q1, will ship by Q2",
        [("scim", True, Q2, date(2026, 12, 31), False)],
    ),
    ("Must-haves:\n- SCIM by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will be ready by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will have it by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, it will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, ships in Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, ETA Q2", [("scim", True, Q2, Q1, False)]),
    ("Nice to have:\n- SCIM by Q1, will ship by Q2", [("scim", True, Q2, Q1, False)]),
    (
        "Requirements:\n- SCIM by Q1, will ship by Q2\n- SSO",
        [("scim", True, Q2, Q1, False), ("sso", False, None, None, False)],
    ),
    (
        "Requirements:\n- SCIM and SSO by Q1, will ship by Q2",
        [("scim", True, Q2, Q1, False), ("sso", True, Q2, Q1, False)],
    ),
    # as they were: the dash, the semicolon, our subject, our word told; a launch whose
    # subject is not said (round 8); our word with no date; another feature's; a heading of
    # promises, questions or things not needed; no heading; a negation (their need word:
    # test_notes_round10.py)
    ("Requirements:\n- SCIM by Q1 - will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1; will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, we will ship by Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, told them Q2", [("scim", True, Q2, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will launch by Q2", [("scim", False, None, Q1, False)]),
    ("Requirements:\n- SCIM by Q1, will ship", [("scim", True, Q1, None, False)]),
    ("Requirements:\n- SCIM by Q1, will follow up next week", [("scim", False, None, Q1, False)]),
    (
        "Requirements:\n- SCIM by Q1, SSO will ship by Q2",
        [("scim", False, None, Q1, False), ("sso", True, Q2, None, False)],
    ),
    ("Requirements:\n- SCIM will ship by Q2", [("scim", True, Q2, None, False)]),
    ("Requirements:\n- SCIM, will ship by Q2", [("scim", True, Q2, None, False)]),
    ("Requirements:\n- SCIM by Q1", [("scim", False, None, Q1, False)]),
    ("What we promised:\n- SCIM by Q1, will ship by Q2", [("scim", True, Q1, None, False)]),
    ("Open questions:\n- SCIM by Q1, will ship by Q2", [("scim", True, Q1, None, False)]),
    ("SCIM by Q1, will ship by Q2", [("scim", True, Q1, None, False)]),
    ("Requirements:\n- SCIM by Q1, won't ship by Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM by Q1, will ship by Q2?", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), DATE_THEN_OUR_WORD, ids=[c[0][:40] for c in DATE_THEN_OUR_WORD]
)
def test_a_list_items_date_before_our_word_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected
