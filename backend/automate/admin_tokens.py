"""Admin for API tokens: create one (shown once, on the page that answers the add form),
list and revoke. The token's secret is never stored or shown again; the list shows the
prefix only. Creating and revoking go through ``automate.api.tokens`` (audited).

Importing this module registers ``ApiTokenAdmin`` (``automate.admin`` imports it).
"""

from __future__ import annotations

import functools
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.utils.translation import gettext, gettext_lazy, ngettext

from automate.admin_tenancy import TenantScopedAdmin
from automate.api.models import SCOPES, ApiToken
from automate.api.tokens import create_token, revoke_token
from automate.exceptions import AutomateError

__all__ = ["ApiTokenAdmin", "ApiTokenCreateForm"]


class ApiTokenCreateForm(forms.ModelForm):  # type: ignore[type-arg]
    """Name, tenant, scopes and expiry; the token is made for the signed-in user."""

    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["read"],
        help_text=gettext_lazy(
            "read: every GET; write: events, drafts, runs; publish: publish and roll back; "
            "admin: secrets and tokens. Never more than the user's own permissions."
        ),
    )

    class Meta:
        model = ApiToken
        fields = ["name", "tenant", "scopes", "expires_at"]


_CREATED_PAGE = """{% extends "admin/base_site.html" %}{% load i18n %}
{% block content %}<div id="content-main">
<p><strong>{% blocktranslate with name=token.name %}Token “{{ name }}” created.
{% endblocktranslate %}</strong>
{% translate "Copy it now: it is shown only this once and cannot be shown again." %}</p>
<p><code id="api-token-value" style="font-size:14px;padding:6px 8px;background:#fffbeb;
border:1px solid #fde68a;display:inline-block;word-break:break-all">{{ text }}</code></p>
<p>{% translate "Send it as" %} <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<p><a class="button" href="{{ back }}">{% translate "Back to the tokens" %}</a></p>
</div>{% endblock %}
"""


@functools.cache
def _created_template() -> Any:
    return engines["django"].from_string(_CREATED_PAGE)


@admin.action(description=gettext_lazy("Revoke the selected tokens"), permissions=["change"])
def revoke_tokens(
    modeladmin: ApiTokenAdmin, request: HttpRequest, queryset: QuerySet[ApiToken]
) -> None:
    count = 0
    for token in queryset.filter(revoked_at__isnull=True)[:1000]:
        revoke_token(token=token, actor=request.user)
        count += 1
    modeladmin.message_user(
        request,
        ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", count) % {"n": count},
        messages.SUCCESS,
    )


@admin.register(ApiToken)
class ApiTokenAdmin(TenantScopedAdmin):
    """Tokens of the user's tenants; added for the signed-in user, never edited."""

    list_display = [
        "name",
        "user",
        "tenant",
        "scope_list",
        "shown_prefix",
        "status",
        "last_used_at",
    ]
    list_select_related = ["user", "tenant"]
    list_filter = ["tenant"]
    actions = [revoke_tokens]
    readonly_fields = [
        "name", "user", "tenant", "scopes", "shown_prefix", "created_at", "expires_at",
        "last_used_at", "revoked_at",
    ]  # fmt: skip

    @admin.display(description=gettext_lazy("scopes"))
    def scope_list(self, obj: ApiToken) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: ApiToken) -> str:
        """Revoked, expired, or active (until when)."""
        from django.utils import formats, timezone

        if obj.revoked_at is not None:
            return gettext("revoked")
        if obj.expires_at is None:
            return gettext("active, no expiry")
        if obj.expires_at <= timezone.now():
            return gettext("expired")
        return gettext("active until %(date)s") % {
            "date": formats.date_format(obj.expires_at, "SHORT_DATE_FORMAT")
        }

    @admin.display(description=gettext_lazy("token"))
    def shown_prefix(self, obj: ApiToken) -> str:
        return f"da_{obj.prefix}_…"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["name", "tenant", "scopes", "expires_at"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        try:
            new = create_token(
                user=request.user,
                tenant=form.cleaned_data["tenant"],
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data.get("expires_at"),
            )
        except AutomateError as exc:
            raise ValidationError(exc.message) from exc
        obj.pk = new.token.pk
        request._automate_new_token = new  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: Any = None
    ) -> HttpResponse:
        new = getattr(request, "_automate_new_token", None)
        if new is None:
            return super().response_add(request, obj, post_url_continue)
        from django.urls import reverse

        context = {
            **self.admin_site.each_context(request),
            "title": gettext("API token created"),
            "token": new.token,
            "text": new.text,
            "back": reverse("admin:automate_apitoken_changelist"),
            "opts": self.opts,
        }
        return TemplateResponse(request, _created_template(), context)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # create_token wrote the audit entry (the admin log would repeat it)
