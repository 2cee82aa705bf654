"""Outbound URL policy: may a workflow make an HTTP request to this URL?

``check_url`` answers before any byte leaves the machine. Only ``http`` and ``https`` are
allowed, and unless ``POLICY.allow_ssrf`` is on, the host must be public: the host name is
resolved and *every* address it resolves to must be a public unicast address (one private
answer among public ones is enough to refuse, because the client could connect to it).
Internal addresses are the target of server-side request forgery: loopback, private
networks, link-local and the cloud metadata services that hand out credentials.

Hosts are read the way a lenient resolver reads them before deciding, so ``2130706433``,
``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``%31%32%37.0.0.1``, ``localhost.`` and the
same digits written in fullwidth characters are all 127.0.0.1. IPv6 addresses that carry
an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are judged by the IPv4 address
inside.

The answer (``ParsedTarget``) lists the addresses that were checked, so a client can
connect to one of them instead of resolving the name again (which DNS rebinding could
answer differently). ``automate.governance.http`` is that client.

Pure Python apart from reading the two ``POLICY`` settings (which callers may pass in).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from automate import conf
from automate.exceptions import AutomateError

__all__ = [
    "ALLOWED_SCHEMES",
    "METADATA_ADDRESSES",
    "METADATA_HOSTNAMES",
    "AddressBlock",
    "HostResolutionError",
    "ParsedTarget",
    "PolicyViolation",
    "blocked_address_reason",
    "check_host",
    "check_url",
    "host_allowlisted",
    "host_pattern_matches",
    "normalise_host",
    "split_host_pattern",
]

ALLOWED_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES: dict[str, str] = {
    "169.254.169.254": "AWS, GCP, Azure, OpenStack and DigitalOcean instance metadata",
    "169.254.170.2": "AWS ECS task metadata",
    "fd00:ec2::254": "AWS instance metadata over IPv6",
    "100.100.100.200": "Alibaba Cloud instance metadata",
    # A public address, but only meaningful inside Azure, where it is the host agent
    # ("WireServer") that VM extensions talk to; nothing a workflow should reach.
    "168.63.129.16": "the Azure host agent (WireServer)",
}
"""Cloud metadata services: named as such in errors, blocked even where public."""

METADATA_HOSTNAMES = frozenset(
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
"""Host names that reach a metadata service from inside a cloud VM (blocked by name)."""

_SETTING_HINT = "POLICY.http_allowlist can allow a host"


# ---------------------------------------------------------------------------------------
# Errors and results
# ---------------------------------------------------------------------------------------


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class PolicyViolation(AutomateError):
    """An outbound URL is refused by policy; never retryable.

    ``code`` is ``url_not_allowed`` (not http/https, no host, malformed) or
    ``ssrf_blocked`` (the host is, or resolves to, an internal address). The message names
    the host and the reason (``"127.0.0.1 is a loopback address"``), never the URL's
    path, query or credentials. ``details`` has ``host`` and, for ``ssrf_blocked``,
    ``address`` and ``rule`` (``loopback``, ``private``, ``metadata``…).
    """

    code = "url_not_allowed"
    http_status = 403
    retryable = False

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only state (code, details) survives crossing a process boundary.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class HostResolutionError(AutomateError):
    """The host name of an outbound URL could not be resolved (code ``host_not_resolved``).

    ``retryable`` is True for temporary resolver failures and False when the name does
    not exist.
    """

    code = "host_not_resolved"
    http_status = 502

    def __init__(self, message: str, *, retryable: bool, details: dict[str, Any]) -> None:
        super().__init__(message, details=details)
        self.retryable = retryable

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


@dataclass(frozen=True)
class ParsedTarget:
    """Where an allowed URL points: connect to one of ``addresses``, never re-resolve.

    * ``scheme``: ``"http"`` or ``"https"``.
    * ``host``: the normalised host (lower-case ASCII, IDNA-encoded, no trailing dot; an
      IP literal in its canonical form, IPv6 without brackets).
    * ``port``: the explicit port or the scheme's default.
    * ``addresses``: the IP addresses checked (resolver order, no duplicates).
    * ``allowed_by``: ``"public"`` (every address is public), ``"http_allowlist"`` (the
      host matched a pattern; addresses resolved but not judged) or ``"allow_ssrf"``.
    """

    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    allowed_by: Literal["public", "http_allowlist", "allow_ssrf"] = "public"


@dataclass(frozen=True)
class AddressBlock:
    """Why an address is not public: a ``rule`` code and a phrase for messages.

    ``embedded`` is the IPv4 address an IPv6 address carries when that is what was judged.
    """

    rule: str
    reason: str
    embedded: str | None = None

    def describe(self) -> str:
        """``"a loopback address"``, or ``"an address embedding the IPv4 address …"``."""
        if self.embedded is None:
            return self.reason
        return f"an address embedding the IPv4 address {self.embedded}, {self.reason}"


# ---------------------------------------------------------------------------------------
# Address classification
# ---------------------------------------------------------------------------------------

_N4 = ipaddress.IPv4Network
_N6 = ipaddress.IPv6Network

# First match wins, so specific ranges come before the ranges that contain them.
_IPV4_RULES: tuple[tuple[ipaddress.IPv4Network, str, str], ...] = (
    (_N4("0.0.0.0/32"), "unspecified", "the unspecified address"),
    (_N4("0.0.0.0/8"), "this_network", 'in 0.0.0.0/8 ("this network")'),
    (_N4("127.0.0.0/8"), "loopback", "a loopback address"),
    (_N4("10.0.0.0/8"), "private", "a private address (10.0.0.0/8)"),
    (_N4("172.16.0.0/12"), "private", "a private address (172.16.0.0/12)"),
    (_N4("192.168.0.0/16"), "private", "a private address (192.168.0.0/16)"),
    (_N4("100.64.0.0/10"), "shared", "in the shared address space 100.64.0.0/10 (CGNAT)"),
    (_N4("169.254.0.0/16"), "link_local", "a link-local address"),
    (_N4("192.0.0.0/24"), "reserved", "in 192.0.0.0/24 (IETF protocol assignments)"),
    (_N4("192.0.2.0/24"), "documentation", "a documentation address (192.0.2.0/24)"),
    (_N4("198.51.100.0/24"), "documentation", "a documentation address (198.51.100.0/24)"),
    (_N4("203.0.113.0/24"), "documentation", "a documentation address (203.0.113.0/24)"),
    (_N4("192.88.99.0/24"), "reserved", "in 192.88.99.0/24 (deprecated 6to4 relays)"),
    (_N4("198.18.0.0/15"), "benchmarking", "a benchmarking address (198.18.0.0/15)"),
    (_N4("224.0.0.0/4"), "multicast", "a multicast address"),
    (_N4("255.255.255.255/32"), "broadcast", "the broadcast address"),
    (_N4("240.0.0.0/4"), "reserved", "a reserved address (240.0.0.0/4)"),
)

_IPV6_RULES: tuple[tuple[ipaddress.IPv6Network, str, str], ...] = (
    (_N6("2001:db8::/32"), "documentation", "a documentation address (2001:db8::/32)"),
    (_N6("3fff::/20"), "documentation", "a documentation address (3fff::/20)"),
    (_N6("2001:2::/48"), "benchmarking", "a benchmarking address (2001:2::/48)"),
    (_N6("2001::/23"), "reserved", "in 2001::/23 (IETF protocol assignments)"),
    (_N6("fc00::/7"), "private", "a unique local (private) address (fc00::/7)"),
    (_N6("fe80::/10"), "link_local", "a link-local address"),
    (_N6("fec0::/10"), "reserved", "a site-local address (fec0::/10, deprecated)"),
    (_N6("ff00::/8"), "multicast", "a multicast address"),
    (_N6("100::/64"), "reserved", "a discard-only address (100::/64)"),
)

_GLOBAL_UNICAST_V6 = _N6("2000::/3")
_MAPPED = _N6("::ffff:0:0/96")
_TRANSLATED = _N6("::ffff:0:0:0/96")
_COMPATIBLE = _N6("::/96")
_NAT64 = _N6("64:ff9b::/96")
_NAT64_LOCAL = _N6("64:ff9b:1::/48")
_SIX_TO_FOUR = _N6("2002::/16")
_TEREDO = _N6("2001::/32")


def _ipv4_block(address: ipaddress.IPv4Address) -> AddressBlock | None:
    text = str(address)
    if text in METADATA_ADDRESSES:
        return AddressBlock("metadata", f"a cloud metadata address ({METADATA_ADDRESSES[text]})")
    for network, rule, reason in _IPV4_RULES:
        if address in network:
            return AddressBlock(rule, reason)
    if not address.is_global:
        return AddressBlock("reserved", "not a globally routable address")
    return None


def _embedded(inner: ipaddress.IPv4Address) -> AddressBlock | None:
    block = _ipv4_block(inner)
    if block is None:
        return None
    return AddressBlock(block.rule, block.reason, embedded=str(inner))


def _ipv6_block(address: ipaddress.IPv6Address) -> AddressBlock | None:
    address = ipaddress.IPv6Address(int(address))  # drop any zone id
    if str(address) in METADATA_ADDRESSES:
        reason = METADATA_ADDRESSES[str(address)]
        return AddressBlock("metadata", f"a cloud metadata address ({reason})")
    if address == ipaddress.IPv6Address("::"):
        return AddressBlock("unspecified", "the unspecified address")
    if address == ipaddress.IPv6Address("::1"):
        return AddressBlock("loopback", "a loopback address")
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _MAPPED or address in _TRANSLATED or address in _COMPATIBLE:
        return _embedded(low32)
    if address in _NAT64:
        return _embedded(low32)
    if address in _NAT64_LOCAL:
        # Where the IPv4 address sits depends on the local operator's prefix length, so
        # a public-looking last 32 bits prove nothing: refuse the whole local-use prefix.
        return _embedded(low32) or AddressBlock(
            "reserved", "in the local-use NAT64 prefix 64:ff9b:1::/48"
        )
    if address in _SIX_TO_FOUR:
        return _embedded(ipaddress.IPv4Address((int(address) >> 80) & 0xFFFFFFFF))
    if address in _TEREDO:
        return _embedded(ipaddress.IPv4Address(~int(address) & 0xFFFFFFFF))
    for network, rule, reason in _IPV6_RULES:
        if address in network:
            return AddressBlock(rule, reason)
    if address not in _GLOBAL_UNICAST_V6:
        return AddressBlock("reserved", "outside the global unicast range 2000::/3")
    if not address.is_global:
        return AddressBlock("reserved", "not a globally routable address")
    return None


def blocked_address_reason(address: str | IPAddress) -> AddressBlock | None:
    """Why ``address`` must not be reached, or ``None`` when it is a public address.

    >>> blocked_address_reason("127.0.0.1").reason
    'a loopback address'
    >>> blocked_address_reason("8.8.8.8") is None
    True

    Raises ``ValueError`` when ``address`` is not an IP address.
    """
    if isinstance(address, str):
        address = ipaddress.ip_address(address)
    if isinstance(address, ipaddress.IPv4Address):
        return _ipv4_block(address)
    return _ipv6_block(address)


# ---------------------------------------------------------------------------------------
# Hosts
# ---------------------------------------------------------------------------------------

# One part of an IPv4 address as inet_aton reads it: hex (0x…), octal (0…) or decimal.
_NUMERIC_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
_HOST_NAME = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$")
_LOCALHOST_SUFFIX = ".localhost"
# The label separators the IDNA codec accepts: full stop and its ideographic, fullwidth
# and halfwidth forms.
_DOTS = (".", "\u3002", "\uff0e", "\uff61")
_MAX_HOST_LENGTH = 253


def _lenient_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address ``inet_aton`` (and so most resolvers) would read ``host`` as, or None.

    One to four dot-separated parts, each decimal, octal (leading ``0``) or hex (``0x``);
    the last part fills the remaining bytes: ``127.1`` is 127.0.0.1, ``2130706433`` too.
    """
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if not _NUMERIC_PART.match(part):
            return None
        if part[:2].lower() == "0x":
            numbers.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part[0] == "0":
            if not set(part) <= set("01234567"):
                return None
            numbers.append(int(part, 8))
        else:
            numbers.append(int(part, 10))
    *head, last = numbers
    if any(number > 0xFF for number in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _ends_in_number(host: str) -> bool:
    # WHATWG URL rule: a host whose last label is numeric is an IPv4 address or invalid.
    return bool(_NUMERIC_PART.match(host.rsplit(".", 1)[-1]))


def _not_allowed(message: str, host: str | None = None) -> PolicyViolation:
    details = {"host": host} if host is not None else {}
    return PolicyViolation(message, code="url_not_allowed", details=details)


def ipv6_text(address: ipaddress.IPv6Address) -> str:
    """``str(address)`` as Python 3.10-3.12 print it, on every Python.

    Python 3.13 prints an IPv4-mapped address with a dotted quad (``::ffff:8.8.8.8``);
    the canonical host stays ``::ffff:808:808`` whatever Python the site runs on.
    """
    mapped = address.ipv4_mapped
    if mapped is None:
        return str(address)
    low = int(mapped)
    zone = f"%{address.scope_id}" if address.scope_id else ""
    return f"::ffff:{low >> 16:x}:{low & 0xFFFF:x}{zone}"


def normalise_host(host: str) -> tuple[str, IPAddress | None]:
    """The canonical form of ``host`` and, when it is an IP literal, its address.

    Percent-decodes, drops one trailing dot, lower-cases, IDNA-encodes (so fullwidth
    and other compatibility characters become ASCII, as Python's resolver would do) and
    reads lenient IPv4 forms. IPv6 literals may come with or without brackets and with a
    zone id (``fe80::1%eth0`` or ``%25eth0``). Raises ``PolicyViolation``
    (``url_not_allowed``) for a host that is not a valid host name or IP address.
    """
    original = host
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    try:
        host = unquote(host, errors="strict")
    except UnicodeDecodeError:
        raise _not_allowed(f"{original!r} is not a valid host.", original) from None
    if not host:
        raise _not_allowed("The URL has no host.")
    if bracketed or ":" in host:
        try:
            address6 = ipaddress.IPv6Address(host)
        except ValueError:
            raise _not_allowed(f"{original!r} is not a valid IPv6 address.", original) from None
        return ipv6_text(address6), address6
    if "%" in host:
        raise _not_allowed(f"{original!r} is not a valid host.", original)
    if host.endswith(_DOTS):
        host = host[:-1]
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise _not_allowed(f"{original!r} is not a valid host name.", original) from None
    ascii_host = ascii_host.removesuffix(".")
    if not ascii_host or len(ascii_host) > _MAX_HOST_LENGTH or not _HOST_NAME.match(ascii_host):
        raise _not_allowed(f"{original!r} is not a valid host name.", original)
    address4 = _lenient_ipv4(ascii_host)
    if address4 is not None:
        return str(address4), address4
    if _ends_in_number(ascii_host):
        raise _not_allowed(f"{original!r} is not a valid IPv4 address.", original)
    return ascii_host, None


def _name_block(host: str) -> AddressBlock | None:
    if host == "localhost" or host.endswith(_LOCALHOST_SUFFIX):
        return AddressBlock("loopback", "a loopback name")
    if host in METADATA_HOSTNAMES:
        return AddressBlock("metadata", "a cloud metadata host name")
    return None


def split_host_pattern(pattern: str) -> tuple[str, int | None]:
    """A host pattern as ``(host glob, port or None)``: ``"127.0.0.1:8000"``,
    ``"[::1]:8000"``, ``"*.stripe.com"``, ``"::1"``.

    The host part is lower-cased, loses one trailing dot and is IDNA-encoded; an IP
    literal is written in its canonical form. Raises ``ValueError`` for a pattern that is
    not a host pattern (a URL, an empty host, a bad port).
    """
    text = pattern.strip().lower()
    if "/" in text or "@" in text:
        raise ValueError(f"{pattern!r} is a URL, not a host pattern (write just the host)")
    port_text = ""
    if text.startswith("["):
        end = text.find("]")
        if end == -1 or (text[end + 1 :] and not text[end + 1 :].startswith(":")):
            raise ValueError(f"{pattern!r} is not a valid host pattern")
        host, port_text = text[1:end], text[end + 2 :]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host = text  # a name, or a bare IPv6 address
    host = host.removesuffix(".")
    if not host:
        raise ValueError(f"{pattern!r} has no host")
    port: int | None = None
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{pattern!r} has an invalid port {port_text!r}")
        port = int(port_text)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"{pattern!r} is not a valid host name") from None
    with contextlib.suppress(ValueError):  # a name or a glob stays as written
        address = ipaddress.ip_address(host)
        host = ipv6_text(address) if isinstance(address, ipaddress.IPv6Address) else str(address)
    return host, port


