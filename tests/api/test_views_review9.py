"""Review 9: engineering's lists, exposure and report, on realistic data."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import event
from sqlmodel import Session

from app.models import Deal, Feature
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.services.pipeline import replace_dependencies_many


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/deals?format=csv",
        "/api/v1/deals?feature=sso&format=csv",
        "/api/v1/features/sso/deals?format=csv",
        # the path that joins `deal` (a verdict filter, a sort on a column not copied)
        "/api/v1/features/sso/deals?format=csv&verdict=warning&sort=name",
        "/api/v1/deals?limit=500",
    ],
)
def test_a_list_of_deals_does_not_read_their_stored_snapshots(client, api_key, engine, url):
    """A deal list or export loaded every deal's stored snapshot (all its notes) and what was
    written to the CRM, columns no row shows: a CSV of 5,000 deals with forty notes each peaked
    at ~230 MB in the process (~17 MB without them), so the 100,000-row export needed
    gigabytes. The rows are the same, read without them."""
    notes = [{"id": str(j), "body": "They need SSO. " * 30} for j in range(40)]
    with Session(engine) as s:
        s.add(Feature(key="sso", name="SSO", availability="coming_soon"))
        deals = [
            Deal(crm="hubspot", deal_id=f"d{i}", name=f"Deal {i}", amount=Decimal(100 * i),
                 currency="USD", verdict="warning", snapshot={"notes": notes},
                 written={"summary": "x" * 500})
            for i in range(1, 6)
        ]  # fmt: skip
        s.add_all(deals)
        s.flush()
        replace_dependencies_many(
            s,
            [
                (d, EvaluationResult(status=VerdictStatus.warning, references=[
                    FeatureReference(feature_key="sso", feature_name="SSO", source="note",
                                     evidence="They need SSO.")]))
                for d in deals
            ],
        )  # fmt: skip
        s.commit()
    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        r = client.get(url, headers=api_key("viewer"))
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert r.status_code == 200, r.text
    if "format=csv" in url:
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert sorted(float(row["amount"]) for row in rows) == [100.0, 200.0, 300.0, 400.0, 500.0]
    else:
        assert r.json()["total"] == 5
    read = [s for s in statements if re.search(r"\bdeal\.(snapshot|written)\b(?!_)", s)]
    assert read == []
