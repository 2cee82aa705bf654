"""Sticky notes: Markdown text placed on the canvas next to the steps, for people only.

A graph may hold a ``notes`` list beside ``nodes`` and ``edges``::

    {"nodes": [...], "edges": [...],
     "notes": [{"id": "note_1", "text": "## Why\\nBilling asked for this.",
                "position": {"x": 40, "y": -160}, "size": {"width": 260, "height": 160},
                "color": "yellow"}]}

Notes are not steps: the orchestrator, rule matching, publish checks and the canvas's
problem badges never look at them (they read ``nodes`` and ``edges`` only). They ship in
published versions like the rest of the graph (so the versions diff shows them) and are
checked with the definition limits (:func:`note_problems`, called from
:mod:`automate.workflows.limits`), so every path that saves, imports or publishes a
definition refuses a malformed note or one over the caps below.

Pure Python, no Django imports. See docs/reference/workflow-format.md#sticky-notes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final

from automate.workflows.graph import NODE_ID_PATTERN

MAX_NOTES: Final = 100
"""The most notes one graph may hold."""
MAX_NOTE_CHARS: Final = 10_000
"""The longest a note's Markdown text may be, in characters."""
MIN_NOTE_SIZE: Final = 80
MAX_NOTE_SIZE: Final = 4000
"""Bounds of a note's width and height, in canvas pixels."""
MAX_COORDINATE: Final = 1_000_000
"""The farthest from the origin a note may sit, in canvas pixels (either axis)."""
NOTE_COLORS: Final = ("yellow", "blue", "green", "pink", "purple", "gray")
"""The colour presets, by name (the studio's stylesheet maps each to its theme's colour)."""
DEFAULT_COLOR: Final = "yellow"
NOTE_KEYS: Final = frozenset({"id", "text", "position", "size", "color"})

Problem = dict[str, str]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _problem(field: str, message: str) -> Problem:
    # node_id "" : a note is not a step, so no step's badge shows it; the top bar does.
    return {"node_id": "", "field": field, "message": message}


def note_problems(graph: Any) -> list[Problem]:
    """Every problem with ``graph["notes"]``, each ``{"node_id": "", "field", "message"}``
    with ``field`` like ``"graph.notes[2].text"``; empty when there are none or no notes.

    A note is an object with exactly the keys of :data:`NOTE_KEYS`: ``id`` (a node-id-like
    string, unique among notes and not a node's id), ``text`` (a string of at most
    :data:`MAX_NOTE_CHARS` characters), ``position`` (``{"x", "y"}`` numbers within
    :data:`MAX_COORDINATE`), ``size`` (``{"width", "height"}`` from :data:`MIN_NOTE_SIZE`
    to :data:`MAX_NOTE_SIZE`) and optionally ``color`` (one of :data:`NOTE_COLORS`).
    At most :data:`MAX_NOTES` notes.
    """
    if not isinstance(graph, dict) or "notes" not in graph:
        return []
    notes = graph["notes"]
    if not isinstance(notes, list):
        return [_problem("graph.notes", "notes must be a list of sticky notes")]
    problems: list[Problem] = []
    if len(notes) > MAX_NOTES:
        problems.append(
            _problem(
                "graph.notes",
                f"a workflow holds at most {MAX_NOTES} sticky notes; this one has {len(notes)}",
            )
        )
    nodes = graph.get("nodes")
    node_ids = {
        node.get("id")
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict) and isinstance(node.get("id"), str)
    }
    seen: set[str] = set()
    for index, note in enumerate(notes[: MAX_NOTES + 1]):
        at = f"graph.notes[{index}]"
        if not isinstance(note, dict):
            problems.append(_problem(at, "each sticky note must be a JSON object"))
            continue
        for key, message in _one_note_problems(note, node_ids, seen):
            problems.append(_problem(f"{at}.{key}" if key else at, message))
    return problems


