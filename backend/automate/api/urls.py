"""``/api/v1/``: one router over the resource modules, the schema and its docs page."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from automate.api import events, views
from automate.api.docs import docs_page, schema_view

app_name = "automate_api"

router = SimpleRouter()
router.register("events", events.EventViewSet, basename="event")

urlpatterns = [
    path("health/", views.health, name="health"),
    path("schema/", schema_view, name="schema"),
    path("docs/", docs_page, name="docs"),
    *router.urls,
]
