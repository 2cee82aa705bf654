"""Admin for stored secrets (the ``db`` secrets backend).

A value is write-only: it is typed into a password input when the secret is added or
rotated, is never rendered back (the change page shows ``********``), and the ciphertext is
never shown. Every write goes through ``automate.governance.secret_store``, so each one is
encrypted and audited.

Importing this module registers ``StoredSecretAdmin`` with the default admin site
(``automate.admin`` imports it).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from automate.base.admin import TenantScopedAdmin
from automate.exceptions import AutomateError
from automate.governance import secret_store
from automate.governance.backend_info import active_backend
from automate.governance.models import StoredSecret
from automate.governance.redaction import MASK
from automate.governance.secret_grants import secret_owner
from automate.tenants.models import Tenant

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

__all__ = ["RotateSecretForm", "StoredSecretAdmin", "StoredSecretCreateForm"]

_VALUE_HELP = format_lazy(
    gettext_lazy(
        "Write-only: it is encrypted before it is saved and never shown again. At most {} KB."
    ),
    secret_store.MAX_SECRET_VALUE_BYTES // 1024,
)


def _value_field(label: StrOrPromise) -> forms.CharField:
    # strip=False: the value is stored exactly as typed; render_value=False: a re-shown
    # form (after a validation error) never puts the value back into the page.
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_VALUE_HELP,
    )


def _check_value(value: str) -> str:
    try:
        secret_store.validate_secret_value(value)
        secret_store.encryption()  # missing keys: say so on the form, not as a 500
    except AutomateError as exc:
        raise ValidationError(exc.message) from None
    return value


class StoredSecretCreateForm(forms.ModelForm):  # type: ignore[type-arg]
    """Add form: the owning tenant, a name, a description and the value (password input)."""

    value = _value_field(gettext_lazy("Value"))

    class Meta:
        model = StoredSecret
        fields = ["tenant", "name", "description"]
        help_texts = {
            "tenant": gettext_lazy("Only this tenant's workflows can use the secret."),
            "name": gettext_lazy(
                'The tenant\'s workflows refer to it as {"$secret": "NAME"}: letters, '
                "digits and underscores, not starting with a digit (like SLACK_TOKEN)."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A site with one tenant needs no choice: that tenant owns the secret.
        tenant_field = self.fields["tenant"]
        assert isinstance(tenant_field, forms.ModelChoiceField)
        tenant_field.required = False
        tenant_field.empty_label = gettext("(the site's only tenant, if it has just one)")

    def clean_tenant(self) -> Tenant:
        tenant: Tenant | None = self.cleaned_data.get("tenant")
        if tenant is not None:
            return tenant
        try:
            return secret_owner(None, name="*")
        except AutomateError:
            raise ValidationError(
                gettext("Choose the tenant that owns this secret: this site has several tenants.")
            ) from None

    def clean_name(self) -> str:
        try:
            return secret_store.validate_secret_name(self.cleaned_data["name"])
        except AutomateError as exc:
            raise ValidationError(exc.message) from None

    def clean_value(self) -> str:
        return _check_value(self.cleaned_data["value"])


class RotateSecretForm(forms.Form):
    """The rotate page: the new value, which replaces the old one under the same name."""

    new_value = _value_field(gettext_lazy("New value"))

    def clean_new_value(self) -> str:
        return _check_value(self.cleaned_data["new_value"])


# The rotate page is one small form, kept here so this admin is a single module.
_ROTATE_PAGE = """{% extends "admin/base_site.html" %}{% load admin_urls i18n %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate "Home" %}</a>
&rsaquo; <a href="{% url 'admin:app_list' app_label=opts.app_label %}">
{{ opts.app_config.verbose_name }}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">
{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'change' original.pk|admin_urlquote %}">
{{ original }}</a>
&rsaquo; {% translate "Rotate" %}
</div>{% endblock %}
{% block content %}<div id="content-main">
<p>{% blocktranslate trimmed with name=original.name %}
Workflows keep referring to <code>{"$secret": "{{ name }}"}</code>; their next
runs get the new value. The old value cannot be recovered.
{% endblocktranslate %}</p>
<form method="post" novalidate>{% csrf_token %}{{ form.non_field_errors }}
<fieldset class="module aligned">{% for field in form %}
<div class="form-row{% if field.errors %} errors{% endif %}">{{ field.errors }}
<div class="flex-container">{{ field.label_tag }} {{ field }}</div>
<div class="help">{{ field.help_text }}</div></div>{% endfor %}
</fieldset>
<div class="submit-row">
<input type="submit" class="default" value="{% translate 'Rotate secret' %}"></div>
</form></div>{% endblock %}
"""


@functools.cache
def _rotate_template() -> Any:
    return engines["django"].from_string(_ROTATE_PAGE)


@admin.action(description=gettext_lazy("Rotate the selected secret"), permissions=["change"])
def rotate_selected_secret(
    modeladmin: StoredSecretAdmin, request: HttpRequest, queryset: QuerySet[StoredSecret]
) -> HttpResponse | None:
    """Open the rotate page of the one selected secret (each secret needs its own value)."""
    selected = list(queryset[:2])
    if len(selected) != 1:
        modeladmin.message_user(
            request,
            gettext("Select exactly one secret to rotate: each secret needs its own new value."),
            messages.WARNING,
        )
        return None
    return HttpResponseRedirect(
        reverse("admin:automate_storedsecret_rotate", args=[selected[0].pk])
    )


@admin.register(StoredSecret)
class StoredSecretAdmin(TenantScopedAdmin):
    """Stored secrets: add with a value, rotate, describe, delete; never read back.

    Scoped on ``StoredSecret.tenant``: staff see only their tenants' secrets.
    """

    list_display = ["name", "tenant", "description", "created_by", "created_at", "rotated_at"]
    list_select_related = ["created_by", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["name", "description"]
    date_hierarchy = "created_at"
    actions = [rotate_selected_secret]

    # -- forms ---------------------------------------------------------------------------

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("tenant", "name", "description", "value")
        return (
            "tenant",
            "name",
            "masked_value",
            "description",
            "created_by",
            "created_at",
            "rotated_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # The name is what workflows reference: renaming would break them, so it is fixed;
        # moving a secret to another tenant would hand its value over, so that is too.
        return ["tenant", "name", "masked_value", "created_by", "created_at", "rotated_at"]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = StoredSecretCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    @admin.display(description=gettext_lazy("value"))
    def masked_value(self, obj: StoredSecret) -> SafeString:
        url = reverse("admin:automate_storedsecret_rotate", args=[obj.pk])
        return format_html(
            '<code>{}</code> <a class="button" href="{}">{}</a>',
            MASK,
            url,
            gettext("Rotate secret"),
        )

    # -- which backend workflows read -------------------------------------------------------

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Stored here is not the same as used by workflows: say which backend is active.
        extra = {"subtitle": active_backend().summary, **(extra_context or {})}
        return super().changelist_view(request, extra)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {"subtitle": active_backend().summary, **(extra_context or {})}
        return super().add_view(request, form_url, extra)

    # -- writes, all through the services --------------------------------------------------

    def save_model(self, request: HttpRequest, obj: StoredSecret, form: Any, change: bool) -> None:
        if change:
            update_secret = secret_store.update_secret_description
            saved = update_secret(obj.name, obj.description, tenant=obj.tenant, actor=request.user)
        else:
            saved = secret_store.create_secret(
                form.cleaned_data["name"],
                form.cleaned_data["value"],
                tenant=form.cleaned_data["tenant"],
                actor=request.user,
                description=form.cleaned_data["description"],
            )
        # The admin goes on to log and redirect with this instance.
        obj.pk = saved.pk
        obj.ciphertext = saved.ciphertext
        obj.created_by = saved.created_by
        obj.created_at = saved.created_at
        obj.rotated_at = saved.rotated_at
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: StoredSecret) -> None:
        secret_store.delete_secret(obj.name, tenant=obj.tenant, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[StoredSecret]) -> None:
        # One audited delete per secret, so bulk deletes leave the same trail.
        for secret in queryset.select_related("tenant").order_by("tenant__slug", "name"):
            secret_store.delete_secret(secret.name, tenant=secret.tenant, actor=request.user)

    # -- the rotate page -----------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        rotate = path(
            "<path:object_id>/rotate/",
            self.admin_site.admin_view(self.rotate_view),
            name="automate_storedsecret_rotate",
        )
        return [rotate, *super().get_urls()]

    def rotate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Take a new value for one secret and rotate it (same name, new ciphertext)."""
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(gettext("No stored secret with id %(id)r.") % {"id": object_id})
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        change_url = reverse("admin:automate_storedsecret_change", args=[obj.pk])
        form = RotateSecretForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                secret_store.rotate_secret(
                    obj.name,
                    form.cleaned_data["new_value"],
                    tenant=obj.tenant,
                    actor=request.user,
                )
            except AutomateError as exc:
                form.add_error(None, exc.message)
            else:
                self.log_change(request, obj, [{"changed": {"fields": ["value (rotated)"]}}])
                self.message_user(
                    request,
                    gettext('The secret "%(name)s" was rotated.') % {"name": obj.name},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rotate secret {obj.name}",
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "form": form,
        }
        return TemplateResponse(request, _rotate_template(), context)
