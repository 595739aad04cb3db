"""Finding feature names in messy text, and line items through the product mapping."""

from __future__ import annotations

import pytest

from app.rules.catalog import Catalog
from app.rules.model import Feature, LineItem


def keys(catalog: Catalog, text: str) -> list[str]:
    return [m.feature_key for m in catalog.find_mentions(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("They need SSO.", ["sso"]),
        ("Both subsidiaries want their own SSOs", ["sso"]),  # plural
        ("single sign-on, please", ["sso"]),  # case
        ("Single Sign On for everyone", ["sso"]),  # hyphen vs space
        ("singlesign-on", ["sso"]),  # missing separator
        ("Salesforce's sync broke", ["sf"]),  # possessive
        ("custom dashboards and a dashboard", ["dash", "dash"]),  # plural + alias
        ("multi region and multiregion and multi-region", ["multi-region"] * 3),
        ("retention policies for EU data", ["retention"]),  # y -> ies plural
        ("<br>SCIM&nbsp;provisioning</p>", ["scim"]),  # HTML leftovers
        ("(SSO)", ["sso"]),
    ],
)
def test_names_and_aliases_match_in_their_usual_spellings(
    catalog: Catalog, text: str, expected: list[str]
) -> None:
    assert keys(catalog, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Sent mail about the rollout",  # "AI" inside "mail"
        "they want ssomething else",  # "SSO" inside a longer word
        "The said passage is fine",  # "AI" inside "said"
        "it is what it is",  # "IT" is a common word: only the acronym as written matches
        "export the report to CSV",  # "Export" feature only when written as the name
        "scimitar collection",  # "SCIM" inside a word
        "audit logs",  # "Audit log" is a feature... but "audit trail" alias: see positive test
    ][:-1],
)
def test_short_names_do_not_fire_inside_other_words(catalog: Catalog, text: str) -> None:
    assert keys(catalog, text) == []


def test_common_word_names_match_only_as_written(catalog: Catalog) -> None:
    assert keys(catalog, "Ask IT about it") == ["it-portal"]
    assert keys(catalog, "Export is needed, export later") == ["export"]


@pytest.mark.parametrize(
    ("text", "expected_key", "matched"),
    [
        ("They asked for Sigle Sign-On", "sso", "Sigle Sign-On"),
        ("the audti log matters", "audit", "audti log"),
        ("SCIM provisoning next", "scim", "SCIM provisoning"),
        ("Salesfroce integration", "sf", "Salesfroce integration"),
        ("Mutli-region failover", "multi-region", "Mutli-region failover"),
    ],
)
def test_typos_match_with_a_score_below_100(
    catalog: Catalog, text: str, expected_key: str, matched: str
) -> None:
    mentions = [m for m in catalog.find_mentions(text) if m.feature_key == expected_key]
    assert len(mentions) == 1
    assert mentions[0].matched_text == matched
    assert mentions[0].fuzzy and 85 <= mentions[0].score < 100


@pytest.mark.parametrize(
    "text",
    ["the audit team met", "a custom dash", "retention of staff", "signing on Monday"],
)
def test_near_misses_that_are_not_names_do_not_match(catalog: Catalog, text: str) -> None:
    assert keys(catalog, text) == []


def test_typo_tolerance_can_be_switched_off(catalog: Catalog) -> None:
    assert keys(catalog, "Sigle Sign-On") == ["sso"]
    assert catalog.find_mentions("Sigle Sign-On", fuzzy=False) == []


def test_longest_name_wins_over_a_shorter_alias_at_the_same_place() -> None:
    catalog = Catalog(
        [
            Feature(key="sso", name="SSO"),
            Feature(key="saml", name="SAML SSO"),
        ]
    )
    mentions = catalog.find_mentions("We need SAML SSO")
    assert [(m.feature_key, m.matched_text) for m in mentions] == [("saml", "SAML SSO")]


