"""``/api/v1/workflows/<id>/rules/``: test a rule on a payload or an event (evaluate +
explain) and backtest it on recent events, as the studio's rule tester does. Both only
read: they need the ``read`` scope."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseViewSet
from automate.api.common import StrictSerializer
from automate.api.versions import workflow_for
from automate.events.models import Event
from automate.exceptions import AutomateError, NotFoundError
from automate.governance.redaction import redact
from automate.rules import compile_rule
from automate.workflows.backtest import DEFAULT_BACKTEST, MAX_BACKTEST
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.limits import limit_problems_of


class RuleTestSerializer(StrictSerializer):
    rule_spec = serializers.JSONField(required=False, help_text="JSONLogic; default: the draft's.")
    payload = serializers.DictField(required=False, help_text="The payload to test.")
    event = serializers.UUIDField(required=False, help_text="Or an event of the tenant.")


class ExplainSerializer(serializers.Serializer[Any]):
    matched = serializers.BooleanField()
    tree = serializers.DictField(help_text="Each condition, its value and whether it passed.")


class BacktestInSerializer(StrictSerializer):
    rule_spec = serializers.JSONField(required=False, help_text="JSONLogic; default: the draft's.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_BACKTEST, default=DEFAULT_BACKTEST)


class BacktestSerializer(serializers.Serializer[Any]):
    total = serializers.IntegerField()
    matched = serializers.IntegerField()
    percent = serializers.FloatField()
    matches = serializers.ListField(child=serializers.UUIDField())
    misses = serializers.ListField(child=serializers.UUIDField())


def _rule(workflow: Any, data: dict[str, Any]) -> Any:
    rule = data.get("rule_spec", workflow.draft_rule_spec)
    over = limit_problems_of(rule_spec=rule)
    if over:
        raise WorkflowValidationError(over)
    compile_rule(rule or None)  # RuleError (400 invalid_rule) names the path
    return rule


class RuleViewSet(BaseViewSet):
    """Rule tests never change anything: POST only to carry a body."""

    action_scopes = {"test": "read", "backtest": "read"}

    @extend_schema(
        summary="Evaluate and explain a rule",
        request=RuleTestSerializer,
        responses=ExplainSerializer,
    )
    @action(detail=False, methods=["post"])
    def test(self, request: Request, workflow_pk: str | None = None) -> Response:
        workflow = workflow_for(request, workflow_pk)
        serializer = RuleTestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rule = _rule(workflow, data)
        if "event" in data:
            event = Event.objects.filter(tenant=workflow.tenant, pk=data["event"]).first()
            if event is None:
                raise NotFoundError(
                    gettext("No such event."), details={"event": str(data["event"])}
                )
            payload: Any = event.payload
        else:
            payload = data.get("payload", {})
        tree = compile_rule(rule or None).explain(payload)
        return Response({"matched": bool(tree["passed"]), "tree": redact(tree)})

    @extend_schema(
        summary="Backtest a rule on recent events",
        request=BacktestInSerializer,
        responses=BacktestSerializer,
    )
    @action(detail=False, methods=["post"])
    def backtest(self, request: Request, workflow_pk: str | None = None) -> Response:
        from automate.workflows.backtest import backtest

        workflow = workflow_for(request, workflow_pk)
        serializer = BacktestInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rule = _rule(workflow, data)
        spec = workflow.draft_trigger_spec if isinstance(workflow.draft_trigger_spec, dict) else {}
        if not spec.get("event_type"):
            raise AutomateError(
                gettext(
                    "Set the trigger's event type first: the backtest replays events of that type."
                ),
                code="no_event_type",
            )
        result = backtest(workflow=workflow, rule_spec=rule, limit=data["limit"])
        return Response(
            {
                "total": result.total,
                "matched": result.matched,
                "percent": result.percent,
                "matches": [str(e.pk) for e in result.matches],
                "misses": [str(e.pk) for e in result.misses],
            }
        )
