"""One error shape for every API response:
``{"code", "message", "details", "trace_id"}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from automate.exceptions import AutomateError
from automate.observability.tracing import new_trace_id, parse_traceparent

logger = logging.getLogger("automate.api")

_DRF_CODES = {
    drf_exceptions.ParseError: "malformed_request",
    drf_exceptions.ValidationError: "invalid_request",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "resource_not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
}


def request_trace_id(request: HttpRequest | None) -> str:
    """The caller's trace id (from ``traceparent``) or a new one."""
    header = request.headers.get("traceparent") if request is not None else None
    return parse_traceparent(header) or new_trace_id()


def error_body(
    code: str,
    message: str,
    details: dict[str, Any] | None,
    trace_id: str,
    *,
    field_messages: bool = False,
) -> dict[str, Any]:
    """The error shape; details are redacted (``field_messages``: only secret-looking
    values inside our own validation messages, so a field named ``dedupe_key`` keeps its
    message)."""
    from automate.governance.redaction import redact, redact_text

    if field_messages:
        shown: Any = _redact_strings(details or {}, redact_text)
    else:
        shown = redact(details or {})
    return {"code": code, "message": message, "details": shown, "trace_id": trace_id}


def _redact_strings(value: Any, redact_text: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v, redact_text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_strings(v, redact_text) for v in value]
    return value


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler mapping every known error to the one shape."""
    request = context.get("request")
    trace_id = request_trace_id(request)
    if isinstance(exc, AutomateError):
        body = error_body(exc.code, exc.message, exc.details, trace_id)
        return Response(body, status=exc.http_status)
    if isinstance(exc, RecursionError):  # JSON nested deeper than the parser can go
        return Response(
            error_body("malformed_request", "The JSON is nested too deeply.", {}, trace_id),
            status=400,
        )
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "request_error")
        validation = isinstance(exc, drf_exceptions.ValidationError)
        if validation:
            message, details = "The request is invalid.", {"fields": exc.detail}
        else:
            message, details = str(exc.detail), {}
        body = error_body(code, message, details, trace_id, field_messages=validation)
        response = Response(body, status=exc.status_code)
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            response["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if isinstance(exc, drf_exceptions.Throttled) and wait is not None:
            response["Retry-After"] = str(int(wait) + 1)
        return response
    logger.exception("Unhandled API error", extra={"trace_id": trace_id})
    return Response(
        error_body("internal_error", "An internal error occurred.", {}, trace_id), status=500
    )


def json_error(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> JsonResponse:
    """The error shape for plain Django views (webhooks, 404/500 under /api/)."""
    return JsonResponse(
        error_body(code, message, details, request_trace_id(request)), status=status
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> Any:
    """``handler404`` of a site: the error shape under ``/api/``, Django's page elsewhere.

    A path under ``/api/`` that no route matches (``/api/v1/runs/not-a-uuid/``) answers
    ``404 resource_not_found`` as JSON, like every other error of the API.
    """
    if request.path.startswith("/api/"):
        return json_error(request, 404, "resource_not_found", "No such resource.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Http404())
