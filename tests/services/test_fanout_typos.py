"""A new alias or name reaches the deals whose notes spell it with a typo the matcher accepts
("okta snyc" for a new alias "Okta sync"): the fan-out's pre-filter (SQL LIKE, then a Python
look at the notes) lets through every deal the matcher finds the name in, typos included, and
still leaves out the deals that cannot mention it."""

from __future__ import annotations

import re
import sqlite3
from itertools import islice

import orjson
import pytest
from sqlmodel import Session, select

from app.models import Deal, utcnow
from app.rules.catalog import Catalog
from app.rules.model import Feature
from app.services import fanout, features_service
from app.services.pipeline import apply_snapshot, reevaluate_stored

from .test_fanout import _clear_queue, _create, _queued, _snapshot, _update, world  # noqa: F401

UNRELATED = "Approximately 40 seats; pricing review with procurement next week."


def _edits(word: str) -> list[tuple[str, str]]:
    """Every single edit of `word` the matcher's OSA distance counts as one."""
    out = []
    for i in range(len(word)):
        out.append(("deletion", word[:i] + word[i + 1 :]))
        out.append(("substitution", word[:i] + ("q" if word[i] != "q" else "z") + word[i + 1 :]))
    for i in range(len(word) - 1):
        if word[i] != word[i + 1]:
            out.append(("transposition", word[:i] + word[i + 1] + word[i] + word[i + 2 :]))
    for i in range(len(word) + 1):
        out.append(("insertion", word[:i] + "e" + word[i:]))
    return out


def _misspellings(name: str) -> list[tuple[str, str]]:
    """(kind, text): one edit in each word at each position, two edits in one word, one edit
    in each of two words, written with several separators, in upper case, as a plural."""
    words = [w for w in name.replace("/", " ").replace("-", " ").split() if w]
    found: list[tuple[str, str]] = []
    for i, word in enumerate(words):
        for kind, typo in _edits(word):
            found.append((kind, words[:i] + [typo] + words[i + 1 :]))
            for kind2, typo2 in islice(_edits(typo), 0, None, 5):
                found.append((f"{kind}+{kind2}", words[:i] + [typo2] + words[i + 1 :]))
            for j in range(i + 1, len(words)):
                for kind2, typo2 in islice(_edits(words[j]), 0, None, 3):
                    changed = words[:i] + [typo] + words[i + 1 : j] + [typo2] + words[j + 1 :]
                    found.append((f"{kind}/{kind2}", changed))
    texts = []
    for kind, ws in found:
        for sep in (" ", "-", " / "):
            texts.append((kind, sep.join(ws)))
        texts.append((kind + ",upper", " ".join(ws).upper()))
        texts.append((kind + ",plural", " ".join(ws) + "s"))
        texts.append((kind + ",newline", "\n".join(ws)))
    return texts


def _passes(groups, stored: str, db: sqlite3.Connection) -> bool:
    """The fan-out's LIKE condition (groups OR-ed, clauses AND-ed, patterns OR-ed) on SQLite."""

    def like(p: str) -> bool:
        return db.execute("SELECT ? LIKE ? ESCAPE '\\'", (stored, p)).fetchone()[0] == 1

    return any(all(any(like(p) for p in clause) for clause in group) for group in groups)


NAMES = [
    "Okta sync", "Single sign-on", "SCIM provisioning", "Auditlog", "Reverse proxy",
    "Okta login", "Zugriffsprüfung", "Retention Policy", "Data residency controls",
    "Key Vault", "OAuth 2.0", "Dashboards", "Kubernetes operator", "Offline mode",
    "Salesforce integration", "Workday connector",
]  # fmt: skip


def test_the_pre_filter_holds_every_misspelling_the_matcher_accepts():
    """Property-style: substitutions, transpositions, deletions, insertions in every word and
    position, two in one word, one in each of two words, with separators, upper case (and
    the Kelvin sign for "K"), plurals. Wherever the matcher (typo tolerant) finds the name,
    the SQL pre-filter (SQLite's LIKE over the stored JSON; PostgreSQL compares the same
    lower-cased text) and the Python pre-checks of the notes before the matcher let the deal
    through."""
    db = sqlite3.connect(":memory:")
    others = [Feature(key="sso", name="SSO", availability="available", aliases=["SAML login"])]
    checked = fuzzy = 0
    for name in NAMES:
        catalog = Catalog([Feature(key="f", name=name, availability="available"), *others])
        spellings = fanout._spellings(catalog)
        groups = fanout._term_groups(name, spellings)
        near = re.compile(fanout._near_pattern(fanout._stem_pieces(name, spellings)))
        typo_words = fanout._typo_words([name])
        assert () not in groups, name  # every one of them narrows
        for kind, text in _misspellings(name):
            for shown in {text, text.replace("K", "\u212a")}:
                note = f"Customer call: they want {shown} before renewal."
                mentions = [m for m in catalog.find_mentions(note) if m.feature_key == "f"]
                if not mentions:
                    continue
                checked += 1
                fuzzy += all(m.fuzzy for m in mentions)
                stored = orjson.dumps({"notes": [{"body": note}]}).decode()
                assert _passes(groups, stored, db), (name, kind, note)
                # the Python pre-checks before the matcher, as `dependent_open_deals` runs them
                snapshot = {"notes": [{"body": note}]}
                assert fanout._snapshot_mentions(
                    snapshot, set(), set(), catalog, {"f"}, near, typo_words
                ), (name, kind, note)
        unrelated = orjson.dumps({"notes": [{"body": UNRELATED}]}).decode()
        assert not _passes(groups, unrelated, db), name
    assert fuzzy > 2000 and checked > fuzzy


