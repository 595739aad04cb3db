"""A roadmap change re-queues exactly the open deals that depend on it: not closed ones, not
unrelated ones; new aliases and new product mappings reach deals not yet in the index."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from app.models import Deal, DealFeature, DealQueue, Rule, utcnow
from app.rules.model import DealSnapshot, LineItem, Note, Stage
from app.services import features_service, mappings_service
from app.services.pipeline import apply_snapshot, reevaluate_stored

ACTOR = "revops:test"


def _snapshot(deal_id: str, *, closed=False, sku=None, note=None) -> DealSnapshot:
    return DealSnapshot(
        crm="test",
        deal_id=deal_id,
        name=f"Deal {deal_id}",
        stage=Stage(id="won" if closed else "qualify", is_closed=closed, is_won=closed),
        close_date=date(2026, 12, 31),
        line_items=[LineItem(id="li", name="Add-on", sku=sku)] if sku else [],
        notes=[Note(id="n", body=note)] if note else [],
    )


@pytest.fixture
def world(engine):
    """Two features, a 'never → block' rule, and deals evaluated once (index built)."""
    with Session(engine, expire_on_commit=False) as s:
        for key, name in (("sso", "Single sign-on"), ("scim", "SCIM provisioning")):
            features_service.create_feature(
                s,
                features_service.FeatureCreate(
                    key=key, name=name, availability="available", skus=[f"SKU-{key.upper()}"]
                ),
                actor=ACTOR,
            )
        s.add(
            Rule(
                id="never-sold",
                name="Never sold",
                definition={
                    "id": "never-sold",
                    "name": "Never sold",
                    "severity": "block",
                    "when": {"field": "feature.availability", "op": "eq", "value": "never"},
                    "message": "{feature.name} will never be built.",
                },
            )
        )
        snapshots = [
            _snapshot("open-sso", sku="SKU-SSO"),
            _snapshot("won-sso", closed=True, sku="SKU-SSO"),
            _snapshot("open-scim", note="They need SCIM provisioning for onboarding."),
            _snapshot("open-okta", note="The customer wants Okta login on day one."),
            _snapshot("open-bundle", sku="BUNDLE-9"),
        ]
        now = utcnow()
        for snap in snapshots:
            deal = Deal(crm="test", deal_id=snap.deal_id)
            apply_snapshot(deal, snap, now)
            s.add(deal)
        s.flush()
        reevaluate_stored(s, "test", [x.deal_id for x in snapshots], trigger="webhook")
        s.commit()
    return engine


def _queued(engine) -> dict[str, str]:
    with Session(engine) as s:
        return {q.deal_id: q.reason for q in s.exec(select(DealQueue))}


def _clear_queue(engine) -> None:
    with Session(engine) as s:
        for q in s.exec(select(DealQueue)):
            s.delete(q)
        s.commit()


def test_availability_change_requeues_only_dependent_open_deals(world):
    with Session(world) as s:
        assert {d.deal_id: d.verdict for d in s.exec(select(Deal))} == dict.fromkeys(
            ["open-sso", "won-sso", "open-scim", "open-okta", "open-bundle"], "clear"
        )
        _, fanout = features_service.update_feature(
            s, "sso", features_service.FeatureUpdate(availability="never"), actor=ACTOR
        )
        s.commit()
    assert fanout.candidates == 1
    assert _queued(world) == {"open-sso": "roadmap"}
    with Session(world) as s:
        assert s.exec(select(Deal.verdict).where(Deal.deal_id == "open-sso")).one() == "blocked"
        assert s.exec(select(Deal.verdict).where(Deal.deal_id == "won-sso")).one() == "clear"


def test_change_that_does_not_change_a_verdict_queues_nothing(world):
    with Session(world) as s:
        _, fanout = features_service.update_feature(
            s, "sso", features_service.FeatureUpdate(target_date=date(2027, 1, 1)), actor=ACTOR
        )
        s.commit()
    assert fanout.candidates == 1 and fanout.requeued_count == 0
    assert _queued(world) == {}


def test_new_alias_reaches_deals_not_yet_in_the_index(world):
    with Session(world) as s:
        assert not s.exec(select(DealFeature).where(DealFeature.deal_id == "open-okta")).all()
        features_service.update_feature(
            s,
            "scim",
            features_service.FeatureUpdate(aliases=["Okta login"], availability="never"),
            actor=ACTOR,
        )
        s.commit()
        index = s.exec(select(DealFeature.feature_key).where(DealFeature.deal_id == "open-okta"))
        assert list(index) == ["scim"]
    assert _queued(world) == {"open-scim": "roadmap", "open-okta": "roadmap"}


def test_new_product_mapping_fans_out_to_deals_carrying_that_product(world):
    with Session(world) as s:
        features_service.update_feature(
            s, "sso", features_service.FeatureUpdate(availability="never"), actor=ACTOR
        )
        s.commit()
    _clear_queue(world)
    with Session(world) as s:
        _, fanout = mappings_service.create_mapping(
            s,
            mappings_service.MappingIn(
                match_kind="sku", match_value="bundle-9", feature_keys=["sso"]
            ),
            actor=ACTOR,
        )
        s.commit()
    assert fanout.candidates == 1
    assert _queued(world) == {"open-bundle": "roadmap"}


def test_status_only_change_reuses_stored_references_and_a_new_alias_does_not(world, note_reads):
    """A status edit re-checks the dependants without reading their notes again; a new alias
    changes what the notes can mention, so they are read again."""
    with Session(world) as s:
        _, fanout = features_service.update_feature(
            s, "scim", features_service.FeatureUpdate(availability="never"), actor=ACTOR
        )
        s.commit()
    assert fanout.requeued == {"test": ["open-scim"]}
    assert note_reads == []
    with Session(world) as s:
        features_service.update_feature(
            s, "scim", features_service.FeatureUpdate(aliases=["SCIM"]), actor=ACTOR
        )
        s.commit()
    assert note_reads == ["open-scim"]


def test_a_large_fan_out_is_queued_for_the_worker_not_evaluated_inline(world):
    from app.models import Evaluation
    from app.services.fanout import fan_out, mapping_scope

    with Session(world) as s:
        evaluations = len(s.exec(select(Evaluation)).all())
        result = fan_out(s, mapping_scope(["SKU-SSO", "SKU-SCIM"], ["sso", "scim"]), inline_limit=1)
        s.commit()
        assert len(s.exec(select(Evaluation)).all()) == evaluations  # nothing evaluated inline
    assert result.deferred == result.candidates == 2
    assert _queued(world) == {"open-sso": "roadmap", "open-scim": "roadmap"}


def test_a_slip_flags_won_promises_and_queues_their_followup(world):
    from app.models import Commitment

    with Session(world) as s:
        s.add(
            Commitment(
                crm="test",
                deal_id="won-sso",
                feature_key="sso",
                promised_date=date(2027, 1, 31),
                evidence="SSO by January",
            )
        )
        s.commit()
    with Session(world) as s:
        _, fanout = features_service.update_feature(
            s, "sso", features_service.FeatureUpdate(availability="never"), actor=ACTOR
        )
        s.commit()
    assert fanout.ledger_flagged == 1
    assert _queued(world) == {"open-sso": "roadmap", "won-sso": "ledger"}
    with Session(world) as s:
        assert s.exec(select(Commitment)).one().flagged_at is not None


def _split(session) -> dict[str, int]:
    from app.services.queries import DealFilters, PageRequest, exposure

    body = exposure(session, DealFilters(), PageRequest(limit=50))
    return {a["availability"]: a["deal_count"] for a in body.extra["by_availability"]}


def _rows(session, key: str) -> dict[int, str]:
    rows = session.exec(select(DealFeature).where(DealFeature.feature_key == key))
    return {r.id: r.availability for r in rows}


def test_availability_copied_onto_the_rows_follows_an_edit_without_rewriting_them(world):
    """The exposure split reads the availability copied onto deal_feature: a feature edit that
    leaves the references alone (so the rows are not rewritten) must still update the copy."""
    with Session(world) as s:
        sso_rows = _rows(s, "sso")
        assert set(sso_rows.values()) == {"available"}  # written by the pipeline
        assert _split(s) == {"available": 2}  # open-sso, open-scim (won-sso is closed)
        _, fanout = features_service.update_feature(
            s, "sso", features_service.FeatureUpdate(availability="never"), actor=ACTOR
        )
        s.commit()
        assert fanout.candidates == 1
    with Session(world) as s:
        after = _rows(s, "sso")
        assert after.keys() == sso_rows.keys()  # the same rows: only the copy was updated
        assert set(after.values()) == {"never"}  # closed deals' rows too
        assert _split(s) == {"never": 1, "available": 1}


def test_availability_copy_follows_a_deferred_fan_out_and_a_delete(world, monkeypatch):
    """Large fan-outs only queue the deals; the copy must be right before the worker runs."""
    from app.models import Feature as FeatureRow
    from app.services import fanout as fanout_module
    from app.services.catalog import feature_from_row
    from app.services.fanout import fan_out, feature_scope

    with Session(world) as s:
        _, fanout = features_service.update_feature(
            s, "scim", features_service.FeatureUpdate(availability="beta"), actor=ACTOR
        )
        s.commit()
    assert _queued(world) == {}  # available → beta changes no verdict
    with Session(world) as s:
        assert set(_rows(s, "scim").values()) == {"beta"}
        assert _split(s) == {"available": 1, "beta": 1}
        row = s.get(FeatureRow, "sso")
        before = feature_from_row(row)
        row.availability = "coming_soon"
        s.add(row)
        result = fan_out(s, feature_scope(before, feature_from_row(row)), inline_limit=0)
        s.commit()
        assert result.deferred == 1
        assert _split(s) == {"coming_soon": 1, "beta": 1}
    monkeypatch.setattr(fanout_module, "INLINE_LIMIT", 0)  # the deal is queued, not rewritten
    with Session(world) as s:
        features_service.delete_feature(s, "sso", actor=ACTOR)
        s.commit()
        assert set(_rows(s, "sso").values()) == {"unknown"}
        assert _split(s) == {"unknown": 1, "beta": 1}


def test_status_mapping_edit_and_refresh_rewrite_the_availability_copy(world):
    """A source's features change availability by a refresh or by a status-mapping edit."""
    from app.models import Feature as FeatureRow
    from app.models import RoadmapSource
    from app.rules.model import Feature
    from app.services import roadmap_sources
    from app.services.fanout import fan_out
    from app.services.roadmap_refresh import replace_source_features

    with Session(world) as s:
        s.delete(s.get(FeatureRow, "scim"))  # the registry's scim moves to the source
        s.add(RoadmapSource(name="acme", kind="http", status_mapping={"GA": "available"}))
        s.flush()
        source = s.get(RoadmapSource, "acme")
        fetched = [
            Feature(key="scim", name="SCIM provisioning", availability="uncertain",
                    source_status="Exploring"),
        ]  # fmt: skip
        _, scope, _ = replace_source_features(s, source, fetched)
        fan_out(s, scope, inline_limit=0)  # refresh_source's fan-out; deals only queued
        s.commit()
        assert set(_rows(s, "scim").values()) == {"uncertain"}
    with Session(world) as s:
        roadmap_sources.update_source(
            s,
            "acme",
            roadmap_sources.SourceUpdate(status_mapping={"Exploring": "never"}),
            actor=ACTOR,
        )
        s.commit()
        assert set(_rows(s, "scim").values()) == {"never"}
        assert _split(s) == {"available": 1, "never": 1}


