"""Promise language the first reading missed: denied promises, and promises of things the
roadmap does not name and the product vocabulary does not cover."""

from __future__ import annotations

from datetime import date

import pytest

from app.rules.catalog import Catalog
from app.rules.references import find_references

from .conftest import TODAY, make_deal

# (note, [(feature_key, is_commitment, is_question, custom_build, promised_date)])
DENIED = [
    ("We did not promise SCIM provisioning.", [("scim", False, False, False, None)]),
    ("We didn't commit to SCIM.", [("scim", False, False, False, None)]),
    (
        "We can't commit to SCIM provisioning by January.",
        [("scim", False, False, False, None)],
    ),
    ("I told them we never promised SCIM provisioning.", [("scim", False, False, False, None)]),
    ("No promises were made about SCIM provisioning.", [("scim", False, False, False, None)]),
    ("We won't guarantee the audit trail by Q3.", [("audit", False, False, False, None)]),
    ("SCIM is not committed for Q3.", [("scim", False, False, False, None)]),
    ("We haven't promised SCIM provisioning.", [("scim", False, False, False, None)]),
    ("We hadn't promised SCIM.", [("scim", False, False, False, None)]),
    ("We havent promised SCIM.", [("scim", False, False, False, None)]),
    ("We never once promised SCIM.", [("scim", False, False, False, None)]),
    ("we never committed to SCIM.", [("scim", False, False, False, None)]),
    ("SCIM isn't committed for Q3.", [("scim", False, False, False, None)]),
    ("SCIM hasn't been committed for Q3.", [("scim", False, False, False, None)]),
    ("SCIM wasn\u2019t guaranteed for Q3.", [("scim", False, False, False, None)]),
    ("We are not in a position to commit to SCIM.", [("scim", False, False, False, None)]),
    ("We are not able to promise SCIM by Q1.", [("scim", False, False, False, None)]),
    ("We're unwilling to commit to SCIM by Q1.", [("scim", False, False, False, None)]),
    ("We won't be able to commit to SCIM by Q1.", [("scim", False, False, False, None)]),
    # a delivery said not to happen
    ("SCIM won't ship in Q1.", [("scim", False, False, False, None)]),
    ("SCIM will not ship by Q1.", [("scim", False, False, False, None)]),
    ("SCIM isn't going to ship by Q1.", [("scim", False, False, False, None)]),
    ("SCIM won't be ready by Q1.", [("scim", False, False, False, None)]),
    ("We can't deliver SCIM by Q1.", [("scim", False, False, False, None)]),
    ("We will not have SCIM by Q1.", [("scim", False, False, False, None)]),
    ("SCIM is not something we will build by Q1.", [("scim", False, False, False, None)]),
    ("SCIM isn't something we'll have by Q2.", [("scim", False, False, False, None)]),
    ("SCIM is nothing we can promise.", [("scim", False, False, False, None)]),
    # a disclaimer after the promise takes it back, unless it names something of its own
    ("We will have SCIM by Q3 but can't guarantee it.", [("scim", False, False, False, None)]),
    ("SCIM lands in Q3, but we can't promise that.", [("scim", False, False, False, None)]),
    ("Told them SCIM by Q3, though not guaranteed.", [("scim", False, False, False, None)]),
    (
        "Told them SCIM ships in Q3 but that is not a commitment.",
        [("scim", False, False, False, None)],
    ),
    # ... or in a sentence of its own right after it
    ("We will have SCIM by Q3. Can't guarantee it though.", [("scim", False, False, False, None)]),
    ("Told them SCIM lands in Q3. Not a commitment.", [("scim", False, False, False, None)]),
    ("SCIM by Q3. No promises.", [("scim", False, False, False, None)]),
    ("We'll build them a custom connector. No promises.", []),
    (
        "We will have SCIM by Q3. No promises on the audit trail.",
        [("scim", True, False, False, date(2027, 9, 30)), ("audit", False, False, False, None)],
    ),
    (
        "We'll have SCIM by Q3 but we can't build a Slack connector.",
        [("scim", True, False, False, date(2027, 9, 30))],
    ),
    (
        "We'll have SCIM by Q3, but we can't promise the audit log.",
        [("scim", True, False, False, date(2027, 9, 30)), ("audit", False, False, False, None)],
    ),
    # the denial stays in its clause
    (
        "We did not promise SSO but we will have SCIM by Q3.",
        [("sso", False, False, False, None), ("scim", True, False, False, date(2027, 9, 30))],
    ),
    # ... and a later clause may promise it again, with its own date
    (
        "We can't deliver SCIM by Q1 but we will have it by Q2",
        [("scim", True, False, False, date(2027, 6, 30))],
    ),
    (
        "We can\u2019t deliver SCIM by Q1, however we will have it by Q2.",
        [("scim", True, False, False, date(2027, 6, 30))],
    ),
    (
        "We cannot ship the audit trail in Q1 however we'll deliver it by Q3.",
        [("audit", True, False, False, date(2027, 9, 30))],
    ),
    (
        "We can't deliver SCIM by Q1 though we will have it by Q2",
        [("scim", True, False, False, date(2027, 6, 30))],
    ),
    (
        "SSO won’t ship in Q1, though we’ll have it by Q2.",
        [("sso", True, False, False, date(2027, 6, 30))],
    ),
    (
        "We won't have SSO by Q1; we'll have it by Q2.",
        [("sso", True, False, False, date(2027, 6, 30))],
    ),
    ("We did not promise SCIM but we will build it.", [("scim", True, False, False, None)]),
    (
        "We can't deliver SCIM by Q1, we promised them a discount instead.",
        [("scim", False, False, False, None)],
    ),
    ("We can't commit to SCIM by Q1 but we'll try.", [("scim", False, False, False, None)]),
    # the denied clause's date is no promised date of a promise in another clause
    ("We can't deliver SCIM by Q1 but we will build it.", [("scim", True, False, False, None)]),
    # a date denied: "not by Q1" (a bullet's value, or a clause of its own)
    ("- SCIM: not by Q1", [("scim", False, False, False, None)]),
    ("\u2022 SCIM \u2013 not by Q1", [("scim", False, False, False, None)]),
    ("SCIM: not before Q3", [("scim", False, False, False, None)]),
    ("SCIM not by Q1.", [("scim", False, False, False, None)]),
    ("Audit trail: not next quarter.", [("audit", False, False, False, None)]),
    ("We can deliver SCIM, but not by Q1.", [("scim", False, False, False, None)]),
    ("We'll have SCIM, but not by Q1.", [("scim", True, False, False, None)]),
    ("SCIM: not by Q1, but by Q2.", [("scim", True, False, False, date(2027, 6, 30))]),
    # a negation in another comma-joined clause does not take the promise back
    ("They can't have downtime, we promised SCIM", [("scim", True, False, False, None)]),
    ("They can\u2019t have downtime, we promised SSO.", [("sso", True, False, False, None)]),
    (
        "They don't want downtime, we committed to the audit trail by Q2.",
        [("audit", True, False, False, date(2027, 6, 30))],
    ),
    (
        "They don't need SSO, we'll have SCIM by Q3.",
        [("scim", True, False, False, date(2027, 9, 30))],
    ),
    # not a denial
    ("We promised SCIM by Q3, not later.", [("scim", True, False, False, date(2027, 9, 30))]),
    ("We promised SCIM by Q1, not by Q3.", [("scim", True, False, False, date(2027, 3, 31))]),
    ("SCIM by Q1, not next quarter.", [("scim", True, False, False, date(2027, 3, 31))]),
    (
        "We don't ship on-prem, SCIM is promised by Q3.",
        [("scim", True, False, False, date(2027, 9, 30))],
    ),
    (
        "Our current commitment is SCIM by Q3.",
        [("scim", True, False, False, date(2027, 9, 30))],
    ),
    (
        "A significant commitment: SCIM by Q3.",
        [("scim", True, False, False, date(2027, 9, 30))],
    ),
]


