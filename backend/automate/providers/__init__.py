"""Providers: plug-ins that give the engine access to outside capabilities (LLMs).

.. code-block:: python

    from automate.providers import BaseProvider, LLMProvider, ProviderContext

Registered by the ``AUTOMATE_PROVIDERS`` setting (dotted paths) and the
``django_automate.providers`` entry-point group; the ``llm`` connector and the copilot
choose one by key (``openai``, the built-in OpenAI-compatible provider, by default).
See docs/reference/providers.md.
"""

from .base import (
    BaseProvider,
    LLMProvider,
    ProviderBudget,
    ProviderConfigError,
    ProviderContext,
    UnknownProviderError,
)
from .openai_compatible import OpenAIProvider
from .registry import build_provider, clear_cache, discover, get_provider_class

__all__ = [
    "BaseProvider",
    "LLMProvider",
    "OpenAIProvider",
    "ProviderBudget",
    "ProviderConfigError",
    "ProviderContext",
    "UnknownProviderError",
    "build_provider",
    "clear_cache",
    "discover",
    "get_provider_class",
]
