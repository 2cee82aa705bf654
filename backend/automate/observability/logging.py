"""Log records that never carry secrets, as ECS JSON or plain text.

``RedactingFilter`` masks secrets in the message, its arguments and the ``extra`` fields of
every record before any handler sees it; ``EcsFormatter`` writes Elastic Common Schema JSON
lines (through the ``ecs-logging`` library) with the trace id and the run being handled
(``automate.observability.log_context``), so a run can be followed across processes.
"""

from __future__ import annotations

import logging
from typing import Any

import ecs_logging

_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime"}
)


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class RedactingFilter(logging.Filter):
    """Mask secrets in a record's message and extra fields (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from automate.governance.redaction import redact, redact_text

        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        for key, value in _extra_fields(record).items():
            setattr(record, key, redact({key: value})[key])
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return True


class EcsFormatter(ecs_logging.StdlibFormatter):
    """One JSON object per line in Elastic Common Schema, by the ``ecs-logging`` library.

    On top of the library's fields: the record's ``trace_id`` becomes ``trace.id``, the run
    context of ``automate.observability.log_context`` becomes ``automate.run.id``,
    ``automate.step.id``, ``automate.workflow.slug`` and ``automate.tenant.slug``; any other
    ``extra`` goes under ``labels`` (ECS's place for ad-hoc keywords); and the exception's
    message and stack trace are redacted (the library reads them from the exception, past
    ``RedactingFilter``). ``log.original`` is left out: it repeats ``message``.
    """

    def __init__(self) -> None:
        super().__init__(exclude_fields=("log.original",))

    def format_to_ecs(self, record: logging.LogRecord) -> dict[str, Any]:
        from automate.governance.redaction import redact_text
        from automate.observability.log_context import FIELDS

        extra = _extra_fields(record)
        doc = super().format_to_ecs(record)
        labels = dict(doc.get("labels") or {})
        for key, value in extra.items():
            if key in FIELDS or key == "node_id":  # node_id: the engine's older name
                doc.pop(key, None)
                _put(doc, FIELDS.get(key, "automate.step.id"), value)
            elif "." not in key and key != "labels":
                doc.pop(key, None)
                labels[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if labels:
            doc["labels"] = labels
        error = doc.get("error")
        if isinstance(error, dict):
            for key in ("message", "stack_trace"):
                if isinstance(error.get(key), str):
                    error[key] = redact_text(error[key])
        return doc


def _put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``doc["a"]["b"]["c"]`` for ``"a.b.c"`` (ECS documents are nested objects)."""
    *parents, last = dotted.split(".")
    for part in parents:
        doc = doc.setdefault(part, {})
    doc[last] = value


class SchemaFormatter(logging.Formatter):
    """Formats as ``DJANGO_AUTOMATE["LOGGING_SCHEMA"]`` says: "ecs" JSON or "simple" text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._ecs = EcsFormatter()

    def format(self, record: logging.LogRecord) -> str:
        from django.conf import settings

        schema = "ecs"
        if settings.configured:
            schema = getattr(settings, "DJANGO_AUTOMATE", {}).get("LOGGING_SCHEMA", "ecs")
        return self._ecs.format(record) if schema == "ecs" else super().format(record)
