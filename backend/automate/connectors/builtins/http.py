"""The ``http`` connector: one HTTP request to any URL the outbound policy allows.

Requests go through ``automate.governance.http.safe_request``: the URL and every redirect
are checked against ``POLICY`` (no loopback, private or metadata addresses unless
allow-listed), the connection goes to the checked address, the body is capped at 10 MB.
The helpers here (``step_timeout``, ``response_output``…) are shared by the ``webhook``
and ``slack`` connectors.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import httpx

from automate.governance.http import safe_request
from automate.governance.redaction import register_secret_value

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError, ConnectorInputError

__all__ = [
    "AUTH_TYPES",
    "DEFAULT_TIMEOUT_SECONDS",
    "METHODS",
    "TEXT_LIMIT_BYTES",
    "HttpConnector",
    "authorization_header",
    "merge_headers",
    "parse_json_body",
    "response_output",
    "step_timeout",
    "truncate_text",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
# Methods that change something remotely: they carry the step's Idempotency-Key.
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})
DEFAULT_TIMEOUT_SECONDS = 30.0
TEXT_LIMIT_BYTES = 64 * 1024
"""``text`` in the output is cut to this many bytes of UTF-8 (the step output is stored)."""

_HEADER_VALUE: dict[str, Any] = {
    "anyOf": [{"type": "string", "pattern": "^[^\\r\\n]*$"}, {"type": "number"}]
}
_QUERY_SCALAR: dict[str, Any] = {"type": ["string", "number", "boolean"]}
AUTH_TYPES = ("basic", "bearer")
_AUTH: dict[str, Any] = {
    "type": "object",
    "description": (
        "Credentials the connector turns into the Authorization header itself: "
        '{"type": "basic", "username": "…", "password": {"$secret": "NAME"}} or '
        '{"type": "bearer", "token": {"$secret": "NAME"}}.'
    ),
    "properties": {
        "type": {"type": "string", "enum": list(AUTH_TYPES), "required": True},
        "username": {
            "type": "string",
            "pattern": "^[^:\\r\\n]*$",
            "description": "Basic auth user name (no colon).",
        },
        "password": {
            "type": "string",
            "format": "secret",
            "minLength": 1,
            "description": "Basic auth password: a secret reference.",
        },
        "token": {
            "type": "string",
            "format": "secret",
            "minLength": 1,
            "pattern": "^[^\\r\\n]*$",
            "description": "Bearer token: a secret reference.",
        },
    },
    "additionalProperties": False,
}


def authorization_header(auth: Mapping[str, Any]) -> str:
    """The ``Authorization`` value for an ``auth`` input (validated by the input schema).

    The connector derives it from the secret itself, so a template never has to encode a
    secret; the derived credential is registered with the masker like the secret is.
    Raises ``ConnectorInputError`` when the fields the type needs are missing.
    """
    kind = auth.get("type")
    needed = ("username", "password") if kind == "basic" else ("token",)
    missing = [name for name in needed if not isinstance(auth.get(name), str)]
    if missing:
        raise ConnectorInputError(
            f"Invalid inputs for http.request: {kind} auth needs {' and '.join(needed)}.",
            errors=[{"path": f"inputs.auth.{name}", "message": "is required"} for name in missing],
        )
    if kind == "basic":
        pair = f"{auth['username']}:{auth['password']}".encode()
        credential = base64.b64encode(pair).decode("ascii")
        register_secret_value(credential)
        return f"Basic {credential}"
    return f"Bearer {auth['token']}"


def step_timeout(context: ExecutionContext, requested: float | None = None) -> float:
    """Seconds an outbound call may take: ``requested`` (default 30), capped by the deadline.

    Raises a retryable ``ConnectorError`` (``step_deadline_exceeded``) when the step's
    ``context.deadline`` has already passed.
    """
    remaining = context.remaining_seconds()
    if remaining <= 0:
        raise ConnectorError(
            "The step's deadline passed before the request could be sent.",
            retryable=True,
            code="step_deadline_exceeded",
        )
    return min(requested if requested is not None else DEFAULT_TIMEOUT_SECONDS, remaining)


def merge_headers(user: Mapping[str, Any] | None, ours: Mapping[str, str]) -> dict[str, str]:
    """``user`` headers (values as strings) with ``ours`` on top; names compared without case."""
    reserved = {name.lower() for name in ours}
    merged = {
        name: str(value) for name, value in (user or {}).items() if name.lower() not in reserved
    }
    merged.update(ours)
    return merged


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    return any(key.lower() == name.lower() for key in headers)


def truncate_text(text: str, limit_bytes: int = TEXT_LIMIT_BYTES) -> str:
    """``text`` cut to at most ``limit_bytes`` bytes of UTF-8, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit_bytes:
        return text
    return encoded[:limit_bytes].decode("utf-8", errors="ignore")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json_body(response: httpx.Response) -> Any:
    """The body parsed as JSON when it is JSON (by content type or shape), else ``None``.

    ``NaN`` and ``Infinity`` are not JSON (and cannot be stored), so a body using them
    counts as not JSON.
    """
    content = response.content
    if not content:
        return None
    content_type = response.headers.get("Content-Type", "").lower()
    looks_like_json = content.lstrip()[:1] in (b"{", b"[")
    if "json" not in content_type and not looks_like_json:
        return None
    try:
        return json.loads(content, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError):
        return None


