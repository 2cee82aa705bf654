from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from automate.connectors.triggers import scheme_choices


class WebhookEndpoint(models.Model):
    """An inbound webhook URL, ``/hooks/<slug>/``, with how to verify and read deliveries."""

    class Scheme(models.TextChoices):
        STRIPE = "stripe", _("Stripe (Stripe-Signature: t=…,v1=…)")
        GITHUB = "github", _("GitHub (X-Hub-Signature-256)")
        GENERIC = "generic", _("Generic (X-Signature: t=…,v1=…, over t, delivery id and body)")
        SLACK = "slack", _("Slack (X-Slack-Signature: v0=…, X-Slack-Request-Timestamp)")

    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    slug = models.SlugField(max_length=100, unique=True, help_text=_("The URL is /hooks/<slug>/."))
    name = models.CharField(max_length=200)
    # ``generic`` or a registered connector trigger's scheme (automate.connectors.triggers).
    scheme = models.CharField(max_length=100, choices=scheme_choices, default=Scheme.GENERIC)
    secret_name = models.CharField(
        max_length=128,
        help_text=_('Name of the signing secret (as in {"$secret": "NAME"}); never the value.'),
    )
    signature_header = models.CharField(
        max_length=100, default="X-Signature", help_text=_("Generic scheme only.")
    )
    delivery_id_header = models.CharField(
        max_length=100,
        blank=True,
        help_text=_(
            "Header with the unique delivery id (required on every delivery). "
            "Defaults: generic X-Delivery-Id, GitHub X-GitHub-Delivery; Stripe always uses the "
            "event id in the signed body."
        ),
    )
    event_type = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            "Event type to record. Empty: Stripe's body 'type', GitHub's X-GitHub-Event "
            "(plus '.action'), or 'webhook.received'."
        ),
    )
    source = models.CharField(max_length=100, blank=True, help_text=_("Defaults to the slug."))
    workflow = models.OneToOneField(
        "automate.Workflow",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_endpoint",
        help_text=_(
            "The workflow whose webhook trigger owns this endpoint (set by the studio); "
            "empty for endpoints made in code or here."
        ),
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"/hooks/{self.slug}/"


class WebhookDelivery(models.Model):
    """One delivery to an endpoint and how it was answered: time, status and result code.

    Bounded per endpoint (``MAX_DELIVERIES_KEPT``, oldest dropped) and never holding the
    body, the headers or anything secret, so refused deliveries can be shown to the
    endpoint's owner without giving strangers a way to fill the database.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status_code = models.PositiveSmallIntegerField()
    result = models.CharField(max_length=64)
    event_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "-id"], name="automate_hookdelivery_recent")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.status_code} {self.result}"

    @property
    def verified(self) -> bool:
        """The signature was checked and good (whatever happened to the delivery next)."""
        return self.result not in UNVERIFIED_RESULTS


#: Results of deliveries that never got past the signature check.
UNVERIFIED_RESULTS = frozenset({"invalid_signature", "payload_too_large"})
MAX_DELIVERIES_KEPT = 50


class ScheduleState(models.Model):
    """The last tick a scheduled workflow fired, the anchor for the next ones."""

    workflow = models.OneToOneField(
        "automate.Workflow", on_delete=models.CASCADE, related_name="schedule_state"
    )
    last_tick_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workflow} last fired for {self.last_tick_at:%Y-%m-%d %H:%M}"
