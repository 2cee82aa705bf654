"""What "Test this step" and the expression preview render a node against.

For each part of a run's context, the first source that has it:

* ``event``: the trigger's **pinned data** (an event payload pinned to the draft), else
  the newest event the draft's trigger fires on (the **sample event**), else nothing;
* ``steps.<id>.output`` of each upstream step: its **pinned data**, else its newest output
  from a run (**last run**) or from this user's "Test this step" (**last test**).

Pins come from ``automate.workflows.pins``; run and test outputs from
``studio.views.run_data``. Everything here is already redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext, gettext_lazy

from automate.events.models import Event
from automate.workflows.models import PinnedData, Workflow
from automate.workflows.pins import pins_of
from studio import services

#: Where a value came from, in the user's words (the preview and the test result say it).
SOURCE_LABELS = {
    "pinned": gettext_lazy("pinned data"),
    "event": gettext_lazy("sample event"),
    "run": gettext_lazy("last run"),
    "test": gettext_lazy("last test"),
    "typed": gettext_lazy("typed in the test form"),
}


def trigger_ids(graph: Any) -> list[str]:
    """Ids of the draft's trigger nodes."""
    nodes = (graph.get("nodes") or []) if isinstance(graph, dict) else []
    return [
        str(n.get("id"))
        for n in nodes
        if isinstance(n, dict) and n.get("type") == "trigger" and isinstance(n.get("id"), str)
    ]


@dataclass
class SampleData:
    """The data one node is tried on, and where each part came from."""

    payload: Any
    event: Event | None  # the sample event, when the payload is one's
    event_from: str  # "pinned", "event" or "" (no data: an empty payload)
    steps: dict[str, Any] = field(default_factory=dict)
    step_from: dict[str, str] = field(default_factory=dict)  # "pinned", "run", "test", "typed"
    upstream: list[str] = field(default_factory=list)
    pins: dict[str, PinnedData] = field(default_factory=dict)

    def sources(self, names: list[str] | None = None) -> list[dict[str, str]]:
        """``[{"name": "event" | "steps.<id>", "from": key, "label": words}]`` for the
        parts named (``"event"``, step ids), or for every part that has data."""
        wanted = names if names is not None else ["event", *self.step_from]
        found = []
        for name in dict.fromkeys(wanted):
            key = self.event_from if name == "event" else self.step_from.get(name, "")
            if not key:
                continue
            found.append(
                {
                    "name": "event" if name == "event" else f"steps.{name}",
                    "from": key,
                    "label": str(SOURCE_LABELS[key]),
                }
            )
        return found


def describe(sources: list[dict[str, str]]) -> str:
    """One line saying where the data came from: "pinned data" when every part came
    from the same kind of source, else "event: pinned data, steps.fetch: last run"."""
    labels = list(dict.fromkeys(s["label"] for s in sources))
    if len(labels) <= 1:
        return labels[0] if labels else ""
    return gettext(", ").join(f"{s['name']}: {s['label']}" for s in sources)


_UNREAD: Any = object()


def sample_data(
    request: HttpRequest, workflow: Workflow, node_id: str, *, latest: Any = _UNREAD
) -> SampleData:
    """The event and upstream outputs ``node_id`` is tried on (see the module doc).

    ``latest`` is the newest event of the trigger (or None) when the caller has read it
    already (the panel lists the recent events); otherwise it is read here when needed.
    """
    from studio.views.run_data import upstream_outputs

    pins = pins_of(workflow)
    triggers = trigger_ids(workflow.draft_graph)
    trigger_pin = next((pins[t] for t in triggers if t in pins), None)
    if trigger_pin is not None:
        sample = SampleData(payload=trigger_pin.data, event=None, event_from="pinned")
    else:
        if latest is _UNREAD:
            latest = services.trigger_events(workflow).first()
        sample = SampleData(
            payload=latest.payload if latest else {},
            event=latest,
            event_from="event" if latest else "",
        )
    sample.pins = pins
    sample.upstream = services.upstream_ids(workflow.draft_graph, node_id)
    steps = [u for u in sample.upstream if u not in triggers]
    outputs = upstream_outputs(request, workflow, [s for s in steps if s not in pins])
    for step in steps:
        if step in pins:
            sample.steps[step], sample.step_from[step] = pins[step].data, "pinned"
        elif step in outputs:
            sample.steps[step], sample.step_from[step] = outputs[step].output, outputs[step].source
    return sample
