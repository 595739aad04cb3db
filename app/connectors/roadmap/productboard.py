"""Productboard features through its public REST API: v2 (the default) or v1.

Productboard deprecated API v1 and sunset it on 2026-07-08; `api_version: "1"` is kept for
workspaces still answering on it. Both versions page the same way: {"data": [...],
"links": {"next": "<absolute url>" | null}}; the next page is fetched by following links.next
verbatim (it carries its own pageCursor), as long as it stays on config.base_url's origin (the
token is sent with it: a link or redirect to another host is a refresh error); no page size can
be set.

What the v2 docs say (developer.productboard.com; every page has a `.md` twin listed in
/llms.txt):
- "Pagination": list responses carry `links.next` holding a `pageCursor` query parameter;
  the cursor is opaque; the last page has no `links.next` ("Migrating from v1 to v2": null).
- "Migrating from v1 to v2" (/reference/migration-guide): same Bearer authentication; no
  `X-Version` header (the version is the `/v2` path); one `/v2/entities` endpoint for every
  entity type, features and subfeatures included.
- "List entities" (GET /v2/entities): `type[]`, repeated, picks the types
  (`type[]=feature&type[]=subfeature`; changelog "v2 - 2026-02-25 Multi-type entity
  filtering" made the array notation a breaking change); without `fields[]` only fields with
  non-empty values are returned, so an absent field means empty.
- "Field Value Types": an entity's values are under `fields`, each at the `path` its
  configuration gives (`/fields/name`, `/fields/description` in the page's example); the
  status is a StatusFieldValue {id, name}, the timeframe a TimeframeFieldValue {startDate,
  endDate, granularity} with dates as YYYY-MM-DD.
- Changelog "v2 - 2026-04-30 Entity HTML deep links": `links.html` (the entity in the web UI)
  is returned on List entities, next to `links.self`.
- Changelog "v2 - 2026-03-26 Field values": entity configuration endpoints expose the
  allowed values of status fields; "List field values" (GET /v2/entities/fields/{id}/values)
  says up to 1000 values come inline in the field's configuration and larger sets refer to
  that paginated endpoint. Subfeatures share the features' statuses (Productboard help,
  "Customize status values for features").

Inferred (the stored doc pages stop before their full schemas; shapes taken from public v2
clients, e.g. Airbyte's source-productboard v2 manifest, and read tolerantly):
- `fields.archived` is a boolean on features and subfeatures (absent when false).
- GET /v2/entities/configurations/feature answers {"data": {"fields": {"status": {"values":
  {"data": [{"id", "name"}], "links": {"next"}}}}}}; `values.links.next`, when present, is
  followed like any list. A value's name is read from `name`, or from `fields.name` (how one
  public client reads List field values items). Productboard's v2 OpenAPI document
  (ConfigurationFieldValues / FieldInlineValues) nests the inline values one level deeper,
  `values: {"inline": {"data": [{"id", "name"} | "<name>"]}}`: read too, plain strings
  included, so the workspace's statuses are offered whichever shape answers.
- The docs do not show whether links.next repeats `type[]`, so an item whose `type` is
  neither feature nor subfeature is skipped.
- Entity ids: "Entity IDs in-app" gives one "Copy API ID" per entity, and the migration guide
  lists no id change while having v1 and v2 run side by side, so a v2 feature id is taken to
  be its v1 id and stored keys (prefix + id) stay valid across the switch. No page says so
  outright: were they different, the first v2 refresh would replace every feature and list
  the product mappings left naming old keys in `orphaned_mappings`.

What v1 documents ("Features" -> GET /features, and GET /feature-statuses):
- `X-Version: 1` on every request, with the Bearer token.
- GET /features lists features and subfeatures: {"id", "name", "description",
  "type": "feature" | "subfeature", "archived", "status": {"id", "name"}, "parent": {...},
  "links": {"self", "html"}, "timeframe": {"startDate": "YYYY-MM-DD" | "none",
  "endDate": "YYYY-MM-DD" | "none", "granularity": ...}}.
- GET /feature-statuses -> {"data": [{"id", "name", "completed"}], "links": {"next"}}.

Mapping to our Feature, either version: key = config.key_prefix (default "pb-") + id, name,
status name as source_status, timeframe.endDate as target date, links.html as url. Archived
features are left out: they are no longer on the roadmap. The workspace's status names are
offered as keys of the editable status mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple
from urllib.parse import urljoin

import httpx

from app.connectors.roadmap._http import (
    MAX_PAGES,
    check_new_page,
    check_origin,
    make_client,
    source_get,
)
from app.connectors.roadmap.base import (
    FetchResult,
    SourceError,
    SourceStatusError,
    secret_from_env,
)
from app.connectors.roadmap.config import ProductboardConfig, parse_config
from app.rules.model import Feature

# Productboard's default workspace statuses; RevOps edit this per workspace.
DEFAULT_STATUS_MAPPING = {
    "New idea": "uncertain",
    "Candidate": "uncertain",
    # Launched is the built-in status every workspace has (it can be renamed, not deleted);
    # Released is kept for workspaces that named theirs so.
    "Launched": "available",
    "Planned": "coming_soon",
    "In progress": "coming_soon",
    "Released": "available",
    "Won't do": "never",
}

V2_FEATURE_TYPES = ("feature", "subfeature")
V2_STATUS_CONFIG = "/v2/entities/configurations/feature"


def _date(value: Any) -> date | None:
    if not value or value == "none":
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class _Item(NamedTuple):
    """What we read from one API item, whichever the version."""

    id: Any
    name: Any
    status: Any
    end_date: Any
    archived: bool
    url: Any


def _read_v1(item: dict[str, Any]) -> _Item | None:
    return _Item(
        id=item.get("id"),
        name=item.get("name"),
        status=_obj(item.get("status")).get("name"),
        end_date=_obj(item.get("timeframe")).get("endDate"),
        archived=bool(item.get("archived")),
        url=_obj(item.get("links")).get("html"),
    )


def _read_v2(item: dict[str, Any]) -> _Item | None:
    if item.get("type") not in (None, *V2_FEATURE_TYPES):
        return None  # a product, component... from a cursor that dropped the type[] filter
    fields = _obj(item.get("fields"))
    return _Item(
        id=item.get("id"),
        name=fields.get("name"),
        status=_obj(fields.get("status")).get("name"),
        end_date=_obj(fields.get("timeframe")).get("endDate"),
        archived=bool(fields.get("archived")),
        url=_obj(item.get("links")).get("html"),
    )


@dataclass(frozen=True)
class _Api:
    """The part of the wire format that differs between versions."""

    features_path: str  # named in locations and errors
    features_query: str
    headers: dict[str, str]
    read: Callable[[dict[str, Any]], _Item | None]


APIS = {
    "1": _Api("/features", "", {"X-Version": "1"}, _read_v1),
    "2": _Api(
        "/v2/entities",
        "?" + "&".join(f"type[]={t}" for t in V2_FEATURE_TYPES),
        {},
        _read_v2,
    ),
}


class ProductboardSource:
    kind = "productboard"

    def __init__(self, name: str, config: dict[str, Any], client: httpx.Client | None = None):
        self.name = name
        self.config = config
        self.settings: ProductboardConfig = parse_config(self.kind, config)
        self.base_url = self.settings.base_url.rstrip("/")
        self.key_prefix = self.settings.key_prefix
        self.api = APIS[self.settings.api_version]
        self._client = client

    def _headers(self) -> dict[str, str]:
        token = secret_from_env(self.config, "token_env")
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            **self.api.headers,
        }

    def _pages(
        self, client: httpx.Client, path: str, *, query: str = "", first_url: str | None = None
    ) -> list[tuple[str, Any]]:
        """Every item of every page, with where it was read ("page 2 data[3]")."""
        return [item for page in self._each_page(client, path, query, first_url) for item in page]

    def _each_page(
        self, client: httpx.Client, path: str, query: str = "", first_url: str | None = None
    ) -> Iterator[list[tuple[str, Any]]]:
        """The items of each page in turn, with where each was read: the caller reads a page
        before the next is fetched, so a big workspace's raw pages (every feature's
        description and custom fields come along) are never all held at once."""
        headers = self._headers()
        url: str | None = first_url or f"{self.base_url}{path}{query}"
        pages = 0
        seen = {url}
        while url:
            pages += 1
            if pages > MAX_PAGES:
                raise SourceError(f"{self.name}: more than {MAX_PAGES} pages; stopping")
            try:
                _, body = source_get(
                    client,
                    self,
                    url,
                    headers=headers,
                )
            except SourceStatusError as exc:
                if pages > 1 or exc.status not in (404, 410) or self.settings.api_version != "1":
                    raise
                raise SourceStatusError(
                    f"{exc} (Productboard sunset REST API v1 on 2026-07-08: set "
                    'config.api_version to "2", the default, which reads the same features)',
                    exc.status,
                ) from None
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"{self.name}: {path} page {pages} has no 'data' list")
            next_url = _obj(body.get("links")).get("next")
            page = [(f"page {pages} data[{i}]", item) for i, item in enumerate(body["data"])]
            del body
            self._last_pages = pages
            yield page
            url = urljoin(url, str(next_url)) if next_url else None
            if url:
                where = f"{path} page {pages} links.next"
                check_origin(url, self.base_url, source=self.name, what=where)
                check_new_page(seen, url, source=self.name, where=where)

    def fetch(self, etag: str | None = None) -> FetchResult:
        path = self.api.features_path
        client = self._client or make_client(self.settings.timeout_seconds)
        result = FetchResult()
        try:
            for page in self._each_page(client, path, self.api.features_query):
                for where, item in page:
                    self._add(result, path, where, item)
                result.pages = self._last_pages
        finally:
            if self._client is None:
                client.close()
        # Productboard sends no ETag for lists: every refresh is a full read.
        return result

    def _add(self, result: FetchResult, path: str, where: str, item: Any) -> None:
        entry = self.api.read(_obj(item))
        if entry is None:
            return
        if not entry.id or not entry.name:
            raise SourceError(f"{self.name}: GET {path} {where} lacks id or name")
        if entry.archived:
            return
        result.locations.append(f"GET {path} {where}")
        result.features.append(
            Feature(
                key=f"{self.key_prefix}{entry.id}",
                name=str(entry.name)[:255],
                target_date=_date(entry.end_date),
                source=self.name,
                source_status=entry.status,
                url=entry.url,
            )
        )

    def status_names(self) -> list[str]:
        client = self._client or make_client(self.settings.timeout_seconds)
        try:
            if self.settings.api_version == "1":
                values = [s for _, s in self._pages(client, "/feature-statuses")]
            else:
                values = self._v2_status_values(client)
        finally:
            if self._client is None:
                client.close()
        names = [
            v
            if isinstance(v, str)
            else _obj(v).get("name") or _obj(_obj(v).get("fields")).get("name")
            for v in values
        ]
        return [str(name) for name in names if name]

    def _v2_status_values(self, client: httpx.Client) -> list[Any]:
        """The status field's allowed values from the feature configuration: inline, and any
        further pages its `values.links.next` refers to."""
        url = f"{self.base_url}{V2_STATUS_CONFIG}"
        _, body = source_get(
            client,
            self,
            url,
            headers=self._headers(),
        )
        fields = _obj(_obj(body).get("data")).get("fields")
        if not isinstance(fields, dict):
            raise SourceError(f"{self.name}: GET {V2_STATUS_CONFIG} has no 'data.fields' object")
        values = _obj(_obj(fields.get("status")).get("values"))
        if not isinstance(values.get("data"), list) and "inline" in values:
            # Productboard's v2 OpenAPI (ConfigurationFieldValues): {"inline": {"data": [...]}}
            values = _obj(values["inline"])
        if not isinstance(values.get("data"), list):
            raise SourceError(
                f"{self.name}: GET {V2_STATUS_CONFIG} has no 'data.fields.status.values.data' list"
            )
        more = _obj(values.get("links")).get("next")
        if not more:
            return list(values["data"])
        rest = self._pages(
            client, f"{V2_STATUS_CONFIG} status values", first_url=urljoin(url, str(more))
        )
        return [*values["data"], *(value for _, value in rest)]
