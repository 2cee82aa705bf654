"""The built-in ``openai`` provider: any OpenAI-compatible chat API through the ``openai`` SDK.

Config (``DJANGO_AUTOMATE["PROVIDER_OPTIONS"]["openai"]``, overlaid by the caller's own
setting: ``CONNECTOR_OPTIONS["llm"]["base_url"]`` for the ``llm`` connector,
``COPILOT.base_url`` for the copilot):

* ``base_url``: the API root (default ``https://api.openai.com/v1``; vLLM, Ollama,
  LiteLLM, llama.cpp server or an Azure-style gateway speak the same protocol);
* ``default_headers``: extra headers sent with every call (``{"name": "value"}``).

Calls go through the context's SSRF-safe client with the SDK's own retries off (the
engine retries with backoff and the step's deadline).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from automate.exceptions import AutomateError
from automate.governance.http import parse_retry_after, transport_error
from automate.governance.policy import PolicyViolation
from automate.governance.redaction import MASK, redact_text

from .base import LLMProvider

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

__all__ = ["DEFAULT_BASE_URL", "OpenAIProvider"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    # OpenAI also sends the wait in milliseconds; it is more precise than Retry-After.
    milliseconds = headers.get("retry-after-ms", "")
    try:
        return max(0.0, float(milliseconds) / 1000)
    except ValueError:
        return parse_retry_after(headers.get("retry-after"))


class OpenAIProvider(LLMProvider):
    """Chat completions from any OpenAI-compatible API (see the module docstring).

    Subclass it for a gateway that speaks the same protocol with its own URL, headers or
    key handling: override ``config_schema``, ``client_options`` or ``chat_completion``.
    """

    key = "openai"
    display_name = "OpenAI-compatible API"

    _api_key = ""

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """``{"base_url": http(s) URL, "default_headers": {name: value}}``, both optional."""
        return {
            "type": "object",
            "properties": {
                "base_url": {"type": "string", "pattern": "^https?://[^/]+"},
                "default_headers": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                },
            },
            "additionalProperties": False,
        }

    @property
    def base_url(self) -> str:
        """The configured API root, else ``DEFAULT_BASE_URL``."""
        return str(self.config.get("base_url") or DEFAULT_BASE_URL)

    def client_options(self, *, api_key: str, timeout: float) -> dict[str, Any]:
        """Keyword arguments for ``openai.OpenAI`` (without ``http_client``)."""
        headers = dict(self.config.get("default_headers") or {})
        if self.ctx.traceparent:
            headers["traceparent"] = self.ctx.traceparent
        return {
            "api_key": api_key,
            "base_url": self.base_url,
            "timeout": timeout,
            "max_retries": 0,
            "default_headers": headers or None,
        }

    def chat_completion(
        self, request: dict[str, Any], *, api_key: str, timeout: float
    ) -> ChatCompletion:
        """``POST <base_url>/chat/completions``; the SDK's exceptions propagate."""
        import openai

        self._api_key = api_key
        with (
            self.ctx.http_client(timeout=timeout) as http_client,
            openai.OpenAI(
                **self.client_options(api_key=api_key, timeout=timeout),
                http_client=http_client,  # type: ignore[arg-type]
            ) as client,
        ):
            return client.chat.completions.create(**request)  # type: ignore[no-any-return]

    def normalize_error(self, exc: Exception) -> AutomateError:
        """SDK errors as every outbound call's: ``http_rate_limited`` (429, with
        ``retry_after``), ``http_server_error`` (5xx), ``http_timeout`` (408, timeouts)
        and connection failures are retryable; ``http_client_error`` (other 4xx),
        ``ssrf_blocked`` and ``llm_bad_response`` (not a chat completion) are not."""
        import openai

        from automate.connectors.exceptions import ConnectorError

        if not isinstance(exc, openai.OpenAIError):
            return super().normalize_error(exc)
        api_key = self._api_key

        def clean(text: str) -> str:
            # Providers echo a wrong key back ("Incorrect API key provided: sk-…").
            return redact_text(text).replace(api_key, MASK) if api_key else redact_text(text)

        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            message = f"The LLM provider answered HTTP {status}: {clean(exc.message)}"
            if status == 429:
                code, retryable = "http_rate_limited", True
            elif status >= 500:
                code, retryable = "http_server_error", True
            elif status == 408:
                code, retryable = "http_timeout", True
            else:
                code, retryable = "http_client_error", False
            return ConnectorError(
                message,
                retryable=retryable,
                code=code,
                details={"status": status},
                retry_after=_retry_after(exc.response.headers) if retryable else None,
            )
        if isinstance(exc, openai.APIConnectionError):  # APITimeoutError included
            cause = exc.__cause__
            if isinstance(cause, PolicyViolation):
                # Refused by the outbound policy (SSRF, egress allowlist): retrying cannot help.
                return cause
            if isinstance(cause, httpx.HTTPError):
                return transport_error(cause, method="POST", url=str(exc.request.url))
            timed_out = isinstance(exc, openai.APITimeoutError)
            return ConnectorError(
                "The LLM provider did not answer in time."
                if timed_out
                else f"The LLM provider could not be reached: {clean(str(exc))}",
                retryable=True,
                code="http_timeout" if timed_out else "http_connection_error",
            )
        # The answer was not a chat completion (a misconfigured base_url, say).
        return ConnectorError(
            f"The LLM provider's answer could not be used: {clean(str(exc))}",
            code="llm_bad_response",
        )
