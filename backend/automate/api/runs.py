"""``/api/v1/runs/`` (list with filters, detail with steps, resume, cancel, re-run on the
live version, retry a step) and ``/api/v1/dead-letters/`` (list, replay).

Operating runs needs the ``write`` scope and ``automate.operate_run``, as in the studio.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet, PaginationMixin, TenantFilterMixin
from automate.api.common import OPERATE_RUN, StrictSerializer
from automate.exceptions import AutomateError
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.services import (
    DEAD_LETTER,
    cancel_run,
    replay_job,
    rerun_on_live,
    resume_run,
    retry_step,
)
from automate.governance.redaction import redact, redact_text
from automate.guard.parse import is_whole_number
from automate.realtime import publish_run


def _actor(request: Request) -> Any:
    return request.user if request.user is not None and request.user.is_authenticated else None


def extend_schema_field_steps(func: Any) -> Any:
    from drf_spectacular.utils import extend_schema_field

    return extend_schema_field(StepSerializer(many=True))(func)


class StepSerializer(serializers.ModelSerializer[StepRun]):
    inputs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()

    class Meta:
        model = StepRun
        fields = [
            "id", "node_id", "attempt", "status", "inputs", "outputs", "error", "error_type",
            "is_current", "created_at", "started_at", "finished_at", "duration_ms",
        ]  # fmt: skip

    def get_inputs(self, step: StepRun) -> dict[str, Any]:
        return redact(step.inputs)  # type: ignore[no-any-return]

    def get_outputs(self, step: StepRun) -> dict[str, Any]:
        return redact(step.outputs)  # type: ignore[no-any-return]

    def get_error(self, step: StepRun) -> str:
        return redact_text(step.error)


class RunSerializer(serializers.ModelSerializer[ExecutionRun]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    workflow = serializers.IntegerField(source="workflow_version.workflow_id", read_only=True)
    workflow_slug = serializers.CharField(source="workflow_version.workflow.slug", read_only=True)
    version = serializers.IntegerField(source="workflow_version.version_num", read_only=True)
    error = serializers.SerializerMethodField()

    class Meta:
        model = ExecutionRun
        fields = [
            "id", "tenant", "workflow", "workflow_slug", "version", "event", "status",
            "trace_id", "error", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_error(self, run: ExecutionRun) -> str:
        return redact_text(run.error)


class RunDetailSerializer(RunSerializer):
    outputs = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "outputs", "steps"]

    def get_outputs(self, run: ExecutionRun) -> dict[str, Any]:
        return redact(run.outputs)  # type: ignore[no-any-return]

    @extend_schema_field_steps
    def get_steps(self, run: ExecutionRun) -> list[dict[str, Any]]:
        steps = StepRun.objects.filter(run=run).order_by("created_at", "attempt")
        return StepSerializer(steps, many=True).data  # type: ignore[return-value]


class ResumeSerializer(StrictSerializer):
    from_node = serializers.CharField(max_length=100)


RUN_FILTERS = [
    OpenApiParameter(
        "workflow",
        {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999},
        description="A workflow id.",
    ),
    OpenApiParameter(
        "status", OpenApiTypes.STR, enum=list(ExecutionRun.Status.values), description="Status."
    ),
    OpenApiParameter("trace_id", OpenApiTypes.STR, description="Exact trace id."),
    OpenApiParameter("event", OpenApiTypes.UUID, description="The event's id."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Created at or after."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Created at or before."),
]


def _when(request: Request, name: str) -> Any:
    text = request.query_params.get(name)
    if not text:
        return None
    value = parse_datetime(text) if len(text) <= 40 else None
    if value is None:
        raise AutomateError(
            gettext("%(name)s must be an ISO 8601 date and time.") % {"name": name},
            code="invalid_request",
            details={"fields": {name: "an ISO 8601 date and time"}},
        )
    return value


@extend_schema_view(
    list=extend_schema(summary="List runs, newest first", parameters=RUN_FILTERS),
    retrieve=extend_schema(summary="A run with its steps", responses=RunDetailSerializer),
)
class RunViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    queryset = ExecutionRun.objects.select_related("tenant", "workflow_version__workflow")
    serializer_class = RunSerializer
    action_perms = {
        "resume": [OPERATE_RUN],
        "cancel": [OPERATE_RUN],
        "rerun": [OPERATE_RUN],
        "retry_step": [OPERATE_RUN],
    }

    def get_queryset(self) -> QuerySet[ExecutionRun]:
        queryset = super().get_queryset()
        if self.action != "list":
            return queryset
        params = self.request.query_params
        workflow = params.get("workflow")
        if workflow:
            if not is_whole_number(workflow) or len(workflow) > 18:
                raise AutomateError(
                    gettext("workflow must be a workflow id."),
                    code="invalid_request",
                    details={"fields": {"workflow": "a workflow id"}},
                )
            queryset = queryset.filter(workflow_version__workflow_id=int(workflow))
        status = params.get("status")
        if status:
            if status not in ExecutionRun.Status.values:
                raise AutomateError(
                    gettext("Unknown status."),
                    code="invalid_request",
                    details={"fields": {"status": list(ExecutionRun.Status.values)}},
                )
            queryset = queryset.filter(status=status)
        if params.get("trace_id"):
            queryset = queryset.filter(trace_id=params["trace_id"])
        if params.get("event"):
            from automate.api.common import uuid_or_400

            queryset = queryset.filter(event_id=uuid_or_400(params["event"], "event"))
        since, until = _when(self.request, "since"), _when(self.request, "until")
        if since is not None:
            queryset = queryset.filter(created_at__gte=since)
        if until is not None:
            queryset = queryset.filter(created_at__lte=until)
        return queryset

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer

    def _answer(self, run: ExecutionRun, reason: str, status: int = 200) -> Response:
        publish_run(run.pk, reason=reason)  # no engine signal for these: tell the watchers
        fresh = self.get_queryset().get(pk=run.pk)
        return Response(RunDetailSerializer(fresh).data, status=status)

    @extend_schema(
        summary="Resume from a step", request=ResumeSerializer, responses=RunDetailSerializer
    )
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        serializer = ResumeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = self.get_object()
        resume_run(run=run, from_node=serializer.validated_data["from_node"], actor=_actor(request))
        return self._answer(run, "resume")

    @extend_schema(summary="Cancel the run", request=None, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = self.get_object()
        cancel_run(run=run, actor=_actor(request))
        return self._answer(run, "cancel")

    @extend_schema(
        summary="Run the event again on the live version",
        request=None,
        responses={201: RunDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: str | None = None) -> Response:
        new_run = rerun_on_live(run=self.get_object(), actor=_actor(request))
        return self._answer(new_run, "rerun", 201)

    @extend_schema(summary="Retry one step", request=None, responses=RunDetailSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"steps/(?P<node_id>[^/]{1,100})/retry",
        url_name="retry-step",
    )
    def retry_step(self, request: Request, pk: str | None = None, node_id: str = "") -> Response:
        run = self.get_object()
        retry_step(run=run, node_id=node_id, actor=_actor(request))
        return self._answer(run, "retry")


class DeadLetterSerializer(serializers.ModelSerializer[OutboxJob]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    last_error = serializers.SerializerMethodField()

    class Meta:
        model = OutboxJob
        fields = [
            "id", "tenant", "kind", "status", "event", "run", "node_id", "attempts",
            "max_attempts", "last_error", "trace_id", "created_at", "updated_at",
        ]  # fmt: skip

    def get_last_error(self, job: OutboxJob) -> str:
        return redact_text(job.last_error)


@extend_schema_view(
    list=extend_schema(summary="Jobs that gave up (failed or dead), newest first"),
    retrieve=extend_schema(summary="One dead letter"),
)
class DeadLetterViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    queryset = (
        OutboxJob.objects.filter(status__in=DEAD_LETTER)
        .exclude(run__status=ExecutionRun.Status.CANCELLED)
        .select_related("tenant")
    )
    serializer_class = DeadLetterSerializer
    cursor_field = "updated_at"
    action_perms = {"replay": [OPERATE_RUN]}

    @extend_schema(
        summary="Put the job back in the queue", request=None, responses=DeadLetterSerializer
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        job = replay_job(self.get_object(), actor=_actor(request))
        if job.run_id is not None:
            publish_run(job.run_id, reason="job_replayed")
        return Response(DeadLetterSerializer(job).data)
