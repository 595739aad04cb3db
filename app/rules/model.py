"""Canonical types every part of the service speaks. Connectors translate CRM wire formats into
`DealSnapshot`; roadmap sources translate into `Feature`; the engine returns an `EvaluationResult`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Availability(StrEnum):
    available = "available"  # generally available: sell it
    beta = "beta"  # exists, not GA: sell as beta, no SLA promises
    coming_soon = "coming_soon"  # committed with a target date: mention, never promise past it
    uncertain = "uncertain"  # on the roadmap, not committed: do not promise
    never = "never"  # will not be built: do not sell
    unknown = "unknown"  # not on the roadmap at all


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    block = "block"


class VerdictStatus(StrEnum):
    clear = "clear"
    warning = "warning"
    blocked = "blocked"


SEVERITY_RANK = {Severity.info: 0, Severity.warning: 1, Severity.block: 2}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=False, extra="forbid")


class Feature(_Model):
    key: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    availability: Availability = Availability.unknown
    target_date: date | None = None
    confidence: float | None = None  # 0..1
    skus: list[str] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)
    source: str = "registry"
    source_status: str | None = None
    url: str | None = None
    guidance: str | None = None  # what sales may say about it instead


class ProductMappingEntry(_Model):
    match_kind: str  # sku | product_id | name
    match_value: str
    feature_keys: list[str]


class Stage(_Model):
    id: str
    label: str | None = None
    is_won: bool = False
    is_closed: bool = False
    probability: float | None = None  # 0..1


class LineItem(_Model):
    id: str
    name: str = ""
    sku: str | None = None
    product_id: str | None = None
    quantity: float | None = None
    amount: Decimal | None = None


class Note(_Model):
    id: str
    body: str = ""  # plain text, HTML already stripped by the connector
    created_at: datetime | None = None
    author: str | None = None


# The CRMs roadmap-guard has connectors for (app/connectors/registry.py builds the configured
# ones); a snapshot of any other is a typo that no stored deal or approval shares.
KNOWN_CRMS = ("hubspot", "salesforce", "test")


def human_deal_shape(data: Any) -> Any:
    """A deal as a person types it, in the full DealSnapshot shape: `stage` may be just its
    id (`"negotiation"` for `{"id": "negotiation"}`), and a line item or note without an `id`
    gets one by its place (`li-1`, `li-2`..., `n-1`, `n-2`...). Anything else is returned
    as given, for validation to judge. Shared by the test CRM and simulation snapshots."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    if isinstance(data.get("stage"), str):
        data["stage"] = {"id": data["stage"]}
    for name, prefix in (("line_items", "li"), ("notes", "n")):
        items = data.get(name)
        if isinstance(items, list):
            data[name] = [
                {"id": f"{prefix}-{n}", **item}
                if isinstance(item, dict) and "id" not in item
                else item
                for n, item in enumerate(items, start=1)
            ]
    return data


class DealSnapshot(_Model):
    crm: str
    deal_id: str
    name: str = ""
    pipeline: str | None = None
    stage: Stage
    amount: Decimal | None = None  # in the deal's own currency
    currency: str | None = None
    # The amount in the CRM's company (corporate) currency, converted by the CRM's own rates
    # (HubSpot's `amount_in_home_currency`; Salesforce: Amount / CurrencyType.ConversionRate),
    # and that currency's code when known. Pipeline totals add these, never `amount`, so a
    # JPY deal and a USD deal are not summed as if they were one currency. None: the CRM did
    # not say (a snapshot stored before this field existed, or a currency without a rate).
    amount_home: Decimal | None = None
    home_currency: str | None = None
    close_date: date | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    account_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    url: str | None = None
    # CRM-specific facts a connector needs back at write time (e.g. previous stage); opaque here.
    extra: dict = Field(default_factory=dict)


class FeatureReference(_Model):
    """One place where a deal depends on a feature, with the evidence quoted exactly."""

    feature_key: str | None  # None: a promise that names nothing on the roadmap (unknown)
    feature_name: str
    source: str  # line_item | note
    source_id: str | None = None
    evidence: str  # the line item name, or the note's sentence, verbatim
    score: float = 100.0  # match quality 0..100
    is_commitment: bool = False  # promise language in the same sentence
    is_question: bool = False
    custom_build: bool = False  # "we'll build", "custom build"
    promised_date: date | None = None
    needed_by: date | None = None  # the customer's own date: "they need SCIM by Q3"
    matched_text: str | None = None
    # A commitment said with a hedge: "we might have SCIM by Q2", "hopefully by Q2",
    # "tentatively Q2", "targeted for Q2". Still a commitment (the customer heard the date);
    # rules may treat it apart (`reference.hedged`).
    hedged: bool = False
    # The customer called it nice to have: "Offline mode would be nice to have", "Nice to have:
    # offline mode", "optional for them", "a bonus", "on their wish list". Wanted, not
    # required; never a commitment, a question or a line item. Rules may treat it apart
    # (`reference.optional`).
    optional: bool = False


class Finding(_Model):
    rule_id: str
    rule_version: int = 1
    rule_name: str = ""
    severity: Severity
    message: str  # plain language for the rep, with what may be said instead
    feature_key: str | None = None
    feature_name: str | None = None
    availability: Availability | None = None
    evidence: str | None = None
    source: str | None = None
    clause: str | None = None  # which clause of the rule matched, human readable
    approved: bool = False
    approved_by: str | None = None
    approval_id: int | None = None


class ApprovalGrant(_Model):
    """An approval as the engine sees it: a finding on this deal for this feature no longer blocks.

    `rule_ids`: the rules whose findings it was given for (None: any rule, as approvals made
    before they were recorded); `evidence`: for an off-roadmap promise (no feature), the
    sentences it was given for (None: any); `signed_only`: see below."""

    id: int
    feature_key: str | None = None
    rule_id: str | None = None
    approver: str
    promised_date: date | None = None
    rule_ids: list[str] | None = None
    evidence: list[str] | None = None
    # Expired, kept for the deal signed under it (the ledger names it): counts only while the
    # deal is won (`services.pipeline.grants_by_deal`).
    signed_only: bool = False


class EvaluationResult(_Model):
    status: VerdictStatus
    findings: list[Finding] = Field(default_factory=list)
    references: list[FeatureReference] = Field(default_factory=list)

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.block and not f.approved]
