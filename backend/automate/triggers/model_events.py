"""Events from your own models: every create, update and delete becomes an event.

Declare models in settings::

    DJANGO_AUTOMATE = {"MODEL_EVENTS": ["shop.Order", {"model": "crm.Customer",
                                                       "exclude": ["notes"]}]}

or with the decorator::

    @emits_events(exclude=["internal_notes"])
    class Order(models.Model): ...

Events are named ``<app_label>.<model_name>.created|updated|deleted`` (``shop.order.created``)
with source ``django`` and the payload ``{"model", "pk", "fields", "update_fields"}``.
The event is written in the same transaction as the change (the outbox), so it exists if
and only if the change commits, and it is matched to workflows after the commit. Fields
whose names look sensitive (``password``, ``api_key``, …) are never put in a payload.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.signals import post_delete, post_save

from automate.governance.redaction import is_sensitive_key

EVENTS = ("created", "updated", "deleted")
TenantGetter = Callable[[Any], Any]


@dataclass(frozen=True)
class Tracking:
    events: tuple[str, ...] = EVENTS
    exclude: frozenset[str] = field(default_factory=frozenset)
    tenant: TenantGetter | None = None


_tracked: dict[type[models.Model], Tracking] = {}


def snapshot(instance: models.Model, tracking: Tracking) -> dict[str, Any]:
    """The instance's concrete fields as JSON, without excluded or sensitive ones."""
    fields: dict[str, Any] = {}
    for model_field in instance._meta.concrete_fields:
        name = model_field.attname
        if name in tracking.exclude or model_field.name in tracking.exclude:
            continue
        if is_sensitive_key(model_field.name):
            continue
        fields[name] = model_field.value_from_object(instance)
    result: dict[str, Any] = json.loads(json.dumps(fields, cls=_SnapshotEncoder))
    return result


class _SnapshotEncoder(DjangoJSONEncoder):
    """Model values as JSON: files by name, binary data by size, anything else as text.

    A snapshot must never fail: it runs inside the host application's ``save()``.
    """

    def default(self, o: Any) -> Any:
        from django.db.models.fields.files import FieldFile

        if isinstance(o, FieldFile):
            return o.name or None
        if isinstance(o, bytes | bytearray | memoryview):
            return {"bytes": len(o)}
        try:
            return super().default(o)
        except TypeError:
            return str(o)


def _emit(instance: models.Model, what: str, update_fields: Iterable[str] | None) -> None:
    from automate.events.services import record_event

    tracking = _tracked.get(type(instance))
    if tracking is None or what not in tracking.events:
        return
    meta = instance._meta
    record_event(
        type=f"{meta.app_label}.{meta.model_name}.{what}",
        payload={
            "model": meta.label_lower,
            "pk": json.loads(json.dumps(instance.pk, cls=DjangoJSONEncoder)),
            "fields": snapshot(instance, tracking),
            "update_fields": sorted(update_fields) if update_fields else None,
        },
        source="django",
        tenant=tracking.tenant(instance) if tracking.tenant else None,
    )


