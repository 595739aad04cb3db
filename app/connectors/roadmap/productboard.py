"""Productboard features through its public REST API (v1).

What the API documents (developer.productboard.com, "Features" → GET /features, and
GET /feature-statuses):
- Base URL https://api.productboard.com; headers `Authorization: Bearer <token>` and
  `X-Version: 1` (the API version is mandatory on every request).
- GET /features → {"data": [feature...], "links": {"next": "<absolute url>" | null}}; the next
  page is fetched by following links.next verbatim (it carries its own pageCursor).
- A feature: {"id", "name", "description", "type": "feature" | "subfeature", "archived",
  "status": {"id", "name"}, "parent": {...}, "links": {"self", "html"},
  "timeframe": {"startDate": "YYYY-MM-DD" | "none", "endDate": "YYYY-MM-DD" | "none",
  "granularity": ...}}.
- GET /feature-statuses → {"data": [{"id", "name", "completed"}], "links": {"next"}}: the
  workspace's status names, offered as keys of the editable status mapping.

Mapping to our Feature: key = config.key_prefix (default "pb-") + id, name, status name as
source_status, timeframe.endDate as target date, links.html as url. Archived features are left
out: they are no longer on the roadmap.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urljoin

import httpx

from app.connectors.roadmap._http import MAX_PAGES, make_client, request_json
from app.connectors.roadmap.base import FetchResult, SourceError, secret_from_env
from app.connectors.roadmap.config import ProductboardConfig, parse_config
from app.rules.model import Feature

# Productboard's default workspace statuses; RevOps edit this per workspace.
DEFAULT_STATUS_MAPPING = {
    "New idea": "uncertain",
    "Candidate": "uncertain",
    "Planned": "coming_soon",
    "In progress": "coming_soon",
    "Released": "available",
    "Won't do": "never",
}


def _date(value: Any) -> date | None:
    if not value or value == "none":
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


class ProductboardSource:
    kind = "productboard"

    def __init__(self, name: str, config: dict[str, Any], client: httpx.Client | None = None):
        self.name = name
        self.config = config
        self.settings: ProductboardConfig = parse_config(self.kind, config)
        self.base_url = self.settings.base_url.rstrip("/")
        self.key_prefix = self.settings.key_prefix
        self._client = client

    def _headers(self) -> dict[str, str]:
        token = secret_from_env(self.config, "token_env")
        return {"Authorization": f"Bearer {token}", "X-Version": "1", "Accept": "application/json"}

    def _pages(self, client: httpx.Client, path: str) -> list[tuple[str, Any]]:
        """Every item of every page, with where it was read ("page 2 data[3]")."""
        headers = self._headers()
        url: str | None = f"{self.base_url}{path}"
        items: list[tuple[str, Any]] = []
        pages = 0
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise SourceError(f"{self.name}: more than {MAX_PAGES} pages; stopping")
            _, body = request_json(client, "GET", url, source=self.name, headers=headers)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"{self.name}: {path} page {pages} has no 'data' list")
            items.extend((f"page {pages} data[{i}]", item) for i, item in enumerate(body["data"]))
            next_url = (body.get("links") or {}).get("next")
            url = urljoin(url, str(next_url)) if next_url else None
        self._last_pages = pages
        return items

    def fetch(self, etag: str | None = None) -> FetchResult:
        client = self._client or make_client(self.settings.timeout_seconds)
        try:
            raw = self._pages(client, "/features")
        finally:
            if self._client is None:
                client.close()
        result = FetchResult(pages=self._last_pages)
        for where, item in raw:
            if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
                raise SourceError(f"{self.name}: GET /features {where} lacks id or name")
            if item.get("archived"):
                continue
            status = item.get("status") or {}
            timeframe = item.get("timeframe") or {}
            result.locations.append(f"GET /features {where}")
            result.features.append(
                Feature(
                    key=f"{self.key_prefix}{item['id']}",
                    name=str(item["name"])[:255],
                    target_date=_date(timeframe.get("endDate")),
                    source=self.name,
                    source_status=status.get("name"),
                    url=(item.get("links") or {}).get("html"),
                )
            )
        # Productboard sends no ETag for lists: every refresh is a full read.
        return result

    def status_names(self) -> list[str]:
        client = self._client or make_client(self.settings.timeout_seconds)
        try:
            return [
                str(s["name"])
                for _, s in self._pages(client, "/feature-statuses")
                if isinstance(s, dict) and s.get("name")
            ]
        finally:
            if self._client is None:
                client.close()
