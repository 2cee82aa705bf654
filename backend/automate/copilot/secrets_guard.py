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
  credential is removed. A problem is pinned on the step;
* a ``{"$secret": NAME}``/``"$secret:NAME"``/``{{ secrets.NAME }}`` elsewhere in the inputs
  whose name the tenant does not have is removed, with a note and a problem.

A reference exactly as the current draft (``before``) has it at the same step and place
is the user's own and is kept, even to a secret not created yet (publishing then names it).
Notes and problems never hold a value: only field paths, step ids and names.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from automate.copilot.types import Definition
from automate.governance.redaction import MASK, is_sensitive_key, redact_text, secret_masker
from automate.governance.secrets import SECRET_NAME_PATTERN, is_secret_ref

__all__ = [
    "CREATE_SECRET",
    "SECRET_VALUE",
    "Scrubbed",
    "fitting_secret_name",
    "scrub_secrets",
    "suggested_secret_name",
]

Problem = dict[str, str]

CREATE_SECRET: Final = "create_secret"  # noqa: S105 - a problem kind, not a secret
"""``kind`` of a problem whose secret reference was left out: the user must create it."""
SECRET_VALUE: Final = "secret_value"  # noqa: S105 - a problem kind, not a secret
"""``kind`` of a problem whose credential-shaped value was masked or removed."""

_ONLY_CREDENTIAL: Final = re.compile(
    r"\s*(?:(?i:bearer|basic|token)\s+)?" + re.escape(MASK) + r"\s*", re.ASCII
)
_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9]+")
_SECRET_NAMED: Final = re.compile(r"secret named ([A-Za-z_][A-Za-z0-9_]{0,127})\b", re.IGNORECASE)
_TEMPLATE_OPEN: Final = re.compile(r"\{\{|\{%")


@dataclass
class Scrubbed:
    """What :func:`scrub_secrets` did: ``notes`` for the user (plain sentences) and
    ``problems`` pinned on steps (``{"node_id", "field", "message"}``); ``secrets_to_create``
    lists ``{"name", "node_id", "field"}`` for each secret the user must create."""

    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    secrets_to_create: list[dict[str, str]] = field(default_factory=list)
    drafter_notes: list[str] = field(default_factory=list, repr=False)


def suggested_secret_name(connector: str, field_path: str) -> str:
    """The name to suggest for a secret: ``SLACK_TOKEN`` for ``slack``'s ``token``,
    ``HTTP_AUTH_TOKEN`` for ``http``'s ``auth.token`` (always a valid secret name)."""
    words = [w for w in _NOT_NAME.split(f"{connector}_{field_path}".upper()) if w]
    name = "_".join(words)[:128] or "WORKFLOW_SECRET"
    return name if SECRET_NAME_PATTERN.fullmatch(name) else f"S_{name}"[:128]


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
    nodes = definition["graph"]["nodes"]
    before_nodes = _nodes_by_id(before)
    for node in nodes:
        if isinstance(node, dict):
            _scrub_secret_fields(node, secret_names, before_nodes, result)
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("inputs"), dict):
            _scrub_input_references(node, secret_names, before_nodes, result)
    _mask_credentials(definition, result)
    return result


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


def _scrub_secret_fields(
    node: dict[str, Any],
    names: Collection[str],
    before_nodes: dict[str, dict[str, Any]],
    result: Scrubbed,
) -> None:
    node_id = str(node.get("id", ""))
    for path, required in _action_secret_fields(node):
        parts = path.split(".")
        parent = _container(node.get("inputs"), parts[:-1])
        value = parent.get(parts[-1]) if parent is not None else None
        if value in (None, ""):
            if required:
                _fill_or_ask(node, parts, names, result, reason="")
            continue
        referenced = _reference_names(value)
        if referenced and all(name in names for name in referenced):
            continue  # references to the tenant's own secrets
        if _users_own(referenced, before_nodes, node_id, ["inputs", *parts], value):
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
        _fill_or_ask(node, parts, names, result, reason=reason, wanted=wanted)


