"""The roadmap catalog and the enabled rules, as the engine sees them, cached per process.

Building a `Catalog` precompiles every feature's matchers, so it is built once per roadmap
version, not per deal. The API and the workers run in different processes, so an in-memory
"invalidate on write" would leave the other processes stale; instead every call runs one cheap
fingerprint query (row counts and the latest `updated_at` of the feature and product_mapping
tables, which every write path here bumps, and on PostgreSQL the sum of their rows' `xmin`:
see `_change_marks`) and rebuilds only when it moved. The query runs in
the caller's session, so a transaction that has just changed the roadmap sees its own change.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from pydantic import ValidationError
from sqlalchemy import BigInteger, Table, Text, cast, func, literal_column, select
from sqlmodel import Session

from app.connectors.salesforce.ids import to18
from app.models import Feature as FeatureRow
from app.models import ProductMapping, Rule
from app.rules.model import Feature, ProductMappingEntry

if TYPE_CHECKING:
    from app.rules.catalog import Catalog
    from app.rules.engine import StoredRule
    from app.settings import Settings

log = structlog.get_logger(__name__)

_lock = threading.Lock()
_catalogs: dict[str, tuple[tuple, Catalog, str]] = {}
_rules: dict[str, tuple[tuple, list[StoredRule]]] = {}
# The month the company's fiscal year starts in (settings.fiscal_year_start_month): how notes'
# quarters and fiscal years are read. Set by `configure` when the app, a worker or a command
# starts; until then the environment's settings say it.
_fiscal_year_start: int | None = None
# The same for settings.business_timezone: the day a note was written on, and "today".
_business_timezone: str | None = None


def configure(settings: Settings) -> None:
    """Read notes in this process with `settings`' fiscal year and time zone (the app and CLI
    call this at start-up, so a process built with explicit settings does not fall back to
    the environment's)."""
    global _fiscal_year_start, _business_timezone
    _fiscal_year_start = settings.fiscal_year_start_month
    _business_timezone = settings.business_timezone


def fiscal_year_start() -> int:
    if _fiscal_year_start is None:
        from app.settings import get_settings

        return get_settings().fiscal_year_start_month
    return _fiscal_year_start


def business_timezone() -> str:
    if _business_timezone is None:
        from app.settings import get_settings

        return get_settings().business_timezone
    return _business_timezone


# A Salesforce product's id (Product2, key prefix 01t) in its 15-character form: what a report,
# a list view or a Classic URL shows. A line item carries the 18-character form the API returns.
_SALESFORCE_PRODUCT_15 = re.compile(r"01t[A-Za-z0-9]{12}")


def product_id_as_read(value: str) -> str:
    """`value`, or the 18-character form of the 15-character Salesforce product id it is: a
    mapping (or a feature's own product id) for "01t5g000000AbCd", as an exported report has
    it, matched no line item (they say "01t5g000000AbCdAAE"), and two products whose 15-character
    ids differ only in case were one product to the case-blind comparison. Applied on write
    (mappings, features) and when the catalog is built, for ids stored before (or brought by a
    roadmap source) in the short form."""
    return to18(value) if _SALESFORCE_PRODUCT_15.fullmatch(value) else value


def feature_from_row(row: FeatureRow) -> Feature:
    return Feature(
        key=row.key,
        name=row.name,
        aliases=list(row.aliases or []),
        availability=row.availability,
        target_date=row.target_date,
        confidence=row.confidence,
        skus=list(row.skus or []),
        product_ids=[product_id_as_read(p) for p in row.product_ids or []],
        source=row.source,
        source_status=row.source_status,
        url=row.url,
        guidance=row.guidance,
    )


def mapping_from_row(row: ProductMapping) -> ProductMappingEntry:
    value = (
        product_id_as_read(row.match_value) if row.match_kind == "product_id" else row.match_value
    )
    return ProductMappingEntry(
        match_kind=row.match_kind, match_value=value, feature_keys=list(row.feature_keys)
    )


def _cache_key(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def _change_marks(session: Session, table: Table) -> list[Any]:
    """Scalar subqueries that move whenever a row of `table` is added, edited or removed.

    Row count and latest `updated_at` suffice on SQLite, whose writers are serialized: a write
    stamps its rows after the one before it committed. PostgreSQL writers overlap: a
    transaction that stamped its rows at T1 and commits after another one stamped T2 > T1
    leaves the latest `updated_at` at T2, and a catalog loaded between the two commits stayed
    cached for good (a roadmap refresh's long transaction against an edit through the API).
    There the sum of the rows' `xmin` (the id of the transaction that wrote each row version;
    kept by freezing since PostgreSQL 9.4) moves with every committed insert or update.
    """
    marks = [
        select(func.count()).select_from(table).scalar_subquery(),
        select(func.max(table.c.updated_at)).scalar_subquery(),
    ]
    if session.get_bind().dialect.name == "postgresql":
        xmin = cast(cast(literal_column(f"{table.name}.xmin"), Text), BigInteger)
        marks.append(select(func.sum(xmin)).select_from(table).scalar_subquery())
    return marks


def catalog_fingerprint(session: Session) -> tuple[Any, ...]:
    """One round trip; changes whenever a feature or mapping is added, edited or removed."""
    f, m = FeatureRow.__table__, ProductMapping.__table__
    stmt = select(*_change_marks(session, f), *_change_marks(session, m))
    return tuple(session.execute(stmt).one())


def load_catalog(session: Session) -> Catalog:
    return load_catalog_and_matcher(session)[0]


def load_catalog_and_matcher(session: Session) -> tuple[Catalog, str]:
    """The current catalog and its `matcher_version`."""
    from app.rules.catalog import Catalog

    key = _cache_key(session)
    fingerprint = catalog_fingerprint(session)
    fy_start, zone = fiscal_year_start(), business_timezone()
    fingerprint = (*fingerprint, fy_start, zone)
    cached = _catalogs.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1], cached[2]
    # In key (and id) order: PostgreSQL returns an updated row elsewhere in an unordered
    # scan, and the order decides the order of a line item's features (and of the warnings
    # that predict them, `mappings_service.own_claims`).
    features = [
        feature_from_row(r)
        for r in session.execute(select(FeatureRow).order_by(FeatureRow.key)).scalars()
    ]
    mappings = [
        mapping_from_row(r)
        for r in session.execute(select(ProductMapping).order_by(ProductMapping.id)).scalars()
    ]
    matcher = matcher_version(features, mappings, fiscal_year_start=fy_start, timezone=zone)
    if cached is not None and cached[2] == matcher:  # nothing a note or line item can match
        catalog = cached[1].with_features(features)
    else:
        catalog = Catalog(features, mappings, fiscal_year_start=fy_start, timezone=zone)
    with _lock:
        _catalogs[key] = (fingerprint, catalog, matcher)
    return catalog, matcher


