"""The ``log`` connector: write a message to the application log from a workflow."""

from __future__ import annotations

import logging
from typing import Any

from automate.governance.redaction import redact, redact_text

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext

__all__ = ["LEVELS", "LogConnector", "logger"]

logger = logging.getLogger("automate.connectors.log")

LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class LogConnector(ConnectorAdapter):
    """``log.write``: log a message (and optional data) tagged with the run's trace id.

    Records go to the ``automate.connectors.log`` logger with ``trace_id``, ``run_id``,
    ``node_id``, ``tenant`` and ``data`` as extra fields; secrets in the message and the
    data are masked. The output is ``{"logged": true, "message": <the message>}``.
    """

    code = "log"
    name = "Log"
    description = "Write a message to the application log, tagged with the run's trace id."
    icon = "scroll-text"
    actions = {
        "write": ActionSpec(
            label="Write to the log",
            description="Log a message at the chosen level, with optional structured data.",
            inputs={
                "message": {"type": "string", "required": True, "description": "What to log."},
                "level": {
                    "type": "string",
                    "enum": list(LEVELS),
                    "default": "info",
                    "description": "Log level.",
                },
                "data": {"type": "object", "description": "Extra fields logged with it."},
            },
            outputs={"logged": {"type": "boolean"}, "message": {"type": "string"}},
            idempotent=True,
            side_effects=False,
        )
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Log ``params["message"]`` at ``params["level"]``."""
        message: str = params["message"]
        extra: dict[str, Any] = {
            "trace_id": context.trace_id,
            "run_id": context.run_id,
            "node_id": context.node_id,
            "tenant": context.tenant,
        }
        if "data" in params:
            extra["data"] = redact(params["data"])
        # Masked here as well as by the RedactingFilter: not every handler has the filter.
        logger.log(LEVELS[params["level"]], "%s", redact_text(message), extra=extra)
        return {"logged": True, "message": message}
