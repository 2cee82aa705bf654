"""The ``llm`` connector: a chat completion from any OpenAI-compatible API, within budget.

The model is reached through a provider (``automate.providers``) chosen by the step's
``provider`` input: ``"openai"`` (the default) is the built-in OpenAI-compatible provider,
at ``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["llm"]["base_url"]`` (OpenAI by default; vLLM,
Ollama, LiteLLM or Azure-style gateways speak the same protocol); a host project can
register its own. Whatever the provider, every call is checked against the tenant's
daily budget *before* anything is sent (``automate.governance.budget``), its real cost,
from the tokens the provider reports, is recorded after, and its errors pass through the
provider's ``normalize_error`` and the redaction masker. The built-in provider's
requests go through the SSRF-safe client of ``automate.governance.http``, like every
outbound call; a provider gets the same client from its ``ProviderContext``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError

from automate import conf
from automate.exceptions import AutomateError
from automate.governance import budget
from automate.providers.base import (
    LLMProvider,
    ProviderConfigError,
    ProviderContext,
    UnknownProviderError,
)
from automate.providers.chat import DEFAULT_PROVIDER, complete, llm_provider
from automate.providers.openai_compatible import DEFAULT_BASE_URL

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError, ConnectorInputError

if TYPE_CHECKING:
    # The SDK takes about a second to import: only a process that calls a model pays it.
    from openai.types.chat import ChatCompletion

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_TOKENS",
    "LLMConnector",
    "base_url",
    "estimate_cost",
]

logger = logging.getLogger("automate.connectors.llm")

DEFAULT_MAX_TOKENS = 1024
CHARS_PER_TOKEN = 4
"""The budget estimate counts one prompt token per this many characters."""

_ROLES = ["system", "developer", "user", "assistant"]


def _configured_base_url() -> str:
    options = conf.get("CONNECTOR_OPTIONS").get("llm", {})
    url = options.get("base_url") if isinstance(options, Mapping) else None
    return url if isinstance(url, str) and url else ""


def base_url() -> str:
    """``CONNECTOR_OPTIONS["llm"]["base_url"]``, else ``DEFAULT_BASE_URL``."""
    return _configured_base_url() or DEFAULT_BASE_URL


def _text_length(content: object) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):  # content parts: [{"type": "text", "text": "…"}, …]
        return sum(
            _text_length(part.get("text", "")) if isinstance(part, Mapping) else 0
            for part in content
        )
    return 0


def estimate_cost(model: str, messages: list[dict[str, Any]], max_tokens: int) -> Decimal:
    """The most a call may cost: prompt ≈ characters / 4 tokens, plus ``max_tokens`` out."""
    characters = sum(_text_length(message.get("content")) for message in messages)
    prompt_tokens = math.ceil(characters / CHARS_PER_TOKEN)
    return budget.cost_of(model, prompt_tokens, max_tokens)


def _messages(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if params.get("system"):
        messages.append({"role": "system", "content": params["system"]})
    messages.extend(dict(message) for message in params.get("messages", []))
    if "prompt" in params:
        messages.append({"role": "user", "content": params["prompt"]})
    if not any(message["role"] != "system" for message in messages):
        problem = {"path": "inputs.messages", "message": "give messages or a prompt"}
        raise ConnectorInputError(
            f"Invalid inputs for llm.chat: {problem['path']}: {problem['message']}",
            errors=[problem],
        )
    return messages


def _no_answer() -> ConnectorError:
    return ConnectorError(
        "The LLM provider's answer has no choices: is base_url an OpenAI-compatible API?",
        code="llm_bad_response",
    )


class LLMConnector(ConnectorAdapter):
    """``llm.chat``: one chat completion, refused up front if it could break the budget.

    Output: ``{"content", "model", "finish_reason", "usage": {"prompt_tokens",
    "completion_tokens", "total_tokens"}, "cost_usd"}`` (``cost_usd`` a decimal string).
    Failures: ``budget_exceeded`` (nothing was sent; not retryable); as for any outbound
    call, ``http_rate_limited`` (429), ``http_server_error`` (5xx), ``http_timeout`` and
    ``http_connect_failed`` are retryable, ``http_client_error`` (other 4xx: a bad key,
    an unknown model) and ``ssrf_blocked`` are not; ``llm_bad_response`` when the answer
    is not a chat completion.
    """

    code = "llm"
    name = "LLM"
    description = "Ask a language model (any OpenAI-compatible chat API), within the budget."
    icon = "bot"
    actions = {
        "chat": ActionSpec(
            label="Chat completion",
            description="Send messages (or one prompt) to a chat model and return its answer.",
            inputs={
                "api_key": {
                    "type": "string",
                    "format": "secret",
                    "required": True,
                    "minLength": 1,
                    "description": "The provider's API key.",
                },
                "provider": {
                    "type": "string",
                    "minLength": 1,
                    "description": 'The model provider\'s key: "openai" (the default, any '
                    "OpenAI-compatible API) or one registered in AUTOMATE_PROVIDERS.",
                },
                "model": {
                    "type": "string",
                    "required": True,
                    "minLength": 1,
                    "description": 'Model name, such as "gpt-4o-mini".',
                },
                "messages": {
                    "type": "array",
                    "description": "The conversation: [{role, content}, …].",
                    "items": {
                        "type": "object",
                        "properties": {
                            "role": {"type": "string", "enum": _ROLES},
                            "content": {"type": ["string", "array"]},
                            "name": {"type": "string"},
                        },
                        "required": ["role", "content"],
                    },
                },
                "prompt": {
                    "type": "string",
                    "description": "One user message (sent after messages, if both).",
                },
                "system": {"type": "string", "description": "A system message sent first."},
                "temperature": {"type": "number", "minimum": 0, "maximum": 2},
                "max_tokens": {
                    "type": "integer",
                    "minimum": 1,
                    "default": DEFAULT_MAX_TOKENS,
                    "description": "Longest answer, in tokens (also bounds the cost).",
                },
            },
            outputs={
                "content": {"type": "string"},
                "model": {"type": "string"},
                "finish_reason": {"type": ["string", "null"]},
                "usage": {"type": "object"},
                "cost_usd": {"type": "string"},
            },
        )
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Reserve the estimate, call the provider, record what the call really cost."""
        model: str = params["model"]
        messages = _messages(params)
        max_tokens: int = params["max_tokens"]
        provider = self._provider(params, context)  # an unknown key reserves nothing
        timeout = context.remaining_seconds()
        if timeout <= 0:
            raise ConnectorError(
                "The step ran out of time before the LLM call.", retryable=True, code="step_timeout"
            )
        try:
            reservation = budget.reserve(context.tenant, estimate_cost(model, messages, max_tokens))
        except budget.BudgetExceededError as exc:
            raise ConnectorError(
                exc.message,
                code=exc.code,
                details={**exc.details, "connector": self.code, "action": action},
            ) from exc
        try:
            completion = self._complete(provider, params, messages, timeout)
            if not completion.choices and completion.usage is None:
                raise _no_answer()
            usage = self._record(reservation, provider, model, messages, completion, context)
        finally:
            # The call failed (or never left): its estimate no longer counts.
            if not reservation.settled:
                budget.release(reservation)
        if not completion.choices:
            raise _no_answer()  # after recording the tokens the provider says it used
        choice = completion.choices[0]
        return {
            "content": choice.message.content or "",
            "model": completion.model or model,
            "finish_reason": choice.finish_reason,
            **usage,
        }

    @staticmethod
    def _provider(params: Mapping[str, Any], context: ExecutionContext) -> LLMProvider:
        key = params.get("provider") or DEFAULT_PROVIDER
        ctx = ProviderContext(
            tenant=context.tenant,
            run_id=context.run_id,
            step_id=context.node_id,
            trace_id=context.trace_id,
            traceparent=context.traceparent(),
        )
        url = _configured_base_url()
        try:
            return llm_provider(key, ctx=ctx, overrides={"base_url": url} if url else None)
        except UnknownProviderError as exc:
            problem = {"path": "inputs.provider", "message": exc.message}
            raise ConnectorInputError(
                f"Invalid inputs for llm.chat: inputs.provider: {exc.message}", errors=[problem]
            ) from None
        except ProviderConfigError as exc:
            raise ConnectorError(
                exc.message, code=exc.code, details={**exc.details, "connector": "llm"}
            ) from None

    @staticmethod
    def _complete(
        provider: LLMProvider,
        params: Mapping[str, Any],
        messages: list[dict[str, Any]],
        timeout: float,
    ) -> ChatCompletion:
        request: dict[str, Any] = {
            "model": params["model"],
            "messages": messages,
            "max_tokens": params["max_tokens"],
        }
        if params.get("temperature") is not None:
            request["temperature"] = params["temperature"]
        try:
            return complete(provider, request, api_key=params["api_key"], timeout=timeout)
        except ConnectorError as error:
            error.details = {**error.details, "connector": "llm", "action": "chat"}
            raise
        except AutomateError:
            raise  # a PolicyViolation: the URL was refused, nothing was sent

    @staticmethod
    def _record(
        reservation: budget.Reservation,
        provider: LLMProvider,
        model: str,
        messages: list[dict[str, Any]],
        completion: ChatCompletion,
        context: ExecutionContext,
    ) -> dict[str, Any]:
        if completion.usage is not None:
            # "or 0": lenient parsing leaves a field the server left out as None.
            prompt_tokens = int(completion.usage.prompt_tokens or 0)
            completion_tokens = int(completion.usage.completion_tokens or 0)
        else:
            # Some compatible servers report no usage: count characters as the estimate
            # does, so the call is not free.
            content = completion.choices[0].message.content if completion.choices else ""
            prompt_tokens = math.ceil(
                sum(_text_length(m.get("content")) for m in messages) / CHARS_PER_TOKEN
            )
            completion_tokens = math.ceil(len(content or "") / CHARS_PER_TOKEN)
        cost = budget.cost_of(model, prompt_tokens, completion_tokens)
        try:
            budget.record(
                reservation,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost,
                run_id=context.run_id,
                node_id=context.node_id,
                trace_id=context.trace_id,
                provider=provider.key,
            )
        except DatabaseError:
            # The answer is paid for: return it. The estimate stays counted, which errs
            # on the side of spending less.
            logger.exception(
                "Could not record LLM usage; the reserved estimate stays counted.",
                extra={"trace_id": context.trace_id, "run_id": context.run_id},
            )
        return {
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "cost_usd": str(cost),
        }
