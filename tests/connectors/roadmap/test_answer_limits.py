"""What a source's answer may cost: timeout_seconds bounds each request as a whole, however
slowly the server sends it."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
import respx

from app.connectors.roadmap import HttpJsonSource, SourceError, _http
from tests.connectors.roadmap._server import allow_hosts, serve

URL = "https://roadmap.example.com/api/features"
CATALOG = json.dumps({"features": [{"key": "sso", "name": "SSO", "status": "GA"}]}).encode()


@pytest.fixture
def server(monkeypatch):
    allow_hosts(monkeypatch, "127.0.0.1")  # a local server: allowed explicitly
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


# --- MAX_ANSWER_BYTES: one answer's size, refused while reading ----------------------------------


def test_the_answer_limit_is_50_mib_and_named_in_the_refusal():
    assert _http.MAX_ANSWER_BYTES == 50 * 1024 * 1024
    assert _http.show_size(_http.MAX_ANSWER_BYTES) == "50 MiB"


@respx.mock
def test_an_endless_answer_is_refused_while_it_is_read(monkeypatch):
    """No Content-Length, chunks without end (here 2.6 MB, then it stops): only counting while
    reading stops it (reading it whole first never ends, or exhausts the memory)."""
    monkeypatch.setattr(_http, "MAX_ANSWER_BYTES", 10_000, raising=False)
    sent = []

    def endless():
        yield b'{"features": ['
        while len(sent) < 10_000:
            sent.append(1)
            yield b'{"key": "a", "name": "A"},' * 10

    respx.get(URL).mock(return_value=httpx.Response(200, content=endless()))
    with pytest.raises(SourceError) as exc:
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert str(exc.value) == (
        f"acme: GET {URL} answered more than 10000 bytes, the most one answer (one page) may "
        "hold; refused"
    )
    assert len(sent) < 50  # stopped at the limit: 10,000 bytes are 39 chunks of 260


@respx.mock
def test_a_compressed_answer_counts_its_decoded_size(monkeypatch):
    monkeypatch.setattr(_http, "MAX_ANSWER_BYTES", 10_000, raising=False)
    body = json.dumps({"features": [], "pad": " " * 20_000}).encode()
    respx.get(URL).mock(
        return_value=httpx.Response(
            200, content=gzip.compress(body), headers={"Content-Encoding": "gzip"}
        )
    )
    assert len(gzip.compress(body)) < 1000
    with pytest.raises(SourceError, match="answered more than 10000 bytes"):
        HttpJsonSource("acme", {"url": URL}).fetch()


def test_a_content_length_past_the_limit_is_refused_before_the_body_is_read(server, monkeypatch):
    monkeypatch.setattr(_http, "MAX_ANSWER_BYTES", 10_000, raising=False)
    server.body = json.dumps({"features": [], "pad": " " * 20_000}).encode()
    server.byte_seconds = 0.5  # reading the body would take hours: it is not read
    with pytest.raises(SourceError, match="answered more than 10000 bytes"):
        HttpJsonSource("acme", {"url": server.url}).fetch()
    # hung up after the headers: the server got a byte or two out before its writes failed
    # (reading on would have taken it to its 4 s budget, 8 bytes)
    assert server.dripped < 5


@respx.mock
def test_an_answer_at_the_limit_is_read(monkeypatch):
    body = json.dumps({"features": [{"key": "a", "name": "A"}]}).encode()
    monkeypatch.setattr(_http, "MAX_ANSWER_BYTES", len(body), raising=False)
    respx.get(URL).mock(return_value=httpx.Response(200, content=body))
    assert [f.key for f in HttpJsonSource("acme", {"url": URL}).fetch().features] == ["a"]


# --- strict JSON: what Python reads but JSON does not allow is said to be so ---------------------


def _answer(text: str) -> httpx.Response:
    return httpx.Response(200, content=text.encode(), headers={"Content-Type": "application/json"})


@respx.mock
@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("NaN", "NaN is not a number JSON allows"),
        ("Infinity", "Infinity is not a number JSON allows"),
        ("-Infinity", "-Infinity is not a number JSON allows"),
        ("1e999", "1e999 is beyond the largest number JSON can carry here (±1.8e308)"),
    ],
)
def test_a_number_json_does_not_allow_is_said_to_be_not_json(value, why):
    """ "confidence": NaN was read by Python's parser and refused as "Input should be less
    than or equal to 1": the answer is what is wrong, not the range."""
    respx.get(URL).mock(
        return_value=_answer(
            f'{{"features": [{{"key": "a", "name": "A", "confidence": {value}}}]}}'
        )
    )
    with pytest.raises(SourceError) as exc:
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert str(exc.value) == f"acme: GET {URL} answered not valid JSON: {why}"


@respx.mock
@pytest.mark.parametrize("depth", [300, 5000])
def test_an_answer_nested_past_the_json_depth_limit_says_so(depth):
    """5,000 levels gave "unexpected RecursionError: maximum recursion depth exceeded"; the
    limit is the one request bodies have (errors.MAX_JSON_DEPTH, 256)."""
    nested = "[" * depth + "]" * depth
    respx.get(URL).mock(return_value=_answer(f'{{"features": [], "extra": {nested}}}'))
    with pytest.raises(SourceError) as exc:
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert str(exc.value) == (
        f"acme: GET {URL} answered not valid JSON: nested deeper than 256 levels"
    )


@respx.mock
def test_ordinary_numbers_and_nesting_are_read_as_before():
    respx.get(URL).mock(
        return_value=_answer(
            '{"features": [{"key": "a", "name": "A", "confidence": 0.8, "tags": [[["x"]]]},'
            '{"key": "b", "name": "B", "confidence": 1, "note": "NaN in text"}], "n": 1e308}'
        )
    )
    features = HttpJsonSource("acme", {"url": URL}).fetch().features
    assert [(f.key, f.confidence) for f in features] == [("a", 0.8), ("b", 1.0)]


@respx.mock
def test_productboard_and_jira_answers_are_read_strictly_too(monkeypatch):
    from app.connectors.roadmap import JiraSource, ProductboardSource

    monkeypatch.setenv("ROADMAP_SOURCE_TOKEN", "t0ken-value")
    respx.get("https://api.productboard.com/v2/entities").mock(
        return_value=_answer('{"data": [], "links": {"next": null}, "x": NaN}')
    )
    with pytest.raises(SourceError, match="answered not valid JSON: NaN is not a number"):
        ProductboardSource("pb", {"token_env": "ROADMAP_SOURCE_TOKEN"}).fetch()
    respx.get("https://acme.atlassian.net/rest/api/3/search/jql").mock(
        return_value=_answer('{"issues": ' + "[" * 1000 + "]" * 1000 + "}")
    )
    config = {
        "base_url": "https://acme.atlassian.net",
        "jql": "x",
        "token_env": "ROADMAP_SOURCE_TOKEN",
    }
    with pytest.raises(SourceError, match="answered not valid JSON: nested deeper than 256"):
        JiraSource("jira", config).fetch()