def host_pattern_matches(host: str, pattern: str, *, port: int | None = None) -> bool:
    """Whether the normalised ``host`` (and ``port``, when both say one) match ``pattern``.

    The host part is a shell-style glob matched without case (``*`` spans dots, so
    ``*.stripe.com`` matches ``api.stripe.com`` and ``a.b.stripe.com`` but not
    ``stripe.com`` itself). A pattern with a port (``127.0.0.1:8000``) matches only that
    port; without one, any port. An invalid pattern matches nothing.
    """
    try:
        pattern_host, pattern_port = split_host_pattern(pattern)
    except ValueError:
        return False
    if pattern_port is not None and port != pattern_port:
        return False
    return fnmatchcase(host.lower(), pattern_host)


def host_allowlisted(
    host: str, patterns: Sequence[str] | None = None, *, port: int | None = None
) -> bool:
    """Whether the normalised ``host`` matches a ``POLICY.http_allowlist`` pattern.

    Patterns are shell-style globs over host names (``"hooks.slack.com"``,
    ``"*.stripe.com"``) or IP literals (``"127.0.0.1"``, ``"::1"``), matched without case,
    optionally with a port (``"127.0.0.1:8000"``, ``"[::1]:8000"``: that port only).
    An IP pattern matches a URL whose host *is* that IP (in any spelling, ``127.1``
    included), not a name that resolves to it.
    """
    if patterns is None:
        patterns = conf.get("POLICY", "http_allowlist")
    return any(host_pattern_matches(host, pattern, port=port) for pattern in patterns)


