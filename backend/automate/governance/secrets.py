"""Secret references and the backends that turn them into values at run time.

Workflow definitions never hold secrets, only references to them: ``{"$secret": "NAME"}``
or ``"$secret:NAME"``. ``resolve()`` asks the configured backend
(``DJANGO_AUTOMATE["SECRETS"]["backend"]``) for the value of one tenant's secret and
registers it with the redaction masker, so the value is masked if it ever shows up in a
log line or an output.
"""

from __future__ import annotations

import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.checks import CheckMessage, Error
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

from automate import conf
from automate.governance.exceptions import (
    InvalidSecretRefError,
    SecretNotFoundError,
    SecretsConfigurationError,
)
from automate.governance.redaction import MAX_DEPTH, redact_text, register_secret_value
from automate.governance.secret_grants import (
    require_env_grant,
    secret_owner,
    visible_env_names,
)

if TYPE_CHECKING:
    from automate.tenants.models import Tenant

__all__ = [
    "BACKENDS",
    "ENTRY_POINT_GROUP",
    "SECRET_NAME_PATTERN",
    "SECRET_REF_KEY",
    "SECRET_REF_PREFIX",
    "EnvSecretsBackend",
    "SecretsBackend",
    "check_secrets_backend",
    "clear_backend_cache",
    "collect_secret_refs",
    "get_backend",
    "is_secret_ref",
    "load_backend_class",
    "resolve",
    "resolve_secret_refs",
    "secret_names",
    "secret_ref_name",
]

SECRET_REF_KEY = "$secret"  # noqa: S105 - reference syntax, not a secret
SECRET_REF_PREFIX = "$secret:"  # noqa: S105 - reference syntax, not a secret
SECRET_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
ENTRY_POINT_GROUP = "django_automate.secrets.backends"

# ---------------------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------------------

_REF_FORMS = '{"$secret": "NAME"} or "$secret:NAME"'


def is_secret_ref(value: object) -> bool:
    """Whether ``value`` has the shape of a secret reference.

    True for any string starting with ``"$secret:"`` and any mapping with a ``"$secret"``
    key, even when the name inside is invalid: ``secret_ref_name`` then says what is wrong.
    """
    if isinstance(value, str):
        return value.startswith(SECRET_REF_PREFIX)
    return isinstance(value, Mapping) and SECRET_REF_KEY in value


def _describe(name: str) -> str:
    # The "name" may be a secret pasted by mistake: mask what looks like one, cap the rest.
    shown = redact_text(name)
    return repr(shown if len(shown) <= 40 else shown[:40] + "…")


def secret_ref_name(ref: object) -> str:
    """Return the secret name a reference points at, e.g. ``"SLACK_TOKEN"``.

    Raises ``InvalidSecretRefError`` when ``ref`` is not ``{"$secret": "NAME"}`` or
    ``"$secret:NAME"``, or when NAME is not 1-128 letters, digits and underscores not
    starting with a digit. The message never repeats a value that is not a reference.
    """
    if isinstance(ref, str) and ref.startswith(SECRET_REF_PREFIX):
        name: object = ref[len(SECRET_REF_PREFIX) :]
    elif isinstance(ref, Mapping) and SECRET_REF_KEY in ref:
        if len(ref) != 1:
            others = ", ".join(sorted(repr(key) for key in ref if key != SECRET_REF_KEY))
            raise InvalidSecretRefError(
                f"A secret reference must have only the {SECRET_REF_KEY!r} key, not also {others}."
            )
        name = ref[SECRET_REF_KEY]
    else:
        raise InvalidSecretRefError(
            f"Expected a secret reference ({_REF_FORMS}), got {type(ref).__name__}."
        )
    if not isinstance(name, str):
        raise InvalidSecretRefError(
            f"A secret name must be a string, not {type(name).__name__} ({_REF_FORMS})."
        )
    if not SECRET_NAME_PATTERN.fullmatch(name):
        raise InvalidSecretRefError(
            f"{_describe(name)} is not a valid secret name: use 1-128 letters, digits and "
            "underscores, not starting with a digit (like SLACK_TOKEN)."
        )
    return name


