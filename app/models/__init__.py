"""All tables. Import every domain module here so SQLModel.metadata (and Alembic) sees it."""

from app.models.core import (
    ApiKey,
    Approval,
    AuditLog,
    Commitment,
    Deal,
    DealFeature,
    DealQueue,
    Evaluation,
    Feature,
    PeriodicJob,
    ProductMapping,
    RoadmapSource,
    Rule,
    RuleVersion,
    WebhookEvent,
    WriteBackLog,
)
from app.models.types import UTCDateTime, utcnow

__all__ = [
    "ApiKey",
    "Approval",
    "AuditLog",
    "Commitment",
    "Deal",
    "DealFeature",
    "DealQueue",
    "Evaluation",
    "Feature",
    "PeriodicJob",
    "ProductMapping",
    "RoadmapSource",
    "Rule",
    "RuleVersion",
    "UTCDateTime",
    "WebhookEvent",
    "WriteBackLog",
    "utcnow",
]
