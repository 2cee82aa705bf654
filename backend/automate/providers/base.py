"""The provider interface: ``BaseProvider``, ``LLMProvider`` and the ``ProviderContext``.

A provider is a plug-in that gives the engine access to an outside capability (a language
model today). It is constructed per use with its validated config and a
``ProviderContext``::

    class GatewayProvider(LLMProvider):
        key = "gateway"
        display_name = "Internal LLM gateway"

        @classmethod
        def config_schema(cls) -> dict[str, Any]:
            return {"type": "object", "properties": {"url": {"type": "string"}}}

        def chat_completion(self, request, *, api_key, timeout):
            with self.ctx.http_client(timeout=timeout) as http:
                return http.post(self.config["url"], json=request).raise_for_status().json()

Providers are registered through the ``AUTOMATE_PROVIDERS`` setting or the
``django_automate.providers`` entry-point group (``automate.providers.registry``). See
docs/reference/providers.md.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from automate.exceptions import AutomateError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

    from automate.governance.budget import Reservation
    from automate.governance.http import SafeClient

__all__ = [
    "BaseProvider",
    "LLMProvider",
    "ProviderBudget",
    "ProviderConfigError",
    "ProviderContext",
    "UnknownProviderError",
]


class UnknownProviderError(AutomateError):
    """No provider is registered under this key (``details["provider"]``, ``["known"]``)."""

    code = "unknown_provider"


class ProviderConfigError(AutomateError):
    """A provider's config does not match its ``config_schema()`` (``details["errors"]``)."""

    code = "provider_misconfigured"
    http_status = 500


@dataclass(frozen=True)
class ProviderBudget:
    """The tenant's LLM budget (``automate.governance.budget``), bound to one context.

    The engine already charges every chat completion a provider returns (from the usage
    it reports); use this only for calls the engine cannot see, such as a provider that
    asks a second model. ``reserve`` raises ``BudgetExceededError`` (nothing may be sent).
    """

    tenant: str
    run_id: str = ""
    step_id: str = ""
    trace_id: str = ""

    def cost_of(self, model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """USD for these tokens at ``model``'s configured price."""
        from automate.governance import budget

        return budget.cost_of(model, prompt_tokens, completion_tokens)

    def reserve(self, estimated_usd: Decimal) -> Reservation:
        """Count ``estimated_usd`` against today's budget before a call, or refuse."""
        from automate.governance import budget

        return budget.reserve(self.tenant, estimated_usd)

    def record(
        self,
        reservation: Reservation,
        *,
        provider: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> None:
        """Replace the reservation by the call's real cost (an ``LLMUsage`` row)."""
        from automate.governance import budget

        budget.record(
            reservation,
            model=model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=budget.cost_of(model, prompt_tokens, completion_tokens),
            run_id=self.run_id,
            node_id=self.step_id,
            trace_id=self.trace_id,
            provider=provider,
        )

    def release(self, reservation: Reservation) -> None:
        """Give the estimate back: the call did not happen."""
        from automate.governance import budget

        budget.release(reservation)


@dataclass(frozen=True, kw_only=True)
class ProviderContext:
    """Who a provider acts for, and the governed tools it must use.

    * ``tenant`` (slug; ``""`` is the default tenant), ``run_id`` and ``step_id`` (empty
      outside a workflow run, e.g. for the copilot), ``trace_id`` and ``traceparent``
      (the W3C header for outbound calls, when there is a span).
    * ``resolve_secret(name)``: the value of the tenant's secret ``name``; the value is
      registered with the redaction masker, so it is masked in every error and log.
    * ``http_client(timeout=…)``: the SSRF-safe ``httpx.Client`` (close it after); every
      outbound call of a provider goes through it.
    * ``budget``: the tenant's LLM budget (``ProviderBudget``).
    """

    tenant: str = ""
    run_id: str = ""
    step_id: str = ""
    trace_id: str = ""
    traceparent: str = ""
    budget: ProviderBudget = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "budget",
            ProviderBudget(
                tenant=self.tenant,
                run_id=self.run_id,
                step_id=self.step_id,
                trace_id=self.trace_id,
            ),
        )

    def resolve_secret(self, name: str) -> str:
        """The tenant's secret ``name`` (``SecretNotFoundError`` etc. as ``resolve`` raises)."""
        from automate.governance.secrets import resolve

        return resolve({"$secret": name}, tenant=self.tenant or None)

    def http_client(self, *, timeout: float) -> SafeClient:
        """The SSRF-safe client (``automate.governance.http.build_client``)."""
        from automate.governance.http import build_client

        return build_client(timeout=timeout, trace_id=self.trace_id or None)


class BaseProvider(ABC):  # noqa: B024 (a base of capability bases: nothing is abstract yet)
    """A provider: ``key`` (unique, the name settings and steps use), ``display_name``.

    Constructed with its config (already validated against ``config_schema()``, defaults
    not filled in) and a ``ProviderContext``; kept for one use (a step, a copilot request).
    """

    key: ClassVar[str] = ""
    display_name: ClassVar[str] = ""

    def __init__(self, config: Mapping[str, Any], *, ctx: ProviderContext) -> None:
        self.config: dict[str, Any] = dict(config)
        self.ctx = ctx

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """The JSON Schema (draft 2020-12) of this provider's config; any object by default."""
        return {"type": "object"}

    def normalize_error(self, exc: Exception) -> AutomateError:
        """The product's error for ``exc``, which this provider's call raised.

        Return a ``ConnectorError`` with ``retryable`` set (``True`` for a timeout, a
        rate limit or a server error; ``False`` for a bad key or a bad request) and a
        stable ``code``. The engine masks secrets in the message and details afterwards.
        The default keeps ``AutomateError``s, maps ``httpx`` errors as every outbound call
        does (``http_timeout``, ``http_server_error``…) and anything else to a
        non-retryable ``provider_error``.
        """
        import httpx

        from automate.connectors.exceptions import ConnectorError
        from automate.governance.http import transport_error

        if isinstance(exc, AutomateError):
            return exc
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            status = response.status_code
            retryable = status in (408, 429) or status >= 500
            return ConnectorError(
                f"The provider {self.key} answered HTTP {status}.",
                retryable=retryable,
                code="http_rate_limited"
                if status == 429
                else "http_server_error"
                if status >= 500
                else "http_client_error",
                details={"provider": self.key, "status": status},
            )
        if isinstance(exc, httpx.RequestError):
            return transport_error(exc, method=exc.request.method, url=str(exc.request.url))
        return ConnectorError(
            f"The provider {self.key} failed: {type(exc).__name__}: {exc}",
            code="provider_error",
            details={"provider": self.key},
        )


class LLMProvider(BaseProvider):
    """A provider of chat completions in OpenAI's protocol.

    ``chat_completion`` takes the request body of ``POST /chat/completions`` (``model``,
    ``messages``, ``max_tokens``, optional ``temperature``, ``response_format``,
    ``tools``, ``tool_choice``, ``stream`` false) and returns the completion: an
    ``openai`` ``ChatCompletion`` or its JSON as a dict. The engine reserves the budget
    before the call, records the cost from the ``usage`` it reports after, and passes
    every exception through ``normalize_error``.
    """

    @abstractmethod
    def chat_completion(
        self, request: dict[str, Any], *, api_key: str, timeout: float
    ) -> ChatCompletion | Mapping[str, Any]:
        """One chat completion for ``request``; ``api_key`` may be ignored; ``timeout`` in s."""
