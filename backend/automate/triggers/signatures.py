"""Webhook signature schemes (pure: no Django). Every comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping

SCHEMES = ("stripe", "github", "slack", "generic")
DEFAULT_TOLERANCE_SECONDS = 300
"""How far a signed timestamp (Stripe, Slack, generic) may be from the receiver's clock."""
GENERIC_SIGNATURE_HEADER = "X-Signature"
GENERIC_DELIVERY_ID_HEADER = "X-Delivery-Id"


class UnknownSchemeError(ValueError):
    """A signature scheme this module does not know."""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison of two hex digests; anything not hex simply fails.

    Headers arrive as latin-1 text and may hold anything: compare bytes, never ``str``
    (``compare_digest`` refuses non-ASCII text), and never parse what is not a digest.
    """
    given = given.strip().lower()
    if not _HEX_SHA256.fullmatch(given):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def _timestamped(header: str) -> tuple[str | None, list[str]]:
    """``t=<unix>,v1=<hex>[,v1=<hex>…]``: the timestamp (if well formed) and the v1 values."""
    timestamp: str | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp) or not candidates:
        return None, []
    return timestamp, candidates


def _stripe(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: float
) -> bool:
    header = _header(headers, "Stripe-Signature")
    if not header:
        return False
    timestamp, candidates = _timestamped(header)
    if timestamp is None or abs(now - int(timestamp)) > tolerance:
        return False
    expected = _hex_hmac(secret, timestamp.encode() + b"." + body)
    # Stripe sends several v1 signatures while a secret is being rolled: any may match.
    return any(_same(expected, candidate) for candidate in candidates[:8])


def _github(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    header = _header(headers, "X-Hub-Signature-256")
    if not header or not header.startswith("sha256="):
        return False
    return _same(_hex_hmac(secret, body), header[len("sha256=") :])


def slack_signing_string(timestamp: int | str, body: bytes) -> bytes:
    """The bytes Slack signs: ``"v0:<timestamp>:<raw body>"``."""
    return f"v0:{timestamp}:".encode() + body


def _slack(
    secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: float
) -> bool:
    signature = _header(headers, "X-Slack-Signature")
    timestamp = _header(headers, "X-Slack-Request-Timestamp")
    if not signature or not timestamp or not signature.startswith("v0="):
        return False
    timestamp = timestamp.strip()
    if not _TIMESTAMP.fullmatch(timestamp) or abs(now - int(timestamp)) > tolerance:
        return False  # outside the tolerance: an old delivery replayed
    return _same(_hex_hmac(secret, slack_signing_string(timestamp, body)), signature[3:])


def _generic(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    header_name: str,
    delivery_id_header: str,
    now: float,
    tolerance: float,
) -> bool:
    header = _header(headers, header_name)
    delivery_id = _header(headers, delivery_id_header)
    if not header or not delivery_id:
        return False
    timestamp, candidates = _timestamped(header)
    if timestamp is None or abs(now - int(timestamp)) > tolerance:
        return False
    expected = _hex_hmac(secret, generic_signing_string(timestamp, delivery_id, body))
    return any(_same(expected, candidate) for candidate in candidates[:8])


def generic_signing_string(timestamp: int | str, delivery_id: str, body: bytes) -> bytes:
    """The bytes a generic-scheme sender signs: ``"<t>.<delivery id>.<raw body>"``.

    The delivery id header is latin-1 on the wire, like every HTTP header.
    """
    return f"{timestamp}.".encode() + delivery_id.encode("latin-1", "replace") + b"." + body


def verify_signature(
    scheme: str,
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_SECONDS,
    header_name: str = GENERIC_SIGNATURE_HEADER,
    delivery_id_header: str = GENERIC_DELIVERY_ID_HEADER,
) -> bool:
    """Whether ``body`` was signed with ``secret`` under ``scheme``.

    - ``stripe``: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, the
      timestamp within ``tolerance_s`` of ``now``; any of several ``v1`` values may match.
    - ``github``: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>``.
    - ``slack``: ``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<t>:<body>">`` with
      ``X-Slack-Request-Timestamp: <t>``, the timestamp within ``tolerance_s`` of ``now``.
    - ``generic``: ``<header_name>: t=<unix>,v1=<hex HMAC-SHA256 of
      "<t>.<delivery id>.<body>">`` where the delivery id is the value of the
      ``delivery_id_header`` header (required); the timestamp within ``tolerance_s`` of
      ``now``; any of several ``v1`` values may match (secret rotation).

    Raises ``UnknownSchemeError`` for any other scheme. An empty secret never verifies.
    Every comparison is constant-time.
    """
    if scheme not in SCHEMES:
        raise UnknownSchemeError(f"Unknown signature scheme {scheme!r}; use one of {SCHEMES}.")
    if not secret:
        return False
    current = time.time() if now is None else now
    if scheme == "stripe":
        return _stripe(secret, headers, body, current, tolerance_s)
    if scheme == "github":
        return _github(secret, headers, body)
    if scheme == "slack":
        return _slack(secret, headers, body, current, tolerance_s)
    return _generic(secret, headers, body, header_name, delivery_id_header, current, tolerance_s)


def stripe_signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """A valid ``Stripe-Signature`` value (for tests and for replaying to yourself)."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_hex_hmac(secret, str(t).encode() + b'.' + body)}"


def github_signature_header(secret: str, body: bytes) -> str:
    """A valid ``X-Hub-Signature-256`` value."""
    return "sha256=" + _hex_hmac(secret, body)


def slack_signature_headers(
    secret: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """Valid ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(t),
        "X-Slack-Signature": "v0=" + _hex_hmac(secret, slack_signing_string(t, body)),
    }


def generic_signature_header(
    secret: str, body: bytes, delivery_id: str, *, timestamp: int | None = None
) -> str:
    """A valid generic-scheme signature value, ``t=<unix>,v1=<hex>``, for ``delivery_id``.

    Send it in the endpoint's signature header (``X-Signature`` by default) together
    with ``delivery_id`` in its delivery id header (``X-Delivery-Id`` by default).
    """
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={_hex_hmac(secret, generic_signing_string(t, delivery_id, body))}"
