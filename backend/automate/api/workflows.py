"""``/api/v1/workflows/``: drafts (CRUD with the revision check), import of a workflow
file, switch on/off, publish and roll back. The same services as the studio."""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet, PaginationMixin, TenantFilterMixin
from automate.api.common import (
    CHANGE_WORKFLOW,
    PUBLISH_WORKFLOW,
    StrictSerializer,
    error,
    query_flag,
)
from automate.api.permissions import write_tenant
from automate.api.versions import VersionSerializer
from automate.typing import UserType
from automate.workflows.drafts import save_draft
from automate.workflows.files import import_workflow, parse_workflow_file
from automate.workflows.models import Workflow
from automate.workflows.services import (
    archive_workflow,
    create_workflow,
    publish_problems,
    publish_version,
    publish_warnings,
    restore_workflow,
    set_workflow_active,
)


def _actor(request: Request) -> UserType | None:
    user = request.user
    return user if user is not None and user.is_authenticated else None


class WorkflowSerializer(serializers.ModelSerializer[Workflow]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    live_version = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = [
            "id", "tenant", "slug", "name", "description", "is_active", "archived_at",
            "live_version", "draft_revision", "created_at", "updated_at",
        ]  # fmt: skip

    def get_live_version(self, workflow: Workflow) -> int | None:
        live = workflow.live_version
        return live.version_num if live is not None else None


class ProblemSerializer(serializers.Serializer[Any]):
    node_id = serializers.CharField(required=False)
    field = serializers.CharField(required=False)
    message = serializers.CharField()


def extend_schema_field_list(func: Any) -> Any:
    from drf_spectacular.utils import extend_schema_field

    return extend_schema_field(ProblemSerializer(many=True))(func)


class WorkflowDetailSerializer(WorkflowSerializer):
    trigger_spec = serializers.JSONField(source="draft_trigger_spec")
    rule_spec = serializers.JSONField(source="draft_rule_spec")
    graph = serializers.JSONField(source="draft_graph")
    problems = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "trigger_spec", "rule_spec", "graph",
                  "problems", "warnings"]  # fmt: skip

    @extend_schema_field_list
    def get_problems(self, workflow: Workflow) -> list[dict[str, str]]:
        return publish_problems(workflow)

    @extend_schema_field_list
    def get_warnings(self, workflow: Workflow) -> list[dict[str, str]]:
        return publish_warnings(workflow)


class WorkflowCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    trigger_spec = serializers.DictField(required=False, default=dict)
    rule_spec = serializers.DictField(required=False, default=dict)
    graph = serializers.DictField(required=False, default=None, allow_null=True)
    tenant = serializers.SlugField(required=False, allow_null=True)


class DraftSaveSerializer(serializers.Serializer[Any]):
    revision = serializers.IntegerField(
        min_value=0, help_text="The revision the edit started from."
    )
    name = serializers.CharField(required=False)
    trigger_spec = serializers.DictField(required=False)
    rule_spec = serializers.DictField(required=False)
    graph = serializers.DictField(required=False)