def test_terms_never_matched_with_typos_keep_their_exact_pieces():
    """Short names, acronyms and ordinary one-word names are matched exactly only: no
    alternative is added, so they read no more deals than before."""
    catalog = Catalog([Feature(key="f", name="SCIM", availability="available")])
    spellings = fanout._spellings(catalog)
    for name in ("SCIM", "CI/CD", "Export", "Proxy", "SSO", "AI", "HTTP 2", "Key DB"):
        assert fanout._typo_alternatives(name) == (), name
        assert fanout._term_groups(name, spellings) == {
            tuple(sorted((p,) for p in fanout._term_patterns(name, spellings)))
        }


@pytest.mark.parametrize(
    ("edits", "length"),
    [(0, 5), (1, 6), (1, 11), (2, 12), (2, 16), (3, 17), (3, 22), (4, 23), (5, 29)],
)
def test_typo_edits_is_the_most_the_cutoff_allows(edits, length):
    from rapidfuzz.distance import OSA

    from app.rules.catalog import FUZZY_CUTOFF

    name = "a" * length
    assert fanout._typo_edits(length) == edits
    # `edits` insertions reach the cutoff, one more does not
    assert OSA.normalized_similarity(name + "b" * edits, name) * 100 >= FUZZY_CUTOFF
    assert OSA.normalized_similarity(name + "b" * (edits + 1), name) * 100 < FUZZY_CUTOFF


def _add_deals(engine, notes: dict[str, str], setup=None) -> None:
    with Session(engine) as s:
        if setup is not None:
            setup(s)
        now = utcnow()
        for deal_id, note in notes.items():
            deal = Deal(crm="test", deal_id=deal_id)
            apply_snapshot(deal, _snapshot(deal_id, note=note), now)
            s.add(deal)
        s.flush()
        reevaluate_stored(s, "test", list(notes), trigger="webhook")
        s.commit()
    _clear_queue(engine)


@pytest.fixture
def matcher_reads(monkeypatch) -> list[str]:
    """The deals whose snapshot the fan-out hands to the matcher (`_snapshot_mentions`)."""
    read: list[str] = []
    real = fanout._snapshot_mentions

    def counting(snapshot, *args, **kwargs):
        read.append(snapshot.get("deal_id"))
        return real(snapshot, *args, **kwargs)

    monkeypatch.setattr(fanout, "_snapshot_mentions", counting)
    return read


