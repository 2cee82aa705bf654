"""``/api/v1/tokens/``: the caller's own API tokens. Listing shows metadata only; creating
answers the token text once (``token``); deleting revokes. Needs the ``admin`` scope.

Called with a token, the caller sees and revokes only tokens of the token's tenant, and
creates only tokens with scopes it holds itself, in its own tenant, expiring no later
than itself (``expires_at`` required when the caller expires)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet, PaginationMixin
from automate.api.common import StrictSerializer
from automate.api.models import SCOPES, ApiToken
from automate.api.permissions import token_of, write_tenant
from automate.api.tokens import create_token, revoke_token


class TokenSerializer(serializers.ModelSerializer[ApiToken]):
    tenant: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES))

    class Meta:
        model = ApiToken
        fields = [
            "id", "name", "tenant", "scopes", "prefix", "created_at", "expires_at",
            "last_used_at", "revoked_at",
        ]  # fmt: skip


class TokenCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), min_length=1)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    tenant = serializers.SlugField(required=False, allow_null=True)


class CreatedTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token itself: shown this once only.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


def _within_caller(expires_at: datetime | None, limit: datetime) -> None:
    """A token that expires cannot mint one that outlives it: ``expires_at`` is required
    and at most the caller's own expiry (400 ``invalid_request`` naming the field)."""
    if expires_at is None:
        message = gettext(
            "A token that expires must give its new token an expiry (at most %(limit)s)."
        )
    elif expires_at > limit:
        message = gettext("The new token cannot outlive this one (it expires at %(limit)s).")
    else:
        return
    raise serializers.ValidationError({"expires_at": [message % {"limit": limit.isoformat()}]})


@extend_schema_view(
    list=extend_schema(summary="Your API tokens (never their secrets)"),
    retrieve=extend_schema(summary="One of your API tokens"),
)
class TokenViewSet(
    PaginationMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseGenericViewSet
):
    serializer_class = TokenSerializer
    action_scopes = dict.fromkeys(("list", "retrieve", "create", "destroy"), "admin")

    def get_queryset(self) -> Any:
        """The user's tokens; with a token, only those of its own tenant."""
        user: Any = self.request.user
        queryset = ApiToken.objects.filter(user=user).select_related("tenant")
        caller = token_of(self.request)
        if caller is not None:
            queryset = queryset.filter(tenant_id=caller.tenant_id)
        return queryset

    @extend_schema(
        summary="Create a token",
        request=TokenCreateSerializer,
        responses={201: CreatedTokenSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = TokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        caller = token_of(request)
        if caller is not None and not set(data["scopes"]) <= set(caller.scopes):
            raise PermissionDenied(
                gettext("A token cannot create a token with more scopes than its own.")
            )
        if caller is not None and caller.expires_at is not None:
            _within_caller(data.get("expires_at"), caller.expires_at)
        new = create_token(
            user=request.user,
            tenant=write_tenant(request, data.get("tenant")),
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data.get("expires_at"),
        )
        body = {**TokenSerializer(new.token).data, "token": new.text}
        return Response(body, status=201)

    @extend_schema(summary="Revoke a token", responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        revoke_token(token=self.get_object(), actor=request.user)
        return Response(status=204)
