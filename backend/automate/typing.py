"""Type aliases shared across the package."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # The user model as the type checker resolves AUTH_USER_MODEL.
    from django.contrib.auth.models import User as UserType
else:
    UserType = Any

__all__ = ["UserType"]
