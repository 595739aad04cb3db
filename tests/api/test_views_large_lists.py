"""Large lists: a CSV of every dependant of a popular feature binds its deal ids in batches."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from sqlalchemy import event
from sqlmodel import Session

from app.models import Deal, Feature
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.services.pipeline import replace_dependencies_many

DEALS = 1_200


def test_a_csv_of_every_dependant_binds_deal_ids_in_batches(client, api_key, engine):
    """A feature's dependants CSV bound every deal id of the export in one statement (twice):
    past the driver's limit (psycopg binds 65,535 parameters, SQLite builds 32,766 or 999) the
    export of a popular feature was a 500. No statement binds more than 999 now, and every
    deal is there with its evidence."""
    with Session(engine) as s:
        s.add(Feature(key="sso", name="SSO", availability="coming_soon"))
        for crm in ("hubspot", "salesforce"):
            deals = [
                Deal(crm=crm, deal_id=f"{crm[0]}{i:05d}", name=f"Deal {i}", tracked=True,
                     amount=Decimal(i), currency="USD", verdict="warning")
                for i in range(DEALS // 2)
            ]  # fmt: skip
            s.add_all(deals)
            s.flush()
            replace_dependencies_many(
                s,
                [
                    (d, EvaluationResult(status=VerdictStatus.warning, references=[
                        FeatureReference(feature_key="sso", feature_name="SSO", source="note",
                                         evidence=f"SSO for {d.deal_id}")]))
                    for d in deals
                ],
            )  # fmt: skip
        s.commit()
    bound: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not executemany:
            bound.append(len(parameters or ()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        r = client.get("/api/v1/features/sso/deals?format=csv", headers=api_key("viewer"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == DEALS
    assert all(row["evidence"] == f"SSO for {row['deal_id']}" for row in rows)
    assert max(bound) <= 999, sorted(bound)[-3:]
