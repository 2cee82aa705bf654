from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_TENANT_SLUG = "default"


class Tenant(models.Model):
    """An isolated owner of workflows, events and runs (a customer, a team)."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="automate_tenants",
        help_text=_(
            "Users who may see and change this tenant's workflows and runs. "
            "Users who belong to no tenant work in the default tenant."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name
