"""Round 22: a date denied right before it ("not in Q1", "not by Q1", "not in the Q1 release")
was read as the promised date when the promise came before the feature ("We promised SSO not
in Q1": SSO promised by Q1, a false block for a feature planned for Q2), or, with the clause
cut, the next feature's date was taken instead; and "the" before a denied date ("SSO not in
the Q1 release, SCIM by Q2") kept the clause whole, so SCIM's promise was read as SSO's too;
a feature's label with a dated value before another feature ("SSO: promised by Q3, SCIM by
Q2") lost its value to that feature, and the roadmap's plan after a dash was not hedged."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3
from .test_sales_language import CATALOG

# (note, [(feature, is_commitment, promised_date, needed_by, is_question)])
DENIED_DATE_IS_NO_PROMISED_DATE = [
    ("We promised SSO not in Q1", [("sso", True, None, None, False)]),
    ("We promised SSO not by Q1", [("sso", True, None, None, False)]),
    ("We promised SSO not in the Q1 release", [("sso", True, None, None, False)]),
    ("We'll have SSO, just not in Q1", [("sso", True, None, None, False)]),
    (
        "We promised SSO not in Q1, SCIM by Q2",
        [("sso", True, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We promised SSO not in the Q1 release, SCIM by Q2",
        [("sso", True, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # ... a date right after, correcting the denied one, is the promised date
    ("We promised SSO not in Q1 but by Q2", [("sso", True, Q2, None, False)]),
    ("We promised SSO not in Q1, but Q2", [("sso", True, Q2, None, False)]),
    ("We promised SSO not by Q1, only by Q2", [("sso", True, Q2, None, False)]),
    (
        "We will have SSO not in Q1 but in Q2, SCIM by Q3",
        [("sso", True, Q2, None, False), ("scim", True, Q3, None, False)],
    ),
    # ... what stays: "not until" and "not before" say when it will be
    ("We promised SSO not until Q3", [("sso", True, Q3, None, False)]),
    ("We promised SSO not before Q2", [("sso", True, Q2, None, False)]),
    ("We promised SSO by Q1", [("sso", True, Q1, None, False)]),
    ("We can't promise SSO by Q1", [("sso", False, None, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    DENIED_DATE_IS_NO_PROMISED_DATE,
    ids=[c[0][:60] for c in DENIED_DATE_IS_NO_PROMISED_DATE],
)
def test_a_denied_date_is_not_the_promised_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# "the" before the denied date: the clause is cut after it as without ("SSO not in Q1, SCIM by
# Q2", round 21). SSO was promised by Q2 (SCIM's date) in each.
THE_BEFORE_A_DENIED_DATE = [
    (
        "SSO not in the Q1 release, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not in the Q1 release and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO is not in the Q1 release, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not until the Q3 release, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    # ... what stays
    ("SSO not in the Q1 release", [("sso", False, None, None, False)]),
    (
        "SSO by Q1 and SCIM not in the Q1 release",
        [("sso", True, Q1, None, False), ("scim", False, None, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    THE_BEFORE_A_DENIED_DATE,
    ids=[c[0][:60] for c in THE_BEFORE_A_DENIED_DATE],
)
def test_the_before_a_denied_date_still_cuts_the_clause(body: str, expected: list) -> None:
    assert readings(body) == expected


def hedged_readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# A feature's label with a dated value, then another feature after ", " or " and " ("SSO:
# promised by Q3, SCIM by Q2"): the value is the label's, the rest a clause of its own. SSO was
# read plain in each (a promise missed), the value going to SCIM alone. After a dash too, and
# the roadmap's plan after a dash is hedged as after a colon ("SSO - planned for Q3": firm).
LABELLED_VALUE_BEFORE_MORE_NAMES = [
    ("SSO: promised by Q3, SCIM by Q2", [("sso", True, Q3, False), ("scim", True, Q2, False)]),
    ("SSO: by Q3, SCIM by Q2", [("sso", True, Q3, False), ("scim", True, Q2, False)]),
    ("SSO: planned for Q3, SCIM by Q2", [("sso", True, Q3, True), ("scim", True, Q2, False)]),
    ("SSO: planned for Q3 and SCIM by Q2", [("sso", True, Q3, True), ("scim", True, Q2, False)]),
    ("- SSO: promised by Q3, SCIM by Q2", [("sso", True, Q3, False), ("scim", True, Q2, False)]),
    (
        "SSO support: promised by Q3, SCIM by Q2",
        [("sso", True, Q3, False), ("scim", True, Q2, False)],
    ),
    ("SSO - promised by Q3, SCIM by Q2", [("sso", True, Q3, False), ("scim", True, Q2, False)]),
    (
        "SSO \u2013 scheduled for Q3, SCIM by Q2",
        [("sso", True, Q3, True), ("scim", True, Q2, False)],
    ),
    ("SSO - planned for Q3", [("sso", True, Q3, True)]),
    ("SSO \u2014 planned for Q3", [("sso", True, Q3, True)]),
    ("- SSO - planned for Q3", [("sso", True, Q3, True)]),
    # ... what stays: no value of the label's own, an undated value (the list's), no label
    ("SSO: SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    ("Demo: scheduled for Monday, SSO by Q2", [("sso", True, Q2, False)]),
    ("SSO - we planned for Q3", [("sso", True, Q3, False)]),
    ("SSO by Q2 - kickoff: planned for May", [("sso", True, Q2, False)]),
    ("SSO: planned for Q3", [("sso", True, Q3, True)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    LABELLED_VALUE_BEFORE_MORE_NAMES,
    ids=[c[0][:60] for c in LABELLED_VALUE_BEFORE_MORE_NAMES],
)
def test_a_labels_dated_value_is_the_labels_before_more_names(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


# The year before the quarter or half ("2027 Q2", "2027 H1") was read as the whole year (31
# December 2027, the "in 2027" before the quarter), and a month with its year in figures
# ("06/2027", "2027/06", "2027-06") as no date at all.
YEAR_FIRST_AND_NUMERIC_MONTHS = [
    ("We'll have SCIM in 2027 Q2", date(2027, 6, 30)),
    ("We'll have SCIM in 2027 H1", date(2027, 6, 30)),
    ("We'll have SCIM in 2027 H2", date(2027, 12, 31)),
    ("We'll have SCIM in 2027-Q3", date(2027, 9, 30)),
    ("We'll have SCIM in 2028Q1", date(2028, 3, 31)),
    ("We'll have SCIM by 06/2027", date(2027, 6, 30)),
    ("We'll have SCIM by 6/2027", date(2027, 6, 30)),
    ("We'll have SCIM by 2027/06", date(2027, 6, 30)),
    ("We'll have SCIM by 2027-02", date(2027, 2, 28)),
    # ... what stays
    ("We'll have SCIM in H1 2027", date(2027, 6, 30)),
    ("We'll have SCIM in 2027", date(2027, 12, 31)),
    ("We'll have SCIM by 2027-06-15", date(2027, 6, 15)),
    ("We'll have SCIM by 6/15/2027", date(2027, 6, 15)),
    ("We'll have SCIM by 13/2027", None),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    YEAR_FIRST_AND_NUMERIC_MONTHS,
    ids=[c[0][:60] for c in YEAR_FIRST_AND_NUMERIC_MONTHS],
)
def test_a_year_before_its_quarter_and_numeric_months_are_dates(
    body: str, expected: date | None
) -> None:
    assert hedged_readings(body) == [("scim", True, expected, False)]


# "GA" and "generally available" after "will be" or "would be" are our delivery, as "will be
# available" is: each was read plain (a promise missed). Denied, no commitment.
GENERALLY_AVAILABLE = [
    ("SCIM will be GA in Q2", [("scim", True, Q2, False)]),
    ("SCIM will be generally available in Q2", [("scim", True, Q2, False)]),
    ("SCIM won't be GA in Q2", [("scim", False, None, False)]),
    ("SCIM won't be generally available until Q3", [("scim", False, None, False)]),
    # ... what stays
    ("Told them SCIM would be GA by Q2", [("scim", True, Q2, False)]),
    ("SCIM will be available in Q2", [("scim", True, Q2, False)]),
    ("SCIM will be in GA by Q2", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), GENERALLY_AVAILABLE, ids=[c[0][:60] for c in GENERALLY_AVAILABLE]
)
def test_generally_available_is_our_delivery(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


# The customer the subject of "will be live / ready / GA / done" ("They will be live in Q2 and
# need SCIM"): their go-live, as "They will launch in Q2 and need SCIM" already was; each was
# our promise of SCIM by their date (a false block).
THEIR_BEING_READY = [
    ("They will be live in Q2 with their app, need SCIM", [("scim", False, None, False)]),
    ("They will be ready in Q2, need SCIM", [("scim", False, None, False)]),
    ("Their team will be live in Q2 and needs SCIM", [("scim", False, None, False)]),
    ("The customer will be ready by Q2 and needs SCIM", [("scim", False, None, False)]),
    ("They will be GA in Q2 with their app, need SCIM", [("scim", False, None, False)]),
    # ... what stays: a feature's, ours, or a feature referred back to
    ("SCIM will be ready by Q2", [("scim", True, Q2, False)]),
    ("We will be ready with SCIM by Q2", [("scim", True, Q2, False)]),
    ("Told them SCIM will be live by Q2", [("scim", True, Q2, False)]),
    ("They asked about SCIM; it will be ready by Q2", [("scim", True, Q2, False)]),
    ("They will launch in Q2 and need SCIM", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), THEIR_BEING_READY, ids=[c[0][:60] for c in THEIR_BEING_READY]
)
def test_the_customer_being_ready_is_theirs(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


# What the contract says, named before it ("Per the MSA, SCIM must be available at go-live"):
# in the contract, as "The MSA includes SCIM" is; each was read as the customer's own need, no
# commitment. A contract cue with the document leaving the feature out after it ("In the
# contract, SCIM is not included") is none; it was a commitment.
PER_THE_CONTRACT = [
    (
        "Per the MSA, SCIM must be available at go-live (Jan 15)",
        [("scim", True, date(2027, 1, 15), False)],
    ),
    ("As per the order form, SSO included", [("sso", True, None, False)]),
    ("Per the MSA, SCIM is included", [("scim", True, None, False)]),
    ("Per the MSA, SCIM is not included", [("scim", False, None, False)]),
    ("Per the MSA, SCIM isn't included", [("scim", False, None, False)]),
    ("Per the MSA, SCIM is excluded", [("scim", False, None, False)]),
    ("In the contract, SCIM is not included", [("scim", False, None, False)]),
    # ... what stays: another party's contract, the sale's steps, a denial before the cue
    ("Per their contract with Okta, they need SSO", [("sso", False, None, False)]),
    ("Per the MSA redlines, they want SCIM", [("scim", False, None, False)]),
    ("SCIM is not included in the MSA", [("scim", False, None, False)]),
    ("Per the contract, SCIM by Q2", [("scim", True, Q2, False)]),
    ("Under the MSA, SCIM ships by Q2", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), PER_THE_CONTRACT, ids=[c[0][:60] for c in PER_THE_CONTRACT]
)
def test_what_the_contract_says_is_in_the_contract(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


def test_an_off_roadmap_promise_per_the_contract_is_still_caught() -> None:
    (ref,) = find_references(
        make_deal("Per the contract, we owe them a SAP integration by Q2."), CATALOG, today=TODAY
    )
    assert (ref.feature_key, ref.feature_name, ref.is_commitment) == (None, "SAP integration", True)


def full_readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, needed_by) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.needed_by)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Our agreement right after the customer's dated need ("They need SCIM by Q2, we agreed") is
# our promise by their date, as a yes to their dated question already was; each was read as
# their need alone (a promise missed: no block for a feature planned later).
AGREED_TO_THEIR_DATE = [
    ("They need SCIM by Q2, we agreed", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2 and we agreed to it", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2; we confirmed", [("scim", True, Q2, Q2)]),
    ("They want SCIM by Q2 and we said that works", [("scim", True, Q2, Q2)]),
    ("SCIM by Q2 is a must for them and we said yes", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2, I said no problem", [("scim", True, Q2, Q2)]),
    # ... what stays: no agreement, an agreement to something else, no date of theirs
    ("They need SCIM by Q2, we didn't agree", [("scim", False, None, Q2)]),
    ("They need SCIM by Q2, we agreed to revisit", [("scim", False, None, Q2)]),
    ("They need SCIM by Q2, we agreed on pricing", [("scim", False, None, Q2)]),
    ("They need SCIM by Q2, we'll see", [("scim", False, None, Q2)]),
    ("They need SCIM, we agreed", [("scim", False, None, None)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), AGREED_TO_THEIR_DATE, ids=[c[0][:60] for c in AGREED_TO_THEIR_DATE]
)
def test_our_agreement_to_their_dated_need_is_our_promise(body: str, expected: list) -> None:
    assert full_readings(body) == expected


# ... and in the next sentence, as "Will SCIM be ready by Q1? Told them yes." already was: our
# agreement alone after their dated need or question; our word with a date after their need.
AGREED_IN_THE_NEXT_SENTENCE = [
    ("They want SCIM by Q2. I said no problem.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. We agreed.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. Told them Q3.", [("scim", True, Q3, Q2)]),
    ("Asked whether SCIM by Q2 is possible. We said yes.", [("scim", True, Q2, None)]),
    # ... what stays
    ("Will SCIM be ready by Q1? Told them yes.", [("scim", True, Q1, None)]),
    ("When will SCIM ship? We told them by Q2.", [("scim", True, Q2, None)]),
    ("They need SCIM by Q2. We agreed to revisit.", [("scim", False, None, Q2)]),
    ("They need SCIM by Q2. We'll see.", [("scim", False, None, Q2)]),
    ("They need SCIM. We agreed.", [("scim", False, None, None)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    AGREED_IN_THE_NEXT_SENTENCE,
    ids=[c[0][:60] for c in AGREED_IN_THE_NEXT_SENTENCE],
)
def test_our_agreement_in_the_next_sentence_is_our_promise(body: str, expected: list) -> None:
    assert full_readings(body) == expected


# A date for our step of the sale about the feature ("We will send the offline mode roadmap by
# Q2") is the step's, as "We'll have an update on offline mode by Q2" already was: each was our
# promise of offline mode (never on the roadmap) by the date, a false block.
SALE_STEP_BY_A_DATE = [
    ("We will send the offline mode roadmap by Q2", [("offline", False, None, False)]),
    ("We'll share the offline mode roadmap by Q2", [("offline", False, None, False)]),
    ("Will confirm offline mode timing by end of month", [("offline", False, None, False)]),
    # ... what stays: a delivery after the step, a promise in the sentence, other steps
    ("I'll follow up on SCIM by Q1", [("scim", False, None, False)]),
    ("We'll confirm we can ship SCIM by Q2", [("scim", True, Q2, False)]),
    ("We will deliver SCIM by Q2", [("scim", True, Q2, False)]),
    ("We promised SCIM by Q2 and will send the docs", [("scim", True, Q2, False)]),
    ("We'll have an update on offline mode by Q2", [("offline", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), SALE_STEP_BY_A_DATE, ids=[c[0][:60] for c in SALE_STEP_BY_A_DATE]
)
def test_a_date_for_a_step_of_the_sale_is_the_steps(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


# A promise clause naming no feature speaks about the sentence's ("They asked about SCIM; we
# promised it by Q2"), unless it offers something else in its place: each was our promise of
# offline mode (never on the roadmap) by the alternative's date, a false block.
ALTERNATIVE_OFFERED = [
    ("They'd like offline mode; we'll offer the cached reports by Q2", [("offline", False, None, False)]),
    ("Offline mode is a no-go; we're offering sync by Q2 instead", [("offline", False, None, False)]),
    ("They need SCIM; we'll offer a workaround by Q1", [("scim", False, None, False)]),
    # ... what stays: "it", "instead of" a date, the alternative named before
    ("They asked for offline mode; we'll deliver it by Q2", [("offline", True, Q2, False)]),
    ("They asked about SCIM; we promised it by Q2", [("scim", True, Q2, False)]),
    ("SCIM came up; we'll have it by Q2 instead of Q3", [("scim", True, Q2, False)]),
    ("Instead of offline mode, we'll give them the mobile cache by Q1", []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), ALTERNATIVE_OFFERED, ids=[c[0][:60] for c in ALTERNATIVE_OFFERED]
)
def test_a_promise_of_something_else_in_its_place_is_not_the_features(
    body: str, expected: list
) -> None:
    assert hedged_readings(body) == expected


def wish_readings(body: str) -> list[tuple]:
    """(feature, is_commitment, needed_by, optional) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.needed_by, r.optional)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# A need said not to be a blocker ("They need SCIM eventually, not a blocker") is a dependency
