"""The studio's API tokens page: the user's tokens, a form to create one (shown once,
with a copy button) and revoke buttons. Tokens are per user and tenant; see
``automate.api.tokens`` and docs/howto/api.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from automate.api.models import SCOPES
from automate.api.tokens import create_token, revoke_token, token_of, tokens_of
from automate.exceptions import AutomateError
from automate.guard.parse import is_whole_number
from automate.tenants.queries import tenants_for
from studio.access import studio_guard, studio_view

PAGE = "studio/api_tokens/page.html"
#: Choices of the expiry field: days (0: never).
EXPIRY_DAYS = (30, 90, 365, 0)
SHOWN = 50
DEFAULT_FORM = {"expiry": "90", "scopes": ["read"]}


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "tokens": list(tokens_of(request.user)[:SHOWN]),
        "tenants": list(tenants_for(request.user).order_by("slug")[:200]),
        "scopes": SCOPES,
        "expiry_days": EXPIRY_DAYS,
        "now": timezone.now(),
        **extra,
    }


def _create(request: HttpRequest) -> HttpResponse:
    form: dict[str, Any] = {
        "name": request.POST.get("name", "").strip(),
        "tenant": request.POST.get("tenant", ""),
        "scopes": request.POST.getlist("scopes"),
        "expiry": request.POST.get("expiry", "90"),
    }
    tenant = tenants_for(request.user).filter(slug=form["tenant"]).first()
    error = ""
    if tenant is None:
        error = gettext("Choose one of your tenants.")
    expiry = form["expiry"]
    days = int(expiry) if is_whole_number(expiry) and len(expiry) < 6 else -1
    if days not in EXPIRY_DAYS:
        error = error or gettext("Choose when the token expires.")
    if not error:
        expires = timezone.now() + timedelta(days=days) if days else None
        try:
            new = create_token(
                user=request.user,
                tenant=tenant,  # type: ignore[arg-type]
                name=form["name"],
                scopes=form["scopes"],
                expires_at=expires,
            )
        except AutomateError as exc:
            error = exc.message
        else:
            return render(request, PAGE, _context(request, created=new, form=DEFAULT_FORM))
    return render(request, PAGE, _context(request, error=error, form=form), status=400)


@studio_guard
@studio_view
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """GET the page; POST creates a token and shows it this once."""
    if request.method == "POST":
        return _create(request)
    return render(request, PAGE, _context(request, form=DEFAULT_FORM))


@studio_guard
@studio_view
@require_POST
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    """Revoke one of the user's tokens (404 for anyone else's)."""
    try:
        token = token_of(request.user, token_id)
    except AutomateError as exc:
        from django.http import Http404

        raise Http404(exc.message) from None
    revoke_token(token=token, actor=request.user)
    messages.success(request, gettext("The token %(name)s is revoked.") % {"name": token.name})
    return redirect("studio:api_tokens")