@functools.cache
def _code_digest() -> bytes:
    """The source of the modules that decide what `find_references` returns."""
    from app.rules import catalog, model, references

    digest = hashlib.sha256()
    for module in (catalog, model, references):
        try:
            digest.update(Path(module.__file__ or "").read_bytes())
        except OSError:  # no source shipped: the package version stands for it
            digest.update(f"{module.__name__}@{_package_version()}".encode())
    return digest.digest()


def reading_version() -> str:
    """A fingerprint of the reading code alone (`_code_digest`): it changes with a release
    that reads notes differently, not with the catalog (`services.reread`)."""
    return _code_digest().hex()[:32]


def _package_version() -> str:
    try:
        return importlib.metadata.version("roadmap-guard")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def matcher_version(
    features: Sequence[Feature],
    mappings: Sequence[ProductMappingEntry],
    *,
    fiscal_year_start: int = 1,
    timezone: str = "UTC",
) -> str:
    """A fingerprint of everything besides the deal that decides which references
    `find_references` finds: each feature's key, name, aliases, SKUs and product ids, the
    product mappings, the fiscal year notes' quarters are read in, the time zone their days
    are, and the matching code itself.

    An evaluation records it; re-evaluating the same stored snapshot under the same version
    (after an availability, date, guidance or rule change, an approval) reuses the stored
    references instead of reading the notes again, about five times cheaper per deal. A
    rename, a new alias or mapping, or an upgrade that changes the matching code gives a new
    version, and every deal is read again once.
    """
    digest = hashlib.sha256(_code_digest())
    rows = sorted(
        (f.key, f.name, list(f.aliases), list(f.skus), list(f.product_ids)) for f in features
    )
    digest.update(json.dumps(rows, separators=(",", ":")).encode())
    entries = sorted((m.match_kind, m.match_value, list(m.feature_keys)) for m in mappings)
    digest.update(json.dumps(entries, separators=(",", ":")).encode())
    if fiscal_year_start != 1:  # (a calendar year leaves versions from before the setting)
        digest.update(f"fiscal_year_start={fiscal_year_start}".encode())
    if timezone != "UTC":  # (likewise)
        digest.update(f"timezone={timezone}".encode())
    return digest.hexdigest()[:32]


def rules_fingerprint(session: Session) -> tuple[Any, ...]:
    r = Rule.__table__
    versions = select(func.sum(r.c.version)).select_from(r).scalar_subquery()
    return tuple(session.execute(select(*_change_marks(session, r), versions)).one())


def load_rules(session: Session) -> list[StoredRule]:
    """The enabled, not deleted rules, ordered by id (a stable evaluation order)."""
    from app.rules.engine import StoredRule
    from app.rules.schema import RuleDefinition

    key = _cache_key(session)
    fingerprint = rules_fingerprint(session)
    cached = _rules.get(key)
    if cached is not None and cached[0] == fingerprint:
        return list(cached[1])
    rows = session.execute(
        select(Rule)
        .where(Rule.enabled == True, Rule.deleted_at.is_(None))  # noqa: E712
        .order_by(Rule.id)
    ).scalars()
    rules = []
    for row in rows:
        try:
            # Stored rules are read leniently: a rule saved before a check was added
            # still loads (see RuleDefinition._not_blank).
            definition = RuleDefinition.model_validate(row.definition, context={"stored": True})
        except ValidationError as exc:
            # One rule no longer readable (written to the table by hand, or a vocabulary an
            # upgrade dropped) stopped every evaluation of every deal: each batch failed, and
            # no deal was checked against the rules still good. Left out, said at error level
            # once per change of the rules (the list is cached by their fingerprint).
            first = exc.errors()[0]
            log.error(
                "stored rule unreadable, left out of every evaluation: fix or delete it",
                rule_id=row.id,
                version=row.version,
                errors=exc.error_count(),
                first_error=f"{'.'.join(map(str, first['loc']))}: {first['msg']}",
            )
            continue
        rules.append(
            StoredRule(id=row.id, version=row.version, enabled=True, definition=definition)
        )
    with _lock:
        _rules[key] = (fingerprint, rules)
    return list(rules)
