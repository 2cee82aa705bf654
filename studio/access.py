"""Who may use the studio, and which tenants' things they see."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from automate.guard.http import guarded
from automate.tenants.models import Tenant
from automate.tenants.queries import tenants_for

View = TypeVar("View", bound=Callable[..., HttpResponse])


#: The input guard of every studio page and HTMX partial: refusals are 4xx and show the
#: message where the page expects it (automate.guard.http).
studio_guard = guarded(
    "html",
    error_template="studio/input_error.html",
    partial_template="studio/partials/input_error.html",
)
#: The input guard of the studio's JSON endpoints (draft.json, palette.json).
studio_json_guard = guarded("json")


def can_use_studio(user: Any) -> bool:
    """Staff, or anyone with the ``automate.use_studio`` permission."""
    return bool(user.is_authenticated and (user.is_staff or user.has_perm("automate.use_studio")))


def studio_view(view: View) -> View:
    """Login required (redirects to the studio login), then the studio permission (403)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_use_studio(request.user):
            raise PermissionDenied(
                gettext("You need the 'Can use the workflow studio' permission.")
            )
        return view(request, *args, **kwargs)

    return cast(View, login_required(wrapped))


def user_tenants(request: HttpRequest) -> QuerySet[Tenant]:
    """The tenants whose workflows and runs this user may see."""
    return tenants_for(request.user)
