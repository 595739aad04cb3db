"""Round 23, from realistic sales notes: hedges in brackets; a list member's own "(now)"; our
earlier rep's word; transcript answer lines ("Q: ... A: Q2", "Me: yes, by Q2"); a full stop
inside quotes; misspelt promise words; "be able to"; remedies for a delay; "happy to confirm";
the customer told in the passive; "ETA March"; "Commitments:"; the parts of a contract;
someone's word to us; dates as people write them (2Q27, 30.06.2027, seasons, Christmas); our
refusal in other words; soft words; a promise in brackets; the customer's own custom work;
conditions ("assuming"). Each table says what was read before and why it was wrong."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.catalog import Catalog
from app.rules.engine import evaluate
from app.rules.model import Feature
from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2
from .test_notes_round8 import Q3
from .test_sales_language import CATALOG

CLOSE = date(2027, 3, 1)  # make_deal's close date


def readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


HEDGE_IN_BRACKETS = [
    ("SCIM by Q2 (tentative)", [("scim", True, Q2, True)]),
    ("SCIM by Q2 (tentatively).", [("scim", True, Q2, True)]),
    ("We will have SCIM by Q2 (best case)", [("scim", True, Q2, True)]),
    (
        "We will have SCIM by Q2 (roughly), then SSO",
        [("scim", True, Q2, True), ("sso", True, Q2, True)],
    ),
    ("We will have SCIM by Q2 [target]", [("scim", True, Q2, True)]),
    ("We will have SCIM by Q2 (estimate).", [("scim", True, Q2, True)]),
    # ... what stays firm
    ("We will have SCIM by Q2 (confirmed)", [("scim", True, Q2, False)]),
    ("We will have SCIM by Q2 (in the contract)", [("scim", True, Q2, False)]),
    ("SCIM by Q2 tentative", [("scim", True, Q2, True)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), HEDGE_IN_BRACKETS, ids=[c[0] for c in HEDGE_IN_BRACKETS]
)
def test_a_hedge_in_brackets_hedges_the_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


OWN_IMMEDIATE_DATE = [
    ("Committed: SCIM (Q2), SSO (now)", [("scim", True, Q2, False), ("sso", True, TODAY, False)]),
    ("Committed: SCIM (Q2), SSO (today)", [("scim", True, Q2, False), ("sso", True, TODAY, False)]),
    (
        "We promised SCIM (Q2) and SSO (immediately)",
        [("scim", True, Q2, False), ("sso", True, TODAY, False)],
    ),
    ("Committed: SSO (ASAP), SCIM (Q2)", [("sso", True, TODAY, False), ("scim", True, Q2, False)]),
    ("We promised SSO (right away)", [("sso", True, TODAY, False)]),
    # ... the start of the contract: the deal's close date
    (
        "Committed: SCIM (Q2), SSO (day one)",
        [("scim", True, Q2, False), ("sso", True, CLOSE, False)],
    ),
    (
        "Committed: SCIM (Q2), SSO (at signing)",
        [("scim", True, Q2, False), ("sso", True, CLOSE, False)],
    ),
    # ... what stays: a bare "now" is no date; a list member without a date shares its neighbour's
    ("We promised SSO now", [("sso", True, None, False)]),
    (
        "They now need SCIM, we promised SSO",
        [("scim", False, None, False), ("sso", True, None, False)],
    ),
    ("Committed: SCIM (Q2), SSO", [("scim", True, Q2, False), ("sso", True, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), OWN_IMMEDIATE_DATE, ids=[c[0] for c in OWN_IMMEDIATE_DATE]
)
def test_a_list_members_own_now_is_its_date(body: str, expected: list) -> None:
    assert readings(body) == expected


def test_a_promise_of_now_blocks_a_feature_planned_later(default_rules) -> None:
    """Through the default rules: SSO, coming in January (before the deal closes in March),
    promised now, blocks; read with SCIM's Q2 it passed."""
    catalog = Catalog(
        [
            Feature(
                key="sso", name="SSO", availability="coming_soon", target_date=date(2027, 1, 31)
            ),
            Feature(key="scim", name="SCIM", availability="available"),
        ]
    )
    result = evaluate(
        make_deal("Committed: SCIM (Q2), SSO (now)"), catalog, default_rules, today=TODAY
    )
    assert [(f.feature_key, f.severity.value) for f in result.findings] == [("sso", "block")]


