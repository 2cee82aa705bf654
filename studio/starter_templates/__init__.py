"""The wizard's starter templates: workflows built on the built-in connectors.

Each template is a workflow file next to this module (``<key>.json``, the format
``automate_import`` reads); what only the user knows (a channel, an address, which
secret holds a token) is a node ``placeholder`` (``automate.workflows.placeholders``), a
problem until filled, never a made-up value. The card's title and summary are here, so
they are translated; so are the nodes' labels (``NODE_LABELS``), which a new workflow gets
in its creator's language.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from automate.connectors import connector_exists, get_connector
from studio.icons import NODE_TYPE_ICONS, node_icon

__all__ = ["StarterTemplate", "starter_template", "starter_templates"]

#: key (the file's name without .json), title, summary; in the gallery's order.
CATALOG: tuple[tuple[str, Promise, Promise], ...] = (
    (
        "webhook-to-slack",
        _("Webhook → Slack"),
        _("Post a Slack message for every delivery to one of your webhook endpoints."),
    ),
    (
        "schedule-http-email",
        _("Schedule → HTTP → email"),
        _("Every weekday at 9:00, call an HTTP endpoint and email what it answered."),
    ),
    (
        "model-created-crm",
        _("Model created → CRM update"),
        _("When a record of your models is created, create or update the CRM record."),
    ),
    (
        "stripe-invoice-paid",
        _("Stripe invoice paid → Slack + CRM"),
        _("Tell the team when an invoice is paid and record it on the customer."),
    ),
    (
        "github-push",
        _("GitHub push → log + Slack"),
        _("Log every push to your repository and announce it on Slack."),
    ),
    (
        "llm-summary-email",
        _("LLM summary → email"),
        _("Have a language model summarize each new support ticket and email it."),
    ),
    (
        "forward-signed-webhook",
        _("Event → transform → signed webhook"),
        _("Reshape each order event and deliver it, signed, to your own service."),
    ),
)

#: Every node label of the template files, for the message catalog (translated on use).
NODE_LABELS: tuple[str, ...] = (
    gettext_noop("Any order event"),
    gettext_noop("Pick the fields"),
    gettext_noop("Deliver it"),
    gettext_noop("GitHub: push"),
    gettext_noop("Log the push"),
    gettext_noop("Announce it"),
    gettext_noop("Ticket created"),
    gettext_noop("Summarize it"),
    gettext_noop("Email the summary"),
    gettext_noop("Order created"),
    gettext_noop("Update the CRM record"),
    gettext_noop("Weekdays at 9:00"),
    gettext_noop("Fetch the status"),
    gettext_noop("Email the answer"),
    gettext_noop("Stripe: invoice.paid"),
    gettext_noop("Tell the team"),
    gettext_noop("Record it on the customer"),
    gettext_noop("Webhook received"),
    gettext_noop("Post to Slack"),
)


@dataclass(frozen=True)
class StarterTemplate:
    key: str
    title: Promise
    summary: Promise
    #: The workflow file (do not change it: ``definition()`` hands out copies).
    document: dict[str, Any]

    def definition(self) -> dict[str, Any]:
        """A fresh copy of the workflow file, its node labels in the active language."""
        document = copy.deepcopy(self.document)
        for node in document["graph"]["nodes"]:
            if node.get("label"):
                node["label"] = gettext(node["label"])
        return document

    def trigger(self) -> dict[str, str]:
        """How it starts: ``{"icon", "kind", "what"}`` (schedule, webhook source or event)."""
        spec = self.document["trigger_spec"]
        if "schedule" in spec:
            return {"icon": "calendar-clock", "kind": "schedule", "what": spec["schedule"]["cron"]}
        source = spec.get("source", "")
        if source == "django":
            return {"icon": "database", "kind": "model", "what": spec["event_type"]}
        if source:
            return {"icon": "webhook", "kind": "webhook", "what": f"{source}: {spec['event_type']}"}
        if spec["event_type"] == "webhook.received":
            return {"icon": "webhook", "kind": "webhook", "what": spec["event_type"]}
        return {"icon": NODE_TYPE_ICONS["trigger"], "kind": "event", "what": spec["event_type"]}

    def steps(self) -> list[dict[str, Any]]:
        """The nodes after the trigger: id, label, icon, ``connector.action``, placeholders."""
        out = []
        for node in self.definition()["graph"]["nodes"]:
            if node["type"] == "trigger":
                continue
            code = node.get("connector", "")
            known = bool(code) and connector_exists(code, node.get("action", ""))
            out.append(
                {
                    "id": node["id"],
                    "label": node.get("label", node["id"]),
                    "icon": node_icon(node["type"], get_connector(code).icon if known else code),
                    "kind": f"{code}.{node['action']}" if code else node["type"],
                    "fill": sorted((node.get("placeholders") or {}).items()),
                }
            )
        return out

    def icons(self) -> list[str]:
        """The card's icons: the trigger's, then each connector's once."""
        names = [self.trigger()["icon"]]
        for step in self.steps():
            if step["icon"] not in names:
                names.append(step["icon"])
        return names

    def fill_count(self) -> int:
        return sum(len(step["fill"]) for step in self.steps())


@cache
def _document(key: str) -> dict[str, Any]:
    text = files(__package__).joinpath(f"{key}.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def starter_templates() -> list[StarterTemplate]:
    """Every starter template, in the gallery's order."""
    return [
        StarterTemplate(key=key, title=title, summary=summary, document=_document(key))
        for key, title, summary in CATALOG
    ]


def starter_template(key: str) -> StarterTemplate | None:
    """The template ``key``, or None when there is no such template."""
    return next((t for t in starter_templates() if t.key == key), None)
