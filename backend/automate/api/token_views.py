"""``/api/v1/tokens/``: the caller's own API tokens. Listing shows metadata only; creating
answers the token text once (``token``); deleting revokes. Needs the ``admin`` scope; a
token can only create tokens with scopes it holds itself, in its own tenant."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseGenericViewSet
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


class TokenCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), min_length=1)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    tenant = serializers.SlugField(required=False, allow_null=True)


class CreatedTokenSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The token itself: shown this once only.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


@extend_schema_view(
    list=extend_schema(summary="Your API tokens (never their secrets)"),
    retrieve=extend_schema(summary="One of your API tokens"),
)
class TokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, BaseGenericViewSet):
    serializer_class = TokenSerializer
    action_scopes = dict.fromkeys(("list", "retrieve", "create", "destroy"), "admin")

    def get_queryset(self) -> Any:
        user: Any = self.request.user
        return ApiToken.objects.filter(user=user).select_related("tenant")

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
