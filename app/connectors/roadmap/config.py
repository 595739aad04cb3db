"""One pydantic model per source kind for the stored `config`: closed (`extra="forbid"`),
typed and bounded. The API validates a config with it before storing (every mistake, with its
JSON path); each connector parses its config with the same model when it reads it.

Secrets never live in a config: credentials come from the environment variable NAMED by
`auth_env` / `token_env`, which must start with ROADMAP_SOURCE_ (`SecretEnv`), and a key that looks like a secret is refused with its own message.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import PydanticCustomError

from app.connectors.roadmap.base import (
    SECRET_ENV_PREFIX,
    SourceConfigError,
    renamed_secret_env,
    secret_env_problem,
)
from app.connectors.roadmap.netpolicy import url_policy_errors
from app.errors import error_message, json_path

ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
HTTP_URL = r"^https?://[^\s/?#]+[^\s]*$"


def _parseable(url: str) -> str:
    """A URL the pattern lets through must also be one the HTTP client can request: an IPv6
    host without its closing bracket or a port that is no number (or past 65535) was stored,
    then every refresh failed and the statuses route answered 500."""
    try:
        port = urlsplit(url).port
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise ValueError(f"not a URL the client can request: {exc}") from None
    if port == 0:
        raise ValueError("not a URL the client can request: port 0")
    return url


HttpUrl = Annotated[str, Field(pattern=HTTP_URL, max_length=2048), AfterValidator(_parseable)]


def _source_secret_env(name: str) -> str:
    """Only a ROADMAP_SOURCE_* variable may hold a source's credential (base.secret_env_problem):
    a source names the variable, and its value is sent to the source's URL."""
    problem = secret_env_problem(name)
    if problem:
        raise PydanticCustomError(
            "env_name_prefix",
            f"{problem}: {name} is not read; put the credential in an environment variable "
            f"such as {renamed_secret_env(name)} and name that one",
        )
    return name


# The NAME of the environment variable holding a source's credential.
SecretEnv = Annotated[
    str, Field(pattern=ENV_NAME, max_length=128), AfterValidator(_source_secret_env)
]
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"  # an RFC 9110 token
FIELD_ID = r"^[A-Za-z0-9_.\-]+$"  # a Jira field id: duedate, labels, customfield_10015
DEFAULT_TIMEOUT = 20.0

# An http source's header is `auth_header: auth_scheme <the value of the auth_env variable>`.
# The scheme is one word (Bearer, Token, Basic, Api-Key; "" for the bare value): letters and
# hyphens, starting with a letter, at most 20. Anything else is a credential pasted into the
# config ("sk_live_...", "Bearer abc123..."), which would be stored, audited and shown to every
# reader: refused as `secret_in_config`, its value never repeated (`config_errors`).
AUTH_SCHEME_MAX = 20
AUTH_SCHEME = rf"^(?:[A-Za-z][A-Za-z-]{{0,{AUTH_SCHEME_MAX - 1}}})?$"
AUTH_SCHEME_MSG = (
    'auth_scheme is the scheme word only (e.g. Bearer, Token, Basic; "" for none): letters '
    f"and hyphens, at most {AUTH_SCHEME_MAX}; secrets are not stored: put the token in an "
    "environment variable and name it in auth_env"
)
_AUTH_SCHEME_RE = re.compile(AUTH_SCHEME)


def auth_scheme_ok(value: Any) -> bool:
    """`value` is a scheme word (or "", or no string at all: the model says what is wrong)."""
    return not isinstance(value, str) or bool(_AUTH_SCHEME_RE.fullmatch(value))


_SECRET_WORDS = ("token", "password", "secret", "apikey", "api_key", "authorization")
ENV_NAME_KEYS = ("auth_env", "token_env")
URL_KEYS = ("url", "base_url")
# Query parameter names that carry a credential: one of these words in the name (split at
# anything not a letter or digit, camelCase too), or one of the run-together spellings.
_SECRET_PARAM_WORDS = {
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "sig",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "jwt",
}
_SECRET_PARAM_PARTS = ("apikey", "token", "secret", "password", "signature")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class RegistryConfig(_Config):
    """The built-in registry has nothing to configure."""


