"""The shared tables: ingest, queue, deals and evaluations, roadmap catalog, rules, access.

Domain packages may add tables in their own module under app/models/ and import it from
app/models/__init__.py; Alembic reads SQLModel.metadata.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Numeric,
    SmallInteger,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from app.models.types import BigId, UTCDateTime, utcnow
from app.rules.catalog import norm_code


def _ts(nullable: bool = True, index: bool = False, **kw) -> Any:
    return Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index), **kw
    )


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _updated() -> Any:
    # onupdate: every UPDATE bumps it, so caches keyed on max(updated_at) cannot go stale.
    return Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, onupdate=utcnow)
    )


def _json(default_factory=dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


def _json_nullable() -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=True))


# --- ingest and queue ---------------------------------------------------------------------


class WebhookEvent(SQLModel, table=True):
    """The durable inbox. One row per delivered event, deduplicated per source."""

    __tablename__ = "webhook_event"
    # AUTOINCREMENT on SQLite (migration 0025): ids only grow, also after retention deleted
    # every row (SQLite otherwise starts again at the highest id stored plus one), so the
    # HubSpot line-item resolver's cursor (`id > cursor`) never skips a new event.
    __table_args__ = (
        UniqueConstraint("source", "dedup_key", name="uq_webhook_event_source_key"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    source: str = Field(max_length=32)  # hubspot | salesforce_outbound | salesforce_events | test
    dedup_key: str = Field(max_length=255)
    crm: str = Field(max_length=32)
    deal_id: str | None = Field(default=None, max_length=64)
    event_type: str | None = Field(default=None, max_length=128)
    status: str = Field(default="queued", max_length=16)  # queued | ignored
    payload: dict = _json()
    received_at: datetime = _created()


class DealQueue(SQLModel, table=True):
    """One row per deal: many events coalesce into one pending evaluation."""

    __tablename__ = "deal_queue"
    __table_args__ = (
        UniqueConstraint("crm", "deal_id", name="uq_deal_queue_crm_deal"),
        # Claims read due rows in order from it, one priority at a time (queue.claim_batch).
        Index("ix_deal_queue_claim", "status", "priority", "due_at", "id"),
        # Claims read each CRM's due rows from it, one CRM and priority at a time, so a
        # flood for one CRM does not starve the other (queue._shared_by_crm). Pending rows
        # only: the done rows, most of the table, cost it nothing.
        Index(
            "ix_deal_queue_pending_crm",
            "crm",
            "priority",
            "due_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16)  # pending | running | done | dead
    reason: str = Field(default="webhook", max_length=32)
    # 0: someone waits on it (a CRM change, an approval); 1: a sweep (roadmap or rule change,
    # backfill, reread, ledger). Claims serve 0 first: queue.priority_of.
    priority: int = Field(
        default=0, sa_type=SmallInteger, sa_column_kwargs={"server_default": text("0")}
    )
    due_at: datetime = _created()
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _ts()
    # An event arrived while the deal was running: run it again once the current run ends.
    rerun: bool = False
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The last attempt's error was a hold (the CRM refused us: credentials, a rate limit, the
    # org's set-up): retried without spending an attempt, never dead. False for a retry that
    # counts its attempts (backing off), and for every other outcome.
    held: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    queued_at: datetime = _created()  # first enqueue of the current cycle, for latency
    started_at: datetime | None = _ts()
    finished_at: datetime | None = _ts()
    updated_at: datetime = _updated()


class PeriodicJob(SQLModel, table=True):
    """A schedule that exactly one worker in the cluster runs each time it is due."""

    __tablename__ = "periodic_job"

    name: str = Field(primary_key=True, max_length=64)
    interval_seconds: int
    next_run_at: datetime = _created()
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_expires_at: datetime | None = _ts()
    last_started_at: datetime | None = _ts()
    last_finished_at: datetime | None = _ts()
    last_status: str | None = Field(default=None, max_length=16)  # ok | error
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    state: dict = _json()  # e.g. a reconciliation cursor


# --- deals, evaluations, dependency index ---------------------------------------------------


class Deal(SQLModel, table=True):
    """The latest known state of a deal, its latest verdict, and what we last wrote to the CRM."""

    __tablename__ = "deal"
    __table_args__ = (
        UniqueConstraint("crm", "deal_id", name="uq_deal_crm_deal"),
        Index("ix_deal_open_verdict", "is_closed", "verdict"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=512)
    pipeline: str | None = Field(default=None, max_length=128)
    stage_id: str | None = Field(default=None, max_length=128)
    stage_label: str | None = Field(default=None, max_length=255)
    is_won: bool = False
    is_closed: bool = False
    probability: float | None = None
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 2), nullable=True))
    currency: str | None = Field(default=None, max_length=8)
    # The amount in the CRM's company currency (DealSnapshot.amount_home) and that currency.
    amount_home: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(18, 2), nullable=True)
    )
    home_currency: str | None = Field(default=None, max_length=8)
    close_date: date | None = None
    owner_id: str | None = Field(default=None, max_length=128, index=True)
    owner_name: str | None = Field(default=None, max_length=255)
    account_name: str | None = Field(default=None, max_length=255)
    url: str | None = Field(default=None, max_length=1024)
    snapshot: dict = _json()  # DealSnapshot as JSON: re-evaluation needs no CRM read
    snapshot_at: datetime | None = _ts()
    verdict: str | None = Field(default=None, max_length=16)  # clear | warning | blocked
    last_evaluation_id: int | None = Field(default=None, sa_type=BigId)
    tracked: bool = True  # false once the deal is deleted in the CRM
    first_warning_at: datetime | None = _ts()
    # Write-back state: what the CRM holds now, so we write only what changed.
    crm_task_id: str | None = Field(default=None, max_length=64)
    crm_task_open: bool = False
    written: dict = _json()
    written_verdict: str | None = Field(default=None, max_length=16)
    written_at: datetime | None = _ts()
    # A write-back began at this time and has not been recorded as finished: the next write
    # looks for what it may have created (tasks, notes) before creating any (migration 0009).
    write_started_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class Evaluation(SQLModel, table=True):
    """Every evaluation of a deal: the history engineering and auditors read."""

    __tablename__ = "evaluation"
    __table_args__ = (Index("ix_evaluation_deal", "crm", "deal_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    verdict: str = Field(max_length=16)
    findings: list = _json(list)
    references: list = _json(list)
    trigger: str = Field(default="webhook", max_length=32)
    rules_version: str | None = Field(default=None, max_length=64)
    snapshot_hash: str | None = Field(default=None, max_length=64)
    # The catalog matcher that found `references` (services.catalog.matcher_version): while
    # it and the snapshot are unchanged, a re-evaluation reuses the references instead of
    # reading the notes again.
    matcher_version: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()


class WriteBackLog(SQLModel, table=True):
    """What was written to the CRM, when, and whether it worked."""

    __tablename__ = "write_back_log"
    __table_args__ = (Index("ix_write_back_log_deal", "crm", "deal_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    evaluation_id: int | None = Field(default=None, sa_type=BigId)
    changes: dict = _json()
    outcome: str = Field(default="ok", max_length=16)  # ok | error | skipped
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _created()


class DealFeature(SQLModel, table=True):
    """The dependency index: deal → feature, with the evidence. Rebuilt on every evaluation.

    Also the read model for exposure: one row per (deal, feature) is `is_primary` (the strongest
    evidence), and each row carries a copy of the deal facts exposure filters and sums on, so
    the aggregates read this table alone (no DISTINCT, no join to `deal`). The copies are
    written by `pipeline.replace_dependencies`, which runs on every evaluation that read the
    deal; `untrack` deletes the rows. The rows also copy their feature's availability, which
    the roadmap fan-out keeps current.
    """

    __tablename__ = "deal_feature"
    __table_args__ = (
        Index("ix_deal_feature_feature", "feature_key"),
        Index("ix_deal_feature_deal", "crm", "deal_id"),
        # The deals a deleted line item or note referenced (HubSpot's deletion events name
        # only the object): without it, each such lookup read the whole table.
        Index("ix_deal_feature_source", "crm", "source", "source_id"),
        # Exposure reads open primary rows through these two alone (covering, the filter
        # columns included: a table read per row would cost more than the scan). Per feature ×
        # stage, in feature order:
        Index(
            "ix_deal_feature_open",
            "deal_open",
            "is_primary",
            "feature_key",
            "pipeline",
            "stage_id",
            "stage_label",
            "amount",
            "probability",
            "crm",
            "owner_id",
            "owner_name",
            "close_date",
            "currency",  # each feature's and stage's totals say their currency
            "promised",  # exposure of promises apart from mentions
            "optional",  # and of nice-to-haves apart from needs
        ),
        # and the availability split: one row per (deal, availability), the first of its
        # availability (`availability_first`), grouped by availability, no per-deal grouping
        # (`promised` and `optional` last: filters, not an order):
        Index(
            "ix_deal_feature_split",
            "deal_open",
            "is_primary",
            "availability_first",
            "availability",
            "amount",
            "probability",
            "crm",
            "pipeline",
            "owner_id",
            "owner_name",
            "close_date",
            "currency",
            "promised",
            "optional",
        ),
        # One feature's open dependants, already in amount order, with the page's keys.
        Index(
            "ix_deal_feature_dependants",
            "feature_key",
            "is_primary",
            "deal_open",
            "amount",
            "crm",
            "deal_id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    feature_key: str | None = Field(default=None, max_length=128)  # None: off-roadmap promise
    feature_name: str = Field(default="", max_length=255)
    # The feature's availability (`unknown` when not on the roadmap), for the exposure split.
    # Written with the rows; the roadmap fan-out rewrites it for every row of a feature whose
    # availability changes, in the transaction that changes it (`fanout.sync_availability`).
    # The server default only serves writers that predate the column.
    availability: str = Field(
        default="unknown", max_length=16, sa_column_kwargs={"server_default": "unknown"}
    )
    source: str = Field(max_length=16)  # line_item | note
    source_id: str | None = Field(default=None, max_length=64)
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    is_commitment: bool = False
    promised_date: date | None = None
    needed_by: date | None = None  # the customer's own date: "they need SCIM by Q3"
    # a commitment said with a hedge ("might", "hopefully"): FeatureReference.hedged
    hedged: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # the customer called it nice to have ("Offline mode would be nice to have"): a note
    # mention, never a commitment or a line item (FeatureReference.optional)
    optional: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    score: float = 100.0
    # Exactly one row per (crm, deal_id, feature_key) with a key: commitment before mention,
    # line item before note, a required mention before a nice-to-have, else the first. Rows without a feature key are never primary.
    is_primary: bool = False
    # The deal was promised the feature or buys it: a commitment, or a line item. On the
    # primary row it says how the deal depends on the feature (exposure's `promised` filter).
    promised: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Exactly one primary row per (crm, deal_id, availability): the exposure split counts a deal
    # once per availability by summing these rows. A promised row before a mention, a required
    # one before a nice-to-have, then the first: so the row says whether the deal was promised
    # any feature of that availability, or needs one, and the split of promises, of mentions
    # alone and of nice-to-haves alone read the same rows. Written with the
    # rows; re-derived for the deals of a feature whose availability changes
    # (`queries.mark_availability_first`).
    availability_first: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Copies of the deal (see the class docstring). deal_open: tracked and not closed.
    deal_open: bool = False
    pipeline: str | None = Field(default=None, max_length=128)
    stage_id: str | None = Field(default=None, max_length=128)
    stage_label: str | None = Field(default=None, max_length=255)
    owner_id: str | None = Field(default=None, max_length=128)
    owner_name: str | None = Field(default=None, max_length=255)
    close_date: date | None = None
    # What pipeline totals add: the deal's amount in the CRM's company currency when the CRM
    # converted it (Deal.amount_home), else its own amount; `currency` says which currency
    # (None: not known). Totals label themselves from it (`queries.exposure`).
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 2), nullable=True))
    currency: str | None = Field(default=None, max_length=8)
    probability: float | None = None


# --- roadmap catalog ------------------------------------------------------------------------


class Feature(SQLModel, table=True):
    __tablename__ = "feature"

    key: str = Field(primary_key=True, max_length=128)
    name: str = Field(max_length=255)
    aliases: list = _json(list)
    availability: str = Field(default="unknown", max_length=16)
    target_date: date | None = None
    confidence: float | None = None
    skus: list = _json(list)
    product_ids: list = _json(list)
    source: str = Field(default="registry", max_length=64, index=True)
    source_id: str | None = Field(default=None, max_length=128)
    source_status: str | None = Field(default=None, max_length=128)
    url: str | None = Field(default=None, max_length=1024)
    guidance: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class RoadmapSource(SQLModel, table=True):
    __tablename__ = "roadmap_source"

    name: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=32)  # registry | http | productboard | jira
    enabled: bool = True
    config: dict = _json()  # never secrets: secrets are named by env var (e.g. token_env)
    status_mapping: dict = _json()
    etag: str | None = Field(default=None, max_length=255)
    last_refresh_at: datetime | None = _ts()
    last_success_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    feature_count: int = 0
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class ProductMapping(SQLModel, table=True):
    """A product (by SKU, product id or exact name) delivers these roadmap features.

    Unique per kind on `match_key`, the value as the catalog matches line items (whitespace
    collapsed, case folded): "AI-ADDON" and "ai-addon" are one product, so one mapping.
    """

    __tablename__ = "product_mapping"
    # AUTOINCREMENT on SQLite: a deleted mapping's id is never given to another (SQLite reuses
    # the highest id once its row is deleted: the audit log's history of "mapping 2" mixed two
    # mappings, and a script holding the old id edited the new one). PostgreSQL's sequence
    # never reuses one.
    __table_args__ = (
        UniqueConstraint("match_kind", "match_key", name="uq_product_mapping_key"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    match_kind: str = Field(max_length=16)  # sku | product_id | name
    match_value: str = Field(max_length=255)
    # Set from match_value on every insert and update (below); case folding can lengthen text.
    match_key: str | None = Field(default=None, max_length=765, nullable=False)
    feature_keys: list = _json(list)
    created_at: datetime = _created()
    updated_at: datetime = _updated()


def mapping_match_key(match_value: str) -> str:
    """The value a mapping is unique on: the catalog's own normalisation of line-item codes."""
    return norm_code(match_value)


