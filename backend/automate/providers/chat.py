"""The engine's side of a chat completion: the provider chosen by key, its errors made safe.

Callers (the ``llm`` connector, the copilot) reserve the LLM budget before
``complete`` and record the cost from the completion's ``usage`` after, whatever the
provider, so no provider can spend outside the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from automate.exceptions import AutomateError
from automate.governance.policy import PolicyViolation
from automate.governance.redaction import MASK, redact, redact_text

from .base import LLMProvider, ProviderContext, UnknownProviderError
from .registry import build_provider, get_provider_class

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion

__all__ = ["DEFAULT_PROVIDER", "as_completion", "complete", "llm_provider", "safe_error"]

DEFAULT_PROVIDER = "openai"


def llm_provider(
    key: str, *, ctx: ProviderContext, overrides: Mapping[str, Any] | None = None
) -> LLMProvider:
    """The chat provider ``key`` for ``ctx`` (``build_provider``); ``UnknownProviderError``
    too when ``key`` names a provider that offers no chat completions."""
    if not issubclass(get_provider_class(key), LLMProvider):
        raise UnknownProviderError(
            f"The provider {key!r} does not offer chat completions (not an LLMProvider).",
            details={"provider": key},
        )
    provider = build_provider(key, ctx=ctx, overrides=overrides)
    assert isinstance(provider, LLMProvider)
    return provider


def safe_error(provider: LLMProvider, exc: Exception, *, api_key: str = "") -> AutomateError:
    """``provider.normalize_error(exc)`` with secrets masked in its message and details.

    Masks the ``api_key`` and every value the redaction masker knows (resolved secrets,
    including those the provider read through ``ctx.resolve_secret``). A
    ``normalize_error`` that itself fails, or returns something else than an
    ``AutomateError``, gives a non-retryable ``provider_error``.
    """
    from automate.connectors.exceptions import ConnectorError

    try:
        error: object = provider.normalize_error(exc)
    except Exception as failure:  # a plug-in's bug must not hide the call's failure
        error = failure
    if not isinstance(error, AutomateError):
        error = ConnectorError(
            f"The provider {provider.key} failed: {type(exc).__name__}: {exc}",
            code="provider_error",
        )
    if isinstance(error, PolicyViolation):
        return error  # names a host and a reason, never a URL's secrets

    def clean(text: str) -> str:
        text = redact_text(text)
        return text.replace(api_key, MASK) if api_key else text

    error.message = clean(error.message)
    error.args = (error.message,)
    error.details = {**redact(error.details), "provider": provider.key}
    for name, value in error.details.items():
        if isinstance(value, str):
            error.details[name] = clean(value)
    return error


def as_completion(value: object) -> ChatCompletion:
    """``value`` as a ``ChatCompletion`` (a provider may return the JSON as a dict);
    ``ValueError`` when it is neither."""
    from openai.types.chat import ChatCompletion
    from pydantic import ValidationError

    if isinstance(value, ChatCompletion):
        return value
    if isinstance(value, Mapping):
        try:
            return ChatCompletion.model_validate(dict(value))
        except ValidationError as exc:
            raise ValueError(f"{exc.error_count()} fields missing or malformed") from None
    raise ValueError(f"a {type(value).__name__}")


def complete(
    provider: LLMProvider, request: dict[str, Any], *, api_key: str, timeout: float
) -> ChatCompletion:
    """One chat completion; a failure is raised as ``safe_error`` gives it, an answer that
    is not a chat completion as ``llm_bad_response`` (not retryable)."""
    from automate.connectors.exceptions import ConnectorError

    try:
        value = provider.chat_completion(request, api_key=api_key, timeout=timeout)
    except Exception as exc:
        raise safe_error(provider, exc, api_key=api_key) from None
    try:
        return as_completion(value)
    except ValueError as exc:
        raise ConnectorError(
            f"The provider {provider.key!r} answered something that is not a chat "
            f"completion ({exc}).",
            code="llm_bad_response",
            details={"provider": provider.key},
        ) from None
