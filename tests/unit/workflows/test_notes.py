"""Sticky notes in a graph: accepted when well formed, refused (with where and why) when
not or over the caps; the graph's own checks and walk never see them; the diff lists them."""

from __future__ import annotations

import copy

import pytest

from automate.execution.orchestrator import NodeState, NodeStatus, plan
from automate.workflows.graph import Graph, graph_problems
from automate.workflows.limits import definition_limit_problems
from automate.workflows.notes import (
    MAX_NOTE_CHARS,
    MAX_NOTES,
    graph_notes,
    note_changes,
    note_problems,
)

NOTE = {
    "id": "note_1",
    "text": "## Why\nBilling asked for it.",
    "position": {"x": 10, "y": -40.5},
    "size": {"width": 260, "height": 160},
    "color": "yellow",
}


def graph_with(*notes):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "wait", "type": "delay", "seconds": 1},
        ],
        "edges": [{"source": "trigger", "target": "wait"}],
        "notes": list(notes),
    }


def fields(problems):
    return [p["field"] for p in problems]


def test_well_formed_notes_are_accepted():
    other = {**NOTE, "id": "note_2", "color": "purple", "text": ""}
    no_color = {k: v for k, v in NOTE.items() if k != "color"}
    no_color["id"] = "note_3"
    assert note_problems(graph_with(NOTE, other, no_color)) == []
    assert note_problems({"nodes": [], "edges": []}) == []
    assert note_problems(graph_with()) == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"id": ""}, "graph.notes[0].id", "needs an id"),
        ({"id": "1bad id"}, "graph.notes[0].id", "needs an id"),
        ({"id": "wait"}, "graph.notes[0].id", "is a step's id too"),
        ({"text": None}, "graph.notes[0].text", "must be a string"),
        ({"text": "x" * (MAX_NOTE_CHARS + 1)}, "graph.notes[0].text", "at most 10000"),
        ({"position": {"x": 1}}, "graph.notes[0].position", "the position must be"),
        ({"position": {"x": 1, "y": float("inf")}}, "graph.notes[0].position", "position"),
        ({"position": {"x": 10**7, "y": 0}}, "graph.notes[0].position", "within"),
        ({"size": {"width": 10, "height": 100}}, "graph.notes[0].size", "from 80 to 4000"),
        ({"size": {"width": 100, "height": 5000}}, "graph.notes[0].size", "from 80 to 4000"),
        ({"size": {"width": True, "height": 100}}, "graph.notes[0].size", "size must be"),
        ({"color": "#ff0000"}, "graph.notes[0].color", "one of yellow"),
        ({"html": "<b>x</b>"}, "graph.notes[0]", "unknown sticky note key(s) html"),
    ],
)
def test_a_malformed_note_is_refused_with_where_and_why(change, field, words):
    problems = note_problems(graph_with({**NOTE, **change}))
    assert fields(problems) == [field]
    assert words in problems[0]["message"]
    assert problems[0]["node_id"] == ""


def test_the_notes_must_be_a_list_of_objects_with_unique_ids():
    assert fields(note_problems({**graph_with(), "notes": {"a": 1}})) == ["graph.notes"]
    assert fields(note_problems(graph_with("text"))) == ["graph.notes[0]"]
    problems = note_problems(graph_with(NOTE, NOTE))
    assert fields(problems) == ["graph.notes[1].id"]
    assert "duplicate" in problems[0]["message"]


def test_no_more_than_max_notes():
    notes = [{**NOTE, "id": f"note_{i}"} for i in range(MAX_NOTES + 1)]
    problems = note_problems(graph_with(*notes))
    assert fields(problems) == ["graph.notes"]
    assert f"at most {MAX_NOTES} sticky notes" in problems[0]["message"]
    assert note_problems(graph_with(*notes[:MAX_NOTES])) == []


def test_the_definition_limits_check_the_notes():
    """Every path that checks the limits (draft save, import, publish) refuses bad notes."""
    bad = graph_with({**NOTE, "text": "x" * (MAX_NOTE_CHARS + 1)})
    assert fields(definition_limit_problems(graph=bad)) == ["graph.notes[0].text"]
    assert definition_limit_problems(graph=graph_with(NOTE)) == []


def test_the_graph_checks_and_the_walk_ignore_notes():
    graph = graph_with(NOTE, {**NOTE, "id": "note_2"})
    assert graph_problems(graph) == []
    built = Graph.from_dict(graph)
    assert list(built.nodes) == ["trigger", "wait"]
    assert built.topological_order() == ("trigger", "wait")
    assert plan(built, {"trigger": NodeState(NodeStatus.SUCCEEDED)}).ready == ("wait",)


def test_graph_notes_keeps_the_usable_ones():
    graph = graph_with(NOTE, "junk", {"id": 3, "text": "x"}, {**NOTE, "id": "n2"})
    assert [n["id"] for n in graph_notes(graph)] == ["note_1", "n2"]
    assert graph_notes(None) == []
    assert graph_notes({"notes": "x"}) == []


def test_note_changes_name_what_changed():
    before = graph_with(NOTE, {**NOTE, "id": "gone", "text": "Old note"})
    moved = {**NOTE, "position": {"x": 99, "y": 0}}
    after = graph_with(moved, {**NOTE, "id": "new", "text": "\n\n# A new note about things"})
    changes = note_changes(before, after)
    assert changes == [
        {"id": "note_1", "change": "changed", "title": "Why", "keys": ["position"]},
        {"id": "new", "change": "added", "title": "A new note about things", "keys": []},
        {"id": "gone", "change": "removed", "title": "Old note", "keys": []},
    ]
    edited = copy.deepcopy(after)
    edited["notes"][0]["text"] = "x" * 100
    edited["notes"][0]["color"] = "blue"
    (change,) = [c for c in note_changes(after, edited) if c["id"] == "note_1"]
    assert change["keys"] == ["color", "text"]
    assert change["title"] == "x" * 59 + "…"
    assert note_changes(after, after) == []
