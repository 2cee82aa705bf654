"""The input guard for Django forms: a JSON form field parsed within the limits.

Django's own ``forms.JSONField`` parses with ``json.loads`` and lets a ``RecursionError``
(JSON nested thousands deep) or a ``ValueError`` (an integer of more than 4,300 digits)
escape as a 500, and re-shows a parsed lone surrogate that cannot be encoded;
:class:`GuardedJSONFormField` turns every refusal of
:func:`automate.guard.parse.load_json` into a form error instead. The admin uses it for
the JSON fields people edit by hand (a workflow's draft).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from automate.guard.http import json_limits
from automate.guard.parse import InputRejected, load_json


def _refusal(text: str) -> InputRejected | None:
    try:
        load_json(text, what="This value", limits=json_limits())
    except InputRejected as exc:
        return exc
    return None


class GuardedJSONFormField(forms.JSONField):
    """``forms.JSONField`` whose text goes through the input guard."""

    def to_python(self, value: Any) -> Any:
        if not self.disabled and isinstance(value, str) and value.strip():
            refused = _refusal(value)
            if refused is not None:
                raise ValidationError(refused.message, code="invalid")
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Re-shown after an error: refused text is shown as typed, never parsed again.
        if not self.disabled and isinstance(data, str) and _refusal(data) is not None:
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)
