"""The one shared Jinja environment: immutable sandbox, strict undefined, budget checks.

On top of Jinja's ``ImmutableSandboxedEnvironment`` (no ``_``-attributes, no ``mro``, no
mutating ``list``/``dict`` methods, sandboxed ``str.format``) it adds:

* the deadline, size and memory checks of :mod:`automate.templates.limits` at every place a
  template can spend time or memory: every filter and test (all of them are wrapped, so
  ``map('sum')`` checks the budget once per item), call, attribute and item lookup,
  intercepted operator, comparison, loop iteration and chunk of output;
* opaque secrets (:mod:`automate.templates.opaque`): a ``SecretValue`` cannot be passed to a
  filter, test or call, looked into or iterated; printing it writes a placeholder;
* data before attributes: ``payload.items`` is the payload's ``items`` key (undefined when
  there is none), never ``dict.items``; methods are reached only by calling them
  (``payload.items()``, ``name.upper()``);
* no compile-time work: the optimizer is off and ``finalize`` needs the runtime context, so
  ``{{ 'a'|center(10**9) }}`` is not folded into a constant when the template is compiled.

The checks Jinja has no hook for (loop iteration, ``~``, comparisons, method calls) are added
by a small code-generator subclass (Jinja's documented ``code_generator_class`` extension
point).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_eval_context
from jinja2.compiler import CodeGenerator, Frame, operators
from jinja2.environment import Template
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace

from automate.payload_caps import truncation_of

from .checks import UNAVAILABLE_NODES, template_violations
from .exceptions import TemplateViolation
from .filters import BUILTIN_FILTERS
from .limits import (
    MAX_RANGE,
    RenderBudget,
    budget_now,
    check_binop,
    check_method_call,
    check_str_format,
    check_value_size,
    current_budget,
    shallow_size,
)
from .opaque import SecretValue, refuse_secret

#: How many compiled templates are kept (least recently used are dropped).
COMPILE_CACHE_SIZE = 1024
#: Templates longer than this are compiled every time, not kept in the cache.
MAX_CACHED_CHARS = 20_000
#: Longest template source accepted at all.
MAX_TEMPLATE_CHARS = 200_000
#: The variable a single-expression input is assigned to when rendered natively.
RESULT_NAME = "result"

# Filters and tests that compare or hash whole values in one C call: their inputs are
# measured first, so ``[[1] * 100000] * 10000 | sort`` is refused instead of running for
# minutes.
_DEEP_FILTERS = frozenset({"sort", "dictsort", "unique", "min", "max", "groupby"})
_DEEP_TESTS = frozenset(
    {"eq", "equalto", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">="}
    | {"greaterthan", "lessthan", "in"}
)
# Plain data has no attributes a template needs, only methods (which are called).
_DATA_TYPES = (str, bytes, list, tuple, set, frozenset, int, float)
# Exact types looked up on every item access: a set test before the slower ABC check.
_PLAIN_TYPES = frozenset({dict, *_DATA_TYPES, bool})


def _is_data(obj: Any) -> bool:
    return type(obj) in _PLAIN_TYPES or isinstance(obj, (Mapping, *_DATA_TYPES))


class _BudgetedCodeGenerator(CodeGenerator):
    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        for statement in node.find_all(tuple(UNAVAILABLE_NODES)):
            keyword = UNAVAILABLE_NODES[type(statement)]
            self.fail(f"{{% {keyword} %}} is not available in step templates", statement.lineno)
        # Custom node types are forbidden, so the loop guard is an ordinary call:
        # ``for x in environment.guarded_iter(<iterable>)``.
        for loop in node.find_all(nodes.For):
            guard = nodes.EnvironmentAttribute("guarded_iter", lineno=loop.iter.lineno)
            loop.iter = nodes.Call(guard, [loop.iter], [], None, None, lineno=loop.iter.lineno)
        # ``obj.name(…)`` looks ``name`` up as a method (``environment.getmethod``), so a
        # payload without an ``items`` key still has ``payload.items()``.
        for call in list(node.find_all(nodes.Call)):
            target = call.node
            if isinstance(target, nodes.Getattr) and target.ctx == "load":
                lookup = nodes.EnvironmentAttribute("getmethod", lineno=target.lineno)
                name = nodes.Const(target.attr, lineno=target.lineno)
                call.node = nodes.Call(
                    lookup, [target.node, name], [], None, None, lineno=target.lineno
                )
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # ``a ~ b``: measured before joining, so doubling a string in a few ``set``s cannot
        # allocate gigabytes. (Autoescaping, which would need Markup joins, is never on.)
        self.write("environment.guarded_str_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        # Jinja writes slices as plain Python (``x[1:]``); route them through
        # ``environment.getitem`` too, so each copy is charged to the memory budget.
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.getitem(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for index, bound in enumerate((node.arg.start, node.arg.stop, node.arg.step)):
            if index:
                self.write(", ")
            if bound is None:
                self.write("None")
            else:
                self.visit(bound, frame)
        self.write("))")

    def visit_Compare(self, node: nodes.Compare, frame: Frame) -> None:
        # ``a == b``, ``a in b``, …: each operand is measured first (``environment.compared``)
        # because comparing two deep values is one long C call.
        self.write("(environment.compared(")
        self.visit(node.expr, frame)
        self.write(")")
        for operand in node.ops:
            self.visit(operand, frame)
        self.write(")")

    def visit_Operand(self, node: nodes.Operand, frame: Frame) -> None:
        self.write(f" {operators[node.op]} environment.compared(")
        self.visit(node.expr, frame)
        self.write(")")


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


def _check_time() -> None:
    budget = budget_now()
    if budget is not None:
        budget.check_time()


def _deadline_iter(iterable: Iterable[Any], budget: RenderBudget) -> Iterator[Any]:
    for item in iterable:
        budget.check_time()
        yield item


@pass_eval_context
def _finalize(eval_ctx: EvalContext, value: Any) -> Any:
    # Runs on every ``{{ … }}`` before ``str()``: a small value can stand for a huge text
    # (a list nested in itself forty times), so measure first. ``none`` renders as "".
    # It takes the evaluation context only so that Jinja cannot call it at compile time.
    if value is None:
        return ""
    if type(value) is SecretValue:
        return value._owner.placeholder(value)
    budget = current_budget()
    if budget is not None and not isinstance(value, int | float):
        check_value_size(value, budget, "the rendered value")
    return value


def _refuse_secret_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str) -> None:
    for arg in (*args, *kwargs.values()):
        if type(arg) is SecretValue:
            refuse_secret(arg._name, what)


def _budgeted(kind: str, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (a filter or test) with the secret, time, work and memory checks around it."""
    if getattr(func, "_automate_budgeted", False):
        return func
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    deep = name in (_DEEP_FILTERS if kind == "filter" else _DEEP_TESTS)
    refusal = f"is passed to the {kind} '{name}'"
    what = f"the {kind} '{name}'"

    @functools.wraps(func)
    def budgeted(*args: Any, **kwargs: Any) -> Any:
        _refuse_secret_arguments(args, kwargs, refusal)
        budget = current_budget()
        if budget is None:
            return func(*args, **kwargs)
        budget.check_time()
        if deep:
            for arg in (*args[skip:], *kwargs.values()):
                budget.check_work(arg, what)
        result = func(*args, **kwargs)
        budget.charge(shallow_size(result), what)
        return result

    budgeted._automate_budgeted = True  # type: ignore[attr-defined]
    return budgeted