@event.listens_for(ProductMapping, "before_insert")
@event.listens_for(ProductMapping, "before_update")
def _set_match_key(_mapper, _connection, target: ProductMapping) -> None:
    target.match_key = mapping_match_key(target.match_value)


# --- rules ------------------------------------------------------------------------------------


class Rule(SQLModel, table=True):
    __tablename__ = "rule"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    enabled: bool = True
    version: int = 1
    definition: dict = _json()  # the validated RuleDefinition JSON
    builtin: bool = False
    deleted_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _updated()


class RuleVersion(SQLModel, table=True):
    __tablename__ = "rule_version"
    __table_args__ = (UniqueConstraint("rule_id", "version", name="uq_rule_version"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    rule_id: str = Field(max_length=64)
    version: int
    definition: dict = _json()
    enabled: bool = True
    actor: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()


# --- approvals and the commitment ledger (issue 6 extends) ----------------------------------


class Approval(SQLModel, table=True):
    __tablename__ = "approval"
    __table_args__ = (Index("ix_approval_deal", "crm", "deal_id"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    feature_key: str | None = Field(default=None, max_length=128)
    rule_id: str | None = Field(default=None, max_length=64)
    promised_date: date | None = None
    reason: str = Field(sa_column=Column(Text, nullable=False))
    approver: str = Field(max_length=255)
    expires_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    revoked_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()
    # The findings it was given for, [{rule_id, feature_key, evidence}]: it covers those rules'
    # findings on its feature (and, off the roadmap, those sentences), not a finding that
    # appears later. None: made before this was recorded (covers any rule's finding).
    covers: list | None = _json_nullable()


def _feature_promise_key(context: Any) -> str | None:
    # A promise on a roadmap feature is keyed by the feature unless a key is given.
    return context.get_current_parameters().get("feature_key")


class Commitment(SQLModel, table=True):
    """One promise made when a deal was won: on a roadmap feature (`feature_key`), or off the
    roadmap (`feature_key` None) under the approved rule; `promise_key` is what makes it one:
    the feature key, or `rule:<rule_id>` for an off-roadmap promise."""

    __tablename__ = "commitment"
    __table_args__ = (
        UniqueConstraint("crm", "deal_id", "promise_key", name="uq_commitment_deal_promise"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    crm: str = Field(max_length=32)
    deal_id: str = Field(max_length=64)
    deal_name: str = Field(default="", max_length=512)
    account_name: str | None = Field(default=None, max_length=255)
    owner_id: str | None = Field(default=None, max_length=128)
    # Deal facts at signing, copied so the ledger filters like the other lists without a join.
    pipeline: str | None = Field(default=None, max_length=128)
    close_date: date | None = None
    promise_key: str = Field(
        default=None,
        max_length=200,
        nullable=False,
        sa_column_kwargs={"default": _feature_promise_key},
    )
    feature_key: str | None = Field(default=None, max_length=128, index=True)
    rule_id: str | None = Field(default=None, max_length=64)
    feature_name: str = Field(default="", max_length=255)
    availability_at_signing: str | None = Field(default=None, max_length=16)
    target_date_at_signing: date | None = None
    promised_date: date | None = None
    # The promise quoted in `evidence` was said with a hedge ("might", "hopefully", "targeted
    # for": FeatureReference.hedged). Still a promise the customer heard.
    hedged: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(18, 2), nullable=True))
    currency: str | None = Field(default=None, max_length=8)
    # The amount in the CRM's company currency at signing (DealSnapshot.amount_home).
    amount_home: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(18, 2), nullable=True)
    )
    home_currency: str | None = Field(default=None, max_length=8)
    approval_id: int | None = Field(default=None, sa_type=BigId)
    approver: str | None = Field(default=None, max_length=255)
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False))
    # When the deal was signed: when it was seen reaching a won stage, or, first seen already
    # won (edited long after, or read on a new install), its close date (`ledger`).
    signed_at: datetime = _created()
    recorded_at: datetime = _created()  # when this entry was written
    # The deal left its won stage after (lost, reopened, a won set by mistake): no longer a
    # promise to a customer, so not followed up or counted as signed; NULL again if won again.
    withdrawn_at: datetime | None = _ts()
    flagged_at: datetime | None = _ts()
    flag_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    task_requested: bool = False


