"""The Django side of the input guard: the ``guarded`` decorator and the parse helpers.

Every view in the URL conf wears ``@guarded(...)`` (a test walks the URL conf and fails
for one that does not). Before the view runs it refuses, in order:

1. a body over ``LIMITS.max_body_bytes`` (413, from ``Content-Length`` before anything is
   read, and again from the bytes actually received);
2. a NUL or an unpaired surrogate in any query parameter or form field (name or value);

and while the view runs it turns every :class:`InputRejected` the helpers below raise
(``json_body``, ``form_json``, ``query_int``, ``query_text``) into the answer. A JSON
endpoint answers in the one error shape; a studio page answers with its own error
template (an HTMX partial for HTMX requests), always with the 4xx status.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Literal, TypeVar, cast

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.html import escape

from automate import conf
from automate.guard.parse import InputRejected, JsonLimits, check_text, load_json, too_large

View = TypeVar("View", bound=Callable[..., Any])
Kind = Literal["json", "html"]

BODY_SETTING = "DJANGO_AUTOMATE['LIMITS']['max_body_bytes']"
#: The largest id a path or query parameter may name: a signed 64-bit integer.
MAX_ID = 2**63 - 1
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def json_limits(*, max_bytes: int | None = None) -> JsonLimits:
    """The configured JSON limits (``LIMITS`` settings); ``max_bytes`` narrows the size."""
    return JsonLimits(
        max_bytes=max_bytes or conf.get("LIMITS", "max_body_bytes"),
        max_depth=conf.get("LIMITS", "max_json_depth"),
        max_number_digits=conf.get("LIMITS", "max_number_digits"),
    )


def guarded(
    kind: Kind, *, error_template: str = "", partial_template: str = ""
) -> Callable[[View], View]:
    """Guard a view's input. ``kind="json"`` answers refusals in the error shape;
    ``kind="html"`` renders ``error_template`` (``partial_template`` for HTMX requests)
    with ``message``, ``code``, ``details`` and ``status``."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                check_request(request)
                check_path_parameters(kwargs, args)
                return view(request, *args, **kwargs)
            except InputRejected as exc:
                return _refusal(request, exc, kind, error_template, partial_template)
            except RequestDataTooBig:
                big = too_large("The body", _declared_length(request), _max_body(), BODY_SETTING)
                return _refusal(request, big, kind, error_template, partial_template)
            except TooManyFieldsSent:
                many = InputRejected("The form has too many fields.", code="invalid_request")
                return _refusal(request, many, kind, error_template, partial_template)

        wrapped.input_guard = kind  # type: ignore[attr-defined]
        return cast(View, wrapped)

    return decorate


def check_request(request: HttpRequest) -> None:
    """Refuse a body over the limit and bad text in query parameters and form fields."""
    limit = _max_body()
    declared = _declared_length(request)
    if declared > limit:
        raise too_large("The body", declared, limit, BODY_SETTING)
    for key, values in request.GET.lists():
        _check_field(key, values, "query parameter")
    if request.method in _BODY_METHODS:
        size = len(request.body)  # Django refuses past DATA_UPLOAD_MAX_MEMORY_SIZE itself
        if size > limit:
            raise too_large("The body", size, limit, BODY_SETTING)
        if request.content_type in _FORM_TYPES:
            for key, values in request.POST.lists():
                _check_field(key, values, "form field")


def check_path_parameters(kwargs: dict[str, Any], args: tuple[Any, ...] = ()) -> None:
    """Refuse bad text (NUL, unpaired surrogates) in the URL's path parameters, which a
    route such as ``(?P<name>[^/]+)`` or ``<str:name>`` lets through to a database lookup
    (PostgreSQL refuses NUL with an error, SQLite matches nothing): 400 instead of a 500.
    ``args`` are the positional ones (unnamed groups, or a guarded helper view called
    with its parameters by position)."""
    named = [(repr(key[:40]), value) for key, value in kwargs.items()]
    for label, value in [*named, *((str(i + 1), v) for i, v in enumerate(args))]:
        if isinstance(value, str):
            check_text(value, what=f"The path parameter {label}")


def _check_field(key: str, values: list[str], what: str) -> None:
    check_text(key, what=f"A {what} name")
    for value in values:
        check_text(value, what=f"The {what} {key[:40]!r}")


def _max_body() -> int:
    return int(conf.get("LIMITS", "max_body_bytes"))


def _declared_length(request: HttpRequest) -> int:
    raw = request.META.get("CONTENT_LENGTH") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        raise InputRejected("The Content-Length header is not a number.") from None


def _refusal(
    request: HttpRequest, exc: InputRejected, kind: Kind, template: str, partial: str
) -> HttpResponse:
    status = exc.http_status
    if kind == "json" or not template:
        if kind == "json":
            from automate.api.errors import json_error

            return json_error(request, status, exc.code, exc.message, exc.details)
        return HttpResponse(
            f'<div class="alert alert-error" role="alert">{escape(exc.message)}</div>',
            status=status,
        )
    chosen = partial if partial and request.headers.get("HX-Request") else template
    context = {"message": exc.message, "code": exc.code, "details": exc.details, "status": status}
    return HttpResponse(render_to_string(chosen, context, request=request), status=status)


# --- what views parse with --------------------------------------------------------------


def json_body(request: HttpRequest, *, what: str = "The body", max_bytes: int | None = None) -> Any:
    """The request body parsed as JSON within the limits (raises InputRejected)."""
    return load_json(
        request.body, what=what, limits=json_limits(max_bytes=max_bytes), setting=BODY_SETTING
    )


def form_json(request: HttpRequest, field: str, *, what: str, default: str = "") -> Any:
    """A form field parsed as JSON within the limits (raises InputRejected)."""
    text = request.POST.get(field, "").strip() or default
    return load_json(text, what=what, limits=json_limits())


def bounded_id(text: str, *, what: str) -> int:
    """A whole number from 0 to a 64-bit integer's maximum, the range every database can
    look up (raises InputRejected; SQLite cannot even bind a larger one)."""
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_ID:
        raise InputRejected(
            f"{what} must be a whole number from 0 to {MAX_ID}; got {text[:40]!r}.",
            code="invalid_request",
            details={"value": text[:40]},
        )
    return int(text)


def query_int(request: HttpRequest, name: str, *, what: str = "") -> int | None:
    """``?name=`` as an id-sized whole number, or None when absent or blank."""
    text = request.GET.get(name, "").strip()
    if not text:
        return None
    return bounded_id(text, what=what or f"The {name!r} parameter")


def query_text(request: HttpRequest, name: str, *, max_length: int = 200, default: str = "") -> str:
    """``?name=`` as text of at most ``max_length`` characters (NUL already refused)."""
    text = request.GET.get(name, default).strip()
    return check_text(text, what=f"The {name!r} parameter", max_length=max_length)
