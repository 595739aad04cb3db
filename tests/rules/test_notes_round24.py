"""Round 24, from realistic sales notes: dates after "by"/"before" that start with a number of
two digits or more ("by 15 July", "by 2027", "by 12/15"), and numbers there that are no date;
"locked in" and "a done deal" with a date; a promise "not confirmed" / "not locked in";
a denial said of a sale item beside a promise ("..., pricing not committed"); "reconfirmed";
a custom build with the feature in between ("a custom SCIM build") and custom work refused;
the customer's signing on a condition ("They'll sign if SCIM ships in Q2"). Each table says
what was read before and why it was wrong."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2
from .test_notes_round8 import Q3
from .test_sales_language import CATALOG

MARCH = date(2027, 3, 31)


def readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, needed_by, custom_build) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.needed_by,
         r.custom_build)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]  # fmt: skip


# Before: "by 15", "by 2027", "by 12/15", "before 15 July" promised nothing (only "by" and one
# digit was a cue: "by 1 March" was a promise, "by 30 June" not: a missed block). A number
# that starts no date ("by 10 users") was a promise with no date, and is none now.
NUMBERED_DATES = [
    ("SCIM by 30 June.", [("scim", True, Q2, None, False)]),
    ("SCIM by 15 July.", [("scim", True, date(2027, 7, 15), None, False)]),
    ("SCIM by 30th June.", [("scim", True, Q2, None, False)]),
    ("SCIM by 2027.", [("scim", True, date(2027, 12, 31), None, False)]),
    ("SCIM by 1H27.", [("scim", True, Q2, None, False)]),
    ("SCIM by 2Q27", [("scim", True, Q2, None, False)]),
    ("SCIM by 15/07.", [("scim", True, date(2027, 7, 15), None, False)]),
    ("SCIM by 12/15.", [("scim", True, date(2026, 12, 15), None, False)]),
    ("SCIM by 30.06.2027.", [("scim", True, Q2, None, False)]),
    ("SCIM before 15 July.", [("scim", True, date(2027, 7, 15), None, False)]),
    ("SCIM before 6/30.", [("scim", True, Q2, None, False)]),
    ("Legal added a clause: SCIM by 30 June.", [("scim", True, Q2, None, False)]),
    # the customer's date stays theirs
    ("They need SCIM by 15 July.", [("scim", False, None, date(2027, 7, 15), False)]),
    # numbers that start no date
    ("SCIM by 10 users.", [("scim", False, None, None, False)]),
    ("SCIM by 1 user.", [("scim", False, None, None, False)]),
    ("SSO by 9 am tomorrow.", [("sso", False, None, None, False)]),
    ("SCIM adoption up by 5 percent.", [("scim", False, None, None, False)]),
    ("Price up by 10%, SCIM included.", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), NUMBERED_DATES, ids=[c[0] for c in NUMBERED_DATES])
def test_a_date_starting_with_a_number_after_by_is_a_promised_date(
    body: str, expected: list
) -> None:
    assert readings(body) == expected


# Before: "SCIM in Q2 is locked in" and "SCIM for Q2 is a done deal" promised nothing (only
# "locked in for Q2" was a cue): missed blocks. Without a date in the clause they are none
# ("Pricing is locked in").
LOCKED_IN = [
    ("SCIM in Q2 is locked in.", [("scim", True, Q2, None, False)]),
    ("SCIM for Q2 is a done deal.", [("scim", True, Q2, None, False)]),
    ("SCIM by Q2: done deal.", [("scim", True, Q2, None, False)]),
    ("SCIM is locked in for Q2.", [("scim", True, Q2, None, False)]),
    ("Pricing is locked in for Q2, SCIM included.", [("scim", False, None, None, False)]),
    ("The contract is a done deal; SCIM is next.", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), LOCKED_IN, ids=[c[0] for c in LOCKED_IN])
def test_locked_in_and_a_done_deal_with_a_date_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: each was a promise by Q2 (the date cue stood; "not confirmed" denied nothing): a
# false block of a date the rep said was not firm.
NOT_FIRM = [
    ("SCIM by Q2 is not confirmed.", [("scim", False, None, None, False)]),
    ("SCIM by Q2 is not yet confirmed.", [("scim", False, None, None, False)]),
    ("SCIM by Q2 is not a done deal.", [("scim", False, None, None, False)]),
    ("SCIM by Q2 is not locked in.", [("scim", False, None, None, False)]),
    ("SCIM by Q2 - not set in stone.", [("scim", False, None, None, False)]),
    # ... of another feature only
    (
        "We will have SCIM by Q2; SSO not confirmed.",
        [("scim", True, Q2, None, False), ("sso", False, None, None, False)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), NOT_FIRM, ids=[c[0] for c in NOT_FIRM])
def test_a_date_not_confirmed_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the denial of the sale item took the feature's promise back with it (a false clear:
# "We will have SCIM by Q2, pricing not committed" read as no promise at all).
SALE_ITEM_DENIED = [
    ("We will have SCIM by Q2, pricing not committed.", [("scim", True, Q2, None, False)]),
    ("We will have SCIM by Q2, pricing not confirmed.", [("scim", True, Q2, None, False)]),
    ("We will have SCIM by Q2, pricing is not guaranteed.", [("scim", True, Q2, None, False)]),
    ("We will have SCIM by Q2, pricing isnt committed.", [("scim", True, Q2, None, False)]),
    (
        "We will have SCIM by Q2 but the discount is not a promise.",
        [("scim", True, Q2, None, False)],
    ),
    # ... the promise's own denial still takes it back
    ("We will have SCIM by Q2, but not committed.", [("scim", False, None, None, False)]),
    ("We will have SCIM by Q2, though it is not committed.", [("scim", False, None, None, False)]),
    (
        "We will have SCIM by Q2 but the date is not committed.",
        [("scim", False, None, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), SALE_ITEM_DENIED, ids=[c[0] for c in SALE_ITEM_DENIED]
)
def test_a_sale_item_denied_beside_a_promise_leaves_the_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "reconfirmed" was no cue (a missed block); as "confirmed", theirs stays theirs.
RECONFIRMED = [
    ("Reconfirmed SCIM for Q2.", [("scim", True, Q2, None, False)]),
    ("We reconfirmed SCIM for Q2 on the call.", [("scim", True, Q2, None, False)]),
    ("Re-confirmed SCIM for Q2.", [("scim", True, Q2, None, False)]),
    ("SCIM reconfirmed for Q2.", [("scim", True, Q2, None, False)]),
    ("They reconfirmed they need SCIM by Q2.", [("scim", False, None, Q2, False)]),
    ("Customer reconfirmed SCIM for Q2.", [("scim", False, None, None, False)]),
    ("SCIM not reconfirmed for Q2.", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), RECONFIRMED, ids=[c[0] for c in RECONFIRMED])
def test_reconfirmed_is_confirmed(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "a custom SCIM build" was no cue (a missed block); custom work refused ("No custom
# build of SCIM", "We won't do a custom build of SCIM", "No custom connector for them") was a
# promise of custom work (false blocks).
CUSTOM = [
    ("Eng agreed to a custom SCIM build for Q3", [("scim", True, Q3, None, True)]),
    ("We agreed to a custom SCIM build.", [("scim", True, None, None, True)]),
    ("Agreed to a custom build of SCIM for Q3.", [("scim", True, Q3, None, True)]),
    ("Their custom SCIM build breaks often.", [("scim", False, None, None, False)]),
    ("They have a custom SCIM build already.", [("scim", False, None, None, False)]),
    ("No custom build of SCIM.", [("scim", False, None, None, False)]),
    ("No custom SCIM build.", [("scim", False, None, None, False)]),
    ("No custom work on SCIM.", [("scim", False, None, None, False)]),
    ("We will not do a custom SCIM build.", [("scim", False, None, None, False)]),
    ("We won\u2019t do a custom build of SCIM.", [("scim", False, None, None, False)]),
    ("We are not doing any custom work for SCIM.", [("scim", False, None, None, False)]),
    ("No custom connector for them.", []),
    ("We won\u2019t do a custom Workday connector.", []),
    # ... promised custom work next to a refusal of something else
    (
        "No discount, but we will do a custom SCIM build by Q3.",
        [("scim", True, Q3, None, True)],
    ),
    (
        "We will build a custom Workday connector.",
        [("custom Workday connector", True, None, None, True)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), CUSTOM, ids=[c[0] for c in CUSTOM])
def test_custom_builds_named_around_the_feature_and_refused(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: no date at all (a condition is no promise of ours, and its date was dropped): the
# date their signing depends on is the date they need the feature by.
SIGNING_ON = [
    ("They'll sign if SCIM ships in Q2", [("scim", False, None, Q2, False)]),
    ("They'll sign as long as SCIM ships in Q2", [("scim", False, None, Q2, False)]),
    ("If SCIM ships in Q2, they will sign.", [("scim", False, None, Q2, False)]),
    ("If SCIM ships in Q2 they'll sign.", [("scim", False, None, Q2, False)]),
    ("They will sign provided SCIM is live by March.", [("scim", False, None, MARCH, False)]),
    ("They would go ahead if SCIM ships in Q2.", [("scim", False, None, Q2, False)]),
    ("If we had SCIM by Q1 they would sign", [("scim", False, None, Q1, False)]),
    # ... not a condition deciding something else, nor their signing as the condition
    ("If SCIM ships in Q2 we lose nothing.", [("scim", False, None, None, False)]),
    ("Assuming SCIM ships in Q2, they'll roll out in July.", [("scim", False, None, None, False)]),
    ("SCIM in Q1 if they sign by March", [("scim", False, None, None, False)]),
    ("SCIM in Q1 as long as they sign by March", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), SIGNING_ON, ids=[c[0] for c in SIGNING_ON])
def test_their_signing_on_a_condition_dates_their_need(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our yes in other words than "yes" ("I said absolutely", "We said of course") was no
# answer to their question or need (a missed block); "We said yes" already was one.
YES_WORDS = [
    ("They asked if SCIM is coming in Q2; I said absolutely.", [("scim", True, Q2, None, False)]),
    ("Will SCIM be ready by Q2? We said of course.", [("scim", True, Q2, None, False)]),
    ("They need SCIM by Q2, I said sure.", [("scim", True, Q2, Q2, False)]),
    ("They need SCIM by Q2, we said definitely.", [("scim", True, Q2, Q2, False)]),
    # ... "sure" that answers nothing stays none
    (
        "They need SCIM by Q2; I said sure, we will look into it.",
        [("scim", False, None, Q2, False)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), YES_WORDS, ids=[c[0] for c in YES_WORDS])
def test_our_yes_in_other_words_answers_them(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: none of these promised ("land in" without -s, a release named by its date, a date
# given to them): missed blocks.
RELEASES_AND_DATES_GIVEN = [
    ("SCIM will land in Q2.", [("scim", True, Q2, None, False)]),
    ("SCIM will be in the Q2 release.", [("scim", True, Q2, None, False)]),
    ("SCIM will be in our next release.", [("scim", True, None, None, False)]),
    ("Told them SCIM would be in the Q2 release.", [("scim", True, Q2, None, False)]),
    (
        "They pressed on SCIM; we said it would be in the Q2 release.",
        [("scim", True, Q2, None, False)],
    ),
    ("Gave them the Q2 date for SCIM.", [("scim", True, Q2, None, False)]),
    ("Shared the SCIM Q2 date with the customer.", [("scim", True, Q2, None, False)]),
    ("Shared the SCIM timeline with their CTO: Q2.", [("scim", True, Q2, None, False)]),
    # ... what stays none
    ("SCIM will not be in the Q2 release.", [("scim", False, None, None, False)]),
    ("SCIM would be in the Q2 release if they sign.", [("scim", False, None, None, False)]),
    ("Gave them a date for SCIM.", [("scim", False, None, None, False)]),
    ("Shared the SCIM date with product.", [("scim", False, None, None, False)]),
    ("They gave us the Q2 date for their SCIM rollout.", [("scim", False, None, None, False)]),
    (
        "Gave them the Q2 date for the contract; SCIM discussed.",
        [("scim", False, None, None, False)],
    ),
    (
        "Gave them the signing date of March, SCIM included.",
        [("scim", False, None, None, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), RELEASES_AND_DATES_GIVEN, ids=[c[0] for c in RELEASES_AND_DATES_GIVEN]
)
def test_a_release_by_its_date_and_a_date_given_to_them_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our promise of "it"/"that" right after their dated question or need had no date (a
# promise with no date: the rules could not compare it with the feature's target).
ANSWERED_WITH_IT = [
    (
        "Can you commit to SCIM by end of Q2? Yes, we can commit to that.",
        [("scim", True, Q2, None, False)],
    ),
    ("They need SCIM by March. We promised it.", [("scim", True, MARCH, MARCH, False)]),
    ("Asked: SCIM by Q1. We will have it.", [("scim", True, Q1, None, False)]),
    # ... a date of its own wins; no date asked, none given
    ("Will SCIM be ready by Q1? We will have it by Q2.", [("scim", True, Q2, None, False)]),
    ("They asked about SCIM. We promised it.", [("scim", True, None, None, False)]),
    # (a range asked about is its later end since round 27)
    ("Will SCIM be ready by Q1 or Q2? We promised it.", [("scim", True, Q2, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), ANSWERED_WITH_IT, ids=[c[0] for c in ANSWERED_WITH_IT]
)
def test_it_promised_after_their_dated_question_takes_its_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: their need of "it" opening the next sentence gave no date (only within the sentence:
# "Offline mode came up; they need it by Q1"), so a feature planned after the date they need
# it by was not flagged.
NEEDED_NEXT = [
    ("Discussed SCIM. Customer needs it by March.", [("scim", False, None, MARCH, False)]),
    # (before Q2 begins: `test_notes_round27`)
    ("SCIM came up. They'd need it before Q2.", [("scim", False, None, Q1, False)]),
    ("They asked about SCIM. The client wants this in Q3.", [("scim", False, None, Q3, False)]),
    ("Discussed SCIM. Customer needs it live by March.", [("scim", False, None, MARCH, False)]),
    ("We promised SCIM. Customer needs it by March.", [("scim", True, None, MARCH, False)]),
    # ... not denied, not "it" of two features, not a sentence naming its own, not undated
    ("Discussed SCIM. They don't need it by March.", [("scim", False, None, None, False)]),
    (
        "Discussed SCIM and SSO. Customer needs it by March.",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    (
        "Discussed SCIM. Customer needs it by March, and SSO too.",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    ("Discussed SCIM. Customer needs it.", [("scim", False, None, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), NEEDED_NEXT, ids=[c[0] for c in NEEDED_NEXT])
def test_their_need_of_it_in_the_next_sentence_dates_it(body: str, expected: list) -> None:
    assert readings(body) == expected


FEB1 = date(2027, 2, 1)

# Before: no date of theirs (only "Their go-live is scheduled for Q2, SCIM required" gave
# one): the warning that a coming-soon feature may not be ready by the date they need it by
# never fired for the way reps write the customer's milestone.
MILESTONE_NEEDS = [
    ("Customer requires SCIM at go-live (Feb 1).", [("scim", False, None, FEB1, False)]),
    ("They need SCIM at go-live on Feb 1.", [("scim", False, None, FEB1, False)]),
    ("SCIM is needed for go-live, which is Feb 1.", [("scim", False, None, FEB1, False)]),
    ("Go-live Feb 1; SCIM required.", [("scim", False, None, FEB1, False)]),
    ("SCIM required for their Feb 1 launch.", [("scim", False, None, FEB1, False)]),
    ("SCIM needed before their renewal on 3/31.", [("scim", False, None, MARCH, False)]),
    ("SCIM needed before renewal (Mar 31).", [("scim", False, None, MARCH, False)]),
    ("They need SCIM by go-live in Q2.", [("scim", False, None, Q2, False)]),
    ("They need SCIM by their Q2 go-live.", [("scim", False, None, Q2, False)]),
    # ... not without a date, not after it, not our need, not what the need is not about,
    # not two milestones for two features
    ("Hard requirement: SCIM by go-live.", [("scim", False, None, None, False)]),
    (
        "They need SSO now; SCIM can wait until after go-live (Feb 1).",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    ("We need to ship SCIM before their renewal on 3/31.", [("scim", False, None, None, False)]),
    ("SCIM needed; launch (Feb 1) was discussed.", [("scim", False, None, None, False)]),
    ("Go-live in Q2 with SCIM, they need training.", [("scim", False, None, None, False)]),
    (
        "They need SCIM for the Feb 1 launch and SSO for the March rollout.",
        [("scim", False, None, None, False), ("sso", False, None, None, False)],
    ),
    # ... and our promise keeps its own date
    ("We will have SCIM by go-live (Feb 1); they need it.", [("scim", True, FEB1, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), MILESTONE_NEEDS, ids=[c[0] for c in MILESTONE_NEEDS])
def test_their_milestones_date_is_when_they_need_it(body: str, expected: list) -> None:
    assert readings(body) == expected


def hedged(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: a date given roughly was a firm promise (the ledger recorded "promised by 30 June").
ROUGH_DATES = [
    ("We will have SCIM around Q2.", [("scim", True, Q2, True)]),
    ("We will have SCIM around mid-2027.", [("scim", True, Q2, True)]),
    ("We will have SCIM approximately end of March.", [("scim", True, MARCH, True)]),
    ("We will have SCIM in Q2, give or take.", [("scim", True, Q2, True)]),
    ("We will have SCIM by Q2, more or less.", [("scim", True, Q2, True)]),
    ("We will have SCIM circa Q2.", [("scim", True, Q2, True)]),
    # ... "around" and "more" that hedge no date
    ("We will have SCIM by Q2 for teams around the world.", [("scim", True, Q2, False)]),
    ("We will have SCIM by Q2; they need more seats.", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(("body", "expected"), ROUGH_DATES, ids=[c[0] for c in ROUGH_DATES])
def test_a_date_given_roughly_hedges_the_promise(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: "60 days after signature" was no date (only "within 90 days of signing" was): the
# promise had no date to compare with the feature's target. Counted from the close date, as
# "within ... of signing" is (make_deal closes on 1 March 2027).
AFTER_SIGNING = [
    ("We will have SCIM 60 days after signature.", [("scim", True, date(2027, 4, 30), False)]),
    ("We will have SCIM two weeks after signing.", [("scim", True, date(2027, 3, 15), False)]),
    (
        "We will have SCIM 3 months after contract signature.",
        [("scim", True, date(2027, 6, 1), False)],
    ),
    ("We will have SCIM within 90 days of signing.", [("scim", True, date(2027, 5, 30), False)]),
    # ... a length with no anchor, or the sale's own terms
    ("We will have SCIM, 60 days of onboarding included.", [("scim", True, None, False)]),
    ("They can pay 60 days after signature; SCIM discussed.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), AFTER_SIGNING, ids=[c[0] for c in AFTER_SIGNING])
def test_a_time_after_signing_is_a_date_from_the_close(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: the date given as the next sentence's label was dropped (a promise with no date).
DATE_LABEL_NEXT = [
    ("Promised: SCIM. When: Q2.", [("scim", True, Q2, False)]),
    ("Promised SCIM. ETA: Q2.", [("scim", True, Q2, False)]),
    ("We promised SCIM. Timeline - Q2.", [("scim", True, Q2, False)]),
    ("Promised SCIM. Target: Q2.", [("scim", True, Q2, False)]),
    ("Promised SCIM. Date: 15 July.", [("scim", True, date(2027, 7, 15), False)]),
    # ... not a date and nothing more, not after a need, not "it" of two features
    ("Promised: SCIM. When: TBD.", [("scim", True, None, False)]),
    ("Promised SCIM. When: Q2 if they sign.", [("scim", True, None, False)]),
    ("They need SCIM. When: Q2.", [("scim", False, None, False)]),
    (
        "Promised SCIM and SSO. When: Q2.",
        [("scim", True, None, False), ("sso", True, None, False)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), DATE_LABEL_NEXT, ids=[c[0] for c in DATE_LABEL_NEXT])
def test_a_date_label_after_an_undated_promise_dates_it(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: a bare yes after their question of our product was no answer (the question only);
# the plan agreed with the customer was no heading of ours (its items plain).
BARE_YES_AND_PLANS = [
    (
        "On Mon, Jane wrote:\n> Will SCIM be ready by Q2?\nYes, it will.",
        [("scim", True, Q2, False)],
    ),
    ("Will SCIM be ready by Q2? Yes.", [("scim", True, Q2, False)]),
    ("Will SCIM be ready by Q2? Yes - by Q3.", [("scim", True, Q3, False)]),
    ("Will SCIM be ready by Q2? Absolutely, we will.", [("scim", True, Q2, False)]),
    (
        "MAP:\n- SCIM live by Q2\n- SSO configured",
        [("scim", True, Q2, False), ("sso", False, None, False)],
    ),
    ("Close plan:\n- Legal review\n- SCIM (Q2)", [("scim", True, Q2, False)]),
    ("Mutual action plan:\n1. SCIM - Q2", [("scim", True, Q2, False)]),
    ("Success plan:\n- SCIM rollout in Q3", [("scim", True, Q3, False)]),
    # ... not a yes to their need, a yes with more to it, a yes with no date asked
    ("Do they need SCIM by Q2? Yes.", [("scim", False, None, False)]),
    ("Will SCIM be ready by Q2? Yes, but not sure.", [("scim", False, None, False)]),
    ("Can we get SCIM by Q2? Yes, if they sign.", [("scim", False, None, False)]),
    ("When will SCIM ship? Yes.", [("scim", False, None, False)]),
    ("Mutual action plan:\n- They need SCIM by Q2", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), BARE_YES_AND_PLANS, ids=[c[0] for c in BARE_YES_AND_PLANS]
)
def test_a_bare_yes_and_the_plan_agreed_with_them(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: a sale item's passive promise word was a promise of the sentence's feature (a false
# block: "Budget is committed for Q2; SCIM is on their list" was SCIM promised by Q2); a promise
# walked back since stood (left alone last session).
SALE_SUBJECTS_AND_WALKED_BACK = [
    ("Budget is committed for Q2; SCIM is on their list.", [("scim", False, None, False)]),
    ("Pricing is guaranteed through Q2, SCIM included.", [("scim", False, None, False)]),
    (
        "SCIM was promised by the previous AE but we walked it back.",
        [("scim", False, None, False)],
    ),
    (
        "We had promised SCIM by Q2 but have since walked it back.",
        [("scim", False, None, False)],
    ),
    ("We promised SCIM by Q2; we have since retracted that.", [("scim", False, None, False)]),
    ("We promised SCIM by Q2. We walked it back.", [("scim", False, None, False)]),
    # ... the feature's own, and a promise still held
    ("SCIM is committed for Q2.", [("scim", True, Q2, False)]),
    ("The SCIM timeline is committed: Q2.", [("scim", True, Q2, False)]),
    (
        "Budget was already committed for Q2; we will have SCIM by Q3.",
        [("scim", True, Q3, False)],
    ),
    ("The previous rep promised SSO by Q3; we need to walk that back", [("sso", True, Q3, False)]),
    ("We promised SCIM by Q1 and it hasn't been retracted.", [("scim", True, Q1, False)]),
    ("We promised SCIM by Q2. They walked it back.", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"),
    SALE_SUBJECTS_AND_WALKED_BACK,
    ids=[c[0] for c in SALE_SUBJECTS_AND_WALKED_BACK],
)
def test_a_sale_items_commitment_and_a_promise_walked_back_are_none(
    body: str, expected: list
) -> None:
    assert hedged(body) == expected


def needs(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, needed_by) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.needed_by)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: "SCIM (must, by Q2)" was our promise by Q2 (a false block: their decision criterion);
# "Handshake agreement on SCIM for Q2" was no promise; "No handshake agreement on SCIM yet" was
# one once it was a cue.
CRITERIA_AND_HANDSHAKES = [
    (
        "Decision criteria: SSO (must), SCIM (must, by Q2), audit log (nice to have).",
        [("sso", False, None, None), ("scim", False, None, Q2), ("audit", False, None, None)],
    ),
    ("SCIM (must by Q2)", [("scim", False, None, Q2)]),
    ("SCIM (required, by Q2)", [("scim", False, None, Q2)]),
    ("SCIM (by Q2, committed)", [("scim", True, Q2, None)]),
    ("Handshake agreement on SCIM for Q2.", [("scim", True, Q2, None)]),
    ("Shook hands on SCIM by Q2.", [("scim", True, Q2, None)]),
    ("No handshake agreement on SCIM yet.", [("scim", False, None, None)]),
    ("No agreement on SCIM by Q2.", [("scim", False, None, None)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), CRITERIA_AND_HANDSHAKES, ids=[c[0] for c in CRITERIA_AND_HANDSHAKES]
)
def test_their_bracketed_must_and_a_handshake(body: str, expected: list) -> None:
    assert needs(body) == expected


# Before: a transcript's answer line labelled by our side's role ("Tom (AE):", "Rep:", "AE:")
# was not ours (only "Me:", "We:", "A:" were): their question stood unanswered.
OUR_ROLE_ANSWERS = [
    (
        "Jane (Acme CTO): Will SCIM be ready by Q2?\nTom (AE): Yes, it will.",
        [("scim", True, Q2, None)],
    ),
    ("Customer: Can you do SCIM by Q2?\nRep: Yes.", [("scim", True, Q2, None)]),
    ("Prospect: SCIM by Q2?\nAE: Yes, committed.", [("scim", True, Q2, None)]),
    ("Prospect: SCIM by Q2?\nAE: Q3.", [("scim", True, Q3, None)]),
    (
        "[00:12:03] Jane: Will SCIM be ready by Q2?\n[00:12:10] Tom (AE): Yes.",
        [("scim", True, Q2, None)],
    ),
    ("Jane: we need SCIM by Q2\nTom (AE): yes, we can.", [("scim", True, Q2, Q2)]),
    # ... their side's answer, or a name with no side, is not ours
    ("Rep: Do you need SCIM by Q2?\nCustomer: Yes.", [("scim", False, None, Q2)]),
    ("AE: Will you need SCIM by Q2?\nJane: Yes.", [("scim", False, None, Q2)]),
    ("Jane: Will SCIM be ready by Q2?\nTom: Q3.", [("scim", False, None, None)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), OUR_ROLE_ANSWERS, ids=[c[0] for c in OUR_ROLE_ANSWERS]
)
def test_an_answer_labelled_with_our_role_is_ours(body: str, expected: list) -> None:
    assert needs(body) == expected


# Before: each was our promise by the date (false blocks): the customer's own team's work, and
# what they will have done with the feature.
THEIR_OWN_WORK = [
    ("Customer's own team will build SCIM support by Q2.", [("scim", False, None, None)]),
    (
        "Customer's own team will build SCIM support on their side by Q2.",
        [("scim", False, None, None)],
    ),
    ("Their admin will have SSO configured by Q1.", [("sso", False, None, None)]),
    ("The customer will have SCIM set up by Q2.", [("scim", False, None, None)]),
    # ... ours stay ours
    ("We will have SCIM configured for them by Q2.", [("scim", True, Q2, None)]),
    ("They will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Told them they will have SCIM enabled by Q2.", [("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), THEIR_OWN_WORK, ids=[c[0] for c in THEIR_OWN_WORK])
def test_their_own_teams_work_and_setup_are_not_our_promise(body: str, expected: list) -> None:
    assert needs(body) == expected


# Before: "We've agreed." after their dated need was no agreement (only "We agreed."): their
# need stood and the promise went unrecorded (a missed block).
WE_HAVE_AGREED = [
    (
        "Customer requires SCIM at go-live (Feb 1). We've agreed.",
        [("scim", True, FEB1, FEB1)],
    ),
    ("They need SCIM by Q2. I've confirmed.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2, we've agreed.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. We've not agreed.", [("scim", False, None, Q2)]),
]


@pytest.mark.parametrize(("body", "expected"), WE_HAVE_AGREED, ids=[c[0] for c in WE_HAVE_AGREED])
def test_we_have_agreed_agrees(body: str, expected: list) -> None:
    assert needs(body) == expected


# Before: "SSO rollout ... planned for Q2 on their end" was our (hedged) promise by Q2: work
# on the customer's side is theirs.
THEIR_SIDE = [
    ("SSO rollout to 500 users planned for Q2 on their end.", [("sso", False, None, None)]),
    ("SSO rollout planned for Q2 on the customer's end.", [("sso", False, None, None)]),
    ("They will build SCIM in-house by Q2.", [("scim", False, None, None)]),
    # ... our work, or our word, stays ours
    ("We will enable SCIM on their end by Q2.", [("scim", True, Q2, None)]),
    ("We will build the SCIM connector in-house by Q2.", [("scim", True, Q2, None)]),
    ("Told them SCIM on their side by Q2.", [("scim", True, Q2, None)]),
    ("The SCIM rollout is scheduled for Q2.", [("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), THEIR_SIDE, ids=[c[0] for c in THEIR_SIDE])
def test_work_on_their_side_is_theirs(body: str, expected: list) -> None:
    assert needs(body) == expected


# Before: the roadmap relayed with "per the roadmap" or seen "on our roadmap for Q2" was a firm
# promise in the ledger ("SCIM is on the roadmap for Q2" was already hedged).
ROADMAP_RELAYED = [
    ("Per the roadmap, SCIM ships in Q2.", [("scim", True, Q2, True)]),
    ("According to our roadmap SCIM ships in Q2.", [("scim", True, Q2, True)]),
    ("They saw SCIM on our roadmap for Q2.", [("scim", True, Q2, True)]),
    # ... not a promise to put it on the roadmap for them, nor a contract
    ("We put SCIM on the roadmap for them.", [("scim", True, None, False)]),
    ("Per the MSA, SCIM is included.", [("scim", True, None, False)]),
    ("We will have SCIM by Q2 based on customer feedback.", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(("body", "expected"), ROADMAP_RELAYED, ids=[c[0] for c in ROADMAP_RELAYED])
def test_the_roadmap_relayed_hedges(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: ", customer ..." began no clause of its own (only ", they ..." did): "customer needs
# it by March" gave SCIM no date, and "customer asked about SSO" made the promise of SCIM a
# question (a false clear).
CUSTOMER_CLAUSES = [
    ("Discussed SCIM, customer needs it by March.", [("scim", False, None, MARCH)]),
    ("SCIM came up, the client needs it by Q2.", [("scim", False, None, Q2)]),
    (
        "We promised SCIM by Q2, customer asked about SSO.",
        [("scim", True, Q2, None), ("sso", False, None, None)],
    ),
    (
        "We will have SSO by Q1, customer wants SCIM too.",
        [("sso", True, Q1, None), ("scim", False, None, None)],
    ),
    ("Offline mode came up, customer doesn't need it.", []),
    # ... "customer success" is our team, not their clause
    (
        "We will deliver SCIM by Q2, customer success will help with rollout.",
        [("scim", True, Q2, None)],
    ),
    ("We can't promise SCIM by Q2, customer understands.", [("scim", False, None, None)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), CUSTOMER_CLAUSES, ids=[c[0] for c in CUSTOMER_CLAUSES]
)
def test_a_comma_before_the_customer_as_subject_starts_a_clause(body: str, expected: list) -> None:
    assert needs(body) == expected


# Before: "We expect SCIM in Q2" was read as their need, "We expect to ship SCIM in Q2" as
# nothing, "We expect to have SCIM by Q2" as a firm promise: our forecast is a hedged promise.
OUR_FORECAST = [
    ("We expect SCIM in Q2.", [("scim", True, Q2, True)]),
    ("We expect to have SCIM by Q2.", [("scim", True, Q2, True)]),
    ("We expect to ship the SCIM connector in Q2.", [("scim", True, Q2, True)]),
    ("I expect SCIM by Q2.", [("scim", True, Q2, True)]),
    # ... theirs, and our forecast of the sale, are not
    ("We expect the contract by Q2; SCIM discussed.", [("scim", False, None, False)]),
    ("We expect them to sign by Q2; SCIM is a must.", [("scim", False, None, False)]),
    ("Told them to expect SCIM in Q1.", [("scim", True, Q1, False)]),
]


@pytest.mark.parametrize(("body", "expected"), OUR_FORECAST, ids=[c[0] for c in OUR_FORECAST])
def test_our_forecast_is_a_hedged_promise(body: str, expected: list) -> None:
    assert hedged(body) == expected


def test_their_expectation_stays_their_need() -> None:
    assert needs("They expect SCIM in Q2.") == [("scim", False, None, Q2)]
