"""Server-side request forgery guard for webhook URLs.

A webhook URL is checked twice: when a user saves it, and again right before every delivery,
because DNS answers change (rebinding). The delivery then connects to the exact address that
was checked (pinned), sending the original host name as Host header and TLS SNI, and never
follows redirects. Only canonical dotted-quad IPv4 literals are accepted: the legacy forms that
resolvers still honour (2130706433, 0x7f000001, 0177.0.0.1, 127.1) exist mostly to smuggle
addresses past naive checks.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata endpoints that are not all covered by the private/link-local ranges.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "192.0.0.192")
)
METADATA_HOSTNAMES = frozenset({"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"})
# A label a resolver may read as a number: decimal, octal (leading 0) or hex (0x...).
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_DOTTED_QUAD = re.compile(r"^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$")
MAX_URL_LENGTH = 2048


class UnsafeWebhookURL(ValueError):
    """The URL may not be called: the message says why, for the user."""


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str  # as written (lowercased), sent as Host and SNI
    port: int
    addresses: tuple[IPAddress, ...]  # every resolved address, all checked

    @property
    def pinned(self) -> IPAddress:
        """The address delivery connects to: the first IPv4 one (most receivers listen there), else the first."""
        return next((a for a in self.addresses if a.version == 4), self.addresses[0])


def _require_https() -> bool:
    configured = getattr(settings, "ALERTS_WEBHOOK_REQUIRE_HTTPS", None)
    return (not settings.DEBUG) if configured is None else bool(configured)


def _allowlist() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names: set[str] = set()
    networks = []
    for entry in getattr(settings, "ALERTS_WEBHOOK_ALLOWLIST", []):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.lower().rstrip("."))
    return names, networks


def address_problem(address: IPAddress) -> str | None:
    """Why calling this address would be unsafe, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_problem(mapped)
        if address.teredo is not None:
            return "a Teredo tunnel address"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    if not address.is_global:  # shared address space (100.64/10), documentation ranges, ...
        return "not a public address"
    return None


def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeWebhookURL(f"webhook_url: host {host!r} does not resolve ({exc})") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeWebhookURL(f"webhook_url: host {host!r} does not resolve")
    return tuple(addresses)


def webhook_target_resolve(*, url: str) -> WebhookTarget:
    """Parse, resolve and check a webhook URL; raises UnsafeWebhookURL naming the problem."""
    if not isinstance(url, str) or not url:
        raise UnsafeWebhookURL("webhook_url: required")
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeWebhookURL(f"webhook_url: longer than {MAX_URL_LENGTH} characters")
    if any(ord(ch) < 0x21 or ch == "\\" for ch in url):
        raise UnsafeWebhookURL("webhook_url: contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeWebhookURL(f"webhook_url: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise UnsafeWebhookURL("webhook_url: scheme must be https (or http where allowed)")
    if scheme != "https" and _require_https():
        raise UnsafeWebhookURL("webhook_url: must use https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookURL("webhook_url: credentials in the URL are not allowed; sign with the secret instead")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise UnsafeWebhookURL("webhook_url: has no host")
    port = port or (443 if scheme == "https" else 80)

    literal: IPAddress | None = None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        # Every label numeric but not a canonical address: decimal, hex, octal or short forms.
        if all(_NUMERIC_LABEL.match(label) for label in host.split(".")):
            raise UnsafeWebhookURL(
                f"webhook_url: host {host!r} is a non-canonical IP address form (write it as a.b.c.d)"
            ) from None
    if literal is not None and isinstance(literal, ipaddress.IPv4Address) and not _DOTTED_QUAD.match(host):
        raise UnsafeWebhookURL(f"webhook_url: host {host!r} is a non-canonical IP address form")

    allowed_names, allowed_networks = _allowlist()
    if host in METADATA_HOSTNAMES and host not in allowed_names:
        raise UnsafeWebhookURL(f"webhook_url: host {host!r} is a cloud metadata endpoint")
    addresses = (literal,) if literal is not None else _resolve(host, port)
    if host not in allowed_names:
        for address in addresses:
            if any(address in network for network in allowed_networks):
                continue
            problem = address_problem(address)
            if problem:
                shown = host if literal is not None else f"{host} → {address}"
                raise UnsafeWebhookURL(f"webhook_url: {shown} is {problem}")
    return WebhookTarget(url=url, scheme=scheme, host=host, port=port, addresses=addresses)
