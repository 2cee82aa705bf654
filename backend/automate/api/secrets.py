"""``/api/v1/secrets/``: the tenant's stored secrets by name and metadata; create and
rotate take a value and never return it. Needs the ``admin`` scope and the model
permissions of stored secrets (view, add, change), and the ``db`` secrets backend for
writes (409 ``secrets_backend_read_only`` otherwise)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet, PaginationMixin, TenantFilterMixin
from automate.api.common import StrictSerializer
from automate.api.permissions import write_tenant
from automate.governance.models import StoredSecret
from automate.governance.secret_store import create_secret, rotate_secret


class SecretSerializer(serializers.ModelSerializer[StoredSecret]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )

    class Meta:
        model = StoredSecret
        fields = ["id", "tenant", "name", "description", "created_at", "rotated_at"]


class SecretCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=128)
    value = serializers.CharField(write_only=True, trim_whitespace=False, max_length=65536)
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class SecretRotateSerializer(StrictSerializer):
    value = serializers.CharField(write_only=True, trim_whitespace=False, max_length=65536)


def _storable() -> None:
    """Refuse (409 ``secrets_backend_read_only``) unless the ``db`` secrets backend is active."""
    from automate.triggers.services import SecretsNotStorableError, can_store_secrets

    if not can_store_secrets():
        raise SecretsNotStorableError(
            gettext(
                "The active secrets backend cannot store secrets: set "
                "DJANGO_AUTOMATE['SECRETS']['backend'] = 'db', or set the secret in the "
                "backend you use."
            )
        )


@extend_schema_view(
    list=extend_schema(summary="Secret names and metadata (never values)"),
    retrieve=extend_schema(summary="One secret's metadata"),
)
class SecretViewSet(
    TenantFilterMixin,
    PaginationMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BaseGenericViewSet,
):
    queryset = StoredSecret.objects.select_related("tenant").order_by("name", "pk")
    serializer_class = SecretSerializer
    lookup_field = "name"
    lookup_value_regex = "[A-Za-z0-9_]{1,128}"
    action_scopes = {"list": "admin", "retrieve": "admin", "create": "admin", "rotate": "admin"}
    action_perms = {
        "list": ["automate.view_storedsecret"],
        "retrieve": ["automate.view_storedsecret"],
        "create": ["automate.add_storedsecret"],
        "rotate": ["automate.change_storedsecret"],
    }

    @extend_schema(
        summary="Store a new secret",
        request=SecretCreateSerializer,
        responses={201: SecretSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = SecretCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        tenant = write_tenant(request)
        _storable()
        secret = create_secret(
            data["name"], data["value"], tenant=tenant, actor=request.user,
            description=data["description"],
        )  # fmt: skip
        return Response(SecretSerializer(secret).data, status=201)

    @extend_schema(
        summary="Replace a secret's value",
        request=SecretRotateSerializer,
        responses=SecretSerializer,
    )
    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, name: str = "") -> Response:
        secret = self.get_object()
        serializer = SecretRotateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _storable()
        rotated = rotate_secret(
            secret.name,
            serializer.validated_data["value"],
            tenant=secret.tenant,
            actor=request.user,
        )
        return Response(SecretSerializer(rotated).data)
