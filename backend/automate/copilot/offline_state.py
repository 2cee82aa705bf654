"""The draft the offline drafter is building: the definition and what it will say about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automate.copilot import offline_graph as g
from automate.copilot.catalog import Catalog
from automate.copilot.offline_models import ModelInfo
from automate.copilot.offline_rules import describe
from automate.copilot.types import Definition


@dataclass
class DraftState:
    """The definition being changed plus the explanations, assumptions and notes so far.

    ``cursor`` is the node the next added step follows (steps are chained in sentence
    order); ``added`` the ids of the steps this request added, in order.
    """

    definition: Definition
    catalog: Catalog
    models: list[ModelInfo]
    explanations: dict[str, str] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    cursor: str = ""
    trigger_changed: bool = False

    def __post_init__(self) -> None:
        for key in ("trigger_spec", "rule_spec", "graph"):
            if not isinstance(self.definition.get(key), dict):
                self.definition[key] = {}
        g.nodes(self.graph)
        g.edges(self.graph)

    @property
    def graph(self) -> dict[str, Any]:
        """The graph being edited."""
        graph: dict[str, Any] = self.definition["graph"]
        return graph

    @property
    def trigger_spec(self) -> dict[str, Any]:
        """The trigger spec being edited."""
        spec: dict[str, Any] = self.definition["trigger_spec"]
        return spec

    @property
    def event_type(self) -> str:
        """The trigger's event type (``""`` when none yet)."""
        value = self.trigger_spec.get("event_type")
        return value if isinstance(value, str) else ""

    @property
    def source(self) -> str:
        """The trigger's source (``""`` when any source)."""
        value = self.trigger_spec.get("source")
        return value if isinstance(value, str) else ""

    @property
    def keys(self) -> dict[str, str]:
        """Sample payload keys of the trigger's event type (empty when none were seen)."""
        return dict(self.catalog.sample_keys.get(self.event_type, {}))

    def say(self, assumption: str) -> None:
        """Record an assumption once."""
        if assumption not in self.assumptions:
            self.assumptions.append(assumption)

    def note(self, text: str) -> None:
        """Record a note (something the user must do) once."""
        if text not in self.notes:
            self.notes.append(text)

    def trigger_id(self) -> str:
        """The trigger node's id (the node is added when the graph has none)."""
        return str(g.trigger(self.graph)["id"])

    def allowed(self, connector: str, action: str) -> bool:
        """Whether the catalog offers ``connector.action`` (a catalog listing no actions at
        all, as in tests of the reading alone, allows every one); when not, a note says so."""
        if not self.catalog.actions or self.catalog.action(connector, action) is not None:
            return True
        self.note(
            f"This site does not allow the {connector} connector "
            "(DJANGO_AUTOMATE['POLICY']['connector_allowlist']), so I left that step out."
        )
        return False

    def add_step(self, node: dict[str, Any], explanation: str) -> str:
        """Chain ``node`` after the cursor (the end of the graph at first); returns its id,
        or ``""`` when the catalog does not allow its connector (nothing is added)."""
        if node.get("type") == "action" and not self.allowed(node["connector"], node["action"]):
            return ""
        after = self.cursor or (
            g.end_of_chain(self.graph) if g.nodes(self.graph) else self.trigger_id()
        )
        self.trigger_id()
        node["id"] = g.unique_id(self.graph, node["id"])
        g.append(self.graph, node, after=after)
        self.cursor = node["id"]
        self.added.append(node["id"])
        self.explanations[node["id"]] = explanation
        return str(node["id"])

    def _no_wait_at_the_end(self) -> None:
        """A wait this request added with nothing after it would delay nothing: it moves to
        right after the trigger (before every step) when the draft has other steps."""
        if not self.added:
            return
        last = g.node(self.graph, self.added[-1])
        others = [n for n in g.nodes(self.graph) if n.get("type") not in ("trigger", "delay")]
        if last is None or last.get("type") != "delay" or not others:
            return
        if g.outgoing(self.graph, last["id"]):
            return
        g.remove(self.graph, last["id"])
        last.pop("position", None)
        g.insert_after(self.graph, last, after=self.trigger_id())
        self.explanations[last["id"]] = f"{last.get('label', 'Waits')} before the other steps."
        self.say("A wait at the end would delay nothing, so it comes right after the trigger.")

    def finish(self) -> Definition:
        """The definition, its trigger completed: a workflow with steps but no event is
        given ``*`` (every event) and the user is told; the trigger is explained."""
        self._no_wait_at_the_end()
        has_steps = any(n.get("type") != "trigger" for n in g.nodes(self.graph))
        if (has_steps or self.definition["rule_spec"]) and not self.event_type:
            self.trigger_spec["event_type"] = "*"
            self.trigger_changed = True
            self.say(
                "I did not find what starts the workflow, so it starts on every event (`*`): "
                'say which one, for example "when an invoice is paid".'
            )
        if self.trigger_changed or self.conditions:
            trigger = g.trigger(self.graph)
            schedule = self.trigger_spec.get("schedule")
            if self.trigger_changed:
                trigger["label"] = (
                    f"Schedule: {schedule['cron']}"
                    if isinstance(schedule, dict)
                    else f"Event: {self.event_type}"
                )
            line = (
                f"Starts on the schedule `{schedule['cron']}` ({schedule.get('timezone', 'UTC')})"
                if isinstance(schedule, dict)
                else "Starts on every event"
                if self.event_type == "*"
                else f"Starts on each `{self.event_type}` event"
            )
            if self.source:
                line += f" from `{self.source}`"
            rule = describe(self.definition["rule_spec"]) or " and ".join(self.conditions)
            if rule:
                line += " where " + rule
            self.explanations[str(trigger["id"])] = line + "."
        return self.definition
