"""``/api/v1/``: the resource modules on routers, the schema and its docs page."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from automate.api import (
    audit,
    catalog,
    copilot,
    events,
    rules,
    runs,
    secrets,
    token_views,
    triggers,
    versions,
    views,
    workflows,
)
from automate.api.docs import docs_page, schema_view

app_name = "automate_api"

router = SimpleRouter()
router.register("events", events.EventViewSet, basename="event")
router.register("workflows", workflows.WorkflowViewSet, basename="workflow")
router.register(
    r"workflows/(?P<workflow_pk>[0-9]{1,18})/versions", versions.VersionViewSet, basename="version"
)
router.register(r"workflows/(?P<workflow_pk>[0-9]{1,18})/rules", rules.RuleViewSet, basename="rule")
router.register("runs", runs.RunViewSet, basename="run")
router.register("dead-letters", runs.DeadLetterViewSet, basename="dead-letter")
router.register("connectors", catalog.ConnectorViewSet, basename="connector")
router.register("secrets", secrets.SecretViewSet, basename="secret")
router.register("audit", audit.AuditViewSet, basename="audit")
router.register("webhook-endpoints", triggers.WebhookEndpointViewSet, basename="webhook-endpoint")
router.register("schedules", triggers.ScheduleViewSet, basename="schedule")
router.register("tokens", token_views.TokenViewSet, basename="token")

urlpatterns = [
    path("health/", views.health, name="health"),
    path("schema/", schema_view, name="schema"),
    path("docs/", docs_page, name="docs"),
    path("copilot/drafts/", copilot.CopilotDraftView.as_view(), name="copilot-draft"),
    path(
        "workflows/<int:workflow_pk>/copilot/",
        copilot.CopilotEditView.as_view(),
        name="copilot-edit",
    ),
    *router.urls,
    # Last: any other path ending in "/" is a JSON 404 (with or without DEBUG); one
    # without the slash still gets APPEND_SLASH's redirect first, as before.
    re_path(r"^(?P<path>.*/)$", views.unmatched, name="unmatched"),
]
