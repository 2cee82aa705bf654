"""``/api/v1/health/``: liveness, without touching the database; and the catch-all that
answers any other ``/api/v1/…/`` path in the error shape."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
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


@csrf_exempt  # it changes nothing; a CSRF page would answer in HTML instead
@guarded("json")
def unmatched(request: HttpRequest, path: str = "") -> HttpResponse:
    """``404 resource_not_found`` in the error shape for a path no route matches
    (``/api/v1/workflows/0.5/``), with ``DEBUG`` on as well as off: Django's
    ``handler404`` is used only with ``DEBUG`` off, and shows an HTML page otherwise."""
    from automate.api.errors import json_error

    return json_error(request, 404, "resource_not_found", "No such resource.")
