"""Short human labels for rule nodes, such as ``amount > 1000``, for the studio."""

from __future__ import annotations

import json
from typing import Any, Final

from automate.rules.semantics import to_js_string

MAX_LABEL: Final = 80
"""Labels longer than this many characters end in an ellipsis."""

_INFIX: Final = frozenset(
    {"==", "===", "!=", "!==", ">", ">=", "<", "<=", "+", "-", "*", "/", "%", "in", "and", "or"}
)
_PARENTHESISED: Final = _INFIX | {"if", "?:", "!"}


def label(rule: Any) -> str:
    """A one-line reading of ``rule``: ``amount > 1000``, ``some(items, qty > 1)``.

    Operands that are themselves infix operations are parenthesised; ``var`` shows its
    path (``data`` for the whole data, ``path ?? default`` with a default).
    """
    text = _label(rule)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _operation(rule: Any) -> tuple[str, list[Any]] | None:
    if isinstance(rule, dict) and len(rule) == 1:
        ((name, args),) = rule.items()
        return name, list(args) if isinstance(args, list | tuple) else [args]
    return None


def _operand(rule: Any) -> str:
    text = _label(rule)
    operation = _operation(rule)
    if operation is not None and (
        operation[0] in _PARENTHESISED or (operation[0] == "var" and len(operation[1]) > 1)
    ):
        return f"({text})"
    return text


def _label(rule: Any) -> str:
    operation = _operation(rule)
    if operation is None:
        if isinstance(rule, list | tuple):
            return "[" + ", ".join(_label(item) for item in rule) + "]"
        return json.dumps(rule, ensure_ascii=False, default=str)
    name, args = operation
    if name == "var":
        return _var_label(args)
    if name == "-" and len(args) == 1:
        return f"-{_operand(args[0])}"
    if name in _INFIX and len(args) >= 2:
        return f" {name} ".join(_operand(arg) for arg in args)
    if name == "!" and len(args) == 1:
        return f"not {_operand(args[0])}"
    if name in ("if", "?:") and len(args) >= 2:
        return _if_label(args)
    return f"{name}({', '.join(_label(arg) for arg in args)})"


def _var_label(args: list[Any]) -> str:
    path = args[0] if args else None
    if _operation(path) is not None:
        name = f"var({_label(path)})"
    elif path is None or path == "" or path == []:
        name = "data"
    else:
        name = to_js_string(path)
    if len(args) > 1:
        return f"{name} ?? {_operand(args[1])}"
    return name


def _if_label(args: list[Any]) -> str:
    parts = []
    for index in range(0, len(args) - 1, 2):
        keyword = "if" if index == 0 else "elif"
        parts.append(f"{keyword} {_operand(args[index])} then {_operand(args[index + 1])}")
    if len(args) % 2:
        parts.append(f"else {_operand(args[-1])}")
    return " ".join(parts)