@pytest.mark.parametrize(("body", "expected"), DENIED, ids=[c[0][:40] for c in DENIED])
def test_a_denied_promise_is_a_dependency_not_a_commitment(
    catalog: Catalog, body: str, expected: list[tuple]
) -> None:
    refs = find_references(make_deal(body), catalog, today=TODAY)
    got = [
        (r.feature_key, r.is_commitment, r.is_question, r.custom_build, r.promised_date)
        for r in refs
    ]
    assert got == expected


Q2, Q3 = date(2027, 6, 30), date(2027, 9, 30)
# The next sentence promising "it", "this" or "that": the one feature the sentence before names.
# (note, [(feature_key, is_commitment, is_question, custom_build, promised_date)])
ACROSS_SENTENCES = [
    (
        "We can't deliver SCIM by Q1. However, we will have it by Q2.",
        [("scim", True, False, False, Q2)],
    ),
    (
        "SCIM won't be ready for launch. We promised it by Q3 though.",
        [("scim", True, False, False, Q3)],
    ),
    (
        "We can\u2019t deliver SCIM by Q1. However, we\u2019ll have it by Q2.",
        [("scim", True, False, False, Q2)],
    ),
    (
        "We won't have the audit trail by Q1. But we'll deliver it by Q3.",
        [("audit", True, False, False, Q3)],
    ),
    ("SSO won't ship in Q1. It will be ready by Q2.", [("sso", True, False, False, Q2)]),
    # "it" after telling the customer
    ("They need SSO. Told them it will be ready in Q2.", [("sso", True, False, False, Q2)]),
    (
        "They need SSO. We assured the customer that it ships by Q3.",
        [("sso", True, False, False, Q3)],
    ),
    ("They need SSO. Told them it is not on the roadmap.", [("sso", False, False, False, None)]),
    ("SSO won\u2019t ship in Q1. It\u2019s committed for Q3.", [("sso", True, False, False, Q3)]),
    ("We can't deliver SCIM by Q1.\nWe will have it by Q2.", [("scim", True, False, False, Q2)]),
    (
        "We can't promise SCIM by Q1. Though we committed to it by Q3.",
        [("scim", True, False, False, Q3)],
    ),
    (
        "Multi-region is not in Q1. We'll build it for them by Q3.",
        [("multi-region", True, False, False, Q3)],
    ),
    ("SCIM can't ship in Q1. That is promised for Q2.", [("scim", True, False, False, Q2)]),
    ("We can't deliver SCIM by Q1. ETA for it is Q2.", [("scim", True, False, False, Q2)]),
    (
        "We can't deliver SCIM by Q1. We'll have that ready by Q2.",
        [("scim", True, False, False, Q2)],
    ),
    ("Will SCIM ship by Q1? We promised it by Q3.", [("scim", True, False, False, Q3)]),
    ("They need SCIM. We promised it by Q3.", [("scim", True, False, False, Q3)]),
    # "it" is SCIM: no custom build of something else
    ("We promised SCIM. We'll build it for them.", [("scim", True, False, False, None)]),
    ("We promised SCIM. We'll have it by Q3.", [("scim", True, False, False, Q3)]),
    # the sentence before names two features: "it" is not guessed
    (
        "We can't deliver SSO or SCIM by Q1. However, we will have it by Q2.",
        [("sso", False, False, False, None), ("scim", False, False, False, None)],
    ),
    (
        "SSO and the audit trail won't be ready. We promised it by Q3 though.",
        [("sso", False, False, False, None), ("audit", False, False, False, None)],
    ),
    # not a pronoun promise about it: as before
    (
        "We can't deliver SCIM by Q1. We won't have it by Q2 either.",
        [("scim", False, False, False, None)],
    ),
    ("We can't deliver SCIM by Q1. Can we have it by Q2?", [("scim", False, False, False, None)]),
    ("They need SCIM. They want it by Q3.", [("scim", False, False, False, None)]),
    ("They need SCIM. We'll revisit it next quarter.", [("scim", False, False, False, None)]),
    (
        "We can't deliver SCIM by Q1. We promised them a discount by Q2.",
        [("scim", False, False, False, None)],
    ),
    ("We can't deliver SCIM by Q1. That deal closes by Q2.", [("scim", False, False, False, None)]),
    # only the sentence right before, and one naming a feature
    (
        "We can't deliver SCIM by Q1. The team is busy. We will have it by Q2.",
        [("scim", False, False, False, None)],
    ),
    ("Great call today. We promised it by Q3.", []),
    # the next sentence names its own feature: that one is promised
    (
        "We can't deliver SCIM by Q1. We will have SSO by Q2.",
        [("scim", False, False, False, None), ("sso", True, False, False, Q2)],
    ),
    # a date denied in a bullet, then "it" promised
    ("- SCIM: not by Q1. We'll have it by Q2.", [("scim", True, False, False, Q2)]),
    # the one off-roadmap thing a denial names: "it" in the next sentence is that thing
    (
        "We can't build a Slack integration by Q1. We'll have it by Q2.",
        [("Slack integration", True, False, False, Q2)],
    ),
    (
        "We can\u2019t deliver the Workday connector by Q1. However, it will be ready by Q3.",
        [("Workday connector", True, False, False, Q3)],
    ),
    (
        "We won't have the Slack integration by Q1. We'll build it for them by Q3.",
        [("custom Slack integration", True, False, True, Q3)],
    ),
    # not guessed: two things; a sentence in between; the next one asks or is the customer's
    (
        "We can't build a Slack integration or a Teams connector by Q1. We'll have it by Q2.",
        [],
    ),
    (
        "We can't build a Slack integration by Q1. The team is busy. We'll have it by Q2.",
        [],
    ),
    ("We can't build a Slack integration by Q1. Can we have it by Q2?", []),
    ("We can't build a Slack integration by Q1. They want it by Q2.", []),
    # the next sentence names its own thing: that one is promised
    (
        "We can't build a Slack integration by Q1. We'll have a Teams connector by Q2.",
        [("Teams connector", True, False, False, Q2)],
    ),
    # an off-roadmap thing promised without a date: "it" in the next sentence dates it (one
    # reference, the dated one)
    (
        "We promised a Slack integration. We'll have it by Q2.",
        [("Slack integration", True, False, False, Q2)],
    ),
    (
        "We'll have a Slack integration. It will be ready by Q3.",
        [("Slack integration", True, False, False, Q3)],
    ),
    (
        "We committed to the Workday connector. We promised it by Q3 though.",
        [("Workday connector", True, False, False, Q3)],
    ),
    (
        "We'll build them a custom connector. It will be ready by Q2.",
        [("custom connector", True, False, True, Q2)],
    ),
    (
        "We promised a Slack integration. We'll build it for them by Q3.",
        [("Slack integration", True, False, True, Q3)],
    ),
    # ... not when it has a date already, names two things, or the next sentence is not a
    # promise of "it" right after it
    (
        "We promised a Slack integration by Q1. We'll have it by Q2.",
        [("Slack integration", True, False, False, date(2027, 3, 31))],
    ),
    (
        "We promised a Slack integration or a Teams connector. We'll have it by Q2.",
        [("Slack integration", True, False, False, None)],
    ),
    (
        "We promised a Slack integration. The team is busy. We'll have it by Q2.",
        [("Slack integration", True, False, False, None)],
    ),
    (
        "We promised a Slack integration. Can we have it by Q2?",
        [("Slack integration", True, False, False, None)],
    ),
    (
        "We promised a Slack integration. They want it by Q2.",
        [("Slack integration", True, False, False, None)],
    ),
    (
        "We promised a Slack integration. We'll have a Teams connector by Q2.",
        [
            ("Slack integration", True, False, False, None),
            ("Teams connector", True, False, False, Q2),
        ],
    ),
]