# ---------------------------------------------------------------------------------------
# Resolution
# ---------------------------------------------------------------------------------------

_PERMANENT_RESOLVER_ERRORS = frozenset(
    getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)
)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    # socket.getaddrinfo is looked up on each call (tests replace it); AF_UNSPEC returns
    # every A and AAAA answer, and every one of them is judged.
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HostResolutionError(
            f"{host} could not be resolved ({exc.strerror or exc}).",
            retryable=exc.errno not in _PERMANENT_RESOLVER_ERRORS,
            details={"host": host},
        ) from None
    except (OSError, UnicodeError) as exc:
        raise HostResolutionError(
            f"{host} could not be resolved ({exc}).", retryable=True, details={"host": host}
        ) from None
    addresses: list[str] = []
    for family, _type, _proto, _name, sockaddr in answers:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        text = str(sockaddr[0])
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise HostResolutionError(
            f"{host} has no IPv4 or IPv6 address.", retryable=False, details={"host": host}
        )
    return tuple(addresses)


def _blocked(shown: str, address: str, block: AddressBlock, *, resolved: bool) -> PolicyViolation:
    if resolved:
        sentence = f"{shown} resolves to {address}, {block.describe()}"
    elif shown == address:
        sentence = f"{address} is {block.describe()}"
    else:
        sentence = f"{shown} ({address}) is {block.describe()}"
    details: dict[str, Any] = {"host": shown, "address": address, "rule": block.rule}
    if block.embedded is not None:
        details["embedded_ipv4"] = block.embedded
    return PolicyViolation(
        f"{sentence}: outbound requests to internal addresses are refused ({_SETTING_HINT}).",
        code="ssrf_blocked",
        details=details,
    )


