"""Old → new values of the settings that changed on a step, for the versions diff.

Values are shown redacted: a sensitive key, a secret field of the step's action and any
token-looking text are masked (``********``), and long values are shortened. Secret
references (``{"$secret": "NAME"}``) are names, not values, and stay readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from automate.governance.redaction import MASK, redact
from automate.governance.secrets import is_secret_ref

#: Characters of one value shown before it is cut (the whole JSON is in the history).
MAX_SHOWN = 160
_MISSING = object()


def _literal(value: Any) -> bool:
    return value not in (None, "") and not is_secret_ref(value)


def _mask_paths(value: Any, paths: list[list[str]]) -> Any:
    """``value`` with the literal at each of ``paths`` (keys inside it) masked."""
    if not isinstance(value, dict):
        return value
    masked = dict(value)
    for path in paths:
        head, rest = path[0], path[1:]
        if head not in masked:
            continue
        if not rest:
            masked[head] = MASK if _literal(masked[head]) else masked[head]
        else:
            masked[head] = _mask_paths(masked[head], [rest])
    return masked


def _shown(
    key: str, value: Any, *, secret: bool, inner: list[list[str]] | None = None
) -> str | None:
    """``value`` (the setting ``key``) as short, redacted text; None when it is absent.

    ``secret``: the setting is a secret field; ``inner``: paths of secret fields inside it
    (``auth.token`` of an ``auth`` object). A literal there is masked whole; a reference
    (``{"$secret": NAME}``) is a name, shown."""
    if value is _MISSING:
        return None
    if secret and _literal(value):
        return json.dumps(MASK)
    value = _mask_paths(value, inner or [])
    # Redacted under its own key, so a sensitive name (api_key, password) masks it whole.
    text = json.dumps(redact({key: value})[key], ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def _secret_fields(node: Mapping[str, Any]) -> set[str]:
    from studio.services import action_spec_of

    spec = action_spec_of(node)
    return set(spec.secret_fields()) if spec is not None else set()


def _pairs(
    before: Mapping[str, Any], after: Mapping[str, Any], prefix: str, secrets: set[str]
) -> list[dict[str, str | None]]:
    changes = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key, _MISSING), after.get(key, _MISSING)
        if old == new:
            continue
        field = f"{prefix}{key}"
        name = field.removeprefix("inputs.")
        secret = name in secrets if prefix else False
        inner = [p.split(".")[1:] for p in secrets if prefix and p.startswith(f"{name}.")]
        changes.append(
            {
                "field": field,
                "before": _shown(str(key), old, secret=secret, inner=inner),
                "after": _shown(str(key), new, secret=secret, inner=inner),
            }
        )
    return changes


def node_value_changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[dict[str, str | None]]:
    """Each changed setting of a step as ``{field, before, after}`` (``inputs.text``,
    ``label``…); ``before``/``after`` are None when the setting was absent. The position
    on the canvas is left out (the diff says "moved" for that)."""
    secrets = _secret_fields(after) | _secret_fields(before)
    top_before = {k: v for k, v in before.items() if k not in ("inputs", "position", "id")}
    top_after = {k: v for k, v in after.items() if k not in ("inputs", "position", "id")}
    changes = _pairs(top_before, top_after, "", secrets)
    old_inputs, new_inputs = before.get("inputs") or {}, after.get("inputs") or {}
    if isinstance(old_inputs, dict) and isinstance(new_inputs, dict):
        changes.extend(_pairs(old_inputs, new_inputs, "inputs.", secrets))
    elif old_inputs != new_inputs:
        changes.extend(_pairs({"inputs": old_inputs}, {"inputs": new_inputs}, "", secrets))
    return changes


def graph_nodes(graph: Any) -> dict[str, Mapping[str, Any]]:
    """The graph's nodes by id (malformed nodes left out)."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    return {
        str(node["id"]): node
        for node in (nodes if isinstance(nodes, list) else [])
        if isinstance(node, dict) and "id" in node
    }
