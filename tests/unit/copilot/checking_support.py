"""Shared by the checking tests: sample definitions and the invariants every result keeps."""

from __future__ import annotations

import json
from copy import deepcopy
from itertools import pairwise
from typing import Any

from automate.copilot.checking import CheckedAnswer, Checker
from automate.copilot.salvage import problem_signature
from automate.workflows.services import definition_problems

TRIGGER = {"id": "trigger", "type": "trigger", "position": {"x": 40, "y": 40}}


def unit_checker(*names: str) -> Checker:
    """The publish checks without a tenant (no database), with these secret names."""
    return Checker(secret_names=frozenset(names), problems_of=lambda d: definition_problems(**d))


def slack(node_id: str = "notify", **inputs: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "action",
        "connector": "slack",
        "action": "post_message",
        "inputs": {"channel": "#billing", "text": "Invoice paid", **inputs},
    }


def log(node_id: str, message: str = "seen") -> dict[str, Any]:
    return {
        "id": node_id,
        "type": "action",
        "connector": "log",
        "action": "write",
        "inputs": {"message": message},
    }


def definition(*nodes: dict[str, Any], edges: list[dict[str, Any]] | None = None) -> dict:
    """A definition on invoice.paid: the trigger, then ``nodes`` (chained when no edges)."""
    all_nodes = [deepcopy(TRIGGER), *nodes]
    if edges is None:
        edges = [{"source": a["id"], "target": b["id"]} for a, b in pairwise(all_nodes)]
    return {
        "trigger_spec": {"event_type": "invoice.paid"},
        "rule_spec": {},
        "graph": {"nodes": all_nodes, "edges": edges},
    }


def serialised(checked: CheckedAnswer) -> str:
    return json.dumps(checked.__dict__, ensure_ascii=False)


def assert_safe(checked: CheckedAnswer, before: dict, *, secrets: tuple[str, ...] = ()) -> None:
    """No secret in what the user is shown; a complete result publishes; an incomplete one
    has no publish problem the current draft did not have."""
    text = serialised(checked)
    for secret in secrets:
        assert secret not in text
    # Required inputs left empty (a secret to create, say) are the user's to fill in.
    problems = [p for p in definition_problems(**checked.definition) if p.get("kind") != "required"]
    if checked.complete:
        assert problems == []
        assert checked.problems == []
    else:
        assert checked.problems
        parts = {key: before.get(key) for key in ("trigger_spec", "rule_spec", "graph")}
        had = {problem_signature(p) for p in definition_problems(**parts)}
        assert {problem_signature(p) for p in problems} <= had, problems
    nodes = checked.definition["graph"]["nodes"]
    node_ids = {n.get("id") for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}
    assert set(checked.explanations) <= node_ids
