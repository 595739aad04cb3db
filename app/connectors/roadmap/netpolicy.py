"""Where a roadmap source may send its requests (and its credentials): public addresses only,
unless the operator allows a host with ROADMAP_SOURCE_ALLOWED_HOSTS.

A source's URL is chosen through the API by a RevOps key. Without this policy it could point the
server at what only the server can reach (the cloud metadata service at 169.254.169.254, a
database on 127.0.0.1:5432, an admin page on 10.x) and read the answer back from last_error.

Refused by default: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10),
CGNAT (100.64/10), multicast, unspecified and every other address that is not globally routable,
and the names "localhost" / "*.localhost". Checked:

- when a source is saved (`url_policy_errors`): a literal IP or a localhost name in its URL;
- at every request (`check_request_host`): the host is resolved (socket.getaddrinfo) and the
  request refused if ANY address it resolves to is not allowed. A name that does not resolve is
  let through: the request fails by itself;
- at every connection (`PinnedBackend.connect_tcp`): resolved once more, checked the same way,
  and the connection made to the checked address (below).

ROADMAP_SOURCE_ALLOWED_HOSTS (comma-separated host names, IPs or CIDRs) allows what it names even
when private: a Jira Server on the company network. A host name listed is allowed whatever it
resolves to; an IP or a CIDR allows those addresses, whatever name resolves to them.

The connection goes to an address that was checked (`PinnedBackend`, the HTTP client's network
backend): when it opens a connection it resolves the host once, refuses if ANY address is not
allowed, and connects to those very addresses, never resolving the name again. A name that
answers a public address to the check and a private one next (DNS rebinding) is refused at the
connection, unsent. TLS still verifies the certificate for the host name (SNI and hostname
check come from the URL's host, not the address connected to). Through a proxy
(HTTPS_PROXY...) the proxy resolves the host itself: only the early check applies.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpcore

ALLOWED_HOSTS_ENV = "ROADMAP_SOURCE_ALLOWED_HOSTS"
POLICY_HINT = (
    "roadmap sources may fetch public addresses only; an operator can allow a host on a "
    f"private network with {ALLOWED_HOSTS_ENV} (docs/roadmap.md, Sources)"
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$"
)
_LEGACY_IPV4 = re.compile(r"^[0-9][0-9a-fx.]*$")


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def allows_name(self, host: str) -> bool:
        return _bare(host) in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.networks)


def _bare(host: str) -> str:
    """The host as compared: lower case, without IPv6 brackets or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


def parse_allowed_hosts(value: str | None) -> AllowList:
    """ROADMAP_SOURCE_ALLOWED_HOSTS as an AllowList; ValueError naming a bad entry."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in (value or "").split(","):
        entry = _bare(raw)
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or not _HOST_NAME.fullmatch(entry):
            raise ValueError(
                f"{raw.strip()!r} is not a host name, an IP address or a CIDR (e.g. "
                "jira.corp.example, 10.20.0.5, 10.20.0.0/16); separate entries with commas"
            )
        names.add(entry)
    return AllowList(frozenset(names), tuple(networks))


@lru_cache(maxsize=8)
def _parsed(value: str) -> AllowList:
    return parse_allowed_hosts(value)


def allowed_hosts() -> AllowList:
    """The operator's allow-list, from the settings (validated at start-up)."""
    from app.settings import get_settings

    return _parsed(get_settings().roadmap_source_allowed_hosts or "")


def _mapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_public(address: IPAddress) -> bool:
    """A globally routable unicast address: not loopback, private, link-local, CGNAT,
    multicast, unspecified, reserved or documentation."""
    address = _mapped(address)
    return address.is_global and not address.is_multicast and not address.is_unspecified


def literal_address(host: str) -> IPAddress | None:
    """The host as an IP address when it is written as one (also the legacy IPv4 forms the
    resolver accepts: 2130706433, 0x7f.1, 127.1); None for a name."""
    bare = _bare(host).split("%", 1)[0]  # an IPv6 zone id
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _localhost(host: str) -> bool:
    bare = _bare(host)
    return bare == "localhost" or bare.endswith(".localhost")


def _address_allowed(address: IPAddress, allow: AllowList) -> bool:
    return (
        is_public(address)
        or allow.allows_address(address)
        or allow.allows_address(_mapped(address))
    )


