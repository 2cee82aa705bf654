"""Warnings, not errors: variables a step's templates read that may not exist when it runs.

``{{ event.payload.coupon }}`` fails the step (templates are strict) on an event without a
``coupon``. Publishing cannot know the events to come, so such a variable is a *warning*,
shown before publishing, when none of the trigger's sample events has it. The same goes
for ``steps.<id>`` naming a step that does not run before this one, an ``event`` or
``execution`` field that does not exist, and a name no template can see. A lookup guarded
with ``| default(…)`` or ``is defined`` is left alone. Pure Python, no Django imports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from jinja2 import TemplateSyntaxError, nodes

from automate.guard.parse import is_whole_number
from automate.templates.exceptions import TemplateViolation
from automate.templates.sandbox import environment, parse_checked

__all__ = ["EVENT_FIELDS", "EXECUTION_FIELDS", "unknown_variable_warnings"]

EVENT_FIELDS: Final = ("id", "type", "source", "payload", "trace_id", "created_at")
EXECUTION_FIELDS: Final = ("id", "name", "workflow", "version", "trace_id", "attempt")
_ROOTS: Final = frozenset({"event", "execution", "steps", "secrets", "env"})
_GUARD_FILTERS: Final = frozenset({"default", "d"})
_GUARD_TESTS: Final = frozenset({"defined", "undefined", "none"})
_MARKERS: Final = ("{{", "{%", "{#")

Part = str | int | None  # None: a key only known when the template runs
Warning_ = dict[str, str]


def unknown_variable_warnings(graph: Any, *, samples: Sequence[Any] = ()) -> list[Warning_]:
    """One warning per (node, field, variable) that may not exist when the step runs.

    ``samples`` are payloads of recent events the trigger fires on; with none, payload
    keys are not judged. Each warning is ``{"node_id", "field", "message", "kind":
    "unknown_variable"}``. Templates that do not parse are left to the template checks.
    """
    nodes_ = graph.get("nodes") if isinstance(graph, Mapping) else None
    if not isinstance(nodes_, list):
        return []
    ids = {str(n.get("id")) for n in nodes_ if isinstance(n, Mapping)}
    upstream = _upstream(graph)
    warnings: list[Warning_] = []
    seen: set[tuple[str, str, str]] = set()
    for node in nodes_:
        if not isinstance(node, Mapping):
            continue
        node_id = str(node.get("id", ""))
        judge = _Judge(node_id, ids, upstream.get(node_id, set()), samples)
        found: list[tuple[str, str, str]] = []
        for field, source in _templates(node.get("inputs"), "inputs"):
            found.extend((field, name, why) for name, why in judge.template(source))
        for field, path in _rule_vars(node.get("condition"), "condition"):
            found.extend((field, name, why) for name, why in judge.dotted(path))
        for field, name, why in found:
            if (node_id, field, name) in seen:
                continue
            seen.add((node_id, field, name))
            warnings.append(
                {"node_id": node_id, "field": field, "message": why, "kind": "unknown_variable"}
            )
    return warnings


class _Judge:
    """What is wrong with the variables one node reads."""

    def __init__(
        self, node_id: str, ids: set[str], upstream: set[str], samples: Sequence[Any]
    ) -> None:
        self.node_id, self.ids, self.upstream = node_id, ids, upstream
        self.samples = [s for s in samples if isinstance(s, Mapping | list)]

    def template(self, source: str) -> Iterator[tuple[str, str]]:
        try:
            tree = parse_checked(source)
        except (TemplateSyntaxError, TemplateViolation, RecursionError):
            return
        local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        for root, parts in _lookups(tree):
            if root in local or root in environment.globals or root == "loop":
                continue
            yield from self.lookup(root, parts)

    def dotted(self, path: str) -> Iterator[tuple[str, str]]:
        root, *rest = path.split(".")
        parts: list[Part] = [int(p) if is_whole_number(p) else p for p in rest]
        yield from self.lookup(root, parts)

    def lookup(self, root: str, parts: list[Part]) -> Iterator[tuple[str, str]]:
        known = _known(parts)
        shown = ".".join([root, *(str(p) for p in known)])
        if root not in _ROOTS:
            yield root, f"unknown variable {root!r}: templates see event, execution and steps"
        elif root == "event" and known and known[0] not in EVENT_FIELDS:
            yield shown, f"{shown}: an event has no {known[0]!r} (it has {', '.join(EVENT_FIELDS)})"
        elif root == "execution" and known and known[0] not in EXECUTION_FIELDS:
            yield (
                shown,
                f"{shown}: a run has no {known[0]!r} (it has {', '.join(EXECUTION_FIELDS)})",
            )
        elif root == "event" and len(known) > 1 and known[0] == "payload":
            if self.samples and not any(_has(s, known[1:]) for s in self.samples):
                count = len(self.samples)
                yield (
                    shown,
                    f"{shown} is in none of the {count} recent sample event"
                    f"{'s' if count != 1 else ''} of this trigger: the step fails on an event "
                    "without it (add | default(…) if it may be missing)",
                )
        elif root == "steps" and known:
            step = str(known[0])
            if step not in self.ids:
                yield shown, f"{shown}: this workflow has no step {step!r}"
            elif step not in self.upstream:
                yield (
                    shown,
                    f"{shown}: step {step!r} does not run before {self.node_id!r}, so its "
                    "output is not there yet",
                )
            elif len(known) > 1 and known[1] != "output":
                yield shown, f"{shown}: use steps.{step}.output.… to read what the step returned"


def _known(parts: list[Part]) -> list[str | int]:
    out: list[str | int] = []
    for part in parts:
        if part is None:
            break
        out.append(part)
    return out


def _has(value: Any, path: list[str | int]) -> bool:
    for part in path:
        if isinstance(value, Mapping):
            if part not in value and str(part) not in value:
                return False
            value = value[part] if part in value else value[str(part)]
        elif isinstance(value, list):
            if not isinstance(part, int):
                return True  # a list's own attributes (a method), not data
            if not -len(value) <= part < len(value):
                return False
            value = value[part]
        else:
            return True  # a string's or number's own attributes: not judged
    return True


def _lookups(tree: nodes.Template) -> Iterator[tuple[str, list[Part]]]:
    """Each variable read (``root``, its attribute/key path), guarded ones left out."""
    stack: list[nodes.Node] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, nodes.Filter) and node.name in _GUARD_FILTERS:
            stack.extend(node.args)
            stack.extend(node.kwargs)
            continue
        if isinstance(node, nodes.Test) and node.name in _GUARD_TESTS:
            continue
        if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
            # A method call: the object is read, the method name is not data.
            stack.append(node.node.node)
            stack.extend(node.args)
            stack.extend(node.kwargs)
            continue
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            parts: list[Part] = []
            current: nodes.Node = node
            while isinstance(current, nodes.Getattr | nodes.Getitem):
                if isinstance(current, nodes.Getattr):
                    parts.append(current.attr)
                else:
                    arg = current.arg
                    constant = isinstance(arg, nodes.Const) and isinstance(arg.value, str | int)
                    parts.append(arg.value if constant else None)  # type: ignore[attr-defined]
                    if not constant:
                        stack.append(arg)
                current = current.node
            if isinstance(current, nodes.Name) and current.ctx == "load":
                yield current.name, list(reversed(parts))
            else:
                stack.append(current)
            continue
        if isinstance(node, nodes.Name) and node.ctx == "load":
            yield node.name, []
            continue
        stack.extend(node.iter_child_nodes())


def _templates(value: Any, path: str) -> Iterator[tuple[str, str]]:
    queue: deque[tuple[str, Any]] = deque([(path, value)])
    while queue:
        where, item = queue.popleft()
        if isinstance(item, str):
            if any(marker in item for marker in _MARKERS):
                yield where, item
        elif isinstance(item, Mapping):
            queue.extend((f"{where}.{key}", child) for key, child in item.items())
        elif isinstance(item, list):
            queue.extend((f"{where}[{i}]", child) for i, child in enumerate(item))


def _rule_vars(rule: Any, path: str) -> Iterator[tuple[str, str]]:
    """``{"var": "a.b"}`` lookups in a JSONLogic rule (ones with a default left out)."""
    queue: deque[Any] = deque([rule])
    while queue:
        item = queue.popleft()
        if isinstance(item, Mapping):
            var = item.get("var") if len(item) == 1 else None
            if isinstance(var, str) and var:
                yield path, var
            elif isinstance(var, list) and len(var) == 1 and isinstance(var[0], str) and var[0]:
                yield path, var[0]
            else:
                queue.extend(item.values())
        elif isinstance(item, list):
            queue.extend(item)


def _upstream(graph: Mapping[str, Any]) -> dict[str, set[str]]:
    """For each node id, the ids of the nodes that run before it (its ancestors)."""
    parents: dict[str, set[str]] = {}
    edges = graph.get("edges")
    for edge in edges if isinstance(edges, list) else []:
        if isinstance(edge, Mapping):
            source, target = edge.get("source"), edge.get("target")
            if isinstance(source, str) and isinstance(target, str):
                parents.setdefault(target, set()).add(source)
    result: dict[str, set[str]] = {}
    for node_id in parents:
        seen: set[str] = set()
        queue = deque(parents[node_id])
        while queue:
            other = queue.popleft()
            if other not in seen:
                seen.add(other)
                queue.extend(parents.get(other, ()))
        result[node_id] = seen
    return result
