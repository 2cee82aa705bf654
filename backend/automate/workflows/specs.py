"""Pure validation of a workflow's trigger spec; no Django imports."""

from __future__ import annotations

from typing import Any

from automate.events.validation import _NAME


def trigger_problems(spec: Any) -> list[dict[str, str]]:
    """Problems with a trigger spec ``{"event_type": "...", "source": "..."}``.

    ``event_type`` is required; it may end with ``*`` to match a family (``invoice.*``).
    ``source`` is optional and, when given, must equal the event's source.
    """
    if not isinstance(spec, dict):
        return [{"field": "trigger_spec", "message": "must be a JSON object"}]
    problems: list[dict[str, str]] = []
    event_type = spec.get("event_type")
    pattern = event_type[:-1] if isinstance(event_type, str) and event_type.endswith("*") else None
    if not isinstance(event_type, str) or not (
        _NAME.match(event_type) or event_type == "*" or (pattern and _NAME.match(pattern))
    ):
        problems.append(
            {
                "field": "trigger_spec.event_type",
                "message": "must name an event type such as 'invoice.paid' (or 'invoice.*')",
            }
        )
    source = spec.get("source")
    if source is not None and (not isinstance(source, str) or not _NAME.match(source)):
        problems.append({"field": "trigger_spec.source", "message": "must be a source name"})
    if "schedule" in spec:
        from automate.triggers.cron import schedule_problems

        problems.extend(schedule_problems(spec["schedule"]))
    if "webhook" in spec:
        from automate.connectors.triggers import scheme_names
        from automate.triggers.webhook_spec import webhook_problems

        problems.extend(webhook_problems(spec["webhook"], scheme_names()))
    unknown = sorted(set(spec) - {"event_type", "source", "schedule", "webhook"})
    if unknown:
        problems.append({"field": "trigger_spec", "message": f"unknown keys: {', '.join(unknown)}"})
    return problems


def trigger_matches(spec: dict[str, Any], *, event_type: str, source: str) -> bool:
    """Whether an event of ``event_type`` from ``source`` fires this trigger."""
    wanted = spec.get("event_type", "")
    type_ok = event_type.startswith(wanted[:-1]) if wanted.endswith("*") else event_type == wanted
    wanted_source = spec.get("source")
    return type_ok and (wanted_source is None or wanted_source == source)
