"""The roadmap catalog and the enabled rules, as the engine sees them, cached per process.

Building a `Catalog` precompiles every feature's matchers, so it is built once per roadmap
version, not per deal. The API and the workers run in different processes, so an in-memory
"invalidate on write" would leave the other processes stale; instead every call runs one cheap
fingerprint query (row counts and the latest `updated_at` of the feature and product_mapping
tables, which every write path here bumps) and rebuilds only when it moved. The query runs in
the caller's session, so a transaction that has just changed the roadmap sees its own change.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.models import Feature as FeatureRow
from app.models import ProductMapping, Rule
from app.rules.model import Feature, ProductMappingEntry

if TYPE_CHECKING:
    from app.rules.catalog import Catalog
    from app.rules.engine import StoredRule

_lock = threading.Lock()
_catalogs: dict[str, tuple[tuple, Catalog]] = {}
_rules: dict[str, tuple[tuple, list[StoredRule]]] = {}


def feature_from_row(row: FeatureRow) -> Feature:
    return Feature(
        key=row.key,
        name=row.name,
        aliases=list(row.aliases or []),
        availability=row.availability,
        target_date=row.target_date,
        confidence=row.confidence,
        skus=list(row.skus or []),
        product_ids=list(row.product_ids or []),
        source=row.source,
        source_status=row.source_status,
        url=row.url,
        guidance=row.guidance,
    )


def mapping_from_row(row: ProductMapping) -> ProductMappingEntry:
    return ProductMappingEntry(
        match_kind=row.match_kind, match_value=row.match_value, feature_keys=list(row.feature_keys)
    )


def _cache_key(session: Session) -> str:
    return session.get_bind().url.render_as_string(hide_password=True)


def catalog_fingerprint(session: Session) -> tuple[Any, ...]:
    """One round trip; changes whenever a feature or mapping is added, edited or removed."""
    f, m = FeatureRow.__table__, ProductMapping.__table__
    stmt = select(
        select(func.count()).select_from(f).scalar_subquery(),
        select(func.max(f.c.updated_at)).scalar_subquery(),
        select(func.count()).select_from(m).scalar_subquery(),
        select(func.max(m.c.updated_at)).scalar_subquery(),
    )
    return tuple(session.execute(stmt).one())


def load_catalog(session: Session) -> Catalog:
    from app.rules.catalog import Catalog

    key = _cache_key(session)
    fingerprint = catalog_fingerprint(session)
    cached = _catalogs.get(key)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    features = [feature_from_row(r) for r in session.execute(select(FeatureRow)).scalars()]
    mappings = [mapping_from_row(r) for r in session.execute(select(ProductMapping)).scalars()]
    catalog = Catalog(features, mappings)
    with _lock:
        _catalogs[key] = (fingerprint, catalog)
    return catalog


def rules_fingerprint(session: Session) -> tuple[Any, ...]:
    r = Rule.__table__
    stmt = select(func.count(), func.max(r.c.updated_at), func.sum(r.c.version)).select_from(r)
    return tuple(session.execute(stmt).one())


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
    rules = [
        StoredRule(
            id=row.id,
            version=row.version,
            enabled=True,
            definition=RuleDefinition.model_validate(row.definition),
        )
        for row in rows
    ]
    with _lock:
        _rules[key] = (fingerprint, rules)
    return list(rules)
