"""Static checks on a parsed template, run before it is saved, published or compiled.

The rule for secrets: ``secrets.NAME`` (or ``secrets['NAME']``, the name written literally)
may only be *printed whole* — it must be the entire ``{{ … }}`` expression, outside any
macro, ``{% set %}`` block, ``{% filter %}`` block, call block, ``{% block %}`` or recursive
loop (whose printed text a template could capture and transform). So
``Bearer {{ secrets.TOKEN }}`` is fine, and every filter, method, index, slice, test,
comparison, loop, ``~``/``+``, ``and``/``or``/``not``, assignment or call argument on a
secret is refused, as is any use of ``secrets`` other than ``secrets.NAME``.

Only the AST is looked at here; nothing is rendered and nothing imports Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TypeGuard

from jinja2 import nodes

from .exceptions import TemplateViolation
from .opaque import HOW_TO_USE

SECRETS = "secrets"
SECRET_NAME = re.compile(r"[A-Za-z0-9_.\-/]+")

# Step inputs are single strings: there is nothing to include, import or extend. They are
# not HTML either, and ``{% autoescape %}`` would switch ``~`` to Jinja's unmeasured join.
UNAVAILABLE_NODES: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
}

# Statements whose printed body becomes a value the template can transform.
_CAPTURING: dict[type[nodes.Node], str] = {
    nodes.Macro: "a {% macro %}",
    nodes.CallBlock: "a {% call %} block",
    nodes.FilterBlock: "a {% filter %} block",
    nodes.AssignBlock: "a {% set %} block",
    nodes.Block: "a {% block %}",
}


def template_violations(tree: nodes.Template) -> list[TemplateViolation]:
    """Every problem with ``tree`` (a template parsed by the shared environment)."""
    problems: list[TemplateViolation] = []
    for node, parent, captured in _walk(tree):
        keyword = UNAVAILABLE_NODES.get(type(node))
        if keyword is not None:
            problems.append(
                TemplateViolation(
                    f"{{% {keyword} %}} is not available in step templates",
                    kind="security",
                    line=node.lineno,
                )
            )
        elif isinstance(node, nodes.Name) and node.name == SECRETS:
            problem = _secrets_name_problem(node, parent)
            if problem:
                problems.append(problem)
        elif _is_secret_lookup(node):
            problem = _secret_use_problem(node, parent, captured)
            if problem:
                problems.append(problem)
    return problems


def secret_names_of(tree: nodes.Template) -> set[str]:
    """The secret names a (checked) template reads literally."""
    names = set()
    for node, _parent, _captured in _walk(tree):
        if _is_secret_lookup(node):
            name = _literal_name(node)
            if name is not None:
                names.add(name)
    return names


def _walk(tree: nodes.Template) -> Iterator[tuple[nodes.Node, nodes.Node | None, str | None]]:
    # Iterative: a deeply nested template must not exhaust the Python stack here.
    stack: list[tuple[nodes.Node, nodes.Node | None, str | None]] = [(tree, None, None)]
    while stack:
        node, parent, captured = stack.pop()
        yield node, parent, captured
        inner = captured
        if type(node) in _CAPTURING:
            inner = _CAPTURING[type(node)]
        elif isinstance(node, nodes.For) and node.recursive:
            inner = "a recursive {% for %} loop"
        stack.extend((child, node, inner) for child in node.iter_child_nodes())


def _is_secret_lookup(node: nodes.Node) -> TypeGuard[nodes.Getattr | nodes.Getitem]:
    return (
        isinstance(node, nodes.Getattr | nodes.Getitem)
        and isinstance(node.node, nodes.Name)
        and node.node.name == SECRETS
        and node.node.ctx == "load"
    )


def _literal_name(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _secrets_name_problem(node: nodes.Name, parent: nodes.Node | None) -> TemplateViolation | None:
    if node.ctx != "load":
        return TemplateViolation(
            "'secrets' is reserved: it cannot be assigned or used as a variable name",
            kind="secret",
            line=node.lineno,
        )
    if isinstance(parent, nodes.Getattr | nodes.Getitem) and parent.node is node:
        return None  # checked as a secret lookup
    return TemplateViolation(
        "'secrets' can only be used as secrets.NAME or secrets['NAME'], to print one secret",
        kind="secret",
        line=node.lineno,
    )


def _secret_use_problem(
    node: nodes.Getattr | nodes.Getitem, parent: nodes.Node | None, captured: str | None
) -> TemplateViolation | None:
    name = _literal_name(node)
    if name is None:
        return TemplateViolation(
            "secret names must be written literally (secrets.NAME or secrets['NAME']); "
            "a name computed from data is not allowed",
            kind="secret",
            line=node.lineno,
        )
    if not SECRET_NAME.fullmatch(name):
        return TemplateViolation(
            f"{name!r} is not a valid secret name (letters, digits, _ . - /)",
            kind="secret",
            line=node.lineno,
        )
    if isinstance(parent, nodes.Output):
        if captured is None:
            return None
        what = f"is printed inside {captured}, whose text could be transformed"
    else:
        what = _describe_use(node, parent)
    problem = f"{HOW_TO_USE}; secrets.{name} {what}"
    return TemplateViolation(problem, kind="secret", line=node.lineno)


def _describe_use(node: nodes.Node, parent: nodes.Node | None) -> str:
    if isinstance(parent, nodes.Filter):
        return f"is passed to the filter '{parent.name}'"
    if isinstance(parent, nodes.Test):
        return f"is checked with the test '{parent.name}'"
    if isinstance(parent, nodes.Call):
        return "is called" if parent.node is node else "is passed to a call"
    if isinstance(parent, nodes.Keyword):
        return "is passed by keyword to a call or filter"
    if isinstance(parent, nodes.Getattr):
        return f"is used with '.{parent.attr}'"
    if isinstance(parent, nodes.Getitem | nodes.Slice):
        return "is indexed or sliced"
    if isinstance(parent, nodes.Compare | nodes.Operand):
        return "is compared"
    if isinstance(parent, nodes.Concat):
        return "is joined with '~' (write 'Bearer {{ secrets.NAME }}' instead)"
    if isinstance(parent, nodes.And | nodes.Or | nodes.Not):
        return "is used as true or false ('and', 'or', 'not')"
    if isinstance(parent, nodes.BinExpr | nodes.UnaryExpr):
        return f"is used with '{parent.operator}'"
    if isinstance(parent, nodes.CondExpr):
        if parent.test is node:
            return "is tested in an inline 'if'"
        return "is chosen by an inline 'if' (use {% if %}…{{ secrets.NAME }}…{% endif %})"
    if isinstance(parent, nodes.If):
        return "is tested in {% if %}"
    if isinstance(parent, nodes.For):
        return "is looped over"
    if isinstance(parent, nodes.Assign | nodes.With | nodes.AssignBlock):
        return "is assigned to a variable"
    if isinstance(parent, nodes.List | nodes.Tuple | nodes.Dict | nodes.Pair):
        return "is put inside a list or dict"
    if isinstance(parent, nodes.Macro | nodes.CallBlock):
        return "is a macro argument or default"
    return f"is used in a {type(parent).__name__} expression"
