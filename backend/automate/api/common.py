"""Shared pieces of the API's resources: the error serializer, schema helpers, perms."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from automate.governance.redaction import redact

CHANGE_WORKFLOW = "automate.change_workflow"
PUBLISH_WORKFLOW = "automate.publish_workflow"
OPERATE_RUN = "automate.operate_run"
ADD_EVENT = "automate.add_event"


class ErrorSerializer(serializers.Serializer[Any]):
    """``{"code", "message", "details", "trace_id"}``: every error of the API."""

    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()
    trace_id = serializers.CharField()


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class ProblemSerializer(serializers.Serializer[Any]):
    node = serializers.CharField(required=False)
    field = serializers.CharField(required=False)
    message = serializers.CharField()


def detail_body(name: str, **fields: serializers.Field[Any, Any, Any, Any]) -> Any:
    """An inline serializer for a schema (request or response bodies of actions)."""
    return inline_serializer(name=name, fields=fields)


def shown(value: Any) -> Any:
    """A stored value as the API shows it: secret-looking values masked."""
    return redact(value)


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def uuid_or_400(text: str, name: str) -> Any:
    """``text`` as a UUID, else AutomateError ``invalid_request`` naming ``name``."""
    import uuid

    from automate.exceptions import AutomateError

    try:
        return uuid.UUID(text)
    except (ValueError, AttributeError):
        raise AutomateError(
            f"{name} must be a UUID.",
            code="invalid_request",
            details={"fields": {name: "a UUID"}},
        ) from None
