"""A generic HTTP/JSON roadmap API (the format is documented in docs/roadmap.md).

GET {url} → {"features": [{"key", "name", "status", "aliases", "target_date", "confidence",
"skus", "product_ids", "url", "guidance"}], "next": "<url>" | null, "next_cursor": "..." | null}

- Config: `config.HttpConfig` (url, auth_env, auth_header, auth_scheme, cursor_param,
  timeout_seconds), parsed when the source is built.
- Keys: checked against the catalog's feature key pattern by the refresh, which names the page
  and item of a bad one (`FetchResult.locations`).
- Auth: config.auth_header (default Authorization) = config.auth_scheme + value of the env var
  named by config.auth_env. The value is never stored.
- ETag: kept only when the catalog fits on one page; the next refresh sends If-None-Match and
  a 304 keeps the catalog untouched. An ETag names one URL's answer (RFC 9110): page 1's 304
  says nothing of page 2, so a paged catalog is read whole every time.
- Pagination: follow `next` (absolute or relative URL) or, failing that, `next_cursor` sent back
  as the query parameter config.cursor_param (default "cursor"), added to config.url's own
  query (which it keeps; a cursor_param already in it is replaced). A `next` URL or a redirect to
  another origin than config.url's (scheme, host, port) is refused: the credentials would go
  along.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urljoin

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.connectors.roadmap._http import (
    MAX_PAGES,
    check_new_page,
    check_origin,
    make_client,
    request_json,
)
from app.connectors.roadmap.base import FetchResult, SourceError, secret_from_env
from app.connectors.roadmap.config import HttpConfig, parse_config
from app.rules.model import Feature

# A list field sent as null is an empty list, as an optional text or date sent as null is none:
# many serializers write an empty list so (Go's encoding/json writes a nil slice as null).
Strings = Annotated[list[str], BeforeValidator(lambda value: [] if value is None else value)]
# An undated feature's target date sent as "" (or spaces), as many exports write a missing
# value, is none like null: it failed the whole refresh ("input is too short").
OptionalDate = Annotated[
    date | None,
    BeforeValidator(lambda value: None if isinstance(value, str) and not value.strip() else value),
]


class HttpFeature(BaseModel):
    """One item of the generic format; unknown fields are ignored so servers can send more."""

    model_config = ConfigDict(extra="ignore")

    key: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=255)
    status: str | None = None
    aliases: Strings = Field(default_factory=list)
    target_date: OptionalDate = None
    confidence: float | None = Field(default=None, ge=0, le=1)
    skus: Strings = Field(default_factory=list)
    product_ids: Strings = Field(default_factory=list)
    url: str | None = None
    guidance: str | None = None


class HttpJsonSource:
    kind = "http"

    def __init__(self, name: str, config: dict[str, Any], client: httpx.Client | None = None):
        self.name = name
        self.config = config
        self.settings: HttpConfig = parse_config(self.kind, config)
        self.url = self.settings.url
        self._client = client

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.settings.auth_env:
            value = secret_from_env(self.config, "auth_env")
            scheme = self.settings.auth_scheme
            headers[self.settings.auth_header] = f"{scheme} {value}" if scheme else str(value)
        return headers

    def fetch(self, etag: str | None = None) -> FetchResult:
        client = self._client or make_client(self.settings.timeout_seconds)
        try:
            return self._fetch(client, etag)
        finally:
            if self._client is None:
                client.close()

    def _fetch(self, client: httpx.Client, etag: str | None) -> FetchResult:
        headers = self._headers()
        url: str | None = self.url
        params: dict[str, Any] | None = None
        result = FetchResult()
        cursor_param = self.settings.cursor_param
        seen = {self.url}
        while url is not None:
            if result.pages >= MAX_PAGES:
                raise SourceError(f"{self.name}: more than {MAX_PAGES} pages; stopping")
            first = result.pages == 0
            page_headers = dict(headers)
            if first and etag:
                page_headers["If-None-Match"] = etag
            response, body = request_json(
                client,
                "GET",
                url,
                source=self.name,
                timeout=self.settings.timeout_seconds,
                origin_url=self.url,
                headers=page_headers,
                params=params,
                allow_not_modified=first,
            )
            result.pages += 1
            if body is None:  # 304 on the first page: nothing changed
                return FetchResult(etag=etag, not_modified=True, pages=1)
            if first:
                result.etag = response.headers.get("ETag")
            if not isinstance(body, dict) or not isinstance(body.get("features"), list):
                raise SourceError(f"{self.name}: page {result.pages} has no 'features' list")
            for index, item in enumerate(body["features"]):
                try:
                    parsed = HttpFeature.model_validate(item)
                except ValidationError as exc:
                    where = f"page {result.pages} features[{index}]"
                    problems = "; ".join(
                        f"{where}{''.join(f'.{p}' for p in e['loc'])}: {e['msg']}"
                        for e in exc.errors()
                    )
                    raise SourceError(f"{self.name}: {problems}") from None
                result.locations.append(f"page {result.pages} features[{index}]")
                result.features.append(
                    Feature(
                        key=parsed.key,
                        name=parsed.name,
                        aliases=parsed.aliases,
                        target_date=parsed.target_date,
                        confidence=parsed.confidence,
                        skus=parsed.skus,
                        product_ids=parsed.product_ids,
                        source=self.name,
                        source_status=parsed.status,
                        url=parsed.url,
                        guidance=parsed.guidance,
                    )
                )
            next_url = body.get("next")
            cursor = body.get("next_cursor")
            if next_url:
                url, params = urljoin(str(response.url), str(next_url)), None
                where = f"page {result.pages} 'next'"
                check_origin(url, self.url, source=self.name, what=where)
                check_new_page(seen, url, source=self.name, where=where)
            elif cursor:
                # merged into config.url's own query (`?team=payments`): httpx's `params`
                # would replace that query, and page 2 on would read another selection
                merged = httpx.URL(self.url).copy_merge_params({cursor_param: str(cursor)})
                url, params = str(merged), None
                where = f"page {result.pages} 'next_cursor'"
                check_new_page(seen, f"cursor:{cursor}", source=self.name, where=where)
            else:
                url = None
        if result.pages > 1:
            result.etag = None  # page 1's ETag does not cover the other pages (docstring)
        return result