@pytest.mark.parametrize(
    ("body", "expected"), ACROSS_SENTENCES, ids=[c[0][:40] for c in ACROSS_SENTENCES]
)
def test_a_promise_of_it_in_the_next_sentence_is_the_features(
    catalog: Catalog, body: str, expected: list[tuple]
) -> None:
    refs = find_references(make_deal(body), catalog, today=TODAY)
    got = [
        (
            r.feature_key or r.feature_name,  # an off-roadmap thing: its name
            r.is_commitment,
            r.is_question,
            r.custom_build,
            r.promised_date,
        )
        for r in refs
    ]
    assert got == expected
    for r in refs:
        assert r.evidence in body  # quoted exactly


def test_a_promise_in_the_next_sentence_quotes_both_sentences(catalog: Catalog) -> None:
    # the rep sees which feature "it" is, and the promise
    body = "Intro went well. We can't deliver SCIM by Q1. However, we will have it by Q2. Pricing next."
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert ref.evidence == "We can't deliver SCIM by Q1. However, we will have it by Q2."
    assert ref.matched_text == "SCIM" and ref.is_commitment and ref.promised_date == Q2


def test_a_promise_in_the_next_sentence_keeps_the_customers_date(catalog: Catalog) -> None:
    body = "They need SCIM by Q1. We promised it by Q3."
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert (ref.is_commitment, ref.promised_date, ref.needed_by) == (True, Q3, date(2027, 3, 31))


