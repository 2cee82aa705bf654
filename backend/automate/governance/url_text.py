"""A URL as error messages show it: the path kept, the secrets in it masked.

An error that names only ``https://api.example.com`` does not say which endpoint failed
(``/v1/orders`` or ``/v1/refunds``), so messages keep the path and the query. What can
hold a secret is masked with ``MASK``: the user-info part, the value of every query
parameter whose name looks secret (``api_key``, ``token``, ``sig``…, the rule of
``is_sensitive_key``), and every resolved secret value or credential-shaped text
(``redact_text``: a Slack webhook path, a token pasted into the path). A URL that is
itself a stored secret is shown as its origin followed by ``MASK``.

Pure Python (no Django), like ``redaction``.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, unquote_plus, urlsplit

from automate.governance.redaction import MASK, is_sensitive_key, redact_text

__all__ = ["MAX_SHOWN_URL_CHARS", "origin_of", "shown_url"]

#: Longer URLs are cut (with "…"): a message names an endpoint, it does not store data.
MAX_SHOWN_URL_CHARS = 300

#: Query parameter names that carry signatures or keys without a "secret-looking" last
#: word (AWS and Azure pre-signed URLs, Google API keys).
_SIGNATURE_PARAMS = frozenset({"sig", "signature", "x-amz-signature", "x-amz-credential", "key"})


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url`` (no user-info), or ``""`` when it has no host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        return ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}"


def _secret_param(name: str) -> bool:
    return is_sensitive_key(name) or name.lower() in _SIGNATURE_PARAMS


def _spellings(raw: str) -> set[str]:
    # A client encodes a URL partly (httpx: a space becomes %20, but ":", "@", "!", "+"
    # stay), and a secret is registered in its raw and fully encoded forms only: so each
    # part is judged as sent and decoded both ways.
    return {raw, unquote(raw), unquote_plus(raw)}


def _holds_secret(raw: str) -> bool:
    return any(redact_text(form) != form for form in _spellings(raw))


def _shown_path(raw: str) -> str:
    if not _holds_secret(raw):
        return raw
    decoded = unquote(raw)
    masked = redact_text(decoded)
    # The decoded path with the secret replaced; if only another spelling held it (it
    # cannot be cut out of this one), the path as a whole.
    return masked if masked != decoded else f"/{MASK}"


def _shown_pair(pair: str) -> str:
    raw_name, _, raw_value = pair.partition("=")
    name = unquote_plus(raw_name)
    value = MASK if _secret_param(name) or _holds_secret(raw_value) else unquote_plus(raw_value)
    if value == MASK:
        return f"{quote(name, safe='')}={MASK}"
    return f"{quote(name, safe='')}={quote(value, safe='')}"


def shown_url(url: object) -> str:
    """``url`` (a ``str`` or an ``httpx.URL``) as an error message may show it."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return redact_text(text[:MAX_SHOWN_URL_CHARS])
    origin = origin_of(text)
    if not origin:
        return redact_text(text[:MAX_SHOWN_URL_CHARS])
    query = "&".join(_shown_pair(pair) for pair in parts.query.split("&") if pair)
    shown = origin + _shown_path(parts.path) + (f"?{query}" if query else "")
    if len(shown) > MAX_SHOWN_URL_CHARS:
        shown = shown[: MAX_SHOWN_URL_CHARS - 1] + "…"
    masked = redact_text(shown)
    if not masked.startswith(origin):
        # The origin itself was part of a secret (the whole URL is a stored secret).
        return f"{origin}/{MASK}"
    return masked