def collect_secret_refs(data: Any) -> set[str]:
    """Return the names of every secret referenced anywhere in ``data``.

    Walks dicts (values only), lists and tuples, as found in step inputs. Used at publish
    time to check that each referenced secret exists. Raises ``InvalidSecretRefError`` on
    the first malformed reference.
    """
    names: set[str] = set()
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if is_secret_ref(value):
            names.add(secret_ref_name(value))
        elif depth < MAX_DEPTH:
            if isinstance(value, Mapping):
                stack.extend((item, depth + 1) for item in value.values())
            elif isinstance(value, list | tuple):
                stack.extend((item, depth + 1) for item in value)
    return names


def resolve(ref: object, *, tenant: Tenant | str | None = None) -> str:
    """Return the value of the secret ``ref`` points at, for tenant ``tenant``.

    ``ref`` is ``{"$secret": "NAME"}`` or ``"$secret:NAME"``. ``tenant`` says who asks:
    a ``Tenant`` or a tenant slug. Everything that acts for a tenant (workflow runs,
    "Test this step", webhook verification) passes it, so one tenant never resolves
    another's secret. ``None`` (the default) is the deployment's own code, as in a
    single-tenant site:

    * With a tenant-scoped backend (``db``), only ``tenant``'s own secrets are found;
      ``None`` means the site's only tenant (``SecretTenantRequiredError`` when there are
      several).
    * With a deployment-wide backend (``env``), every secret is usable on a site with one
      tenant; with several, a tenant gets only the names ``SECRETS.env_grants`` grants
      it. ``None`` reads any of them (no database query): the deployment's own secrets.

    The value is registered with the redaction masker before it is returned, so it (and
    its base64, case-changed and reversed forms) is masked wherever it later appears in a
    log line or a stored output.

    Raises ``InvalidSecretRefError`` for a malformed reference, ``SecretNotFoundError``
    when the tenant has no such secret (the same answer whether another tenant has one or
    not), ``SecretNotGrantedError`` when an env secret is not granted to ``tenant``,
    ``SecretTenantRequiredError`` for ``tenant=None`` on a site with several tenants,
    ``NotFoundError`` for an unknown tenant slug and ``SecretsConfigurationError`` when
    the backend setting is wrong. No message ever holds a value.

    >>> resolve({"$secret": "SLACK_TOKEN"})  # reads AUTOMATE_SLACK_TOKEN by default
    'xoxb-…'
    >>> resolve("$secret:SLACK_TOKEN", tenant="acme")
    'xoxb-…'
    """
    name = secret_ref_name(ref)
    backend = get_backend()
    if backend.tenant_scoped:
        value = backend.get_tenant_secret(name, secret_owner(tenant, name=name))
    else:
        if tenant is not None:
            require_env_grant(name, secret_owner(tenant, name=name))
        value = backend.get_secret(name)
    if not isinstance(value, str):
        raise SecretsConfigurationError(
            f"{type(backend).__qualname__}.get_secret() returned {type(value).__name__}, not str."
        )
    register_secret_value(value)
    return value


def secret_names(*, tenant: Tenant | str | None = None) -> list[str]:
    """Names (never values) of the secrets ``tenant`` may resolve, sorted.

    What the studio's secret picker offers: the tenant's own stored secrets, or the env
    secrets granted to it (all of them on a single-tenant site, or for ``tenant=None``).
    ``tenant`` is read as in ``resolve``. ``[]`` when the backend cannot list them.
    """
    backend = get_backend()
    if backend.tenant_scoped:
        return sorted(backend.list_tenant_keys(secret_owner(tenant, name="*")))
    if tenant is None:
        return sorted(backend.list_keys())
    return visible_env_names(backend.list_keys(), secret_owner(tenant, name="*"))


def resolve_secret_refs(data: Any, *, tenant: Tenant | str | None = None) -> Any:
    """Return a copy of ``data`` with every secret reference replaced by ``tenant``'s value.

    Walks dicts (values only), lists and tuples; everything else is returned as it is.
    ``tenant`` is read as in ``resolve``. Call it at the last moment (inside a connector
    call), never on something you store.
    """
    return _resolve_refs(data, 0, tenant)


def _resolve_refs(value: Any, depth: int, tenant: Tenant | str | None) -> Any:
    if is_secret_ref(value):
        return resolve(value, tenant=tenant)
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, Mapping):
        return {key: _resolve_refs(item, depth + 1, tenant) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_refs(item, depth + 1, tenant) for item in value]
    if isinstance(value, tuple):
        return tuple(_resolve_refs(item, depth + 1, tenant) for item in value)
    return value


