"""Where the platform may send a request on a bank's behalf: webhook URLs and the addresses they resolve to.

A webhook URL is a request the server makes to an address a bank chose (server-side request forgery). The
rules, checked when the webhook is registered and again at every delivery:

- `https` only (plain http exists for tests, `EgressPolicy.allow_http`);
- no user information (`user:pw@`), no fragment, a port in 1–65535;
- the host is a DNS name of at least two labels with an alphabetic top-level label (so `0x7f000001`,
  `2130706433`, `127.1` and `0177.0.0.1`, which browsers and some resolvers read as IPv4, are refused), or a
  literal IP address; `localhost`, `*.localhost`, `*.local`, `*.internal`, `*.home.arpa` are refused;
- every address the host resolves to is a public unicast address: not loopback, private (RFC 1918, IPv6 ULA
  fc00::/7), link-local (169.254/16, fe80::/10, where cloud metadata lives), CGNAT (100.64/10), multicast,
  unspecified, reserved or documentation; IPv4-mapped, NAT64, 6to4 and Teredo IPv6 addresses (which carry
  an IPv4 address inside) are refused whatever they carry.

At delivery the host is resolved again, checked, and the connection goes to that checked address (the
request keeps the name for `Host` and TLS SNI and certificate verification), so a name that resolves to a
public address at registration and to 127.0.0.1 later (DNS rebinding) is refused and never connected to.
Whether a name does not resolve or resolves to a private address is one and the same answer, so the API
cannot be used to learn which internal names exist.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import SplitResult, urlsplit

Resolver = Callable[[str, int], Sequence[str]]
"""(host, port) → the IP addresses a connection to it could reach."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

LABEL: Final = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
TOP_LABEL: Final = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
LOCAL_SUFFIXES: Final = ("localhost", "local", "internal", "home.arpa", "lan", "intranet", "corp")
EMBEDDING_NETWORKS: Final = tuple(ipaddress.ip_network(n) for n in (
    "64:ff9b::/96",  # NAT64 (RFC 6052)
    "64:ff9b:1::/48",  # local-use NAT64 (RFC 8215)
    "2002::/16",  # 6to4
    "2001::/32",  # Teredo
    "::/96",  # IPv4-compatible (deprecated)
))
SHARED_V4: Final = ipaddress.ip_network("100.64.0.0/10")
NOT_PUBLIC: Final = "the URL's host must resolve, from this server, to public internet addresses only"
"""The one answer for a host that does not resolve and for one that resolves to a refused address."""


class EgressRefused(ValueError):
    """A URL or an address the platform will not send to; the message is safe to show to the bank."""


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to for a TCP connection (system resolver); [] when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class EgressPolicy:
    """What webhook URLs may be. The defaults are production's; the allowances exist for tests only."""

    allow_http: bool = False
    """Accept `http://` URLs (tests with a plain receiver)."""
    allow_loopback: bool = False
    """Accept loopback addresses (127.0.0.0/8, ::1): tests whose receiver runs on this machine. Nothing else."""
    resolve: Resolver = field(default=resolve_host)

    @property
    def schemes(self) -> tuple[str, ...]:
        return ("https", "http") if self.allow_http else ("https",)


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (a checked address) and the name the request is for."""

    url: str
    """The URL with its host replaced by the checked address (what the client connects to)."""
    host_header: str
    sni_hostname: str | None
    address: str


def address_refusal(address: str, policy: EgressPolicy) -> str | None:
    """Why `address` may not be connected to (a reason for the log), or None when it is a public address."""
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if "%" in address:
        return "scoped IPv6 address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return "IPv4-mapped IPv6 address"
        if any(ip in net for net in EMBEDDING_NETWORKS):
            return "IPv6 address embedding an IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible)"
    if ip.is_loopback:
        return None if policy.allow_loopback else "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED_V4:
        return "shared address space (CGNAT)"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved or not globally routable"
    return None


def _host_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _check_name(host: str) -> None:
    """A DNS name of at least two labels whose last label is alphabetic (or IDNA); no local-only suffixes."""
    labels = host.split(".")
    if len(labels) < 2 or not all(LABEL.match(label) for label in labels) or not TOP_LABEL.match(labels[-1]):
        raise EgressRefused("the URL's host must be a public DNS name or IP address")
    if any(host == suffix or host.endswith("." + suffix) for suffix in LOCAL_SUFFIXES):
        raise EgressRefused("the URL's host must be a public DNS name, not a local one")


def parse_url(url: str, policy: EgressPolicy) -> SplitResult:
    """Syntax checks of a webhook URL (no resolution); EgressRefused saying what is wrong."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        raise EgressRefused("the URL must not contain spaces, control characters or backslashes")
    parts = urlsplit(url)
    if parts.scheme not in policy.schemes:
        raise EgressRefused(f"must be an absolute {' or '.join(policy.schemes)} URL")
    if "@" in parts.netloc:
        raise EgressRefused("the URL must not contain user information (user:password@)")
    if parts.fragment or url.endswith("#"):
        raise EgressRefused("the URL must not have a fragment")
    try:
        port = parts.port
    except ValueError as exc:
        raise EgressRefused("the URL's port must be 1-65535") from exc
    if port == 0:
        raise EgressRefused("the URL's port must be 1-65535")
    host = parts.hostname
    if not host:
        raise EgressRefused(f"must be an absolute {' or '.join(policy.schemes)} URL")
    if _host_literal(host) is None:
        if parts.netloc.startswith("["):
            raise EgressRefused("the URL's host must be a public DNS name or IP address")
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise EgressRefused("the URL's host must be a public DNS name or IP address") from exc
        _check_name(ascii_host.lower().rstrip("."))
    return parts


def default_port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def check_url(url: str, policy: EgressPolicy) -> Target:
    """Check `url` and resolve its host now: the target to connect to, or EgressRefused (safe to show).

    Every resolved address must be allowed (a name with one public and one private address is refused), and
    the connection goes to the first of them.
    """
    parts = parse_url(url, policy)
    host = parts.hostname or ""
    port = default_port(parts)
    literal = _host_literal(host)
    name = host if literal is not None else host.encode("idna").decode("ascii").lower().rstrip(".")
    addresses = [str(literal)] if literal is not None else list(policy.resolve(name, port))
    if not addresses or any(address_refusal(a, policy) is not None for a in addresses):
        raise EgressRefused(NOT_PUBLIC)
    address = addresses[0]
    netloc_host = f"[{address}]" if ":" in address else address
    netloc = f"{netloc_host}:{parts.port}" if parts.port else netloc_host
    host_header = parts.netloc  # as the bank wrote it (no user information: refused above)
    pinned = parts._replace(netloc=netloc).geturl()
    return Target(pinned, host_header, name if parts.scheme == "https" and literal is None else None, address)
