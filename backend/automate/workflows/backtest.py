"""Backtest a rule: evaluate it over the last events of a workflow's trigger type.

Shared by the studio's rule panel and ``POST /api/v1/workflows/{id}/rules/backtest/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automate.events.models import Event
from automate.rules import compile_rule
from automate.workflows.models import Workflow
from automate.workflows.queries import trigger_events

__all__ = ["DEFAULT_BACKTEST", "MAX_BACKTEST", "BacktestResult", "backtest"]

MAX_BACKTEST = 5000
DEFAULT_BACKTEST = 500
_EXAMPLES = 5


@dataclass
class BacktestResult:
    total: int
    matched: int
    matches: list[Event] = field(default_factory=list)
    misses: list[Event] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return round(100 * self.matched / self.total, 1) if self.total else 0.0


def backtest(
    *, workflow: Workflow, rule_spec: Any, limit: int = DEFAULT_BACKTEST
) -> BacktestResult:
    """Evaluate ``rule_spec`` over the last ``limit`` events of the trigger's type."""
    rule = compile_rule(rule_spec or None)
    limit = max(1, min(int(limit), MAX_BACKTEST))
    result = BacktestResult(total=0, matched=0)
    for event in trigger_events(workflow)[:limit].iterator(chunk_size=500):
        result.total += 1
        if rule.evaluate(event.payload):
            result.matched += 1
            if len(result.matches) < _EXAMPLES:
                result.matches.append(event)
        elif len(result.misses) < _EXAMPLES:
            result.misses.append(event)
    return result
