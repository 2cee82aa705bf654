"""Log records that never carry secrets, as ECS JSON or plain text.

``RedactingFilter`` masks secrets in the message, its arguments and the ``extra`` fields of
every record before any handler sees it; ``EcsFormatter`` writes Elastic Common Schema JSON
lines with the trace id, so a run can be followed across processes.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

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


class EcsFormatter(logging.Formatter):
    """One JSON object per line in Elastic Common Schema field names."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "log.level": record.levelname.lower(),
            "log.logger": record.name,
            "message": record.getMessage(),
            "ecs.version": "8.11.0",
            "process.pid": record.process,
            "process.thread.name": record.threadName,
        }
        extra = _extra_fields(record)
        trace_id = extra.pop("trace_id", None)
        if trace_id:
            doc["trace.id"] = trace_id
        if extra:
            doc["labels"] = {
                k: v if isinstance(v, str | int | float | bool) else str(v)
                for k, v in extra.items()
            }
        if record.exc_info:
            doc["error.stack_trace"] = record.exc_text or self.formatException(record.exc_info)
            doc["error.type"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
        return json.dumps(doc, default=str)


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
