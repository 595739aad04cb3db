"""DNS rebinding (security fix): the host was resolved and checked by the network policy, then
resolved again by the HTTP client to connect, so a name answering a public address to the check
and 127.0.0.1 / 169.254.169.254 / 10.x to the connection reached what the policy refuses. Now
the connection is made to an address that was checked (netpolicy.PinnedBackend).

These tests use a real local server (tests/connectors/roadmap/_server.py) and a fake resolver
whose answers change from one lookup to the next, as a rebinding DNS server's do."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import pytest
import trustme

from app.connectors.roadmap import HttpJsonSource, SourceError, _http, netpolicy
from tests.connectors.roadmap._server import allow_hosts, serve

NAME = "rebind.example.com"
PUBLIC = "93.184.215.14"
_REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture(autouse=True)
def _no_allow_list(monkeypatch):
    allow_hosts(monkeypatch, "")


def _rebinding(monkeypatch, name: str, answers: list[list[str]]) -> list[str]:
    """getaddrinfo answering `name` with answers[0] at its first lookup, answers[1] at its
    second..., the last one from then on; literal IPs resolve as usual (no DNS). Returns the
    list of names looked up."""
    asked: list[str] = []

    def fake(host, port, *args, **kwargs):
        if host != name:
            return _REAL_GETADDRINFO(host, port, *args, **kwargs)
        asked.append(host)
        addresses = answers[min(len(asked), len(answers)) - 1]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


@pytest.fixture
def connects(monkeypatch) -> list[str]:
    """The hosts httpcore's socket backend is asked to connect to (the connections still
    happen)."""
    hosts: list[str] = []
    real = httpcore.SyncBackend.connect_tcp

    def record(self, host, port, *args, **kwargs):
        hosts.append(host)
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", record)
    return hosts


def test_a_name_answering_public_then_loopback_is_refused_at_the_connection(monkeypatch, connects):
    """The rebinding attack itself: the early check sees a public address, the connection's
    lookup 127.0.0.1, where a server listens. Nothing reaches it."""
    asked = _rebinding(monkeypatch, NAME, [[PUBLIC], ["127.0.0.1"]])
    with serve() as server:
        url = f"http://{NAME}:{server.server_address[1]}/features"
        with pytest.raises(SourceError) as caught:
            HttpJsonSource("acme", {"url": url, "timeout_seconds": 3}).fetch()
        assert server.requests == 0
    assert str(caught.value) == (
        f"acme: GET {url} refused: the host {NAME} resolves to 127.0.0.1, which is not "
        f"public; {netpolicy.POLICY_HINT}"
    )
    assert asked == [NAME, NAME] and connects == []


def test_the_connection_goes_to_the_address_checked_and_resolves_the_name_once(
    monkeypatch, connects
):
    """Allowed (127.0.0.1 on the allow-list), the connection is made to the literal address the
    policy checked: a third answer (an address nothing listens on) is never asked for."""
    allow_hosts(monkeypatch, "127.0.0.1")
    asked = _rebinding(monkeypatch, NAME, [["127.0.0.1"], ["127.0.0.1"], ["10.255.255.1"]])
    with serve() as server:
        url = f"http://{NAME}:{server.server_address[1]}/features"
        assert HttpJsonSource("acme", {"url": url, "timeout_seconds": 3}).fetch().features == []
        assert server.requests == 1
    assert asked == [NAME, NAME]  # the early check, then the connection: once each
    assert connects == ["127.0.0.1"]


def test_an_allowed_host_name_is_connected_to_whatever_it_resolves_to(monkeypatch, connects):
    allow_hosts(monkeypatch, "jira.corp")
    _rebinding(monkeypatch, "jira.corp", [["127.0.0.1"]])
    with serve() as server:
        url = f"http://jira.corp:{server.server_address[1]}/features"
        assert HttpJsonSource("acme", {"url": url, "timeout_seconds": 3}).fetch().features == []
        assert server.requests == 1
    assert connects == ["127.0.0.1"]


def test_the_backend_refuses_if_any_address_is_not_allowed_before_connecting(monkeypatch, connects):
    _rebinding(monkeypatch, NAME, [[PUBLIC, "169.254.169.254"]])
    with pytest.raises(netpolicy.AddressRefused, match="resolves to 169.254.169.254, which is"):
        netpolicy.PinnedBackend().connect_tcp(NAME, 80, timeout=1)
    allow_hosts(monkeypatch, "169.254.169.254")
    _rebinding(monkeypatch, NAME, [["::ffff:169.254.169.254", "10.0.0.7"]])
    with pytest.raises(netpolicy.AddressRefused, match="resolves to 10.0.0.7, which is"):
        netpolicy.PinnedBackend().connect_tcp(NAME, 80, timeout=1)
    assert connects == []


def test_a_literal_address_and_localhost_are_refused_by_the_backend_too(connects):
    for host in ("127.0.0.1", "127.1", "::1", "localhost"):
        with pytest.raises(netpolicy.AddressRefused):
            netpolicy.PinnedBackend().connect_tcp(host, 80, timeout=1)
    assert connects == []


def test_a_name_that_does_not_resolve_at_the_connection_fails_as_a_connect_error(monkeypatch):
    def fake(host, port, *args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(SourceError, match=r"acme: GET .* failed: ConnectError$"):
        HttpJsonSource("acme", {"url": f"http://{NAME}/features", "timeout_seconds": 3}).fetch()


class _TlsProbe(httpcore.NetworkStream):
    def __init__(self, seen: dict) -> None:
        self.seen = seen

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        self.seen["server_hostname"] = server_hostname
        raise httpcore.ConnectError("probe: no TLS here")

    def close(self) -> None:
        pass


def test_tls_is_started_for_the_host_name_not_the_address_connected_to(monkeypatch):
    """SNI and the certificate check use the URL's host name (httpcore passes it to
    start_tls), while the TCP connection goes to the checked address."""
    seen: dict = {}

    def connect(self, host, port, *args, **kwargs):
        seen["connected"] = (host, port)
        return _TlsProbe(seen)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect)
    _rebinding(monkeypatch, NAME, [[PUBLIC]])
    with pytest.raises(SourceError, match="failed: ConnectError"):
        HttpJsonSource("acme", {"url": f"https://{NAME}/features", "timeout_seconds": 3}).fetch()
    assert seen == {"connected": (PUBLIC, 443), "server_hostname": NAME}


def test_a_slow_lookup_at_the_connection_is_bound_by_the_deadline(monkeypatch):
    release = threading.Event()
    calls: list[str] = []

    def slow(host, port, *args, **kwargs):
        if host != NAME:
            return _REAL_GETADDRINFO(host, port, *args, **kwargs)
        calls.append(host)
        if len(calls) > 1:  # the connection's lookup hangs, as DNS may, then fails
            release.wait(10)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port))]

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    try:
        with pytest.raises(SourceError, match="timed out"):
            HttpJsonSource("acme", {"url": f"http://{NAME}/features", "timeout_seconds": 1}).fetch()
    finally:
        release.set()
    assert time.monotonic() - started < 3


def test_the_sources_client_connects_through_the_pinned_backend():
    client = _http.make_client(5)
    try:
        transport = client._transport
        assert isinstance(transport, _http.PinnedTransport)
        assert isinstance(transport._pool._network_backend, netpolicy.PinnedBackend)
    finally:
        client.close()


@contextmanager
def _tls_server(ca, name: str) -> Iterator[ThreadingHTTPServer]:
    """An HTTPS server on 127.0.0.1 whose certificate (from `ca`) is for `name` only."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            self.server.hosts.append(self.headers.get("Host"))
            body = b'{"features": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.hosts = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_https_to_a_pinned_address_verifies_the_certificate_for_the_host_name(
    monkeypatch, tmp_path, connects
):
    """End to end over real TLS: the connection goes to the checked 127.0.0.1 (allowed), and
    the certificate is verified for the URL's name: one for the name is accepted, one for
    another name is refused."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    allow_hosts(monkeypatch, "127.0.0.1")
    _rebinding(monkeypatch, NAME, [["127.0.0.1"]])
    with _tls_server(ca, NAME) as server:
        url = f"https://{NAME}:{server.server_address[1]}/features"
        assert HttpJsonSource("acme", {"url": url, "timeout_seconds": 3}).fetch().features == []
        assert server.hosts == [f"{NAME}:{server.server_address[1]}"]
    with _tls_server(ca, "other.example.com") as server:
        url = f"https://{NAME}:{server.server_address[1]}/features"
        with pytest.raises(SourceError, match="failed: ConnectError"):
            HttpJsonSource("acme", {"url": url, "timeout_seconds": 3}).fetch()
        assert server.hosts == []
    assert connects == ["127.0.0.1", "127.0.0.1"]
