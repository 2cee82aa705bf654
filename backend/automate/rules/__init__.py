"""JSONLogic rules: decide whether an event matches a workflow, and explain why.

Pure Python, no Django. A rule is JSONLogic (https://jsonlogic.com) with JavaScript
semantics, or a jsonlogic-py expression. Rules are validated and compiled once (cached)::

    from automate.rules import compile_rule, evaluate, explain

    evaluate({">": [{"var": "amount"}, 1000]}, {"amount": 1500})  # True
    rule = compile_rule(spec)  # raises RuleError (with .path) if malformed
    rule.evaluate(event.payload)

See docs/reference/rules.md.
"""

from automate.rules.compiler import CompiledRule, compile_rule
from automate.rules.convert import to_jsonlogic
from automate.rules.engine import apply, evaluate, explain
from automate.rules.exceptions import RuleError

__all__ = [
    "CompiledRule",
    "RuleError",
    "apply",
    "compile_rule",
    "evaluate",
    "explain",
    "to_jsonlogic",
]
