"""services.catalog: the per-process catalog cache, its matcher version, and the reuse of a
catalog's matchers when only what no note or line item can match changed."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session

from app.models import Feature, ProductMapping
from app.rules.catalog import Catalog
from app.rules.model import DealSnapshot, LineItem, Note, Stage
from app.rules.references import find_references
from app.services.catalog import load_catalog, load_catalog_and_matcher
from tests.services.conftest import edit_feature


def _load(engine) -> tuple[Catalog, str]:
    with Session(engine) as s:
        return load_catalog_and_matcher(s)


def _keys(catalog: Catalog, body: str, sku: str | None = None) -> list[str | None]:
    snapshot = DealSnapshot(
        crm="test",
        deal_id="D1",
        name="Acme",
        stage=Stage(id="qualify"),
        notes=[Note(id="n", body=body)],
        line_items=[LineItem(id="li", name="Add-on", sku=sku)] if sku else [],
    )
    return [r.feature_key for r in find_references(snapshot, catalog, today=date(2026, 12, 3))]


def test_a_status_edit_keeps_the_matchers_and_a_rename_builds_new_ones(sqlite_engine, monkeypatch):
    with Session(sqlite_engine) as s:
        s.add(Feature(key="sso", name="Single sign-on", aliases=["SSO"], availability="beta"))
        s.add(Feature(key="scim", name="SCIM provisioning", availability="available"))
        s.add(ProductMapping(match_kind="sku", match_value="SKU-9", feature_keys=["scim"]))
        s.commit()
    built: list[int] = []
    real_init = Catalog.__init__

    def counting_init(self, features, mappings=(), **kwargs):
        built.append(len(features))
        real_init(self, features, mappings, **kwargs)

    monkeypatch.setattr(Catalog, "__init__", counting_init)
    first, matcher = _load(sqlite_engine)
    assert built == [2]

    edit_feature(sqlite_engine, "sso", availability="never", target_date=date(2027, 6, 30))
    second, same = _load(sqlite_engine)
    assert built == [2]  # not built again
    assert same == matcher and second is not first
    assert second.get("sso").availability == "never"  # the new roadmap, not the cached one
    assert first.get("sso").availability == "beta"  # a catalog in use elsewhere is unchanged
    assert _keys(second, "They need SSO next quarter.", sku="SKU-9") == ["scim", "sso"]

    edit_feature(sqlite_engine, "sso", name="Federated login", aliases=[])
    third, renamed = _load(sqlite_engine)
    assert built == [2, 2] and renamed != matcher
    assert _keys(third, "They need SSO and federated login.") == ["sso"]
    assert _keys(third, "They need SSO.") == []

    with Session(sqlite_engine) as s:  # a mapping is matching input too
        s.add(ProductMapping(match_kind="sku", match_value="SKU-10", feature_keys=["sso"]))
        s.commit()
    fourth, mapped = _load(sqlite_engine)
    assert built == [2, 2, 2] and mapped != renamed
    assert _keys(fourth, "Nothing here.", sku="SKU-10") == ["sso"]
    with Session(sqlite_engine) as s:
        assert load_catalog(s) is fourth  # nothing changed: the cached catalog itself


def test_a_change_committed_after_a_later_stamped_one_still_reaches_the_cache(engine):
    """PostgreSQL writers overlap: A stamps its feature first but commits last. A catalog
    loaded between the commits must not stay cached once A's change is visible."""
    from sqlalchemy import update

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: a later stamp always follows an earlier commit")
    with Session(engine) as s:
        s.add(Feature(key="sso", name="Single sign-on", availability="available"))
        s.add(Feature(key="scim", name="SCIM provisioning", availability="available"))
        s.commit()
    assert _load(engine)[0].get("sso").availability.value == "available"
    slow = Session(engine)
    slow.execute(
        update(Feature).where(Feature.key == "sso").values(availability="never", updated_at=_t(1))
    )  # stamped, not committed (a long roadmap refresh)
    with Session(engine) as fast:
        fast.execute(
            update(Feature).where(Feature.key == "scim").values(guidance="x", updated_at=_t(2))
        )
        fast.commit()
    assert _load(engine)[0].get("sso").availability.value == "available"  # A not visible yet
    slow.commit()
    slow.close()
    assert _load(engine)[0].get("sso").availability.value == "never"


def _t(minutes: int):
    from datetime import UTC, datetime, timedelta

    return datetime(2030, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)


def test_a_new_fiscal_year_start_rebuilds_the_catalog_and_its_matcher_version(
    sqlite_engine, monkeypatch
):
    """The fiscal year changes which dates notes promise, so stored references read under the
    old one must not be reused: the matcher version differs and the cached catalog is rebuilt."""
    from app.services import catalog as catalog_service
    from app.settings import Settings

    monkeypatch.setattr(catalog_service, "_fiscal_year_start", None)  # restored afterwards
    with Session(sqlite_engine) as s:
        s.add(Feature(key="scim", name="SCIM provisioning", aliases=["SCIM"]))
        s.commit()
    catalog_service.configure(Settings(_env_file=None, fiscal_year_start_month=1))
    calendar, calendar_version = _load(sqlite_engine)
    catalog_service.configure(Settings(_env_file=None, fiscal_year_start_month=7))
    fiscal, fiscal_version = _load(sqlite_engine)
    assert fiscal is not calendar and fiscal_version != calendar_version
    assert (calendar.fiscal_year_start, fiscal.fiscal_year_start) == (1, 7)
    snapshot = DealSnapshot(
        crm="test",
        deal_id="D1",
        stage=Stage(id="qualify"),
        notes=[Note(id="n", body="We promised SCIM by Q3.")],
    )
    (ref,) = find_references(snapshot, fiscal, today=date(2026, 12, 3))
    assert ref.promised_date == date(2027, 3, 31)  # Q3 of Jul 2026 - Jun 2027


def test_a_new_business_timezone_rebuilds_the_catalog_and_its_matcher_version(
    sqlite_engine, monkeypatch
):
    """The time zone decides the day a note was written on, so references stored under another
    must not be reused: "next quarter" written at 02:00 UTC on 1 April is Q3 in UTC and Q2 in
    Los Angeles (still 31 March there)."""
    from datetime import UTC, datetime

    from app.services import catalog as catalog_service
    from app.settings import Settings

    monkeypatch.setattr(catalog_service, "_fiscal_year_start", None)  # restored afterwards
    monkeypatch.setattr(catalog_service, "_business_timezone", None)
    with Session(sqlite_engine) as s:
        s.add(Feature(key="scim", name="SCIM provisioning", aliases=["SCIM"]))
        s.commit()
    catalog_service.configure(Settings(_env_file=None))
    utc, utc_version = _load(sqlite_engine)
    catalog_service.configure(Settings(_env_file=None, business_timezone="America/Los_Angeles"))
    local, local_version = _load(sqlite_engine)
    assert local is not utc and local_version != utc_version
    assert (utc.timezone, local.timezone) == ("UTC", "America/Los_Angeles")
    snapshot = DealSnapshot(
        crm="test",
        deal_id="D1",
        stage=Stage(id="qualify"),
        notes=[
            Note(
                id="n",
                body="We'll have SCIM for them next quarter.",
                created_at=datetime(2027, 4, 1, 2, 0, tzinfo=UTC),
            )
        ],
    )
    today = date(2027, 4, 2)
    ((in_utc,), (in_la,)) = (find_references(snapshot, c, today=today) for c in (utc, local))
    assert (in_utc.promised_date, in_la.promised_date) == (date(2027, 9, 30), date(2027, 6, 30))
