"""What the copilot may build with: the live connector catalog of one tenant.

The catalog is read fresh for every request: node types, the allowed connectors and their
actions with input schemas, the tenant's secret *names* (never values), the event types the
tenant has seen or triggers on, and the payload keys (never values) of the last real events
of those types. Drafters use it to build a graph; the model drafter also sends it (as data)
and builds its JSON schema from it.

Key names come from event payloads, which outsiders write: only names that look like
identifiers are kept, so a payload cannot smuggle a sentence into the model's prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from automate.connectors import all_connectors
from automate.events.models import Event
from automate.governance.secrets import secret_names
from automate.rules.semantics import kind as json_kind
from automate.tenants.models import Tenant
from automate.workflows.graph import NodeType
from automate.workflows.models import Workflow

RECENT_EVENTS: Final = 500
"""How many of the tenant's latest events are looked at for event types."""
MAX_EVENT_TYPES: Final = 30
"""At most this many event types are offered (the most recent first)."""
SAMPLED_TYPES: Final = 10
"""Payload keys are sampled for at most this many event types."""
SAMPLE_EVENTS: Final = 20
"""Payload keys come from the last this-many events of each sampled type."""
MAX_KEYS: Final = 60
"""At most this many key paths per event type."""
MAX_KEY_DEPTH: Final = 3
"""Key paths go at most this deep (``customer.address.city``)."""

_KEY: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,63}")
_EVENT_TYPE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,199}")


@dataclass(frozen=True)
class ActionEntry:
    """One action a node may run: ``connector``.``action`` with its JSON-schema inputs."""

    connector: str
    action: str
    label: str
    description: str
    connector_name: str
    input_schema: dict[str, Any]
    secret_fields: tuple[str, ...]
    side_effects: bool

    @property
    def kind(self) -> str:
        """``"slack.post_message"``."""
        return f"{self.connector}.{self.action}"


@dataclass(frozen=True)
class Catalog:
    """Everything a drafter may use for one tenant (see the module docstring)."""

    tenant: str
    node_types: tuple[str, ...]
    actions: tuple[ActionEntry, ...]
    secret_names: tuple[str, ...]
    event_types: tuple[str, ...]
    sample_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    """``{event_type: {"amount_paid": "number", "customer.email": "string", ...}}``."""

    def action(self, connector: str, action: str) -> ActionEntry | None:
        """The entry for ``connector.action``, or ``None`` when it is not in the catalog."""
        for entry in self.actions:
            if entry.connector == connector and entry.action == action:
                return entry
        return None

    def connectors(self) -> list[str]:
        """The connector codes in the catalog, sorted."""
        return sorted({entry.connector for entry in self.actions})

    def as_data(self) -> dict[str, Any]:
        """The catalog as JSON (what the model drafter sends as data)."""
        return {
            "node_types": list(self.node_types),
            "actions": [
                {
                    "connector": entry.connector,
                    "action": entry.action,
                    "label": entry.label,
                    "description": entry.description,
                    "inputs": entry.input_schema,
                    "secret_fields": list(entry.secret_fields),
                }
                for entry in self.actions
            ],
            "secret_names": list(self.secret_names),
            "event_types": list(self.event_types),
            "sample_payload_keys": self.sample_keys,
        }


def build_catalog(*, tenant: Tenant, event_type: str | None = None) -> Catalog:
    """The catalog for ``tenant``; ``event_type`` (the current trigger's) is sampled first.

    A bounded number of queries: one for recent event types, one for the tenant's
    triggers, one per sampled event type (at most ``SAMPLED_TYPES``), and the secret
    backend's listing.
    """
    actions = tuple(_action_entries())
    recent = _recent_event_types(tenant)
    triggered = _trigger_event_types(tenant)
    types = _unique([*([event_type] if event_type else []), *recent, *triggered])
    types = [t for t in types if _EVENT_TYPE.fullmatch(t)][:MAX_EVENT_TYPES]
    sampled = [t for t in types if not t.endswith("*")][:SAMPLED_TYPES]
    return Catalog(
        tenant=tenant.slug,
        node_types=tuple(t.value for t in NodeType),
        actions=actions,
        secret_names=tuple(secret_names(tenant=tenant)),
        event_types=tuple(types),
        sample_keys={t: keys for t in sampled if (keys := _sample_keys(tenant, t))},
    )


def _action_entries() -> Iterable[ActionEntry]:
    for adapter in all_connectors(allowed_only=True):
        described = adapter.describe()
        for action in described["actions"]:
            yield ActionEntry(
                connector=described["code"],
                action=action["name"],
                label=str(action["label"]),
                description=str(action["description"]),
                connector_name=str(described["name"]),
                input_schema=action["input_schema"],
                secret_fields=tuple(action["secret_fields"]),
                side_effects=bool(action["side_effects"]),
            )


def _unique(items: Iterable[Any]) -> list[str]:
    return list(dict.fromkeys(item for item in items if isinstance(item, str) and item))


def _recent_event_types(tenant: Tenant) -> list[str]:
    latest = Event.objects.filter(tenant=tenant).order_by("-created_at")[:RECENT_EVENTS]
    return _unique(latest.values_list("type", flat=True))


def _trigger_event_types(tenant: Tenant) -> list[str]:
    specs = Workflow.objects.filter(tenant=tenant).values_list("draft_trigger_spec", flat=True)
    return _unique(spec.get("event_type") for spec in specs[:200] if isinstance(spec, Mapping))


def _sample_keys(tenant: Tenant, event_type: str) -> dict[str, str]:
    payloads = (
        Event.objects.filter(tenant=tenant, type=event_type)
        .order_by("-created_at")
        .values_list("payload", flat=True)[:SAMPLE_EVENTS]
    )
    keys: dict[str, str] = {}
    for payload in payloads:
        _collect_keys(payload, "", 1, keys)
        if len(keys) >= MAX_KEYS:
            break
    return dict(list(keys.items())[:MAX_KEYS])


def _collect_keys(value: Any, prefix: str, depth: int, into: dict[str, str]) -> None:
    if not isinstance(value, Mapping) or depth > MAX_KEY_DEPTH:
        return
    for key, item in value.items():
        if len(into) >= MAX_KEYS:
            return
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            continue  # not an identifier: never passed on (it could be a sentence)
        path = f"{prefix}{key}"
        into.setdefault(path, json_kind(item))
        _collect_keys(item, f"{path}.", depth + 1, into)
