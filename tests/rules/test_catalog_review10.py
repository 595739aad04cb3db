"""A very long run of letters in a note (pasted base64, a key, a run of one letter): no name
word is within two edits of it, and spelling it out in deletions cost memory and time with the
square of its length (a 64 KB word: gigabytes, the worker killed). Security review 10."""

from __future__ import annotations

import app.rules.catalog as catalog_module
from app.rules.catalog import Catalog
from app.rules.references import find_references

from .conftest import FEATURES, TODAY, make_deal


def test_a_word_longer_than_any_name_is_not_spelt_out(monkeypatch) -> None:
    catalog = Catalog(FEATURES)  # a catalog of its own: its typo memo starts empty
    seen: list[int] = []
    real = catalog_module._deletions

    def recording(word: str) -> set[str]:
        seen.append(len(word))
        return real(word)

    monkeypatch.setattr(catalog_module, "_deletions", recording)
    long_word = "q" * 20_000
    body = f"We promised SCIM by Q1. Attachment: {long_word} end. Also the audti log."
    refs = find_references(make_deal(body), catalog, today=TODAY)
    assert [(r.feature_key, r.is_commitment) for r in refs] == [("scim", True), ("audit", False)]
    assert seen, "a typo near a name is still corrected ('audti')"
    assert max(seen) < 40  # never the 20,000 letters
