"""System checks for providers: every registration usable, every config valid."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from django.core.checks import CheckMessage, Error

from . import registry

HINT = "See docs/reference/providers.md."


def provider_messages() -> Iterator[CheckMessage]:
    """automate.E080 (cannot import or load), E081 (not a BaseProvider, no key), E082
    (duplicate key), E083 (a config that fails its schema, or a schema that is not one),
    E084 (``AUTOMATE_PROVIDERS`` not a list of paths), E085 (options for an unknown key)."""
    found = registry.discover()
    for problem in found.problems:
        yield Error(problem.message, hint=HINT, id=problem.id)
    options = registry.provider_options()
    for key, config in options.items():
        provider = found.providers.get(key)
        if provider is None:
            yield Error(
                f"{registry.OPTIONS_SETTING} configures {key!r}, but no provider is "
                f"registered with that key (known: {', '.join(sorted(found.providers))}).",
                hint=HINT,
                id="automate.E085",
            )
            continue
        mistakes = registry.config_problems(provider, config)
        if not isinstance(config, Mapping):
            mistakes = mistakes or ["(config): must be an object"]
        for mistake in mistakes:
            yield Error(
                f"{registry.OPTIONS_SETTING}[{key!r}] does not match the config schema of "
                f"the provider {key!r} ({found.sources[key]}): {mistake}",
                hint=HINT,
                id="automate.E083",
            )
