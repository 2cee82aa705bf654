"""What a log line is about: the run, step, workflow and tenant being handled right now.

The worker binds them around a job (``with bound(run_id=..., step_id=..., ...)``);
``ContextFilter`` (on the site's handlers, beside the redaction filter) copies them onto
every record written meanwhile, from any logger, as the ECS fields ``trace.id``,
``automate.run.id``, ``automate.step.id``, ``automate.workflow.slug`` and
``automate.tenant.slug`` (``automate.observability.logging.EcsFormatter``). Bindings nest
and are per thread and per asyncio task (``contextvars``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

#: Record attribute -> the ECS field it becomes.
FIELDS = {
    "trace_id": "trace.id",
    "run_id": "automate.run.id",
    "step_id": "automate.step.id",
    "workflow": "automate.workflow.slug",
    "tenant": "automate.tenant.slug",
}

_bound: ContextVar[dict[str, Any] | None] = ContextVar("automate_log_context", default=None)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Bind ``trace_id``, ``run_id``, ``step_id``, ``workflow``, ``tenant`` (any subset;
    ``None`` values are left out) for the records written inside the block.

    Raises ``TypeError`` for another name, so a typo never silently drops a field.
    """
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"bound() takes {sorted(FIELDS)}, not {sorted(unknown)}")
    outer = _bound.get() or {}
    token = _bound.set({**outer, **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _bound.reset(token)


def current() -> dict[str, Any]:
    """The fields bound here now (a copy)."""
    return dict(_bound.get() or {})


class ContextFilter(logging.Filter):
    """Copy the bound fields onto each record (a record's own ``extra`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (_bound.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
