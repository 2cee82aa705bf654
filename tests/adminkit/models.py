"""A host project's model, as the admin base classes meet it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Gadget(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        RETIRED = "retired", "Retired"

    tenant = models.ForeignKey("automate.Tenant", on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(
        "automate.Workflow", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    name = models.CharField(max_length=100, unique=True)
    notes = models.CharField(max_length=200, blank=True)
    api_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    is_active = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Part(models.Model):
    gadget = models.ForeignKey(Gadget, on_delete=models.CASCADE, related_name="parts")
    label = models.CharField(max_length=100)
    workflow = models.ForeignKey(
        "automate.Workflow", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.label


# One proxy per test admin: a model is registered once per admin site.
def _proxy(name: str) -> type[Gadget]:
    meta = type("Meta", (), {"proxy": True, "app_label": "adminkit"})
    return type(name, (Gadget,), {"Meta": meta, "__module__": __name__})


PlainGadget = _proxy("PlainGadget")
ScopedGadget = _proxy("ScopedGadget")
AuditedGadget = _proxy("AuditedGadget")
ImportGadget = _proxy("ImportGadget")
AuditedImportGadget = _proxy("AuditedImportGadget")
SoftGadget = _proxy("SoftGadget")
SearchGadget = _proxy("SearchGadget")
OwnedGadget = _proxy("OwnedGadget")