def test_a_denied_off_roadmap_promise_is_no_reference(catalog: Catalog) -> None:
    for body in (
        "We never promised a Slack integration.",
        "We did not commit to a white-label mobile app.",
        "We haven't promised a Slack integration.",
        "We are not in a position to commit to a Slack integration.",
        "We won't build a custom connector for them.",
        # two things before "it": not guessed
        "We can't deliver the Slack integration or the Teams connector by Q1 but we will have it.",
    ):
        assert find_references(make_deal(body), catalog, today=TODAY) == [], body


@pytest.mark.parametrize(
    ("body", "name", "promised"),
    [
        ("We promised them a compliance trail.", "compliance trail", None),
        (
            "We committed to a white-label mobile app by Q3.",
            "white-label mobile app",
            date(2027, 9, 30),
        ),
        ("They were promised a dedicated EU data center.", "dedicated EU data center", None),
        ("We guarantee a HIPAA compliant data export.", "HIPAA compliant data export", None),
        ("We guarantee 99.99% uptime.", "99.99% uptime", None),
        (
            "Promised to deliver offline sync for the field team by March.",
            "offline sync",
            date(2027, 3, 31),
        ),
        ("Guaranteed them SOC 3 attestation.", "SOC 3 attestation", None),
        # a denial, then a promise of "it": the thing named before
        (
            "We can't deliver the Slack integration by Q1 but we will have it by Q2",
            "Slack integration",
            date(2027, 6, 30),
        ),
        (
            "We can\u2019t deliver a Slack integration by Q1, however we\u2019ll have it by Q2.",
            "Slack integration",
            date(2027, 6, 30),
        ),
        (
            "We won't have the Workday connector by Q1; we'll deliver it by Q3.",
            "Workday connector",
            date(2027, 9, 30),
        ),
        (
            "We can't deliver the Slack integration by Q1 though it will be ready by Q2",
            "Slack integration",
            date(2027, 6, 30),
        ),
        (
            "They asked for a Slack integration, we promised it by Q2.",
            "Slack integration",
            date(2027, 6, 30),
        ),
        # ... or in the next sentence: the evidence quotes both
        (
            "We can't build a Slack integration by Q1. We'll have it by Q2.",
            "Slack integration",
            date(2027, 6, 30),
        ),
        # a promise without a date, dated in the next sentence: one reference, quoting both
        (
            "We promised a Slack integration. We'll have it by Q2.",
            "Slack integration",
            date(2027, 6, 30),
        ),
    ],  # fmt: skip
)
def test_any_promised_thing_the_roadmap_does_not_name_is_an_unknown_reference(
    catalog: Catalog, body: str, name: str, promised: date | None
) -> None:
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert ref.feature_key is None
    assert ref.feature_name == name
    assert ref.is_commitment and not ref.custom_build
    assert ref.promised_date == promised
    assert ref.evidence == body


