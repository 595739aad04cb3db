"""Shared HTTP plumbing for the roadmap sources: one GET with clear, secret-free errors."""

from __future__ import annotations

from typing import Any

import httpx

from app.connectors.roadmap.base import SourceError

MAX_PAGES = 1000  # a loop guard: a source that always says "next" must not spin forever


def request_json(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    source: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json: Any = None,
    allow_not_modified: bool = False,
) -> tuple[httpx.Response, Any]:
    """Send one request; return (response, parsed JSON or None on 304). Raises SourceError."""
    try:
        response = client.request(method, url, headers=headers, params=params, json=json)
    except httpx.TimeoutException:
        raise SourceError(f"{source}: {method} {url} timed out") from None
    except httpx.HTTPError as exc:
        raise SourceError(f"{source}: {method} {url} failed: {type(exc).__name__}") from None
    if allow_not_modified and response.status_code == 304:
        return response, None
    if response.status_code >= 400:
        detail = response.text[:200].strip().replace("\n", " ")
        raise SourceError(
            f"{source}: {method} {url} answered HTTP {response.status_code}: {detail}"
        )
    try:
        return response, response.json()
    except ValueError:
        raise SourceError(f"{source}: {method} {url} did not answer JSON") from None


def make_client(timeout_seconds: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_seconds, follow_redirects=True)
