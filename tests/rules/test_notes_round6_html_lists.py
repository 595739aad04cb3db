"""HTML lists left in a note body keep their items' marks, as the CRM connectors write them
(`html_to_text`): a heading over an HTML list sets the reading of its items."""

from __future__ import annotations

from datetime import date

import pytest

from app.connectors.base import html_to_text
from app.rules.references import find_references, plain_note_text

from .conftest import TODAY, make_deal
from .test_sales_language import CATALOG

Q1 = date(2027, 3, 31)

# (note, [(feature, is_commitment, promised_date, needed_by)])
HTML_LISTS = [
    # a heading over an HTML list: each item read by it (SCIM read as our promise by Q1, a
    # block; what we promised as a plain mention)
    (
        "<p>Customer requirements:</p><ul><li>SCIM by Q1</li><li>SSO</li></ul>",
        [("scim", False, None, Q1), ("sso", False, None, None)],
    ),
    (
        "<p>Customer requirements:</p><ul><li>SSO</li><li>SCIM by Q1</li></ul>",
        [("sso", False, None, None), ("scim", False, None, Q1)],
    ),
    ("<p>What we promised:</p><ol><li><p>SCIM - Q1</p></li></ol>", [("scim", True, Q1, None)]),
    ("Requirements:<ul><li><b>SCIM</b> by Q1</li></ul>", [("scim", False, None, Q1)]),
    (
        "<p>Requirements:</p>\n<ul>\n  <li>SSO</li>\n  <li>\n    SCIM by Q1\n  </li>\n</ul>",
        [("sso", False, None, None), ("scim", False, None, Q1)],
    ),
    (
        "<p>Requirements:</p><ul><li>SSO</li><li></li><li>SCIM by Q1</li></ul>",
        [("sso", False, None, None), ("scim", False, None, Q1)],
    ),
    # ... as before: a list with no heading, a heading's list ended by a line that is no item,
    # items typed as text
    (
        "<ul><li>SSO is live</li><li>we promised SCIM by Q1</li></ul>",
        [("sso", False, None, None), ("scim", True, Q1, None)],
    ),
    (
        "<p>Requirements:</p><ul><li>SSO</li></ul><p>We'll have SCIM by Q1.</p>",
        [("sso", False, None, None), ("scim", True, Q1, None)],
    ),
    ("<p>Next steps:</p><ul><li>SCIM by Q1</li></ul>", [("scim", True, Q1, None)]),
    ("<p>Requirements:</p><p>SCIM by Q1</p>", [("scim", True, Q1, None)]),
    ("Requirements:<br>- SCIM by Q1", [("scim", False, None, Q1)]),
]


@pytest.mark.parametrize(("body", "expected"), HTML_LISTS, ids=[c[0][:40] for c in HTML_LISTS])
def test_a_heading_over_an_html_list_in_a_note_body(body: str, expected: list[tuple]) -> None:
    refs = find_references(make_deal(body), CATALOG, today=TODAY)
    assert [
        (r.feature_key, r.is_commitment, r.promised_date, r.needed_by) for r in refs
    ] == expected


@pytest.mark.parametrize(
    "body",
    [
        "<p>Customer requirements:</p><ul><li>SCIM by Q1</li><li>SSO</li></ul>",
        "<ul><li>SSO</li><li>Audit log</li></ul>",
        "<ol><li><p>SCIM - Q1</p></li><li></li><li>Audit <b>log</b><ul><li>export</li></ul></li></ol>",
        "Requirements:<ul><li>&amp; SSO</li><LI class='x'>SCIM</LI></ul>",
        "text<li>SSO",
        "<li><b>SSO</b> needed</li>",
    ],
)
def test_list_marks_as_the_crm_connectors_write_them(body: str) -> None:
    # the same lines as the connectors' text, blank lines aside (which they drop)
    lines = [line.strip() for line in plain_note_text(body).splitlines() if line.strip()]
    assert lines == html_to_text(body).splitlines()


def test_no_list_no_change() -> None:
    body = "<p>We <b>promised</b> SCIM&nbsp;by Q1 &amp; SSO.</p><br>&lt;li&gt; done"
    assert plain_note_text(body) == "\nWe promised SCIM by Q1 & SSO.\n\n<li> done"
