"""Create, check and revoke API tokens.

A token is ``da_<prefix>_<secret>``: a 12-character prefix (the row's indexed, unique
lookup key) and a 43-character secret (about 256 bits, letters and digits). Only
HMAC-SHA256 of the secret under a key derived from ``SECRET_KEY`` is stored: the secret
is a long random value, so a fast keyed hash is as safe as a password hash and costs
microseconds instead of half a second per request. The full token is returned once by
:func:`create_token` and never again; nothing logs it (the redaction patterns of
``automate.governance.redaction`` mask the ``da_…`` shape).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from automate.api.models import SCOPES, ApiToken
from automate.exceptions import AutomateError, NotFoundError
from automate.governance import audit
from automate.tenants.models import Tenant

__all__ = [
    "LAST_USED_EVERY",
    "InvalidTokenError",
    "NewToken",
    "check_token",
    "create_token",
    "parse_token",
    "revoke_token",
    "secret_digest",
]

_ALPHABET = string.ascii_letters + string.digits
PREFIX_LENGTH = 12
SECRET_LENGTH = 43
TOKEN_PATTERN = re.compile(
    rf"^da_([A-Za-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})$"
)
#: ``last_used_at`` is written at most this often per token (not once per request).
LAST_USED_EVERY = timedelta(minutes=1)
MAX_NAME_LENGTH = 100


class InvalidTokenError(AutomateError):
    """The token is unknown, malformed, revoked or expired (one answer for all four)."""

    code = "authentication_failed"
    http_status = 401


@dataclass(frozen=True)
class NewToken:
    """A created token: the row, and the full token text (shown once)."""

    token: ApiToken
    text: str


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def _key() -> bytes:
    return hashlib.sha256(b"automate.api.tokens:" + settings.SECRET_KEY.encode()).digest()


def secret_digest(secret: str) -> str:
    """HMAC-SHA256 of a token's secret part (hex, 64 characters)."""
    return hmac.new(_key(), secret.encode(), hashlib.sha256).hexdigest()


def parse_token(text: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed token, else None."""
    match = TOKEN_PATTERN.match(text)
    return (match[1], match[2]) if match else None


def _validated_scopes(scopes: Any) -> list[str]:
    if not isinstance(scopes, list | tuple) or not scopes or any(s not in SCOPES for s in scopes):
        raise AutomateError(
            gettext("Scopes must be a non-empty list of: %(scopes)s.")
            % {"scopes": ", ".join(SCOPES)},
            code="invalid_request",
            details={"scopes": list(SCOPES)},
        )
    return [s for s in SCOPES if s in scopes]


def _validated_name(name: Any) -> str:
    from automate.guard.parse import InputRejected, check_text

    if not isinstance(name, str) or not name.strip():
        raise AutomateError(gettext("A token needs a name."), code="invalid_request")
    try:
        check_text(name, what="The name", max_length=MAX_NAME_LENGTH)
    except InputRejected as exc:
        raise AutomateError(exc.message, code="invalid_request") from exc
    return name.strip()


def create_token(
    *,
    user: Any,
    tenant: Tenant,
    name: str,
    scopes: list[str] | tuple[str, ...],
    expires_at: datetime | None = None,
) -> NewToken:
    """Create a token for ``user`` in ``tenant`` (audited as ``api_token.create``).

    The caller checks that ``user`` may act in ``tenant``. Raises AutomateError
    (``invalid_request``) for an empty name, unknown scopes or an expiry in the past.
    """
    name = _validated_name(name)
    clean_scopes = _validated_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise AutomateError(gettext("The expiry must be in the future."), code="invalid_request")
    prefix, secret = _random(PREFIX_LENGTH), _random(SECRET_LENGTH)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            tenant=tenant,
            name=name,
            scopes=clean_scopes,
            prefix=prefix,
            secret_hash=secret_digest(secret),
            expires_at=expires_at,
        )
        audit.record(
            action="api_token.create",
            resource_type="api_token",
            resource_id=token.pk,
            actor=user,
            tenant=tenant,
            details={"name": name, "prefix": prefix, "scopes": clean_scopes},
        )
    return NewToken(token=token, text=f"da_{prefix}_{secret}")


def check_token(text: str) -> ApiToken:
    """The active token ``text`` names (with its user and tenant), else InvalidTokenError.

    Refused too when its user is inactive or no longer belongs to the token's tenant
    (removed from it): such a token neither reads nor writes.

    One indexed lookup by prefix and a constant-time comparison of the keyed hash;
    ``last_used_at`` is written at most once per :data:`LAST_USED_EVERY`.
    """
    parts = parse_token(text)
    refused = InvalidTokenError(gettext("The API token is invalid, revoked or expired."))
    if parts is None:
        raise refused
    prefix, secret = parts
    token = ApiToken.objects.select_related("user", "tenant").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.secret_hash, secret_digest(secret)):
        raise refused
    if not token.is_active or not token.user.is_active:
        raise refused
    if not _still_in_tenant(token):
        raise refused
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def _still_in_tenant(token: ApiToken) -> bool:
    """Whether the token's user may still act in the token's tenant (superusers always;
    members while they belong to it; the same rule as the studio's tenant list)."""
    from automate.tenants.queries import tenant_ids_for

    ids = tenant_ids_for(token.user)
    return ids is None or token.tenant_id in ids


def revoke_token(*, token: ApiToken, actor: Any = None) -> ApiToken:
    """Revoke ``token`` now (audited as ``api_token.revoke``); revoking twice is a no-op."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            action="api_token.revoke",
            resource_type="api_token",
            resource_id=token.pk,
            actor=actor,
            tenant=token.tenant,
            details={"name": token.name, "prefix": token.prefix},
        )
    return token


def tokens_of(user: Any) -> Any:
    """The user's tokens, newest first (revoked ones included)."""
    return ApiToken.objects.filter(user=user).select_related("tenant")


def token_of(user: Any, token_id: int) -> ApiToken:
    """One of the user's tokens, else NotFoundError."""
    token: ApiToken | None = tokens_of(user).filter(pk=token_id).first()
    if token is None:
        raise NotFoundError(gettext("No such token."), details={"id": token_id})
    return token