class _RemoteConfig(_Config):
    timeout_seconds: float = Field(
        default=DEFAULT_TIMEOUT,
        gt=0,
        le=300,
        description="deadline of each request: connecting to the answer's last byte, "
        "redirects included",
    )
    # The removal guard (docs/roadmap.md, "A refresh that would empty the catalog"): a refresh
    # that would delete every stored feature, or more than this share of them, is refused
    # unless accepted explicitly.
    max_removed_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="largest share of the stored features one refresh may remove (1: no limit "
        "short of removing them all)",
    )
    removals_always_allowed: int = Field(
        default=2,
        ge=0,
        le=100000,
        description="a refresh may always remove this many features, whatever the share (small "
        "sources), as long as it does not remove them all",
    )


class HttpConfig(_RemoteConfig):
    url: HttpUrl
    auth_env: SecretEnv | None = Field(
        default=None, description=f"env var holding the token: {SECRET_ENV_PREFIX}*"
    )
    auth_header: str = Field(default="Authorization", pattern=HEADER_NAME, max_length=128)
    # The scheme word only (AUTH_SCHEME): anything more is a token pasted into the config.
    auth_scheme: str = Field(
        default="Bearer", pattern=AUTH_SCHEME, description="the scheme word: Bearer, Token, ..."
    )
    cursor_param: str = Field(default="cursor", min_length=1, max_length=64, pattern=r"^\S+$")


class ProductboardConfig(_RemoteConfig):
    token_env: SecretEnv
    base_url: HttpUrl = "https://api.productboard.com"
    # prefix + Productboard's feature id (a UUID) must be a valid feature key
    key_prefix: str = Field(
        default="pb-", pattern=r"^([A-Za-z0-9][A-Za-z0-9._:\-]*)?$", max_length=32
    )
    # Productboard sunset REST API v1 on 2026-07-08; "1" is for workspaces still answering it.
    api_version: Literal["1", "2"] = Field(
        default="2", description="Productboard REST API version: '2', or '1' (sunset)"
    )


class JiraConfig(_RemoteConfig):
    base_url: HttpUrl
    jql: str = Field(min_length=1, max_length=8000)
    token_env: SecretEnv
    api: Literal["cloud", "server"] = "cloud"
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)
    target_date_field: str = Field(default="duedate", pattern=FIELD_ID, max_length=128)
    aliases_field: str | None = Field(default=None, pattern=FIELD_ID, max_length=128)
    page_size: int = Field(default=100, ge=1, le=5000)  # Jira Cloud's enhanced search caps at 5000


CONFIG_MODELS: dict[str, type[_Config]] = {
    "registry": RegistryConfig,
    "http": HttpConfig,
    "productboard": ProductboardConfig,
    "jira": JiraConfig,
}


def _looks_secret(key: str) -> bool:
    lowered = key.lower()
    return key not in ENV_NAME_KEYS and any(word in lowered for word in _SECRET_WORDS)


def _secret_param(name: str) -> bool:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    words = {w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w}
    flat = re.sub(r"[^a-z0-9]", "", name.lower())
    return bool(words & _SECRET_PARAM_WORDS) or any(p in flat for p in _SECRET_PARAM_PARTS)


def url_secret_errors(config: Any) -> list[dict[str, Any]]:
    """A URL of the config that carries a credential (user-info, or a query parameter named
    like one): refused, since the config is shown to every reader, audited and logged."""
    if not isinstance(config, dict):
        return []
    errors = []
    for key in URL_KEYS:
        value = config.get(key)
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value)
        except ValueError:
            continue  # the model reports a malformed URL
        loc = ["config", key]
        if "@" in parts.netloc:
            errors.append(
                {
                    "loc": loc,
                    "path": json_path(loc),
                    "msg": "the URL carries user-info (user:password@): secrets are not "
                    "stored; remove it and name the environment variable holding the "
                    "credential in auth_env/token_env",
                    "type": "secret_in_url",
                }
            )
        names = sorted(
            {n for n, _ in parse_qsl(parts.query, keep_blank_values=True) if _secret_param(n)}
        )
        if names:
            errors.append(
                {
                    "loc": loc,
                    "path": json_path(loc),
                    "msg": f"the URL's query parameter{'s' if len(names) > 1 else ''} "
                    f"{', '.join(repr(n) for n in names)} look{'' if len(names) > 1 else 's'} "
                    "like a credential: secrets are not stored; remove "
                    f"{'them' if len(names) > 1 else 'it'} and send the credential as a header "
                    "named by auth_env (auth_header, auth_scheme)",
                    "type": "secret_in_url",
                }
            )
    return errors


