"""The ``llm`` connector: a chat completion from any OpenAI-compatible API, within budget.

The provider is ``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]["llm"]["base_url"]`` (OpenAI by
default; vLLM, Ollama, LiteLLM or Azure-style gateways speak the same protocol). Every
call is checked against the tenant's daily budget *before* anything is sent
(``automate.governance.budget``), and its real cost, from the tokens the provider
reports, is recorded after. Requests go through the SSRF-safe client of
``automate.governance.http``, like every outbound call.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
from django.db import DatabaseError

from automate import conf
from automate.governance import budget
from automate.governance.http import build_client, parse_retry_after, transport_error
from automate.governance.policy import PolicyViolation
from automate.governance.redaction import MASK, redact_text

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext
from ..exceptions import ConnectorError, ConnectorInputError

if TYPE_CHECKING:
    # The SDK takes about a second to import: only a process that calls a model pays it.
    import openai
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

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_TOKENS = 1024
CHARS_PER_TOKEN = 4
"""The budget estimate counts one prompt token per this many characters."""

_ROLES = ["system", "developer", "user", "assistant"]


def base_url() -> str:
    """``CONNECTOR_OPTIONS["llm"]["base_url"]``, else ``DEFAULT_BASE_URL``."""
    options = conf.get("CONNECTOR_OPTIONS").get("llm", {})
    url = options.get("base_url") if isinstance(options, Mapping) else None
    return url if isinstance(url, str) and url else DEFAULT_BASE_URL


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


def _retry_after(headers: Mapping[str, str]) -> float | None:
    # OpenAI also sends the wait in milliseconds; it is more precise than Retry-After.
    milliseconds = headers.get("retry-after-ms", "")
    try:
        return max(0.0, float(milliseconds) / 1000)
    except ValueError:
        return parse_retry_after(headers.get("retry-after"))


def _provider_error(exc: openai.OpenAIError, api_key: str) -> ConnectorError | PolicyViolation:
    """The ``ConnectorError`` for what the SDK raised; ``retryable`` per its cause."""
    import openai

    def clean(text: str) -> str:
        # Providers echo a wrong key back ("Incorrect API key provided: sk-…").
        return redact_text(text).replace(api_key, MASK) if api_key else redact_text(text)

    details: dict[str, Any] = {"connector": "llm", "action": "chat"}
    if isinstance(exc, openai.APIStatusError):
        # The same codes as every other outbound HTTP call (automate.governance.http),
        # with the provider's own explanation in the message.
        status = exc.status_code
        details["status"] = status
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
            details=details,
            retry_after=_retry_after(exc.response.headers) if retryable else None,
        )
    if isinstance(exc, openai.APIConnectionError):  # APITimeoutError included
        cause = exc.__cause__
        if isinstance(cause, PolicyViolation):
            # Refused by the outbound policy (SSRF, egress allowlist): retrying cannot help.
            return cause
        if isinstance(cause, httpx.HTTPError):
            # Classified as every other outbound call is (http_timeout, http_connect_failed…).
            error = transport_error(cause, method="POST", url=str(exc.request.url))
            error.details = {**error.details, **details}
            return error
        timed_out = isinstance(exc, openai.APITimeoutError)
        return ConnectorError(
            "The LLM provider did not answer in time."
            if timed_out
            else f"The LLM provider could not be reached: {clean(str(exc))}",
            retryable=True,
            code="http_timeout" if timed_out else "http_connection_error",
            details=details,
        )
    # The answer was not a chat completion (a misconfigured base_url, say).
    return ConnectorError(
        f"The LLM provider's answer could not be used: {clean(str(exc))}",
        code="llm_bad_response",
        details=details,
    )


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
            completion = self._complete(params, messages, context, timeout)
            if not completion.choices and completion.usage is None:
                raise _no_answer()
            usage = self._record(reservation, model, messages, completion, context)
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
    def _complete(
        params: Mapping[str, Any],
        messages: list[dict[str, Any]],
        context: ExecutionContext,
        timeout: float,
    ) -> ChatCompletion:
        import openai

        temperature = params.get("temperature")
        with (
            build_client(timeout=timeout, trace_id=context.trace_id) as http_client,
            openai.OpenAI(
                api_key=params["api_key"],
                base_url=base_url(),
                timeout=timeout,
                # The engine retries with backoff and the step's deadline; the SDK must not.
                max_retries=0,
                default_headers={"traceparent": context.traceparent()},
                http_client=http_client,  # type: ignore[arg-type]
            ) as client,
        ):
            try:
                return client.chat.completions.create(
                    model=params["model"],
                    messages=messages,  # type: ignore[arg-type]
                    max_tokens=params["max_tokens"],
                    temperature=openai.omit if temperature is None else temperature,
                )
            except openai.OpenAIError as exc:
                raise _provider_error(exc, params["api_key"]) from exc

    @staticmethod
    def _record(
        reservation: budget.Reservation,
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
