"""Type aliases shared across the package."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    # Any AUTH_USER_MODEL: the services rely only on what every user model has
    # (``pk``, ``is_authenticated``, ``get_username()``), never on ``auth.User``.
    from django.contrib.auth.base_user import AbstractBaseUser as UserType
else:
    UserType = Any

__all__ = ["UserType", "acting_user"]


def acting_user(request: HttpRequest) -> UserType:
    """The signed-in user of ``request``: who the audit log names for a change made in
    the studio or the admin (both let no anonymous user make one)."""
    from django.core.exceptions import PermissionDenied

    user = request.user
    if not user.is_authenticated:
        raise PermissionDenied("Sign in first.")
    return user
