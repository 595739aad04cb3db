"""All configuration, from the environment (or a .env file). Every field is in README's table.

Sections are grouped by owner so that connectors can add their own knobs without touching
others'. A bad value stops start-up with one line naming the variable (see `load_settings`).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'data' / 'roadmap-guard.db'}"


# The longest schedule interval: a week. Intervals are stored in periodic_job's INTEGER column
# (PostgreSQL: at most 2,147,483,647), and an overflow there stops every schedule on every worker.
MAX_INTERVAL_SECONDS = 7 * 24 * 3600


# The variables that make a Salesforce connector: any of them set means Salesforce is meant to
# be configured, so the combination is checked at start-up (see `salesforce_auth_mode`).
SALESFORCE_CREDENTIALS = (
    "salesforce_instance_url",
    "salesforce_access_token",
    "salesforce_client_id",
    "salesforce_client_secret",
    "salesforce_username",
    "salesforce_password",
    "salesforce_private_key_file",
)


def salesforce_configured(settings: Settings) -> bool:
    return any(getattr(settings, name) is not None for name in SALESFORCE_CREDENTIALS)


def salesforce_auth_mode(settings: Settings) -> str:
    """The Salesforce login the settings describe (the order of app/connectors/salesforce/auth.py);
    ValueError naming the variables when the combination is incomplete."""
    if settings.salesforce_access_token and settings.salesforce_instance_url:
        return "access_token"
    if (
        settings.salesforce_username
        and settings.salesforce_client_id
        and settings.salesforce_private_key_file
    ):
        return "jwt_bearer"
    if (
        settings.salesforce_client_id
        and settings.salesforce_client_secret
        and not settings.salesforce_username
    ):
        return "client_credentials"
    if settings.salesforce_username and settings.salesforce_password:
        return "password"
    raise ValueError(f"Salesforce credentials incomplete: set {SALESFORCE_LOGINS}")


# Every complete Salesforce login, in salesforce_auth_mode's order: what to set.
SALESFORCE_LOGINS = (
    "SALESFORCE_ACCESS_TOKEN and SALESFORCE_INSTANCE_URL, "
    "or SALESFORCE_USERNAME + SALESFORCE_CLIENT_ID + SALESFORCE_PRIVATE_KEY_FILE (JWT), "
    "or SALESFORCE_CLIENT_ID + SALESFORCE_CLIENT_SECRET (client credentials), "
    "or SALESFORCE_USERNAME + SALESFORCE_PASSWORD (+ SALESFORCE_SECURITY_TOKEN when the org "
    "asks for one; password login, development only)"
)

# What enables each CRM's connector, for a command that needs one that is not configured.
CRM_CREDENTIALS = {
    "hubspot": "HUBSPOT_ACCESS_TOKEN (a private app's token)",
    "salesforce": SALESFORCE_LOGINS,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # --- service -----------------------------------------------------------------------
    # Not in repr(Settings): a PostgreSQL URL may carry the password.
    database_url: str = Field(default_factory=_default_database_url, repr=False)
    worker_mode: Literal["embedded", "off"] = "embedded"
    worker_batch_size: int = Field(default=200, ge=1, le=1000)
    worker_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    lease_seconds: int = Field(default=120, ge=5, le=3600)
    max_attempts: int = Field(default=8, ge=1, le=100)
    # A batch running longer stops renewing its leases (another worker takes its deals once
    # they expire) and makes the worker's /healthz report it stuck.
    batch_timeout_seconds: int = Field(default=900, ge=10, le=86400)
    backoff_base_seconds: float = Field(default=2.0, gt=0, le=600)
    backoff_cap_seconds: float = Field(default=900.0, gt=0, le=86400)
    # Young-generation garbage collection every N container allocations (Python's default is
    # 700; 0 keeps it). See app.main.tune_garbage_collector for why.
    gc_gen0_threshold: int = Field(default=10_000, ge=0, le=1_000_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    public_base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Evaluations of deals are linked from the CRM; this is where a rep's click lands.
    dashboard_enabled: bool = True
    cookie_secure: bool = True
    # How long a process trusts an API key it has checked; a revocation made elsewhere (CLI,
    # another replica) takes effect within this. 0: check every request against the database.
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # A webhook whose commit is not confirmed within this gets 503 (the CRM delivers again;
    # duplicates are recognised). HubSpot gives up after 5 s.
    webhook_ack_timeout_seconds: float = Field(default=4.0, gt=0, le=60)
    # How long stored webhook events and the record of CRM writes are kept (0: forever). At
    # least 7 days: a webhook event is also what recognises a CRM's redelivery (HubSpot retries
    # for up to 3 days, Salesforce Outbound Messages for 24 hours).
    webhook_event_retention_days: int = Field(default=90, ge=0, le=36500)
    write_back_log_retention_days: int = Field(default=365, ge=0, le=36500)

    # --- roadmap -------------------------------------------------------------------------
    roadmap_refresh_seconds: int = Field(default=900, ge=30, le=MAX_INTERVAL_SECONDS)
    # Hosts a roadmap source may fetch even though they are not public (loopback, private,
    # link-local, ...): comma-separated host names, IPs or CIDRs, e.g. a Jira Server on the
    # company network. Empty: public addresses only (app/connectors/roadmap/netpolicy.py).
    roadmap_source_allowed_hosts: str = ""
    install_default_rules: bool = True
    # The month (1-12) the company's fiscal year starts in: how "by Q3", "next quarter", "1H27"
    # or "FY27" in notes are read. FY27 is the fiscal year that ends in 2027 (with February as
    # the start: Feb 2026 - Jan 2027). 1 is the calendar year. Also the commitments report's
    # quarters.
    fiscal_year_start_month: int = Field(default=1, ge=1, le=12)
    # The time zone the sales team works in (an IANA name such as America/New_York): the day a
    # note was written on, and so what its "next quarter" or "end of month" means, and what
    # "today" is for rules. A note written at 6 pm in San Francisco on 31 March is 1 April in
    # UTC, and its "next quarter" would be a quarter late. Also the days (so the quarters) of
    # the commitments report.
    business_timezone: str = "UTC"

    # --- hubspot (issue 4) -----------------------------------------------------------------
    hubspot_access_token: SecretStr | None = None
    hubspot_client_secret: SecretStr | None = None
    # A second secret accepted during a rotation.
    hubspot_client_secret_previous: SecretStr | None = None
    hubspot_app_id: str | None = None
    hubspot_portal_id: str | None = None
    hubspot_api_base: str = "https://api.hubapi.com"
    hubspot_signature_versions: str = "v3"
    hubspot_guard_mode: Literal["revert", "warn"] = "revert"
    hubspot_requests_per_10s: int = Field(default=100, ge=1, le=10_000)
    hubspot_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    hubspot_reconcile_seconds: int = Field(default=600, ge=30, le=MAX_INTERVAL_SECONDS)
    # The first reconciliation looks this far back, not at every deal (search caps at 10,000).
    hubspot_reconcile_lookback_days: int = Field(default=7, ge=1, le=365)
    # Line-item property events carry no deal id: a schedule resolves them to deals in batches.
    hubspot_line_item_resolve_seconds: int = Field(default=10, ge=1, le=3600)
    # Daily API limit hit: the longest the queue waits before trying the portal again (the wait
    # ends earlier at midnight in the portal's time zone, when HubSpot resets the limit).
    hubspot_daily_limit_retry_seconds: int = Field(default=3600, ge=60, le=86400)
    # The portal's company currency (ISO 4217, e.g. USD), the label of pipeline totals (which
    # add each deal's `amount_in_home_currency`), used only while HubSpot's account details,
    # which say it, cannot be read. Unset then, totals are unlabelled.
    hubspot_company_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    # The guard property that HubSpot pipeline rules require before a won stage (see docs/hubspot.md).
    hubspot_guard_property: str = "roadmap_guard_clearance"

    # --- salesforce (issue 5) --------------------------------------------------------------
    salesforce_instance_url: str | None = None
    salesforce_access_token: SecretStr | None = None
    salesforce_client_id: str | None = None
    salesforce_client_secret: SecretStr | None = None
    salesforce_username: str | None = None
    salesforce_password: SecretStr | None = None
    salesforce_security_token: SecretStr | None = None
    salesforce_private_key_file: str | None = None
    salesforce_domain: str = "login"
    salesforce_api_version: str = "61.0"
    salesforce_org_id: str | None = None
    salesforce_outbound_token: SecretStr | None = None
    salesforce_events_secret: SecretStr | None = None
    salesforce_integration_user_id: str | None = None
    salesforce_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    salesforce_reconcile_seconds: int = Field(default=600, ge=30, le=MAX_INTERVAL_SECONDS)
    salesforce_ca_bundle: str | None = None
    # Field API names on Opportunity (setup creates them with these names).
    salesforce_status_field: str = "Roadmap_Check_Status__c"
    salesforce_summary_field: str = "Roadmap_Check_Summary__c"
    salesforce_block_field: str = "Roadmap_Block__c"
    salesforce_checked_at_field: str = "Roadmap_Checked_At__c"
    # The won stages the deployed validation rule names (comma-separated, as `setup salesforce`
    # prints them): each hourly facts load warns about an active won stage not among them.
    salesforce_won_stages: str | None = None
    # Opportunities per SOQL query / per sObject Collections request (Salesforce allows 200).
    salesforce_batch_size: int = Field(default=200, ge=1, le=200)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object, info: ValidationInfo) -> object:
        # SALESFORCE_EVENTS_SECRET= (or any optional setting given as "") means unset: an empty
        # secret must never become a key that anyone can sign with.
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.default is None and isinstance(value, str | SecretStr):
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text.strip():
                return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_choice(cls, value: object) -> object:
        # LOG_LEVEL=debug (uvicorn's own --log-level is lower-case) stopped start-up.
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", "worker_mode", "hubspot_guard_mode", mode="before")
    @classmethod
    def _lower_choice(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        """sqlite:///<file> or postgresql[+psycopg]://..., parsed here so that a URL the engine
        would refuse later (another driver, an in-memory SQLite that every connection sees
        empty, a malformed port) is one line at start-up, not a traceback."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
            url.port  # noqa: B018 (a malformed port raises here)
        except (ArgumentError, ValueError):
            raise ValueError(
                "is not a database URL (sqlite:///<file> or postgresql://user@host/db)"
            ) from None
        if url.host is not None and "@" in url.host:
            # postgresql://user:p@ss@host/db: the password ends at its first '@', the rest of
            # it was taken for the host (a name lookup of "ss@host" failed) and printed, after
            # the "***", in every error naming the database.
            raise ValueError(
                "has an '@' in its password (or user name), which must be written %40 "
                "(postgresql://user:p%40ss@host/db); or leave the password out of the URL and "
                "set PGPASSWORD"
            )
        if url.drivername == "sqlite":
            if not url.database or url.database == ":memory:":
                raise ValueError(
                    "needs a file, e.g. sqlite:///roadmap-guard.db (an in-memory database is "
                    "empty for every connection)"
                )
            return value
        if url.drivername == "postgresql":
            # psycopg 3 is the driver we ship.
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        if url.drivername == "postgresql+psycopg":
            return value
        raise ValueError(
            f"must be a sqlite:/// or postgresql:// URL (driver {url.drivername!r} is not "
            "installed; postgresql:// uses psycopg 3)"
        )

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from app.rules.catalog import time_zone

        time_zone(value)  # ValueError naming what is wrong
        return value

    @field_validator("salesforce_api_version")
    @classmethod
    def _pinned_api_version(cls, value: str) -> str:
        # setup's Apex note resource uses WITH USER_MODE, which Salesforce added in 57.0.
        try:
            major, minor = (int(part) for part in value.split("."))
        except ValueError:
            raise ValueError("must look like 61.0") from None
        if (major, minor) < (57, 0):
            raise ValueError("must be 57.0 or later")
        return f"{major}.{minor}"

    @field_validator("public_base_url", "hubspot_api_base", "salesforce_instance_url")
    @classmethod
    def _web_url(cls, value: str | None) -> str | None:
        """A URL the service is reached at or calls: HubSpot signs the full URL it delivers to
        (PUBLIC_BASE_URL without its scheme failed every signature), and a base without one
        failed every CRM call."""
        from app.models.types import web_link

        if value is not None and web_link(value) is None:
            raise ValueError(f"must be an http or https URL with a host, not {value!r}")
        return value.rstrip("/") if value is not None else None

    @field_validator("hubspot_signature_versions")
    @classmethod
    def _signature_versions(cls, value: str) -> str:
        versions = [v.strip().lower() for v in value.split(",") if v.strip()]
        unknown = [v for v in versions if v not in ("v1", "v2", "v3")]
        if unknown or not versions:
            raise ValueError(
                f"must be a comma-separated list of v1, v2, v3 (HubSpot's signature versions), "
                f"not {value!r}"
            )
        return ",".join(versions)

    @field_validator("hubspot_portal_id", "hubspot_app_id")
    @classmethod
    def _hubspot_number(cls, value: str | None) -> str | None:
        # HubSpot's events carry these as numbers: any other text matched no event (each one
        # ignored as another portal's or app's).
        if value is not None and not value.strip().isdigit():
            raise ValueError(f"must be HubSpot's numeric id, not {value!r}")
        return value.strip() if value is not None else None

    @field_validator("salesforce_org_id", "salesforce_integration_user_id")
    @classmethod
    def _salesforce_id(cls, value: str | None, info: ValidationInfo) -> str | None:
        """A 15- or 18-character id with the key prefix of its kind: a mistyped org id refused
        every Outbound Message (a 403 fault, retried by Salesforce for 24 hours)."""
        if value is None:
            return None
        from app.connectors.salesforce.ids import to18

        prefix, kind = (
            ("00D", "organization")
            if info.field_name == "salesforce_org_id"
            else (
                "005",
                "user",
            )
        )
        try:
            to18(value)
        except ValueError as exc:
            raise ValueError(f"{exc} (a 15- or 18-character {kind} id)") from None
        if not value.strip().startswith(prefix):
            raise ValueError(f"a Salesforce {kind} id starts with {prefix}, not {value[:3]!r}")
        return value.strip()

    @field_validator("salesforce_domain")
    @classmethod
    def _salesforce_domain(cls, value: str) -> str:
        # login, test, or the org's My Domain (acme.my, acme--sandbox.sandbox.my)
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)*", value.lower()):
            raise ValueError(
                f"must be login, test or the org's My Domain (e.g. acme.my), not {value!r}"
            )
        return value

    @field_validator("salesforce_ca_bundle")
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"{value!r} is not a readable file (a PEM bundle of CA certificates)")
        return value

    @field_validator("hubspot_guard_property")
    @classmethod
    def _hubspot_property_name(cls, value: str) -> str:
        # HubSpot's internal property names: lower-case letters, digits and underscores.
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,99}", value):
            raise ValueError(
                "must be a HubSpot property's internal name (lower-case letters, digits and "
                f"underscores, starting with a letter), not {value!r}"
            )
        return value

    @field_validator(
        "salesforce_status_field",
        "salesforce_summary_field",
        "salesforce_block_field",
        "salesforce_checked_at_field",
    )
    @classmethod
    def _salesforce_field_name(cls, value: str) -> str:
        # an optional managed package's namespace, then the name (no double underscore)
        if not re.fullmatch(
            r"(?:[A-Za-z][A-Za-z0-9]{0,14}__)?[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c", value
        ):
            raise ValueError(
                "must be a custom field's API name (letters, digits and single underscores, "
                f"ending in __c, e.g. Roadmap_Check_Status__c), not {value!r}"
            )
        return value

    @field_validator("host")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        import ipaddress

        if re.fullmatch(r"[\d.]+", value):  # written as an IPv4 address: must be one
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an IPv4 address") from None
        return value

    @field_validator("roadmap_source_allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: str) -> str:
        from app.connectors.roadmap.netpolicy import parse_allowed_hosts

        parse_allowed_hosts(value)  # ValueError naming the bad entry
        return value

    @field_validator("webhook_event_retention_days", "write_back_log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        if 0 < days < 7:
            raise ValueError("0 (keep forever) or at least 7 days")
        return days

    @model_validator(mode="after")
    def _backoff_order(self) -> Settings:
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError("BACKOFF_CAP_SECONDS must be >= BACKOFF_BASE_SECONDS")
        return self

    @model_validator(mode="after")
    def _salesforce_credentials(self) -> Settings:
        # Checked here, not at the first login: an incomplete set would otherwise pass start-up
        # and then fail every deal (retried, then dead) instead of stopping with one line.
        if not salesforce_configured(self):
            return self
        mode = salesforce_auth_mode(self)
        if mode == "client_credentials" and self.salesforce_domain in ("login", "test"):
            raise ValueError(
                "SALESFORCE_DOMAIN must be the org's My Domain (e.g. acme.my) for client "
                "credentials (SALESFORCE_CLIENT_ID + SALESFORCE_CLIENT_SECRET)"
            )
        if mode == "jwt_bearer":
            path = Path(str(self.salesforce_private_key_file))
            try:
                key = path.read_bytes()
            except OSError as exc:
                raise ValueError(
                    f"SALESFORCE_PRIVATE_KEY_FILE {str(path)!r} cannot be read: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from None
            try:
                from cryptography.hazmat.primitives.serialization import load_pem_private_key

                load_pem_private_key(key, password=None)
            except Exception:
                raise ValueError(
                    f"SALESFORCE_PRIVATE_KEY_FILE {str(path)!r} is not an unencrypted PEM "
                    "private key"
                ) from None
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def embedded_worker_problem(settings: Settings) -> str | None:
    """A CRM's webhook secret without its credentials, in a process about to start an embedded
    worker (`serve` with WORKER_MODE=embedded): every delivery was acknowledged and its deal
    went dead at once ("no connector is configured"), so the CRM never delivered again.
    Checked by `serve` only: the other commands start no worker, and an API with
    WORKER_MODE=off (beside workers that hold the credentials) may have the secret alone."""
    if settings.worker_mode != "embedded":
        return None
    if settings.hubspot_client_secret is not None and settings.hubspot_access_token is None:
        return (
            "HUBSPOT_CLIENT_SECRET is set but HUBSPOT_ACCESS_TOKEN is not: this process's "
            "embedded worker could not read or write a HubSpot deal; set the token, or run the "
            "API with WORKER_MODE=off beside workers that have it"
        )
    if (
        settings.salesforce_outbound_token is not None
        or settings.salesforce_events_secret is not None
    ) and not salesforce_configured(settings):
        return (
            "SALESFORCE_OUTBOUND_TOKEN or SALESFORCE_EVENTS_SECRET is set but no Salesforce "
            "credentials are: this process's embedded worker could not read or write an "
            "opportunity; set them (README, Salesforce), or run the API with "
            "WORKER_MODE=off beside workers that have them"
        )
    return None


def webhook_receiver_problem(settings: Settings) -> str | None:
    """A webhook route configured by halves, in a process about to receive webhooks (`serve`,
    whatever its WORKER_MODE): SALESFORCE_OUTBOUND_TOKEN without SALESFORCE_ORG_ID answered
    every Outbound Message with a 503 fault ("not configured"), which Salesforce retries for
    24 hours and then drops, while nothing at start-up said so. The other commands receive
    nothing and run."""
    if settings.salesforce_outbound_token is not None and settings.salesforce_org_id is None:
        return (
            "SALESFORCE_OUTBOUND_TOKEN is set but SALESFORCE_ORG_ID is not: every Outbound "
            "Message would be refused (503 fault), since the organization it comes from cannot "
            "be checked; set SALESFORCE_ORG_ID to your org's id (Setup, Company Information), "
            "or unset the token"
        )
    return None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per bad variable, named as the operator sets it. A validator's own message
    without pydantic's "Value error, " before it; a mistake across variables (a model
    validator, no single variable) names them in its message, so no name goes before it."""
    lines = []
    for err in exc.errors():
        msg = err["msg"]
        if err.get("type") == "value_error":
            msg = msg.removeprefix("Value error, ")
        name = "_".join(str(p) for p in err["loc"]).upper()
        lines.append(
            f"invalid configuration: {name}: {msg}" if name else f"invalid configuration: {msg}"
        )
    return "\n".join(lines)


def misspelt_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """Variables set in the environment or the `.env` file that no setting reads but whose
    name is one letter or so from a setting's ("HUBSPOT_ACESS_TOKEN", "DATABSE_URL"): each was
    silently ignored, the default (or nothing) used instead. One warning line each, naming the
    setting meant. Names far from every setting (ROADMAP_SOURCE_ACME_TOKEN, a roadmap source's
    `token_env`; POSTGRES_PASSWORD for compose) are not looked at."""
    names = {name.upper() for name in Settings.model_fields}
    seen: dict[str, str] = {}
    env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
    if env_file.is_file():
        for key in dotenv_values(env_file):
            seen.setdefault(key.upper(), f"{env_file} sets")
    for key in os.environ if environ is None else environ:
        seen.setdefault(key.upper(), "the environment sets")
    lines = []
    for key, where in sorted(seen.items()):
        if key in names:
            continue
        meant = difflib.get_close_matches(key, names, n=1, cutoff=0.85)
        if meant:
            lines.append(
                f"warning: {where} {key}, which no setting reads: {meant[0]} meant? "
                "(ignored; the setting keeps its default)"
            )
    return lines


def load_settings(**overrides) -> Settings:
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        print(describe_validation_error(exc), file=sys.stderr)
        raise SystemExit(2) from None
    for line in misspelt_variables():
        print(line, file=sys.stderr)
    return settings


@lru_cache
def get_settings() -> Settings:
    return load_settings()
