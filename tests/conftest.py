"""Shared fixtures. Database tests run on SQLite and on PostgreSQL.

PostgreSQL: set TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test). The suite
creates its own database per run (and per xdist worker) on that server and drops it at the end,
so runs never collide. If TEST_POSTGRES_URL is set but unreachable, the suite fails; if unset,
the PostgreSQL half is skipped with a reason.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

import app.models
from app.db import make_engine
from app.security import Role, create_api_key
from app.settings import Settings

PG_URL = os.environ.get("TEST_POSTGRES_URL")


def _drop_service_settings(environ: dict) -> list[str]:
    """Remove the service's settings (the fields of `Settings`) from `environ`; their names.
    `python3 tasks.py test` drops them before pytest starts; a developer running pytest itself
    with the README's `export DATABASE_URL=...` (or a direnv `.env`, a real
    HUBSPOT_ACCESS_TOKEN) failed tests that build their own settings, and handed the token to
    the `serve` subprocesses some tests start, whose schedules read and write the portal.
    The names are tasks.py's (`suite_environment`), so both drop the same ones."""
    from tasks import suite_environment

    _kept, dropped = suite_environment(environ)
    for key in dropped:
        del environ[key]
    return dropped


def pytest_configure(config: pytest.Config) -> None:
    dropped = _drop_service_settings(os.environ)
    if dropped and not os.environ.get("PYTEST_XDIST_WORKER"):
        print(f"tests run without {', '.join(dropped)} from this environment", file=sys.stderr)


@pytest.fixture(autouse=True)
def _process_reading_settings() -> Iterator[None]:
    """create_app and the CLI set how this process reads notes (services.catalog.configure:
    the fiscal year's first month, the business time zone). A test that built an app with
    FISCAL_YEAR_START_MONTH=2 left "Q1 2027" read as ending on 30 April 2026 for whichever test
    ran next in the same worker without building an app of its own (a pipeline or ledger test):
    each test starts and ends with them as they were."""
    from app.services import catalog

    saved = (catalog._fiscal_year_start, catalog._business_timezone)
    yield
    catalog._fiscal_year_start, catalog._business_timezone = saved


def _pg_admin_url() -> str:
    url = make_url(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    return url.render_as_string(hide_password=False)


@contextmanager
def scratch_pg_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database named `prefix_<random>`, dropped (connections and
    all) on exit; yields its URL."""
    admin = make_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database_url(worker_id: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this run (and xdist worker), dropped afterwards."""
    if not PG_URL:
        pytest.skip("TEST_POSTGRES_URL is not set: PostgreSQL half of the suite not run")
    with scratch_pg_database(f"rg_test_{worker_id}") as url:
        yield url


@pytest.fixture(scope="session")
def worker_id(request) -> str:
    # pytest-xdist provides this fixture too; this is the fallback without -n.
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


@pytest.fixture(scope="session")
def _pg_engine(pg_database_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_database_url)
    SQLModel.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def engine(db_backend: str, request, tmp_path) -> Iterator[Engine]:
    """A clean database for one test, on the backend of this parametrization."""
    if db_backend == "postgresql":
        pg = request.getfixturevalue("_pg_engine")
        _truncate_all(pg)
        yield pg
        return
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def cli_db(monkeypatch, tmp_path) -> Iterator[Engine]:
    """A fresh SQLite database named by DATABASE_URL, migrated by the CLI itself (the CLI's
    tests run its commands in a temporary folder against it)."""
    from app.cli import main

    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["migrate"]) == 0
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    """For tests whose subject is not the database: SQLite only."""
    eng = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return Settings(
        _env_file=None,
        database_url=engine.url.render_as_string(hide_password=False),
        worker_mode="off",
        log_format="console",
        public_base_url="http://testserver",
        install_default_rules=False,
    )


@pytest.fixture
def make_app(settings: Settings, engine: Engine):
    from app.main import create_app

    def _make(connectors=None, **overrides):
        s = settings.model_copy(update=overrides) if overrides else settings
        return create_app(settings=s, engine=engine, connectors=connectors)

    return _make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def api_key(engine: Engine) -> Callable[[Role | str], dict[str, str]]:
    """api_key("revops") → request headers carrying a fresh key of that role, named
    test-revops (test-revops-2, -3 ... for more of the role: active keys' names are unique)."""
    made: dict[Role, int] = {}

    def _make(role: Role | str = Role.admin, name: str | None = None) -> dict[str, str]:
        role = Role(role)
        made[role] = n = made.get(role, 0) + 1
        if name is None:
            name = f"test-{role.value}" + (f"-{n}" if n > 1 else "")
        with Session(engine) as s:
            _, key = create_api_key(s, name=name, role=role, created_by="tests")
            s.commit()
        return {"Authorization": f"Bearer {key}"}

    return _make