# --- access and audit -------------------------------------------------------------------------


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"
    __table_args__ = (Index("ux_api_key_active_name", "active_name", unique=True),)

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    name: str = Field(max_length=255)
    role: str = Field(max_length=32)
    prefix: str = Field(max_length=16, unique=True)  # shown in lists; the key's first chars
    key_hash: str = Field(max_length=128)  # sha256 of the whole key; keys are 256-bit random
    created_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = _created()
    last_used_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    # The name folded (security.fold_name) while the key is active, NULL once revoked: the
    # unique index keeps two active keys from sharing a name even when created at once.
    active_name: str | None = Field(default=None, max_length=255)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_entity", "entity_type", "entity_id"),
        # the listing's order and time range (GET /api/v1/audit): migration 0026
        Index("ix_audit_created", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)
    entity_type: str = Field(max_length=64)
    entity_id: str = Field(max_length=255)
    before: dict | None = _json_nullable()
    after: dict | None = _json_nullable()
    created_at: datetime = _created()


class AuditSubject(SQLModel, table=True):
    """A further entity an audit entry concerns, besides its own (entity_type, entity_id): the
    features a roadmap source's refresh, status-mapping edit or delete changed (the ones its
    entry lists), so the audit filter by feature finds them (GET /api/v1/audit)."""

    __tablename__ = "audit_subject"
    __table_args__ = (Index("ix_audit_subject_entity", "entity_type", "entity_id", "audit_id"),)

    audit_id: int = Field(primary_key=True, sa_type=BigId)  # audit_log.id
    entity_type: str = Field(primary_key=True, max_length=64)
    entity_id: str = Field(primary_key=True, max_length=255)
