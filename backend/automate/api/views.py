"""The REST API (``/api/v1/``). Views are thin: they validate, call a service, serialise."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.permissions import AllowAny, DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from automate.events.models import Event
from automate.events.services import record_event
from automate.guard.drf import GuardedJSONParser
from automate.guard.http import guarded
from automate.tenants.queries import tenant_for_write


class EmitEventSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(max_length=200)
    payload = serializers.JSONField()
    dedupe_key = serializers.CharField(max_length=255, required=False, allow_null=True)
    # DRF fields have a ``source`` attribute; a field named "source" is still fine at run time.
    source = serializers.CharField(max_length=100, required=False, default="api")  # type: ignore[assignment]
    tenant = serializers.SlugField(required=False, allow_null=True)


class EventPermission(DjangoModelPermissions):
    perms_map = {**DjangoModelPermissions.perms_map, "POST": ["%(app_label)s.add_%(model_name)s"]}


@guarded("json")
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request: Request) -> Response:
    """Liveness: answers without touching the database."""
    return Response({"status": "ok"})


@guarded("json")
@api_view(["POST"])
@parser_classes([GuardedJSONParser])
@permission_classes([EventPermission])
def emit(request: Request) -> Response:
    """``POST /api/v1/events/``: record an event; 201 when new, 200 for a seen dedupe_key."""
    serializer = EmitEventSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    tenant = tenant_for_write(request.user, data.get("tenant"))
    event, created = record_event(
        type=data["type"],
        payload=data["payload"],
        dedupe_key=data.get("dedupe_key"),
        source=data["source"],
        tenant=tenant,
        traceparent=request.headers.get("traceparent"),
    )
    body = {
        "id": str(event.id),
        "type": event.type,
        "source": event.source,
        "trace_id": event.trace_id,
        "created": created,
    }
    return Response(body, status=201 if created else 200)


# DjangoModelPermissions reads the model from the view's queryset.
emit.cls.queryset = Event.objects.none()  # type: ignore[attr-defined]
