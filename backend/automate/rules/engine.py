"""The rules engine's entry points: apply, evaluate and explain a rule on some data.

Each accepts a rule as JSONLogic, a jsonlogic-py expression or a :class:`CompiledRule`;
the rule is compiled once and cached (see :func:`automate.rules.compile_rule`).
"""

from __future__ import annotations

from typing import Any

from automate.rules.compiler import compile_rule
from automate.rules.explanation import ExplainNode


def apply(rule: Any, data: Any = None) -> Any:
    """The JSONLogic value of ``rule`` for ``data``, with JavaScript semantics.

    >>> apply({"+": [{"var": "a"}, 1]}, {"a": "2"})
    3
    """
    return compile_rule(rule).apply(data)


def evaluate(rule_spec: Any, context: Any = None) -> bool:
    """Whether ``rule_spec`` matches ``context``: JSONLogic truthiness of :func:`apply`.

    The empty rule (``None`` or ``{}``) always matches, so a workflow without a rule runs
    on every event of its trigger type.

    >>> evaluate({"in": [{"var": "currency"}, ["usd", "eur"]]}, {"currency": "usd"})
    True
    >>> evaluate(None, {"anything": 1})
    True
    """
    return compile_rule(rule_spec).evaluate(context)


def explain(rule_spec: Any, context: Any = None) -> ExplainNode:
    """The tree of every operator node's value for ``context`` (JSON-serialisable).

    Nodes are ``{"op", "path", "label", "value", "passed", "skipped", "children"}``;
    arms that evaluation would skip are still evaluated and reported, with
    ``skipped: true``. The root's value is :func:`apply`'s.

    >>> explain({">": [{"var": "amount"}, 1000]}, {"amount": 1500})["passed"]
    True
    """
    return compile_rule(rule_spec).explain(context)
