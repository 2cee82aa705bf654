"""API tokens: per user, tied to one tenant, with scopes; only a keyed hash is stored."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: What a token may do. ``read``: every safe method; ``write``: create, change and operate
#: (events, drafts, runs); ``publish``: publish, roll back, switch on/off, archive and
#: restore workflows; ``admin``: secrets and tokens.
SCOPES: tuple[str, ...] = ("read", "write", "publish", "admin")


class ApiToken(models.Model):
    """A bearer token ``da_<prefix>_<secret>`` for the REST API.

    The prefix (12 characters) is stored in clear and indexed, so a request finds its row
    with one lookup; the secret part is stored only as HMAC-SHA256 under a key derived from
    ``SECRET_KEY`` (``secret_hash``), compared in constant time. The full token is shown
    once, when it is created, and never again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="automate_api_tokens"
    )
    tenant = models.ForeignKey(
        "automate.Tenant", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text=_("What the token is for (CI, a script)."))
    scopes = models.JSONField(default=list, help_text=_("Any of read, write, publish, admin."))
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="automate_apitoken_user")]

    def __str__(self) -> str:
        return f"{self.name} (da_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        """Neither revoked nor expired."""
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
