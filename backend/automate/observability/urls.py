"""``/healthz`` and ``/readyz`` (automate.observability.health): include at the site root,
``path("", include("automate.observability.urls"))``."""

from django.urls import path

from automate.observability import health

app_name = "automate_health"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