# ---------------------------------------------------------------------------------------
# Backends
# ---------------------------------------------------------------------------------------


class SecretsBackend(ABC):
    """Where secret values come from. Subclass it to plug in a vault.

    A backend is built once per ``SECRETS`` setting with that section as ``options``
    (``{"backend": …, "prefix": …}``) and then shared between threads, so keep
    ``get_secret`` thread-safe.

    A backend is either **deployment-wide** (``tenant_scoped = False``, the default: one
    set of secrets for the whole site, usable by a tenant of a multi-tenant site only
    where ``SECRETS.env_grants`` says) or **tenant-scoped** (``tenant_scoped = True``:
    it overrides ``get_tenant_secret`` and ``list_tenant_keys`` and keeps each tenant's
    secrets apart itself).
    """

    tenant_scoped: ClassVar[bool] = False

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        self.options: dict[str, Any] = dict(options or {})

    @abstractmethod
    def get_secret(self, key: str) -> str:
        """Return the value of secret ``key``; raise ``SecretNotFoundError`` when missing.

        ``key`` is already validated against ``SECRET_NAME_PATTERN``.
        """

    def list_keys(self) -> list[str]:
        """Names of the secrets this backend can see (never values); ``[]`` if unknown."""
        return []

    def get_tenant_secret(self, key: str, tenant: Tenant) -> str:
        """Return ``tenant``'s secret ``key``; tenant-scoped backends override this.

        The default is ``get_secret(key)``: a deployment-wide backend has one value per
        name, and ``resolve`` has already checked the tenant's grant.
        """
        return self.get_secret(key)

    def list_tenant_keys(self, tenant: Tenant) -> list[str]:
        """Names of ``tenant``'s secrets; tenant-scoped backends override this."""
        return self.list_keys()

    def check(self) -> list[CheckMessage]:
        """Configuration problems, reported by ``manage.py check`` (none by default)."""
        return []


#: Environment variables Django Automate itself reads; never resolvable as secrets.
RESERVED_VARIABLES = frozenset(
    {
        "AUTOMATE_SECRETS_KEYS",
        "AUTOMATE_TEST_DATABASE_URL",
        "AUTOMATE_TEST_SQLITE_NAME",
        "AUTOMATE_TEST_SINK",
        "AUTOMATE_TEST_LEASE_SECONDS",
        "AUTOMATE_BENCH_ADMIN_URL",
        "AUTOMATE_VAR_DIR",
        "AUTOMATE_LOG_LEVEL",
        "AUTOMATE_LOGGING_SCHEMA",
        "AUTOMATE_WORKER_MODE",
        "AUTOMATE_CHROMIUM",
    }
)


