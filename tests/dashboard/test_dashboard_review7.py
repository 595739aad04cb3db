"""Dashboard review, round 7: what an engineering manager or product lead saw in the browser."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.security import Role, create_api_key
from tests.dashboard.seed import seed
from tests.dashboard.test_pages import dashboard_settings


@pytest.fixture
def key(sqlite_engine):
    with Session(sqlite_engine) as s:
        seed(s)
        _, key = create_api_key(s, name="erin", role=Role.engineering, created_by="tests")
        s.commit()
    return key


@pytest.fixture
def web(sqlite_engine, key):
    from app.main import create_app

    app = create_app(
        settings=dashboard_settings(sqlite_engine), engine=sqlite_engine, connectors={}
    )
    with TestClient(app) as c:
        c.cookies.set("rg_api_key", key)
        yield c


def _section(page: str, marker: str, end: str = "</table>") -> str:
    return page.split(marker, 1)[1].split(end, 1)[0]


def test_overview_legend_shows_the_open_pipeline_per_availability(web):
    """The legend under the chart was always empty: it read `by_availability` from the page
    result, which keeps it in `extra`. It now lists, as /api/v1/exposure does, each
    availability's deals (each counted once) and their amount with its currency."""
    legend = _section(web.get("/dashboard").text, '<ul class="legend"', "</ul>")
    items = re.findall(r'data-availability="(\w+)">([^<]*)</li>', legend)
    api = web.get("/api/v1/exposure").json()["by_availability"]
    assert [a for a, _ in items] == [a["availability"] for a in api]
    said = dict(items)
    # never: audit (h2 2,000 + s1 5,000); coming_soon: sso (h1, h2, s3)
    assert said["never"] == "never: 2 deals, 7,000 USD"
    assert said["coming_soon"] == "coming_soon: 3 deals, 6,000 USD"
