"""``/api/v1/connectors/``: the connector catalog (allowed connectors, their actions and
each action's input and output JSON Schemas and secret fields)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from automate.api.base import BaseViewSet
from automate.connectors import all_connectors
from automate.exceptions import NotFoundError


class ActionSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    description = serializers.CharField()
    idempotent = serializers.BooleanField()
    side_effects = serializers.BooleanField()
    input_schema = serializers.DictField()
    output_schema = serializers.DictField()
    secret_fields = serializers.ListField(child=serializers.CharField())


class ConnectorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    icon = serializers.CharField()
    actions = ActionSerializer(many=True)


class ConnectorViewSet(BaseViewSet):
    lookup_value_regex = "[A-Za-z0-9_.-]{1,100}"
    lookup_field = "code"

    @extend_schema(
        summary="The connectors this site allows", responses=ConnectorSerializer(many=True)
    )
    def list(self, request: Request) -> Response:
        return Response([adapter.describe() for adapter in all_connectors(allowed_only=True)])

    @extend_schema(summary="One connector", responses=ConnectorSerializer)
    def retrieve(self, request: Request, code: str = "") -> Response:
        for adapter in all_connectors(allowed_only=True):
            if adapter.code == code:
                return Response(adapter.describe())
        raise NotFoundError(gettext("No such connector."), details={"code": code})
