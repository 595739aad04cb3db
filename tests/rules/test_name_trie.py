"""The RE2 trie finds exactly what the plain `re` pattern (look-arounds and all) finds."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.rules.catalog import Catalog, lower_same_length
from app.rules.name_trie import NameTrie
from benchmarks._data import make_deals, make_features, make_mappings

NAMES = [
    ["sso"],
    ["saml", "sso"],
    ["multi", "region"],
    ["multi", "region", "failover"],
    ["multiregion", "dr"],
    ["multir"],
    ["oauth", "2", "0"],
    ["oauth"],
    ["x", "2"],
    ["a1"],
    ["scim"],
    ["scim", "provisioning"],
    ["caf\u00e9", "sync"],
    ["\u00fcber", "export"],
    ["audit", "logs"],
    ["audit", "log"],
    ["policies"],
]
PIECES = [
    "sso", "saml", "multi", "region", "failover", "multiregion", "dr", "multir", "oauth", "2",
    "0", "x", "a1", "scim", "provisioning", "caf\u00e9", "\u00fcber", "export", "sync", "audit",
    "log", "logs", "policies", "s", "es", "'s", "\u2019s", "s'", "a", "the", "7", "\u00e9",
]  # fmt: skip
GAPS = [
    "", " ", "  ", "   ", "    ", "-", "_", "/", " - ", ".", ". ", ",", "\n", "\t", "\u00a0",
    "\u2003", "\u3000", "\u2019", "'", "\ud800", "\u00e9", "\U0001f600", "x", "1",
]  # fmt: skip
texts = st.lists(
    st.tuples(st.sampled_from(PIECES), st.sampled_from(GAPS)), min_size=0, max_size=25
).map(lambda parts: "".join(p + g for p, g in parts))

FAST = NameTrie(NAMES)
PLAIN = NameTrie(NAMES, use_re2=False)


def test_the_fast_trie_runs_on_re2() -> None:
    assert FAST.engine == "re2" and PLAIN.engine == "re"


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_re2_finds_the_same_names_as_re(text: str) -> None:
    assert FAST.spans(text) == PLAIN.spans(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=3) | st.sampled_from(PIECES), max_size=20).map("".join))
def test_re2_finds_the_same_names_as_re_in_any_text(text: str) -> None:
    assert FAST.spans(text) == PLAIN.spans(text)


@settings(max_examples=500, deadline=None)
@given(st.lists(texts | st.sampled_from(["", "\x00", "sso\x00", "\u00e9"]), max_size=6))
def test_the_notes_of_a_deal_scanned_together_give_each_note_s_own_names(
    notes: list[str],
) -> None:
    each = [PLAIN.spans(text) for text in notes]
    assert FAST.spans_each(notes) == [FAST.spans(text) for text in notes] == each
    assert PLAIN.spans_each(notes) == each


def test_names_next_to_each_other_and_at_both_ends_of_the_text() -> None:
    text = "sso scim sso,scim\u00a0sso"
    assert FAST.findall(text) == ["sso", "scim", "sso", "scim", "sso"]
    assert FAST.spans("caf\u00e9 sync \u2014 sso") == [(0, 9, 9), (12, 15, 15)]


def test_separators_dots_and_endings() -> None:
    examples = {
        "oauth 2.0 and x.2 and oauth.x. sso.": ["oauth 2.0", "x.2", "oauth", "sso"],
        "multi-region failover, multiregion; multi  region, multi    region": [
            "multi-region failover",
            "multiregion",
            "multi  region",
        ],
        "sso's ssos ssoes sso\u2019s audit logs' audit log's": [
            "sso",
            "sso",
            "sso",
            "sso",
            "audit logs",
            "audit log",
        ],
    }
    for text, names in examples.items():
        assert FAST.findall(text) == PLAIN.findall(text) == names


def test_the_catalog_trie_agrees_with_re_on_realistic_notes(catalog: Catalog) -> None:
    features = make_features(1000, aliases=3)
    big = Catalog(features, make_mappings(features))
    deals = make_deals(features, 15, notes_kb=20, feature_share=0.1)
    notes = [lower_same_length(note.body) for deal in deals for note in deal.notes]
    notes.append(
        "we'll ship single sign-on, saml sso and scim 2.0 provisioning; the audit-trail and "
        "multi\u2003region failover too. customdashboards? custom dashboard's. salesforce's api"
    )
    for trie in (catalog.pattern, big.pattern):
        assert trie.engine == "re2"
        plain = NameTrie(trie.terms, use_re2=False)
        for low in notes:
            assert trie.spans(low) == plain.spans(low)


def test_a_trie_too_big_for_re2_runs_on_re(monkeypatch) -> None:
    monkeypatch.setattr("app.rules.name_trie._RE2_MAX_TERMS", len(NAMES) - 1)
    big = NameTrie(NAMES)
    assert big.engine == "re"
    assert big.spans("saml sso and oauth 2.0") == FAST.spans("saml sso and oauth 2.0")


def test_names_as_long_as_a_pasted_paragraph_build_and_match() -> None:
    """The trie is as deep as its longest name: built by recursing per character, a name of a
    few hundred characters exhausted Python's stack (a 500 on a feature write, a roadmap
    refresh that stopped every source after it). Runs of one path are one literal now."""
    word = "a" * 5000
    words = ["ab"] * 85  # 254 characters: the longest name the catalog looks for
    names = [*NAMES, [word], words, ["sso", *words]]
    for trie in (NameTrie(names), NameTrie(names, use_re2=False)):
        text = f"{word}, then {' '.join(words)} and sso {' - '.join(words)}."
        found = trie.findall(text)
        assert found == [word, " ".join(words), "sso " + " - ".join(words)]


def test_the_catalog_does_not_look_for_a_name_longer_than_a_name_may_be() -> None:
    from app.rules.catalog import MAX_NAME_LENGTH
    from app.rules.model import Feature

    pasted = " ".join(["very long description"] * 40)
    assert len(pasted) > MAX_NAME_LENGTH
    catalog = Catalog([Feature(key="sso", name="Single Sign-On", aliases=[pasted, "SSO"])])
    found = [m.feature_key for m in catalog.find_mentions(f"SSO. {pasted}.")]
    assert found == ["sso"]
