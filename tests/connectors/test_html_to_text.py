"""CRM note HTML as the plain text notes are read in: one parser for HubSpot and Salesforce."""

from __future__ import annotations

import pytest

from app.connectors.base import html_to_text
from app.connectors.hubspot.connector import strip_html as hubspot_strip
from app.connectors.salesforce.connector import strip_html as salesforce_strip

CASES = [
    ("<p>We&nbsp;promise <b>SSO</b></p><p>by Q3 &amp; more</p>", "We promise SSO\nby Q3 & more"),
    # Table cells were run together by Salesforce's regex ("SSOneeded"), rows on one line.
    (
        "<table><tr><td>SSO</td><td>needed</td></tr><tr><th>SCIM</th><td>by Q3</td></tr></table>",
        "SSO needed\nSCIM by Q3",
    ),
    # A bare "<" in text: the regex dropped everything up to the next ">".
    ("<p>Seats < 50 for now; we promised SCIM by Q3</p><p>ok</p>", "Seats < 50 for now; we promised SCIM by Q3\nok"),
    ("<ul><li>SSO</li><li>Audit log</li></ul>", "SSO\nAudit log"),
    ("Line one<br/>Line two<br>Line three", "Line one\nLine two\nLine three"),
    ("<h5>Scope</h5><section>We'll&#39;ve SSO</section>", "Scope\nWe'll've SSO"),
    ("", ""),
    (None, ""),
]  # fmt: skip


@pytest.mark.parametrize(("body", "text"), CASES)
def test_both_crms_read_note_html_the_same_way(body, text) -> None:
    assert html_to_text(body) == text
    assert hubspot_strip(body) == salesforce_strip(body) == text
