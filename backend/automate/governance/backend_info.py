"""Which secrets backend is active, in words: shown where people manage or pick secrets
(the admin's Stored secrets, the studio's secret picker), so a secret stored in one place
is not expected to come from another."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from automate import conf
from automate.governance.exceptions import SecretsConfigurationError
from automate.governance.secrets import EnvSecretsBackend, get_backend

__all__ = ["ActiveBackend", "active_backend"]


@dataclass(frozen=True)
class ActiveBackend:
    """``name``: the ``SECRETS.backend`` setting; ``summary``: one sentence for people;
    ``uses_stored_secrets``: whether workflows read the admin's Stored secrets."""

    name: str
    summary: str
    uses_stored_secrets: bool


def active_backend() -> ActiveBackend:
    """The configured secrets backend, described (never raises: a broken setting is said)."""
    from automate.governance.secret_store import DatabaseSecretsBackend

    name = str(conf.get("SECRETS", "backend"))
    try:
        backend = get_backend()
    except SecretsConfigurationError as exc:
        return ActiveBackend(name, gettext("The secrets backend cannot be loaded: %s") % exc, False)
    if isinstance(backend, DatabaseSecretsBackend):
        summary = gettext(
            'Secrets backend: "db" (stored secrets, encrypted in the database). Workflows '
            "use the stored secrets of their tenant."
        )
        return ActiveBackend(name, summary, True)
    if isinstance(backend, EnvSecretsBackend):
        where = gettext("environment variables %(prefix)s<NAME>") % {"prefix": backend.prefix}
    else:
        where = type(backend).__module__ + "." + type(backend).__qualname__
    summary = gettext(
        'Secrets backend: "%(name)s" (%(where)s). Stored secrets are used only with '
        'DJANGO_AUTOMATE["SECRETS"]["backend"] = "db".'
    ) % {"name": name, "where": where}
    return ActiveBackend(name, summary, False)