class EnvSecretsBackend(SecretsBackend):
    """Secrets from environment variables: ``NAME`` is read from ``{prefix}NAME``.

    With the default prefix, ``$secret:SLACK_TOKEN`` reads ``AUTOMATE_SLACK_TOKEN``. A
    variable set to the empty string counts as missing. Deployment-wide: on a site with
    several tenants, a tenant uses only the names ``SECRETS.env_grants`` grants it.
    """

    def __init__(self, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(options)
        self.prefix: str = self.options.get("prefix", "AUTOMATE_")

    def get_secret(self, key: str) -> str:
        """Return ``os.environ[prefix + key]``."""
        variable = f"{self.prefix}{key}"
        if variable in RESERVED_VARIABLES:
            # Django Automate's own configuration shares the prefix; never hand it out.
            raise SecretNotFoundError(
                key, hint=f"{variable} is Django Automate's own setting, not a secret."
            )
        value = os.environ.get(variable)
        if value is None:
            raise SecretNotFoundError(key, hint=f"Set the environment variable {variable}.")
        if not value:
            raise SecretNotFoundError(key, hint=f"The environment variable {variable} is empty.")
        return value

    def list_keys(self) -> list[str]:
        """Names of the set, non-empty variables that start with the prefix, unprefixed."""
        start = len(self.prefix)
        return sorted(
            variable[start:]
            for variable, value in os.environ.items()
            if value
            and variable not in RESERVED_VARIABLES
            and variable.startswith(self.prefix)
            and SECRET_NAME_PATTERN.fullmatch(variable[start:])
        )

    def check(self) -> list[CheckMessage]:
        """Warn when the prefix is empty: every environment variable becomes a secret."""
        if self.prefix:
            return []
        return [
            CheckWarning(
                "DJANGO_AUTOMATE['SECRETS']['prefix'] is empty, so workflows can read every "
                "environment variable of the process (DATABASE_URL, DJANGO_SECRET_KEY, …) "
                "as a secret.",
                hint="Set a prefix that only your secrets use, such as 'AUTOMATE_SECRET_'.",
                obj=self,
                id="automate.W011",
            )
        ]


# Built-in backend names -> dotted paths (imported lazily, so a backend that needs models
# is not imported before the app registry is ready). Adding a backend is one line here.
BACKENDS: dict[str, str] = {
    "env": "automate.governance.secrets.EnvSecretsBackend",
    "db": "automate.governance.secret_store.DatabaseSecretsBackend",
}

_SETTING = "DJANGO_AUTOMATE['SECRETS']['backend']"


def _import_backend(path: str, setting_value: str) -> object:
    try:
        return import_string(path)
    except ImportError as exc:
        raise SecretsConfigurationError(
            f"{_SETTING} is {setting_value!r}, but {path!r} cannot be imported: {exc}"
        ) from exc


def _load_entry_point(name: str) -> object | None:
    matches = entry_points(group=ENTRY_POINT_GROUP, name=name)
    for entry_point in matches:
        try:
            loaded: object = entry_point.load()
        except Exception as exc:  # any error raised while importing the plug-in's module
            raise SecretsConfigurationError(
                f"{_SETTING} is {name!r}: the entry point {entry_point.value!r} in group "
                f"{ENTRY_POINT_GROUP!r} failed to load: {exc}"
            ) from exc
        return loaded
    return None


def load_backend_class(name: str) -> type[SecretsBackend]:
    """Return the backend class a ``SECRETS.backend`` value names.

    Looked up, in order, as a built-in name (``BACKENDS``), an entry point named ``name``
    in the group ``django_automate.secrets.backends``, then a dotted path to a
    ``SecretsBackend`` subclass. Raises ``SecretsConfigurationError`` naming the value.
    """
    if not isinstance(name, str) or not name:
        raise SecretsConfigurationError(
            f"{_SETTING} must be a backend name or a dotted path, not {name!r}."
        )
    if name in BACKENDS:
        found = _import_backend(BACKENDS[name], name)
    else:
        found = _load_entry_point(name)
        if found is None:
            if "." not in name:
                raise SecretsConfigurationError(
                    f"{_SETTING} is {name!r}, which is not a built-in backend "
                    f"({', '.join(sorted(BACKENDS))}), an entry point in group "
                    f"{ENTRY_POINT_GROUP!r} or a dotted path to a SecretsBackend subclass."
                )
            found = _import_backend(name, name)
    if not (isinstance(found, type) and issubclass(found, SecretsBackend)):
        raise SecretsConfigurationError(
            f"{_SETTING} is {name!r}, which loads {found!r}: not a SecretsBackend subclass."
        )
    return found


_backends: dict[tuple[str, str], SecretsBackend] = {}
_backends_lock = threading.Lock()


def get_backend() -> SecretsBackend:
    """Return the configured secrets backend instance.

    Instances are cached per ``(backend, prefix)`` setting, so a changed setting (such as
    ``override_settings`` in tests) gets its own backend without clearing anything.
    """
    name = conf.get("SECRETS", "backend")
    prefix = conf.get("SECRETS", "prefix")
    cache_key = (name, prefix)
    backend = _backends.get(cache_key)
    if backend is not None:
        return backend
    with _backends_lock:
        backend = _backends.get(cache_key)
        if backend is None:
            backend_class = load_backend_class(name)
            try:
                backend = backend_class({"backend": name, "prefix": prefix})
            except TypeError as exc:
                raise SecretsConfigurationError(
                    f"{backend_class.__qualname__} cannot be built by {_SETTING}: {exc} "
                    "(a SecretsBackend takes one optional `options` argument)."
                ) from exc
            _backends[cache_key] = backend
    return backend


def clear_backend_cache() -> None:
    """Forget every built backend (for tests that change what a name loads)."""
    with _backends_lock:
        _backends.clear()


def check_secrets_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """System check: the configured secrets backend loads, and its own ``check()`` passes."""
    try:
        backend = get_backend()
    except SecretsConfigurationError as exc:
        return [Error(exc.message, hint="See docs/reference/secrets.md.", id="automate.E010")]
    return backend.check()
