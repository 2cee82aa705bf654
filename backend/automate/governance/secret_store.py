"""Secrets kept in the database, encrypted at rest: the ``db`` secrets backend.

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys that live only in
the environment, never in the database: ``AUTOMATE_SECRETS_KEYS`` is a comma-separated
list of Fernet keys, newest first. New ciphertext is always made with the first key; any
key in the list can decrypt, so a key is rotated by putting a new one in front, running
``rotate_encryption_key()`` (``manage.py automate_secrets rotate-key``) and then dropping
the old one.

Each stored secret belongs to one tenant (unique per tenant and name), and the backend
answers only for the tenant asked about. Writes go through the services here
(``create_secret``, ``rotate_secret``, ``update_secret_description``, ``delete_secret``,
``rotate_encryption_key``): each one is audited with the secret's name and tenant, never
its value. See docs/howto/secrets.md.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.checks import CheckMessage, Error
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from automate.exceptions import AutomateError, ConflictError
from automate.governance import audit
from automate.governance.exceptions import SecretNotFoundError, SecretsConfigurationError
from automate.governance.models import StoredSecret
from automate.governance.redaction import register_secret_value
from automate.governance.secret_grants import secret_owner
from automate.governance.secrets import SECRET_REF_KEY, SecretsBackend, secret_ref_name
from automate.tenants.models import Tenant
from automate.typing import UserType

__all__ = [
    "GENERATE_KEY_COMMAND",
    "KEYS_VARIABLE",
    "MAX_SECRET_VALUE_BYTES",
    "DatabaseSecretsBackend",
    "InvalidSecretValueError",
    "SecretAlreadyExistsError",
    "check_encryption_keys",
    "create_secret",
    "decrypt_secret",
    "delete_secret",
    "encryption",
    "rotate_encryption_key",
    "rotate_secret",
    "update_secret_description",
    "validate_secret_name",
    "validate_secret_value",
]

KEYS_VARIABLE = "AUTOMATE_SECRETS_KEYS"
GENERATE_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
MAX_SECRET_VALUE_BYTES = 64 * 1024
RESOURCE_TYPE = "stored_secret"

Actor = UserType | AnonymousUser | None


class InvalidSecretValueError(AutomateError):
    """A secret value is not a non-empty string of at most 64 KB (UTF-8)."""

    code = "invalid_secret_value"


class SecretAlreadyExistsError(ConflictError):
    """``create_secret`` was given a name that is already stored; rotate it instead."""

    code = "secret_already_exists"


# ---------------------------------------------------------------------------------------
# Keys and encryption
# ---------------------------------------------------------------------------------------


def _missing_keys_hint() -> str:
    if settings.DEBUG:
        # Development: say exactly what to type. Nothing is derived or generated silently,
        # because a key made up at start-up would make every stored secret unreadable at
        # the next restart.
        return (
            f"For development, run: export {KEYS_VARIABLE}=$({GENERATE_KEY_COMMAND}) "
            "and keep that key (in your .env, say): secrets encrypted with it cannot be "
            "read without it."
        )
    return (
        f"Generate a key with: {GENERATE_KEY_COMMAND} and set {KEYS_VARIABLE} to it in the "
        "environment of every web and worker process (several keys: comma-separated, "
        "newest first)."
    )


def _key_problem(raw: str | None) -> tuple[str, str, str] | None:
    """``(message, hint, check id)`` when ``raw`` is not a usable key list, else None."""
    keys = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not keys:
        state = "is not set" if raw is None else "is empty"
        return (
            f"{KEYS_VARIABLE} {state}, so the db secrets backend can neither encrypt nor "
            "decrypt secrets.",
            _missing_keys_hint(),
            "automate.E012",
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:  # binascii.Error is a ValueError too
            # The key itself is never repeated: it may be a real key with a typo in it.
            return (
                f"{KEYS_VARIABLE} entry {position} of {len(keys)} is not a valid Fernet key "
                "(it must be 32 url-safe base64-encoded bytes).",
                f"Generate a key with: {GENERATE_KEY_COMMAND}",
                "automate.E013",
            )
    return None


@functools.lru_cache(maxsize=8)
def _multi_fernet(raw: str) -> MultiFernet:
    return MultiFernet([Fernet(part.strip()) for part in raw.split(",") if part.strip()])


def encryption() -> MultiFernet:
    """The ``MultiFernet`` built from ``AUTOMATE_SECRETS_KEYS`` (newest key first).

    Read from the environment on every call (the ciphers are cached per value of the
    variable), so a changed variable is seen at once. Raises
    ``SecretsConfigurationError`` naming the variable when it is missing or malformed.
    """
    raw = os.environ.get(KEYS_VARIABLE)
    problem = _key_problem(raw)
    if problem is not None:
        message, hint, _ = problem
        raise SecretsConfigurationError(f"{message} {hint}")
    assert raw is not None  # _key_problem found at least one key
    return _multi_fernet(raw)


def check_encryption_keys() -> list[CheckMessage]:
    """System check errors for a missing (``automate.E012``) or bad (``E013``) key list."""
    problem = _key_problem(os.environ.get(KEYS_VARIABLE))
    if problem is None:
        return []
    message, hint, check_id = problem
    return [Error(message, hint=hint, id=check_id)]


def _encrypt(value: str) -> str:
    return encryption().encrypt(value.encode("utf-8")).decode("ascii")


def _cannot_decrypt(name: str) -> SecretsConfigurationError:
    # Never include the ciphertext: it is useless to the reader and feeds offline attacks.
    return SecretsConfigurationError(
        f'Stored secret "{name}" cannot be decrypted with the keys in {KEYS_VARIABLE}: it '
        "was encrypted with a key that is not in the list (or the row was altered). Put "
        f"that key back in {KEYS_VARIABLE} after the new one, then run: python manage.py "
        "automate_secrets rotate-key"
    )


def decrypt_secret(secret: StoredSecret) -> str:
    """The plaintext value of ``secret``, registered with the redaction masker.

    Raises ``SecretsConfigurationError`` when no configured key can decrypt it.
    """
    try:
        value = encryption().decrypt(secret.ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError):
        raise _cannot_decrypt(secret.name) from None
    register_secret_value(value)
    return value


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------


def validate_secret_name(name: object) -> str:
    """Return ``name`` if it is a valid secret name, else raise ``InvalidSecretRefError``.

    The same rule as references: 1-128 letters, digits and underscores, not starting with
    a digit (``automate.governance.secrets.secret_ref_name`` decides).
    """
    return secret_ref_name({SECRET_REF_KEY: name})


def validate_secret_value(value: object) -> str:
    """Return ``value`` if it is a non-empty string of at most 64 KB in UTF-8.

    Raises ``InvalidSecretValueError``; the message never repeats the value.
    """
    if not isinstance(value, str):
        raise InvalidSecretValueError(
            gettext("A secret value must be a string, not %(type)s.")
            % {"type": type(value).__name__}
        )
    if not value:
        raise InvalidSecretValueError(gettext("A secret value cannot be empty."))
    size = len(value.encode("utf-8"))
    if size > MAX_SECRET_VALUE_BYTES:
        raise InvalidSecretValueError(
            gettext(
                "A secret value can be at most %(kb)s KB "
                "(%(bytes)s bytes in UTF-8); this one is %(size)s bytes."
            )
            % {"kb": MAX_SECRET_VALUE_BYTES // 1024, "bytes": MAX_SECRET_VALUE_BYTES, "size": size}
        )
    return value


# ---------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------


def _user_id(actor: Actor) -> Any:
    # By id: the model field is typed as AUTH_USER_MODEL, the actor as any user.
    return actor.pk if actor is not None and actor.is_authenticated else None


def _not_found(name: str, tenant: Tenant) -> SecretNotFoundError:
    # The same answer whether another tenant has a secret of this name or not.
    return SecretNotFoundError(
        name,
        hint=f'Tenant "{tenant.slug}" has no stored secret of this name; create it with: '
        f"python manage.py automate_secrets set {name} --tenant {tenant.slug}",
    )


def _locked(name: str, tenant: Tenant) -> StoredSecret:
    try:
        return StoredSecret.objects.select_for_update().get(tenant=tenant, name=name)
    except StoredSecret.DoesNotExist:
        raise _not_found(name, tenant) from None


def create_secret(
    name: str,
    value: str,
    *,
    tenant: Tenant | str | None = None,
    actor: Actor = None,
    description: str = "",
) -> StoredSecret:
    """Encrypt ``value`` and store it as ``tenant``'s secret ``name``; audited as
    ``secret.create``.

    ``tenant`` is a ``Tenant``, a slug, or ``None`` for the site's only tenant (an error
    on a site with several: ``SecretTenantRequiredError``). Only that tenant's workflows
    can use it, as ``{"$secret": name}``; another tenant may have its own secret of the
    same name. Raises ``InvalidSecretRefError`` for a bad name,
    ``InvalidSecretValueError`` for a bad value, ``SecretAlreadyExistsError`` when the
    tenant already has that name (use ``rotate_secret``) and ``SecretsConfigurationError``
    when ``AUTOMATE_SECRETS_KEYS`` is not usable.
    """
    name = validate_secret_name(name)
    value = validate_secret_value(value)
    owner = secret_owner(tenant, name=name)
    ciphertext = _encrypt(value)
    try:
        with transaction.atomic():
            secret = StoredSecret.objects.create(
                tenant=owner,
                name=name,
                ciphertext=ciphertext,
                description=description,
                created_by_id=_user_id(actor),
            )
            audit.record(
                action="secret.create",
                resource_type=RESOURCE_TYPE,
                resource_id=secret.pk,
                actor=actor,
                tenant=owner,
                details={"name": name, "description": description},
            )
    except IntegrityError:
        if StoredSecret.objects.filter(tenant=owner, name=name).exists():
            raise SecretAlreadyExistsError(
                gettext(
                    'Tenant "%(tenant)s" already has a secret named "%(name)s"; rotate it to '
                    "change its value."
                )
                % {"tenant": owner.slug, "name": name},
                details={"name": name, "tenant": owner.slug},
            ) from None
        raise
    register_secret_value(value)
    return secret


def rotate_secret(
    name: str, new_value: str, *, tenant: Tenant | str | None = None, actor: Actor = None
) -> StoredSecret:
    """Replace the value of ``tenant``'s secret ``name``; audited as ``secret.rotate``.

    Workflows that reference ``{"$secret": name}`` get the new value from their next run.
    Sets ``rotated_at``. ``tenant`` is read as in ``create_secret``. Raises
    ``SecretNotFoundError`` when the tenant has no such secret.
    """
    name = validate_secret_name(name)
    new_value = validate_secret_value(new_value)
    owner = secret_owner(tenant, name=name)
    ciphertext = _encrypt(new_value)
    with transaction.atomic():
        secret = _locked(name, owner)
        secret.ciphertext = ciphertext
        secret.rotated_at = timezone.now()
        secret.save(update_fields=["ciphertext", "rotated_at"])
        audit.record(
            action="secret.rotate",
            resource_type=RESOURCE_TYPE,
            resource_id=secret.pk,
            actor=actor,
            tenant=owner,
            details={"name": name},
        )
    register_secret_value(new_value)
    return secret


def update_secret_description(
    name: str, description: str, *, tenant: Tenant | str | None = None, actor: Actor = None
) -> StoredSecret:
    """Change what the secret is described as (not its value); audited as ``secret.update``."""
    name = validate_secret_name(name)
    owner = secret_owner(tenant, name=name)
    with transaction.atomic():
        secret = _locked(name, owner)
        if secret.description == description:
            return secret
        secret.description = description
        secret.save(update_fields=["description"])
        audit.record(
            action="secret.update",
            resource_type=RESOURCE_TYPE,
            resource_id=secret.pk,
            actor=actor,
            tenant=owner,
            details={"name": name, "description": description},
        )
    return secret


def delete_secret(name: str, *, tenant: Tenant | str | None = None, actor: Actor = None) -> None:
    """Delete ``tenant``'s secret ``name``; audited as ``secret.delete``.

    That tenant's runs that reference it fail with ``SecretNotFoundError`` from then on.
    Raises ``SecretNotFoundError`` when the tenant has no such secret.
    """
    name = validate_secret_name(name)
    owner = secret_owner(tenant, name=name)
    with transaction.atomic():
        secret = _locked(name, owner)
        secret_id = secret.pk
        secret.delete()
        audit.record(
            action="secret.delete",
            resource_type=RESOURCE_TYPE,
            resource_id=secret_id,
            actor=actor,
            tenant=owner,
            details={"name": name},
        )


def rotate_encryption_key(*, actor: Actor = None) -> int:
    """Re-encrypt every stored secret with the newest key; return how many were.

    Put the new key first in ``AUTOMATE_SECRETS_KEYS`` (keeping the old ones after it),
    call this, then remove the old keys. One transaction: if any row cannot be decrypted
    with the configured keys, nothing changes and ``SecretsConfigurationError`` names it.
    Audited as ``secret.rotate_key``.
    """
    fernet = encryption()
    with transaction.atomic():
        secrets = list(StoredSecret.objects.select_for_update().order_by("pk"))
        for secret in secrets:
            try:
                secret.ciphertext = fernet.rotate(secret.ciphertext.encode("ascii")).decode("ascii")
            except InvalidToken:
                raise _cannot_decrypt(secret.name) from None
        StoredSecret.objects.bulk_update(secrets, ["ciphertext"], batch_size=500)
        audit.record(
            action="secret.rotate_key",
            resource_type=RESOURCE_TYPE,
            actor=actor,
            details={"count": len(secrets)},
        )
    return len(secrets)


# ---------------------------------------------------------------------------------------
# Backend
# ---------------------------------------------------------------------------------------


class DatabaseSecretsBackend(SecretsBackend):
    """Secrets from the ``StoredSecret`` table, decrypted with ``AUTOMATE_SECRETS_KEYS``.

    Selected with ``DJANGO_AUTOMATE = {"SECRETS": {"backend": "db"}}``. Tenant-scoped:
    each tenant sees only its own rows. Holds no state of its own, so it is thread-safe.
    """

    tenant_scoped = True

    def get_secret(self, key: str) -> str:
        """Decrypt and return secret ``key`` of the site's only tenant (single-tenant code)."""
        return self.get_tenant_secret(key, secret_owner(None, name=key))

    def get_tenant_secret(self, key: str, tenant: Tenant) -> str:
        """Decrypt and return ``tenant``'s secret ``key``.

        Raises ``SecretNotFoundError`` when the tenant has no such secret (whether or not
        another tenant has one) and ``SecretsConfigurationError`` when the keys are
        missing, malformed or cannot decrypt it.
        """
        encryption()  # a missing key is a configuration error even for an absent secret
        try:
            secret = StoredSecret.objects.only("name", "ciphertext").get(tenant=tenant, name=key)
        except StoredSecret.DoesNotExist:
            raise _not_found(key, tenant) from None
        return decrypt_secret(secret)

    def list_keys(self) -> list[str]:
        """Names of the stored secrets of the site's only tenant."""
        return self.list_tenant_keys(secret_owner(None, name="*"))

    def list_tenant_keys(self, tenant: Tenant) -> list[str]:
        """Names of ``tenant``'s stored secrets (names are not encrypted: no key needed)."""
        return list(
            StoredSecret.objects.filter(tenant=tenant)
            .order_by("name")
            .values_list("name", flat=True)
        )

    def check(self) -> list[CheckMessage]:
        """Errors when ``AUTOMATE_SECRETS_KEYS`` is missing or holds a malformed key."""
        return check_encryption_keys()
