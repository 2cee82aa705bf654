"""Who may use the studio, what they may do in it, and which tenants' things they see.

Opening the studio needs ``automate.use_studio``; each kind of change needs its own
permission, the same one the admin checks (superusers have them all; staff status alone
grants nothing):

* ``automate.change_workflow``: edit drafts and node settings, save rules, create
  workflows, "Test this step" (it runs the step with the tenant's real secrets);
* ``automate.publish_workflow``: publish and roll back;
* ``automate.operate_run``: retry a step, resume, cancel, replay dead-lettered jobs.

A refused change answers 403 in the studio's error display (the error shape for the JSON
endpoints) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from automate.guard.http import guarded
from automate.tenants.models import Tenant
from automate.tenants.queries import tenants_for

View = TypeVar("View", bound=Callable[..., HttpResponse])

USE_STUDIO = "automate.use_studio"
CHANGE_WORKFLOW = "automate.change_workflow"
PUBLISH_WORKFLOW = "automate.publish_workflow"
OPERATE_RUN = "automate.operate_run"
#: Each studio permission and the name the admin shows for it.
PERMISSION_NAMES = {
    USE_STUDIO: gettext_lazy("Can use the workflow studio"),
    CHANGE_WORKFLOW: gettext_lazy("Can change workflow"),
    PUBLISH_WORKFLOW: gettext_lazy("Can publish and roll back workflows"),
    OPERATE_RUN: gettext_lazy("Can retry, resume and cancel runs and replay dead-lettered jobs"),
}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ERROR_TEMPLATE = "studio/input_error.html"
ERROR_PARTIAL = "studio/partials/input_error.html"

#: The input guard of every studio page and HTMX partial: refusals are 4xx and show the
#: message where the page expects it (automate.guard.http).
studio_guard = guarded("html", error_template=ERROR_TEMPLATE, partial_template=ERROR_PARTIAL)
#: The input guard of the studio's JSON endpoints (draft.json, palette.json).
studio_json_guard = guarded("json")


def has_permission(user: Any, perm: str) -> bool:
    """``user`` is signed in, active and holds ``perm`` (superusers hold every one)."""
    if not (user is not None and user.is_authenticated and user.is_active):
        return False
    # A custom user model without PermissionsMixin has no has_perm: it holds nothing.
    check = getattr(user, "has_perm", None)
    return bool(check is not None and check(perm))


def can_use_studio(user: Any) -> bool:
    """The user holds ``automate.use_studio`` (staff status alone is not enough)."""
    return has_permission(user, USE_STUDIO)


def missing_permission(user: Any, perm: str) -> str:
    """The sentence telling ``user`` they lack ``perm``, or "" when they hold it."""
    if has_permission(user, perm):
        return ""
    return _("You need the “%(name)s” permission (%(perm)s).") % {
        "name": PERMISSION_NAMES.get(perm, perm),
        "perm": perm,
    }


def studio_view(view: View) -> View:
    """Login required (redirects to the studio login), then the studio permission (403)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_use_studio(request.user):
            raise PermissionDenied(missing_permission(request.user, USE_STUDIO))
        return view(request, *args, **kwargs)

    return cast(View, login_required(wrapped))


def needs_permission(perm: str, *, json: bool = False) -> Callable[[View], View]:
    """Refuse a change (any method but GET/HEAD/OPTIONS) by a user without ``perm``: 403
    with the studio's error display (an HTMX partial for HTMX requests; the error shape
    with ``json=True``), before the view runs, so nothing changes."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in _SAFE_METHODS:
                message = missing_permission(request.user, perm)
                if message:
                    return permission_refusal(request, message, perm, json=json)
            return view(request, *args, **kwargs)

        return cast(View, wrapped)

    return decorate


def permission_refusal(
    request: HttpRequest, message: str, perm: str, *, json: bool = False
) -> HttpResponse:
    """The 403 answer to a change the user may not make."""
    details = {"permission": perm}
    if json:
        from automate.api.errors import json_error

        return json_error(request, 403, "permission_denied", message, details)
    template = ERROR_PARTIAL if request.headers.get("HX-Request") else ERROR_TEMPLATE
    context = {"message": message, "code": "permission_denied", "details": details, "status": 403}
    return HttpResponse(render_to_string(template, context, request=request), status=403)


def user_tenants(request: HttpRequest) -> QuerySet[Tenant]:
    """The tenants whose workflows and runs this user may see."""
    return tenants_for(request.user)