def test_a_new_feature_reaches_deals_that_name_it_in_any_spelling_the_matcher_accepts(world):
    """The pre-filter is looser than the matcher, never stricter: hyphens, case, a SKU with
    other spacing, and non-ASCII names (stored as UTF-8, lower-cased by SQL as ASCII only)."""
    deals = {
        "hyphen-note": _snapshot("hyphen-note", note="They want the audit-log export."),
        "hyphen-item": _snapshot("hyphen-item").model_copy(
            update={"line_items": [LineItem(id="li", name="Audit-Log")]}
        ),
        "spaced-sku": _snapshot("spaced-sku").model_copy(
            update={"line_items": [LineItem(id="li", name="Widget", sku="wid-1 ")]}
        ),
        "umlaut": _snapshot("umlaut", note="Die Zugriffsprüfung ist Pflicht."),
        "umlaut-upper": _snapshot("umlaut-upper", note="ZUGRIFFSPRÜFUNG fehlt noch."),
        "unrelated": _snapshot("unrelated", note="Nothing here about audits or logs."),
    }
    with Session(world) as s:
        now = utcnow()
        for snap in deals.values():
            deal = Deal(crm="test", deal_id=snap.deal_id)
            apply_snapshot(deal, snap, now)
            s.add(deal)
        s.flush()
        reevaluate_stored(s, "test", list(deals), trigger="webhook")
        s.commit()
    _clear_queue(world)
    with Session(world) as s:
        for key, name, skus in (("audit", "Audit log", ["WID-1"]), ("acl", "Zugriffsprüfung", [])):
            features_service.create_feature(
                s,
                features_service.FeatureCreate(key=key, name=name, availability="never", skus=skus),
                actor=ACTOR,
            )
        s.commit()
    assert _queued(world) == dict.fromkeys(
        ["hyphen-note", "hyphen-item", "spaced-sku", "umlaut", "umlaut-upper"], "roadmap"
    )