class PublishSerializer(StrictSerializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class RollbackSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class WorkflowFileSerializer(serializers.Serializer[Any]):
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    trigger_spec = serializers.DictField()
    rule_spec = serializers.DictField(required=False)
    graph = serializers.DictField()


class ImportedSerializer(serializers.Serializer[Any]):
    workflow = WorkflowSerializer()
    created = serializers.BooleanField()
    version = VersionSerializer(allow_null=True)


PUBLISH_QUERY = OpenApiParameter(
    "publish", OpenApiTypes.BOOL, description="Publish the imported draft (publish scope)."
)


@extend_schema_view(
    list=extend_schema(
        summary="List workflows",
        parameters=[
            OpenApiParameter("slug", OpenApiTypes.STR, description="Exact slug."),
            OpenApiParameter("archived", OpenApiTypes.BOOL, description="Archived ones only."),
        ],
    ),
    retrieve=extend_schema(summary="A workflow with its draft", responses=WorkflowDetailSerializer),
)
class WorkflowViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    """Workflows of the request's tenants; draft writes need ``automate.change_workflow``;
    publishing, rolling back, switching on/off, archiving and restoring need the
    ``publish`` scope and ``automate.publish_workflow``."""

    queryset = Workflow.objects.select_related("tenant", "live_version").order_by("name", "pk")
    serializer_class = WorkflowSerializer
    #: What changes the live behaviour (publish, roll back, switch on/off, archive,
    #: restore) needs the ``publish`` scope and ``automate.publish_workflow``, as the
    #: studio's lifecycle buttons do; editing drafts needs ``write`` and change_workflow.
    action_scopes = dict.fromkeys(
        ("publish", "rollback", "activate", "deactivate", "destroy", "restore"), "publish"
    )
    action_perms = {
        "create": [CHANGE_WORKFLOW],
        "update": [CHANGE_WORKFLOW],
        "partial_update": [CHANGE_WORKFLOW],
        "destroy": [PUBLISH_WORKFLOW],
        "activate": [PUBLISH_WORKFLOW],
        "deactivate": [PUBLISH_WORKFLOW],
        "restore": [PUBLISH_WORKFLOW],
        "import_file": [CHANGE_WORKFLOW],
        "publish": [PUBLISH_WORKFLOW],
        "rollback": [PUBLISH_WORKFLOW],
    }

    def get_queryset(self) -> QuerySet[Workflow]:
        queryset = super().get_queryset()
        if self.action == "list":
            params = self.request.query_params
            archived = query_flag(self.request, "archived")
            queryset = queryset.filter(archived_at__isnull=not archived)
            if params.get("slug"):
                queryset = queryset.filter(slug=params["slug"])
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return WorkflowDetailSerializer if self.action == "retrieve" else WorkflowSerializer

    def _detail(self, workflow: Workflow, status: int = 200) -> Response:
        workflow = self.get_queryset().get(pk=workflow.pk)
        return Response(WorkflowDetailSerializer(workflow).data, status=status)

    @extend_schema(
        summary="Create a workflow (a draft)",
        request=WorkflowCreateSerializer,
        responses={201: WorkflowDetailSerializer, 409: error("The slug is taken")},
    )
    def create(self, request: Request) -> Response:
        serializer = WorkflowCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow = create_workflow(
            name=data["name"],
            slug=data.get("slug"),
            tenant=write_tenant(request, data.get("tenant")),
            description=data["description"],
            trigger_spec=data["trigger_spec"],
            rule_spec=data["rule_spec"],
            graph=data["graph"],
            created_by=_actor(request),
        )
        return self._detail(workflow, 201)

    @extend_schema(
        summary="Save the draft (whole or in part) from the revision it started at",
        request=DraftSaveSerializer,
        responses={200: WorkflowDetailSerializer, 409: error("Stale revision")},
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        workflow = save_draft(self.get_object(), request.data)
        return self._detail(workflow)

    @extend_schema(
        summary="Save part of the draft from the revision it started at",
        request=DraftSaveSerializer,
        responses={200: WorkflowDetailSerializer, 409: error("Stale revision")},
    )
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        return self.update(request, pk)

    @extend_schema(summary="Archive the workflow (restorable)", responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        archive_workflow(workflow=self.get_object(), actor=_actor(request))
        return Response(status=204)

    @extend_schema(summary="Switch on", request=None, responses=WorkflowDetailSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        workflow = set_workflow_active(
            workflow=self.get_object(), active=True, actor=_actor(request)
        )
        return self._detail(workflow)

    @extend_schema(summary="Switch off", request=None, responses=WorkflowDetailSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        workflow = set_workflow_active(
            workflow=self.get_object(), active=False, actor=_actor(request)
        )
        return self._detail(workflow)

    @extend_schema(
        summary="Restore an archived workflow", request=None, responses=WorkflowDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def restore(self, request: Request, pk: str | None = None) -> Response:
        workflow = restore_workflow(workflow=self.get_object(), actor=_actor(request))
        return self._detail(workflow)

    @extend_schema(
        summary="Publish the draft as a new version",
        request=PublishSerializer,
        responses={201: VersionSerializer},
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        serializer = PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = publish_version(
            workflow=self.get_object(),
            published_by=_actor(request),
            notes=serializer.validated_data["notes"],
        )
        return Response(VersionSerializer(version).data, status=201)

    @extend_schema(
        summary="Publish a copy of an older version",
        request=RollbackSerializer,
        responses={201: VersionSerializer},
    )
    @action(detail=True, methods=["post"])
    def rollback(self, request: Request, pk: str | None = None) -> Response:
        from automate.workflows.rollback import rollback

        serializer = RollbackSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = rollback(
            workflow=self.get_object(),
            version_num=serializer.validated_data["version"],
            actor=_actor(request),
        )
        return Response(VersionSerializer(version).data, status=201)

    @extend_schema(
        summary="Import a workflow file (create, or update the draft of the same slug)",
        request=WorkflowFileSerializer,
        parameters=[PUBLISH_QUERY],
        responses={200: ImportedSerializer, 201: ImportedSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_file(self, request: Request) -> Response:
        publish = query_flag(request, "publish")
        if publish:
            self._require_publish(request)
        data = parse_workflow_file(json.dumps(request.data))
        workflow, created, version = import_workflow(
            data, tenant=write_tenant(request), publish=publish, actor=_actor(request)
        )
        workflow = self.get_queryset().get(pk=workflow.pk)
        body = {
            "workflow": WorkflowSerializer(workflow).data,
            "created": created,
            "version": VersionSerializer(version).data if version is not None else None,
        }
        return Response(body, status=201 if created else 200)

    def _require_publish(self, request: Request) -> None:
        from rest_framework.exceptions import PermissionDenied

        from automate.api.permissions import token_of

        token = token_of(request)
        if token is not None and "publish" not in token.scopes:
            raise PermissionDenied("This API token lacks the publish scope.")
        if not request.user.has_perm(PUBLISH_WORKFLOW):
            raise PermissionDenied(f"You need the {PUBLISH_WORKFLOW} permission.")
