"""What a source's answer may cost: timeout_seconds bounds each request as a whole, however
slowly the server sends it."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
import respx

from app.connectors.roadmap import HttpJsonSource, SourceError
from tests.connectors.roadmap._server import serve

URL = "https://roadmap.example.com/api/features"
CATALOG = json.dumps({"features": [{"key": "sso", "name": "SSO", "status": "GA"}]}).encode()


@pytest.fixture
def server():
    with serve() as s:
        yield s


# --- timeout_seconds: a deadline for the whole answer -------------------------------------------


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_an_answer_dripping_a_byte_at_a_time_is_cut_off_at_timeout_seconds(server, drip_headers):
    # Each byte comes well within the per-read timeout: only a deadline stops it. Without one
    # this took the server's whole budget (4 s), then read the catalog as if nothing happened.
    server.body = CATALOG + b" " * 200
    server.byte_seconds, server.drip_headers = 0.02, drip_headers
    source = HttpJsonSource("acme", {"url": server.url, "timeout_seconds": 0.5})
    started = time.monotonic()
    with pytest.raises(SourceError) as exc:
        source.fetch()
    elapsed = time.monotonic() - started
    assert elapsed < 1.2, elapsed
    assert str(exc.value) == (
        f"acme: GET {server.url} timed out: no whole answer within config.timeout_seconds (0.5 s)"
    )


def test_an_answer_within_timeout_seconds_is_read_from_a_real_server(server):
    server.body = CATALOG
    result = HttpJsonSource("acme", {"url": server.url, "timeout_seconds": 2.0}).fetch()
    assert [(f.key, f.source_status) for f in result.features] == [("sso", "GA")]


@respx.mock
def test_a_compressed_answer_is_read_decoded():
    respx.get(URL).mock(
        return_value=httpx.Response(
            200,
            content=gzip.compress(CATALOG),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    )
    result = HttpJsonSource("acme", {"url": URL}).fetch()
    assert [f.key for f in result.features] == ["sso"]