class _BudgetedTable(dict[str, Callable[..., Any]]):
    """``environment.filters``/``tests``: every function put in is wrapped by ``_budgeted``,
    including filters apps register later."""

    def __init__(self, kind: str, table: Mapping[str, Any]) -> None:
        super().__init__()
        self.kind = kind
        self.update(table)

    def __setitem__(self, name: str, func: Callable[..., Any]) -> None:
        super().__setitem__(name, _budgeted(self.kind, name, func))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, func in dict(*args, **kwargs).items():
            self[name] = func

    def setdefault(self, name: str, func: Any = None) -> Any:
        if name not in self:
            self[name] = func
        return self[name]


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
            optimized=False,
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
        self.filters = _BudgetedTable("filter", self.filters)
        self.tests = _BudgetedTable("test", self.tests)  # type: ignore[assignment]

    def guarded_iter(self, iterable: Iterable[Any]) -> Iterable[Any]:
        """Wrap a loop's iterable so every iteration checks the render deadline."""
        if type(iterable) is SecretValue:
            refuse_secret(iterable._name, "is looped over")
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
        text = "".join(str(value) for value in values)
        if budget is not None:
            budget.charge(shallow_size(text), "the joined text")
        return text

    def compared(self, value: Any) -> Any:
        """An operand of ``==``, ``<``, ``in``, …, refused when comparing it would walk a
        value too large for the render's budget."""
        budget = current_budget()
        if budget is not None:
            budget.check_work(value, "a comparison")
        return value

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
        budget.charge(size, "a block of rendered text")
        return "".join(collected)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Run ``* ** + %`` after checking the result cannot blow the budget."""
        budget = current_budget()
        if budget is None:
            return super().call_binop(context, operator, left, right)
        check_binop(operator, left, right, budget)
        result = super().call_binop(context, operator, left, right)
        budget.charge(shallow_size(result), f"'{operator}'")
        return result

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Call from a template, checking the deadline and refusing amplifying calls."""
        if type(obj) is SecretValue:
            refuse_secret(obj._name, "is called")
        _refuse_secret_arguments(args, kwargs, "is passed to a call")
        budget = current_budget()
        if budget is None:
            return super().call(context, obj, *args, **kwargs)
        budget.check_time()
        args = check_method_call(obj, args, kwargs, budget)
        result = super().call(context, obj, *args, **kwargs)
        if getattr(obj, "__func__", None) is not AutomateEnvironment.getmethod:
            budget.charge(shallow_size(result), "a call")
        return result

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``obj.attribute`` from a template: a mapping's key (undefined when missing, never
        a method of ``dict``); no methods of plain data unless called (``getmethod``)."""
        _check_time()
        if type(obj) is SecretValue:
            refuse_secret(obj._name, f"is used with '.{attribute}'")
        if type(obj) is dict or isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (LookupError, TypeError):
                return self._missing(obj, attribute)
        if isinstance(obj, _DATA_TYPES) and not attribute.startswith("_"):
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)  # ``_``-names: the sandbox's security error

    def _missing(self, obj: Any, name: Any) -> Any:
        """The undefined value of a missing key; on a truncation marker (a step output
        stored capped, ``automate.payload_caps``) its error says the output was cut."""
        truncation = truncation_of(obj)
        if truncation is None:
            return self.undefined(obj=obj, name=name)
        return self.undefined(
            hint=(
                f"{name!r} is not available: this value was truncated when it was stored "
                f"({truncation.original_bytes:,} bytes, over the limit of "
                f"{truncation.limit_bytes:,}, RETENTION['max_payload_bytes']); only a "
                "preview of it was kept"
            ),
            obj=obj,
            name=name,
        )

    def getmethod(self, obj: Any, name: str) -> Any:
        """``obj.name`` in ``obj.name(…)``: a mapping's key when it has one (data wins),
        else the (sandbox-checked) method, so ``payload.items()`` works without an
        ``items`` key."""
        _check_time()
        if type(obj) is SecretValue:
            refuse_secret(obj._name, f"is used with '.{name}()'")
        if isinstance(obj, Mapping):
            try:
                if name in obj:
                    return obj[name]
            except TypeError:
                pass
        return super().getattr(obj, name)

    def getitem(self, obj: Any, argument: str | Any) -> Any:
        """``obj[argument]`` from a template: the item, or undefined. Data never falls back
        to its attributes (``payload['items']`` is the key or undefined)."""
        budget = budget_now()
        if budget is not None:
            budget.check_time()
        if type(obj) is SecretValue:
            refuse_secret(obj._name, "is indexed or sliced")
        if _is_data(obj):
            data: Any = obj
            try:
                result = data[argument]
            except (LookupError, TypeError):
                return self._missing(obj, argument)
        else:
            result = super().getitem(obj, argument)
        if budget is not None and type(argument) is slice:
            budget.charge(shallow_size(result), "a slice")
        return result

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


def parse_checked(source: str) -> nodes.Template:
    """Parse ``source`` and run the static checks (secrets, unavailable tags, size).

    Raises ``TemplateSyntaxError`` or :class:`TemplateViolation` (with the line).
    """
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateViolation(
            f"the template is {len(source):,} characters long; the limit is {MAX_TEMPLATE_CHARS:,}",
            kind="limit",
        )
    try:
        tree = environment.parse(source)
    except RecursionError:
        raise TemplateViolation("the template is nested too deeply", kind="limit") from None
    problems = template_violations(tree)
    if problems:
        raise problems[0]
    return tree


def _generate(tree: nodes.Template) -> Template:
    try:
        return environment.from_string(tree)
    except (RecursionError, MemoryError, SyntaxError):
        # Python's own compiler refuses code nested past ~100 levels ("too many nested
        # parentheses", "too many levels of indentation"): the template is too deep.
        raise TemplateViolation("the template is nested too deeply", kind="limit") from None


def _compile_text(source: str) -> Template:
    return _generate(parse_checked(source))


def _compile_input(source: str) -> tuple[bool, Template]:
    tree = parse_checked(source)
    expression = single_expression(tree)
    if expression is None:
        return False, _generate(tree)
    assign = nodes.Assign(nodes.Name(RESULT_NAME, "store"), expression, lineno=expression.lineno)
    wrapper = nodes.Template([assign], lineno=1)
    wrapper.set_environment(environment)
    return True, _generate(wrapper)


_cached_compile_text = functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)(_compile_text)
_cached_compile_input = functools.lru_cache(maxsize=COMPILE_CACHE_SIZE)(_compile_input)


def compile_text(source: str) -> Template:
    """Compile ``source`` as a text template (cached unless it is long).

    Nothing is evaluated at compile time, so compiling costs time and memory in proportion
    to the source only.
    """
    if len(source) > MAX_CACHED_CHARS:
        return _compile_text(source)
    return _cached_compile_text(source)


def compile_input(source: str) -> tuple[bool, Template]:
    """Compile a step-input string (cached unless it is long): ``(True, template)`` when it
    is one expression (the template then assigns its value to ``RESULT_NAME``), else
    ``(False, text template)``.
    """
    if len(source) > MAX_CACHED_CHARS:
        return _compile_input(source)
    return _cached_compile_input(source)


def clear_compile_cache() -> None:
    """Forget compiled templates (after the set of filters changed)."""
    _cached_compile_text.cache_clear()
    _cached_compile_input.cache_clear()
