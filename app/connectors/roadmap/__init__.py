"""Roadmap sources behind one protocol (`RoadmapSource.fetch(etag) -> FetchResult`).

`build_source(kind, name, config)` is the one place that knows which class serves which kind;
`validate_config` refuses configurations that cannot work or that try to store a secret.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.connectors.roadmap import jira, productboard
from app.connectors.roadmap.base import (
    FetchResult,
    RoadmapSource,
    SourceConfigError,
    SourceError,
    apply_status_mapping,
    map_status,
    normalise_status,
    unmapped_statuses,
)
from app.connectors.roadmap.http_json import HttpJsonSource
from app.connectors.roadmap.jira import JiraSource
from app.connectors.roadmap.productboard import ProductboardSource
from app.connectors.roadmap.registry import REGISTRY, RegistrySource

KINDS: dict[str, type] = {
    "registry": RegistrySource,
    "http": HttpJsonSource,
    "productboard": ProductboardSource,
    "jira": JiraSource,
}

DEFAULT_STATUS_MAPPINGS: dict[str, dict[str, str]] = {
    "registry": {},
    "http": {
        "available": "available",
        "ga": "available",
        "beta": "beta",
        "coming_soon": "coming_soon",
        "planned": "coming_soon",
        "uncertain": "uncertain",
        "exploring": "uncertain",
        "never": "never",
        "wont_do": "never",
    },
    "productboard": productboard.DEFAULT_STATUS_MAPPING,
    "jira": jira.DEFAULT_STATUS_MAPPING,
}

# Config keys each kind needs, and keys that would mean a secret is being stored.
REQUIRED_CONFIG = {
    "registry": (),
    "http": ("url",),
    "productboard": ("token_env",),
    "jira": ("base_url", "jql", "token_env"),
}
_SECRET_WORDS = ("token", "password", "secret", "apikey", "api_key", "authorization")
_ENV_NAME_KEYS = {"auth_env", "token_env"}


def validate_config(kind: str, config: dict[str, Any]) -> list[dict[str, str]]:
    """Every problem with a source config as {"path", "message"}; empty when it can work."""
    errors: list[dict[str, str]] = []
    if kind not in KINDS:
        return [{"path": "kind", "message": f"unknown kind '{kind}'; one of: {', '.join(KINDS)}"}]
    for key in REQUIRED_CONFIG[kind]:
        if not config.get(key):
            errors.append({"path": f"config.{key}", "message": "required"})
    for key, value in config.items():
        lowered = key.lower()
        if key in _ENV_NAME_KEYS:
            if not isinstance(value, str) or not value.replace("_", "").isalnum():
                errors.append(
                    {
                        "path": f"config.{key}",
                        "message": "must be the NAME of an environment variable",
                    }
                )
        elif any(word in lowered for word in _SECRET_WORDS):
            errors.append(
                {
                    "path": f"config.{key}",
                    "message": "secrets are not stored; put the value in an environment variable "
                    "and name it in auth_env/token_env",
                }
            )
    if kind == "jira" and config.get("api") is not None and config["api"] not in jira.APIS:
        errors.append(
            {"path": "config.api", "message": f"one of: {', '.join(jira.APIS)} (Server / DC)"}
        )
    for key in ("url", "base_url"):
        value = config.get(key)
        if value and not str(value).startswith(("http://", "https://")):
            errors.append({"path": f"config.{key}", "message": "must be an http(s) URL"})
    return errors


def build_source(
    kind: str, name: str, config: dict[str, Any], client: httpx.Client | None = None
) -> RoadmapSource:
    try:
        cls = KINDS[kind]
    except KeyError:
        raise SourceConfigError(f"unknown roadmap source kind '{kind}'") from None
    return cls(name, config, client=client)


__all__ = [
    "DEFAULT_STATUS_MAPPINGS",
    "KINDS",
    "REGISTRY",
    "FetchResult",
    "HttpJsonSource",
    "JiraSource",
    "ProductboardSource",
    "RegistrySource",
    "RoadmapSource",
    "SourceConfigError",
    "SourceError",
    "apply_status_mapping",
    "build_source",
    "map_status",
    "normalise_status",
    "unmapped_statuses",
    "validate_config",
]