def shown_config(config: Any) -> dict[str, Any]:
    """The config as readers may see it: a URL stored with a credential before such URLs were
    refused has its user-info dropped and its credential-like query values replaced by ***."""
    shown = dict(config) if isinstance(config, dict) else {}
    for key in URL_KEYS:
        value = shown.get(key)
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value)
        except ValueError:
            continue
        netloc = parts.netloc.rpartition("@")[2]
        query = "&".join(
            f"{n}=***" if _secret_param(n) else (f"{n}={v}" if v else n)
            for n, v in parse_qsl(parts.query, keep_blank_values=True)
        )
        if netloc != parts.netloc or (query and query != parts.query):
            shown[key] = urlunsplit(parts._replace(netloc=netloc, query=query))
    if not auth_scheme_ok(shown.get("auth_scheme")):  # stored before it was refused
        shown["auth_scheme"] = "***"
    return shown


_CF_CLAUSE = re.compile(r"^\s*cf\[(\d+)\]\s*$", re.IGNORECASE)
_FIELD_ID_MSG = (
    "a Jira field id (duedate, labels, fixVersions, customfield_10015), not the field's name: "
    "a custom field's number is in the URL of its settings page (id=10015: customfield_10015)"
)


def _pattern_message(key: Any, value: Any) -> str | None:
    """What to write instead of a value the field's pattern refuses, where "should match
    pattern '^https?://...'" would leave the writer guessing; None: pydantic's message."""
    if key in URL_KEYS:
        return "an http or https URL, its scheme included (https://...)"
    if key in ("target_date_field", "aliases_field"):
        clause = _CF_CLAUSE.match(value) if isinstance(value, str) else None
        if clause:  # the JQL clause name of a custom field
            return f"{value.strip()} is how JQL names it; its field id is customfield_{clause[1]}"
        return _FIELD_ID_MSG
    return None


# Paths an API base URL must not carry: the connector adds them, and a base URL pasted with
# them made every request go to .../rest/api/3/rest/api/3/search/jql (404).
_API_PATHS = {
    "jira": (re.compile(r"/rest(/|$)"), "/rest/..."),
    "productboard": (re.compile(r"/v[12]/?$|/v[12]/"), "/v1 or /v2"),
}


def _base_url_errors(kind: str, config: Any) -> list[dict[str, Any]]:
    """A Jira or Productboard base_url that carries the API's own path; a Jira Cloud site
    set to the Server / Data Center API."""
    if kind not in _API_PATHS or not isinstance(config, dict):
        return []
    value = config.get("base_url")
    if not isinstance(value, str):
        return []
    try:
        parts = urlsplit(value)
    except ValueError:
        return []  # the model reports a malformed URL
    errors: list[dict[str, Any]] = []
    host = (parts.hostname or "").lower()
    if kind == "jira" and config.get("api") == "server" and host.endswith(".atlassian.net"):
        # Atlassian removed /rest/api/2/search and /rest/api/3/search from Jira Cloud (410
        # Gone): a Cloud site is read only through the enhanced search, /rest/api/3/search/jql
        loc = ["config", "api"]
        errors.append(
            {
                "loc": loc,
                "path": json_path(loc),
                "msg": f"{host} is Jira Cloud, which answers the Server / Data Center search "
                '(/rest/api/2/search) with 410 Gone: use "cloud" (or leave api out)',
                "type": "jira_cloud_site",
            }
        )
    pattern, shown = _API_PATHS[kind]
    found = pattern.search(parts.path)
    if not found:
        return errors
    site = urlunsplit(parts._replace(path=parts.path[: found.start()], query="", fragment=""))
    loc = ["config", "base_url"]
    return [
        {
            "loc": loc,
            "path": json_path(loc),
            "msg": f"the site's URL without the API's path ({shown}, which the connector adds): "
            f"{site}",
            "type": "api_path_in_base_url",
        },
        *errors,
    ]