def _fill_or_ask(
    node: dict[str, Any],
    parts: list[str],
    names: Collection[str],
    result: Scrubbed,
    *,
    reason: str,
    wanted: str | None = None,
) -> None:
    """Put the one fitting secret into the field (a note), or ask for one (note + problem)."""
    node_id = str(node.get("id", ""))
    connector = str(node.get("connector", ""))
    path = ".".join(parts)
    where = f"inputs.{path}"
    fitting = fitting_secret_name(connector, path, names)
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
        result.secrets_to_create.append({"name": name, "node_id": node_id, "field": where})
        if named is None:
            result.notes.append(
                f"Create a secret named {name} (the {connector} {path} of step {node_id!r}) "
                f"and pick it in the step's {path!r} field."
            )
        return
    name = wanted or suggested_secret_name(connector, path)
    result.secrets_to_create.append({"name": name, "node_id": node_id, "field": where})
    result.notes.append(
        f"Create a secret named {name} (the {connector} {path} of step {node_id!r}) and pick "
        f"it in the step's {path!r} field."
    )
    result.problems.append(
        {
            "node_id": node_id,
            "field": where,
            "message": f"the secret field {reason}: create a secret named {name}, then pick it "
            "here",
            "kind": CREATE_SECRET,
        }
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


def _scrub_input_references(
    node: dict[str, Any],
    names: Collection[str],
    before_nodes: dict[str, dict[str, Any]],
    result: Scrubbed,
) -> None:
    node_id = str(node.get("id", ""))
    connector = str(node.get("connector", "") or "workflow")
    for parent, key, path in list(_leaves(node["inputs"], ["inputs"])):
        value = parent[key]
        referenced = _reference_names(value)
        unknown = sorted(n for n in referenced if n not in names)
        if not unknown or _users_own(referenced, before_nodes, node_id, path, value):
            continue
        del parent[key]
        where = _dotted(path)
        name = next((n for n in unknown if _shown_name(n)), None) or suggested_secret_name(
            connector, str(path[-1])
        )
        result.secrets_to_create.append({"name": name, "node_id": node_id, "field": where})
        result.notes.append(
            f"Create a secret named {name} for step {node_id!r} ({where}); the reference to it "
            "was left out until it exists."
        )
        result.problems.append(
            {
                "node_id": node_id,
                "field": where,
                "message": f"refers to a secret the tenant does not have ({name}); it was left "
                "out: create the secret, then use it here",
                "kind": CREATE_SECRET,
            }
        )


# --- credential-shaped strings anywhere -----------------------------------------------------


def _mask_credentials(definition: Definition, result: Scrubbed) -> None:
    for part in ("trigger_spec", "rule_spec"):
        if _mask_tree(definition[part]):
            result.problems.append(
                {
                    "field": part,
                    "message": "held what looks like a credential; it was masked (a draft "
                    "never holds secret values)",
                    "kind": SECRET_VALUE,
                }
            )
    for node in definition["graph"]["nodes"]:
        if not isinstance(node, dict):
            continue
        changed = []
        for key in list(node):
            value = node[key]
            if _credential(key):
                del node[key]
                changed.append("a field name")
            elif key == "inputs" and isinstance(value, dict):
                changed.extend(_mask_inputs(value))
            elif isinstance(value, str):
                masked = _redacted(value)
                if masked != value:
                    node[key] = masked
                    changed.append(key)
            elif _mask_tree(value):
                changed.append(key)
        if changed:
            _report_credentials(node, list(dict.fromkeys(changed)), result)
    graph = definition["graph"]
    rest = {key: value for key, value in graph.items() if key != "nodes"}
    if _mask_tree(rest):  # the edges and any other key of the graph
        order, nodes = list(graph), graph["nodes"]
        graph.clear()
        graph.update(
            (key, nodes if key == "nodes" else rest[key])
            for key in order
            if key in rest or key == "nodes"
        )
        result.problems.append(
            {
                "field": "graph",
                "message": "held what looks like a credential; it was masked",
                "kind": SECRET_VALUE,
            }
        )


def _report_credentials(node: dict[str, Any], fields: list[str], result: Scrubbed) -> None:
    node_id = redact_text(str(node.get("id", "")))
    connector = str(node.get("connector", "") or "workflow")
    for where in fields:
        result.problems.append(
            {
                "node_id": node_id,
                "field": where,
                "message": "held what looks like a credential; it was masked or removed (a "
                "draft never holds secret values): keep it in a secret and refer to it",
                "kind": SECRET_VALUE,
            }
        )
    last = fields[0].rsplit(".", 1)[-1]
    name = suggested_secret_name(connector, last if redact_text(last) == last else "secret")
    result.notes.append(
        f"Step {node_id!r} held what looks like a credential ({', '.join(fields)}); it was "
        f"left out. Store it as a secret (for example {name}) and refer to it as "
        f"{{{{ secrets.{name} }}}}."
    )


_REMOVE: Final = object()


def _masked(item: Any, key: Any) -> Any:
    """``item`` without credentials: the same object when it has none, ``_REMOVE`` when it
    was nothing but a credential (or a reference whose "name" is one), else masked text."""
    if _well_formed_ref(item):
        return _REMOVE if _credential(item["$secret"]) else item
    if not isinstance(item, str):
        return item
    masked = _redacted(item)
    if masked == item and not _token_under_sensitive_key(key, item):
        return item
    if masked == item or _ONLY_CREDENTIAL.fullmatch(masked):
        return _REMOVE
    return masked


def _mask_inputs(inputs: dict[str, Any]) -> list[str]:
    """Mask or remove credentials in a step's inputs; the paths changed."""
    changed: list[str] = []
    for parent, key, path in list(_leaves(inputs, ["inputs"], keys_too=True)):
        if isinstance(key, str) and _credential(key):
            del parent[key]
            changed.append(_dotted(path[:-1]) + ".(a key)")
            continue
        item = parent[key]
        masked = _masked(item, key)
        if masked is item:
            continue
        if masked is _REMOVE:
            _remove(parent, key)
        else:
            parent[key] = masked
        changed.append(_dotted(path))
    return changed


def _mask_tree(value: Any) -> bool:
    """Mask credential-shaped strings (and drop credential-shaped keys) in ``value``."""
    changed = False
    for parent, key, _path in list(_leaves(value, [], keys_too=True)):
        if isinstance(key, str) and _credential(key):
            del parent[key]
            changed = True
            continue
        item = parent[key]
        masked = _masked(item, None)
        if masked is not item:
            parent[key] = MASK if masked is _REMOVE else masked
            changed = True
    return changed


def _credential(text: Any) -> bool:
    return isinstance(text, str) and redact_text(text) != text


def _redacted(text: str) -> str:
    """``redact_text`` on the literal parts of a template; inside ``{{ … }}``/``{% … %}``
    only known secret values are masked ("Password: {{ event.payload.code }}" is a
    template, not a credential)."""
    if "{{" not in text and "{%" not in text:
        return redact_text(text)
    return "".join(
        secret_masker.mask(part) if index % 2 else redact_text(part)
        for index, part in enumerate(_template_parts(text))
    )


def _template_parts(text: str) -> list[str]:
    """``[literal, template, literal, …]``; an unclosed ``{{``/``{%`` starts literal text.
    One pass (a lazy regex would rescan the rest of the text from every ``{{``)."""
    parts: list[str] = []
    position = 0
    while (opening := _TEMPLATE_OPEN.search(text, position)) is not None:
        end = text.find("}}" if opening.group() == "{{" else "%}", opening.end())
        if end == -1:
            break
        parts.extend((text[position : opening.start()], text[opening.start() : end + 2]))
        position = end + 2
    parts.append(text[position:])
    return parts


def _token_under_sensitive_key(key: Any, value: str) -> bool:
    """A literal, token-shaped value under a key such as ``X-Api-Key`` or ``password``."""
    if not is_sensitive_key(key) or "{{" in value or "{%" in value:
        return False
    return (
        len(value) >= 8
        and not any(c.isspace() for c in value)
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
    )


# --- helpers --------------------------------------------------------------------------------


def _leaves(
    value: Any, path: list[str | int], *, keys_too: bool = False
) -> Iterator[tuple[Any, Any, list[str | int]]]:
    """``(container, key, path)`` of every leaf (and, with ``keys_too``, every dict entry),
    deepest first, so deleting an entry never disturbs one still to come. Iterative."""
    found: list[tuple[Any, Any, list[str | int]]] = []
    stack: list[tuple[Any, list[str | int]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        children: list[tuple[Any, Any]] = []
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, list):
            children = list(enumerate(item))
        for key, child in children:
            child_path = [*where, key]
            if isinstance(child, dict | list) and not _well_formed_ref(child):
                if keys_too and isinstance(item, dict):
                    found.append((item, key, child_path))
                stack.append((child, child_path))
            else:
                found.append((item, key, child_path))
    # Deepest first; within a list, the highest index first (removals keep lower indexes).
    found.sort(key=lambda entry: (len(entry[2]), entry[1] if isinstance(entry[1], int) else 0))
    return iter(found[::-1])


def _well_formed_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$secret"), str)


def _remove(parent: Any, key: Any) -> None:
    if isinstance(parent, dict):
        del parent[key]
    else:
        parent.pop(key)


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


def _dotted(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return redact_text(text)
