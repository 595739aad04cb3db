"""Round 26, from realistic sales notes: our answer to their question in the question's own
sentence ("They asked about SCIM and we said Q2", "...; we committed to Q3"), a promise of a
date alone after their question ("When will SCIM ship? We committed to Q2."), "We promised."
after their dated need. Each table says what was read before and why it was wrong."""

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
    """(feature, is_commitment, promised_date, needed_by) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.needed_by)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: our answer in the question's own sentence was read only without a subject
# ("Customer asked when SCIM ships, told them Q2"); "..., we said Q2", "... and I told them
# Q2", "...; we committed to Q3" left the question a question: missed blocks. A clause of
# our own with a date alone answers it; anything more than a date does not.
SAME_SENTENCE = [
    ("Customer asked when SCIM ships, we said Q2.", [("scim", True, Q2, None)]),
    ("Customer asked when SCIM ships; we said Q2.", [("scim", True, Q2, None)]),
    ("Customer asked when SCIM ships, we told them Q2.", [("scim", True, Q2, None)]),
    ("Customer asked when SCIM ships and we told them Q2.", [("scim", True, Q2, None)]),
    ("Customer asked when SCIM ships and I said Q2.", [("scim", True, Q2, None)]),
    ("Customer asked when SCIM ships, we committed to Q2.", [("scim", True, Q2, None)]),
    ("They asked about SCIM and we committed to Q2.", [("scim", True, Q2, None)]),
    ("They asked about SCIM and we said Q2.", [("scim", True, Q2, None)]),
    ("They asked about SCIM; we promised Q3.", [("scim", True, Q3, None)]),
    ("They asked about SCIM; we guaranteed Q3.", [("scim", True, Q3, None)]),
    # more than a date, or no date, or nobody's word: the question stays a question
    ("They asked about SCIM; we promised a follow-up.", [("scim", False, None, None)]),
    ("They asked about SCIM; we promised a follow-up by Friday.", [("scim", False, None, None)]),
    ("They asked about SCIM and I said we would check.", [("scim", False, None, None)]),
    ("They asked about SCIM; we said not before Q3.", [("scim", False, None, None)]),
    ("Customer asked when SCIM ships, said Q2.", [("scim", False, None, None)]),
    ("Customer asked for an ETA on SCIM; said Q2.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), SAME_SENTENCE, ids=[c[0] for c in SAME_SENTENCE])
def test_our_date_in_the_questions_own_sentence_answers_it(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: after their question, "We said Q2." and "Told them Q2." answered it, while "We
# committed to Q2." and "We promised Q2." did not (missed blocks: the stronger word was
# read as less). After their dated need, "We promised." agreed to nothing, where "We
# committed." and "We agreed." did.
PROMISED_ANSWER = [
    ("When will SCIM ship? We committed to Q2.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? We promised Q2.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? Promised them Q2.", [("scim", True, Q2, None)]),
    ("They asked about SCIM. We committed to Q2.", [("scim", True, Q2, None)]),
    ("They asked about SCIM. Committed to Q2.", [("scim", True, Q2, None)]),
    ("They need SCIM by Q2. We committed to Q3.", [("scim", True, Q3, Q2)]),
    ("They need SCIM by Q2. We promised.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2, we promised it.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2 and we guaranteed it.", [("scim", True, Q2, Q2)]),
    ("Will SCIM be ready by Q1? We promised them.", [("scim", True, Q1, None)]),
    # a promise of something else is no answer
    ("They asked about SCIM. We promised a demo.", [("scim", False, None, None)]),
    ("They asked about SCIM. We promised a demo by Q2.", [("scim", False, None, None)]),
    ("They need SCIM by Q2. We promised them a call.", [("scim", False, None, Q2)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), PROMISED_ANSWER, ids=[c[0] for c in PROMISED_ANSWER])
def test_a_promise_of_a_date_alone_answers_their_question(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "We owe the customer the audit log" and "We owe them SCIM" promised nothing ("owe"
# was no cue; "We owe them SCIM by Q2" promised only through its date): missed blocks. What
# we owe them is our word, unless it is a step of the sale ("an answer on SCIM", "an update
# about SCIM", "the SCIM timeline").
OWED = [
    ("We owe them SCIM.", [("scim", True, None, None)]),
    ("We still owe the customer the audit log.", [("audit", True, None, None)]),
    ("We owe Acme SCIM.", [("scim", True, None, None)]),
    ("We owe them SCIM by Q2.", [("scim", True, Q2, None)]),
    ("We owe them a custom connector.", [("custom connector", True, None, None)]),
    ("We owe them an answer on SCIM.", [("scim", False, None, None)]),
    ("We owe the customer an update about SCIM.", [("scim", False, None, None)]),
    ("We owe them a decision on SCIM by Friday.", [("scim", False, None, None)]),
    ("We owe them the SCIM timeline.", [("scim", False, None, None)]),
    ("We owe them SCIM pricing.", [("scim", False, None, None)]),
    ("We don't owe them SCIM.", [("scim", False, None, None)]),
    ("They owe us the signed MSA before SCIM work starts.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), OWED, ids=[c[0] for c in OWED])
def test_what_we_owe_them_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the pending approval under its label ("Pending: product approval for SCIM by Q2
# commitment", as the comment on `_APPROVAL_WORDS` already promised) was our promise by Q2 (a
# false block): the colon opened a clause of its own and the words before the cue were looked
# for in it alone. "Awaiting:" too. An approval given stays a promise.
PENDING_LABEL = [
    ("Pending: product approval for SCIM by Q2 commitment", [("scim", False, None, None)]),
    ("Pending: approval to commit to SCIM by Q2", [("scim", False, None, None)]),
    ("Awaiting: product sign-off on SCIM by Q2 commitment", [("scim", False, None, None)]),
    ("Needs: approval to commit to SCIM by Q2", [("scim", False, None, None)]),
    ("Approved: SCIM by Q2 commitment", [("scim", True, Q2, None)]),
    ("Next steps: commit to SCIM by Q2", [("scim", True, Q2, None)]),
    ("Waiting for: product approval. We committed to SCIM by Q2.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), PENDING_LABEL, ids=[c[0] for c in PENDING_LABEL])
def test_a_pending_approval_under_its_label_is_no_promise_yet(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "Customer is relying on SCIM in Q2" was a mention with no date of theirs, and
# "Reassured them SCIM will be ready by Q2" no promise at all ("assured them" was one, "re"
# before it hid it: a missed block). What they rely on is their need; our reassurance our word.
RELIED_ON = [
    ("Customer is relying on SCIM in Q2.", [("scim", False, None, Q2)]),
    ("They rely on SCIM by Q2 for their rollout.", [("scim", False, None, Q2)]),
    ("We're counting on SCIM to win this.", [("scim", False, None, None)]),
    ("Reassured the customer SCIM will be ready by Q2.", [("scim", True, Q2, None)]),
    ("Reassured them SCIM is coming soon.", [("scim", True, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), RELIED_ON, ids=[c[0] for c in RELIED_ON])
def test_what_they_rely_on_and_our_reassurance(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "Confirmed SCIM for Q2" was our word with its date, "The AE confirmed SCIM
# availability in Q2" and "Confirmed SCIM GA for Q2 with the customer" nothing (missed blocks):
# a word of the feature's coming stood between it and the date. Other words there still
# confirm something else ("SCIM pricing for Q2").
CONFIRMED_COMING = [
    ("The AE confirmed SCIM availability in Q2.", [("scim", True, Q2, None)]),
    ("Confirmed SCIM GA for Q2 with the customer.", [("scim", True, Q2, None)]),
    ("Confirmed SCIM for Q2.", [("scim", True, Q2, None)]),
    ("Confirmed SCIM pricing for Q2.", [("scim", False, None, None)]),
    ("Confirmed SCIM availability with product.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), CONFIRMED_COMING, ids=[c[0] for c in CONFIRMED_COMING]
)
def test_confirmed_availability_with_a_date_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "Yes, it will." answered their question, "Yes, it will be." and "Yes it will be
# ready." did not (missed blocks): the shorter form matched first and the rest was read as
# more than a yes. A yes of something else ("it will be tight") is still none.
LONGER_YES = [
    ("Will SCIM be ready by Q2?\nYes, it will be.", [("scim", True, Q2, None)]),
    ("Will SCIM be ready by Q2? Yes it will be ready.", [("scim", True, Q2, None)]),
    ("Will SCIM be ready by Q2? Yes, it will be there.", [("scim", True, Q2, None)]),
    ("Will SCIM be ready by Q2? Yes, it'll be ready.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? Yes, it will be by Q3.", [("scim", True, Q3, None)]),
    ("Will SCIM be ready by Q2? Yes, it will.", [("scim", True, Q2, None)]),
    ("Will SCIM be ready by Q2? Yes, it will be tight.", [("scim", False, None, None)]),
    ("Do they need SCIM by Q2? Yes, it will be.", [("scim", False, None, Q2)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), LONGER_YES, ids=[c[0] for c in LONGER_YES])
def test_a_yes_it_will_be_answers_their_question(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our word denied was still our word: "We never said SCIM by Q2", "We didn't tell
# them SCIM in Q2", "I never said SCIM would be ready by Q2" were promises by Q2 (false
# blocks), as "We never promised SCIM by Q2" was not.
NEVER_SAID = [
    ("We never said SCIM by Q2.", [("scim", False, None, None)]),
    ("We never told them SCIM by Q2.", [("scim", False, None, None)]),
    ("We didn't say SCIM by Q2.", [("scim", False, None, None)]),
    ("I never said SCIM would be ready by Q2.", [("scim", False, None, None)]),
    ("We did not tell them SCIM would ship in Q2.", [("scim", False, None, None)]),
    ("We never said SCIM by Q2, but we did promise SSO by Q3.", [
        ("scim", False, None, None), ("sso", True, Q3, None)]),
    ("Never told them SCIM by Q2 - told them Q3.", [("scim", True, Q3, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), NEVER_SAID, ids=[c[0] for c in NEVER_SAID])
def test_our_word_denied_is_no_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the customer's hope or assumption of our word was our promise: "Customer hopes
# we'll have SCIM by Q2", "They are hoping we can commit to SCIM by Q2", "The customer
# assumes SCIM will ship in Q2", "They assumed SCIM would be ready by Q2; corrected them",
# "Corrected their assumption that SCIM ships in Q2" (false blocks), as "They think SCIM will
# be ready by Q2" was not. Our yes after it is still ours.
THEIR_HOPE = [
    ("Customer hopes we'll have SCIM by Q2.", [("scim", False, None, None)]),
    ("They hope we will deliver SCIM in Q2.", [("scim", False, None, None)]),
    ("They are hoping we can commit to SCIM by Q2.", [("scim", False, None, None)]),
    ("The customer assumes SCIM will ship in Q2.", [("scim", False, None, None)]),
    ("They assumed SCIM would be ready by Q2; corrected them.", [("scim", False, None, None)]),
    ("Corrected their assumption that SCIM ships in Q2.", [("scim", False, None, None)]),
    ("Customer is hoping SCIM will be ready by Q2.", [("scim", False, None, Q2)]),
    ("They hope SCIM ships by Q2 and we committed to it.", [("scim", True, Q2, None)]),
    ("We hope they sign; we will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Customer hopes for SCIM by Q2; we will have SSO by Q1.", [
        ("scim", False, None, Q2), ("sso", True, Q1, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), THEIR_HOPE, ids=[c[0] for c in THEIR_HOPE])
def test_their_hope_of_our_word_is_theirs(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "the SCIM by Q2 ask" (their ask, named after its date) was our promise by Q2 (a
# false block): "ask" was no need word. "Their SCIM by Q2 request" already was their need.
THEIR_ASK = [
    ("Pushed back on the SCIM by Q2 ask.", [("scim", False, None, Q2)]),
    ("The SCIM by Q2 ask is tough.", [("scim", False, None, Q2)]),
    ("Their SCIM by Q2 ask, we committed to it.", [("scim", True, Q2, Q2)]),
    ("We will have SCIM by Q2, ask them to sign.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), THEIR_ASK, ids=[c[0] for c in THEIR_ASK])
def test_their_ask_after_its_date_is_their_need(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a date agreed on with the customer was nothing ("We agreed on Q2 for SCIM",
# "Timeline agreed with customer: SCIM in Q2", "SCIM timing: Q2 (agreed with customer)",
# "Aligned with their CTO on SCIM delivery in Q2": missed blocks), where "Agreed to deliver
# SCIM by Q2" was a promise. "agreed" or "aligned" is our word of what is named right after it
# (or of the clause it labels), not of a sale item, a step of the sale or our own alignment.
AGREED_ON = [
    ("Timeline agreed with customer: SCIM in Q2.", [("scim", True, Q2, None)]),
    ("SCIM timing: Q2 (agreed with customer)", [("scim", True, Q2, None)]),
    ("SCIM (agreed: Q2)", [("scim", True, Q2, None)]),
    ("We agreed on Q2 for SCIM.", [("scim", True, Q2, None)]),
    ("We aligned on Q2 for SCIM.", [("scim", True, Q2, None)]),
    ("Aligned with their CTO on SCIM delivery in Q2.", [("scim", True, Q2, None)]),
    ("We agreed to SCIM in Q2.", [("scim", True, Q2, None)]),
    ("Agreed SCIM for Q2 with the customer.", [("scim", True, Q2, None)]),
    ("Agreed to deliver SCIM.", [("scim", True, None, None)]),
    # not a feature's date
    ("We agreed to revisit SCIM in Q2.", [("scim", False, None, None)]),
    ("They agreed to sign in Q2; SCIM discussed.", [("scim", False, None, None)]),
    ("We agreed on pricing for Q2; SCIM discussed.", [("scim", False, None, None)]),
    ("Agreed next steps: SCIM demo in Q2.", [("scim", False, None, None)]),
    ("Customer agreed to a Q2 start; SCIM needed.", [("scim", False, None, None)]),
    ("We agreed to push the SCIM decision to Q2.", [("scim", False, None, None)]),
    ("Aligned internally: SCIM target Q2.", [("scim", False, None, None)]),
    ("Not agreed: SCIM in Q2.", [("scim", False, None, None)]),
    ("We have not agreed on a SCIM date.", [("scim", False, None, None)]),
    ("Agreed: they need SCIM by Q2.", [("scim", False, None, Q2)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), AGREED_ON, ids=[c[0] for c in AGREED_ON])
def test_a_date_agreed_on_with_them_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our "not yet" and then what will be, after their question, was read as a denial:
# "Do you support SCIM? Not yet, it will be ready in Q2." and "Is SCIM available? Not yet. It
# ships in Q2." promised nothing (missed blocks), as "Not yet - it's coming in Q2" and "No,
# but it will by Q2" did. The comma after "not yet" before "it" opens a clause; a sentence of
# "not yet" alone between the question and "it" is passed over.
NOT_YET_THEN = [
    ("They asked about SCIM.\nNot today, it's coming in Q2.", [("scim", True, Q2, None)]),
    ("Do you support SCIM? Not yet, it will be ready in Q2.", [("scim", True, Q2, None)]),
    ("Is SCIM available? Not yet. It ships in Q2.", [("scim", True, Q2, None)]),
    ("Is SCIM available? No. It ships in Q2.", [("scim", True, Q2, None)]),
    ("Is SCIM available?\nNot yet.\nIt will be ready in Q2.", [("scim", True, Q2, None)]),
    ("We can't deliver SCIM by Q1. Not yet. We will have it by Q2.", [("scim", True, Q2, None)]),
    ("Is SCIM available? No. It is not planned.", [("scim", False, None, None)]),
    ("SCIM is not supported today, it will never be.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), NOT_YET_THEN, ids=[c[0] for c in NOT_YET_THEN])
def test_not_yet_then_what_will_be_is_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a contract document's label over a feature ("Order form: SCIM provisioning (Q2
# 2027)", "MSA: SCIM") was nothing, while "In the order form: SCIM (Q2 2027)" was our
# commitment (missed blocks). At a line's start, with the feature right after the colon and
# nothing on the line saying it is not held, it lists what the document holds.
DOC_LABEL = [
    ("Order form: SCIM provisioning (Q2 2027)", [("scim", True, Q2, None)]),
    ("MSA: SCIM", [("scim", True, None, None)]),
    ("Notes:\nOrder form: SCIM (Q2)", [("scim", True, Q2, None)]),
    ("Order form: SSO, SCIM (Q2)", [("sso", True, Q2, None), ("scim", True, Q2, None)]),
    ("Contract: sent for signature; SCIM discussed.", [("scim", False, None, None)]),
    ("Contract: SCIM not included.", [("scim", False, None, None)]),
    ("Order form: SCIM excluded.", [("scim", False, None, None)]),
    ("Order form: SCIM?", [("scim", False, None, None)]),
    ("SOW: SCIM TBD", [("scim", False, None, None)]),
    ("Contract: they want SCIM in it.", [("scim", False, None, None)]),
    ("Order form: pending SCIM decision.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), DOC_LABEL, ids=[c[0] for c in DOC_LABEL])
def test_a_contract_documents_label_lists_what_it_holds(body: str, expected: list) -> None:
    assert readings(body) == expected


def hedged(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: our aim as the answer to their question ("When will SCIM ship? We're targeting
# Q2.", "Tom (AE): We're targeting Q2.") was nothing (missed blocks), while "We're aiming for
# SCIM in Q2" (the feature named) was a hedged promise. It is one, hedged.
AIMED_ANSWER = [
    ("Jane (Acme CTO): When do you expect SCIM?\nTom (AE): We're targeting Q2.", [
        ("scim", True, Q2, True)]),
    ("Customer: When will SCIM ship?\nMe: targeting Q2", [("scim", True, Q2, True)]),
    ("When will SCIM ship? We're targeting Q2.", [("scim", True, Q2, True)]),
    ("When will SCIM ship? Targeting Q2.", [("scim", True, Q2, True)]),
    ("When will SCIM ship? We are aiming for Q2.", [("scim", True, Q2, True)]),
    ("When will SCIM ship? Told them Q2.", [("scim", True, Q2, False)]),
    ("When will SCIM ship? We're targeting a Q2 launch of the pilot.", [
        ("scim", False, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), AIMED_ANSWER, ids=[c[0] for c in AIMED_ANSWER])
def test_our_aim_answers_their_question_hedged(body: str, expected: list) -> None:
    assert hedged(body) == expected


def promised(body: str) -> date | None:
    (ref,) = find_references(make_deal(body), CATALOG, today=TODAY)
    return ref.promised_date


# Before: "FY27 Q1" (the fiscal year before the quarter) was read as the whole year, 31
# December 2027: a Q1 promise looked safe against a Q3 target (a missed block); "YE", "EOQ1",
# "2 wks", "3 mos", "the back half of 2027" were no dates at all (the promise undated).
DATE_FORMS = [
    ("We'll ship SCIM in FY27 Q1.", Q1),
    ("We'll ship SCIM in FY2027 Q1.", Q1),
    ("We'll ship SCIM in FY 27 Q2.", Q2),
    ("We'll ship SCIM in Q1 FY27.", Q1),
    ("We'll ship SCIM in FY27.", date(2027, 12, 31)),
    ("We'll ship SCIM by YE.", date(2026, 12, 31)),
    ("We'll ship SCIM by YE 2027.", date(2027, 12, 31)),
    ("We'll ship SCIM by EOQ1.", Q1),
    ("We'll ship SCIM in 2 wks.", date(2026, 12, 9)),
    ("We'll ship SCIM in 3 mos.", date(2027, 2, 25)),
    ("We'll ship SCIM in the back half of 2027.", date(2027, 12, 31)),
    ("We'll ship SCIM in the front half of 2027.", Q2),
    ("We'll ship SCIM in the latter half of next year.", date(2027, 12, 31)),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), DATE_FORMS, ids=[c[0] for c in DATE_FORMS])
def test_more_date_forms_are_read(body: str, expected: date) -> None:
    assert promised(body) == expected


# Before: a feature left out of the promise or replaced ("Everything except offline mode is
# committed for Q2", "We committed to everything except multi-region", "Offered CSV import
# in place of SCIM", "... in lieu of multi-region") was the promise of that very feature
# (false blocks: a never-built feature promised). As after "instead of", it is no dependency.
# ("except" only after "everything", "anything", "all".)
LEFT_OUT = [
    ("Everything except offline mode is committed for Q2.", []),
    ("We committed to everything except multi-region.", []),
    ("Offered single-region SLA in lieu of multi-region.", []),
    ("Offered CSV import in place of SCIM.", []),
    ("We committed to SCIM by Q2, excluding SSO.", [("scim", True, Q2, None)]),
    # "except" leaves out only after "everything": after "nothing" it is what was promised
    ("Nothing except SCIM was promised.", [("scim", True, None, None)]),
    ("Other than SCIM, nothing was promised.", [("scim", True, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), LEFT_OUT, ids=[c[0] for c in LEFT_OUT])
def test_a_feature_left_out_of_the_promise_is_not_promised(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a promise taken back with its words between ("Retracted the SCIM by Q1
# commitment", "We walked back the SCIM Q1 promise; now told them Q2") or said taken out
# ("SCIM commitment removed from the order form", "The SCIM commitment was withdrawn") stood:
# false blocks, or the withdrawn date (Q1) kept over the one given since (Q2).
TAKEN_BACK = [
    ("Retracted the SCIM by Q1 commitment.", [("scim", False, None, None)]),
    ("Deal desk: SCIM commitment removed from the order form.", [("scim", False, None, None)]),
    ("We walked back the SCIM Q1 promise.", [("scim", False, None, None)]),
    ("We walked back the SCIM Q1 promise; now told them Q2.", [("scim", True, Q2, None)]),
    ("The SCIM commitment was withdrawn.", [("scim", False, None, None)]),
    ("We retracted our SCIM promise.", [("scim", False, None, None)]),
    ("Retracted the pricing commitment; we will have SCIM by Q2.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), TAKEN_BACK, ids=[c[0] for c in TAKEN_BACK])
def test_a_promise_taken_back_does_not_stand(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our agreement to their dated ask was missed when it came in the ask's own sentence
# ("They asked for SCIM by Q1; we committed"), after our label ("Prospect: we need audit log
# by Q1\nMe: we can do that", "Tom (AE): no problem"), with "we" or "you'll have it" after a
# yes ("Yes, we committed.", "Yes, you'll have it.") or under a role then a name ('AE (Bob):
# "Yes, ..."'): missed blocks.
AGREED_ANSWERS = [
    ("They asked for SCIM by Q1; we committed.", [("scim", True, Q1, None)]),
    ("They asked for SCIM by Q1, we committed to it.", [("scim", True, Q1, None)]),
    ("They asked whether SCIM will be ready by Q1, we confirmed.", [("scim", True, Q1, None)]),
    ("Prospect: we need audit log by Q1\nMe: we can do that", [("audit", True, Q1, Q1)]),
    ("Customer: we need SCIM by Q2\nTom (AE): no problem", [("scim", True, Q2, Q2)]),
    ("Customer: we need SCIM by Q2\nMe - doable", [("scim", True, Q2, Q2)]),
    ("Will SCIM be ready by Q1? Yes, we committed.", [("scim", True, Q1, None)]),
    ("Will SCIM be ready by Q1? Yes, you'll have it.", [("scim", True, Q1, None)]),
    ('Customer (Jane): "Will we get the audit log by March?"\nAE (Bob): "Yes, you\'ll have '
     'it by March."', [("audit", True, MARCH, None)]),
    ("Will SCIM be ready by Q1?\nAE (Bob): yes", [("scim", True, Q1, None)]),
    # no agreement: the ask stays theirs
    ("They asked about SCIM; we committed.", [("scim", False, None, None)]),
    ("They asked for SCIM by Q1; we committed to a call.", [("scim", False, None, None)]),
    ("Customer: we need SCIM by Q2\nTom (AE): we'll check", [("scim", False, None, Q2)]),
    ("Customer: we need SCIM by Q2\nMe: no", [("scim", False, None, Q2)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), AGREED_ANSWERS, ids=[c[0] for c in AGREED_ANSWERS])
def test_our_agreement_to_their_dated_ask_is_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a workaround promised for a feature was the feature promised, "Pushed back on SCIM
# by Q1" our promise by Q1 (false blocks); our yes told ("Told them that's fine.",
# "Absolutely, told them.", "I said it will be.") after their dated need or question was
# nothing (missed blocks).
SMALL_WORDS = [
    ("Promised a workaround for offline mode by Q1.", []),
    ("Pushed back on SCIM by Q1.", [("scim", False, None, None)]),
    ("They pushed back on pricing; we will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("They need audit log by Q1. Told them that's fine.", [("audit", True, Q1, Q1)]),
    ("They need SCIM by Q2. Told them no problem.", [("scim", True, Q2, Q2)]),
    ("They asked if the audit log will be ready by Q1. I said it will be.", [
        ("audit", True, Q1, None)]),
    ("Will audit log be ready by Q1? Absolutely, told them.", [("audit", True, Q1, None)]),
    ("They need SCIM by Q1. Told them that's not possible.", [("scim", False, None, Q1)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), SMALL_WORDS, ids=[c[0] for c in SMALL_WORDS])
def test_workarounds_pushback_and_our_yes_told(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "Nothing about SCIM in the contract" put SCIM in the contract, and "Customer was
# told SCIM in Q1 by their partner" was our word (false blocks). The first says the contract
# is silent; the second names who told them, and it was not us.
NOT_OURS_AFTER_ALL = [
    ("Nothing about SCIM in the contract.", [("scim", False, None, None)]),
    ("No mention of SCIM in the MSA.", [("scim", False, None, None)]),
    ("SCIM in the contract.", [("scim", True, None, None)]),
    ("Customer was told SCIM in Q1 by partner.", [("scim", False, None, None)]),
    ("Customer was told SCIM in Q1 by their reseller.", [("scim", False, None, None)]),
    ("The customer was told SCIM in Q1 by the Okta rep.", [("scim", False, None, None)]),
    ("Customer was told SCIM in Q1.", [("scim", True, Q1, None)]),
    ("Customer was told SCIM in Q1 by our SE.", [("scim", True, Q1, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), NOT_OURS_AFTER_ALL, ids=[c[0] for c in NOT_OURS_AFTER_ALL]
)
def test_a_silent_contract_and_another_partys_word(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the customer's side of a transcript speaking of their own plans ("Customer: we'll
# have the audit log turned on by Q1", "Jane (Acme CTO): we will have SCIM rolled out by
# Q2", "Them: we'll have SSO configured by March") was our promise (false blocks). On a line
# their label opens, "we" is theirs; our side's lines stay ours.
THEIR_LINES = [
    ("Customer: we'll have the audit log turned on by Q1.", [("audit", False, None, None)]),
    ("Sarah (customer): we'll have the audit log turned on by Q1 on our side.", [
        ("audit", False, None, None)]),
    ("Jane (Acme CTO): we will have SCIM rolled out by Q2.", [("scim", False, None, None)]),
    ("Them: we'll have SSO configured by March.", [("sso", False, None, None)]),
    ("Tom (Acme AE): we will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Customer success: we will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Customer asked - we will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Customer: will SCIM be ready by Q2?\nMe: yes", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), THEIR_LINES, ids=[c[0] for c in THEIR_LINES])
def test_their_side_of_a_transcript_speaks_of_their_plans(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our word given at a meeting ("On the call we told them SCIM in Q1", "At the last QBR
# we said SCIM in Q1") was read as the sale's date, no promise (missed blocks); a promise only
# weighed ("Considering committing to SCIM by Q1", "Debating whether to commit to SCIM by
# Q2") was made (false blocks).
SETTING_AND_WEIGHING = [
    ("On the call we told them SCIM in Q1.", [("scim", True, Q1, None)]),
    ("In the meeting we said SCIM in Q1.", [("scim", True, Q1, None)]),
    ("At the last QBR we said SCIM in Q1.", [("scim", True, Q1, None)]),
    ("We will revisit SCIM in Q1.", [("scim", False, None, None)]),
    ("On the call next week we will discuss SCIM by Q1.", [("scim", False, None, None)]),
    ("Considering committing to SCIM by Q1.", [("scim", False, None, None)]),
    ("We are considering promising SCIM by Q2.", [("scim", False, None, None)]),
    ("Debating whether to commit to SCIM by Q2.", [("scim", False, None, None)]),
    ("Thinking about committing SCIM by Q1, need approval.", [("scim", False, None, Q1)]),
    ("They are considering SCIM; we committed to it by Q2.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), SETTING_AND_WEIGHING, ids=[c[0] for c in SETTING_AND_WEIGHING]
)
def test_where_our_word_was_given_and_a_promise_only_weighed(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: the customer's redline refused in the next sentence ("Customer's redline: SCIM by
# Q2 in the MSA. We rejected it.") stayed our commitment (a false block), where "... We walked
# it back." was taken back. Our refusal of it, and nothing else, takes it back.
REDLINE_REFUSED = [
    ("Customer's redline: SCIM by Q2 in the MSA. We rejected it.", [("scim", False, None, None)]),
    ("Customer's redline: SCIM by Q2 in the MSA. Rejected the change.", [
        ("scim", False, None, None)]),
    ("Customer's redline: SCIM by Q2 in the MSA. We accepted.", [("scim", True, Q2, None)]),
    ("We promised SCIM by Q2. Rejected the discount though.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), REDLINE_REFUSED, ids=[c[0] for c in REDLINE_REFUSED])
def test_their_redline_refused_is_taken_back(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a short "is not" or "TBD" ending the sentence did not reach back: "SCIM committed
# Q2, audit log and multi-region are not", "SCIM by Q2 is committed; audit log by Q1 is not",
# "We promised SSO by Q1, SCIM TBD" promised every feature named (false blocks). The features
# it is said of are a part of their own, denied; the part before keeps its word.
DENIED_TAIL = [
    ("SCIM committed Q2, audit log and multi-region are not.", [
        ("scim", True, Q2, None), ("audit", False, None, None),
        ("multi-region", False, None, None)]),
    ("SCIM by Q2 is committed; audit log by Q1 is not.", [
        ("scim", True, Q2, None), ("audit", False, None, None)]),
    ("We will have SCIM by Q2, SSO isn't.", [("scim", True, Q2, None), ("sso", False, None, None)]),
    ("We promised SSO by Q1, SCIM TBD.", [("sso", True, Q1, None), ("scim", False, None, None)]),
    ("SCIM by Q2, SSO to be determined.", [("scim", True, Q2, None), ("sso", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), DENIED_TAIL, ids=[c[0] for c in DENIED_TAIL])
def test_a_short_denial_at_the_end_reaches_its_part(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our date answer made firm after it ("Q: Audit log timeline? A: Q1, committed.",
# "When will SCIM ship? Told them Q2, firm.") was nothing, while "A: Q1." alone was our
# promise (missed blocks). A hedge after it ("Told them Q2, maybe.") still is no firm word.
FIRM_AFTER = [
    ("Q: Audit log timeline? A: Q1, committed.", [("audit", True, Q1, None)]),
    ("When will SCIM ship? Told them Q2, firm.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? Told them Q2 - committed.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? Told them Q2, maybe.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), FIRM_AFTER, ids=[c[0] for c in FIRM_AFTER])
def test_a_date_answer_made_firm_after_it(body: str, expected: list) -> None:
    assert readings(body) == expected


def test_a_lists_own_tbd_mark_denies_no_other_item() -> None:
    """ "(TBD)" as one list item's mark is no short denial of the whole list (the other items
    stay promised with their own dates)."""
    got = readings("Committed: SSO (now), SCIM (Q2), audit log (TBD).")
    assert got[:2] == [("sso", True, TODAY, None), ("scim", True, Q2, None)]


# From the second probe: "no other commitments" after our promise took it back (a missed
# block); "i promised him Q2" after their question was no answer (missed); a label valued
# none ("SCIM commitment: none", "SCIM committed: no", "SCIM - no commit"), a commitment
# rejected or withdrawn with words between ("SCIM commitment for Q2 rejected", "SCIM q1
# commitment from prev AE withdrawn"), a promise still to be made ("Need to promise SCIM by
# Q1 to win this", "We should promise SCIM by Q1") and one made by another company ("SCIM
# was promised by competitor for Q1") were our promise (false blocks).
SECOND_PROBE = [
    ("We promised SCIM by Q1; no other commitments.", [("scim", True, Q1, None)]),
    ("We will have SCIM by Q3 but can't guarantee it.", [("scim", False, None, None)]),
    ("cust asked for scim, i promised him Q2", [("scim", True, Q2, None)]),
    ("SCIM commitment: none", [("scim", False, None, None)]),
    ("SCIM committed: no", [("scim", False, None, None)]),
    ("SCIM - no commit", [("scim", False, None, None)]),
    ("SCIM committed: yes (Q2)", [("scim", True, Q2, None)]),
    ("Deal desk: SCIM commitment for Q2 rejected", [("scim", False, None, None)]),
    ("SCIM q1 commitment from prev AE withdrawn", [("scim", False, None, None)]),
    ("Need to promise SCIM by Q1 to win this", [("scim", False, None, None)]),
    ("We should promise scim by q1", [("scim", False, None, None)]),
    ("Might need to commit SCIM by Q1 to close.", [("scim", False, None, None)]),
    ("We need to deliver SCIM by Q1.", [("scim", True, Q1, None)]),
    ("SCIM was promised by competitor for Q1.", [("scim", False, None, None)]),
    ("SCIM was promised by our AE for Q1.", [("scim", True, Q1, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), SECOND_PROBE, ids=[c[0] for c in SECOND_PROBE])
def test_second_probe_readings(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a contract's clause pasted into a note read backwards: "SOW: Vendor shall deliver SCIM
# provisioning by March 31, 2027" was another company's word ("vendor" as a third party: a
# missed block), "Customer shall configure the audit log by Q1" our promise (a false block).
CONTRACT_CLAUSES = [
    ("SOW: Vendor shall deliver SCIM provisioning by March 31, 2027.", [("scim", True, Q1, None)]),
    ("The vendor shall deliver SSO by Q1.", [("sso", True, Q1, None)]),
    ("SOW: Customer shall enable SCIM provisioning by March 31, 2027.", [
        ("scim", False, None, None)]),
    ("Customer shall configure the audit log by Q1.", [("audit", False, None, None)]),
    ("Their current vendor promised SCIM by Q1.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), CONTRACT_CLAUSES, ids=[c[0] for c in CONTRACT_CLAUSES]
)
def test_a_pasted_contract_clause_names_us_the_vendor(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our side's answer named by its role ("Customer asked about SCIM timeline. Rep
# committed to Q2 delivery.", "The AE committed to Q2.", "Our rep promised Q2.") was no answer:
# only "we" and "I" answered (missed blocks). A word of the feature's coming after the date
# ("Q2 delivery") still leaves the date alone.
ROLE_ANSWERS = [
    ("Gong summary: Customer asked about SCIM timeline. Rep committed to Q2 delivery.", [
        ("scim", True, Q2, None)]),
    ("Customer asked about SCIM. The AE committed to Q2.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? Our rep promised Q2.", [("scim", True, Q2, None)]),
    ("When will SCIM ship? Told them Q2 delivery.", [("scim", True, Q2, None)]),
    ("They asked about SCIM. Rep committed to a demo.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), ROLE_ANSWERS, ids=[c[0] for c in ROLE_ANSWERS])
def test_our_side_named_by_its_role_answers(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a yes made firm after it ("Can you commit to SCIM by Q1? Yes we can, committed.",
# also under a quoted '>' question, "Yes it will, committed.") was more than a yes: nothing
# (missed blocks), while "Yes, confirmed." was our promise. A condition after it still is none.
YES_MADE_FIRM = [
    ("> Can you commit to SCIM by Q1?\nYes we can, committed.", [("scim", True, Q1, None)]),
    ("Can you commit to SCIM by Q1? Yes we can, committed.", [("scim", True, Q1, None)]),
    ("Will SCIM be ready by Q1? Yes it will, committed.", [("scim", True, Q1, None)]),
    ("Will SCIM be ready by Q1? Yes it will, committed for Q2.", [("scim", True, Q2, None)]),
    ("Will SCIM be ready by Q1? Yes we can, if they sign.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), YES_MADE_FIRM, ids=[c[0] for c in YES_MADE_FIRM])
def test_a_yes_made_firm_after_it(body: str, expected: list) -> None:
    assert readings(body) == expected