def config_errors(kind: str, config: Any) -> list[dict[str, Any]]:
    """Every mistake in `config` for `kind`, as the rules API reports them: {loc, path, msg,
    type}, loc starting with "config". Empty when the config can work."""
    model = CONFIG_MODELS.get(kind)
    if model is None:
        return [
            {
                "loc": ["kind"],
                "path": "kind",
                "msg": f"unknown kind '{kind}'; one of: {', '.join(CONFIG_MODELS)}",
                "type": "unknown_kind",
            }
        ]
    errors = (
        url_secret_errors(config)
        + url_policy_errors(config, URL_KEYS)
        + _base_url_errors(kind, config)
    )
    try:
        model.model_validate(config)
    except ValidationError as exc:
        for e in exc.errors():
            loc = ["config", *e["loc"]]
            msg, type_ = error_message(e, model), e["type"]
            if (
                type_ == "extra_forbidden"
                and len(e["loc"]) == 1
                and _looks_secret(str(e["loc"][0]))
            ):
                msg = (
                    "secrets are not stored; put the value in an environment variable "
                    "and name it in auth_env/token_env"
                )
                type_ = "secret_in_config"
            elif (
                model is HttpConfig
                and tuple(e["loc"]) == ("auth_scheme",)
                and not auth_scheme_ok(e.get("input"))  # a string, more than a scheme word
            ):
                msg, type_ = AUTH_SCHEME_MSG, "secret_in_config"
            elif type_ == "string_pattern_mismatch" and len(e["loc"]) == 1:
                msg = _pattern_message(e["loc"][0], e.get("input")) or msg
            errors.append({"loc": loc, "path": json_path(loc), "msg": msg, "type": type_})
    return errors


def parse_config(kind: str, config: Any) -> Any:
    """The typed config of a source; SourceConfigError naming every mistake otherwise."""
    errors = config_errors(kind, config)
    if errors:
        raise SourceConfigError(
            "invalid configuration: " + "; ".join(f"{e['path']}: {e['msg']}" for e in errors)
        )
    return CONFIG_MODELS[kind].model_validate(config)


def config_warnings(kind: str, config: Any) -> list[str]:
    """What may stop a valid config from working here: an env var it names that this process
    does not have. A warning, not a refusal: the variable may be set on the workers only."""
    if not isinstance(config, dict) or kind not in CONFIG_MODELS:
        return []
    names = {k: config[k] for k in ENV_NAME_KEYS if isinstance(config.get(k), str) and config[k]}
    warnings = [
        f"config.{key}: {var} is not read ({secret_env_problem(var)}); refreshes fail until "
        f"the variable is renamed (e.g. to {renamed_secret_env(var)}) and the config names it"
        for key, var in names.items()
        if secret_env_problem(var)
    ]
    warnings += [
        f"config.{key}: environment variable {var} is not set in this process; "
        "refreshes fail wherever it is not set (the API's refresh now runs here, the "
        "periodic one on a worker)"
        for key, var in names.items()
        if not secret_env_problem(var) and not os.environ.get(var)
    ]
    warnings += [
        f"{e['path']}: stored with a credential in it (shown here without it); refreshes fail "
        "until it is replaced: " + e["msg"]
        for e in url_secret_errors(config)
    ]
    if kind == "http" and not auth_scheme_ok(config.get("auth_scheme")):
        warnings.append(
            "config.auth_scheme: stored with what looks like a credential in it (shown here as "
            "***); refreshes fail until it is replaced: " + AUTH_SCHEME_MSG
        )
    if kind == "productboard" and config.get("api_version") == "1":
        warnings.append(
            "config.api_version: Productboard sunset REST API v1 on 2026-07-08; "
            "use '2' unless this workspace still answers v1"
        )
    base_url = str(config.get("base_url") or "")
    if (
        kind == "jira"
        and config.get("api", "cloud") == "cloud"
        and not config.get("email")
        and ".atlassian.net" in base_url
    ):
        # Jira Cloud takes an API token only as basic auth with the account's e-mail; a bearer
        # token works only for OAuth 2.0, through https://api.atlassian.com/ex/jira/<cloudId>.
        warnings.append(
            "config.email: not set, so the token is sent as a bearer token, which Jira Cloud "
            "(*.atlassian.net) refuses for API tokens; set the account's e-mail"
        )
    return warnings
