"""Notes and line items -> feature references, with promise, question and negation language."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.rules.catalog import Catalog
from app.rules.model import LineItem, Note
from app.rules.references import find_references, note_references

from .conftest import TODAY, make_deal

# (note, [(feature_key, is_commitment, is_question, custom_build, promised_date)])
# Notes are dated 2026-11-25.
CASES = [
    # plain mentions, plurals, abbreviations, possessives
    ("Customer needs SSO for 400 users.", [("sso", False, False, False, None)]),
    ("Their SSOs are a mess today.", [("sso", False, False, False, None)]),
    ("Salesforce's sync is what they care about.", [("sf", False, False, False, None)]),
    # promises and dates
    ("We will have SCIM by Q3.", [("scim", True, False, False, date(2027, 9, 30))]),
    ("We'll have SCIM by Q4 2026", [("scim", True, False, False, date(2026, 12, 31))]),
    (
        "Promised SCIM provisioning by end of March.",
        [("scim", True, False, False, date(2027, 3, 31))],
    ),
    ("SCIM is committed for next quarter.", [("scim", True, False, False, date(2027, 3, 31))]),
    (
        "Guaranteed the audit trail by 2027-02-15.",
        [("audit", True, False, False, date(2027, 2, 15))],
    ),
    ("Audit log is in the contract.", [("audit", True, False, False, None)]),
    ("We will deliver SCIM by June 30", [("scim", True, False, False, date(2027, 6, 30))]),
    ("SCIM: committed, by H1", [("scim", True, False, False, date(2027, 6, 30))]),
    ("Told them SCIM will be ready in 2 weeks.", [("scim", True, False, False, date(2026, 12, 9))]),
    ("SCIM by Q3'27 guaranteed", [("scim", True, False, False, date(2027, 9, 30))]),
    ("We promised SCIM by 3/15/2027.", [("scim", True, False, False, date(2027, 3, 15))]),
    # custom build
    ("We'll build SCIM for them.", [("scim", True, False, True, None)]),
    # several features in one sentence
    (
        "We will have SCIM and the audit trail and multi-region by Q2.",
        [
            ("scim", True, False, False, date(2027, 6, 30)),
            ("audit", True, False, False, date(2027, 6, 30)),
            ("multi-region", True, False, False, date(2027, 6, 30)),
        ],
    ),
    # negation
    ("They don't need SSO.", []),
    ("No need for SCIM, they use a CSV import.", []),
    ("Not interested in the AI assistant.", []),
    ("SCIM is not required for phase one.", []),
    ("Without SSO they won't sign.", [("sso", False, False, False, None)]),
    ("They need SSO, not SCIM.", [("sso", False, False, False, None)]),
    (
        "They need SSO, not just SCIM.",
        [("sso", False, False, False, None), ("scim", False, False, False, None)],
    ),
    ("They'd use SCIM instead of the audit trail.", [("scim", False, False, False, None)]),
    (
        "They don't need SSO but we promised SCIM by Q3.",
        [("scim", True, False, False, date(2027, 9, 30))],
    ),
    # questions
    ("Customer asked whether we support SCIM.", [("scim", False, True, False, None)]),
    ("Do we have audit logs?", [("audit", False, True, False, None)]),
    ("Asked if SCIM will be ready by Q3.", [("scim", False, True, False, None)]),
    (
        "We will have SCIM by Q3; do we have audit logs?",
        [("scim", True, False, False, date(2027, 9, 30)), ("audit", False, True, False, None)],
    ),
    ("Customer is asking for SSO by Q3 \u2014 can we commit?", [("sso", False, True, False, None)]),
    ("SCIM \u2014 promised for Q3", [("scim", True, False, False, date(2027, 9, 30))]),
    (
        "SSO/SCIM both needed",
        [("sso", False, False, False, None), ("scim", False, False, False, None)],
    ),
    # past tense about a GA feature: a plain dependency
    ("They used SSO at their previous vendor.", [("sso", False, False, False, None)]),
    # a promise clause naming nothing refers to the sentence's feature
    (
        "They need SAML SSO; we promised it by Q1 2027.",
        [("sso", True, False, False, date(2027, 3, 31))],
    ),
    # typos
    ("We promised Sigle Sign-On by Q3.", [("sso", True, False, False, date(2027, 9, 30))]),
    ("the audti log is a must", [("audit", False, False, False, None)]),
    # HTML leftovers split sentences
    (
        "Great call.<br>We will have SCIM by Q3<br/>SSO is live",
        [
            ("scim", True, False, False, date(2027, 9, 30)),
            ("sso", False, False, False, None),
        ],
    ),  # fmt: skip
    # acronyms inside other words never fire
    ("Sent mail to the team, something about ssomething.", []),
    # "may" the verb is not the month May
    ("We may add dashboards later.", [("dash", False, False, False, None)]),
    # a name as an adjective before a kind of organization describes the customer
    ("They are a multi-region company.", []),
    ("Multi-region enterprise, 40 offices.", []),
    ("They have a multi-region team in EMEA.", []),
    ("They're an AI company and need SSO.", [("sso", False, False, False, None)]),
    (
        "They need multi-region; they are a multi-region business.",
        [("multi-region", False, False, False, None)],
    ),
    # ... not the feature itself, our team, a customer of a product
    ("They need multi-region company-wide.", [("multi-region", False, False, False, None)]),
    (
        "Our multi-region team will build it by Q2.",
        [("multi-region", True, False, False, date(2027, 6, 30))],
    ),
    ("They are a Salesforce customer.", [("sf", False, False, False, None)]),
    ("Their SSO team asked about SSO ", [("sso", False, True, False, None)]),  # a space, no word
    ("Multi-region failover for the whole company.", [("multi-region", False, False, False, None)]),
]


@pytest.mark.parametrize(("body", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_note_references(catalog: Catalog, body: str, expected: list[tuple]) -> None:
    refs = find_references(make_deal(body), catalog, today=TODAY)
    got = [
        (r.feature_key, r.is_commitment, r.is_question, r.custom_build, r.promised_date)
        for r in refs
    ]
    assert got == expected
    for r in refs:
        assert r.source == "note" and r.source_id == "n0"
        assert r.evidence in body  # quoted exactly


def test_evidence_is_the_exact_sentence(catalog: Catalog) -> None:
    body = "Intro call went well. They asked whether we support SCIM. Pricing next week."
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert ref.evidence == "They asked whether we support SCIM."
    assert ref.matched_text == "SCIM" and ref.feature_name == "SCIM provisioning"


def test_abbreviations_do_not_end_a_sentence(catalog: Catalog) -> None:
    body = "They want e.g. SSO and approx. 20 dashboards by Q3."
    refs = find_references(make_deal(body), catalog, today=TODAY)
    assert {r.evidence for r in refs} == {body}


@pytest.mark.parametrize(
    ("body", "name", "custom"),
    [
        ("We'll build them a custom connector for their ERP.", "custom connector", True),
        ("Promised a Slack integration by Q3.", "Slack integration", False),
        ("We will add support for Okta Workforce by March.", "support for Okta Workforce", False),
        ("Agreed to a custom build for their warehouse team.", "custom build", True),
        # "it" after a denial is the thing the denial named, as "we'll build them a ..." names it
        (
            "We can't deliver the Slack integration by Q1 but we will build it by Q2",
            "custom Slack integration",
            True,
        ),
    ],
)
def test_promises_of_things_not_on_the_roadmap_become_unknown_references(
    catalog: Catalog, body: str, name: str, custom: bool
) -> None:
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert ref.feature_key is None
    assert ref.feature_name == name
    assert ref.is_commitment and ref.custom_build is custom
    assert ref.evidence == body


@pytest.mark.parametrize(
    "body",
    [
        "We'll have the contract ready by Friday.",
        "They will send the security questionnaire next week.",
        "Do you have an integration with Slack?",
        "They don't need a custom connector.",
    ],
)
def test_ordinary_sentences_are_not_off_roadmap_promises(catalog: Catalog, body: str) -> None:
    assert find_references(make_deal(body), catalog, today=TODAY) == []


def test_custom_build_clause_next_to_a_named_feature_is_its_own_reference(catalog: Catalog) -> None:
    body = "They love SSO, and we'll build them a custom connector by Q3."
    refs = find_references(make_deal(body), catalog, today=TODAY)
    assert [(r.feature_key, r.custom_build) for r in refs] == [("sso", False), (None, True)]


@pytest.mark.parametrize(
    ("created", "phrase", "expected"),
    [
        (datetime(2026, 2, 10, tzinfo=UTC), "by Q3", date(2026, 9, 30)),
        (datetime(2026, 10, 10, tzinfo=UTC), "by Q3", date(2027, 9, 30)),
        (datetime(2026, 8, 1, tzinfo=UTC), "by Q3", date(2026, 9, 30)),  # this quarter
        (datetime(2026, 2, 10, tzinfo=UTC), "by end of March", date(2026, 3, 31)),
        (datetime(2026, 4, 1, tzinfo=UTC), "by end of March", date(2027, 3, 31)),
        (datetime(2026, 12, 5, tzinfo=UTC), "next quarter", date(2027, 3, 31)),
        (datetime(2026, 5, 5, tzinfo=UTC), "next quarter", date(2026, 9, 30)),
        (datetime(2026, 12, 5, tzinfo=UTC), "by next month", date(2027, 1, 31)),
        (datetime(2026, 5, 5, tzinfo=UTC), "by the end of the year", date(2026, 12, 31)),
        (datetime(2026, 5, 5, tzinfo=UTC), "by 15 March", date(2027, 3, 15)),
        (datetime(2026, 5, 5, tzinfo=UTC), "by March 15th, 2028", date(2028, 3, 15)),
        # the period of an abbreviated month is no sentence end (the day was lost: Jan 31)
        (datetime(2026, 11, 5, tzinfo=UTC), "by Jan. 15", date(2027, 1, 15)),
        (datetime(2026, 11, 5, tzinfo=UTC), "by Feb. 1, 2027", date(2027, 2, 1)),
        (datetime(2026, 5, 5, tzinfo=UTC), "by Sept. 20", date(2026, 9, 20)),
        # "next year" is the note's next year, not the next such period to come
        (datetime(2026, 2, 10, tzinfo=UTC), "by H1 next year", date(2027, 6, 30)),
        (datetime(2026, 2, 10, tzinfo=UTC), "in the first half of next year", date(2027, 6, 30)),
        (datetime(2026, 2, 10, tzinfo=UTC), "by Q1 next year", date(2027, 3, 31)),
        (datetime(2026, 5, 5, tzinfo=UTC), "early next year", date(2027, 3, 31)),
        (datetime(2026, 5, 5, tzinfo=UTC), "in early 2027", date(2027, 3, 31)),
    ],
)
def test_promised_dates_resolve_against_the_note_date(
    catalog: Catalog, created: datetime, phrase: str, expected: date
) -> None:
    note = Note(id="n", body=f"We will have SCIM {phrase}.", created_at=created)
    (ref,) = note_references(note, catalog, anchor=TODAY)
    assert ref.is_commitment and ref.promised_date == expected


def test_note_without_a_date_resolves_against_the_deal(catalog: Catalog) -> None:
    deal = make_deal("x", updated_at=datetime(2026, 2, 1, tzinfo=UTC))
    deal.notes = [Note(id="n", body="Promised SCIM by Q3.")]
    (ref,) = find_references(deal, catalog, today=TODAY)
    assert ref.promised_date == date(2026, 9, 30)


def test_impossible_dates_are_ignored(catalog: Catalog) -> None:
    (ref,) = find_references(make_deal("We promised SCIM by 2027-02-31."), catalog, today=TODAY)
    assert ref.is_commitment and ref.promised_date is None


def test_line_items_become_references_with_the_item_as_evidence(catalog: Catalog) -> None:
    deal = make_deal(
        line_items=[
            LineItem(id="li1", name="Security bundle", sku="BUNDLE-SEC"),
            LineItem(id="li2", name="Premium support", sku="SUP"),
            LineItem(id="li3", name="", product_id="prod_ai"),
        ]
    )
    refs = find_references(deal, catalog, today=TODAY)
    assert [(r.feature_key, r.source, r.source_id, r.evidence) for r in refs] == [
        ("sso", "line_item", "li1", "Security bundle"),
        ("audit", "line_item", "li1", "Security bundle"),
        ("ai", "line_item", "li3", "prod_ai"),
    ]


def test_line_items_selling_nothing_are_no_dependency(catalog: Catalog) -> None:
    deal = make_deal(
        line_items=[
            LineItem(id="li1", name="Security bundle", sku="BUNDLE-SEC", quantity=0),
            LineItem(id="li2", name="AI credit", product_id="prod_ai", quantity=-1),
            LineItem(id="li3", name="AI", product_id="prod_ai", quantity=0.5),
            LineItem(id="li4", name="AI", product_id="prod_ai"),  # no quantity: sold
        ]
    )
    refs = find_references(deal, catalog, today=TODAY)
    assert [(r.feature_key, r.source_id) for r in refs] == [("ai", "li3"), ("ai", "li4")]


def test_one_reference_per_feature_and_source_keeping_the_strongest(catalog: Catalog) -> None:
    body = "They need SCIM. Asked whether SCIM works with Okta. We promised SCIM by Q3. SCIM again."
    refs = find_references(make_deal(body, "SCIM mentioned in another note."), catalog, today=TODAY)
    assert [(r.source_id, r.is_commitment, r.evidence) for r in refs] == [
        ("n0", True, "We promised SCIM by Q3."),
        ("n1", False, "SCIM mentioned in another note."),
    ]


def test_the_reference_with_the_customers_date_is_kept(catalog: Catalog) -> None:
    body = "They need SCIM. SCIM is needed by Q3. SCIM again."
    (ref,) = find_references(make_deal(body), catalog, today=TODAY)
    assert (ref.is_commitment, ref.needed_by, ref.evidence) == (
        False,
        date(2027, 9, 30),
        "SCIM is needed by Q3.",
    )


def test_empty_and_blank_notes_give_nothing(catalog: Catalog) -> None:
    assert find_references(make_deal("", "   \n "), catalog, today=TODAY) == []
