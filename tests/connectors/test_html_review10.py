"""Markup a rep can type into a CRM note that Python's HTMLParser handles badly: unclosed
"<a " runs are quadratic (CVE-2025-6069: 64 KB took 39 s on the worker), and "<![" runs raise
an AssertionError (the deal's read failed). A "<" that no ">" closes before the next "<" is
text: escaped before the parser sees it. Security review 10."""

from __future__ import annotations

import app.connectors.base as base
from app.connectors.base import html_to_text


def test_a_malformed_declaration_is_read_as_text() -> None:
    assert (
        html_to_text("<![" * 50 + " We promised SCIM by Q1.")
        == "<![" * 50 + " We promised SCIM by Q1."
    )


def test_unclosed_tags_reach_the_parser_as_text(monkeypatch) -> None:
    fed: list[str] = []
    real = base._TextExtractor.feed

    def recording(self, data: str) -> None:
        fed.append(data)
        real(self, data)

    monkeypatch.setattr(base._TextExtractor, "feed", recording)
    body = "<a " * 2000 + "<p>SCIM by Q1</p>"
    assert html_to_text(body) == ("<a " * 2000).strip() + "\nSCIM by Q1"
    # the parser saw one "<" per real tag: the 2,000 unclosed ones arrived escaped
    assert "".join(fed).count("<") == 2


def test_ordinary_markup_and_bare_less_than_signs_are_read_as_before() -> None:
    assert html_to_text("<div>SCIM by Q1<br>audit log</div>") == "SCIM by Q1\naudit log"
    assert html_to_text("a < b and c > d") == "a < b and c > d"
    assert html_to_text("x <3 y") == "x <3 y"
    assert html_to_text("<p>SSO &lt;SSO&gt;</p>") == "SSO <SSO>"
    assert html_to_text('<a href="x>y">SCIM</a>') == "SCIM"
