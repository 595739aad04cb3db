"""Round 25, from realistic sales notes: the customer's decision, success and evaluation
criteria (their need, as "Requirements:" is); "SCIM will follow in Q2", "will come in Q2";
"we'd have" as "we would have" after our word of telling; a remedy agreed if the feature
is not there by a date. Each table says what was read before and why it was wrong."""

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


# Before: "Success criteria: SCIM by Q2" was our promise by Q2 (a false block: the criteria
# are the customer's), and "Decision criteria: SCIM by Q2" nothing at all ("decision" read as
# the sale's date). Their criteria are their need, with its date.
CRITERIA = [
    ("Decision criteria: SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Success criteria: SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Evaluation criteria: SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Criteria: SCIM by Q2.", [("scim", False, None, Q2)]),
    ("Buying criteria: SSO, SCIM by Q1", [("sso", False, None, Q1), ("scim", False, None, Q1)]),
    ("Decision criteria:\n- SCIM by Q2\n- Audit log", [
        ("scim", False, None, Q2), ("audit", False, None, None)]),
    ("The decision maker needs SCIM by Q1.", [("scim", False, None, Q1)]),
    # the sale's decision stays the sale's, and our promise after their criteria ours
    ("Decision by Q2 on SCIM.", [("scim", False, None, None)]),
    ("Decision criteria: SCIM, SSO. We will have SCIM by Q2.", [
        ("scim", True, Q2, None), ("sso", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), CRITERIA, ids=[c[0] for c in CRITERIA])
def test_the_customers_criteria_are_their_need(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "SCIM will follow in Q2" and "SCIM will come in Q2" promised nothing, while "SCIM
# is coming in Q2" and "SCIM lands in Q2" were promises: missed blocks. A follow-up stays the
# sale's.
FOLLOWS = [
    ("SSO is live; SCIM will follow in Q2.", [("sso", False, None, None), ("scim", True, Q2, None)]),
    ("SCIM to follow in Q2.", [("scim", True, Q2, None)]),
    ("SCIM will come in Q2.", [("scim", True, Q2, None)]),
    ("SCIM will follow by Q2.", [("scim", True, Q2, None)]),
    ("SCIM follows in Q2.", [("scim", True, Q2, None)]),
    ("We will follow up in Q2 about SCIM.", [("scim", False, None, None)]),
    ("They will come in Q2 to see SCIM.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), FOLLOWS, ids=[c[0] for c in FOLLOWS])
def test_a_feature_that_will_follow_by_a_date_is_promised(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "we'd have" was no reported promise where "we would have" was: "Told them we'd have
# SCIM" and "They need SCIM by Q2; told them we'd have it" promised nothing (missed blocks).
# As "would", it is ours only after our word of telling.
SHORT_WOULD = [
    ("Told them we'd have SCIM.", [("scim", True, None, None)]),
    ("Told them we'd have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Told them we\u2019d have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("They need SCIM by Q2; told them we'd have it.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. Told them we'd have it.", [("scim", True, Q2, Q2)]),
    ("cust wants scim by q2, told them we'd have it", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2, said we'd have it.", [("scim", True, Q2, Q2)]),
    ("Told them SCIM'd be ready by Q2.", [("scim", True, Q2, None)]),
    # no word of telling, or theirs
    ("They need SCIM by Q2, we'd have it.", [("scim", False, None, Q2)]),
    ("They said they'd have SCIM by Q2 from Okta.", [("scim", False, None, None)]),
    ("I'd have to check on SCIM.", [("scim", False, None, None)]),
    ("They'd have to build SCIM themselves.", [("scim", False, None, None)]),
    ("We'd love SCIM.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), SHORT_WOULD, ids=[c[0] for c in SHORT_WOULD])
def test_we_d_have_is_we_would_have(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a remedy agreed for a feature not there by its date ("Termination right if SCIM
# isn't live by June 30", "Credit if the audit log is not delivered by March") promised
# nothing, while "... if SCIM misses Q2" did: missed blocks (the date is in the contract).
# Without an agreed remedy it is no promise ("If SCIM isn't live by June 30 we lose the
# deal"), and "SCIM isn't live by June 30" alone now says it is not there rather than
# promising it by then.
NOT_THERE_BY = [
    ("Termination right if SCIM isn't live by June 30.", [("scim", True, Q2, None)]),
    ("Credit if audit log not delivered by March.", [("audit", True, MARCH, None)]),
    ("Credit if the audit log is not delivered by March.", [("audit", True, MARCH, None)]),
    ("10% discount if SCIM is not available by Q2.", [("scim", True, Q2, None)]),
    ("They can terminate if SCIM is not GA by Q2.", [("scim", True, Q2, None)]),
    ("If SCIM isn't live by June 30 we lose the deal.", [("scim", False, None, None)]),
    ("No penalty if SCIM is not delivered by Q2.", [("scim", False, None, None)]),
    ("They want an exit clause if SCIM isn't live by Q2.", [("scim", False, None, None)]),
    ("SCIM not live in Q1; refund requested for the pilot.", [("scim", False, None, None)]),
    ("SCIM isn't live by June 30.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), NOT_THERE_BY, ids=[c[0] for c in NOT_THERE_BY])
def test_a_remedy_if_the_feature_is_not_there_by_a_date_is_a_promise(
    body: str, expected: list
) -> None:
    assert readings(body) == expected


def hedged(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key or r.feature_name, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# Before: a transcript's answer labelled "Seller:" (call recorders' word for our side) was
# nobody's ("Buyer: Will SCIM be ready by Q2? Seller: Yes, it will." promised nothing: a
# missed block), while "Rep:" and "Tom (AE):" were ours. "Buyer:" stays theirs.
SELLER = [
    ("Buyer asked for SCIM. Seller: Q2.", [("scim", True, Q2, None)]),
    ("Buyer: Will SCIM be ready by Q2? Seller: Yes, it will.", [("scim", True, Q2, None)]),
    ("Buyer: We need SCIM by Q2.\nSeller: yes, we can.", [("scim", True, Q2, Q2)]),
    ("Will SCIM be ready by Q2? The seller: yes.", [("scim", True, Q2, None)]),
    ("They asked when SCIM ships. Seller - Q2.", [("scim", True, Q2, None)]),
    ("Buyer: Do you have SCIM? Seller: No.", [("scim", False, None, None)]),
    ("Seller: We need to check SCIM.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), SELLER, ids=[c[0] for c in SELLER])
def test_the_seller_label_is_our_side(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "SCIM is coming Q2" (no "in") promised nothing where "coming in Q2" did, and "per
# roadmap" (no "the") did not hedge as "per the roadmap" does.
COMING = [
    ("Gong: rep said SCIM is coming Q2.", [("scim", True, Q2, False)]),
    ("SCIM coming Q2.", [("scim", True, Q2, False)]),
    ("SCIM coming in Q2 per roadmap.", [("scim", True, Q2, True)]),
    ("Per roadmap, SCIM ships in Q2.", [("scim", True, Q2, True)]),
    ("They are coming Q2 to visit; SCIM demo then.", [("scim", False, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), COMING, ids=[c[0] for c in COMING])
def test_coming_with_a_quarter_and_per_roadmap(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: a bare month naming their milestone ("for their April rollout", "before the March
# renewal") was no date (a bare month needs a date word before it), so the need had no date
# and our promise for it none either ("We will have SCIM for their April rollout": a block
# with no date to check).
APRIL = date(2027, 4, 30)
MILESTONE_MONTH = [
    ("Need SCIM for their April rollout.", [("scim", False, None, APRIL)]),
    ("SCIM needed for the April rollout.", [("scim", False, None, APRIL)]),
    ("SCIM required before the March renewal.", [("scim", False, None, MARCH)]),
    ("We will have SCIM for their April rollout.", [("scim", True, APRIL, None)]),
    ("We may launch SCIM.", [("scim", False, None, None)]),
    ("They need SCIM; May launch is theirs.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), MILESTONE_MONTH, ids=[c[0] for c in MILESTONE_MONTH])
def test_a_month_naming_their_milestone_is_its_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a commitment the customer asks for was our commitment ("Legal wants a commitment on
# SCIM", "They want SCIM committed in the contract": false blocks with no date, a block on a
# coming-soon feature). An ask of theirs is no promise; ours after it still is.
ASKED_TO_COMMIT = [
    ("Legal wants a commitment on SCIM.", [("scim", False, None, None)]),
    ("They want SCIM committed in the contract.", [("scim", False, None, None)]),
    ("Paper process: legal wants SCIM commitment in writing.", [("scim", False, None, None)]),
    ("They want SCIM guaranteed by Q2.", [("scim", False, None, Q2)]),
    ("Their lawyer asked for a SCIM guarantee.", [("scim", False, None, None)]),
    ("We want to commit to SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Wanted to confirm: we committed to SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Legal wants SCIM committed by Q2 and we agreed.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), ASKED_TO_COMMIT, ids=[c[0] for c in ASKED_TO_COMMIT])
def test_a_commitment_they_ask_for_is_not_given(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a dated promise judged out of reach was a promise ("SCIM by Q2 is not realistic",
# "... is unrealistic", "... isn't realistic": false blocks), and "a stretch" said it firmly.
OUT_OF_REACH = [
    ("SCIM by Q2 is not realistic.", [("scim", False, None, False)]),
    ("SCIM by Q2 is unrealistic.", [("scim", False, None, False)]),
    ("SCIM by Q2 isn't realistic.", [("scim", False, None, False)]),
    ("SCIM by Q2 is unlikely.", [("scim", False, None, False)]),
    ("SCIM by Q2 is not possible.", [("scim", False, None, False)]),
    ("SCIM by Q2 is not happening.", [("scim", False, None, False)]),
    ("SCIM by Q2 is a stretch.", [("scim", True, Q2, True)]),
    ("SCIM by Q2 is realistic.", [("scim", True, Q2, False)]),
    ("We will have SCIM by Q2, which is not impossible.", [("scim", True, Q2, False)]),
    ("Offline mode is off the table.", []),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), OUT_OF_REACH, ids=[c[0] for c in OUT_OF_REACH])
def test_a_date_judged_out_of_reach_is_no_promise(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: "We can deliver SCIM in Q2" promised nothing ("We can have SCIM by Q2" did, through
# "by"): a missed block. "can" with a delivery verb is ours with a date in the clause and the
# feature (or "it") right after the verb; without a date it stays a capability.
CAN_DELIVER = [
    ("We can deliver SCIM in Q2.", [("scim", True, Q2, None)]),
    ("We can ship SCIM in Q2.", [("scim", True, Q2, None)]),
    ("We can absolutely deliver SCIM by Q2.", [("scim", True, Q2, None)]),
    ("They asked about SCIM; we can deliver it in Q2.", [("scim", True, Q2, None)]),
    ("We can deliver SCIM.", [("scim", False, None, None)]),
    ("We can deliver SCIM, but not by Q1.", [("scim", False, None, None)]),
    ("We can deliver the proposal in Q2; SCIM discussed.", [("scim", False, None, None)]),
    ("We can't deliver SCIM in Q2.", [("scim", False, None, None)]),
    ("They can deliver SCIM in Q2 themselves.", [("scim", False, None, None)]),
    ("Can we deliver SCIM in Q2?", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), CAN_DELIVER, ids=[c[0] for c in CAN_DELIVER])
def test_we_can_deliver_with_a_date_is_a_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: an e-mail's answer to their question of our product ("Replied yes.", "Wrote back
# Q2.", "We answered: Q3.") was nobody's; "Told them yes." was ours. "We said: Q3" (a colon)
# was missed too.
REPLIED = [
    ('Email from Jane (CISO): "Can you confirm SCIM will be live by March?" Replied yes.',
     [("scim", True, MARCH, None)]),
    ("Will SCIM be ready by Q2? Replied yes.", [("scim", True, Q2, None)]),
    ("Will SCIM be ready by Q2? We answered: Q3.", [("scim", True, Q3, None)]),
    ("Will SCIM be ready by Q2? We said: Q3.", [("scim", True, Q3, None)]),
    ("When will SCIM ship? Wrote back Q2.", [("scim", True, Q2, None)]),
    ("They asked if SCIM is ready. Replied no.", [("scim", False, None, None)]),
    ("Do they need SSO? Replied yes.", [("sso", False, None, None)]),
    ("Will SCIM be ready by Q2? Replied that we would check.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), REPLIED, ids=[c[0] for c in REPLIED])
def test_a_reply_answers_their_question(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: a promise waiting for our own approval was a promise made ("Awaiting approval to
# commit to SCIM by Q2", "Need approval before promising SCIM", "SCIM commitment pending
# product sign-off": false blocks); a commitment declined was a commitment ("Product declined
# the SCIM Q2 commitment"); "Feature requests: SCIM by Q2" was our promise, not their request.
NOT_MADE_YET = [
    ("Awaiting approval to commit to SCIM by Q2.", [("scim", False, None, None)]),
    ("Requested approval to promise SCIM by Q2.", [("scim", False, None, None)]),
    ("Need approval before promising SCIM.", [("scim", False, None, None)]),
    ("We need product sign-off to commit to SCIM by Q2.", [("scim", False, None, None)]),
    ("Open item - SCIM commitment pending product sign-off.", [("scim", False, None, None)]),
    ("SCIM commitment is still pending.", [("scim", False, None, None)]),
    ("Product declined the SCIM Q2 commitment.", [("scim", False, None, None)]),
    ("They rejected the promise of SCIM by Q2.", [("scim", False, None, None)]),
    ("Feature requests: SCIM by Q2.", [("scim", False, None, Q2)]),
    # made: after the approval, or with a condition of the contract's
    ("Got approval and committed to SCIM by Q2.", [("scim", True, Q2, None)]),
    ("We committed to SCIM by Q2, pending legal review of the MSA.", [("scim", True, Q2, None)]),
    ("They need approval from their CFO; we will have SCIM by Q2.", [("scim", True, Q2, None)]),
    ("Declined pricing changes; committed to SCIM by Q2.", [("scim", True, Q2, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), NOT_MADE_YET, ids=[c[0] for c in NOT_MADE_YET])
def test_a_promise_awaiting_approval_or_declined_is_not_made(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our yes to their dated need or question with no subject of ours ("No problem.",
# "That works for us.", "Doable.", "Can do.") or "We can do that." was nobody's ("We agreed."
# and "I said no problem." were ours): missed blocks.
AGREED = [
    ("They need SCIM by Q2. We can do that.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. We can make that work.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. That works for us.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. No problem.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. Not a problem.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. Doable.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2. Can do.", [("scim", True, Q2, Q2)]),
    ("They need SCIM by Q2; that works for us.", [("scim", True, Q2, Q2)]),
    ("Will SCIM be ready by Q2? No problem.", [("scim", True, Q2, None)]),
    # no date to agree to, or more than our yes
    ("They need SCIM. No problem.", [("scim", False, None, None)]),
    ("They asked about SCIM. No problem.", [("scim", False, None, None)]),
    ("They need SCIM by Q2. No problem with SSO though.", [
        ("scim", False, None, Q2), ("sso", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), AGREED, ids=[c[0] for c in AGREED])
def test_our_yes_with_no_subject_agrees_to_their_date(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: "OK" was no yes ("Them: need SCIM by Q2 / Us: ok" was nobody's word), and a speaker
# labelled with our company before the role ("Speaker 2 (Acme AE):") was nobody's side.
OK_AND_COMPANY_ROLE = [
    ("Them: need SCIM by Q2\nUs: ok", [("scim", True, Q2, Q2)]),
    ("Will SCIM be ready by Q2? Told them ok.", [("scim", True, Q2, None)]),
    ("Speaker 1 (Customer): Do you support SCIM today?\nSpeaker 2 (Acme AE): Yes, by Q2.",
     [("scim", True, Q2, None)]),
    # an acknowledgement with more after it is no yes
    ("Will SCIM be ready by Q2? OK, will check with product.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "expected"), OK_AND_COMPANY_ROLE, ids=[c[0] for c in OK_AND_COMPANY_ROLE]
)
def test_ok_is_a_yes_and_our_company_labels_our_side(body: str, expected: list) -> None:
    assert readings(body) == expected


# Before: our opinion of the date ("I think SCIM will be ready by Q2", "We believe SCIM ships
# in Q2") was recorded as a firm promise; it is a hedged one, as "should be ready" is. Theirs
# stays theirs, and "I think" about something else hedges nothing.
OPINION = [
    ("I think SCIM will be ready by Q2.", [("scim", True, Q2, True)]),
    ("I believe SCIM will be ready by Q2.", [("scim", True, Q2, True)]),
    ("Told them I think SCIM will be ready by Q2.", [("scim", True, Q2, True)]),
    ("We believe SCIM ships in Q2.", [("scim", True, Q2, True)]),
    ("I guess we will have SCIM by Q2.", [("scim", True, Q2, True)]),
    ("We will have SCIM by Q2, I think they will sign.", [("scim", True, Q2, False)]),
    ("They think SCIM will be ready by Q2.", [("scim", False, None, False)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), OPINION, ids=[c[0] for c in OPINION])
def test_our_opinion_of_the_date_is_a_hedged_promise(body: str, expected: list) -> None:
    assert hedged(body) == expected


# Before: "Told customer SCIM in Q2" (no article, as notes are written) promised nothing, while
# "Told the customer SCIM in Q2" did: a missed block. Our own customer success team is not the
# customer.
TOLD_CUSTOMER = [
    ("Told customer SCIM in Q2.", [("scim", True, Q2, None)]),
    ("Told client SCIM for Q2.", [("scim", True, Q2, None)]),
    ("Told cust SCIM in Q2.", [("scim", True, Q2, None)]),
    ("Let customer know SCIM in March.", [("scim", True, MARCH, None)]),
    ("Told customer success SCIM in Q2.", [("scim", False, None, None)]),
    ("Told customer about SCIM in Q1.", [("scim", False, None, None)]),
]  # fmt: skip


@pytest.mark.parametrize(("body", "expected"), TOLD_CUSTOMER, ids=[c[0] for c in TOLD_CUSTOMER])
def test_told_customer_without_an_article_is_our_word(body: str, expected: list) -> None:
    assert readings(body) == expected
