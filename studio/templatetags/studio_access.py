"""``{% missing_permission "publish_workflow" as why %}``: the sentence telling the user
which permission a button needs (its tooltip; the button is disabled), or "" when they
hold it. The views refuse the same actions (studio.access.needs_permission)."""

from __future__ import annotations

from typing import Any

from django import template

from studio.access import missing_permission as _missing

register = template.Library()


@register.simple_tag(takes_context=True)
def missing_permission(context: template.Context, codename: str) -> str:
    """ "" when the request's user holds ``automate.<codename>``, else why not."""
    request: Any = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return _missing(user, f"automate.{codename}")
