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
from app.models.testcrm import TestCrmDeal, TestCrmNote, TestCrmTask
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
    "TestCrmDeal",
    "TestCrmNote",
    "TestCrmTask",
    "UTCDateTime",
    "WebhookEvent",
    "WriteBackLog",
    "utcnow",
]