@pytest.mark.parametrize(
    "body",
    [
        "I promised to send the pricing by Friday.",
        "We committed to a follow-up call next week.",
        "Promised them a revised quote by Monday.",
        "They committed to a decision by Q3.",
        "We promised them an answer on the security questionnaire.",
        "Guaranteed a discount if they sign this month.",
        "They promised to get back to us next week.",
        "We committed.",
    ],
)
def test_promises_about_the_sale_itself_are_not_product_promises(
    catalog: Catalog, body: str
) -> None:
    assert find_references(make_deal(body), catalog, today=TODAY) == []


def test_a_line_item_mapped_to_a_feature_the_roadmap_no_longer_lists_warns() -> None:
    """A source refresh removed the feature a product mapping points to: the deal that sells
    the product keeps the dependency and the rep is told to ask, instead of a silent clear."""
    from app.rules.default_pack import DEFAULT_RULES
    from app.rules.engine import StoredRule, evaluate
    from app.rules.model import Feature, LineItem, ProductMappingEntry
    from app.rules.schema import RuleDefinition

    catalog = Catalog(
        [Feature(key="sso", name="Single sign-on", availability="available")],
        [ProductMappingEntry(match_kind="sku", match_value="HX-EXP", feature_keys=["hx-exp"])],
    )
    deal = make_deal("")
    deal.line_items = [LineItem(id="l1", name="HX export", sku="HX-EXP")]
    rules = [
        StoredRule(id=r["id"], version=1, enabled=True, definition=RuleDefinition.model_validate(r))
        for r in DEFAULT_RULES
    ]
    result = evaluate(deal, catalog, rules, today=TODAY)
    assert result.status == "warning"
    [finding] = result.findings
    assert (finding.rule_id, finding.feature_key) == ("unknown-sold", "hx-exp")
    assert finding.message.startswith('"HX export" is mapped to hx-exp, which the roadmap')