def response_output(response: httpx.Response) -> dict[str, Any]:
    """``{"status", "headers", "json", "text"}`` for a step output (text cut to 64 KB)."""
    return {
        "status": response.status_code,
        "headers": dict(response.headers.items()),
        "json": parse_json_body(response),
        "text": truncate_text(response.text),
    }


class HttpConnector(ConnectorAdapter):
    """``http.request``: call any HTTP API the outbound policy allows.

    Sends ``json`` (serialised, ``Content-Type: application/json``) or ``body`` (a
    string) with ``headers`` and ``query``; ``auth`` (basic or bearer, from secret
    references) becomes the ``Authorization`` header; unsafe methods carry the step's
    ``Idempotency-Key`` and every request a ``traceparent``. HTTP 4xx fails the step
    (``http_client_error``, status in ``details``); 429 and 5xx are retried.
    """

    code = "http"
    name = "HTTP request"
    description = "Call any HTTP API: GET, POST, PUT, PATCH, DELETE or HEAD with JSON or text."
    icon = "globe"
    actions = {
        "request": ActionSpec(
            label="Send an HTTP request",
            description=(
                "Send a request and return the status, headers and body. Internal "
                "addresses are refused unless allow-listed in POLICY.http_allowlist, and "
                "hosts off POLICY.egress_allowlist always are."
            ),
            inputs={
                "method": {
                    "type": "string",
                    "enum": list(METHODS),
                    "default": "GET",
                    "description": "HTTP method.",
                },
                "url": {
                    "type": "string",
                    "minLength": 1,
                    "required": True,
                    "description": "An http:// or https:// URL.",
                },
                "headers": {
                    "type": "object",
                    "additionalProperties": _HEADER_VALUE,
                    "description": "Request headers.",
                },
                "query": {
                    "type": "object",
                    "additionalProperties": {
                        "anyOf": [_QUERY_SCALAR, {"type": "array", "items": _QUERY_SCALAR}]
                    },
                    "description": "Query-string parameters (a list repeats the name).",
                },
                "json": {"description": "A JSON body (any JSON value)."},
                "body": {"type": "string", "description": "A text body (instead of json)."},
                "timeout_seconds": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": "Give up after this many seconds (default 30).",
                },
                "auth": _AUTH,
            },
            outputs={
                "status": {"type": "integer"},
                "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                "json": {"description": "The parsed JSON body, or null."},
                "text": {"type": "string", "description": "The body as text (first 64 KB)."},
            },
            idempotent=False,
        )
    }

    def has_side_effects(self, action: str, params: Mapping[str, Any]) -> bool:
        """``GET`` and ``HEAD`` (the default method is ``GET``) read; every other method,
        or a method that is still a template, may act on the remote side."""
        method = params.get("method", "GET")
        return not (isinstance(method, str) and method.upper() in _SAFE_METHODS)

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Send the request described by ``params``; return the response as JSON."""
        if "json" in params and "body" in params:
            raise ConnectorInputError(
                "Invalid inputs for http.request: give json or body, not both.",
                errors=[{"path": "inputs.body", "message": "cannot be combined with json"}],
            )
        method: str = params["method"]
        ours: dict[str, str] = {}
        if params.get("auth") is not None:
            if _has_header(params.get("headers") or {}, "Authorization"):
                raise ConnectorInputError(
                    "Invalid inputs for http.request: give auth or an Authorization "
                    "header, not both.",
                    errors=[{"path": "inputs.auth", "message": "cannot be combined with headers"}],
                )
            ours["Authorization"] = authorization_header(params["auth"])
        headers = merge_headers(params.get("headers"), ours)
        content: bytes | None = None
        if "json" in params:
            content = json.dumps(params["json"], separators=(",", ":")).encode("utf-8")
            if not _has_header(headers, "Content-Type"):
                headers["Content-Type"] = "application/json"
        elif "body" in params:
            content = params["body"].encode("utf-8")
        if method in _UNSAFE_METHODS and not _has_header(headers, "Idempotency-Key"):
            headers["Idempotency-Key"] = context.idempotency_key
        if not _has_header(headers, "traceparent"):
            headers["traceparent"] = context.traceparent()
        response = safe_request(
            method,
            params["url"],
            headers=headers,
            params=params.get("query"),
            content=content,
            timeout=step_timeout(context, params.get("timeout_seconds")),
        )
        return response_output(response)
