"""``/api/v1/copilot/drafts/`` and ``/api/v1/workflows/<id>/copilot/``: ask the copilot
for a proposed definition (a new workflow, or an edit of a draft). A proposal never
changes anything: apply it by saving the draft (``PUT /workflows/<id>/``) with its
``definition``. Needs the ``write`` scope and ``automate.change_workflow`` (a proposal
may spend the tenant's LLM budget)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseAPIView
from automate.api.common import CHANGE_WORKFLOW, StrictSerializer, error
from automate.api.errors import request_trace_id
from automate.api.permissions import write_tenant
from automate.api.versions import workflow_for
from automate.copilot.service import propose


class CopilotInSerializer(StrictSerializer):
    prompt = serializers.CharField(max_length=2000)
    conversation = serializers.ListField(
        child=serializers.CharField(max_length=2000), required=False, default=list, max_length=20
    )


class ProposalSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    drafter = serializers.CharField()
    complete = serializers.BooleanField()
    definition = serializers.DictField()
    problems = serializers.ListField(child=serializers.DictField())


def acting(request: Request) -> Any:
    """The signed-in user (the base classes refuse anonymous requests)."""
    return request.user


#: What the copilot may answer besides a proposal (with a model configured).
COPILOT_ERRORS = {
    422: error("The model refused the request"),
    429: error("Over the copilot's rate limit or the tenant's LLM budget"),
    502: error("The model could not be reached or answered nonsense"),
}


class _CopilotView(BaseAPIView):
    action_perms = {"POST": [CHANGE_WORKFLOW]}


class CopilotDraftView(_CopilotView):
    @extend_schema(
        summary="Propose a new workflow",
        request=CopilotInSerializer,
        responses={200: ProposalSerializer, **COPILOT_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = CopilotInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = propose(
            tenant=write_tenant(request),
            prompt=serializer.validated_data["prompt"],
            conversation=serializer.validated_data["conversation"],
            user=acting(request),
            trace_id=request_trace_id(request),
        )
        return Response(proposal.as_json())


class CopilotEditView(_CopilotView):
    @extend_schema(
        summary="Propose an edit of the draft",
        request=CopilotInSerializer,
        responses={200: ProposalSerializer, **COPILOT_ERRORS},
    )
    def post(self, request: Request, workflow_pk: int) -> Response:
        workflow = workflow_for(request, workflow_pk)
        serializer = CopilotInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        proposal = propose(
            tenant=workflow.tenant,
            prompt=serializer.validated_data["prompt"],
            current={
                "trigger_spec": workflow.draft_trigger_spec,
                "rule_spec": workflow.draft_rule_spec,
                "graph": workflow.draft_graph,
            },
            conversation=serializer.validated_data["conversation"],
            user=acting(request),
            workflow_id=workflow.pk,
            trace_id=request_trace_id(request),
        )
        return Response(proposal.as_json())
