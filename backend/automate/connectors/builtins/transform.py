"""The ``transform`` connector: reshape data between steps with templates."""

from __future__ import annotations

import copy
from typing import Any

from ..base import ActionSpec, ConnectorAdapter, ExecutionContext

__all__ = ["TransformConnector"]


class TransformConnector(ConnectorAdapter):
    """``transform.map``: the output is the ``fields`` input, as the engine rendered it.

    Templates in ``fields`` (``{"total": "{{ event.payload.amount * 1.2 }}"}``) are
    rendered by the engine before ``execute``, so this action only hands them back; later
    steps read them as ``steps.<node>.output.total``.
    """

    code = "transform"
    name = "Transform"
    description = "Build new values from the event and earlier steps with templates."
    icon = "shuffle"
    actions = {
        "map": ActionSpec(
            label="Map fields",
            description="Output the given fields, templates rendered.",
            inputs={
                "fields": {
                    "type": "object",
                    "required": True,
                    "description": "Output field name to value or template.",
                }
            },
            outputs={"type": "object"},
            idempotent=True,
            side_effects=False,
        )
    }

    def execute(
        self, action: str, params: dict[str, Any], context: ExecutionContext
    ) -> dict[str, Any]:
        """Return the rendered ``fields``."""
        fields: dict[str, Any] = copy.deepcopy(params["fields"])
        return fields
