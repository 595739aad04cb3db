"""Roadmap sources fetch public addresses only (security fix: a RevOps key could point a source
at the metadata service, a database on 127.0.0.1 or an admin page on 10.x and read the answer,
or learn which ports are open, from last_error); ROADMAP_SOURCE_ALLOWED_HOSTS allows more."""

from __future__ import annotations

import socket

import httpx
import pytest
import respx

from app.connectors.roadmap import (
    HttpJsonSource,
    JiraSource,
    SourceError,
    netpolicy,
    validate_config,
)
from tests.connectors.roadmap._server import allow_hosts, serve

URL = "https://roadmap.example.com/features"
_SETTINGS_ALLOW_LIST = netpolicy.allowed_hosts  # before the fixtures below replace it


@pytest.fixture(autouse=True)
def _no_allow_list(monkeypatch):
    allow_hosts(monkeypatch, "")  # the default, whatever the environment running the tests says


def _resolve_to(monkeypatch, table: dict[str, list[str]]) -> list[str]:
    """getaddrinfo answering `table` (host → addresses); other names do not resolve."""
    asked: list[str] = []

    def fake(host, port, *args, **kwargs):
        asked.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    monkeypatch.setattr(netpolicy.socket, "getaddrinfo", fake)
    return asked


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:5432/",
        "http://127.1/",
        "http://2130706433/",
        "http://[::1]:8000/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost/",
        "http://10.0.0.7/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
    ],
)
def test_a_source_url_on_a_non_public_address_is_refused_at_its_path(url):
    [error] = validate_config("http", {"url": url})
    assert error["path"] == "config.url" and error["type"] == "address_not_allowed"
    assert "public addresses only" in error["msg"]
    assert "ROADMAP_SOURCE_ALLOWED_HOSTS" in error["msg"]


def test_every_kind_checks_its_base_url():
    jira = {
        "base_url": "http://10.1.2.3:8080",
        "jql": "x",
        "token_env": "ROADMAP_SOURCE_T",
        "api": "server",
    }
    assert [e["path"] for e in validate_config("jira", jira)] == ["config.base_url"]
    pb = {"token_env": "ROADMAP_SOURCE_T", "base_url": "http://169.254.169.254"}
    assert [e["path"] for e in validate_config("productboard", pb)] == ["config.base_url"]


def test_public_addresses_and_names_are_accepted():
    for url in (URL, "https://93.184.215.14/f", "https://[2606:4700::1111]/f"):
        assert validate_config("http", {"url": url}) == []


def test_the_operator_allow_list_admits_names_ips_and_cidrs(monkeypatch):
    allow_hosts(monkeypatch, "jira.corp,localhost,10.20.0.0/16,::1")
    for url in (
        "http://10.20.3.4:8080/",
        "http://[::1]/",
        "http://localhost:9000/",
        "http://jira.corp/",
    ):
        assert validate_config("http", {"url": url}) == [], url
    [error] = validate_config("http", {"url": "http://10.21.0.1/"})
    assert error["type"] == "address_not_allowed"


@respx.mock
def test_a_name_resolving_to_a_private_address_is_refused_unsent(monkeypatch):
    route = respx.get(URL).mock(return_value=httpx.Response(200, json={"features": []}))
    _resolve_to(monkeypatch, {"roadmap.example.com": ["93.184.215.14", "10.0.0.7"]})
    with pytest.raises(SourceError) as caught:
        HttpJsonSource("acme", {"url": URL}).fetch()
    assert str(caught.value) == (
        f"acme: GET {URL} refused: the host roadmap.example.com resolves to 10.0.0.7, which is "
        f"not public; {netpolicy.POLICY_HINT}"
    )
    assert not route.called


@respx.mock
def test_a_name_resolving_to_public_addresses_or_not_at_all_is_fetched(monkeypatch):
    route = respx.get(URL).mock(return_value=httpx.Response(200, json={"features": []}))
    asked = _resolve_to(monkeypatch, {"roadmap.example.com": ["93.184.215.14"]})
    HttpJsonSource("acme", {"url": URL}).fetch()
    _resolve_to(monkeypatch, {})  # offline: the request proceeds (and fails by itself)
    HttpJsonSource("acme", {"url": URL}).fetch()
    assert route.call_count == 2 and asked == ["roadmap.example.com"]


@respx.mock
def test_an_allowed_name_or_network_is_fetched_though_private(monkeypatch):
    base = "http://jira.corp:8080"
    respx.get(f"{base}/rest/api/2/search").mock(
        return_value=httpx.Response(200, json={"issues": [], "total": 0})
    )
    monkeypatch.setenv("ROADMAP_SOURCE_T", "tok")
    config = {"base_url": base, "jql": "x", "token_env": "ROADMAP_SOURCE_T", "api": "server"}
    _resolve_to(monkeypatch, {"jira.corp": ["10.0.0.7"]})
    with pytest.raises(SourceError, match="resolves to 10.0.0.7, which is not public"):
        JiraSource("jira", config).fetch()
    allow_hosts(monkeypatch, "jira.corp")
    assert JiraSource("jira", config).fetch().features == []
    allow_hosts(monkeypatch, "10.0.0.0/8")
    assert JiraSource("jira", config).fetch().features == []


def test_the_refusal_does_not_tell_an_open_port_from_a_closed_one(monkeypatch):
    """The review's port scan: ConnectError for a closed port, ReadError (or an answer) for an
    open one. Now nothing is sent to a non-public address, and the message is the same."""
    with serve() as server:
        open_port = server.server_address[1]
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
        probe.close()
        _resolve_to(monkeypatch, {"internal.example.com": ["127.0.0.1"]})
        errors = {}
        for port in (open_port, closed_port):
            url = f"http://internal.example.com:{port}/features"
            with pytest.raises(SourceError) as caught:
                HttpJsonSource("probe", {"url": url, "timeout_seconds": 2}).fetch()
            errors[port] = str(caught.value).replace(f":{port}/", ":PORT/")
        assert server.requests == 0
    assert errors[open_port] == errors[closed_port]
    assert "refused: the host internal.example.com resolves to 127.0.0.1" in errors[open_port]


def test_a_local_server_is_read_once_allowed(monkeypatch):
    allow_hosts(monkeypatch, "127.0.0.1")
    with serve() as server:
        assert HttpJsonSource("acme", {"url": server.url}).fetch().features == []
        assert server.requests == 1


def test_the_allow_list_is_read_from_the_setting(monkeypatch):
    from app.settings import get_settings

    monkeypatch.setenv("ROADMAP_SOURCE_ALLOWED_HOSTS", "jira.corp, 10.0.0.0/8")
    get_settings.cache_clear()
    try:
        allowed = _SETTINGS_ALLOW_LIST()
    finally:
        monkeypatch.delenv("ROADMAP_SOURCE_ALLOWED_HOSTS")
        get_settings.cache_clear()
    assert allowed.allows_name("JIRA.corp.") and not allowed.allows_name("jira")
    assert [str(n) for n in allowed.networks] == ["10.0.0.0/8"]
