"""The copilot's model errors in plain words: what the OpenAI SDK raised, mapped to
``CopilotUnavailableError`` with ``details["reason"]``; never holding the API key."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from automate.copilot.exceptions import CopilotUnavailableError
from automate.copilot.settings import CopilotSettings
from automate.governance.http import parse_retry_after
from automate.governance.policy import PolicyViolation
from automate.governance.redaction import MASK, redact_text

if TYPE_CHECKING:
    import openai


def origin_of(url: str) -> str:
    """``scheme://host:port`` of ``url``: what messages name (never a path or credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def refused_url(error: PolicyViolation, settings: CopilotSettings) -> CopilotUnavailableError:
    """The base URL was refused by the outbound policy (SSRF rules, egress allowlist)."""
    return CopilotUnavailableError(
        f"The copilot may not call {origin_of(settings.base_url)}: {redact_text(error.message)}",
        details={"reason": "url_refused", "code": error.code},
    )


def unavailable_error(
    exc: openai.OpenAIError, *, api_key: str, settings: CopilotSettings
) -> CopilotUnavailableError:
    """The plain-words error for what the SDK raised; never holds ``api_key``.

    ``details["reason"]`` is ``rate_limited`` (with ``retry_after`` in seconds),
    ``server_error``, ``bad_key``, ``client_error`` (with ``status``), ``timeout``,
    ``url_refused``, ``unreachable`` or ``bad_response``.
    """
    import openai

    def clean(text: str) -> str:
        text = redact_text(text)
        return text.replace(api_key, MASK) if api_key else text

    origin = origin_of(settings.base_url)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        said = clean(exc.message)[:300]
        details: dict[str, Any] = {"status": status}
        if status == 429:
            headers = exc.response.headers
            wait = parse_retry_after(headers.get("retry-after"))
            details.update(reason="rate_limited", retry_after=math.ceil(wait) if wait else None)
            later = f"try again in {math.ceil(wait)} seconds" if wait else "try again later"
            return CopilotUnavailableError(
                f"The model's server is busy (HTTP 429, rate limited): {later}.", details=details
            )
        if status >= 500:
            details["reason"] = "server_error"
            return CopilotUnavailableError(
                f"The model's server failed (HTTP {status}): {said}", details=details
            )
        if status in (401, 403):
            details["reason"] = "bad_key"
            return CopilotUnavailableError(
                f"The model's server refused the API key (HTTP {status}): {said} Check the "
                "secret named by COPILOT.api_key_secret.",
                details=details,
            )
        details["reason"] = "client_error"
        return CopilotUnavailableError(
            f"The model's server refused the request (HTTP {status}): {said}", details=details
        )
    if isinstance(exc, openai.APITimeoutError):
        return CopilotUnavailableError(
            f"The model did not answer within {settings.timeout_seconds:g} seconds "
            "(COPILOT.timeout_seconds).",
            details={"reason": "timeout"},
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if isinstance(cause, PolicyViolation):
            return refused_url(cause, settings)
        reason = clean(str(cause or exc)) or "connection failed"
        return CopilotUnavailableError(
            f"The model's server at {origin} could not be reached ({reason}).",
            details={"reason": "unreachable"},
        )
    return CopilotUnavailableError(
        f"The model's server answered something that is not a chat completion: "
        f"{clean(str(exc))[:300]}",
        details={"reason": "bad_response"},
    )
