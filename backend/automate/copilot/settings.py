"""``DJANGO_AUTOMATE["COPILOT"]``: which model the copilot asks, and how much.

``base_url`` empty (the default, what ``make run`` gives) means the offline drafter; any
OpenAI-compatible API root (OpenAI, Ollama, llama.cpp server, vLLM, LiteLLM) means the
model drafter, through the provider ``provider`` (``"openai"``, the built-in; another key
registered in ``AUTOMATE_PROVIDERS`` or by entry point uses the model drafter even
without a ``base_url``). See docs/reference/copilot.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error
from django.core.checks import Warning as CheckWarning

from automate import conf

StructuredOutput = Literal["auto", "json_schema", "tools", "json"]

SETTING = "DJANGO_AUTOMATE['COPILOT']"
HINT = "See docs/reference/copilot.md (Settings)."


@dataclass(frozen=True)
class CopilotSettings:
    """The effective ``COPILOT`` settings (defaults filled in)."""

    base_url: str
    model: str
    api_key_secret: str
    timeout_seconds: float
    max_tokens: int
    rate_limit_per_minute: int
    repair_rounds: int
    structured_output: StructuredOutput
    provider: str = "openai"

    @property
    def uses_model(self) -> bool:
        """True when a model is configured (``base_url`` set, or a provider other than the
        built-in ``openai``); else the offline drafter."""
        return bool(self.base_url) or self.provider != "openai"


def copilot_settings() -> CopilotSettings:
    """The ``COPILOT`` settings, read on every call (``override_settings`` works)."""
    values = conf.get("COPILOT")
    return CopilotSettings(
        base_url=str(values["base_url"]).strip(),
        model=str(values["model"]).strip(),
        provider=str(values["provider"]).strip() or "openai",
        api_key_secret=str(values["api_key_secret"]).strip(),
        timeout_seconds=float(values["timeout_seconds"]),
        max_tokens=int(values["max_tokens"]),
        rate_limit_per_minute=int(values["rate_limit_per_minute"]),
        repair_rounds=int(values["repair_rounds"]),
        structured_output=cast(StructuredOutput, values["structured_output"]),
    )


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http(s) URL with a host (or empty for the offline drafter), not {url!r}"
    return None


def setting_messages() -> Iterator[CheckMessage]:
    """The system check messages for ``COPILOT`` (automate.E060-E063, automate.W060).

    Types and ranges are the schema's (automate.E001); this checks what depends on
    several keys or on other settings: the URL's shape, a model when a URL is set, the
    secret name's shape and the egress allowlist.
    """
    from automate.governance.egress import GLOBAL_SETTING, EgressNotAllowed, check_egress_url
    from automate.governance.policy import PolicyViolation
    from automate.governance.secrets import SECRET_NAME_PATTERN

    if conf.validate({"COPILOT": conf.get("COPILOT")}):
        return  # automate.E001 names the wrong types
    settings = copilot_settings()
    if settings.api_key_secret and not SECRET_NAME_PATTERN.fullmatch(settings.api_key_secret):
        yield Error(
            f"{SETTING}['api_key_secret'] must be a secret *name* such as OPENAI_API_KEY "
            "(1-128 letters, digits and underscores), not a key or anything else.",
            hint=HINT,
            id="automate.E062",
        )
    if settings.provider != "openai":
        from automate.providers.registry import discover

        known = discover().providers
        if settings.provider not in known:
            yield Error(
                f"{SETTING}['provider'] is {settings.provider!r}, but no provider is "
                f"registered with that key (known: {', '.join(sorted(known))}).",
                hint="Register it in AUTOMATE_PROVIDERS or the 'django_automate.providers' "
                "entry points; see docs/reference/providers.md.",
                id="automate.E063",
            )
        if not settings.model:
            yield Error(
                f"{SETTING}['model'] is empty: name the model to ask the provider "
                f"{settings.provider!r} for.",
                hint=HINT,
                id="automate.E061",
            )
    if not settings.base_url:
        return
    problem = _url_problem(settings.base_url)
    if problem:
        yield Error(f"{SETTING}['base_url'] {problem}.", hint=HINT, id="automate.E060")
        return
    if not settings.model and settings.provider == "openai":
        yield Error(
            f"{SETTING}['model'] is empty: name the model to ask (e.g. 'gpt-4o-mini' or "
            "'llama3.1') when base_url is set.",
            hint=HINT,
            id="automate.E061",
        )
    try:
        check_egress_url(settings.base_url, tenant="")
    except EgressNotAllowed as exc:
        yield CheckWarning(
            f"The copilot's base URL is off the egress allowlist: {exc.message}",
            hint=f"Add its host to {GLOBAL_SETTING}; see docs/reference/policy.md.",
            id="automate.W060",
        )
    except (PolicyViolation, ValueError):
        pass  # a malformed URL is reported above
