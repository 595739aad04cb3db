"""A bad setting stops start-up with one clear line naming the variable, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.cli import main
from app.connectors.registry import build_connectors
from app.connectors.salesforce.auth import auth_mode
from app.db import make_engine
from app.settings import Settings, salesforce_configured


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKER_MODE", "sideways"),
        ("WORKER_BATCH_SIZE", "0"),
        ("LEASE_SECONDS", "soon"),
        ("DATABASE_URL", "mysql://db/roadmap"),
        ("DATABASE_URL", "postgresql+asyncpg://db/roadmap"),
        ("DATABASE_URL", "sqlite://"),
        ("DATABASE_URL", "sqlite:///:memory:"),
        ("DATABASE_URL", "postgresql://user@db:54x2/roadmap"),
        ("DATABASE_URL", "not a url"),
        ("LOG_FORMAT", "xml"),
        ("SALESFORCE_API_VERSION", "v61"),
        ("SALESFORCE_API_VERSION", "52.0"),
        # Beyond the periodic_job INTEGER column (and any sensible interval): refused at start-up.
        ("ROADMAP_REFRESH_SECONDS", "3000000000"),
        ("ROADMAP_REFRESH_SECONDS", "604801"),
        ("HUBSPOT_RECONCILE_SECONDS", "3000000000"),
        ("SALESFORCE_RECONCILE_SECONDS", "3000000000"),
        ("HUBSPOT_DAILY_LIMIT_RETRY_SECONDS", "3000000000"),
        ("HUBSPOT_REQUESTS_PER_10S", "3000000000"),
        ("FISCAL_YEAR_START_MONTH", "13"),
        ("FISCAL_YEAR_START_MONTH", "0"),
        ("FISCAL_YEAR_START_MONTH", "july"),
        ("BUSINESS_TIMEZONE", "PST"),
        ("BUSINESS_TIMEZONE", "+02:00"),
        ("BUSINESS_TIMEZONE", "America/San_Fransisco"),
        ("BUSINESS_TIMEZONE", "../../etc/passwd"),
        # Each of these started, then refused every delivery or call (operator review):
        ("SALESFORCE_ORG_ID", "00D000000000001AAA"),  # bad checksum: every message a 403
        ("SALESFORCE_ORG_ID", "acme"),
        ("SALESFORCE_ORG_ID", "005000000000001"),  # a user id, not an organization's
        ("SALESFORCE_INTEGRATION_USER_ID", "bob"),
        ("SALESFORCE_INTEGRATION_USER_ID", "00D000000000001"),
        ("HUBSPOT_SIGNATURE_VERSIONS", "v4"),  # every delivery a 401
        ("HUBSPOT_SIGNATURE_VERSIONS", "v3,sha256"),
        ("PUBLIC_BASE_URL", "localhost:8000"),  # every v3 signature fails
        ("PUBLIC_BASE_URL", "ftp://example.com"),
        ("HUBSPOT_PORTAL_ID", "abc"),
        ("HUBSPOT_APP_ID", "12a"),
        ("HUBSPOT_API_BASE", "notaurl"),
        ("SALESFORCE_INSTANCE_URL", "acme.my.salesforce.com"),
        ("SALESFORCE_DOMAIN", "bad domain!"),
        ("SALESFORCE_CA_BUNDLE", "/nope/ca.pem"),
        ("HUBSPOT_GUARD_PROPERTY", "has space"),
        ("HUBSPOT_GUARD_PROPERTY", "Roadmap_Clearance"),
        ("SALESFORCE_STATUS_FIELD", "bad field"),
        ("SALESFORCE_BLOCK_FIELD", "Roadmap_Block"),
        ("SALESFORCE_SUMMARY_FIELD", "Roadmap__Summary__c__c"),
        ("HOST", "999.1.1.1"),
        ("ROADMAP_SOURCE_ALLOWED_HOSTS", "jira.corp,http://10.0.0.1/"),
        ("ROADMAP_SOURCE_ALLOWED_HOSTS", "10.0.0.0/33"),
        ("ROADMAP_SOURCE_ALLOWED_HOSTS", "jira corp"),
    ],
)
def test_a_bad_value_stops_with_one_line_naming_the_variable(
    variable, value, monkeypatch, tmp_path, capsys
):
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exc:
        main(["queue"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"invalid configuration: {variable}:")


def test_a_cross_field_mistake_names_both_variables(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("BACKOFF_BASE_SECONDS", "30")
    monkeypatch.setenv("BACKOFF_CAP_SECONDS", "10")
    with pytest.raises(SystemExit) as exc:
        main(["migrate"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "BACKOFF_CAP_SECONDS" in err and "BACKOFF_BASE_SECONDS" in err
    assert len(err.splitlines()) == 1


@pytest.mark.slow
def test_the_console_entry_point_exits_2_on_a_bad_setting(tmp_path):
    env = {**os.environ, "WORKER_MODE": "sideways", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("invalid configuration: WORKER_MODE:")


def _private_key_file(tmp_path) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "sf.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(path)


def _startup_error(monkeypatch, tmp_path, capsys, **env: str) -> str:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        main(["queue"])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    "env",
    [
        {"SALESFORCE_USERNAME": "rg@example.com"},
        {"SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com"},
        {"SALESFORCE_CLIENT_ID": "cid"},
        {"SALESFORCE_USERNAME": "rg@example.com", "SALESFORCE_CLIENT_ID": "cid"},
        {"SALESFORCE_ACCESS_TOKEN": "00D!x"},
    ],
)
def test_incomplete_salesforce_credentials_stop_start_up(env, monkeypatch, tmp_path, capsys):
    line = _startup_error(monkeypatch, tmp_path, capsys, **env)
    assert line.startswith("invalid configuration:")
    assert "Salesforce credentials incomplete" in line and "SALESFORCE_ACCESS_TOKEN" in line
    # every login the code accepts is offered, the development password login too
    assert "SALESFORCE_USERNAME + SALESFORCE_PASSWORD (+ SALESFORCE_SECURITY_TOKEN" in line


@pytest.mark.parametrize("content", [None, "", "not a key"])
def test_an_unreadable_salesforce_private_key_stops_start_up(
    content, monkeypatch, tmp_path, capsys
):
    path = tmp_path / "sf.key"
    if content is not None:
        path.write_text(content)
    line = _startup_error(
        monkeypatch,
        tmp_path,
        capsys,
        SALESFORCE_USERNAME="rg@example.com",
        SALESFORCE_CLIENT_ID="cid",
        SALESFORCE_PRIVATE_KEY_FILE=str(path),
    )
    assert "SALESFORCE_PRIVATE_KEY_FILE" in line and str(path) in line


def test_client_credentials_on_login_domain_stop_start_up(monkeypatch, tmp_path, capsys):
    line = _startup_error(
        monkeypatch, tmp_path, capsys, SALESFORCE_CLIENT_ID="cid", SALESFORCE_CLIENT_SECRET="s"
    )
    assert "SALESFORCE_DOMAIN" in line


def test_complete_salesforce_credentials_are_accepted(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    key = _private_key_file(tmp_path)
    jwt = Settings(
        _env_file=None,
        salesforce_username="rg@example.com",
        salesforce_client_id="cid",
        salesforce_private_key_file=key,
    )
    assert auth_mode(jwt) == "jwt_bearer"
    token = Settings(
        _env_file=None,
        salesforce_access_token="00D!x",
        salesforce_instance_url="https://acme.my.salesforce.com",
    )
    assert auth_mode(token) == "access_token"
    assert not salesforce_configured(Settings(_env_file=None, salesforce_org_id="00D000000000001"))


@pytest.mark.parametrize(
    "variable",
    [
        "SALESFORCE_EVENTS_SECRET",
        "SALESFORCE_OUTBOUND_TOKEN",
        "HUBSPOT_CLIENT_SECRET",
        "HUBSPOT_CLIENT_SECRET_PREVIOUS",
        "HUBSPOT_ACCESS_TOKEN",
        "SALESFORCE_ACCESS_TOKEN",
        "SALESFORCE_USERNAME",
    ],
)
@pytest.mark.parametrize("blank", ["", "  "])
def test_an_empty_secret_or_optional_setting_counts_as_unset(
    variable, blank, monkeypatch, tmp_path
):
    # `SALESFORCE_EVENTS_SECRET=` in .env must not make "" the signing key.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, blank)
    settings = Settings(_env_file=None)
    assert getattr(settings, variable.lower()) is None
    assert not salesforce_configured(settings)
    assert sorted(build_connectors(settings, make_engine("sqlite://"))) == ["test"]


def test_every_seconds_setting_has_an_upper_bound():
    # An unbounded interval or retry wait overflowed periodic_job.interval_seconds on PostgreSQL.
    unbounded = []
    for name, field in Settings.model_fields.items():
        if field.annotation not in (int, float):
            continue
        if not any(getattr(m, "le", None) is not None for m in field.metadata):
            unbounded.append(name)
    assert unbounded == []


def test_a_schedule_interval_never_exceeds_a_week():
    from app.jobs.schedules import Schedule, _interval
    from app.settings import MAX_INTERVAL_SECONDS

    huge = Schedule(
        name="x",
        interval=lambda _s: 3_000_000_000,
        run=lambda _c: {},
        enabled=lambda _s, _c: True,
    )
    assert _interval(huge, Settings(_env_file=None)) == MAX_INTERVAL_SECONDS


def test_the_database_password_is_not_in_the_settings_repr(tmp_path):
    settings = Settings(
        _env_file=None, database_url="postgresql://roadmap:S3cretPW@db:5432/roadmap"
    )
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert "S3cretPW" not in repr(settings) and "S3cretPW" not in str(settings)


def test_the_business_timezone_error_says_what_a_zone_name_looks_like(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="unknown time zone 'PST': use an IANA name such as"):
        Settings(_env_file=None, business_timezone="PST")
    assert Settings(_env_file=None, business_timezone="America/Los_Angeles").business_timezone == (
        "America/Los_Angeles"
    )


@pytest.mark.parametrize(
    ("variable", "value", "read"),
    [
        ("SALESFORCE_ORG_ID", "00D000000000001", "00D000000000001"),
        ("SALESFORCE_ORG_ID", "00Dxx0000001gErEAI", "00Dxx0000001gErEAI"),  # its checksum
        ("SALESFORCE_INTEGRATION_USER_ID", "005000000000001", "005000000000001"),
        ("HUBSPOT_SIGNATURE_VERSIONS", " V1, v3 ", "v1,v3"),
        ("PUBLIC_BASE_URL", "https://guard.example.com/", "https://guard.example.com"),
        ("PUBLIC_BASE_URL", "http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("HUBSPOT_PORTAL_ID", "12345", "12345"),
        ("SALESFORCE_DOMAIN", "acme--uat.sandbox.my", "acme--uat.sandbox.my"),
        ("SALESFORCE_STATUS_FIELD", "ns__Roadmap_Status__c", "ns__Roadmap_Status__c"),
        ("HUBSPOT_GUARD_PROPERTY", "roadmap_guard_clearance_2", "roadmap_guard_clearance_2"),
        ("HOST", "0.0.0.0", "0.0.0.0"),
        ("HOST", "::", "::"),
        ("HOST", "guard.internal", "guard.internal"),
        # A choice in any case, and around spaces (uvicorn's own --log-level is lower-case):
        # `LOG_LEVEL=debug` stopped start-up.
        ("LOG_LEVEL", "debug", "DEBUG"),
        ("LOG_LEVEL", " Warning ", "WARNING"),
        ("LOG_FORMAT", "JSON", "json"),
        ("WORKER_MODE", "Off", "off"),
        ("HUBSPOT_GUARD_MODE", "WARN", "warn"),
    ],
)
def test_good_values_of_the_checked_settings_are_read(variable, value, read, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    settings = Settings(_env_file=None)
    assert getattr(settings, variable.lower()) == read


def test_a_host_serve_cannot_resolve_stops_it_naming_the_variable(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("HOST", "no-such-host.invalid")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("invalid configuration: HOST: cannot resolve 'no-such-host.invalid'")
    assert main(["serve", "--host", "other.invalid"]) == 2
    assert capsys.readouterr().err.startswith("invalid configuration: --host: cannot resolve")


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("HUBSPOT_CLIENT_SECRET", "HUBSPOT_CLIENT_SECRET is set but HUBSPOT_ACCESS_TOKEN is not"),
        ("SALESFORCE_OUTBOUND_TOKEN", "but no Salesforce credentials are"),
        ("SALESFORCE_EVENTS_SECRET", "but no Salesforce credentials are"),
    ],
)
def test_a_webhook_secret_without_the_crms_credentials_stops_an_embedded_worker(
    secret, says, monkeypatch, tmp_path, capsys
):
    """Every delivery was acknowledged and its deal went dead at once ("no connector is
    configured"): the CRM, answered 200, never delivered again. Only `serve` starts an embedded
    worker: the other commands (migrate, queue, apikey create) start none and run; an API
    beside workers that hold the credentials (WORKER_MODE=off) may have the secret alone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv(secret, "s3cret-value")
    assert main(["migrate"]) == 0
    assert main(["queue"]) == 0
    assert main(["apikey", "create", "--role", "admin", "--name", "me"]) == 0
    capsys.readouterr()
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("invalid configuration: ") and says in err
    assert err.count("\n") == 1
    assert "s3cret-value" not in err
    monkeypatch.setenv("WORKER_MODE", "off")
    from app.settings import embedded_worker_problem

    assert embedded_worker_problem(Settings(_env_file=None)) is None


def test_roadmap_source_allowed_hosts_takes_names_ips_and_cidrs(monkeypatch, tmp_path):
    from app.connectors.roadmap.netpolicy import parse_allowed_hosts

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    value = " Jira.Corp.example. , 10.20.0.0/16,::1 ,, 192.168.1.5"
    monkeypatch.setenv("ROADMAP_SOURCE_ALLOWED_HOSTS", value)
    assert Settings().roadmap_source_allowed_hosts == value
    allowed = parse_allowed_hosts(value)
    assert allowed.names == {"jira.corp.example"}
    assert [str(n) for n in allowed.networks] == ["10.20.0.0/16", "::1/128", "192.168.1.5/32"]
    monkeypatch.delenv("ROADMAP_SOURCE_ALLOWED_HOSTS")
    assert Settings().roadmap_source_allowed_hosts == ""  # the default: public addresses only


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"DATABASE_URL": "mysql://db/rg"}, "invalid configuration: DATABASE_URL: must be a "
         "sqlite:/// or postgresql:// URL (driver 'mysql' is not installed; postgresql:// uses "
         "psycopg 3)"),
        ({"BACKOFF_BASE_SECONDS": "30", "BACKOFF_CAP_SECONDS": "10"},
         "invalid configuration: BACKOFF_CAP_SECONDS must be >= BACKOFF_BASE_SECONDS"),
        ({"SALESFORCE_USERNAME": "rg@example.com"},
         "invalid configuration: Salesforce credentials incomplete: set SALESFORCE_ACCESS_TOKEN "),
        ({"PORT": "eighty"}, "invalid configuration: PORT: Input should be a valid integer, "
         "unable to parse string as an integer"),
    ],
)  # fmt: skip
def test_a_startup_error_says_the_variable_and_the_mistake_and_nothing_else(
    env, line, monkeypatch, tmp_path, capsys
):
    """Not pydantic's "Value error, " before every validator's own message, nor "SETTINGS: "
    (no variable of that name) before a mistake that names its variables itself."""
    said = _startup_error(monkeypatch, tmp_path, capsys, **env)
    assert said.startswith(line), said