def _create(s, key: str, name: str, **values) -> None:
    features_service.create_feature(
        s,
        features_service.FeatureCreate(key=key, name=name, availability="never", **values),
        actor=ACTOR,
    )


def _update(s, key: str, **values) -> None:
    features_service.update_feature(s, key, features_service.FeatureUpdate(**values), actor=ACTOR)


# (case, what the deal says, set-up before the deal's evaluation is settled, the change).
# Each change makes a feature named the way the deal names it `never` available: the deal must
# be re-evaluated (blocked) and re-queued although it is not yet in the index for that feature.
_NOT_YET_INDEXED = [
    ("plural", "All their traffic goes through two proxies.", None,
     lambda s: _create(s, "proxy", "Proxy")),
    ("plural-ies", "Their retention policies are strict.", None,
     lambda s: _create(s, "retention", "Retention Policy")),
    ("punctuation", "They need CI-CD gates before go-live.", None,
     lambda s: _create(s, "cicd", "CI/CD")),
    ("sharp-s", "Die Straßenkarte fehlt noch.", None,
     lambda s: _create(s, "karte", "Straßenkarte")),
    ("capital-sharp-s", "DIE STRAẞENKARTE FEHLT NOCH.", None,
     lambda s: _create(s, "karte", "Straßenkarte")),
    ("possessive", "The audit trail's retention came up.", None,
     lambda s: _create(s, "trail", "Audit trail")),
    # "plug-in" is a product word of the matcher's: "Plugin" matches it by its letters.
    ("alias-added", "They need our Outlook plug-in.", None,
     lambda s: _update(s, "scim", aliases=["Plugin"], availability="never")),
    ("name-changed", "They run two reverse proxies in front of it.",
     lambda s: _create(s, "gateway", "API gateway"),
     lambda s: _update(s, "gateway", name="Reverse proxy")),
    ("line-item-camel-case", LineItem(id="li", name="Audit Log"), None,
     lambda s: _create(s, "auditlog", "AuditLog")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("says", "setup", "change"),
    [pytest.param(*case[1:], id=case[0]) for case in _NOT_YET_INDEXED],
)
def test_a_new_name_requeues_the_deals_the_matcher_finds_it_in(world, says, setup, change):
    """The fan-out's pre-filter (SQL LIKE, then a word-bounded look and the matcher) lets
    through every deal the matcher finds the new name in, however it is spelt there; an
    unrelated deal that holds pieces of the names ("approximately", "policy", "ci", "audit")
    is not re-evaluated."""
    unrelated = "Approximately 40 seats; the policy team will confirm the CI budget and audits."
    deals = [_snapshot("case", note=says if isinstance(says, str) else None)]
    if isinstance(says, LineItem):
        deals[0] = deals[0].model_copy(update={"line_items": [says]})
    deals.append(_snapshot("unrelated", note=unrelated))
    with Session(world) as s:
        if setup is not None:
            setup(s)
        now = utcnow()
        for snap in deals:
            deal = Deal(crm="test", deal_id=snap.deal_id)
            apply_snapshot(deal, snap, now)
            s.add(deal)
        s.flush()
        reevaluate_stored(s, "test", ["case", "unrelated"], trigger="webhook")
        s.commit()
    _clear_queue(world)
    with Session(world) as s:
        change(s)
        s.commit()
        verdicts = dict(s.exec(select(Deal.deal_id, Deal.verdict)).all())
    queued = _queued(world)
    assert queued.get("case") == "roadmap"
    assert verdicts["case"] == "blocked"
    assert "unrelated" not in queued and verdicts["unrelated"] == "clear"


@pytest.mark.parametrize(
    ("before", "after", "new"),
    [
        ("SSO", "sso", False),  # same words: the matcher ignores case
        ("Audit-Log", "audit log", False),  # and separators
        ("Straße", "STRASSE", True),  # str.lower, not casefold: other words
        ("Export", "export", True),  # an ordinary word matches only as written
    ],
)
def test_a_renamed_term_is_new_when_the_matcher_reads_it_differently(before, after, new):
    from app.rules.model import Feature
    from app.services.fanout import feature_scope

    old = Feature(key="f", name=before, availability="available")
    scope = feature_scope(old, old.model_copy(update={"name": after}))
    assert scope.terms == ({after} if new else set())


def test_the_pre_filter_patterns_hold_in_every_spelling_the_matcher_accepts():
    """`_term_patterns` (SQL) and `_near_pattern` (Python) against the matcher itself, over
    plurals, possessives, separators, upper case, "ẞ" and the Kelvin sign, on SQLite's LIKE
    (PostgreSQL compares the same lower-cased text)."""
    import re
    import sqlite3

    import orjson

    from app.rules.catalog import Catalog, lower_same_length
    from app.rules.model import Feature
    from app.services.fanout import _near_pattern, _spellings, _stem_pieces, _term_patterns

    names = ["Proxy", "Retention Policy", "CI/CD", "Straßenkarte", "OAuth 2.0", "Dashboards",
             "Key Vault", "Zugriffsprüfung", "Audit log", "AI", "Export", "HTTPServer"]  # fmt: skip
    spellings = ["{}", "{}s", "{}'s", "{}\u2019s", "{}es", "{}s'"]
    seps = [" ", "-", "/", "_", "  ", " - ", "", ".", "\n"]
    db = sqlite3.connect(":memory:")
    checked = 0
    for name in names:
        catalog = Catalog([Feature(key="f", name=name, availability="available")])
        patterns = _term_patterns(name, _spellings(catalog))
        near = re.compile(_near_pattern(_stem_pieces(name, _spellings(catalog))))
        words = re.findall(r"[^\W_]+", name)
        for sep in seps:
            joined = sep.join(words)
            plural = joined[:-1] + "ies" if joined.endswith("y") else joined
            for text in {joined, joined.upper(), plural, joined.replace("ß", "ẞ").upper()}:
                for form in spellings:
                    note = "They want " + form.format(text.replace("K", "\u212a")) + " soon."
                    if not catalog.find_mentions(note, fuzzy=False):
                        continue
                    checked += 1
                    stored = orjson.dumps({"notes": [{"body": note}]}).decode()
                    for p in patterns:
                        (hit,) = db.execute("SELECT ? LIKE ? ESCAPE '\\'", (stored, p)).fetchone()
                        assert hit, (name, note, p)
                    assert near.search(lower_same_length(note)), (name, note)
    assert checked > 500


def test_an_import_finds_the_same_dependents_with_one_read_of_the_deals(engine, monkeypatch):
    """Many line values (a mapping import) ran one OR of LIKEs per 50 values, each reading
    every open deal's snapshot: 3,000 reads for 150,000 values. The deals found are the same:
    those carrying a value as the catalog compares it and passing some value's LIKE."""
    from sqlalchemy import event

    from app.services import fanout

    items = {
        "case": [LineItem(id="a", name="Add-on", sku="sku-a")],
        "sharp-s": [LineItem(id="a", name="STRASSE PACK")],
        "pid": [LineItem(id="a", name="X", product_id="PID-7")],
        "spacing": [LineItem(id="a", name="multi word   name")],
        "ligature": [LineItem(id="a", name="\ufb01le pack")],  # casefolds to "file pack"
        "two-items": [LineItem(id="a", name="\ufb01le pack"), LineItem(id="b", name="Strasse")],
        "closed": [LineItem(id="a", name="Add-on", sku="SKU-A")],
        "in-a-note-only": [],
        "nothing": [LineItem(id="a", name="Other", sku="OTHER-1")],
    }
    now = utcnow()
    with Session(engine) as s:
        for deal_id, line_items in items.items():
            note = "Quote SKU-B and pid-7" if deal_id == "in-a-note-only" else None
            snap = _snapshot(deal_id, closed=deal_id == "closed", note=note)
            snap = snap.model_copy(update={"line_items": line_items})
            deal = Deal(crm="test", deal_id=deal_id)
            apply_snapshot(deal, snap, now)
            s.add(deal)
        s.commit()
    values = ["SKU-A", "Straße Pack", "pid-7", "Multi Word Name", "File Pack", "SKU-B"]
    values += [f"FILL-{n}" for n in range(600)]
    expected = {"case", "sharp-s", "pid", "spacing", "ligature", "two-items"}

    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM deal" in statement and "snapshot" in statement.split("FROM")[0]:
            reads.append(statement)

    with Session(engine) as s:
        event.listen(s.get_bind(), "before_cursor_execute", count)
        try:
            found = fanout.dependent_open_deals(s, fanout.mapping_scope(values))
        finally:
            event.remove(s.get_bind(), "before_cursor_execute", count)
    assert found == {"test": expected}
    assert len(reads) == 1  # the open deals' snapshots read once, not once per 50 values
    # The pre-filter path, every value's LIKE over every deal (a scope it still serves: few
    # values, or note terms), finds the same.
    monkeypatch.setattr(fanout, "LIKE_CHUNK", 10_000)
    with Session(engine) as s:
        for start in range(0, len(values), 40):
            chunk = values[start : start + 40]
            assert fanout.dependent_open_deals(s, fanout.mapping_scope(chunk)) == {
                "test": {d for d in expected if _carries(items[d], chunk)}
            } or not any(_carries(items[d], chunk) for d in expected)
        assert fanout.dependent_open_deals(s, fanout.mapping_scope(values[:6])) == {
            "test": expected
        }


def _carries(line_items, values) -> bool:
    from app.rules.catalog import norm_code

    codes = {norm_code(v) for v in values}
    return any(
        norm_code(str(v)) in codes
        for li in line_items
        for v in (li.sku, li.product_id, li.name)
        if v
    )


def test_a_change_with_more_new_names_than_worth_filtering_rechecks_every_open_deal(
    world, monkeypatch
):
    """A big roadmap's first import brings thousands of names: building each one's LIKE
    pre-filter cost more than re-checking every open deal (150 s for 40,000 names with no
    deal at all). Past TERMS_READ_ALL every open deal is a candidate, closed ones are not, and
    no pattern is built."""
    from app.services import fanout as fanout_module

    built: list[str] = []
    real = fanout_module._term_groups
    monkeypatch.setattr(fanout_module, "_term_groups", lambda t, sp: built.append(t) or real(t, sp))
    monkeypatch.setattr(fanout_module, "TERMS_READ_ALL", 2)
    scope = fanout_module.ChangeScope(terms={"Okta login", "Audit trail", "Data hub"})
    with Session(world) as s:
        found = fanout_module.dependent_open_deals(s, scope)
    assert found == {"test": {"open-sso", "open-scim", "open-okta", "open-bundle"}}
    assert built == []
    # at or under the limit, the names' patterns are built and only deals passing them read
    monkeypatch.setattr(fanout_module, "TERMS_READ_ALL", 3)
    with Session(world) as s:
        fanout_module.dependent_open_deals(s, scope)
    assert sorted(built) == sorted(scope.terms)


def test_new_names_with_no_open_deal_build_no_pattern(engine, monkeypatch):
    from app.services import fanout as fanout_module

    monkeypatch.setattr(
        fanout_module, "_term_groups", lambda t, sp: pytest.fail("a pattern was built")
    )
    with Session(engine) as s:
        found = fanout_module.dependent_open_deals(s, fanout_module.ChangeScope(terms={"SCIM"}))
    assert found == {}
