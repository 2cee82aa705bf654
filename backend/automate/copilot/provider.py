"""The model drafter: asks an OpenAI-compatible chat API for a proposal, within budget.

One ``ModelDrafter`` serves one request: ``ask`` sends the first question, ``repair``
sends the problems of the last answer back (same conversation). Every call

* goes through the SSRF-safe client (``automate.governance.http.build_client``) inside
  the tenant's egress scope, with the SDK's own retries off;
* is estimated before it is sent (prompt characters / 4 + ``max_tokens``, at the model's
  price) and reserved in the LLM ledger (``BudgetExceededError`` when the tenant's day
  would go over ``POLICY.llm_budget_daily``: nothing is sent); its real cost is recorded
  after (an ``LLMUsage`` row with ``node_id="copilot"``), or the estimate is given back
  when the call failed;
* asks for structured output: ``response_format`` with the answer's JSON schema; when the
  server refuses that (HTTP 400/422), one tool ``propose_workflow`` that only *returns*
  the proposal, forced with ``tool_choice``; when it refuses tools too, plain JSON (the
  schema is then sent as data). What worked is remembered per base URL and model for the
  life of the process (``COPILOT.structured_output`` can also fix the mode);
* is sent by the provider ``COPILOT.provider`` (``automate.providers``; the built-in
  ``openai`` by default), whose own exceptions pass through its ``normalize_error`` and
  the redaction masker (``details["reason"] = "provider_error"``).

Failures are ``CopilotUnavailableError`` (timeouts, 429 with ``retry_after``, 5xx, an
unreachable server, a URL the outbound policy refuses, a bad key) and
``CopilotRefusedError`` (the model declined); their messages never hold the API key.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from django.db import DatabaseError

from automate.copilot.catalog import Catalog
from automate.copilot.exceptions import CopilotRefusedError, CopilotUnavailableError
from automate.copilot.prompts import problems_document, request_message, system_message
from automate.copilot.provider_errors import refused_url, unavailable_error
from automate.copilot.schema import SCHEMA_NAME, ReadAnswer, answer_schema, dumps, read_answer
from automate.copilot.settings import CopilotSettings
from automate.copilot.types import Answer, Definition, DrafterKind, Usage
from automate.exceptions import AutomateError
from automate.governance import budget
from automate.governance.egress import EgressScope, egress_scope
from automate.governance.policy import PolicyViolation
from automate.governance.redaction import MASK, redact, redact_text
from automate.providers.base import LLMProvider, ProviderContext
from automate.providers.chat import as_completion, llm_provider, safe_error
from automate.tenants.models import Tenant

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

logger = logging.getLogger("automate.copilot")

Mode = Literal["json_schema", "tools", "json"]
MODES: Final[tuple[Mode, ...]] = ("json_schema", "tools", "json")
CHARS_PER_TOKEN: Final = 4
PLACEHOLDER_KEY: Final = "no-key-needed"
"""The key sent when ``COPILOT.api_key_secret`` is empty (the SDK requires one)."""

_working_modes: dict[tuple[str, str], Mode] = {}
_modes_lock = threading.Lock()


def remembered_mode(base_url: str, model: str) -> Mode | None:
    """The structured-output mode that last worked for this server and model, if any."""
    with _modes_lock:
        return _working_modes.get((base_url, model))


def forget_modes() -> None:
    """Forget what every server supports (tests; a server that was upgraded)."""
    with _modes_lock:
        _working_modes.clear()


class _Rejected(Exception):
    """The server refused this structured-output mode (HTTP 400/422): try the next."""

    def __init__(self, error: CopilotUnavailableError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class _Turn:
    """One earlier answer (``text``, as sent back) and the problems it had."""

    text: str
    tool_call_id: str
    problems: str


def _text_length(messages: Sequence[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        total += len(message.get("content") or "")
        for call in message.get("tool_calls") or []:
            total += len(call["function"]["arguments"])
    return total


class ModelDrafter:
    """Drafts with the model of ``settings`` for ``tenant`` (see the module docstring).

    After the calls: ``usage`` (summed over every call), ``calls`` (how many were sent)
    and ``mode`` (the structured-output mode that worked).
    """

    kind: DrafterKind = "model"

    def __init__(self, *, settings: CopilotSettings, tenant: Tenant, trace_id: str = "") -> None:
        self.settings = settings
        self.tenant = tenant
        self.trace_id = trace_id
        self.calls = 0
        self.mode: Mode | None = None
        self._prompt_tokens = 0
        self._completion_tokens = 0
        self._cost = Decimal(0)
        self._api_key = ""
        self._provider: LLMProvider | None = None
        self._schema: dict[str, Any] = {}
        self._first: dict[str, Any] = {}
        self._before: Definition = {}
        self._turns: list[_Turn] = []
        self._last: tuple[str, str] = ("", "")

    @property
    def model(self) -> str:
        """The configured model name."""
        return self.settings.model

    @property
    def usage(self) -> Usage:
        """Tokens and cost of every call so far."""
        return Usage(
            prompt_tokens=self._prompt_tokens,
            completion_tokens=self._completion_tokens,
            cost_usd=str(self._cost),
        )

    # -- the Drafter protocol ------------------------------------------------------------

    def draft(
        self,
        *,
        prompt: str,
        current: Definition,
        catalog: Catalog,
        conversation: Sequence[str] = (),
    ) -> Answer:
        """One answer without repair rounds (the service uses ``ask``/``repair``)."""
        read = self.ask(prompt=prompt, current=current, catalog=catalog, conversation=conversation)
        return read.answer or Answer(definition=deepcopy(current), not_understood=[prompt])

    # -- rounds --------------------------------------------------------------------------

    def ask(
        self,
        *,
        prompt: str,
        current: Definition,
        catalog: Catalog,
        conversation: Sequence[str] = (),
    ) -> ReadAnswer:
        """The first round: the request, the draft and the catalog as data."""
        self._api_key = self._resolve_key()
        self._provider = self._build_provider()
        self._schema = answer_schema(catalog)
        self._before = deepcopy(current)
        self._first = {
            "prompt": prompt,
            "current": current,
            "catalog": catalog,
            "conversation": tuple(conversation),
        }
        self._turns = []
        return self._round()

    def repair(self, problems: Sequence[dict[str, str]]) -> ReadAnswer:
        """A repair round: the last answer's ``problems`` go back to the model as data."""
        text, call_id = self._last
        self._turns.append(
            _Turn(text=text, tool_call_id=call_id, problems=problems_document(problems))
        )
        return self._round()

    def _round(self) -> ReadAnswer:
        text, call_id, truncated = self._call()
        # The answer goes back in a repair round: redacted like the draft, so a secret
        # value the model wrote is not sent out again.
        self._last = (_redacted_json(text), call_id or f"call_{len(self._turns)}")
        return read_answer(text, schema=self._schema, before=self._before, truncated=truncated)

    # -- one call, with the structured-output fallback -----------------------------------

    def _modes(self) -> tuple[Mode, ...]:
        configured = self.settings.structured_output
        if configured != "auto":
            return (configured,)
        if self.mode is not None:  # the conversation goes on in the mode that worked
            return (self.mode,)
        start = remembered_mode(self._server(), self.model) or MODES[0]
        return MODES[MODES.index(start) :]

    def _call(self) -> tuple[str, str, bool]:
        modes = self._modes()
        for index, mode in enumerate(modes):
            try:
                reply = self._call_in(mode, rejectable=index + 1 < len(modes))
            except _Rejected as rejected:
                if index + 1 < len(modes):
                    logger.info("The copilot's model refused %s output: %s", mode, rejected)
                    continue
                raise rejected.error from None
            self.mode = mode
            with _modes_lock:
                _working_modes[(self._server(), self.model)] = mode
            return reply
        raise AssertionError("unreachable: at least one mode is tried")

    def _messages(self, mode: Mode) -> list[dict[str, Any]]:
        first = self._first
        messages: list[dict[str, Any]] = [
            system_message(),
            request_message(
                prompt=first["prompt"],
                current=first["current"],
                catalog=first["catalog"],
                conversation=first["conversation"],
                schema=self._schema if mode == "json" else None,
            ),
        ]
        for turn in self._turns:
            if mode == "tools":
                messages.append(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": turn.tool_call_id,
                                "type": "function",
                                "function": {"name": SCHEMA_NAME, "arguments": turn.text},
                            }
                        ],
                    }
                )
                messages.append(
                    {"role": "tool", "tool_call_id": turn.tool_call_id, "content": turn.problems}
                )
            else:
                messages.append({"role": "assistant", "content": turn.text})
                messages.append({"role": "user", "content": turn.problems})
        return messages

    def _structured(self, mode: Mode) -> dict[str, Any]:
        if mode == "json_schema":
            return {
                "response_format": {
                    "type": "json_schema",
                    # strict mode needs every property required and no free-form objects;
                    # inputs and JSONLogic are free-form, so the schema guides and the
                    # publish checks decide.
                    "json_schema": {"name": SCHEMA_NAME, "schema": self._schema, "strict": False},
                }
            }
        if mode == "tools":
            return {
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": SCHEMA_NAME,
                            "description": "Return the proposed workflow (it is only shown "
                            "to the user; nothing is run).",
                            "parameters": self._schema,
                        },
                    }
                ],
                "tool_choice": {"type": "function", "function": {"name": SCHEMA_NAME}},
            }
        return {}

    def _call_in(self, mode: Mode, *, rejectable: bool) -> tuple[str, str, bool]:
        messages = self._messages(mode)
        extra = self._structured(mode)
        characters = _text_length(messages) + (len(dumps(extra)) if extra else 0)
        prompt_tokens = math.ceil(characters / CHARS_PER_TOKEN)
        estimate = budget.cost_of(self.model, prompt_tokens, self.settings.max_tokens)
        # BudgetExceededError propagates: nothing has been sent.
        reservation = budget.reserve(self.tenant.slug, estimate)
        try:
            completion = self._send(messages, extra, rejectable=rejectable)
            self.calls += 1
            self._record(reservation, prompt_tokens, completion)
        finally:
            if not reservation.settled:
                budget.release(reservation)
        return self._reply(completion)

    def _server(self) -> str:
        """What structured-output support is remembered by: the base URL (and the
        provider, when it is not the built-in one)."""
        provider = self.settings.provider
        base_url = self.settings.base_url
        return base_url if provider == "openai" else f"{provider}:{base_url}"

    def _send(
        self, messages: list[dict[str, Any]], extra: dict[str, Any], *, rejectable: bool
    ) -> ChatCompletion:
        import openai

        settings = self.settings
        provider = self._provider or self._build_provider()
        scope = EgressScope(
            tenant=self.tenant.slug, connector="copilot", action="propose", trace_id=self.trace_id
        )
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": settings.max_tokens,
            "stream": False,
            **extra,
        }
        with egress_scope(scope):
            try:
                answer = provider.chat_completion(
                    request, api_key=self._api_key, timeout=settings.timeout_seconds
                )
            except PolicyViolation as exc:  # raised as it is by recent SDKs
                raise refused_url(exc, settings) from None
            except openai.OpenAIError as exc:
                error = unavailable_error(exc, api_key=self._api_key, settings=settings)
                status = getattr(exc, "status_code", None)
                if rejectable and status in (400, 422):
                    raise _Rejected(error) from None
                raise error from None
            except Exception as exc:  # a host project's provider: its own exceptions
                raise self._provider_failure(provider, exc, rejectable=rejectable) from None
        try:
            return as_completion(answer)
        except ValueError as exc:
            raise CopilotUnavailableError(
                f"The provider {provider.key!r} answered something that is not a chat "
                f"completion ({exc}).",
                details={"reason": "bad_response"},
            ) from None

    def _provider_failure(
        self, provider: LLMProvider, exc: Exception, *, rejectable: bool
    ) -> Exception:
        error = safe_error(provider, exc, api_key=self._api_key)
        if isinstance(error, PolicyViolation):
            return refused_url(error, self.settings)
        status = error.details.get("status")
        details: dict[str, Any] = {
            "reason": "provider_error",
            "provider": provider.key,
            "code": error.code,
            "retryable": error.retryable,
        }
        if isinstance(status, int):
            details["status"] = status
        failure = CopilotUnavailableError(
            f"The model provider {provider.key!r} failed: {error.message[:300]}", details=details
        )
        if rejectable and status in (400, 422):
            return _Rejected(failure)
        return failure

    def _build_provider(self) -> LLMProvider:
        settings = self.settings
        ctx = ProviderContext(tenant=self.tenant.slug, trace_id=self.trace_id)
        overrides = {"base_url": settings.base_url} if settings.base_url else None
        try:
            return llm_provider(settings.provider, ctx=ctx, overrides=overrides)
        except AutomateError as exc:  # UnknownProviderError, ProviderConfigError
            raise CopilotUnavailableError(
                f"The copilot's provider cannot be used: {exc.message} Check "
                "COPILOT.provider and PROVIDER_OPTIONS.",
                details={"reason": "provider_misconfigured", "provider": settings.provider},
            ) from None

    def _record(
        self, reservation: budget.Reservation, estimated_prompt: int, completion: ChatCompletion
    ) -> None:
        usage = completion.usage
        if usage is not None:
            prompt_tokens = int(usage.prompt_tokens or 0)
            completion_tokens = int(usage.completion_tokens or 0)
        else:
            # A server that reports no usage: counted as the estimate counts, never free.
            prompt_tokens = estimated_prompt
            completion_tokens = math.ceil(len(_raw_text(completion)) / CHARS_PER_TOKEN)
        cost = budget.cost_of(self.model, prompt_tokens, completion_tokens)
        self._prompt_tokens += prompt_tokens
        self._completion_tokens += completion_tokens
        self._cost += cost
        try:
            budget.record(
                reservation,
                model=self.model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost,
                node_id="copilot",
                trace_id=self.trace_id,
                provider=self._provider.key if self._provider else "openai",
            )
        except DatabaseError:
            logger.exception(
                "Could not record the copilot's LLM usage; the estimate stays counted."
            )

    def _reply(self, completion: ChatCompletion) -> tuple[str, str, bool]:
        """``(text, tool_call_id, truncated)`` of the completion, or the refusal raised."""
        if not completion.choices:
            raise CopilotUnavailableError(
                "The model's server answered without a choice: is COPILOT.base_url an "
                "OpenAI-compatible API?",
                details={"reason": "bad_response"},
            )
        choice = completion.choices[0]
        message = choice.message
        refusal = getattr(message, "refusal", None)
        if refusal or choice.finish_reason == "content_filter":
            shown = self._clean(str(refusal or "the provider's content filter stopped the answer"))
            raise CopilotRefusedError(
                f"The model declined the request: {shown[:300]}", details={"refusal": shown[:1000]}
            )
        for call in message.tool_calls or []:
            function = getattr(call, "function", None)
            if function is not None:
                return (
                    str(function.arguments or ""),
                    str(call.id or ""),
                    choice.finish_reason == "length",
                )
        return message.content or "", "", choice.finish_reason == "length"

    # -- the key -------------------------------------------------------------------------

    def _resolve_key(self) -> str:
        name = self.settings.api_key_secret
        if not name:
            return PLACEHOLDER_KEY
        from automate.governance.secrets import resolve

        try:
            return resolve({"$secret": name}, tenant=self.tenant)
        except AutomateError as exc:
            raise CopilotUnavailableError(
                f"The copilot's API key (the secret {name}) cannot be read for this "
                f"workspace: {exc.message}",
                details={"reason": "api_key_missing", "secret": name},
            ) from None

    def _clean(self, text: str) -> str:
        text = redact_text(text)
        return text.replace(self._api_key, MASK) if self._api_key else text


def _redacted_json(text: str) -> str:
    try:
        return dumps(redact(json.loads(text)))
    except ValueError:
        return redact_text(text)


def _raw_text(completion: ChatCompletion) -> str:
    if not completion.choices:
        return ""
    message = completion.choices[0].message
    calls = "".join(
        str((getattr(call, "function", None) and call.function.arguments) or "")  # type: ignore[union-attr]
        for call in message.tool_calls or []
    )
    return (message.content or "") + calls + (getattr(message, "refusal", None) or "")