def test_a_misspelt_variable_is_named_with_the_setting_meant(monkeypatch, tmp_path, capsys):
    """HUBSPOT_ACESS_TOKEN in .env (or the environment) was ignored without a word: the
    service started with no HubSpot token. Each near-miss is warned about, naming the setting
    meant; names far from every setting (a roadmap source's token_env, compose's password) are
    not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "HUBSPOT_ACESS_TOKEN=pat-na1-x\nPOSTGRES_PASSWORD=pw\nROADMAP_SOURCE_ACME_TOKEN=t\n"
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("WORKER_MOD", "off")
    main(["migrate"])
    err = capsys.readouterr().err
    assert (
        "warning: .env sets HUBSPOT_ACESS_TOKEN, which no setting reads: HUBSPOT_ACCESS_TOKEN "
        "meant? (ignored; the setting keeps its default)\n"
    ) in err
    assert (
        "warning: the environment sets WORKER_MOD, which no setting reads: WORKER_MODE meant? "
        "(ignored; the setting keeps its default)\n"
    ) in err
    assert "POSTGRES_PASSWORD" not in err and "ROADMAP_SOURCE_ACME_TOKEN" not in err
    assert "pat-na1-x" not in err  # names only, never a value


def test_the_suite_drops_the_services_settings_from_its_environment():
    """pytest run directly (not through tasks.py) kept an exported DATABASE_URL or a real
    HUBSPOT_ACCESS_TOKEN: tests building their own settings failed, and `serve` subprocesses
    started by tests got the token. tests/conftest.py drops them at start-up; TEST_POSTGRES_URL
    and the rest of the environment stay."""
    import os

    from tests.conftest import _drop_service_settings

    environ = {"DATABASE_URL": "sqlite:///x.db", "hubspot_access_token": "pat-1",
               "TEST_POSTGRES_URL": "postgresql://pg/test", "PATH": "/usr/bin"}  # fmt: skip
    assert _drop_service_settings(environ) == ["DATABASE_URL", "hubspot_access_token"]
    assert environ == {"TEST_POSTGRES_URL": "postgresql://pg/test", "PATH": "/usr/bin"}
    names = {name.upper() for name in Settings.model_fields}
    assert not [key for key in os.environ if key.upper() in names]
