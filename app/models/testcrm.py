"""Tables of the built-in test CRM: a CRM that lives in our own database.

It backs local exploration, the spine's end-to-end tests and the views' tests, the way Netflix
Dispatch ships a test plugin for each integration kind.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from app.models.types import BigId, UTCDateTime, utcnow


class TestCrmDeal(SQLModel, table=True):
    __test__ = False  # not a pytest test class
    __tablename__ = "test_crm_deal"

    deal_id: str = Field(primary_key=True, max_length=64)
    snapshot: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    properties: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    deleted: bool = False
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class TestCrmTask(SQLModel, table=True):
    __test__ = False  # not a pytest test class
    __tablename__ = "test_crm_task"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    deal_id: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=255)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    owner_id: str | None = Field(default=None, max_length=128)
    open: bool = True
    followup_key: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class TestCrmNote(SQLModel, table=True):
    __test__ = False  # not a pytest test class
    __tablename__ = "test_crm_note"

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    deal_id: str = Field(max_length=64, index=True)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
