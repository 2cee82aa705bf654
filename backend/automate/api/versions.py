"""``/api/v1/workflows/<id>/versions/``: the published versions, one version, and the
diff between any two (a version number, ``draft`` or ``live``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet, PaginationMixin
from automate.api.permissions import request_tenant_ids
from automate.exceptions import NotFoundError
from automate.guard.parse import is_whole_number
from automate.workflows.models import Workflow, WorkflowVersion


class VersionSerializer(serializers.ModelSerializer[WorkflowVersion]):
    workflow: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True
    )
    published_by = serializers.SerializerMethodField()

    class Meta:
        model = WorkflowVersion
        fields = ["workflow", "version_num", "notes", "published_at", "published_by", "created_at"]

    def get_published_by(self, version: WorkflowVersion) -> str | None:
        user = version.published_by
        return user.get_username() if user is not None else None


class VersionDetailSerializer(VersionSerializer):
    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "trigger_spec", "rule_spec", "graph"]


class DiffSerializer(serializers.Serializer[Any]):
    nodes_added = serializers.ListField(child=serializers.DictField())
    nodes_removed = serializers.ListField(child=serializers.DictField())
    nodes_changed = serializers.ListField(child=serializers.DictField())
    edges_added = serializers.ListField(child=serializers.DictField())
    edges_removed = serializers.ListField(child=serializers.DictField())
    trigger_changes = serializers.ListField(child=serializers.DictField())
    rule_changed = serializers.BooleanField()
    rule_before = serializers.JSONField(allow_null=True)
    rule_after = serializers.JSONField(allow_null=True)
    empty = serializers.BooleanField()


def workflow_for(request: Request, workflow_pk: Any) -> Workflow:
    """The workflow if the request's tenants own it, else 404."""
    queryset = Workflow.objects.select_related("tenant", "live_version")
    ids = request_tenant_ids(request)
    if ids is not None:
        queryset = queryset.filter(tenant__in=ids)
    return get_object_or_404(queryset, pk=workflow_pk)


def definition(workflow: Workflow, which: str) -> dict[str, Any]:
    """The definition named ``which``: a version number, ``draft`` or ``live``."""
    if which == "draft":
        return {
            "trigger_spec": workflow.draft_trigger_spec,
            "rule_spec": workflow.draft_rule_spec,
            "graph": workflow.draft_graph,
        }
    version = workflow.live_version if which == "live" else None
    if which != "live":
        if not is_whole_number(which) or len(which) > 9:
            raise NotFoundError(
                gettext("%(which)r is not a version: use a number, 'draft' or 'live'.")
                % {"which": which[:40]}
            )
        version = WorkflowVersion.objects.filter(workflow=workflow, version_num=int(which)).first()
        if version is None:
            raise NotFoundError(
                gettext("Version %(version)s of this workflow does not exist.") % {"version": which}
            )
    if version is None:
        return {"trigger_spec": {}, "rule_spec": {}, "graph": {}}
    return {
        "trigger_spec": version.trigger_spec,
        "rule_spec": version.rule_spec,
        "graph": version.graph,
    }


@extend_schema_view(
    list=extend_schema(summary="The workflow's versions, newest first"),
    retrieve=extend_schema(summary="One version with its definition"),
)
class VersionViewSet(
    PaginationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseGenericViewSet
):
    """Versions are immutable: read only."""

    serializer_class = VersionSerializer
    lookup_field = "version_num"
    lookup_value_regex = "[0-9]{1,9}"

    def get_queryset(self) -> QuerySet[WorkflowVersion]:
        workflow = workflow_for(self.request, self.kwargs["workflow_pk"])
        return (
            WorkflowVersion.objects.filter(workflow=workflow)
            .select_related("published_by")
            .order_by("-version_num")
        )

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return VersionDetailSerializer if self.action == "retrieve" else VersionSerializer

    @extend_schema(
        summary="What changed between two definitions",
        parameters=[
            OpenApiParameter(
                "a", OpenApiTypes.STR, description="A version number, draft or live (default live)."
            ),
            OpenApiParameter(
                "b",
                OpenApiTypes.STR,
                description="A version number, draft or live (default draft).",
            ),
        ],
        responses=DiffSerializer,
    )
    @action(detail=False, methods=["get"])
    def diff(self, request: Request, workflow_pk: str | None = None) -> Response:
        from automate.workflows.diffs import definition_diff_json

        workflow = workflow_for(request, workflow_pk)
        a = request.query_params.get("a", "live").strip() or "live"
        b = request.query_params.get("b", "draft").strip() or "draft"
        return Response(definition_diff_json(definition(workflow, a), definition(workflow, b)))