def host_refusal(host: str, allow: AllowList | None = None) -> str | None:
    """Why a URL's host may not be a source's (a literal non-public IP or a localhost name not
    allowed), or None. No resolution: what a source's config says by itself."""
    allow = allowed_hosts() if allow is None else allow
    if not host or allow.allows_name(host):
        return None
    if _localhost(host):
        return f"the host {_bare(host)} is this machine; {POLICY_HINT}"
    address = literal_address(host)
    if address is not None and not _address_allowed(address, allow):
        return f"the address {address} is not public; {POLICY_HINT}"
    return None


def url_policy_errors(config: Any, url_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The URL keys of `config` whose host the policy refuses, as config errors."""
    if not isinstance(config, dict):
        return []
    errors = []
    for key in url_keys:
        value = config.get(key)
        if not isinstance(value, str):
            continue
        try:
            parts = urlsplit(value)
            host, _ = parts.hostname or "", parts.port
        except ValueError:
            continue  # the model reports a malformed URL
        reason = host_refusal(host)
        if reason:
            loc = ["config", key]
            errors.append(
                {
                    "loc": loc,
                    "path": ".".join(loc),
                    "msg": reason,
                    "type": "address_not_allowed",
                }
            )
    return errors


class AddressRefused(Exception):
    """The request's host is not allowed; the message says why (never whether a port is
    open: nothing was sent)."""


def _resolve(host: str, port: int | None) -> list[Any]:
    """socket.getaddrinfo for a TCP connection to `host` (OSError / UnicodeError if it does
    not resolve)."""
    return socket.getaddrinfo(_bare(host), port or 443, type=socket.SOCK_STREAM)


def _info_address(info: Any) -> IPAddress | None:
    try:
        return ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
    except ValueError:
        return None


def _check_resolved(host: str, infos: list[Any], allow: AllowList) -> None:
    """AddressRefused naming the first resolved address that is not allowed."""
    for info in infos:
        address = _info_address(info)
        if address is None:
            raise AddressRefused(
                f"the host {_bare(host)} resolves to {info[4][0]!s}, which is not an IP "
                f"address; {POLICY_HINT}"
            )
        if not _address_allowed(address, allow):
            raise AddressRefused(
                f"the host {_bare(host)} resolves to {address}, which is not public; {POLICY_HINT}"
            )


def check_request_host(host: str, port: int | None) -> None:
    """AddressRefused unless every address `host` resolves to is allowed. A host that does not
    resolve is let through (the request fails by itself). An early check, before anything is
    built or sent; `connect_targets` checks again what the connection itself resolves."""
    allow = allowed_hosts()
    reason = host_refusal(host, allow)
    if reason:
        raise AddressRefused(reason)
    if allow.allows_name(host) or literal_address(host) is not None:
        return
    try:
        infos = _resolve(host, port)
    except (OSError, UnicodeError):
        return
    _check_resolved(host, infos, allow)


def connect_targets(host: str, port: int) -> list[Any]:
    """The getaddrinfo entries a connection to `host` may use, resolved once and every one
    checked: AddressRefused if any is not allowed (a host name on the allow-list is allowed
    whatever it resolves to); OSError / UnicodeError if the host does not resolve. The caller
    connects to these addresses and never resolves the name again."""
    allow = allowed_hosts()
    reason = host_refusal(host, allow)
    if reason:
        raise AddressRefused(reason)
    infos = _resolve(host, port)
    if not allow.allows_name(host):
        _check_resolved(host, infos, allow)
    return infos


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's network backend for the roadmap sources' client: `connect_tcp` resolves the
    host once (`connect_targets`, which refuses any address the policy does not allow) and
    connects to a checked address itself, given as a literal IP, so no second DNS answer can
    steer the connection elsewhere (DNS rebinding). httpcore passes the URL's host name as
    server_hostname to start_tls, so TLS verifies the certificate for the name as before."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = connect_targets(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"{_bare(host)} does not resolve: {exc}") from exc
        failure: Exception = httpcore.ConnectError(f"{_bare(host)} resolves to no address")
        seen: set[str] = set()
        for info in infos:
            address = str(info[4][0])
            if address in seen:
                continue
            seen.add(address)
            try:
                return self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("roadmap sources connect over TCP only")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)
