"""Roadmap sources behind one protocol (`RoadmapSource.fetch(etag) -> FetchResult`).

`build_source(kind, name, config)` is the one place that knows which class serves which kind;
`validate_config` (config.py: one closed pydantic model per kind) lists every mistake of a
configuration, including a try to store a secret.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.connectors.roadmap import jira, productboard
from app.connectors.roadmap.base import (
    NO_STATUS,
    FetchResult,
    RoadmapSource,
    SourceConfigError,
    SourceError,
    apply_status_mapping,
    map_status,
    normalise_status,
    normalised_status_mapping,
    shown_status,
    status_key,
    status_mapping_errors,
    unmapped_statuses,
)
from app.connectors.roadmap.config import (
    CONFIG_MODELS,
    config_errors,
    config_warnings,
    parse_config,
    shown_config,
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

# Every mistake in a config, as {loc, path, msg, type} (the rules API's shape).
validate_config = config_errors


def build_source(
    kind: str, name: str, config: dict[str, Any], client: httpx.Client | None = None
) -> RoadmapSource:
    try:
        cls = KINDS[kind]
    except KeyError:
        raise SourceConfigError(f"unknown roadmap source kind '{kind}'") from None
    return cls(name, config, client=client)


__all__ = [
    "CONFIG_MODELS",
    "DEFAULT_STATUS_MAPPINGS",
    "KINDS",
    "NO_STATUS",
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
    "config_errors",
    "config_warnings",
    "map_status",
    "normalise_status",
    "normalised_status_mapping",
    "parse_config",
    "shown_config",
    "shown_status",
    "status_key",
    "status_mapping_errors",
    "unmapped_statuses",
    "validate_config",
]
