"""Shared roadmap for the rules tests: a small catalog with every availability and the usual
suspects of sales notes (acronyms, aliases, multi-word names)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.rules.catalog import Catalog
from app.rules.default_pack import DEFAULT_RULES
from app.rules.engine import StoredRule
from app.rules.model import (
    Availability,
    DealSnapshot,
    Feature,
    LineItem,
    Note,
    ProductMappingEntry,
    Stage,
)
from app.rules.schema import RuleDefinition

TODAY = date(2026, 11, 25)
NOTE_TIME = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)

FEATURES = [
    Feature(
        key="sso",
        name="Single Sign-On",
        aliases=["SSO", "SAML SSO"],
        availability=Availability.available,
        skus=["SSO-ENT"],
    ),
    Feature(
        key="scim",
        name="SCIM provisioning",
        aliases=["SCIM"],
        availability=Availability.coming_soon,
        target_date=date(2027, 6, 30),
        confidence=0.7,
        guidance="Say SCIM is planned for mid-2027; offer the CSV user import today.",
    ),
    Feature(key="audit", name="Audit log", aliases=["audit trail"], availability="uncertain"),
    Feature(
        key="multi-region",
        name="Multi-region failover",
        aliases=["multi-region"],
        availability=Availability.never,
        guidance="Offer the single-region 99.9% SLA with daily backups.",
    ),
    Feature(key="ai", name="AI Assistant", aliases=["AI"], availability=Availability.beta),
    Feature(
        key="sf",
        name="Salesforce integration",
        aliases=["Salesforce"],
        availability=Availability.available,
        product_ids=["prod_sf"],
    ),
    Feature(key="dash", name="Custom dashboard", aliases=["dashboards"], availability="beta"),
    Feature(key="retention", name="Retention policy", availability="coming_soon"),
    Feature(
        key="residency",
        name="EU data residency",
        aliases=["data residency"],
        availability=Availability.uncertain,
        target_date=date(2027, 1, 31),  # before the default close date: "in time", still uncertain
    ),
    Feature(key="it-portal", name="IT", availability="available"),
    Feature(key="export", name="Export", availability="available"),
]
MAPPINGS = [
    ProductMappingEntry(match_kind="sku", match_value="BUNDLE-SEC", feature_keys=["sso", "audit"]),
    ProductMappingEntry(match_kind="product_id", match_value="prod_ai", feature_keys=["ai"]),
    ProductMappingEntry(match_kind="name", match_value="Compliance Pack", feature_keys=["audit"]),
]


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(FEATURES, MAPPINGS)


@pytest.fixture(scope="session")
def default_rules() -> list[StoredRule]:
    return [
        StoredRule(id=r["id"], version=1, enabled=True, definition=RuleDefinition.model_validate(r))
        for r in DEFAULT_RULES
    ]


def make_deal(
    *notes: str,
    line_items: list[LineItem] | None = None,
    close_date: date | None = date(2027, 3, 1),
    **kwargs,
) -> DealSnapshot:
    return DealSnapshot(
        crm="hubspot",
        deal_id=kwargs.pop("deal_id", "D1"),
        name=kwargs.pop("name", "Acme - Platform"),
        stage=kwargs.pop("stage", Stage(id="negotiation", probability=0.6)),
        close_date=close_date,
        line_items=line_items or [],
        notes=[Note(id=f"n{i}", body=body, created_at=NOTE_TIME) for i, body in enumerate(notes)],
        **kwargs,
    )