# the customer called nice to have, where it was read as no dependency at all (engineering's
# views lost the demand). Without the need word, "not a blocker" and "not required" still deny.
NEEDED_BUT_NOT_BLOCKING = [
    ("They need SCIM eventually, not a blocker", [("scim", False, None, True)]),
    ("They want SCIM, not a must-have", [("scim", False, None, True)]),
    ("They need SCIM by Q2, not a dealbreaker", [("scim", False, Q2, True)]),
    # ... what stays
    ("SCIM is not a blocker for them", []),
    ("SCIM is not required", []),
    ("They need SCIM, not SSO", [("scim", False, None, False)]),
    ("We will have SCIM, not a blocker", []),
]


@pytest.mark.parametrize(
    ("body", "expected"), NEEDED_BUT_NOT_BLOCKING, ids=[c[0][:60] for c in NEEDED_BUT_NOT_BLOCKING]
)
def test_a_need_that_is_no_blocker_is_a_nice_to_have(body: str, expected: list) -> None:
    assert wish_readings(body) == expected


# "not in (the) next release" denies the release cue (each was our promise of SSO: a false
# block), and a release named without a date after "not in" cuts the clause as a date does
# ("SSO not in the release, SCIM by Q2": SSO took SCIM's promise).
RELEASE_DENIED = [
    ("SSO is not in the next release", [("sso", False, None, False)]),
    ("SSO not in the next release", [("sso", False, None, False)]),
    ("SSO isn't in the next sprint", [("sso", False, None, False)]),
    ("SSO not in the next release, SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    ("SSO not in the release, SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    ("SSO not in v2, SCIM by Q2", [("sso", False, None, False), ("scim", True, Q2, False)]),
    # ... what stays
    ("SSO will be in the next release", [("sso", True, None, False)]),
    ("We promised SSO in the next release", [("sso", True, None, False)]),
    ("SSO not in scope, SCIM by Q2", [("scim", True, Q2, False)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), RELEASE_DENIED, ids=[c[0][:60] for c in RELEASE_DENIED]
)
def test_a_release_denied_is_no_promise(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected
