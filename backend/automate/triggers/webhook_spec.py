"""A workflow's webhook trigger, ``trigger_spec["webhook"]``, as pure data (no Django).

``{"slug": "shop-orders", "scheme": "generic", "secret_name": "WEBHOOK_SHOP_ORDERS"}``:
deliveries to ``/hooks/<slug>/`` are verified with the tenant's secret ``secret_name``
under ``scheme``: ``generic`` or a registered connector trigger's scheme (``stripe``,
``github``, ``slack``, ``<connector>.<trigger>``). The definition holds the secret's
*name* only, never its value. The studio's webhook trigger writes it; saving or
publishing creates the endpoint (``automate.triggers.services.sync_webhook_endpoint``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

#: The schemes that ship built in; a connector's trigger adds its own (``scheme_names``).
SCHEMES = ("generic", "stripe", "github", "slack")
#: A URL slug (Django's ``slug`` converter), at most 100 characters like the model field.
SLUG_PATTERN = re.compile(r"[-a-zA-Z0-9_]{1,100}")
_SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def default_secret_name(slug: str) -> str:
    """The signing secret's name for an endpoint: ``WEBHOOK_<SLUG>`` in secret-name form."""
    return "WEBHOOK_" + re.sub(r"[^A-Za-z0-9]", "_", slug).upper()[:100]


def webhook_problems(webhook: Any, schemes: Sequence[str] = SCHEMES) -> list[dict[str, str]]:
    """Problems with a ``webhook`` trigger block (for validation at save and publish).

    ``schemes`` are the schemes allowed: pass ``automate.connectors.scheme_names()`` (the
    generic scheme and every registered connector trigger's); this module stays free of
    the connector registry, which reaches the execution plane.
    """
    if not isinstance(webhook, dict):
        return [{"field": "trigger_spec.webhook", "message": "must be a JSON object"}]
    problems = []
    slug = webhook.get("slug")
    if not isinstance(slug, str) or not SLUG_PATTERN.fullmatch(slug):
        problems.append(
            {
                "field": "trigger_spec.webhook.slug",
                "message": "must be 1-100 letters, digits, '-' or '_' "
                "(it is the URL /hooks/<slug>/)",
            }
        )
    if webhook.get("scheme") not in schemes:
        problems.append(
            {
                "field": "trigger_spec.webhook.scheme",
                "message": f"must be one of {', '.join(schemes)} (the generic scheme or a "
                "registered connector's trigger)",
            }
        )
    name = webhook.get("secret_name")
    if not isinstance(name, str) or not _SECRET_NAME.fullmatch(name):
        problems.append(
            {
                "field": "trigger_spec.webhook.secret_name",
                "message": "must be a secret name (letters, digits and '_', not starting "
                "with a digit)",
            }
        )
    unknown = sorted(set(webhook) - {"slug", "scheme", "secret_name"})
    if unknown:
        problems.append(
            {"field": "trigger_spec.webhook", "message": f"unknown keys: {', '.join(unknown)}"}
        )
    return problems