# ---------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------


def check_host(
    host: str,
    *,
    scheme: str = "https",
    port: int | None = None,
    allow_ssrf: bool | None = None,
    allowlist: Sequence[str] | None = None,
) -> ParsedTarget:
    """Check an already split URL (``scheme``, ``host``, ``port``); see ``check_url``.

    ``host`` is as it appears in the URL (brackets around IPv6 optional). The HTTP client
    calls this with the parts of the URL it is about to request, so the check and the
    connection can never disagree about which host is meant.
    """
    scheme = scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _not_allowed(
            f"Only http and https URLs are allowed, not {scheme or 'a URL without a scheme'!r}."
        )
    if port is None:
        port = _DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise _not_allowed(f"{port} is not a valid port.", host)
    raw_host = host.strip("[]") if host.startswith("[") else host
    canonical, literal = normalise_host(host)
    if allow_ssrf is None:
        allow_ssrf = bool(conf.get("POLICY", "allow_ssrf"))
    if host_allowlisted(canonical, allowlist, port=port):
        addresses = (canonical,) if literal is not None else _resolve(canonical, port)
        return ParsedTarget(scheme, canonical, port, addresses, "http_allowlist")
    if allow_ssrf:
        addresses = (canonical,) if literal is not None else _resolve(canonical, port)
        return ParsedTarget(scheme, canonical, port, addresses, "allow_ssrf")
    if literal is not None:
        block = blocked_address_reason(literal)
        if block is not None:
            shown = canonical if unquote(raw_host) == canonical else raw_host
            raise _blocked(shown, canonical, block, resolved=False)
        return ParsedTarget(scheme, canonical, port, (canonical,))
    name_block = _name_block(canonical)
    if name_block is not None:
        raise PolicyViolation(
            f"{canonical} is {name_block.reason}: outbound requests to internal hosts are "
            f"refused ({_SETTING_HINT}).",
            code="ssrf_blocked",
            details={"host": canonical, "rule": name_block.rule},
        )
    addresses = _resolve(canonical, port)
    for address in addresses:
        block = blocked_address_reason(address)
        if block is not None:
            raise _blocked(canonical, address, block, resolved=True)
    return ParsedTarget(scheme, canonical, port, addresses)


