"""``/api/v1/health/``: liveness, without touching the database."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from automate.guard.http import guarded


@extend_schema(
    summary="Liveness",
    auth=[],
    responses=inline_serializer("Health", {"status": serializers.CharField()}),
)
@guarded("json")
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request: Request) -> Response:
    """Liveness: answers without touching the database."""
    return Response({"status": "ok"})
