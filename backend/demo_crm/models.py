"""The host application's own models in the demo: what the golden-path workflow records."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    """A paying customer, recorded by the demo workflow's ``django_model`` step.

    Each customer belongs to the tenant whose workflow recorded it (the connector's
    ``tenant_field``), so two tenants can each have a customer ``cus_123``.
    """

    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.CASCADE, related_name="demo_customers"
    )
    stripe_id = models.CharField(max_length=100)
    email = models.EmailField(blank=True)
    last_invoice = models.CharField(max_length=100, blank=True)
    last_amount_cents = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "stripe_id"], name="demo_crm_customer_tenant_stripe_id"
            )
        ]

    def __str__(self) -> str:
        return self.email or self.stripe_id


class SandboxSlackMessage(models.Model):
    """A message the development Slack sandbox accepted (see views.py)."""

    channel = models.CharField(max_length=100)
    text = models.TextField()
    ts = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.channel}: {self.text[:60]}"