def _on_save(
    sender: type[models.Model],
    instance: models.Model,
    created: bool,
    raw: bool = False,
    update_fields: Iterable[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw:  # loading fixtures is not something that happened
        return
    _emit(instance, "created" if created else "updated", update_fields)


def _on_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _emit(instance, "deleted", None)


def track_model(
    model: type[models.Model],
    *,
    events: Iterable[str] = EVENTS,
    exclude: Iterable[str] = (),
    tenant: TenantGetter | None = None,
) -> None:
    """Emit events for ``model``'s creates, updates and deletes (idempotent)."""
    if model._meta.app_label == "automate":
        raise ImproperlyConfigured(
            f"{model._meta.label} is Django Automate's own model; its changes cannot be events."
        )
    chosen = tuple(events)
    unknown = set(chosen) - set(EVENTS)
    if unknown:
        raise ImproperlyConfigured(
            f"Unknown model events {sorted(unknown)} for {model._meta.label}; use {EVENTS}."
        )
    _tracked[model] = Tracking(events=chosen, exclude=frozenset(exclude), tenant=tenant)
    uid = f"automate-model-events-{model._meta.label_lower}"
    post_save.connect(_on_save, sender=model, dispatch_uid=uid + "-save", weak=False)
    post_delete.connect(_on_delete, sender=model, dispatch_uid=uid + "-delete", weak=False)


def untrack_model(model: type[models.Model]) -> None:
    """Stop emitting events for ``model``."""
    _tracked.pop(model, None)
    uid = f"automate-model-events-{model._meta.label_lower}"
    post_save.disconnect(sender=model, dispatch_uid=uid + "-save")
    post_delete.disconnect(sender=model, dispatch_uid=uid + "-delete")


def emits_events(
    model: type[models.Model] | None = None,
    *,
    events: Iterable[str] = EVENTS,
    exclude: Iterable[str] = (),
    tenant: TenantGetter | None = None,
) -> Any:
    """Class decorator: ``@emits_events`` or ``@emits_events(exclude=["notes"])``."""

    def decorate(cls: type[models.Model]) -> type[models.Model]:
        track_model(cls, events=events, exclude=exclude, tenant=tenant)
        return cls

    return decorate(model) if model is not None else decorate


SETTING = "DJANGO_AUTOMATE['MODEL_EVENTS']"


def _configured_entry(entry: Any) -> tuple[type[models.Model] | None, dict[str, Any], str | None]:
    """One ``MODEL_EVENTS`` entry read: its model, its options and what is wrong with it."""
    if isinstance(entry, str):
        spec: dict[str, Any] = {"model": entry}
    elif isinstance(entry, dict):
        spec = dict(entry)
    else:
        return None, {}, 'must be "app_label.Model" or {"model": "app_label.Model", ...}'
    label = spec.pop("model", None)
    if not isinstance(label, str):
        return None, {}, 'needs "model": "app_label.Model"'
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None, {}, f"names {label!r}, which is not an installed model ('app_label.Model')"
    if model._meta.app_label == "automate":
        return None, {}, f"names {label!r}, Django Automate's own model: its changes are not events"
    unknown = sorted(set(spec) - {"events", "exclude"})
    if unknown:
        return None, {}, f"({label}) has unknown keys {unknown}: use model, events, exclude"
    events = spec.get("events", EVENTS)
    if not isinstance(events, list | tuple) or not set(events) <= set(EVENTS) or not events:
        return None, {}, f"({label}) 'events' must be a non-empty list of {list(EVENTS)}"
    exclude = spec.get("exclude", ())
    if not isinstance(exclude, list | tuple) or not all(isinstance(x, str) for x in exclude):
        return None, {}, f"({label}) 'exclude' must be a list of field names"
    return model, {"events": tuple(events), "exclude": tuple(exclude)}, None


def configured_problems(entries: Any) -> list[str]:
    """What is wrong with ``MODEL_EVENTS`` (for the system checks), one message per entry."""
    if not isinstance(entries, list | tuple):
        return []  # the settings check (automate.E001) reports the type
    problems = []
    for index, entry in enumerate(entries):
        problem = _configured_entry(entry)[2]
        if problem:
            problems.append(f"{SETTING}[{index}] {problem}.")
    return problems


def track_configured(entries: Any) -> None:
    """Track the models named in ``DJANGO_AUTOMATE["MODEL_EVENTS"]``.

    Entries that are wrong are left out: ``manage.py check`` (and every command that runs
    the checks, ``runserver`` and ``migrate`` among them) reports them as
    ``automate.E040`` instead of start-up stopping with a traceback.
    """
    for entry in entries if isinstance(entries, list | tuple) else ():
        model, options, problem = _configured_entry(entry)
        if model is not None and problem is None:
            track_model(model, events=options["events"], exclude=options["exclude"])
