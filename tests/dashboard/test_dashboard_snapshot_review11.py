"""One dashboard page, one snapshot: each page reads several lists and counts, and on
PostgreSQL (READ COMMITTED) each statement read what was committed when it ran, so a deal or
ledger entry committed between two of them was counted in one and missing from another (the
overview said "1 of 2 entries" over a ledger of one row). Pages now read one REPEATABLE READ
snapshot (`deals.one_snapshot`), as the API's lists do; SQLite's transaction held one already.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from app.models import Commitment, Deal
from app.rules.model import EvaluationResult, FeatureReference, VerdictStatus
from app.security import Role, create_api_key
from app.services import queries
from app.services.pipeline import replace_dependencies
from tests.dashboard.seed import seed


@pytest.fixture
def web(engine, settings):
    from app.main import create_app

    with Session(engine) as s:
        seed(s)
        _, key = create_api_key(s, name="erin", role=Role.engineering, created_by="tests")
        s.commit()
    app = create_app(settings=settings, engine=engine, connectors={})
    with TestClient(app) as client:
        client.cookies.set("rg_api_key", key)
        yield client


def _write_once_after(monkeypatch, module, name: str, write) -> list[bool]:
    """Run `write()` (a commit from another connection) right after the page's first call of
    `module.name` returns: between that statement and the page's next ones."""
    real = getattr(module, name)
    done: list[bool] = []

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        if not done:
            done.append(True)
            write()
        return result

    monkeypatch.setattr(module, name, wrapped)
    return done


def test_the_overview_counts_the_ledger_entries_it_lists(web, engine, monkeypatch):
    """A win signed while the overview is read: its count and its rows are one snapshot."""

    def sign() -> None:
        with Session(engine) as other:
            other.add(Commitment(crm="hubspot", deal_id="h1", deal_name="Deal h1",
                                 feature_key="api", promise_key="api", amount=Decimal(1000),
                                 signed_at=datetime(2026, 2, 1, tzinfo=UTC)))  # fmt: skip
            other.commit()

    done = _write_once_after(monkeypatch, queries, "commitment_rows", sign)
    r = web.get("/dashboard", follow_redirects=False)
    assert r.status_code == 200, r.text
    assert done
    ledger = r.text.split('<table id="ledger">')[1].split("</table>")[0]
    assert len(re.findall(r"<tr data-commitment=", ledger)) == 1  # the seeded entry
    assert "Commitment ledger <small>(1)</small>" in r.text
    assert 'id="more-ledger"' not in r.text  # read "1 of 2 entries" over one row


def test_a_feature_page_counts_the_deals_it_lists(web, engine, monkeypatch):
    """A deal depending on SSO stored between the page's totals and its rows."""

    def store_late_deal() -> None:  # the deal and its dependency rows, as the pipeline writes
        with Session(engine) as other:
            deal = Deal(crm="hubspot", deal_id="late", name="Late", pipeline="default",
                        stage_id="qualified", stage_label="Qualified", probability=0.2,
                        amount=Decimal(9000), currency="USD", owner_id="alice",
                        owner_name="Alice Ng", verdict="warning")  # fmt: skip
            other.add(deal)
            other.flush()
            refs = [FeatureReference(feature_key="sso", feature_name="Single sign-on",
                                     source="note", evidence="needs SSO")]  # fmt: skip
            replace_dependencies(other, deal, EvaluationResult(status=VerdictStatus.warning,
                                                               references=refs))  # fmt: skip
            other.commit()

    # `order_by` builds the page's statement, after the statement that counted and summed
    done = _write_once_after(monkeypatch, queries, "order_by", store_late_deal)
    r = web.get("/dashboard/features/sso", follow_redirects=False)
    assert r.status_code == 200, r.text
    assert done
    rows = re.findall(r'<tr data-deal="([^"]+)"', r.text)
    assert "hubspot/late" not in rows
    assert len(rows) == 3  # h1, h2, s3: the open deals depending on SSO, as counted
    assert '<p id="feature-totals">3 open deals depend on it: 6,000 USD' in r.text


PAGES = [
    # the page, and a function it calls with the page's session after its first statement
    ("/dashboard", queries, "exposure"),
    ("/dashboard/features/sso", queries, "feature_deals"),
    ("/dashboard/deals/hubspot/h2", queries, "deal_detail"),
    ("/dashboard/features/sso/what-if?availability=never", "app.services.what_if", "what_if"),
]


@pytest.mark.parametrize("db_backend", ["postgresql"])  # READ COMMITTED is PostgreSQL's
@pytest.mark.parametrize(("path", "module", "name"), PAGES, ids=[p[0] for p in PAGES])
def test_every_page_reads_one_repeatable_read_snapshot(web, monkeypatch, path, module, name):
    """Each page that reads more than one list or count runs in one REPEATABLE READ
    transaction on PostgreSQL (the isolation its statements see)."""
    if isinstance(module, str):
        import importlib

        module = importlib.import_module(module)
    real = getattr(module, name)
    seen: list[str] = []

    def wrapped(session, *args, **kwargs):
        seen.append(session.execute(text("SHOW transaction_isolation")).scalar_one())
        return real(session, *args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    r = web.get(path, follow_redirects=False)
    assert r.status_code == 200, r.text
    assert seen == ["repeatable read"]
