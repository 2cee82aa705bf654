"""The one shared Jinja environment: immutable sandbox, strict undefined, budget checks.

On top of Jinja's ``ImmutableSandboxedEnvironment`` (no ``_``-attributes, no ``mro``, no
mutating ``list``/``dict`` methods, sandboxed ``str.format``) it adds the deadline and size
checks of :mod:`automate.templates.limits` at every place a template can spend time or
memory. The one check Jinja has no hook for — iterating a ``{% for %}`` loop — is added by a
small code-generator subclass (Jinja's documented ``code_generator_class`` extension point)
that wraps each loop's iterable in ``environment.guarded_iter(...)``; the same subclass
measures ``a ~ b`` before joining.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace

from .exceptions import TemplateViolation
from .filters import BUILTIN_FILTERS
from .limits import (
    MAX_RANGE,
    RenderBudget,
    check_binop,
    check_method_call,
    check_str_format,
    check_value_size,
    current_budget,
)

#: How many compiled templates are kept (least recently used are dropped).
COMPILE_CACHE_SIZE = 1024
#: The variable a single-expression input is assigned to when rendered natively.
RESULT_NAME = "result"


# Step inputs are single strings: there is nothing to include, import or extend. They are
# not HTML either, and ``{% autoescape %}`` would switch ``~`` to Jinja's unmeasured join.
_UNAVAILABLE_NODES = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.ScopedEvalContextModifier: "autoescape",
    nodes.EvalContextModifier: "autoescape",
}


class _BudgetedCodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for statement in node.find_all(tuple(_UNAVAILABLE_NODES)):
            keyword = _UNAVAILABLE_NODES[type(statement)]
            self.fail(f"{{% {keyword} %}} is not available in step templates", statement.lineno)
        # Custom node types are forbidden, so the loop guard is an ordinary call:
        # ``for x in environment.guarded_iter(<iterable>)``.
        for loop in node.find_all(nodes.For):
            guard = nodes.EnvironmentAttribute("guarded_iter", lineno=loop.iter.lineno)
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.iter.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # ``a ~ b``: measured before joining, so doubling a string in a few ``set``s cannot
        # allocate gigabytes. (Autoescaping, which would need Markup joins, is never on.)
        self.write("environment.guarded_str_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def guarded_range(*args: int) -> range:
    """``range()`` for templates: at most ``MAX_RANGE`` numbers."""
    numbers = range(*args)
    try:
        size = len(numbers)
    except OverflowError:
        size = MAX_RANGE + 1
    if size > MAX_RANGE:
        raise TemplateViolation(
            f"range() of more than {MAX_RANGE:,} numbers is not allowed", kind="limit"
        )
    return numbers


def _deadline_iter(iterable: Iterable[Any], budget: RenderBudget) -> Iterator[Any]:
    for item in iterable:
        budget.check_time()
        yield item


def _finalize(value: Any) -> Any:
    # Runs on every ``{{ … }}`` before ``str()``: a small value can stand for a huge text
    # (a list nested in itself forty times), so measure first. ``none`` renders as "".
    if value is None:
        return ""
    budget = current_budget()
    if budget is not None and not isinstance(value, int | float):
        check_value_size(value, budget, "the rendered value")
    return value


class AutomateEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with ``StrictUndefined``, no autoescape and a budget."""

    code_generator_class = _BudgetedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            finalize=_finalize,
            cache_size=0,
            auto_reload=False,
            extensions=["jinja2.ext.loopcontrols"],
        )
        # ``lipsum(n=10**9)`` loops in Python without a single check; the rest are harmless.
        self.globals = {
            "range": guarded_range,
            "dict": dict,
            "namespace": Namespace,
            "cycler": Cycler,
            "joiner": Joiner,
        }
        self.filters.update(BUILTIN_FILTERS)

    def guarded_iter(self, iterable: Iterable[Any]) -> Iterable[Any]:
        """Wrap a loop's iterable so every iteration checks the render deadline."""
        budget = current_budget()
        if budget is None:
            return iterable
        return _deadline_iter(iterable, budget)

    def guarded_str_join(self, parts: Iterable[Any]) -> str:
        """``a ~ b ~ c``, refused when the result would pass the output limit."""
        budget = current_budget()
        values = list(parts)
        if budget is not None:
            check_value_size(values, budget, "the joined text")
        return "".join(str(value) for value in values)

    def concat(self, parts: Iterable[str]) -> str:
        """Join a block's output (macro bodies, ``{% set %}`` blocks), within the limit."""
        budget = current_budget()
        if budget is None:
            return "".join(parts)
        collected = []
        size = 0
        for part in parts:
            size += len(part)
            budget.check_size(size, "a block of rendered text")
            collected.append(part)
        budget.check_time()
        return "".join(collected)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Run ``* ** + %`` after checking the result cannot blow the budget."""
        budget = current_budget()
        if budget is not None:
            check_binop(operator, left, right, budget)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call from a template, checking the deadline and refusing amplifying calls."""
        budget = current_budget()
        if budget is not None:
            budget.check_time()
            args = check_method_call(obj, args, kwargs, budget)
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` from a template, checking the deadline."""
        budget = current_budget()
        if budget is not None:
            budget.check_time()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: str | Any) -> Any:
        """``obj[argument]`` from a template, checking the deadline."""
        budget = current_budget()
        if budget is not None:
            budget.check_time()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``/``format_map``, refusing huge field widths."""
        sandboxed = super().wrap_str_format(value)
        if sandboxed is None:
            return None
        fmt: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def guarded(*args: Any, **kwargs: Any) -> str:
            budget = current_budget()
            if budget is not None:
                mapping = args[0] if is_format_map and args else kwargs
                check_str_format(fmt, args, mapping if isinstance(mapping, Mapping) else {}, budget)
            return sandboxed(*args, **kwargs)

        return functools.update_wrapper(guarded, sandboxed)


environment = AutomateEnvironment()


def single_expression(tree: nodes.Template) -> nodes.Expr | None:
    """The expression of a template that is exactly one ``{{ … }}`` and nothing else."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    output = tree.body[0].nodes
    if len(output) != 1 or isinstance(output[0], nodes.TemplateData):
        return None
    return output[0]


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def compile_text(source: str) -> Template:
    """Compile ``source`` as a text template (cached)."""
    return environment.from_string(source)


@functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)
def compile_input(source: str) -> tuple[bool, Template]:
    """Compile a step-input string (cached): ``(True, template)`` when it is one expression
    (the template then assigns its value to ``RESULT_NAME``), else ``(False, text template)``.
    """
    tree = environment.parse(source)
    expression = single_expression(tree)
    if expression is None:
        return False, environment.from_string(tree)
    assign = nodes.Assign(nodes.Name(RESULT_NAME, "store"), expression, lineno=expression.lineno)
    wrapper = nodes.Template([assign], lineno=1)
    wrapper.set_environment(environment)
    return True, environment.from_string(wrapper)


def clear_compile_cache() -> None:
    """Forget compiled templates (after the set of filters changed)."""
    compile_text.cache_clear()
    compile_input.cache_clear()
