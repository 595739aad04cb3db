"""The built-in registry: features RevOps create and edit through /api/v1/features.

They live in the `feature` table with source="registry"; there is nothing to fetch, so the
refresh never touches them. Availability is set directly, not through a status mapping.
"""

from __future__ import annotations

from typing import Any

from app.connectors.roadmap.base import FetchResult, SourceError
from app.connectors.roadmap.config import parse_config

REGISTRY = "registry"


class RegistrySource:
    kind = "registry"

    def __init__(self, name: str = REGISTRY, config: dict[str, Any] | None = None, client=None):
        self.name = name
        self.config = config or {}
        self.settings = parse_config(self.kind, self.config)

    def fetch(self, etag: str | None = None) -> FetchResult:
        raise SourceError("the built-in registry is edited through /api/v1/features, not refreshed")
