"""CRM note HTML as the plain text notes are read in: one parser for HubSpot and Salesforce."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.connectors.base import html_to_text
from app.connectors.hubspot.connector import strip_html as hubspot_strip
from app.connectors.salesforce.connector import strip_html as salesforce_strip
from app.rules.catalog import Catalog
from app.rules.model import DealSnapshot, Feature, Note, Stage
from app.rules.references import find_references

CASES = [
    ("<p>We&nbsp;promise <b>SSO</b></p><p>by Q3 &amp; more</p>", "We promise SSO\nby Q3 & more"),
    # Table cells were run together by Salesforce's regex ("SSOneeded"), rows on one line.
    (
        "<table><tr><td>SSO</td><td>needed</td></tr><tr><th>SCIM</th><td>by Q3</td></tr></table>",
        "SSO needed\nSCIM by Q3",
    ),
    # A bare "<" in text: the regex dropped everything up to the next ">".
    ("<p>Seats < 50 for now; we promised SCIM by Q3</p><p>ok</p>", "Seats < 50 for now; we promised SCIM by Q3\nok"),
    # List items keep a mark, as a list typed as text: the note reader reads a heading's items by it.
    ("<ul><li>SSO</li><li>Audit log</li></ul>", "- SSO\n- Audit log"),
    ("<ol><li><p>SCIM - Q1</p></li><li></li><li>Audit <b>log</b><ul><li>export</li></ul></li></ol>",
     "- SCIM - Q1\n- Audit log\n- export"),
    # Pretty-printed HTML: the item's text on a line of its own keeps the mark beside it.
    ("<ul>\n  <li>\n    SCIM by Q1\n  </li>\n  <li>\n    <p>\n      SSO</p></li>\n</ul>",
     "- SCIM by Q1\n- SSO"),
    ("Line one<br/>Line two<br>Line three", "Line one\nLine two\nLine three"),
    ("<h5>Scope</h5><section>We'll&#39;ve SSO</section>", "Scope\nWe'll've SSO"),
    ("", ""),
    (None, ""),
]  # fmt: skip


@pytest.mark.parametrize(("body", "text"), CASES)
def test_both_crms_read_note_html_the_same_way(body, text) -> None:
    assert html_to_text(body) == text
    assert hubspot_strip(body) == salesforce_strip(body) == text


@pytest.mark.parametrize(
    ("body", "promised", "needed_by"),
    [
        # A heading over a list as HubSpot's and Salesforce's editors write it: without the
        # items' marks the heading was lost ("SCIM by Q1" read as our promise, a block)...
        ("<p>Customer requirements:</p><ul><li>SCIM by Q1</li><li>SSO</li></ul>", None, date(2027, 3, 31)),
        # ...and what we promised read as a plain mention.
        ("<p>What we promised:</p><ol><li><p>SCIM - Q1</p></li></ol>", date(2027, 3, 31), None),
        # ...and an editor's pretty-printed list, the item's text on a line of its own.
        ("<p>Customer requirements:</p>\n<ul>\n  <li>\n    SCIM by Q1\n  </li>\n</ul>", None, date(2027, 3, 31)),
    ],
)  # fmt: skip
def test_a_heading_over_an_html_list_sets_the_reading_of_its_items(body, promised, needed_by):
    catalog = Catalog(
        [
            Feature(key="scim", name="SCIM provisioning", aliases=["SCIM"],
                    availability="coming_soon", target_date=date(2027, 6, 30)),
            Feature(key="sso", name="Single Sign-On", aliases=["SSO"], availability="available"),
        ]
    )  # fmt: skip
    note = Note(id="n1", body=html_to_text(body), created_at=datetime(2026, 11, 25, tzinfo=UTC))
    deal = DealSnapshot(crm="hubspot", deal_id="D1", stage=Stage(id="s"), notes=[note])
    [scim] = [
        r
        for r in find_references(deal, catalog, today=date(2026, 11, 25))
        if r.feature_key == "scim"
    ]
    assert (scim.is_commitment, scim.promised_date, scim.needed_by) == (
        promised is not None,
        promised,
        needed_by,
    )


@pytest.mark.parametrize(
    ("body", "text"),
    [
        # A rep typed "&lt;SSO&gt;" and "a &amp; b" literally: the HTML escapes them once more.
        (
            "<p>We did NOT promise &amp;lt;SSO&amp;gt;</p><p>a &amp;amp; b</p>",
            "We did NOT promise &lt;SSO&gt;\na &amp; b",
        ),
        ("<p>&lt;SSO&gt; &amp;nbsp;</p>", "<SSO> &nbsp;"),
    ],
)
def test_character_references_are_unescaped_once(body, text):
    assert html_to_text(body) == text
    assert salesforce_strip(body) == text
    assert hubspot_strip(body) == text
