"""Round 27, from two probes of realistic notes (pasted emails, call recorders' summaries,
terse CRM shorthand, mutual action plans): what the reader got wrong. Each table says what was
read before and why it was wrong."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2
from .test_sales_language import CATALOG

FEB = date(2027, 2, 28)
MARCH = date(2027, 3, 31)
JAN = date(2027, 1, 31)
EOQ = date(2026, 12, 31)


def readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, needed_by) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.needed_by)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


def hedged(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: the noun form of a refusal was read as the promise it refuses: "We can't make a
# commitment on SCIM yet" blocked the deal (false block), as "We cannot commit to SCIM" did not.
NO_COMMITMENT_MADE = [
    ("We can't make a commitment on SCIM yet.", [("scim", False, None, None)]),
    ("We are unable to make any commitment on SCIM.", [("scim", False, None, None)]),
    ("Can't give any commitments on SCIM dates.", [("scim", False, None, None)]),
    ("We won't make any promises about SCIM.", [("scim", False, None, None)]),
    ("We cannot offer a firm commitment on the audit log.", [("audit", False, None, None)]),
    (
        "Hi Klaus,\n\nAs discussed, EU data residency is something we're exploring for 2027 but "
        "we can't make any commitments at this stage.\n\nKind regards,\nSophie",
        [("residency", False, None, None)],
    ),
    # still our word when made
    ("We made a commitment on SCIM by Q1.", [("scim", True, Q1, None)]),
]


@pytest.mark.parametrize(("body", "expected"), NO_COMMITMENT_MADE)
def test_a_commitment_we_cannot_make_is_none(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "before Q2" was read as "by Q2", its end: a promise made for before Q2 looked a
# quarter later than it is (on time against SCIM's 30 June target: a missed block), a need
# before March a month later. "b4" (before) and "prior to" were no date cue at all.
BEFORE_A_PERIOD = [
    ("We will have SCIM before Q2", [("scim", True, Q1, None)]),
    ("promised SCIM prior to Q2", [("scim", True, Q1, None)]),
    ("promised SCIM before March", [("scim", True, FEB, None)]),
    ("promised SCIM b4 Q2", [("scim", True, Q1, None)]),
    ("We committed to SCIM before H2 2027.", [("scim", True, Q2, None)]),
    ("promised SCIM before 2028", [("scim", True, date(2027, 12, 31), None)]),
    ("needs SCIM before Q2", [("scim", False, None, Q1)]),
    ("needs SCIM b4 Q2", [("scim", False, None, Q1)]),
    ("needs SCIM b4 March", [("scim", False, None, FEB)]),
    ("cust needs SSO b4 EOQ", [("sso", False, None, EOQ)]),
    # its end, a day, an event in the month, Q2 at the earliest: as before
    ("promised SCIM before the end of Q2", [("scim", True, Q2, None)]),
    ("SCIM required before the March renewal.", [("scim", False, None, MARCH)]),
    ("We promised SSO not before Q2", [("sso", True, Q2, None)]),
    ("promised SCIM before March 15", [("scim", True, date(2027, 3, 15), None)]),
    ("promised SCIM by Q2", [("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), BEFORE_A_PERIOD)
def test_before_a_period_is_before_it_begins(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a misspelt promise word other than the known ones was no promise (missed blocks).
TYPOS = [
    ("pr0mised audit log EOQ", [("audit", True, EOQ, None)]),
    ("prommised SCIM Q2", [("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), TYPOS)
def test_more_misspelt_promise_words(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "the January release" was no date: a dated promise read as undated, never shown late
# against the feature's target.
RELEASE_MONTH = [
    ("SCIM will be in the January release.", [("scim", True, JAN, None)]),
    ("SCIM ships in the March release.", [("scim", True, MARCH, None)]),
    ("We promised SCIM in the Jan release", [("scim", True, JAN, None)]),
    (
        "Hi all - following up on the dashboards question: yes, custom dashboards will be "
        "available to them in the Jan release. I've confirmed this with Rachel in product.",
        [("dash", True, JAN, None)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), RELEASE_MONTH)
def test_a_months_release_dates_the_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "SCIM confirmed Q2" (no "for"), "Confirmed SCIM Q2 with customer", "confirmed w/ cust"
# (terse CRM style) were no promise: missed blocks, as "Confirmed SCIM for Q2" was not.
CONFIRMED_TERSE = [
    ("confirmed SCIM Q2 on call today", [("scim", True, Q2, None)]),
    ("Confirmed SCIM Q2 with customer", [("scim", True, Q2, None)]),
    ("SCIM Q2 - confirmed w/ cust", [("scim", True, Q2, None)]),
    ("SCIM confirmed Q2 w/ cust", [("scim", True, Q2, None)]),
    ("Confirmed SCIM availability Q2", [("scim", True, Q2, None)]),
    # not a feature's date confirmed
    ("Confirmed pricing for Q1, SCIM included", [("scim", False, None, None)]),
    ("We confirmed SCIM shipped in March", [("scim", False, None, None)]),
    ("Confirmed SSO 3 times with them", [("sso", False, None, None)]),
]


@pytest.mark.parametrize(("body", "expected"), CONFIRMED_TERSE)
def test_a_date_confirmed_tersely_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a terse line of a feature and its date with our telling after it was no promise
# ("SCIM ETA Q2 (told cust)" was): missed blocks.
TOLD_AFTER_TERSE = [
    ("SCIM Q2, told them", [("scim", True, Q2, None)]),
    ("SCIM Q2 (told cust)", [("scim", True, Q2, None)]),
    ("SCIM Q2 (told them)", [("scim", True, Q2, None)]),
    ("SCIM ETA Q2, told them.", [("scim", True, Q2, None)]),
    # not a terse date of ours: their need, a question, a denial, nothing dated
    ("They need SCIM by Q1, told them.", [("scim", False, None, Q1)]),
    ("Customer asked about SCIM, told them.", [("scim", False, None, None)]),
    ("SCIM not in Q2, told them", [("scim", False, None, None)]),
    ("SCIM Q2? told them", [("scim", False, None, None)]),
    ("Absolutely, told them.", []),
]


@pytest.mark.parametrize(("body", "expected"), TOLD_AFTER_TERSE)
def test_our_telling_after_a_terse_dated_line(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the customer's wish or ask logged as "feature by date" was our promise (false blocks),
# as "SCIM by Q2 ideally" and "req: SCIM by Q2" were not.
THEIR_WISH = [
    ("SCIM by Q2 would be ideal for them", [("scim", False, None, Q2)]),
    ("SCIM by Q2 preferred", [("scim", False, None, Q2)]),
    ("SCIM by Q2 pref'd, Q3 ok", [("scim", False, None, Q2)]),
    ("their ask: SCIM by Q2", [("scim", False, None, Q2)]),
    ("the ask: SCIM by Q2", [("scim", False, None, Q2)]),
    ("want: SCIM by Q2", [("scim", False, None, Q2)]),
    ("expectation: SCIM by Q2", [("scim", False, None, Q2)]),
    (
        "P0: SCIM by Q2\nP1: audit log\nP2: offline mode",
        [("scim", False, None, Q2), ("audit", False, None, None), ("offline", False, None, None)],
    ),
    # ours stays ours
    ("We will have SCIM by Q2 if possible", [("scim", True, Q2, None)]),
    ("Promised SCIM by Q2 as they preferred", [("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), THEIR_WISH)
def test_their_wish_or_ask_by_a_date_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: on a status line of labelled items, one item's promise spoke for the others ("SCIM -
# committed Q2; audit log - TBD" promised the audit log for Q2: a false block), or one item's
# denial took back another's promise ("...; audit log - not committed" erased SCIM's: a
# missed block). " | " between items did not separate them at all.
STATUS_ITEMS = [
    (
        "SCIM - committed Q2; audit log - TBD",
        [("scim", True, Q2, None), ("audit", False, None, None)],
    ),
    (
        "SCIM: committed Q2; audit log: TBD",
        [("scim", True, Q2, None), ("audit", False, None, None)],
    ),
    (
        "SCIM - committed Q2; audit log - not committed",
        [("scim", True, Q2, None), ("audit", False, None, None)],
    ),
    (
        "SCIM - committed Q2, audit log - not committed",
        [("scim", True, Q2, None), ("audit", False, None, None)],
    ),
    (
        "Status: SCIM - green (committed Q2); audit log - red (not committed)",
        [("scim", True, Q2, None), ("audit", False, None, None)],
    ),
    (
        "offline mode - no | SCIM - committed Q2",
        [("offline", False, None, None), ("scim", True, Q2, None)],
    ),
    (
        "audit log: TBD | SCIM: Q2 committed | offline: no",
        [("audit", False, None, None), ("scim", True, Q2, None)],
    ),
    (
        "SCIM committed Q2 | audit log under review",
        [("scim", True, Q2, None), ("audit", False, None, None)],
    ),
    # one label for both, a value said after the label's own, a disclaimer: as before
    ("SCIM and audit log - committed Q2", [("scim", True, Q2, None), ("audit", True, Q2, None)]),
    ("SCIM: talked to product, they are shipping in Q2", [("scim", True, Q2, None)]),
    ("We will have SCIM by Q3 - not guaranteed", [("scim", False, None, None)]),
    (
        "We will have SCIM by Q3; audit log - no promises",
        [("scim", True, date(2027, 9, 30), None), ("audit", False, None, None)],
    ),
]


@pytest.mark.parametrize(("body", "expected"), STATUS_ITEMS)
def test_each_labelled_item_has_its_own_value(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a request for our own approval of the promise was the promise (false blocks), as
# "Requesting approval to commit SCIM Q2" was not.
APPROVAL_REQUESTED = [
    "Deal desk request: approve SCIM commitment by Q2 for Acme (ARR 250k)",
    "Pending VP approval: SCIM Q2 commit",
    "Pending approval - SCIM commitment Q2",
    "Request: approve SCIM Q2 commitment",
    "Asking deal desk to approve SCIM Q2 promise",
    "Approval request: 15% discount + SCIM commitment Q2",
]


@pytest.mark.parametrize("body", APPROVAL_REQUESTED)
def test_a_promise_awaiting_our_approval_is_not_made(body: str) -> None:
    assert readings(body) == [("scim", False, None, None)]


@pytest.mark.parametrize(
    "body", ["Approved: SCIM Q2 commitment", "VP approved SCIM Q2 commitment, told cust"]
)
def test_an_approved_promise_is_still_one(body: str) -> None:
    assert readings(body) == [("scim", True, Q2, None)]


# Before: each of these was our promise (false blocks): a refusal with "do"/"get", our doubt
# before the promise, "nothing/none committed", an email's "As promised," opener for what it
# sends.
NOT_OUR_PROMISE = [
    "We can't do SCIM by Q1.",
    "Can't do SCIM by Q1, sorry.",
    "No way we can do SCIM by Q1.",
    "We can't get SCIM to them by Q1.",
    "Not sure SCIM will be ready by Q1.",
    "I doubt SCIM will be ready by Q1.",
    "I'm not sure we'll have SCIM by Q1.",
    "We are unlikely to have SCIM by Q1.",
    "Hi Dana, I'm not confident SCIM will be ready by Q1.",
    "SCIM discussed, nothing committed.",
    "As promised, I've attached the SCIM spec.",
    "> As promised, here is the SCIM roadmap.",
    "They will churn without SCIM by Q2.",
    "They may churn without SCIM by Q2.",
]


@pytest.mark.parametrize("body", NOT_OUR_PROMISE)
def test_refusals_doubts_and_openers_are_no_promise(body: str) -> None:
    assert [(key, promised) for key, promised, _d, _n in readings(body)] == [("scim", False)]


@pytest.mark.parametrize(
    "body", ["Nothing has been committed to the customer.", "Nothing committed to Acme yet."]
)
def test_nothing_committed_is_no_off_roadmap_promise(body: str) -> None:
    assert readings(body) == []  # was an unknown "?customer" / "?Acme yet" promise


# Before: their condition for the deal was our promise by that date (false blocks).
CONDITIONS = [
    ("Deal contingent on SCIM by Q1.", [("scim", False, None, Q1)]),
    ("The deal is contingent on SCIM by Q1.", [("scim", False, None, Q1)]),
    ("Deal is conditional on SCIM by Q1.", [("scim", False, None, Q1)]),
    ("They made SCIM by Q1 a condition of signing.", [("scim", False, None, Q1)]),
]


@pytest.mark.parametrize(("body", "expected"), CONDITIONS)
def test_their_condition_for_the_deal_is_their_need(body: str, expected: list) -> None:
    assert readings(body) == expected


# What stays our promise.
STILL_OURS = [
    ("We will do SCIM by Q1.", [("scim", True, Q1, None)]),
    ("No doubt we will have SCIM by Q1.", [("scim", True, Q1, None)]),
    ("Not sure about pricing, but we will have SCIM by Q1.", [("scim", True, Q1, None)]),
    ("As promised, SCIM will ship in Q1.", [("scim", True, Q1, None)]),
    ("SCIM dropped by Q1 as promised", [("scim", True, Q1, None)]),
    ("Other than SCIM, nothing was promised.", [("scim", True, None, None)]),
]


@pytest.mark.parametrize(("body", "expected"), STILL_OURS)
def test_our_promise_beside_those_words(body: str, expected: list) -> None:
    assert readings(body) == expected


NEXT_YEAR = date(2027, 12, 31)

# Before: CRM shorthand for dates was no date ("yr", "qtr", "next Q", "wks", "90d"): a promise
# read as undated is never shown late against the feature's target; "H2 next yr" was this
# year's H2 (a year early: a false block).
SHORTHAND_DATES = [
    ("promised SCIM next yr", [("scim", True, NEXT_YEAR, None)]),
    ("promised SCIM by end of next yr", [("scim", True, NEXT_YEAR, None)]),
    ("told them SCIM by end of yr", [("scim", True, EOQ, None)]),
    ("told them SCIM early next yr", [("scim", True, MARCH, None)]),
    ("promised SCIM in H2 next yr", [("scim", True, NEXT_YEAR, None)]),
    ("promised SCIM next qtr", [("scim", True, MARCH, None)]),
    ("promised SCIM by end of qtr", [("scim", True, EOQ, None)]),
    ("promised SCIM by next Q", [("scim", True, MARCH, None)]),
    ("told them SCIM this qtr", [("scim", True, EOQ, None)]),
    ("promised SCIM 6 wks after close", [("scim", True, date(2027, 4, 12), None)]),
    ("promised SCIM within 90d", [("scim", True, date(2027, 2, 23), None)]),
    ("promised SCIM 60d after go-live", [("scim", True, date(2027, 4, 30), None)]),
    ("promised SCIM in 2d", [("scim", True, date(2026, 11, 27), None)]),
]


@pytest.mark.parametrize(("body", "expected"), SHORTHAND_DATES)
def test_date_shorthand(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our side named by its role ("the AE said yes", "AE said SCIM Q2") answered nothing,
# as "we said yes" did (missed blocks); "We're committing to end of Q1", "Told them: SCIM in
# Q2" (a colon), "You can count on SCIM in Q1" (our e-mail), "SCIM Q2 locked" were no promise
# either.
OUR_WORD = [
    ("Customer asked if SCIM will be ready by Q1; the AE said yes.", [("scim", True, Q1, None)]),
    ("Customer asked if SCIM will be ready by Q1; our AE said yes.", [("scim", True, Q1, None)]),
    ("Customer asked if SCIM will be ready by Q1. Rep said yes.", [("scim", True, Q1, None)]),
    ("Will SCIM be ready by Q1? The AE said yes.", [("scim", True, Q1, None)]),
    ("Will SCIM be ready by Q1? AE replied yes.", [("scim", True, Q1, None)]),
    ("AE said SCIM Q2", [("scim", True, Q2, None)]),
    ("Our AE said SCIM in Q2", [("scim", True, Q2, None)]),
    ("Rep said SCIM Q2", [("scim", True, Q2, None)]),
    ("When can we expect SCIM? We're committing to end of Q1.", [("scim", True, Q1, None)]),
    ("Told them: SCIM in Q2", [("scim", True, Q2, None)]),
    ("You can count on SCIM in Q1.", [("scim", True, Q1, None)]),
    ("You can expect SCIM in Q1.", [("scim", True, Q1, None)]),
    ("SCIM Q2 locked", [("scim", True, Q2, None)]),
    ("SCIM date locked: Q2", [("scim", True, Q2, None)]),
    # not ours, or no promise, or a date cue of its own: as before
    ("We told them: audit log by March", [("audit", True, MARCH, None)]),
    ("Will SCIM be ready by Q1? The AE said no.", [("scim", False, None, None)]),
    ("Customer said SCIM in Q2", [("scim", False, None, None)]),
    ("Told them: no SCIM in Q1", [("scim", False, None, None)]),
    ("Pricing is locked in for Q2, SCIM discussed", [("scim", False, None, None)]),
    ("SCIM by Q2 is not locked", [("scim", False, None, None)]),
    ("They are counting on SCIM by Q2", [("scim", False, None, Q2)]),
]


@pytest.mark.parametrize(("body", "expected"), OUR_WORD)
def test_more_forms_of_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a quarter in words was no date, and "of next year" made it the whole year: a Q1
# promise looked safe against any 2027 target.
QUARTER_IN_WORDS = [
    ("We'll deliver SCIM in the first quarter of next year.", [("scim", True, MARCH, None)]),
    ("We'll deliver SCIM in the second quarter.", [("scim", True, Q2, None)]),
    ("We'll deliver SCIM in the third quarter of 2027.", [("scim", True, date(2027, 9, 30), None)]),
    ("We'll deliver SCIM by the end of the first quarter.", [("scim", True, MARCH, None)]),
    ("We'll deliver SCIM in the 4th quarter", [("scim", True, EOQ, None)]),
]


@pytest.mark.parametrize(("body", "expected"), QUARTER_IN_WORDS)
def test_a_quarter_in_words(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a recorder's yes after their dated need was no answer (missed blocks), as "No
# problem." and "We can do that." were.
RECORDER_YES = [
    "Recorder transcript:\nProspect: we need SCIM by Q2.\nRep: you'll have it.",
    "Recorder transcript:\nProspect: so we need SCIM by Q2.\nRep: understood, we'll make that happen.",
    "Recorder transcript:\nProspect: we need SCIM by Q2.\nRep: consider it done.",
    "They need SCIM by Q2. Told them they'll have it.",
    "They need SCIM by Q2. You'll have it.",
]


@pytest.mark.parametrize("body", RECORDER_YES)
def test_a_recorders_yes_to_their_need(body: str) -> None:
    assert readings(body) == [("scim", True, Q2, Q2)]


@pytest.mark.parametrize(
    "body", ["They need SCIM by Q2. 100 seats.", "They need SCIM by Q2. Told them no."]
)
def test_no_yes_is_no_promise(body: str) -> None:
    assert readings(body) == [("scim", False, None, Q2)]


# Before: the customer's side speaking under these labels was read as our "we" (false blocks),
# as under "Customer:" it was not.
THEIR_VOICE = [
    ("Customer email: we will have SCIM enabled for all users by January.", "scim"),
    ("Raj (cust): we'll have SCIM rolled out by Q1", "scim"),
    ('From Raj (cust): "We will roll out SCIM across all BUs by Q2"', "scim"),
    ('Customer wrote: "We promised our auditors an audit trail by April"', "audit"),
    ("Speaker 2 (Dana, Acme CTO): We will have SCIM rolled out by Q2.", "scim"),
    ("Email from the customer: we'll have the audit log turned on by Q1", "audit"),
]


@pytest.mark.parametrize(("body", "feature"), THEIR_VOICE)
def test_their_labelled_line_is_their_we(body: str, feature: str) -> None:
    assert readings(body) == [(feature, False, None, None)]


@pytest.mark.parametrize(
    "body",
    [
        "Tom (AE): we'll have SCIM by Q1",
        "Speaker 1 (Mark, AE): we'll have SCIM by Q1",
        "Customer success: we will have SCIM by Q1",  # our CS team
    ],
)
def test_our_labelled_line_is_ours(body: str) -> None:
    assert readings(body) == [("scim", True, Q1, None)]


# Before: "Non-commitments: audit log, offline mode" committed both (offline mode a never
# feature: a false block); an inline label of things not needed or out of scope made the deal
# depend on the very features the customer excluded (the same list under its own line did not).
NOT_COMMITTED_OR_NEEDED = [
    (
        "Commitments: SCIM (Q2)\nNon-commitments: audit log, offline mode",
        [("scim", True, Q2, None), ("audit", False, None, None), ("offline", False, None, None)],
    ),
    (
        "Non-committed items: audit log, offline mode",
        [("audit", False, None, None), ("offline", False, None, None)],
    ),
    ("Not needed: offline mode, multi-region", []),
    ("Out of scope: offline mode, multi-region", []),
    ("Excluded: offline mode", []),
    ("Not interested: AI", []),
    # a need after the list's end stays
    ("Not needed: offline mode; they need SCIM by Q2", [("scim", False, None, Q2)]),
]


@pytest.mark.parametrize(("body", "expected"), NOT_COMMITTED_OR_NEEDED)
def test_labels_of_what_is_not_committed_or_needed(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the customer's own step in a plan ("Customer to ...", "Cust to ...", "Customer will
# provide ...") was our promise by its date (false blocks), as "Customer shall configure ..."
# was not.
THEIR_STEPS = [
    ("Customer to enable audit log by Q1", "audit"),
    ("Cust to configure SSO by EOM", "sso"),
    ("Customer will provide SCIM test tenant by 1/15", "scim"),
]


@pytest.mark.parametrize(("body", "feature"), THEIR_STEPS)
def test_the_customers_own_step_is_no_promise(body: str, feature: str) -> None:
    assert readings(body) == [(feature, False, None, None)]


# Before: a short question after a dash was our promise by the date it asks about.
@pytest.mark.parametrize(
    "body",
    ["SCIM by Q2 - possible?", "SCIM by Q2 - can we?", "SCIM by Q2 - can we do it? asking PM"],
)
def test_a_short_question_after_a_dash_asks(body: str) -> None:
    assert readings(body) == [("scim", False, None, None)]


def test_our_word_after_a_dash_stays() -> None:
    assert readings("SCIM by Q2 - committed") == [("scim", True, Q2, None)]
    assert readings("We will provide SCIM by Q1") == [("scim", True, Q1, None)]


# Before: a range took its first end ("in Q1, Q2 latest" was Q1): the customer was told to
# expect it at the latest by the second, as "in 6-8 weeks" is read.
RANGES = [
    ("We'll deliver SCIM in Q1, Q2 latest.", [("scim", True, Q2, None)]),
    ("We promised SCIM by Q1, Q2 at the latest", [("scim", True, Q2, None)]),
    ("We'll deliver SCIM in Q1 or early Q2.", [("scim", True, date(2027, 4, 30), None)]),
    ("We'll deliver SCIM in Q1-Q2.", [("scim", True, Q2, None)]),
    ("They need SCIM by Q1 or Q2", [("scim", False, None, Q2)]),
    # two features, each its own date: no range
    ("We promised SSO by Q1 and SCIM by Q2.", [("sso", True, Q1, None), ("scim", True, Q2, None)]),
]


@pytest.mark.parametrize(("body", "expected"), RANGES)
def test_a_range_is_its_later_end(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: handoff headings (AE to CS) were no list of promises (missed blocks), as "What we
# told them:" was.
HANDOFF = [
    (
        'What they were told:\n- SCIM Q1\n- Audit log "sometime next year"',
        [("scim", True, MARCH, None), ("audit", True, date(2027, 12, 31), None)],
    ),
    (
        "Expectations set:\n- SCIM in Q1\n- No date on audit log",
        [("scim", True, MARCH, None), ("audit", False, None, None)],
    ),
    ("Roadmap items sold:\n- SCIM (Q1)", [("scim", True, MARCH, None)]),
]


@pytest.mark.parametrize(("body", "expected"), HANDOFF)
def test_handoff_headings_list_what_was_told(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a chat's emoji or :shortcode: after the yes hid it (missed blocks).
CHAT_YES = [
    "Will SCIM be ready by Q1? Yes 👍",
    "Will SCIM be ready by Q1? I said yes 👍",
    "Slack Connect:\nDana: will SCIM be ready by Q1?\nMark (AE): yes :white_check_mark:",
]


@pytest.mark.parametrize("body", CHAT_YES)
def test_a_chat_yes_with_its_emoji(body: str) -> None:
    assert readings(body) == [("scim", True, Q1, None)]


def test_a_chat_no_with_its_emoji() -> None:
    assert readings("Will SCIM be ready by Q1? No 👎") == [("scim", False, None, None)]


Q3 = date(2027, 9, 30)

# Before: a negotiated date after their dated ask was no answer ("We agreed to Q2." after
# "They pushed hard for SCIM in Q1."), and our word after a dash at the end of a terse line
# ("SCIM Q2 - agreed", "SCIM - Q2 - told cust") was nothing: missed blocks.
NEGOTIATED = [
    ("They pushed hard for SCIM in Q1. We agreed to Q2.", [("scim", True, Q2, Q1)]),
    ("They need SCIM by Q1. We agreed to Q2.", [("scim", True, Q2, Q1)]),
    ("They asked for SCIM by Q1. Settled on Q3.", [("scim", True, Q3, None)]),
    ("They asked for SCIM by Q1; we agreed to Q2", [("scim", True, Q2, None)]),
    ("SCIM Q2 - agreed", [("scim", True, Q2, None)]),
    ("SCIM - Q2 - told cust", [("scim", True, Q2, None)]),
    ("SCIM Q2 - told cust", [("scim", True, Q2, None)]),
    # their need, a step of the sale, nothing dated: as before
    ("They need SCIM by Q2 - told cust", [("scim", False, None, Q2)]),
    ("They need SCIM by Q2. We agreed to revisit in Q3.", [("scim", False, None, Q2)]),
    ("They asked for SCIM by Q1; we agreed to revisit", [("scim", False, None, None)]),
    ("Audit log - told cust", [("audit", False, None, None)]),
]


@pytest.mark.parametrize(("body", "expected"), NEGOTIATED)
def test_a_negotiated_date_and_our_word_after_a_dash(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the customer refusing a feature or showing no interest made the deal depend on it
# (offline mode, a never feature, a false risk), as "not interested in the AI Assistant" did not.
REFUSED_BY_THEM = [
    "They declined SSO.",
    "They opted out of SCIM.",
    "Zero interest in offline mode.",
    "They turned down the AI Assistant beta.",
    "Nobody asked about SCIM.",
    "They passed on SCIM.",
    "Dashboards: no interest.",
    "AI: not interested",
    "AI assistant - no interest",
]


@pytest.mark.parametrize("body", REFUSED_BY_THEM)
def test_what_they_refused_is_no_dependency(body: str) -> None:
    assert readings(body) == []


def test_a_refusal_of_something_else_keeps_the_need() -> None:
    assert readings("They declined the meeting, SCIM needed by Q2") == [("scim", False, None, Q2)]


# A review of this round's changes against the reader before it (helper 156: 1,634 notes run
# through both): what the first versions of round 27 read wrong that was read right before.
# Each row was a regression of one of the changes above; each now reads as it should.
COLLATERAL = [
    # the inline label of what is not needed reaches only its own list
    ("Out of scope: offline | In scope: SCIM Q2 (we committed)", [("scim", True, Q2, None)]),
    ("Out of scope: multi-region, but we committed SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Not needed: offline mode — we committed SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Not needed: offline mode, SCIM needed by Q2.", [("scim", False, None, Q2)]),
    ("Not needed: offline mode and multi-region.", []),
    # an ask label does not make our answer after it theirs
    ("Ask: SCIM by Q2. We committed Q2.", [("scim", True, Q2, Q2)]),
    ("Their ask: SCIM by Q2. Our answer: committed Q2.", [("scim", True, Q2, Q2)]),
    ("P0: SCIM by Q2. Committed.", [("scim", True, Q2, Q2)]),
    ("Customer ask: SCIM by Q2. AE committed.", [("scim", True, Q2, Q2)]),
    ("Expectations: we deliver SCIM by Q2.", [("scim", True, Q2, None)]),
    # a short question after a dash does not take back a promise made in words
    ("We committed SCIM by Q2 - realistic?", [("scim", True, Q2, None)]),
    ("SCIM Q2 promised - ok?", [("scim", True, Q2, None)]),
    ("Promised: SCIM Q2 - possible?", [("scim", True, Q2, None)]),
    # "nothing committed" keeps what it excepts
    ("Nothing committed other than SCIM Q2.", [("scim", True, Q2, None)]),
    ("None committed except SCIM by Q2.", [("scim", True, Q2, None)]),
    # their threat or condition, then our word
    ("They will churn without SCIM by Q2. AE committed to Q2.", [("scim", True, Q2, Q2)]),
    ("Deal contingent on SCIM by Q1. We committed Q1.", [("scim", True, Q1, Q1)]),
    # the customer's label covers their own sentence only
    ("Customer email: need SCIM by Q2. Our response - we will have it.", [("scim", True, Q2, Q2)]),
    ("Raj (cust): sounds good. We committed SCIM by Q2 on the call.", [("scim", True, Q2, None)]),
    # a plan's vendor is us; the customer's own approval does not hold our promise back
    ("Vendor to deliver SCIM by Q2; customer to enable by Q3.", [("scim", True, Q2, None)]),
    ("Their current vendor will deliver SCIM by Q2", [("scim", False, None, None)]),
    ("Customer approval pending on SOW that includes SCIM by Q2.", [("scim", True, Q2, None)]),
    # "before" a period's end, "by or before", a deadline in the period, a past half, a floor
    ("We promised SCIM before Q2 is over.", [("scim", True, Q2, None)]),
    ("We will have SCIM before March ends.", [("scim", True, MARCH, None)]),
    ("We promised SCIM by or before Q2.", [("scim", True, Q2, None)]),
    ("We promised SCIM ahead of the Q2 deadline.", [("scim", True, Q2, None)]),
    ("We promised SCIM before H2.", [("scim", True, Q2, None)]),  # H2 2027's start
    ("SCIM won't GA before Q3.", [("scim", True, Q3, None)]),  # as before round 27
    # "will GA" of someone else is not ours
    ("Okta said their SCIM connector will GA in Q2.", [("scim", False, None, None)]),
    ("Their product will GA in Q2; they need SCIM by then.", [("scim", False, None, Q2)]),
    # another company's role, a yes to their need, a word not yet given
    ("The Okta AE said SCIM Q2.", [("scim", False, None, None)]),
    ("Do they need SCIM by Q1? Rep said yes.", [("scim", False, None, Q1)]),
    ("Do they need SCIM by Q1? We said yes.", [("scim", False, None, Q1)]),
    ("AE said SCIM Q2, pending PM approval.", [("scim", False, None, None)]),
    ("The AE said SCIM would be discussed in Q1.", [("scim", False, None, None)]),
    # "confirmed" of their need, or by our own team
    ("Confirmed w/ cust: they need SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Confirmed with the customer: they need SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Confirmed SCIM Q2 is their target.", [("scim", False, None, None)]),
    ("PM confirmed SCIM Q2.", [("scim", False, None, None)]),
    (
        "Internally confirmed SCIM Q2 with PM; not yet shared with customer.",
        [("scim", False, None, None)],
    ),
    # "Told them:" then something other than the feature's date
    ("Told them: we'll revisit SCIM in Q1.", [("scim", False, None, None)]),
    ("Told them: SCIM Q2 at the earliest.", [("scim", False, None, None)]),
    # the customer's "100%"
    ("Do they really need SCIM by Q2? 100%.", [("scim", False, None, Q2)]),
]


@pytest.mark.parametrize(("body", "expected"), COLLATERAL)
def test_what_the_first_round_27_misread(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our refusal of their dated ask was our promise by that date (a false block).
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We declined SCIM by Q1.", [("scim", False, None, None)]),
        ("We refused SCIM by Q1.", [("scim", False, None, None)]),
        ("We declined SCIM by Q1 but committed Q2.", [("scim", True, Q2, None)]),
    ],
)
def test_our_refusal_of_a_date_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


CLOSE = date(2027, 3, 1)  # make_deal's close date: the deal's day one


# Before: "by day one" was no date: a promise or need for the deal's first day was never
# checked against the feature's target (SCIM's is after the close date).
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We promised SCIM by day one", [("scim", True, CLOSE, None)]),
        ("SCIM by day one", [("scim", True, CLOSE, None)]),
        ("We will have SCIM on day one", [("scim", True, CLOSE, None)]),
        ("they need SCIM by day one", [("scim", False, None, CLOSE)]),
        ("SCIM needed by day 1", [("scim", False, None, CLOSE)]),
        # not a date: as before
        ("Day one went well, SCIM discussed", [("scim", False, None, None)]),
    ],
)
def test_day_one_is_the_deals_close_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "recommitted" (our word given again) was no promise word at all (missed blocks), as
# "reconfirmed" already was one.
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We recommitted SCIM to Q3.", [("scim", True, Q3, None)]),
        ("SCIM recommitted for Q2", [("scim", True, Q2, None)]),
    ],
)
def test_a_promise_given_again(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a plan's line opening with its month/day ("1/15 - SCIM GA (committed)") had no date:
# an m/d counted only after a date word ("by 1/15"), so the commitment was never checked
# against the target.
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("MAP:\n1/15 - SCIM GA (committed)", [("scim", True, date(2027, 1, 15), None)]),
        ("MAP:\n- 1/15: SCIM GA (committed)", [("scim", True, date(2027, 1, 15), None)]),
        (
            "Mutual action plan\n12/10 - Demo SCIM beta\n1/15 - SCIM GA (committed)\n"
            "2/28 - Contract signed",
            [("scim", True, date(2027, 1, 15), None)],
        ),
        # a fraction is no date: as before
        ("3/4 - of the users want SCIM", [("scim", False, None, None)]),
    ],
)
def test_a_plans_line_opening_with_its_date(body: str, expected: list) -> None:
    assert readings(body) == expected