# Our own earlier rep's word is ours: "The previous rep promised multi-region by Q3" was read as
# another company's rep's ("Okta rep promised them SCIM"), no promise at all, while "Previous AE
# promised SSO by Q3" and "SSO was promised by the previous AE" were ours.
OUR_EARLIER_REP = [
    ("The previous rep promised SSO by Q3", [("sso", True, Q3, False)]),
    ("The previous rep promised SSO by Q3; we need to walk that back", [("sso", True, Q3, False)]),
    ("John (prior rep) promised SSO by Q3", [("sso", True, Q3, False)]),
    ("The former rep committed to SSO by Q3", [("sso", True, Q3, False)]),
    ("The old rep committed to SSO by Q3", [("sso", True, Q3, False)]),
    # ... another company's rep stays theirs
    ("Okta rep promised them SCIM by Q1", [("scim", False, None, False)]),
    ("The Okta rep promised them SCIM by Q1", [("scim", False, None, False)]),
    ("Their previous vendor rep promised SCIM by Q1", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), OUR_EARLIER_REP, ids=[c[0] for c in OUR_EARLIER_REP])
def test_our_earlier_reps_promise_is_ours(body: str, expected: list) -> None:
    assert readings(body) == expected


# Their question answered in a transcript's answer line, or by "I said": our word with a date
# (each stayed a question: a missed promise). The answer line is ours when labelled "Me:",
# "We:", "Our answer:", or "A:" after "Q:" asking of our product (not of their need: "Q: Do
# you need SSO? A: Yes, by Q2" is discovery, their answer).
ANSWER_LINES = [
    ("Q: SCIM timeline? A: Q2.", [("scim", True, Q2, False)]),
    ("Q: SCIM timeline?\nA: Q2.", [("scim", True, Q2, False)]),
    ("Q: Do you have SCIM? A: Yes, by Q2.", [("scim", True, Q2, False)]),
    ("Q: Do you have SCIM?\nA: Yes, by Q2.", [("scim", True, Q2, False)]),
    ("Q: Will SCIM be ready by Q1? A: Yes.", [("scim", True, Q1, False)]),
    ('Customer: "Do you have SCIM?" Me: "Yes, by Q2."', [("scim", True, Q2, False)]),
    ('Customer: "Will SCIM be ready by Q1?" Me: "Yes."', [("scim", True, Q1, False)]),
    ('Customer: "Will SCIM be ready by Q1?" Me: "No, Q2."', [("scim", True, Q2, False)]),
    ("Will SCIM be ready by Q1? Our answer: Q2.", [("scim", True, Q2, False)]),
    ("They asked when SCIM ships. I said Q2.", [("scim", True, Q2, False)]),
    ("They asked about SCIM. I said yes, by Q2.", [("scim", True, Q2, False)]),
    ("They asked if SCIM is ready by Q1. We said yes.", [("scim", True, Q1, False)]),
    ("Will SCIM be ready by Q1? Told them yes, by Q2.", [("scim", True, Q2, False)]),
    ("Will SCIM be ready by Q1? Told them no, Q2.", [("scim", True, Q2, False)]),
    # ... what stays a question: their need asked, a yes to an undated question, no date, a
    # no, a hedged or open answer, an "A:" with no "Q:"
    ("Q: Do you need SSO? A: Yes, by Q2.", [("sso", False, None, False)]),
    ("Q: Is SCIM required? A: Yes, by Q2.", [("scim", False, None, False)]),
    ("Q: Do you have SCIM? A: Yes.", [("scim", False, None, False)]),
    ("Q: Will SCIM be ready by Q1? A: No.", [("scim", False, None, False)]),
    ("Will SCIM be ready by Q1? We said no.", [("scim", False, None, False)]),
    ("Q: Will SCIM be ready by Q1? A: Q2 or Q3.", [("scim", False, None, False)]),
    ("Q: SCIM timeline? A: Q2 target.", [("scim", False, None, False)]),
    ("Will SCIM be ready by Q1? A: Q2.", [("scim", False, None, False)]),
    ("Will SCIM be ready by Q1? Told them no ETA.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), ANSWER_LINES, ids=[c[0] for c in ANSWER_LINES])
def test_our_answer_line_to_their_question_is_our_word(body: str, expected: list) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert readings(body) == expected
    assert all(r.is_question != r.is_commitment for r in refs)


def test_the_answer_line_is_quoted_with_the_question() -> None:
    (ref,) = find_references(
        make_deal('Customer: "Do you have SCIM?" Me: "Yes, by Q2." Next call Friday.'),
        CATALOG,
        today=TODAY,
    )
    assert ref.evidence == 'Customer: "Do you have SCIM?" Me: "Yes, by Q2."'


# A sentence ending in a full stop inside quotes or brackets ('"... by Q2." Then', "(by Q2.)
# They") ran on into the next: SSO, only discussed, was read as promised by SCIM's Q2 (a false
# block), and SCIM's promise as the next sentence's question (a missed one).
CLOSED_FULL_STOP = [
    (
        'He said "we will have SCIM by Q2." Then SSO was discussed.',
        [("scim", True, Q2, False), ("sso", False, None, False)],
    ),
    (
        "We promised SCIM (by Q2.) They also asked about SSO.",
        [("scim", True, Q2, False), ("sso", False, None, False)],
    ),
    # ... what stays: an abbreviation before a quote is still no sentence end
    ('We promised SCIM by Jan. 15 "at the latest."', [("scim", True, date(2027, 1, 15), False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), CLOSED_FULL_STOP, ids=[c[0] for c in CLOSED_FULL_STOP]
)
def test_a_full_stop_inside_quotes_or_brackets_ends_the_sentence(body: str, expected: list) -> None:
    assert readings(body) == expected


# Promise words misspelt as reps type them: each was no promise at all (a missed block); the
# negations read them too, and the evidence quotes the note as written.
PROMISE_TYPOS = [
    ("Garanteed SCIM for Q2", [("scim", True, Q2, False)]),
    ("Guarenteed SCIM by Q2", [("scim", True, Q2, False)]),
    ("We promissed SCIM", [("scim", True, None, False)]),
    ("We comitted to SCIM", [("scim", True, None, False)]),
    ("We commited to SCIM by Q2", [("scim", True, Q2, False)]),
    ("We are commiting to SCIM in Q2", [("scim", True, Q2, False)]),
    ("SCIM (garanteed)", [("scim", True, None, False)]),
    ("We GUARENTEE SCIM by Q2", [("scim", True, Q2, False)]),
    # ... denied, as when spelt right
    ("SCIM is not commited", [("scim", False, None, False)]),
    ("We can't guarentee SCIM by Q2", [("scim", False, None, False)]),
    ("No comitment on SCIM", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), PROMISE_TYPOS, ids=[c[0] for c in PROMISE_TYPOS])
def test_a_misspelt_promise_word_is_a_promise_word(body: str, expected: list) -> None:
    assert readings(body) == expected


def test_a_misspelt_promise_is_quoted_as_written() -> None:
    (ref,) = find_references(
        make_deal("Pricing agreed. We commited to SCIM by Q2."), CATALOG, today=TODAY
    )
    assert ref.evidence == "We commited to SCIM by Q2."


def test_each_misspelling_stands_for_a_word_of_its_length() -> None:
    """Offsets into the note stay valid only if no word changes length."""
    from app.rules.references import _PROMISE_TYPOS, _mend_promise_typos

    body = " ".join(_PROMISE_TYPOS)
    assert len(_mend_promise_typos(body)) == len(body)
    assert _mend_promise_typos(body) == " ".join(_PROMISE_TYPOS.values())


# "be able to" before the delivery verb: "We will be able to deliver SCIM in Q2" was no promise
# (a missed block) while "We will deliver SCIM in Q2" was one.
ABLE_TO = [
    ("We will be able to deliver SCIM in Q2.", [("scim", True, Q2, False)]),
    ("We'll be able to give them SCIM in Q2.", [("scim", True, Q2, False)]),
    ("We should be able to deliver SCIM in Q2.", [("scim", True, Q2, True)]),
    ("We are going to be able to ship SCIM in Q2.", [("scim", True, Q2, False)]),
    # ... what stays
    ("We will not be able to deliver SCIM in Q2.", [("scim", False, None, False)]),
    ("We won't be able to deliver SCIM in Q2.", [("scim", False, None, False)]),
    ("They will be able to use SCIM in Q2.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), ABLE_TO, ids=[c[0] for c in ABLE_TO])
def test_we_will_be_able_to_deliver_is_a_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# A remedy agreed for the feature's delay is a contracted date: "a 20% discount if SCIM slips
# past Q2" was no promise (a missed block: the company owes the customer if it slips).
REMEDY_FOR_A_DELAY = [
    ("We agreed to a 20% discount if SCIM slips past Q2.", [("scim", True, Q2, False)]),
    ("They get service credits if SCIM misses Q2.", [("scim", True, Q2, False)]),
    ("Termination right if SCIM is delayed past Q2.", [("scim", True, Q2, False)]),
    ("If SCIM slips past Q2 they get a full refund.", [("scim", True, Q2, False)]),
    ("They can terminate if SCIM is late.", [("scim", True, None, False)]),
    # ... what stays: a delay as a risk, in the past, or worried about; a remedy denied or
    # only asked for
    ("If SCIM slips past Q2, we lose the deal.", [("scim", False, None, False)]),
    ("SCIM slipped into Q3 last year.", [("scim", False, None, False)]),
    ("Customer is worried SCIM will slip past Q2.", [("scim", False, None, False)]),
    ("No penalty if SCIM slips past Q2.", [("scim", False, None, False)]),
    ("They want an exit clause if SCIM slips past Q2.", [("scim", False, None, False)]),
    ("We did not agree to any credits if SCIM slips past Q2.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), REMEDY_FOR_A_DELAY, ids=[c[0] for c in REMEDY_FOR_A_DELAY]
)
def test_a_remedy_for_a_delay_is_a_contracted_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# "Happy to confirm SCIM by Q2" is our word given now, not a step of the sale to do by Q2 ("Rep
# to confirm SCIM timing by Friday"): it was no promise (a missed block), as "pleased to" was.
CONFIRMED_NOW = [
    ("We are happy to confirm SCIM by Q2.", [("scim", True, Q2, False)]),
    ("Happy to confirm SCIM by Q2.", [("scim", True, Q2, False)]),
    ("We're pleased to confirm SCIM by Q2.", [("scim", True, Q2, False)]),
    ("Glad to confirm SCIM by Q2.", [("scim", True, Q2, False)]),
    # ... steps of the sale stay
    ("Rep to confirm SCIM timing by Friday.", [("scim", False, None, False)]),
    ("We will confirm SCIM by Q2.", [("scim", False, None, False)]),
    ("Happy to send the SCIM roadmap by Friday.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), CONFIRMED_NOW, ids=[c[0] for c in CONFIRMED_NOW])
def test_happy_to_confirm_is_our_word_now(body: str, expected: list) -> None:
    assert readings(body) == expected


# The customer told by us, in the passive, and our "would build" reported: each was no promise
# (a missed block), while "Told them SCIM in Q2" and "They were promised SCIM" were ours.
TOLD_IN_THE_PASSIVE = [
    ("Customer was told SCIM in Q2.", [("scim", True, Q2, False)]),
    ("They were told SCIM in Q2.", [("scim", True, Q2, False)]),
    ("Customer has been told to expect SCIM in Q2.", [("scim", True, Q2, False)]),
    ("The customer was told SCIM would ship in Q2.", [("scim", True, Q2, False)]),
    ("They were told SCIM would ship in Q2.", [("scim", True, Q2, False)]),
    ("We told them we would build SCIM for them.", [("scim", True, None, False)]),
    # ... what stays: told by someone else, told about it, their report
    ("We were told SCIM in Q2.", [("scim", False, None, False)]),
    ("Customer was told about SCIM in Q2.", [("scim", False, None, False)]),
    ("They told us SCIM would ship in Q2.", [("scim", False, None, False)]),
    ("They said SCIM would be available from their other vendor.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), TOLD_IN_THE_PASSIVE, ids=[c[0] for c in TOLD_IN_THE_PASSIVE]
)
def test_the_customer_told_in_the_passive_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# A bare month after "ETA" or "target" is a date, as after "by" or "in": "ETA March" gave the
# promise no date (or, with the ETA cue alone, no promise at all).
MAR = date(2027, 3, 31)
MONTH_AFTER_ETA = [
    ("We're building SCIM specifically for them, ETA March.", [("scim", True, MAR, False)]),
    ("SCIM ETA: March", [("scim", True, MAR, False)]),
    ("SCIM - ETA 3/15", [("scim", True, date(2027, 3, 15), False)]),
    ("We promised SCIM, target March.", [("scim", True, MAR, True)]),
    # ... a name after "to" stays no date
    ("Promised SCIM to Jan, our contact.", [("scim", True, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), MONTH_AFTER_ETA, ids=[c[0] for c in MONTH_AFTER_ETA])
def test_a_month_after_eta_is_a_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# "Commitments:" as a label is a promise word, as "Commitment:" and "Committed:" were: "Commitments:
# SCIM Q2; SSO Q3" was no promise at all.
COMMITMENTS_LABEL = [
    ("Commitments: SCIM Q2; SSO Q3", [("scim", True, Q2, False), ("sso", True, Q3, False)]),
    ("Commitments: SCIM Q2", [("scim", True, Q2, False)]),
    ("Our commitments: SCIM by Q2.", [("scim", True, Q2, False)]),
    # ... denied or asked for, as the singular is
    ("No commitments on SCIM.", [("scim", False, None, False)]),
    ("They want commitments on SCIM.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), COMMITMENTS_LABEL, ids=[c[0] for c in COMMITMENTS_LABEL]
)
def test_commitments_is_a_promise_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# The parts of a contract (addendum, amendment, exhibit, appendix, annex) are contract documents
# as the MSA is: "SCIM is in the addendum, due Q2" was no promise.
CONTRACT_PARTS = [
    ("Exhibit B lists SCIM with a Q2 delivery date.", [("scim", True, Q2, False)]),
    ("SCIM is in the addendum, due Q2.", [("scim", True, Q2, False)]),
    ("Added SCIM to the amendment.", [("scim", True, None, False)]),
    ("Per the addendum, SCIM must be available at go-live.", [("scim", True, None, False)]),
    ("Appendix A covers SSO.", [("sso", True, None, False)]),
    # ... left out, or asked for, as for the MSA
    ("SCIM is not in the addendum.", [("scim", False, None, False)]),
    ("The addendum excludes SCIM.", [("scim", False, None, False)]),
    ("They asked us to add SCIM to the addendum.", [("scim", False, None, False)]),
    ("See exhibit for pricing; SCIM discussed.", [("scim", False, None, False)]),
]


@pytest.mark.parametrize(("body", "expected"), CONTRACT_PARTS, ids=[c[0] for c in CONTRACT_PARTS])
def test_the_parts_of_a_contract_are_contract_documents(body: str, expected: list) -> None:
    assert readings(body) == expected


# Someone's word to us, not ours to the customer: each was our promise (a false block, and a
# promise in the ledger on a win).
TOLD_TO_US = [
    ("Product told us SCIM ships in Q2.", [("scim", False, None, False)]),
    ("PM told me SCIM will be ready by Q2.", [("scim", False, None, False)]),
    ("We were told SCIM would ship in Q2.", [("scim", False, None, False)]),
    ("I was told SCIM ships in Q2.", [("scim", False, None, False)]),
    ("I've been told SCIM lands in Q2.", [("scim", False, None, False)]),
    # ... our word after it is ours; the customer's allegation of our promise is one; our yes
    (
        "Product told us SCIM ships in Q2, so we promised it to the customer.",
        [("scim", True, Q2, False)],
    ),
    ("PM told me we will have SCIM by Q2.", [("scim", True, Q2, False)]),
    ("The customer told us we promised SCIM by Q2.", [("scim", True, Q2, False)]),
    ("The customer told us SCIM releases in Q2 and we confirmed it", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(("body", "expected"), TOLD_TO_US, ids=[c[0] for c in TOLD_TO_US])
def test_someones_word_to_us_is_not_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


def test_their_need_told_to_us_keeps_its_date() -> None:
    (ref,) = find_references(make_deal("They told us they need SCIM by Q2"), CATALOG, today=TODAY)
    assert (ref.is_commitment, ref.needed_by) == (False, Q2)


# Dates as people write them that were no date: a finance quarter ("2Q27"), a European day
# first ("30.06.2027", "30/06/2027", "15/3"), a season ("by summer": the northern hemisphere's,
# 31 August) or Christmas. Each promise had no date (checked against the close date instead).
DATE_FORMS = [
    ("We will have SCIM by 2Q27.", [("scim", True, Q2, False)]),
    ("We will have SCIM by 3Q 2027.", [("scim", True, Q3, False)]),
    ("We will have SCIM in 1Q next year.", [("scim", True, date(2027, 3, 31), False)]),
    ("We will have SCIM by 30.06.2027.", [("scim", True, Q2, False)]),
    ("Promised SCIM on 1.7.2027.", [("scim", True, date(2027, 7, 1), False)]),
    ("We will have SCIM by 30/06/2027.", [("scim", True, Q2, False)]),
    ("We will have SCIM by 15/3.", [("scim", True, date(2027, 3, 15), False)]),
    ("We will have SCIM by Christmas.", [("scim", True, date(2026, 12, 25), False)]),
    ("We will have SCIM this summer.", [("scim", True, date(2027, 8, 31), False)]),
    ("We will have SCIM by spring.", [("scim", True, date(2027, 5, 31), False)]),
    ("We will have SCIM by the end of summer 2027.", [("scim", True, date(2027, 8, 31), False)]),
    ("We will have SCIM by winter 2027.", [("scim", True, date(2028, 2, 29), False)]),
    # ... what stays no date: no date word before it, a quarter with no year, a version
    ("We promised SCIM; the winter team will build it.", [("scim", True, None, False)]),
    ("We will have SCIM by 2q.", [("scim", True, None, False)]),
    ("We promised SCIM, version 2.1.2027", [("scim", True, None, False)]),
    ("We promised SCIM, version 3/15", [("scim", True, None, False)]),
    ("We will have SCIM by 06/30/2027.", [("scim", True, Q2, False)]),  # US order, as before
]


@pytest.mark.parametrize(("body", "expected"), DATE_FORMS, ids=[c[0] for c in DATE_FORMS])
def test_dates_as_people_write_them(body: str, expected: list) -> None:
    assert readings(body) == expected


# Our refusal in other words: each was our promise (a false block).
REFUSED_IN_OTHER_WORDS = [
    ("At no point did we commit to SCIM.", [("scim", False, None, False)]),
    ("Careful not to promise SCIM.", [("scim", False, None, False)]),
    ("We stopped short of promising SCIM.", [("scim", False, None, False)]),
    ("We avoided committing to SCIM by Q2.", [("scim", False, None, False)]),
    ("We decided not to commit to SCIM by Q2.", [("scim", False, None, False)]),
    ("Under no circumstances will we commit to SCIM.", [("scim", False, None, False)]),
    # ... what stays a promise
    ("We promised SCIM so as to avoid losing the deal.", [("scim", True, None, False)]),
    (
        "They asked us not to promise SCIM publicly, but we committed to SCIM by Q2.",
        [("scim", True, Q2, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), REFUSED_IN_OTHER_WORDS, ids=[c[0] for c in REFUSED_IN_OTHER_WORDS]
)
def test_our_refusal_in_other_words_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# A soft or informal word is a hedged promise ("Soft commit on SCIM for Q2" was firm; "Gave
# them a soft yes on SCIM in Q2" was none), and "locked for Q2" is "locked in for Q2".
SOFT_WORD = [
    ("Soft commit on SCIM for Q2.", [("scim", True, Q2, True)]),
    ("Gave them a soft yes on SCIM in Q2.", [("scim", True, Q2, True)]),
    ("Informally promised SCIM by Q2.", [("scim", True, Q2, True)]),
    ("Gave them a verbal on SCIM for Q2.", [("scim", True, Q2, False)]),
    ("SCIM is locked for Q2.", [("scim", True, Q2, False)]),
    # ... what stays
    ("Pricing is locked for Q2, SCIM discussed.", [("scim", False, None, False)]),
    ("We promised SCIM by Q2 (software release).", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(("body", "expected"), SOFT_WORD, ids=[c[0] for c in SOFT_WORD])
def test_a_soft_word_is_a_hedged_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# A promise in brackets right after a feature is that feature's: "Product: SSO, SCIM (Q2
# commit)" made SSO a promise too (a false block), and the features listed after it as well.
BRACKETED_PROMISE = [
    (
        "Commercials: 100k ARR. Product: SSO, SCIM (Q2 commit).",
        [("sso", False, None, False), ("scim", True, Q2, False)],
    ),
    (
        "Product: SSO and SCIM (committed for Q2).",
        [("sso", False, None, False), ("scim", True, Q2, False)],
    ),
    (
        "SSO (available now), SCIM (committed Q2)",
        [("sso", False, None, False), ("scim", True, Q2, False)],
    ),
    ("SCIM (Q2 commit), SSO", [("scim", True, Q2, False), ("sso", False, None, False)]),
    (
        "SSO, SCIM (promised by Q2), offline mode (nice to have).",
        [("sso", False, None, False), ("scim", True, Q2, False), ("offline", False, None, False)],
    ),
    # ... a promise outside the brackets is every feature's, as before
    ("We promised SSO, SCIM (Q2).", [("sso", True, Q2, False), ("scim", True, Q2, False)]),
    ("We promised SCIM (by Q2) and SSO.", [("scim", True, Q2, False), ("sso", True, Q2, False)]),
    ("SCIM (committed Q2) and SSO by Q3", [("scim", True, Q2, False), ("sso", True, Q3, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), BRACKETED_PROMISE, ids=[c[0] for c in BRACKETED_PROMISE]
)
def test_a_bracketed_promise_is_its_features(body: str, expected: list) -> None:
    assert readings(body) == expected


def unknowns(body: str) -> list[tuple]:
    """(feature key, name, is_commitment) per reference, off-roadmap ones by their name."""
    return [
        (r.feature_key, r.feature_name if r.feature_key is None else None, r.is_commitment)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# The customer's own custom work is no custom build of ours ("Their custom connector for SCIM
# breaks often" made SCIM our promise: a false block; "They have a custom integration with
# Okta" an off-roadmap promise); what we agreed to add is an off-roadmap promise naming the
# thing ("We agreed to build a Workday sync" was none).
CUSTOM_WORK = [
    ("They have a custom integration with Okta.", []),
    ("Their custom connector for SCIM breaks often.", [("scim", None, False)]),
    ("The customer's custom app syncs SSO groups.", [("sso", None, False)]),
    ("They built their own custom connector for SCIM.", [("scim", None, False)]),
    ("We promised their team a custom connector.", [(None, "custom connector", True)]),
    ("We'll build a custom connector for SCIM.", [("scim", None, True)]),
    ("We agreed to build a Workday sync by Q2.", [(None, "Workday sync", True)]),
    (
        "We agreed to add a custom field mapping for their ERP.",
        [(None, "custom field mapping", True)],
    ),
    ("We agreed to send the pricing by Friday.", []),
]


@pytest.mark.parametrize(("body", "expected"), CUSTOM_WORK, ids=[c[0] for c in CUSTOM_WORK])
def test_custom_work_theirs_and_ours(body: str, expected: list) -> None:
    assert unknowns(body) == expected


# "Assuming", "provided", "as long as" make a condition, as "if" does: "Assuming SCIM ships in
# Q2, they'll roll out to 5k users" was our promise by Q2 (a false block).
CONDITIONS = [
    ("Assuming SCIM ships in Q2, they'll roll out to 5k users.", [("scim", False, None, False)]),
    ("Provided SCIM ships in Q2, they'll sign.", [("scim", False, None, False)]),
    ("They'll sign as long as SCIM ships in Q2.", [("scim", False, None, False)]),
    # ... our promise with a condition of theirs stays ours
    ("We promised SCIM by Q2, assuming they sign by March.", [("scim", True, Q2, False)]),
    ("Assuming they sign by March, we will deliver SCIM by Q2.", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(("body", "expected"), CONDITIONS, ids=[c[0] for c in CONDITIONS])
def test_assuming_is_a_condition(body: str, expected: list) -> None:
    assert readings(body) == expected


# A plain-text arrow is no sentence end: "SCIM -> Q2 (committed)" was read as "SCIM ->" alone
# and " Q2 (committed)" (no promise of SCIM), "<" and ">" being HTML leftovers.
ARROWS = [
    ("SCIM -> Q2 (committed)", [("scim", True, Q2, False)]),
    ("SCIM => Q2, committed", [("scim", True, Q2, False)]),
    ("Q2 <- SCIM committed", [("scim", True, Q2, False)]),
]


@pytest.mark.parametrize(("body", "expected"), ARROWS, ids=[c[0] for c in ARROWS])
def test_an_arrow_is_no_sentence_end(body: str, expected: list) -> None:
    assert readings(body) == expected


def test_html_leftovers_still_end_sentences() -> None:
    refs = find_references(
        make_deal("<p>We promised SCIM</p><p>SSO later</p>"), CATALOG, today=TODAY
    )
    assert [(r.feature_key, r.is_commitment, r.evidence) for r in refs] == [
        ("scim", True, "We promised SCIM"),
        ("sso", False, "SSO later"),
    ]
