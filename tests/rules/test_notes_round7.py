"""Round 7 of the notes helper: misreadings of wishes, labels, launches, answers, customer
descriptions and dropped needs (one table per fix, with the close phrasings that stay)."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_sales_language import CATALOG

Q1 = date(2027, 3, 31)
Q2 = date(2027, 6, 30)


def readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, needed_by, optional) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.needed_by, r.optional)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# A wish said after the feature and its date, after a dash or colon, or as a label's value with
# the date after it: the customer's wish and date, as "SCIM by Q1, nice to have" already was
# (each read as our promise by Q1, a block past the target date).
WISH_AFTER_THE_DATE = [
    ("SCIM by Q1 - nice to have", [("scim", False, None, Q1, True)]),
    ("SCIM by Q1 \u2013 nice to have", [("scim", False, None, Q1, True)]),
    ("SCIM by Q1 \u2014 nice to have", [("scim", False, None, Q1, True)]),
    ("SCIM by Q1: nice to have", [("scim", False, None, Q1, True)]),
    ("SCIM by Q1 - nice to have for them", [("scim", False, None, Q1, True)]),
    ("SCIM by Q1 - optional", [("scim", False, None, Q1, True)]),
    ("Offline mode: nice to have by Q1", [("offline", False, None, Q1, True)]),
    ("Offline mode - nice to have by Q1", [("offline", False, None, Q1, True)]),
    ("Offline mode: optional by Q1", [("offline", False, None, Q1, True)]),
    # (before Q1 begins: `test_notes_round27`)
    ("Offline mode: nice to have before Q1", [("offline", False, None, date(2026, 12, 31), True)]),
    ("Offline mode: would be nice to have by Q1", [("offline", False, None, Q1, True)]),
    (
        "SSO, SCIM: nice to have by Q1",
        [("sso", False, None, Q1, True), ("scim", False, None, Q1, True)],
    ),
    # ... our own word after it stays ours
    ("Offline mode: nice to have by Q1; we will have it by Q2", [("offline", True, Q2, Q1, False)]),
    ("SCIM by Q1 - nice to have - told them Q2", [("scim", True, Q2, Q1, False)]),
    # as they were: the comma form, our own word, "nice" that is no wish, another feature's
    # wish, a wish that says more, the label with no date, our promise after the label
    ("SCIM by Q1, nice to have", [("scim", False, None, Q1, True)]),
    ("SCIM by Q1 - nice call", [("scim", True, Q1, None, False)]),
    ("We will have SCIM by Q1 - nice to have for them", [("scim", True, Q1, None, False)]),
    (
        "SCIM by Q1 - nice to have SSO",
        [("scim", True, Q1, None, False), ("sso", False, None, None, True)],
    ),
    ("SCIM by Q1 - told them nice to have", [("scim", True, Q1, None, False)]),
    ("Offline mode: nice by Q1", [("offline", True, Q1, None, False)]),
    ("Offline mode: nice to have", [("offline", False, None, None, True)]),
    ("Offline mode: nice to have, we will have it by Q1", [("offline", True, Q1, None, False)]),
    ("Offline mode: nice to have; we will have it by Q1", [("offline", True, Q1, None, False)]),
    ("Nice to have: offline mode by Q1", [("offline", False, None, Q1, True)]),
    (
        "Offline mode: optional, SSO: required by Q1",
        [("offline", False, None, None, True), ("sso", False, None, Q1, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), WISH_AFTER_THE_DATE, ids=[c[0][:40] for c in WISH_AFTER_THE_DATE]
)
def test_a_wish_after_the_feature_and_its_date_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# A hyphenated name before "customer" or "client" ending the phrase describes the customer,
# as before "company" (each a dependency on multi-region, a block through never-built).
# (note, [(feature, is_commitment, promised_date, needed_by, optional)])
CUSTOMER_DESCRIBED = [
    ("a multi-region customer", []),
    ("They are a multi-region customer", []),
    ("They are a multi-region customer.", []),
    ("They are a multi-region client with offices in EMEA", []),
    ("Multi-region customer, 40 offices", []),
    ("They are a multi-region customer and need SSO", [("sso", False, None, None, False)]),
    (
        "They are a multi-region customer; they need multi-region by Q1",
        [("multi-region", False, None, Q1, False)],
    ),
    # as they were: the noun not the phrase's last, a name not hyphenated, our customers, the
    # feature for their customers, a product's customer, the company form
    ("Multi-region customer deployment needed", [("multi-region", False, None, None, False)]),
    ("They need a multi-region customer setup", [("multi-region", False, None, None, False)]),
    ("They are a multi region customer", [("multi-region", False, None, None, False)]),
    (
        "Our multi-region customers need SSO",
        [("multi-region", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "They need multi-region for their customers",
        [("multi-region", False, None, None, False)],
    ),
    ("They are an SSO customer", [("sso", False, None, None, False)]),
    ("They are a Salesforce customer", [("sf", False, None, None, False)]),
    ("They are a multi-region company", []),
]


@pytest.mark.parametrize(
    ("body", "expected"), CUSTOMER_DESCRIBED, ids=[c[0][:40] for c in CUSTOMER_DESCRIBED]
)
def test_a_hyphenated_name_before_customer_describes_them(body: str, expected: list) -> None:
    assert readings(body) == expected


# Names listed before their requirement, after another feature's wish: each is required
# (SSO, the first, took the wish of the clause before: optional).
LISTED_AFTER_A_WISH = [
    ("Offline mode: optional, SSO, SCIM: required", [("offline", True), ("sso", False), ("scim", False)]),
    ("Offline mode: optional; SSO, SCIM: required", [("offline", True), ("sso", False), ("scim", False)]),
    ("Offline mode: optional, SSO and SCIM: required", [("offline", True), ("sso", False), ("scim", False)]),
    ("Offline mode: optional; SSO, SCIM required", [("offline", True), ("sso", False), ("scim", False)]),
    ("Offline mode: optional, SSO, SCIM - required", [("offline", True), ("sso", False), ("scim", False)]),
    ("Offline mode: optional, SSO, SCIM: required by Q1", [("offline", True), ("sso", False), ("scim", False)]),
    # as they were: one name, the wish after the list, a wish label heading the list, a list
    # with no requirement
    ("Offline mode: optional, SSO required", [("offline", True), ("sso", False)]),
    ("Offline mode: optional, SSO: required", [("offline", True), ("sso", False)]),
    ("Offline mode: required, SSO, SCIM: optional", [("offline", False), ("sso", True), ("scim", True)]),
    ("Nice to have: SSO, SCIM", [("sso", True), ("scim", True)]),
    ("Nice to have: SSO, SCIM required", [("sso", True), ("scim", False)]),
    ("SSO, SCIM: required", [("sso", False), ("scim", False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), LISTED_AFTER_A_WISH, ids=[c[0][:40] for c in LISTED_AFTER_A_WISH]
)
def test_names_listed_before_their_requirement_are_required(body: str, expected: list) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert [(r.feature_key, r.optional) for r in refs] == expected


# "launches in", "launching in" a date: our word with its date, as "ships in", "releases in"
# (each a plain dependency); the customer's own launch stays their date.
LAUNCHES_IN = [
    ("SCIM launches in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM launching in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM is launching in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM launches on March 3", [("scim", True, date(2027, 3, 3), None, False)]),
    ("Requirements:\n- SCIM launches in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM launches in Q2 - told them", [("scim", True, Q2, None, False)]),
    # ... "launches by" too, as "releases by": the item's own word under a heading of needs,
    # our word beside a wish (each was the customer's date by Q2)
    ("Requirements:\n- SCIM launches by Q2", [("scim", True, Q2, None, False)]),
    ("SCIM launches by Q2 - nice to have", [("scim", True, Q2, None, False)]),
    ("SCIM releases by Q2 - nice to have", [("scim", True, Q2, None, False)]),
    ("Requirements:\n- SCIM launch by Q2", [("scim", False, None, Q2, False)]),
    ("The customer launches by Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    # as they were: the forms it now matches, their launch with a need, a question, a denial,
    # the noun, the past, our present tense (as "We ship SCIM in Q2")
    ("SCIM ships in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM releases in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM launches before Q3", [("scim", True, date(2027, 6, 30), None, False)]),  # round 27
    ("The customer launches in Q2 and needs SCIM", [("scim", False, None, Q2, False)]),
    ("The customer launches in Q2, SCIM required", [("scim", False, None, Q2, False)]),
    ("Customer launching in Q2; they need SCIM", [("scim", False, None, Q2, False)]),
    ("Their app launches in Q2, SCIM needed", [("scim", False, None, Q2, False)]),
    ("They launch in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("Their launch in Q2 needs SCIM", [("scim", False, None, Q2, False)]),
    ("Customer launches in Q2", []),
    ("Their SCIM rollout launches in Q2", [("scim", False, None, None, False)]),
    ("Customer asked whether SCIM launches in Q2", [("scim", False, None, None, False)]),
    ("SCIM won't launch in Q2", [("scim", False, None, None, False)]),
    ("SCIM launch in Q2", [("scim", False, None, None, False)]),
    ("SCIM launched in Q2", [("scim", False, None, None, False)]),
    ("SCIM launches soon", [("scim", False, None, None, False)]),
    ("We launch SCIM in Q2", [("scim", False, None, None, False)]),
    ("We ship SCIM in Q2", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), LAUNCHES_IN, ids=[c[0][:40] for c in LAUNCHES_IN])
def test_launches_in_a_date_is_our_word_as_ships_in(body: str, expected: list) -> None:
    assert readings(body) == expected


# A launch or release said not to happen is a delivery denied, as "won't ship": no promise,
# and its date neither ours nor theirs ("Requirements:\n- SCIM won't launch by Q2" was needed
# by Q2; with no heading it was our promise by Q2). A plain dependency.
LAUNCH_DENIED = [
    ("Requirements:\n- SCIM won't launch by Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM will not launch by Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM won't be launched by Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM won't release by Q2", [("scim", False, None, None, False)]),
    ("SCIM won't launch by Q2", [("scim", False, None, None, False)]),
    ("SCIM will not launch by Q2", [("scim", False, None, None, False)]),
    ("SCIM can't launch before Q3", [("scim", False, None, None, False)]),
    ("We won't launch SCIM by Q2", [("scim", False, None, None, False)]),
    ("SCIM won't launch by Q2; they need it by Q1", [("scim", False, None, Q1, False)]),
    # ... and our promise after it is made again, with its own date
    (
        "SCIM won't launch by Q2, but we will have it by Q3",
        [("scim", True, date(2027, 9, 30), None, False)],
    ),
    # as they were: "won't ship", the launch promised, the customer's date, their own launch
    ("Requirements:\n- SCIM won't ship by Q2", [("scim", False, None, None, False)]),
    ("Requirements:\n- SCIM will launch by Q2", [("scim", True, Q2, None, False)]),
    ("Requirements:\n- SCIM by Q2", [("scim", False, None, Q2, False)]),
    ("SCIM won't launch in Q2", [("scim", False, None, None, False)]),
    ("They won't launch without SCIM by Q2", [("scim", False, None, Q2, False)]),
    ("They won't go live without SCIM by Q2", [("scim", False, None, Q2, False)]),
    (
        "Requirements:\n- They won't launch without SCIM by Q2",
        [("scim", False, None, Q2, False)],
    ),
    ("They can't launch without SCIM", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), LAUNCH_DENIED, ids=[c[0][:40] for c in LAUNCH_DENIED]
)
def test_a_launch_denied_is_neither_our_date_nor_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# Our yes to their dated question, in the clause right after it and naming nothing: our
# promise by the date they asked about (each read as a question).
YES_TO_A_DATED_QUESTION = [
    ("Customer asked whether SCIM will be ready by Q1, told them yes", [("scim", True, Q1, None, False)]),
    ("Customer asked whether SCIM will be ready by Q1, told them yes.", [("scim", True, Q1, None, False)]),
    ("They asked if SCIM will be ready by Q1; told them yes", [("scim", True, Q1, None, False)]),
    ("Customer asked whether SCIM ships by Q1, told them yes", [("scim", True, Q1, None, False)]),
    ("Customer asked whether SCIM will be ready by Q1; we said yes", [("scim", True, Q1, None, False)]),
    ("Customer asked whether we will have SCIM by Q1, told them yes", [("scim", True, Q1, None, False)]),
    # as they were: no date asked about, a yes about another feature or saying more, no yes,
    # their yes, a date of our own in the answer
    ("Customer asked whether SCIM will be ready, told them yes", [("scim", False, None, None, False)]),
    (
        "Customer asked whether SCIM will be ready by Q1, told them yes for SSO",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "Customer asked whether SCIM will be ready by Q1, told them yes, SSO too",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Customer asked whether SCIM will be ready by Q1, told them no", [("scim", False, None, None, False)]),
    ("Customer asked whether SCIM will be ready by Q1, told them maybe", [("scim", False, None, None, False)]),
    ("Customer asked whether SCIM will be ready by Q1, they said yes", [("scim", False, None, None, False)]),
    (
        "Customer asked whether SCIM will be ready by Q1, told them we'd follow up",
        [("scim", False, None, None, False)],
    ),
    ("Customer asking whether SCIM will be ready by Q1, told them Q2", [("scim", True, Q2, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"),
    YES_TO_A_DATED_QUESTION,
    ids=[c[0][:60] for c in YES_TO_A_DATED_QUESTION],
)
def test_our_yes_to_their_dated_question_is_our_promise(body: str, expected: list) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert readings(body) == expected
    assert not any(r.is_commitment and r.is_question for r in refs)


# Their question answered by our word in the sentence right after it, naming nothing else: a
# date alone, or a yes to a question stating one (each read as a question).
ANSWERED_NEXT = [
    ("Will SCIM be ready by Q1? Told them Q2.", [("scim", True, Q2, None, False)]),
    ("Will SCIM be ready by Q1? Told them yes.", [("scim", True, Q1, None, False)]),
    ("When will SCIM ship? Told them Q2.", [("scim", True, Q2, None, False)]),
    ("When will SCIM ship? We told them by Q2.", [("scim", True, Q2, None, False)]),
    ("Will SCIM be ready by Q1?\nTold them Q2.", [("scim", True, Q2, None, False)]),
    ("Customer asked whether SCIM will be ready by Q1. Told them Q2.", [("scim", True, Q2, None, False)]),
    (
        "Will SCIM be ready by Q1? Told them Q2. They need SSO.",
        [("scim", True, Q2, None, False), ("sso", False, None, None, False)],
    ),
    # as they were: another feature in the answer, no answer, an answer saying more or not
    # right after, two features asked about, a yes to an undated question
    (
        "Will SCIM be ready by Q1? Told them SSO by Q2.",
        [("scim", False, None, None, False), ("sso", True, Q2, None, False)],
    ),
    ("Will SCIM be ready by Q1? We will check.", [("scim", False, None, None, False)]),
    ("Will SCIM be ready by Q1? They need it.", [("scim", False, None, None, False)]),
    ("Will SCIM be ready by Q1? Told them no ETA.", [("scim", False, None, None, False)]),
    ("Will SCIM be ready by Q1? Told them Q2 hopefully.", [("scim", False, None, None, False)]),
    ("Will SCIM be ready by Q1? Told them Q2 or Q3.", [("scim", False, None, None, False)]),
    ("Will SCIM be ready by Q1? Pricing discussed. Told them Q2.", [("scim", False, None, None, False)]),
    (
        "Will SCIM or SSO be ready by Q1? Told them Q2.",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Does SCIM work? Told them yes.", [("scim", False, None, None, False)]),
    ("We will have SCIM by Q1. Told them Q2.", [("scim", True, Q1, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), ANSWERED_NEXT, ids=[c[0][:60] for c in ANSWERED_NEXT]
)
def test_their_question_answered_in_the_next_sentence(body: str, expected: list) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert readings(body) == expected
    assert not any(r.is_commitment and r.is_question for r in refs)


def test_the_answer_quotes_the_question_and_the_answer() -> None:
    (ref,) = find_references(
        make_deal("Will SCIM be ready by Q1? Told them Q2."), CATALOG, today=TODAY
    )
    assert (ref.evidence, ref.is_question) == ("Will SCIM be ready by Q1? Told them Q2.", False)


# A name with "dropped" right after it, ending its clause: the customer dropped the need, as
# "Offline mode was dropped" and "SSO dropped from scope" already read (each a dependency).
DROPPED_AFTER_THE_NAME = [
    ("Offline mode dropped", []),
    ("Offline mode dropped.", []),
    ("Offline mode: dropped", []),
    ("Offline mode - dropped", []),
    ("SSO dropped", []),
    ("Offline mode dropped for now", []),
    ("Offline mode dropped, SSO still needed", [("sso", False, None, None, False)]),
    ("Offline mode dropped but SSO needed", [("sso", False, None, None, False)]),
    ("Offline mode dropped; they need SSO by Q1", [("sso", False, None, Q1, False)]),
    ("Requirements:\n- Offline mode dropped\n- SSO", [("sso", False, None, None, False)]),
    ("We will have SCIM by Q1, offline mode dropped", [("scim", True, Q1, None, False)]),
    # as they were: the forms already read so, release slang with more after it, a question,
    # a negation, something else dropped
    ("SSO dropped from scope", []),
    ("Offline mode dropped from the list", []),
    ("Offline mode was dropped", []),
    ("Offline mode requirement dropped", []),
    ("They dropped offline mode", []),
    ("They never dropped offline mode", [("offline", False, None, None, False)]),
    ("SCIM dropped last week", [("scim", False, None, None, False)]),
    ("SCIM dropped in Q2", [("scim", False, None, None, False)]),
    ("Offline mode dropped?", [("offline", False, None, None, False)]),
    ("Offline mode not dropped", [("offline", False, None, None, False)]),
    ("Offline mode dropped support for Android", [("offline", False, None, None, False)]),
    ("Offline mode dropped to nice to have", [("offline", False, None, None, True)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), DROPPED_AFTER_THE_NAME, ids=[c[0][:40] for c in DROPPED_AFTER_THE_NAME]
)
def test_a_name_dropped_is_a_need_given_up(body: str, expected: list) -> None:
    assert readings(body) == expected
