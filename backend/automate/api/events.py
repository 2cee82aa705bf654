"""``/api/v1/events/``: ingest (with ``dedupe_key`` or ``Idempotency-Key``), list, detail."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet, PaginationMixin, TenantFilterMixin
from automate.api.common import ADD_EVENT, StrictSerializer, error
from automate.api.permissions import write_tenant
from automate.events.models import Event
from automate.events.services import record_event
from automate.exceptions import AutomateError
from automate.governance.redaction import redact


class IdempotencyKeyReusedError(AutomateError):
    """An Idempotency-Key seen before, with another request body (422, as the IETF
    Idempotency-Key draft says): the first event is not returned as if it were this one."""

    code = "idempotency_key_reused"
    http_status = 422


def _differs(event: Event, data: dict[str, Any]) -> bool:
    """Whether the request describes another event than ``event`` (type, payload, source)."""
    return bool(
        event.type != data["type"]
        or event.payload != data["payload"]
        or event.source != data["source"]
    )


class EventInSerializer(StrictSerializer):
    type = serializers.CharField(max_length=200)
    payload = serializers.DictField(help_text="A JSON object (not null, a list or a value).")
    dedupe_key = serializers.CharField(max_length=255, required=False, allow_null=True)
    # DRF fields have a ``source`` attribute; a field named "source" is still fine at run time.
    source = serializers.CharField(max_length=100, required=False, default="api")  # type: ignore[assignment]
    tenant = serializers.SlugField(required=False, allow_null=True)


class EmittedSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    type = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    trace_id = serializers.CharField()
    created = serializers.BooleanField()


class EventSerializer(serializers.ModelSerializer[Event]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    payload = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = [
            "id",
            "tenant",
            "type",
            "source",
            "payload",
            "dedupe_key",
            "trace_id",
            "created_at",
        ]

    def get_payload(self, event: Event) -> dict[str, Any]:
        return redact(event.payload)  # type: ignore[no-any-return]


FILTERS = [
    OpenApiParameter("type", OpenApiTypes.STR, description="Exact event type."),
    OpenApiParameter("source", OpenApiTypes.STR, description="Exact source."),
    OpenApiParameter("trace_id", OpenApiTypes.STR, description="Exact trace id."),
    OpenApiParameter("dedupe_key", OpenApiTypes.STR, description="Exact dedupe key."),
]


@extend_schema_view(
    list=extend_schema(summary="List events, newest first", parameters=FILTERS),
    retrieve=extend_schema(
        summary="One event", responses={200: EventSerializer, 404: error("Not found")}
    ),
)
class EventViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    """Events of the request's tenants. Ingest needs the ``write`` scope and
    ``automate.add_event``."""

    queryset = Event.objects.select_related("tenant").defer("raw_body")
    serializer_class = EventSerializer
    action_perms = {"create": [ADD_EVENT]}

    def get_queryset(self) -> QuerySet[Event]:
        queryset = super().get_queryset()
        if self.action == "list":
            for name in ("type", "source", "trace_id", "dedupe_key"):
                value = self.request.query_params.get(name)
                if value:
                    queryset = queryset.filter(**{name: value})
        return queryset

    @extend_schema(
        summary="Record an event",
        request=EventInSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Used as the dedupe_key when the body has none.",
            )
        ],
        responses={
            201: EmittedSerializer,
            200: EmittedSerializer,
            400: error("Invalid event"),
            404: error("Unknown tenant"),
            422: error("The Idempotency-Key was used for another body"),
        },
    )
    def create(self, request: Request) -> Response:
        """Record an event; 201 when new, 200 with the first event for a seen key."""
        serializer = EventInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = data.get("dedupe_key")
        header = request.headers.get("Idempotency-Key")
        if header is not None:
            if key is not None and key != header:
                # A field message, not the value: a value under a "key" name is masked.
                raise serializers.ValidationError(
                    {"dedupe_key": [gettext("Differs from the Idempotency-Key header.")]}
                )
            key = header
        event, created = record_event(
            type=data["type"],
            payload=data["payload"],
            dedupe_key=key,
            source=data["source"],
            tenant=write_tenant(request, data.get("tenant")),
            traceparent=request.headers.get("traceparent"),
        )
        if not created and header is not None and _differs(event, data):
            raise IdempotencyKeyReusedError(
                gettext(
                    "This Idempotency-Key was used for a different event; "
                    "use a new key for a new event."
                ),
                details={"event": str(event.id)},
            )
        body = {
            "id": str(event.id),
            "type": event.type,
            "source": event.source,
            "trace_id": event.trace_id,
            "created": created,
        }
        return Response(body, status=201 if created else 200)