# (case, the misspelt note, set-up, the change that makes a feature so named `never`).
_TYPOS = [
    ("alias-substitution", "They need Okta symc before go-live.", None,
     lambda s: _update(s, "scim", aliases=["Okta sync"], availability="never")),
    ("alias-transposition", "They need okta snyc before go-live.", None,
     lambda s: _update(s, "scim", aliases=["Okta sync"], availability="never")),
    ("alias-first-word", "They need Otka sync before go-live.", None,
     lambda s: _update(s, "scim", aliases=["Okta sync"], availability="never")),
    ("alias-deletion", "Directory sync: they rely on Workdy connector.", None,
     lambda s: _update(s, "scim", aliases=["Workday connector"], availability="never")),
    ("alias-insertion", "They rely on the Workday connecter today.", None,
     lambda s: _update(s, "scim", aliases=["Workday connector"], availability="never")),
    ("alias-two-edits", "Blocker: Salesforce intergation for the renewal.", None,
     lambda s: _update(s, "scim", aliases=["Salesforce integration"], availability="never")),
    ("new-feature", "Security asks for data residncy controls.", None,
     lambda s: _create(s, "residency", "Data residency controls")),
    ("name-changed", "They run a revrese proxy in front of it.",
     lambda s: _create(s, "gateway", "API gateway"),
     lambda s: _update(s, "gateway", name="Reverse proxy")),
    ("name-changed-one-word", "The auditlgo export came up again.",
     lambda s: _create(s, "audit", "Audit trail"),
     lambda s: _update(s, "audit", name="Auditlog")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("says", "setup", "change"), [pytest.param(*case[1:], id=case[0]) for case in _TYPOS]
)
def test_a_new_name_misspelt_in_a_note_requeues_its_deal(
    world,  # noqa: F811
    matcher_reads,
    says,
    setup,
    change,
):
    """The deal is re-evaluated (blocked) and queued for write-back by the fan-out of the
    change, although it is not yet in the index for that feature; the unrelated deal is not
    even read by the matcher."""
    _add_deals(world, {"case": says, "unrelated": UNRELATED}, setup)
    matcher_reads.clear()
    with Session(world) as s:
        change(s)
        s.commit()
        verdicts = dict(s.exec(select(Deal.deal_id, Deal.verdict)).all())
    queued = _queued(world)
    assert queued.get("case") == "roadmap"
    assert verdicts["case"] == "blocked"
    assert "case" in matcher_reads
    assert "unrelated" not in queued and verdicts["unrelated"] == "clear"
    assert "unrelated" not in matcher_reads


def test_the_matcher_reads_only_the_deals_that_pass_the_typo_pre_filter(world, matcher_reads):  # noqa: F811
    """A new alias "Okta sync": the deals read by the matcher are those holding "okta" or
    "sync" (one of its words must be spelt right for a typo match); the rest of the open deals
    are left in the database, and only the misspelt mention is re-evaluated."""
    notes = {
        "typo": "Okta snyc is a must for them.",
        "other-word": "Calendar sync is a must for them.",  # read, not a mention
        "far-off": "Oktaa synchronisation is a must.",  # two words off: no
        "unrelated": UNRELATED,
        "unrelated-2": "Legal wants the MSA redlines by Friday.",
    }
    _add_deals(world, notes)
    matcher_reads.clear()
    with Session(world) as s:
        _, result = features_service.update_feature(
            s,
            "scim",
            features_service.FeatureUpdate(aliases=["Okta sync"], availability="never"),
            actor="revops:test",
        )
        s.commit()
    # open-scim is in the index already; open-okta ("Okta login") holds "okta"
    assert sorted(matcher_reads) == ["far-off", "open-okta", "other-word", "typo"]
    assert _queued(world) == {"open-scim": "roadmap", "typo": "roadmap"}
    assert result.candidates == 2


def test_too_many_deals_for_a_misspelt_name_are_queued_unread_for_the_worker(
    world,  # noqa: F811
    matcher_reads,
    monkeypatch,
):
    """A typo-tolerant name of common words lets most open deals through its pre-filter
    ("sign" for "Single Sign-On"): reading each one's notes in the feature edit's transaction
    took seconds at 20,000 deals with SQLite's write lock held. Past TYPO_READ_LIMIT the
    deals passing it are queued unread, and the worker's re-evaluation from the stored
    snapshot decides: the misspelt mention is blocked, the others stay as they were."""
    notes = {
        "typo": "Okta snyc is a must for them.",
        "other-word": "Calendar sync is a must for them.",
        "far-off": "Oktaa synchronisation is a must.",
        "unrelated": UNRELATED,
    }
    _add_deals(world, notes)
    monkeypatch.setattr(fanout, "TYPO_READ_LIMIT", 3)
    monkeypatch.setattr(fanout, "INLINE_LIMIT", 3)
    matcher_reads.clear()
    with Session(world) as s:
        _, result = features_service.update_feature(
            s,
            "scim",
            features_service.FeatureUpdate(aliases=["Okta sync"], availability="never"),
            actor="revops:test",
        )
        s.commit()
    assert matcher_reads == []  # four pass the pre-filter, one more than may be read
    queued = _queued(world)
    assert queued == dict.fromkeys(
        ["far-off", "open-okta", "open-scim", "other-word", "typo"], "roadmap"
    )
    assert (result.candidates, result.deferred) == (5, 5)
    with Session(world) as s:  # as the worker re-evaluates them
        changed = reevaluate_stored(s, "test", sorted(queued), trigger="roadmap")
        s.commit()
        verdicts = dict(s.exec(select(Deal.deal_id, Deal.verdict)).all())
    assert "typo" in changed and verdicts["typo"] == "blocked"
    assert verdicts["other-word"] == verdicts["far-off"] == verdicts["unrelated"] == "clear"
    # within the limit they are read here, as before
    _clear_queue(world)
    monkeypatch.setattr(fanout, "TYPO_READ_LIMIT", 4)
    from app.models import Feature as FeatureRow
    from app.services.catalog import feature_from_row

    with Session(world) as s:
        after = feature_from_row(s.get(FeatureRow, "scim"))
        scope = fanout.feature_scope(after.model_copy(update={"aliases": []}), after)
        matcher_reads.clear()
        found = fanout.dependent_open_deals(s, scope)
    # "typo" is in the index now; the three others passing the pre-filter are read, not kept
    assert found == {"test": {"open-scim", "typo"}}
    assert sorted(matcher_reads) == ["far-off", "open-okta", "other-word"]
