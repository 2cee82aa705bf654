"""``/api/v1/audit/``: the audit log of the request's tenants, newest first, in cursor
pages. Needs ``automate.view_auditlogentry``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from automate.api.base import BaseGenericViewSet, PaginationMixin, TenantFilterMixin
from automate.governance.models import AuditLogEntry


class AuditSerializer(serializers.ModelSerializer[AuditLogEntry]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    actor = serializers.CharField(source="actor_repr", read_only=True)

    class Meta:
        model = AuditLogEntry
        fields = [
            "id", "tenant", "actor", "action", "resource_type", "resource_id", "details",
            "trace_id", "created_at",
        ]  # fmt: skip


FILTERS = ("action", "resource_type", "resource_id", "trace_id")


@extend_schema_view(
    list=extend_schema(
        summary="Audit entries, newest first",
        parameters=[
            OpenApiParameter(name, OpenApiTypes.STR, description="Exact match.") for name in FILTERS
        ],
    ),
    retrieve=extend_schema(summary="One audit entry"),
)
class AuditViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    queryset = AuditLogEntry.objects.select_related("tenant")
    serializer_class = AuditSerializer
    action_perms = {
        "list": ["automate.view_auditlogentry"],
        "retrieve": ["automate.view_auditlogentry"],
    }

    def get_queryset(self) -> QuerySet[AuditLogEntry]:
        queryset = super().get_queryset()
        if self.action == "list":
            for name in FILTERS:
                value = self.request.query_params.get(name)
                if value:
                    queryset = queryset.filter(**{name: value[:200]})
        return queryset
