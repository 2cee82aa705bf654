"""Shared pieces of the API's resources: the error serializer, schema helpers, perms."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from automate.governance.redaction import redact

CHANGE_WORKFLOW = "automate.change_workflow"
PUBLISH_WORKFLOW = "automate.publish_workflow"
OPERATE_RUN = "automate.operate_run"
ADD_EVENT = "automate.add_event"


def _wrong_type(field: Any, value: Any) -> str | None:
    """Why ``value`` is not of ``field``'s JSON type (DRF would convert it), else None."""
    if value is None:
        return None  # allow_null / required decide
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else gettext("Must be true or false.")
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else gettext("Must be a whole number.")
    if isinstance(field, serializers.CharField | serializers.ChoiceField):
        return None if isinstance(value, str) else gettext("Must be a string.")
    if isinstance(field, serializers.ListField):
        if not isinstance(value, list):
            return gettext("Must be a list.")
        for item in value:
            problem = _wrong_type(field.child, item)
            if problem:
                return problem
    return None


class StrictSerializer(serializers.Serializer[Any]):
    """An input serializer that takes JSON as it is: a key it does not know is a 400
    naming it (not silently dropped), and a string, number or boolean field refuses
    a value of another JSON type (DRF alone turns ``123`` into ``"123"`` and ``"yes"``
    into ``True``). Errors come out as ``details.fields`` like every other."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            problems: dict[str, list[str]] = {}
            for key in sorted(set(data) - set(self.fields), key=str):
                problems[str(key)[:100]] = [gettext("Unknown field.")]
            for name, field in self.fields.items():
                if name in data and not field.read_only:
                    problem = _wrong_type(field, data[name])
                    if problem:
                        problems[name] = [problem]
            if problems:
                raise serializers.ValidationError(problems)
        return super().to_internal_value(data)


def query_flag(request: Any, name: str) -> bool:
    """A boolean query parameter: ``true``/``1`` or ``false``/``0`` (absent or blank:
    false); anything else (``yes``, ``on``, ``null``) is a 400 naming it."""
    from automate.exceptions import AutomateError

    text = request.query_params.get(name)
    if text is None or text.strip() == "":
        return False
    value = text.strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise AutomateError(
        gettext("%(name)s must be true or false (or 1 or 0).") % {"name": name},
        code="invalid_request",
        details={"fields": {name: "true, false, 1 or 0"}},
    )


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