# Tabs and newlines are silently dropped by urlsplit; other parsers keep them. A URL that
# different parsers read differently is refused rather than guessed at.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f]")


def check_url(
    url: str,
    *,
    allow_ssrf: bool | None = None,
    allowlist: Sequence[str] | None = None,
) -> ParsedTarget:
    """Check that an outbound request to ``url`` is allowed; return where it points.

    Raises ``PolicyViolation`` with code ``url_not_allowed`` when the URL is not an
    ``http``/``https`` URL with a valid host, and ``ssrf_blocked`` when the host is, or
    resolves to, an address that is not public (loopback, private, link-local, shared,
    metadata, multicast, reserved…; see docs/reference/policy.md). Raises
    ``HostResolutionError`` when the name cannot be resolved.

    ``allow_ssrf`` and ``allowlist`` default to ``POLICY.allow_ssrf`` and
    ``POLICY.http_allowlist``. A host matching an allowlist pattern is allowed whatever
    it resolves to; ``allow_ssrf`` turns the address checks off (schemes still apply).

    >>> check_url("https://hooks.slack.com/services/T0/B0/x").host
    'hooks.slack.com'
    """
    if not isinstance(url, str):
        raise _not_allowed(f"A URL must be a string, not {type(url).__name__}.")
    if _UNSAFE_CHARACTERS.search(url):
        raise _not_allowed("The URL contains whitespace or control characters.")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _not_allowed("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _not_allowed(
            f"Only http and https URLs are allowed, not {scheme or 'a URL without a scheme'!r}."
        )
    netloc = parts.netloc
    if "\\" in netloc:
        raise _not_allowed("The URL's host part contains a backslash.")
    host_port = netloc.rpartition("@")[2]
    host, port = _split_host_port(host_port)
    return check_host(host, scheme=scheme, port=port, allow_ssrf=allow_ssrf, allowlist=allowlist)


def _split_host_port(host_port: str) -> tuple[str, int | None]:
    if not host_port:
        raise _not_allowed("The URL has no host.")
    if host_port.startswith("["):
        end = host_port.find("]")
        if end == -1:
            raise _not_allowed("The URL's IPv6 host has no closing bracket.")
        host, rest = host_port[: end + 1], host_port[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _not_allowed("The URL's host is not valid.")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = host_port.partition(":")
        if ":" in port_text:
            raise _not_allowed("The URL's host is not valid (IPv6 addresses need brackets).")
    if not host or host == "[]":
        raise _not_allowed("The URL has no host.")
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit():
        raise _not_allowed(f"{port_text!r} is not a valid port.", host)
    return host, int(port_text)
