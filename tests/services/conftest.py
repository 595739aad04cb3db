"""Helpers shared by the service tests."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.models import Feature


@pytest.fixture
def note_reads(monkeypatch) -> list[str]:
    """The deal ids the engine read notes and line items for (find_references), in order."""
    import app.rules.engine as engine_module

    reads: list[str] = []
    real = engine_module.find_references

    def counting(snapshot, catalog, *, today):
        reads.append(snapshot.deal_id)
        return real(snapshot, catalog, today=today)

    monkeypatch.setattr(engine_module, "find_references", counting)
    return reads


def edit_feature(engine, key: str, **values) -> None:
    """Change a feature row directly (no fan-out), in a transaction of its own."""
    with Session(engine) as s:
        row = s.get(Feature, key)
        for name, value in values.items():
            setattr(row, name, value)
        s.add(row)
        s.commit()
