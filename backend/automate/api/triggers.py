"""``/api/v1/webhook-endpoints/`` and ``/api/v1/schedules/``: how events get in.

Webhook endpoints are made and changed by publishing a workflow with a webhook trigger
(their signing secret is a stored secret, by name only); schedules are the live versions'
schedule triggers with their next fire times. Both read only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from automate.api.base import BaseGenericViewSet, PaginationMixin, TenantFilterMixin
from automate.triggers.cron import next_ticks, schedule_problems
from automate.triggers.models import WebhookEndpoint
from automate.workflows.models import Workflow


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    path = serializers.SerializerMethodField()

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "tenant", "slug", "name", "scheme", "secret_name", "event_type", "source",
            "workflow", "is_active", "path", "created_at",
        ]  # fmt: skip

    def get_path(self, endpoint: WebhookEndpoint) -> str:
        return reverse("automate_hooks:receive", kwargs={"slug": endpoint.slug})


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints"),
    retrieve=extend_schema(summary="One webhook endpoint"),
)
class WebhookEndpointViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    queryset = WebhookEndpoint.objects.select_related("tenant").order_by("slug", "pk")
    serializer_class = WebhookEndpointSerializer


class ScheduleSerializer(serializers.Serializer[Any]):
    workflow = serializers.IntegerField(source="pk")
    workflow_slug = serializers.CharField(source="slug")
    is_active = serializers.BooleanField()
    version = serializers.IntegerField(source="live_version.version_num")
    cron = serializers.SerializerMethodField()
    timezone = serializers.SerializerMethodField()
    next = serializers.SerializerMethodField()

    def _schedule(self, workflow: Workflow) -> dict[str, Any]:
        spec = workflow.live_version.trigger_spec if workflow.live_version else {}
        schedule = spec.get("schedule") if isinstance(spec, dict) else None
        return schedule if isinstance(schedule, dict) else {}

    def get_cron(self, workflow: Workflow) -> str:
        return str(self._schedule(workflow).get("cron", ""))

    def get_timezone(self, workflow: Workflow) -> str:
        return str(self._schedule(workflow).get("timezone", "UTC"))

    def get_next(self, workflow: Workflow) -> list[str]:
        """The next five fire times (ISO 8601, UTC); none while switched off."""
        schedule = self._schedule(workflow)
        if not workflow.is_active or not schedule or schedule_problems(schedule):
            return []
        ticks = next_ticks(
            str(schedule.get("cron")),
            tz=str(schedule.get("timezone", "UTC")),
            now=timezone.now(),
            count=5,
        )
        return [tick.isoformat() for tick in ticks]


@extend_schema_view(
    list=extend_schema(summary="Scheduled workflows and their next fire times"),
    retrieve=extend_schema(summary="One scheduled workflow"),
)
class ScheduleViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    queryset = Workflow.objects.select_related("live_version").filter(
        archived_at__isnull=True, live_version__isnull=False
    )
    serializer_class = ScheduleSerializer

    def get_queryset(self) -> QuerySet[Workflow]:
        """Live versions whose trigger has a ``schedule``, filtered in the database (not
        every live workflow in Python), paged like every list."""
        return super().get_queryset().filter(live_version__trigger_spec__has_key="schedule")
