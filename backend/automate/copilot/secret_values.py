"""Finding and masking credential-shaped values in a drafter's answer.

What :func:`automate.copilot.secrets_guard.scrub_secrets` builds on: the :class:`Scrubbed`
record it fills, the suggested name of a secret, and :func:`mask_credentials`, which masks
any credential-shaped string (what ``automate.governance.redaction.redact_text`` masks:
vendor tokens, ``Bearer …``, URL passwords, values registered as secret) anywhere in a
definition; inside a step's inputs a value that was nothing but the credential is removed,
and a problem is pinned on the step. Also the walk over a definition's leaves both use.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from automate.copilot.types import Definition
from automate.governance.redaction import MASK, is_sensitive_key, redact_text, secret_masker
from automate.governance.secrets import SECRET_NAME_PATTERN

__all__ = [
    "CREATE_SECRET",
    "SECRET_MISPLACED",
    "SECRET_VALUE",
    "Scrubbed",
    "dotted",
    "leaves",
    "mask_credentials",
    "suggested_secret_name",
    "well_formed_ref",
]

Problem = dict[str, str]

CREATE_SECRET: Final = "create_secret"  # noqa: S105 - a problem kind, not a secret
"""``kind`` of a problem whose secret reference was left out: the user must create it."""
SECRET_VALUE: Final = "secret_value"  # noqa: S105 - a problem kind, not a secret
#: A reference to an existing secret outside the step's secret fields (a repair can fix it).
SECRET_MISPLACED: Final = "secret_misplaced"  # noqa: S105 - a problem kind, not a secret
"""``kind`` of a problem whose credential-shaped value was masked or removed."""

_ONLY_CREDENTIAL: Final = re.compile(
    r"\s*(?:(?i:bearer|basic|token)\s+)?" + re.escape(MASK) + r"\s*", re.ASCII
)
_NOT_NAME: Final = re.compile(r"[^A-Za-z0-9]+")
_TEMPLATE_OPEN: Final = re.compile(r"\{\{|\{%")


@dataclass
class Scrubbed:
    """What :func:`~automate.copilot.secrets_guard.scrub_secrets` did: ``notes`` for the
    user (plain sentences) and ``problems`` pinned on steps (``{"node_id", "field",
    "message"}``); ``secrets_to_create`` lists ``{"name", "node_id", "field"}`` for each
    secret the user must create."""

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


def mask_credentials(definition: Definition, result: Scrubbed) -> None:
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
    if well_formed_ref(item):
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
    for parent, key, path in list(leaves(inputs, ["inputs"], keys_too=True)):
        if isinstance(key, str) and _credential(key):
            del parent[key]
            changed.append(dotted(path[:-1]) + ".(a key)")
            continue
        item = parent[key]
        masked = _masked(item, key)
        if masked is item:
            continue
        if masked is _REMOVE:
            _remove(parent, key)
        else:
            parent[key] = masked
        changed.append(dotted(path))
    return changed


def _mask_tree(value: Any) -> bool:
    """Mask credential-shaped strings (and drop credential-shaped keys) in ``value``."""
    changed = False
    for parent, key, _path in list(leaves(value, [], keys_too=True)):
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


# --- walking a definition ---------------------------------------------------------------


def leaves(
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
            if isinstance(child, dict | list) and not well_formed_ref(child):
                if keys_too and isinstance(item, dict):
                    found.append((item, key, child_path))
                stack.append((child, child_path))
            else:
                found.append((item, key, child_path))
    # Deepest first; within a list, the highest index first (removals keep lower indexes).
    found.sort(key=lambda entry: (len(entry[2]), entry[1] if isinstance(entry[1], int) else 0))
    return iter(found[::-1])


def well_formed_ref(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$secret"), str)


def _remove(parent: Any, key: Any) -> None:
    if isinstance(parent, dict):
        del parent[key]
    else:
        parent.pop(key)


def dotted(path: list[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return redact_text(text)
