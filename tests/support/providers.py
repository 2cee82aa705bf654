"""Providers a host project might write, for the provider registry's tests.

``GatewayProvider`` is the docs' "internal gateway": it speaks OpenAI's chat-completions
protocol through the context's SSRF-safe client with its own token (a secret it resolves
for the tenant), returns the JSON as a dict and has its own exception, which its
``normalize_error`` maps; its messages deliberately echo the token, as careless gateways
do, so the tests can prove the engine masks it.
"""

from __future__ import annotations

from typing import Any

from automate.connectors import ConnectorError
from automate.providers import BaseProvider, LLMProvider, OpenAIProvider


class GatewayRefused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class GatewayProvider(LLMProvider):
    key = "gateway"
    display_name = "Internal LLM gateway"

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["url", "token_secret"],
            "properties": {
                "url": {"type": "string", "pattern": "^https?://"},
                "token_secret": {"type": "string", "minLength": 1},
            },
            "additionalProperties": False,
        }

    def chat_completion(self, request, *, api_key, timeout):
        token = self.ctx.resolve_secret(self.config["token_secret"])
        with self.ctx.http_client(timeout=timeout) as http:
            response = http.post(
                self.config["url"].rstrip("/") + "/chat/completions",
                json=request,
                headers={"X-Gateway-Token": token, "X-Gateway-Tenant": self.ctx.tenant},
            )
        if response.status_code >= 400:
            raise GatewayRefused(
                f"gateway refused token {token} (HTTP {response.status_code})",
                response.status_code,
            )
        return response.json()

    def normalize_error(self, exc):
        if isinstance(exc, GatewayRefused):
            return ConnectorError(
                str(exc),
                retryable=exc.status >= 500,
                code="gateway_refused",
                details={"status": exc.status, "said": str(exc)},
            )
        return super().normalize_error(exc)


class ShoutingOpenAIProvider(OpenAIProvider):
    """An OpenAI-compatible gateway that needs one extra header, by subclassing."""

    key = "shouting"
    display_name = "Shouting gateway"

    def client_options(self, *, api_key, timeout):
        options = super().client_options(api_key=api_key, timeout=timeout)
        options["default_headers"] = {**(options["default_headers"] or {}), "X-Shout": "yes"}
        return options


class NotAProvider:
    key = "nope"


class SecondOpenAI(OpenAIProvider):
    display_name = "Another OpenAI"  # key "openai": a duplicate


class NotAnLLM(BaseProvider):
    key = "vectors"
    display_name = "A vector store"
