"""``/healthz``, ``/readyz`` (automate.observability.health) and ``/metrics``
(automate.observability.metrics): include at the site root,
``path("", include("automate.observability.urls"))``."""

from django.urls import path

from automate.observability import health, metrics

app_name = "automate_health"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
