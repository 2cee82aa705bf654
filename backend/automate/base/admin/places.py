"""``get_actions``' place argument across Django versions."""

from __future__ import annotations

from typing import Any


def action_place(action_location: Any) -> dict[str, Any]:
    """``get_actions``' place argument, passed on only when Django gives one: Django 6.1 asks
    per place (the change list, or the change form) and deprecates overrides without it;
    Django 5.2 has no such parameter."""
    return {} if action_location is None else {"action_location": action_location}