def _one_note_problems(
    note: dict[str, Any], node_ids: set[Any], seen: set[str]
) -> Iterable[tuple[str, str]]:
    unknown = sorted(str(k) for k in set(note) - NOTE_KEYS)
    if unknown:
        yield (
            "",
            f"unknown sticky note key(s) {', '.join(unknown)}; "
            f"a note has {', '.join(sorted(NOTE_KEYS))}",
        )
    note_id = note.get("id")
    if not isinstance(note_id, str) or not NODE_ID_PATTERN.fullmatch(note_id):
        yield (
            "id",
            "a sticky note needs an id that starts with a letter or '_' and holds only "
            "letters, digits, '_' and '-' (at most 100 characters)",
        )
    elif note_id in seen:
        yield "id", f"duplicate sticky note id '{note_id}'"
    elif note_id in node_ids:
        yield "id", f"the sticky note id '{note_id}' is a step's id too; ids must differ"
    else:
        seen.add(note_id)
    text = note.get("text")
    if not isinstance(text, str):
        yield "text", "a sticky note's text must be a string (Markdown)"
    elif len(text) > MAX_NOTE_CHARS:
        yield (
            "text",
            f"a sticky note holds at most {MAX_NOTE_CHARS} characters; this one has {len(text)}",
        )
    position = note.get("position")
    if not (
        isinstance(position, dict)
        and all(
            _is_number(position.get(axis)) and abs(position[axis]) <= MAX_COORDINATE
            for axis in ("x", "y")
        )
    ):
        yield (
            "position",
            f'the position must be {{"x": <number>, "y": <number>}}, each within ±{MAX_COORDINATE}',
        )
    size = note.get("size")
    if not (
        isinstance(size, dict)
        and all(
            _is_number(size.get(side)) and MIN_NOTE_SIZE <= size[side] <= MAX_NOTE_SIZE
            for side in ("width", "height")
        )
    ):
        yield (
            "size",
            f'the size must be {{"width": <number>, "height": <number>}}, each from '
            f"{MIN_NOTE_SIZE} to {MAX_NOTE_SIZE}",
        )
    if "color" in note and note["color"] not in NOTE_COLORS:
        yield "color", f"the colour must be one of {', '.join(NOTE_COLORS)}"


def graph_notes(graph: Any) -> list[dict[str, Any]]:
    """The well-formed notes of ``graph`` (objects with a string ``id`` and ``text``), in
    order; anything else is left out (the checks above report it)."""
    notes = graph.get("notes") if isinstance(graph, dict) else None
    return [
        note
        for note in (notes if isinstance(notes, list) else [])[:MAX_NOTES]
        if isinstance(note, dict) and isinstance(note.get("id"), str)
        and isinstance(note.get("text"), str)
    ]  # fmt: skip


def note_changes(before: Any, after: Any) -> list[dict[str, Any]]:
    """What changed in the sticky notes from graph ``before`` to graph ``after``, for the
    versions diff: one ``{"id", "change", "title", "keys"}`` per note added, removed or
    changed; ``change`` is ``"added"``, ``"removed"`` or ``"changed"``, ``title`` the
    note's first line (at most 60 characters), ``keys`` the keys that changed
    (``["position"]`` or ``["size"]`` alone when it was only moved or resized)."""
    old = {note["id"]: note for note in graph_notes(before)}
    new = {note["id"]: note for note in graph_notes(after)}
    changes: list[dict[str, Any]] = []
    for note_id, note in new.items():
        if note_id not in old:
            changes.append(_change(note_id, "added", note, []))
        elif note != old[note_id]:
            keys = sorted(
                str(k) for k in set(note) | set(old[note_id]) if note.get(k) != old[note_id].get(k)
            )
            changes.append(_change(note_id, "changed", note, keys))
    for note_id, note in old.items():
        if note_id not in new:
            changes.append(_change(note_id, "removed", note, []))
    return changes


def _change(note_id: str, change: str, note: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    first = next((line.strip(" #*>-") for line in note["text"].splitlines() if line.strip()), "")
    title = first if len(first) <= 60 else first[:59] + "…"
    return {"id": note_id, "change": change, "title": title, "keys": keys}
