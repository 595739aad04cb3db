"""Round 20 of the notes helper: a second, later promise of a feature in the same note was
dropped ("We promised SSO by March 2027. We promised SSO by June 2027."), ... (one table per
fix, with the close phrasings that stay)."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.catalog import Catalog
from app.rules.engine import StoredRule, evaluate
from app.rules.model import ApprovalGrant, VerdictStatus
from app.rules.references import find_references

from .conftest import TODAY, make_deal
from .test_notes_round7 import Q1, Q2, readings  # the same reading of each reference
from .test_notes_round8 import Q3
from .test_sales_language import CATALOG

MARCH = date(2027, 3, 31)
JUNE = date(2027, 6, 30)
Q3_2027 = date(2027, 9, 30)

# Two promises of a feature in one note, as firm as each other: the one reference the note
# gives the feature kept the first date only, so an approval of "promised by March" lifted the
# block though the note also promised June (the same sentences in two notes gave both). The
# later date is kept: an approval of it covers the earlier one too (`engine._grant_for`).
LATER_PROMISE_KEPT = [
    (
        "We promised SSO by March 2027. We promised SSO by June 2027.",
        [("sso", True, JUNE, None, False)],
    ),
    (
        "We promised SSO by March 2027.\nWe promised SSO by June 2027.",
        [("sso", True, JUNE, None, False)],
    ),
    ("We promised SSO by Q1. Told them SSO by Q2.", [("sso", True, Q2, None, False)]),
    ("We promised SSO by Q1. We will have SSO by Q3.", [("sso", True, Q3, None, False)]),
    (
        "What we promised:\n- SSO - Q1\n- SCIM - Q2\n- SSO - Q3",
        [("sso", True, Q3, None, False), ("scim", True, Q2, None, False)],
    ),
    # ... what stays: the later one first, or the same date
    (
        "We promised SSO by June 2027. We promised SSO by March 2027.",
        [("sso", True, JUNE, None, False)],
    ),
    ("We promised SSO by Q2. We promised SSO by Q2.", [("sso", True, Q2, None, False)]),
    # ... a promise over no promise, a firm promise over a hedged later one (`hedged` apart)
    ("They need SSO by Q3. We promised SSO by Q1.", [("sso", True, Q1, None, False)]),
    ("We promised SSO by Q1. We might have SSO by Q3.", [("sso", True, Q1, None, False)]),
    ("We promised SSO by Q1. SSO by Q3?", [("sso", True, Q1, None, False)]),
    # ... the customer's two dates: the first, as before
    ("They need SSO by Q1. They need SSO by Q3.", [("sso", False, None, Q1, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), LATER_PROMISE_KEPT, ids=[c[0][:60] for c in LATER_PROMISE_KEPT]
)
def test_a_later_promise_of_a_feature_in_the_same_note_is_kept(body: str, expected: list) -> None:
    assert readings(body) == expected


@pytest.mark.parametrize(("approved_for", "lifted"), [(Q3, False), (date(2027, 12, 31), True)])
def test_an_approval_of_the_earlier_promise_does_not_cover_the_later(
    catalog: Catalog, default_rules: list[StoredRule], approved_for: date, lifted: bool
) -> None:
    deal = make_deal("We promised SCIM by Q3 2027. We promised SCIM by Q4 2027.")
    grant = ApprovalGrant(id=1, feature_key="scim", approver="a", promised_date=approved_for)
    result = evaluate(deal, catalog, default_rules, approvals=[grant], today=TODAY)
    (f,) = [f for f in result.findings if f.rule_id == "promised-past-target"]
    assert f.approved is lifted
    assert result.status == (VerdictStatus.warning if lifted else VerdictStatus.blocked)


def hedged_readings(body: str) -> list[tuple]:
    """(feature, is_commitment, promised_date, hedged) per reference."""
    return [
        (r.feature_key, r.is_commitment, r.promised_date, r.hedged)
        for r in find_references(make_deal(body), CATALOG, today=TODAY)
    ]


# The roadmap's plan relayed ("SSO is planned for Q3 2027", "is on the roadmap for", "is
# scheduled for") is hedged, as "is targeted for" already was: still a commitment (the customer
# heard the date), marked `hedged` for rules that treat it apart. Each was a firm promise.
# Only of a feature named right before it: not "the demo is scheduled for Monday".
PLAN_RELAYED_HEDGED = [
    ("We told them SSO is planned for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("We told them SSO is on the roadmap for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("We told them SSO is scheduled for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("Told them SSO is planned for Q3", [("sso", True, Q3, True)]),
    ("SSO is planned for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("SSO is on our roadmap for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("SSO's planned for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("SSO\u2019s on the roadmap for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("SSO support is planned for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("SCIM is scheduled for Q2", [("scim", True, Q2, True)]),
    ("What we told them:\n- SSO is planned for Q3", [("sso", True, Q3, True)]),
    (
        "SSO and SCIM are planned for Q3 2027.",
        [("sso", True, Q3_2027, True), ("scim", True, Q3_2027, True)],
    ),
    # ... a promise word with it stays a commitment, hedged as with "is targeted for"
    ("We promised SSO is planned for Q3 2027.", [("sso", True, Q3_2027, True)]),
    ("We promised SSO is targeted for Q3 2027.", [("sso", True, Q3_2027, True)]),
    # ... what stays
    ("We told them SSO is targeted for Q3 2027.", [("sso", True, Q3_2027, True)]),
    (
        "We told them SSO is planned for Q3 2027 and SCIM is promised by Q2.",
        [("sso", True, Q3_2027, True), ("scim", True, Q2, False)],
    ),
    ("We have SSO planned for March", [("sso", True, Q1, False)]),
    # "per the roadmap" relays the roadmap: hedged since round 24
    ("SCIM planned for Q2 per the roadmap.", [("scim", True, Q2, True)]),
    ("SCIM is scheduled to ship in Q2.", [("scim", True, Q2, False)]),
    ("SSO is not planned for Q3 2027.", [("sso", False, None, False)]),
    ("We will have SSO by Q2 and the demo is scheduled for Monday.", [("sso", True, Q2, False)]),
    ("We will have SSO by Q2, the demo's scheduled for Monday.", [("sso", True, Q2, False)]),
    ("We promised SSO by Q2 - kickoff is planned for May.", [("sso", True, Q2, False)]),
    ("Their go-live is planned for Q2, SCIM required", [("scim", False, None, False)]),
    ("SSO is on the roadmap.", [("sso", False, None, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), PLAN_RELAYED_HEDGED, ids=[c[0][:60] for c in PLAN_RELAYED_HEDGED]
)
def test_the_roadmaps_plan_relayed_is_hedged(body: str, expected: list) -> None:
    assert hedged_readings(body) == expected


# Our shipping with "still" or "already" before it ("We are still shipping SCIM in Q2", "We
# will still ship SCIM in Q2") is our promise, as "We are shipping SCIM in Q2" and "We will
# definitely ship SCIM in Q2" are: each read plain (no commitment, no block).
STILL_SHIPPING_OURS = [
    ("We are still shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We are already shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will still ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We're still shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We\u2019re already shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We are still delivering SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We will already have SCIM by Q2", [("scim", True, Q2, None, False)]),
    ("We'll still ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    # ... with no date, as "We are shipping SCIM" (a commitment with no date)
    ("We are still shipping SCIM", [("scim", True, None, None, False)]),
    # ... what stays
    ("We are shipping SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("We are shipping SCIM", [("scim", True, None, None, False)]),
    ("We will ship SCIM in Q2", [("scim", True, Q2, None, False)]),
    ("SCIM will still ship in Q2", [("scim", True, Q2, None, False)]),
    ("We are not still shipping SCIM in Q2", [("scim", False, None, None, False)]),
    ("We won't still ship SCIM in Q2", [("scim", False, None, None, False)]),
    ("They are still shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They are already shipping in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
    ("They will still ship their app in Q2 and need SCIM", [("scim", False, None, Q2, False)]),
]


@pytest.mark.parametrize(
    ("body", "expected"), STILL_SHIPPING_OURS, ids=[c[0][:60] for c in STILL_SHIPPING_OURS]
)
def test_our_shipping_with_still_or_already_is_our_promise(body: str, expected: list) -> None:
    assert readings(body) == expected


# "not" before a feature's date cue ("SSO not by Q1") denies only its part, as "no" does ("No
# SSO by Q1, SCIM by Q2"): a feature named after ", " or " and " keeps its reading. SCIM read
# plain in each.
NOT_BY_DATE_PART_ONLY = [
    (
        "SSO not by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not by Q1 and SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO is not by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not before Q3, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SSO not next quarter, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "- SCIM: not by Q1, SSO by Q2",
        [("scim", False, None, None, False), ("sso", True, Q2, None, False)],
    ),
    # ... what stays
    ("SSO not by Q1", [("sso", False, None, None, False)]),
    (
        "SSO not by Q1; SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "SCIM by Q2, SSO not by Q1",
        [("scim", True, Q2, None, False), ("sso", False, None, None, False)],
    ),
    (
        "SSO and SCIM not by Q1",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    (
        "SSO not by Q1, SCIM",
        [("sso", False, None, None, False), ("scim", False, None, None, False)],
    ),
    ("We promised SCIM by Q1, not by Q3", [("scim", True, Q1, None, False)]),
    (
        "No SSO by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "We will have no SSO in Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", True, Q2, None, False)],
    ),
    (
        "Requirements:\n- SSO not by Q1, SCIM by Q2",
        [("sso", False, None, None, False), ("scim", False, None, Q2, False)],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), NOT_BY_DATE_PART_ONLY, ids=[c[0][:60] for c in NOT_BY_DATE_PART_ONLY]
)
def test_not_before_a_date_denies_only_its_part(body: str, expected: list) -> None:
    assert readings(body) == expected