def test_mention_spans_point_into_the_original_text(catalog: Catalog) -> None:
    text = "Customer wants SAML SSO and an Audit Trail."
    for m in catalog.find_mentions(text):
        assert text[m.start : m.end] == m.matched_text


@pytest.mark.parametrize(
    ("item", "expected", "how"),
    [
        (LineItem(id="1", name="Enterprise SSO", sku="SSO-ENT"), ["sso"], "sku"),
        (LineItem(id="2", name="Security bundle", sku="bundle-sec"), ["sso", "audit"], "sku"),
        (LineItem(id="3", name="AI", product_id="prod_ai"), ["ai"], "product_id"),
        (LineItem(id="4", name="SF", product_id="prod_sf"), ["sf"], "product_id"),
        (LineItem(id="5", name="Compliance  pack"), ["audit"], "name"),
        (LineItem(id="6", name="Single Sign-On"), ["sso"], "name"),
        (LineItem(id="7", name="Premium support", sku="SUP-1"), [], None),
        # SKU wins over product id and name
        (
            LineItem(id="8", name="Compliance Pack", sku="SSO-ENT", product_id="prod_ai"),
            ["sso"],
            "sku",
        ),
    ],
)
def test_line_items_map_by_sku_then_product_id_then_exact_name(
    catalog: Catalog, item: LineItem, expected: list[str], how: str | None
) -> None:
    assert catalog.features_for_line_item(item) == (expected, how)


def test_catalog_lookup(catalog: Catalog) -> None:
    assert catalog.get("sso") is not None and catalog.get("sso").name == "Single Sign-On"
    assert catalog.get("nope") is None and catalog.get(None) is None
    assert "scim" in catalog and len(catalog) == 11


def test_empty_catalog_finds_nothing() -> None:
    catalog = Catalog([], [])
    assert catalog.find_mentions("SSO SCIM anything") == []
    assert catalog.features_for_line_item(LineItem(id="1", name="x", sku="y")) == ([], None)


def test_names_with_regex_characters_compile_and_match() -> None:
    catalog = Catalog(
        [
            Feature(key="ab", name="A/B testing"),
            Feature(key="cpp", name="C++ SDK", aliases=["(beta) API*"]),
            Feature(key="oauth", name="OAuth 2.0"),
            Feature(key="cafe", name="Café mode"),
        ]
    )
    assert [m.feature_key for m in catalog.find_mentions("We run A/B testing and a/b-testing")] == [
        "ab",
        "ab",
    ]
    assert [m.feature_key for m in catalog.find_mentions("needs OAuth 2.0 and beta API")] == [
        "oauth",
        "cpp",
    ]
    assert [m.feature_key for m in catalog.find_mentions("Turn on café mode")] == ["cafe"]


@pytest.mark.parametrize(
    ("zone", "moment", "day"),
    [
        ("UTC", "2027-04-01T02:00:00+00:00", "2027-04-01"),
        ("America/Los_Angeles", "2027-04-01T02:00:00+00:00", "2027-03-31"),  # 7 pm PDT
        ("America/Los_Angeles", "2027-01-01T07:30:00+00:00", "2026-12-31"),  # 11:30 pm PST
        ("America/Los_Angeles", "2027-04-01T02:00:00", "2027-03-31"),  # naive: UTC
        ("Asia/Tokyo", "2027-03-31T16:00:00+00:00", "2027-04-01"),
        ("Europe/Berlin", "2027-03-31T23:30:00+02:00", "2027-03-31"),
    ],
)
def test_local_date_is_the_day_where_the_sales_team_works(zone: str, moment: str, day: str) -> None:
    from datetime import date, datetime

    catalog = Catalog([], timezone=zone)
    assert catalog.local_date(datetime.fromisoformat(moment)) == date.fromisoformat(day)


def test_an_unknown_time_zone_is_refused_with_what_a_name_looks_like() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'EST5'"):
        Catalog([], timezone="EST5")
