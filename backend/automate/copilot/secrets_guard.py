"""Keeping secret values out of a drafter's answer.

A draft may hold secrets only as references (``{"$secret": "NAME"}``) to names the tenant
has. :func:`scrub_secrets` changes a definition (in place, JSON-shaped and within the
definition limits) so that this holds, and says what it did:

* a **secret field** (``ActionSpec.secret_fields``, e.g. Slack's ``token``) holding a
  literal value, a malformed reference or a reference to a name the tenant does not have
  gets ``{"$secret": NAME}`` when exactly one of the tenant's secret names fits (it
  contains the connector code, e.g. ``SLACK_BOT_TOKEN`` for ``slack``; with several, the
  one that also contains the field's word, e.g. ``TOKEN``): a *note* says so. Otherwise
  the field is left empty, a *note* asks the user to create a secret with a suggested name
  (``SLACK_TOKEN``, or the name the answer used) and a *problem* is pinned on the step:
  part of the answer was left out, so the proposal is not complete;
* a required secret field the drafter **left empty** gets the one fitting secret too;
  otherwise it stays empty with a "create a secret named …" note (unless the drafter's
  own notes already say which secret to create for that step), and no problem: nothing
  of the answer was left out;
* any other **credential-shaped string** (what ``automate.governance.redaction.redact_text``
  masks: vendor tokens, ``Bearer …``, URL passwords, values registered as secret) anywhere
  in the definition is masked; inside a step's inputs a value that was nothing but the
  credential is removed. A problem is pinned on the step (this part, with the
  :class:`Scrubbed` record, is :mod:`automate.copilot.secret_values`);
* a ``{"$secret": NAME}``/``"$secret:NAME"``/``{{ secrets.NAME }}`` elsewhere in the inputs
  whose name the tenant does not have is removed, with a note and a problem.

A reference exactly as the current draft (``before``) has it at the same step and place
is the user's own and is kept, even to a secret not created yet (publishing then names it).
Notes and problems never hold a value: only field paths, step ids and names.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from automate.copilot.secret_values import (
    CREATE_SECRET,
    SECRET_MISPLACED,
    SECRET_VALUE,
    Scrubbed,
    dotted,
    leaves,
    mask_credentials,
    suggested_secret_name,
)
from automate.copilot.types import Definition
from automate.governance.redaction import redact_text
from automate.governance.secrets import SECRET_NAME_PATTERN, is_secret_ref

__all__ = [
    "CREATE_SECRET",
    "SECRET_VALUE",
    "Scrubbed",
    "fitting_secret_name",
    "scrub_secrets",
    "suggested_secret_name",
]

_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9]+")
_SECRET_NAMED: Final = re.compile(r"secret named ([A-Za-z_][A-Za-z0-9_]{0,127})\b", re.IGNORECASE)


def fitting_secret_name(connector: str, field_path: str, names: Collection[str]) -> str | None:
    """The one tenant secret name that fits ``connector``'s ``field_path``, else ``None``.

    A name fits when its ``_``-separated words include the connector code's words
    (``SLACK_BOT_TOKEN`` for ``slack``) or when it is the suggested name; among several,
    the one that also has the field's last word (``TOKEN``). Never guesses between two.
    """
    suggested = suggested_secret_name(connector, field_path)
    if suggested in names:
        return suggested
    code_words = {w for w in connector.upper().split("_") if w}
    candidates = [
        name for name in names if code_words and code_words <= set(name.upper().split("_"))
    ]
    if len(candidates) > 1:
        last = [w for w in _NOT_NAME.split(field_path.upper()) if w][-1:]
        candidates = [n for n in candidates if set(last) <= set(n.upper().split("_"))]
    return candidates[0] if len(candidates) == 1 else None


def scrub_secrets(
    definition: Definition,
    *,
    secret_names: Collection[str],
    before: Definition,
    drafter_notes: Sequence[str] = (),
) -> Scrubbed:
    """Remove every secret value from ``definition`` (changed in place; see the module
    docstring). ``definition`` must already have the normalised shape (three dicts, a
    graph with ``nodes`` and ``edges`` lists) and be within the definition limits.
    ``drafter_notes`` are the drafter's own notes: a step whose empty secret field one of
    them already explains ("Create a secret named SLACK_BOT_TOKEN …") gets no second one."""
    result = Scrubbed()
    result.drafter_notes = [note for note in drafter_notes if isinstance(note, str)]
    scrub = _Scrub(secret_names, _nodes_by_id(before), result)
    nodes = definition["graph"]["nodes"]
    for node in nodes:
        if isinstance(node, dict):
            _scrub_secret_fields(node, scrub)
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
            _scrub_input_references(node, scrub)
    mask_credentials(definition, result)
    return result


@dataclass(frozen=True)
class _Scrub:
    """What every step's scrubbing uses: the tenant's secret names, the current draft's
    steps by id (the user's own references) and the result being filled."""

    names: Collection[str]
    before_nodes: dict[str, dict[str, Any]]
    result: Scrubbed


# --- secret fields --------------------------------------------------------------------------


def _action_secret_fields(node: dict[str, Any]) -> list[tuple[str, bool]]:
    """``(path, required)`` of each secret field of an action node's connector action."""
    from automate.connectors import connector_exists, get_action

    code, action = node.get("connector"), node.get("action")
    if node.get("type") != "action" or not isinstance(code, str) or not isinstance(action, str):
        return []
    if not connector_exists(code, action):
        return []
    spec = get_action(code, action)
    schema = spec.input_schema
    return [(path, _required(schema, path.split("."))) for path in spec.secret_fields()]


def _required(schema: Any, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(schema, dict) or part not in (schema.get("required") or []):
            return False
        schema = (schema.get("properties") or {}).get(part)
    return True


def _scrub_secret_fields(node: dict[str, Any], scrub: _Scrub) -> None:
    node_id = str(node.get("id", ""))
    for path, required in _action_secret_fields(node):
        parts = path.split(".")
        parent = _container(node.get("inputs"), parts[:-1])
        value = parent.get(parts[-1]) if parent is not None else None
        if value in (None, ""):
            if required:
                _fill_or_ask(node, parts, scrub, reason="")
            continue
        referenced = _reference_names(value)
        if referenced and all(name in scrub.names for name in referenced):
            continue  # references to the tenant's own secrets
        if _users_own(referenced, scrub.before_nodes, node_id, ["inputs", *parts], value):
            continue  # the user's own reference, as the draft has it
        assert parent is not None  # value was found in it
        del parent[parts[-1]]
        wanted = next((n for n in sorted(referenced) if _shown_name(n)), None)
        if not referenced:
            reason = "held a secret value, which a draft never keeps"
        elif wanted:
            reason = f"referred to the secret {wanted}, which the tenant does not have"
        else:
            reason = "held a malformed secret reference"
        _fill_or_ask(node, parts, scrub, reason=reason, wanted=wanted)


def _fill_or_ask(
    node: dict[str, Any],
    parts: list[str],
    scrub: _Scrub,
    *,
    reason: str,
    wanted: str | None = None,
) -> None:
    """Put the one fitting secret into the field (a note), or ask for one (note + problem)."""
    node_id = str(node.get("id", ""))
    connector = str(node.get("connector", ""))
    path = ".".join(parts)
    where = f"inputs.{path}"
    result = scrub.result
    fitting = fitting_secret_name(connector, path, scrub.names)
    parent = _container(node.setdefault("inputs", {}), parts[:-1], create=True)
    if fitting is not None and parent is not None:
        parent[parts[-1]] = {"$secret": fitting}
        result.notes.append(
            f"Step {node_id!r}: its {path!r} field {reason or 'was empty'}; it now uses the "
            f"secret {fitting}."
        )
        return
    if not reason:
        # Left empty by the drafter: nothing of its answer is lost, so no problem; the user
        # still learns which secret to create (from the drafter's note when it gave one).
        named = _named_in_notes(result.drafter_notes, node_id, connector, path)
        name = named or suggested_secret_name(connector, path)
        note = None if named else _pick_note(name, connector, path, node_id)
        _ask_for_secret(result, name, node_id, where, note=note)
        return
    name = wanted or suggested_secret_name(connector, path)
    _ask_for_secret(
        result,
        name,
        node_id,
        where,
        note=_pick_note(name, connector, path, node_id),
        problem=f"the secret field {reason}: create a secret named {name}, then pick it here",
    )


def _pick_note(name: str, connector: str, path: str, node_id: str) -> str:
    return (
        f"Create a secret named {name} (the {connector} {path} of step {node_id!r}) and pick "
        f"it in the step's {path!r} field."
    )


def _ask_for_secret(
    result: Scrubbed,
    name: str,
    node_id: str,
    where: str,
    *,
    note: str | None,
    problem: str | None = None,
) -> None:
    """Record that the user must create the secret ``name`` for ``where`` of the step:
    with ``note`` for the user and, when part of the answer was left out, ``problem``."""
    result.secrets_to_create.append({"name": name, "node_id": node_id, "field": where})
    if note is not None:
        result.notes.append(note)
    if problem is not None:
        result.problems.append(
            {"node_id": node_id, "field": where, "message": problem, "kind": CREATE_SECRET}
        )


def _named_in_notes(notes: list[str], node_id: str, connector: str, path: str) -> str | None:
    """The secret name a drafter's note asks to create for this step, if one does: a note
    saying "secret named NAME" that mentions the step, its connector or the field."""
    words = {w.lower() for w in (node_id, connector, path.rsplit(".", 1)[-1]) if w}
    for note in notes:
        match = _SECRET_NAMED.search(note)
        if match and any(word in note.lower() for word in words):
            return match.group(1)
    return None


# --- references elsewhere in the inputs -------------------------------------------------


def _scrub_input_references(node: dict[str, Any], scrub: _Scrub) -> None:
    node_id = str(node.get("id", ""))
    connector = str(node.get("connector", "") or "workflow")
    secret_fields = [field for field, _required in _action_secret_fields(node)]
    for parent, key, path in list(leaves(node["inputs"], ["inputs"])):
        value = parent[key]
        referenced = _reference_names(value)
        if not referenced or _users_own(referenced, scrub.before_nodes, node_id, path, value):
            continue
        unknown = sorted(n for n in referenced if n not in scrub.names)
        if not unknown:
            if not _in_secret_field(path, secret_fields):
                _misplaced(node_id, path, secret_fields, parent, key, scrub.result)
            continue
        del parent[key]
        where = dotted(path)
        name = next((n for n in unknown if _shown_name(n)), None) or suggested_secret_name(
            connector, str(path[-1])
        )
        _ask_for_secret(
            scrub.result,
            name,
            node_id,
            where,
            note=f"Create a secret named {name} for step {node_id!r} ({where}); the reference "
            "to it was left out until it exists.",
            problem=f"refers to a secret the tenant does not have ({name}); it was left out: "
            "create the secret, then use it here",
        )


def _in_secret_field(path: list[Any], secret_fields: list[str]) -> bool:
    """Whether ``path`` (``["inputs", "auth", "token"]``) is a secret field or inside one,
    or a request header (``Authorization: Bearer {{ secrets.X }}``, ``X-Api-Key``): the
    places a secret is meant to go (docs/howto/secrets.md)."""
    if len(path) > 2 and path[1] == "headers":
        return True
    where = dotted(path[1:])
    return any(where == field or where.startswith(f"{field}.") for field in secret_fields)


def _misplaced(
    node_id: str,
    path: list[Any],
    secret_fields: list[str],
    parent: Any,
    key: Any,
    result: Scrubbed,
) -> None:
    """Leave out a secret reference outside the step's secret fields: in a message, a URL
    or a body it would carry the secret's value out (a prompt-injected model's favourite
    trick), so a drafted step may use a secret only where the connector expects one."""
    del parent[key]
    where = dotted(path)
    allowed = ", ".join(f"inputs.{field}" for field in secret_fields) or "none on this step"
    result.problems.append(
        {
            "node_id": node_id,
            "field": where,
            "message": "a secret may only be used in a secret field of the step "
            f"({allowed}) or a request header; the reference was left out",
            "kind": SECRET_MISPLACED,
        }
    )


# --- helpers ---


def _container(value: Any, parts: list[str], *, create: bool = False) -> dict[str, Any] | None:
    for part in parts:
        if not isinstance(value, dict):
            return None
        if create and part not in value:
            value[part] = {}
        value = value.get(part)
    return value if isinstance(value, dict) else None


def _reference_names(value: Any) -> set[str]:
    """Secret names ``value`` refers to; a malformed reference gives ``{""}``."""
    from automate.templates import secret_names

    if is_secret_ref(value):
        name = value[len("$secret:") :] if isinstance(value, str) else value.get("$secret")
        ok = isinstance(name, str) and SECRET_NAME_PATTERN.fullmatch(name)
        if not ok or (isinstance(value, dict) and len(value) != 1):
            return {""}
        return {str(name)}
    if isinstance(value, str | dict | list):
        return set(secret_names(value))
    return set()


def _shown_name(name: str) -> bool:
    """Whether a name the answer used may be repeated to the user (not a pasted value)."""
    return bool(SECRET_NAME_PATTERN.fullmatch(name)) and redact_text(name) == name


def _nodes_by_id(definition: Definition) -> dict[str, dict[str, Any]]:
    graph = definition.get("graph") if isinstance(definition, dict) else None
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    found: dict[str, dict[str, Any]] = {}
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict) and isinstance(node.get("id"), str):
            found.setdefault(node["id"], node)
    return found


def _users_own(
    referenced: set[str],
    before_nodes: dict[str, dict[str, Any]],
    node_id: str,
    path: list[Any],
    value: Any,
) -> bool:
    """Whether ``value`` is a reference the current draft has at the same place, naming
    only well-formed names (a malformed one may be a pasted value: it is never kept)."""
    return (
        bool(referenced)
        and all(_shown_name(name) for name in referenced)
        and _same_in_before(before_nodes, node_id, path, value)
    )


def _same_in_before(
    before_nodes: dict[str, dict[str, Any]], node_id: str, path: list[Any], value: Any
) -> bool:
    current: Any = before_nodes.get(node_id)
    for part in path:
        if isinstance(current, dict) and isinstance(part, str):
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            return False
    return bool(current == value)
