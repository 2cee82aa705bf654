"""System checks for ``DJANGO_AUTOMATE["CONNECTOR_OPTIONS"]``.

Each key is a connector code and each value that connector's options. A typo in a code
(``"slak"``) or a key (``"baseurl"``) would otherwise be ignored silently, and a malformed
price table would fail every LLM step at run time: ``manage.py check`` says so first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error
from django.core.checks import Warning as CheckWarning

from automate import conf

SETTING = "DJANGO_AUTOMATE['CONNECTOR_OPTIONS']"
HINT = "See docs/reference/settings.md (CONNECTOR_OPTIONS)."

#: The options each built-in connector reads; custom connectors' options are not checked.
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "slack": frozenset({"base_url"}),
    "llm": frozenset({"base_url", "prices", "default_price"}),
    "django_model": frozenset({"models"}),
}


def _base_url_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be an http(s) URL, not {type(value).__name__}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http(s) URL with a host, not {value!r}"
    return None


def connector_option_messages() -> Iterator[CheckMessage]:
    """One check message per problem in ``CONNECTOR_OPTIONS`` (automate.E031/W031)."""
    from automate.connectors.registry import connector_registry

    options = conf.get("CONNECTOR_OPTIONS")
    if not isinstance(options, Mapping):
        return  # automate.E001 reports the type
    for code, value in options.items():
        where = f"{SETTING}[{code!r}]"
        if not isinstance(code, str) or connector_registry.find(code) is None:
            yield CheckWarning(
                f"{where} names no registered connector; its options are not used.",
                hint='Check the connector code (python manage.py shell -c "from '
                "automate.connectors import all_connectors; print([c.code for c in "
                'all_connectors()])").',
                id="automate.W031",
            )
        if not isinstance(value, Mapping):
            yield Error(
                f"{where} must be a dict of options, not {type(value).__name__}.",
                hint=HINT,
                id="automate.E031",
            )
            continue
        known = KNOWN_KEYS.get(str(code))
        if known is None:
            continue
        unknown = sorted(str(key) for key in value if key not in known)
        if unknown:
            yield Error(
                f"{where} has unknown keys {unknown}; the {code} connector reads "
                f"{', '.join(sorted(known))}.",
                hint=HINT,
                id="automate.E031",
            )
        if "base_url" in value:
            problem = _base_url_problem(value["base_url"])
            if problem:
                yield Error(f"{where}['base_url'] {problem}.", hint=HINT, id="automate.E031")
    if isinstance(options.get("llm"), Mapping):
        from automate.governance.budget import LLMPriceConfigurationError, price_for

        try:
            price_for("")
        except LLMPriceConfigurationError as exc:
            yield Error(exc.message, hint=HINT, id="automate.E031")
