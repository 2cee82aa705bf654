"""The OpenAPI 3 schema (``/api/v1/schema/``) and its docs page (``/api/v1/docs/``).

The schema is drf-spectacular's, with every operation given the error responses it can
answer (400, 401, 403, 404, 409, 429: the one error shape) and the bearer-token scheme.
The docs page is Swagger UI loaded from the site's own static files
(``vendor/swagger-ui/``, the npm package ``swagger-ui-dist``), never from a CDN.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer

from automate.guard.http import guarded

__all__ = ["docs_page", "schema_view"]

_ERRORS = {
    "400": "The request is invalid (the error shape names what).",
    "401": "No credentials, or an invalid, revoked or expired token.",
    "403": "The token lacks the scope, or the user the permission.",
    "404": "No such object in the request's tenants.",
    "409": "The request conflicts with the current state (a stale draft revision…).",
    "413": "The body is over LIMITS.max_body_bytes (payload_too_large).",
    "429": "Over a rate limit; retry after Retry-After seconds.",
}
#: Only for operations that read a body: another content type than JSON.
_UNSUPPORTED = "The body is not application/json (unsupported_media_type)."
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "details", "trace_id"],
    "properties": {
        "code": {"type": "string", "example": "resource_not_found"},
        "message": {"type": "string"},
        "details": {"type": "object", "additionalProperties": True},
        "trace_id": {"type": "string"},
    },
}


class TokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "automate.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "da_<prefix>_<secret>",
            "description": "An API token created in the studio (API tokens) or the admin.",
        }


def api_endpoints_only(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Preprocessing hook: the operations under ``/api/v1/`` but the schema itself."""
    return [
        endpoint
        for endpoint in endpoints
        if endpoint[0].startswith("/api/v1/") and endpoint[0] != "/api/v1/schema/"
    ]


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: the Error component and its responses on every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = _ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            public = operation.get("security") == [{}] or path.endswith("/health/")
            for status, description in _ERRORS.items():
                if public and status in ("401", "403"):
                    continue
                if status == "409" and method == "get":
                    continue
                operation["responses"].setdefault(
                    status,
                    {"description": description, "content": {"application/json": {"schema": ref}}},
                )
            if "requestBody" in operation:
                operation["responses"].setdefault(
                    "415",
                    {"description": _UNSUPPORTED, "content": {"application/json": {"schema": ref}}},
                )
    return result


SCHEMA_SETTINGS = {
    "TITLE": "Django Automate API",
    "DESCRIPTION": (
        "Everything the studio does, over HTTP. Authenticate with "
        "`Authorization: Bearer da_…` (API tokens have scopes: read, write, publish, "
        "admin). Errors: `{code, message, details, trace_id}`. Every list pages with "
        "`?cursor=&limit=`."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Three models have a "status" with different choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "automate.execution.models.ExecutionRun.Status",
        "StepStatusEnum": "automate.execution.models.StepRun.Status",
        "JobStatusEnum": "automate.execution.models.OutboxJob.Status",
    },
    "PREPROCESSING_HOOKS": ["automate.api.docs.api_endpoints_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "automate.api.docs.add_error_responses",
    ],
}

schema_view = guarded("json")(
    SpectacularAPIView.as_view(
        custom_settings=SCHEMA_SETTINGS,
        permission_classes=[AllowAny],
        authentication_classes=[],
        renderer_classes=[JSONRenderer],
    )
)

#: The Swagger UI files, from the npm package swagger-ui-dist (settings.NPM_STATIC_FILES).
SWAGGER_CSS = "vendor/swagger-ui/swagger-ui.css"
SWAGGER_JS = "vendor/swagger-ui/swagger-ui-bundle.js"

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="{css}"></head>
<body><div id="swagger-ui"><p style="font-family:sans-serif;margin:2rem">{loading}
<a href="{schema}">{schema}</a></p></div>
<script src="{js}"></script>
<script>
if (window.SwaggerUIBundle) {{
  window.ui = SwaggerUIBundle({{
    url: "{schema}", dom_id: "#swagger-ui", deepLinking: true,
    requestInterceptor: function (request) {{
      var token = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
      if (token) {{ request.headers["X-CSRFToken"] = decodeURIComponent(token[1]); }}
      return request;
    }}
  }});
}}
</script></body></html>"""


@guarded("html")
def docs_page(request: HttpRequest) -> HttpResponse:
    """Swagger UI over ``/api/v1/schema/``, from the site's static files."""
    html = format_html(
        _PAGE,
        title=gettext("Django Automate API"),
        css=static(SWAGGER_CSS),
        js=static(SWAGGER_JS),
        schema=reverse("automate_api:schema"),
        loading=gettext("Loading the API reference… The schema itself:"),
    )
    return HttpResponse(html)
