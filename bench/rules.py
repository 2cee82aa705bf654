"""Rules engine throughput: automate.rules (compiled) next to panzi-json-logic.

Run: .venv/bin/python bench/rules.py [--seconds 0.5]

For six realistic workflow rules it prints evaluations per second of a CompiledRule, of
``automate.rules.apply`` (which also canonicalises the rule to find it in the cache), and
of panzi-json-logic's interpreter on the same rule and data, then the compiled/panzi
ratio. It prints figures only; it never asserts a speed. Where the two engines disagree
on a result the row says so (a semantics difference, not a benchmark failure).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from json_logic import jsonLogic

from automate.rules import apply, compile_rule

INVOICE = {
    "type": "invoice.created",
    "invoice": {"number": "INV-2024-0042", "amount": 1840.5, "currency": "eur"},
    "customer": {
        "name": "Ada Lovelace",
        "email": "ada@acme.com",
        "tier": "gold",
        "country": "GB",
        "lifetime_value": 12500,
        "phone": None,
    },
    "priority": 2,
    "lines": [
        {"sku": "WIDGET-1", "qty": 12, "price": 19.99},
        {"sku": "GADGET-7", "qty": 1, "price": 899.0},
        {"sku": "SERVICE", "qty": 3, "price": 150.0},
        {"sku": "SHIPPING", "qty": 1, "price": 12.5},
    ],
}

RULES: dict[str, Any] = {
    "big invoice in a known currency": {
        "and": [
            {">": [{"var": "invoice.amount"}, 1000]},
            {"in": [{"var": "invoice.currency"}, ["usd", "eur", "gbp"]]},
        ]
    },
    "nested and/or with missing fields": {
        "or": [
            {
                "and": [
                    {"==": [{"var": "customer.tier"}, "platinum"]},
                    {"!": {"missing": ["customer.email", "customer.phone"]}},
                ]
            },
            {
                "and": [
                    {">=": [{"var": ["customer.lifetime_value", 0]}, 10000]},
                    {"!=": [{"var": "customer.country"}, "US"]},
                    {"!!": {"var": "customer.email"}},
                ]
            },
        ]
    },
    "string ops": {
        "and": [
            {"in": ["@acme.com", {"var": "customer.email"}]},
            {"==": [{"substr": [{"var": "invoice.number"}, 0, 4]}, "INV-"]},
            {
                "!=": [
                    {"cat": [{"var": "invoice.currency"}, "-", {"var": "customer.country"}]},
                    "usd-US",
                ]
            },
        ]
    },
    "some/all over line items": {
        "and": [
            {"some": [{"var": "lines"}, {">": [{"var": "qty"}, 10]}]},
            {"all": [{"var": "lines"}, {">": [{"var": "price"}, 0]}]},
            {"none": [{"var": "lines"}, {"==": [{"var": "sku"}, "BANNED"]}]},
        ]
    },
    "reduce: order total over 500": {
        ">": [
            {
                "reduce": [
                    {"var": "lines"},
                    {
                        "+": [
                            {"var": "accumulator"},
                            {"*": [{"var": "current.qty"}, {"var": "current.price"}]},
                        ]
                    },
                    0,
                ]
            },
            500,
        ]
    },
    "if / missing_some / between": {
        "if": [
            {"missing_some": [1, ["customer.phone", "customer.email"]]},
            False,
            {"<=": [1, {"var": "priority"}, 3]},
        ]
    },
}


def rate(run: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``run``, timed in batches for at least ``seconds``."""
    batch, calls, elapsed = 100, 0, 0.0
    start = time.perf_counter()
    while elapsed < seconds:
        for _ in range(batch):
            run()
        calls += batch
        elapsed = time.perf_counter() - start
        batch = min(batch * 2, 20_000)
    return calls / elapsed


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    seconds = parser.parse_args().seconds

    header = f"{'rule':<36}{'compiled/s':>13}{'apply()/s':>13}{'panzi/s':>13}{'ratio':>8}"
    print(f"Python {sys.version.split()[0]}; {seconds}s per measurement")
    print(header)
    print("-" * len(header))
    ratios = []
    for name, rule in RULES.items():
        compiled = compile_rule(rule)
        ours, theirs = compiled.apply(INVOICE), jsonLogic(rule, INVOICE)
        ours_rate = rate(lambda c=compiled: c.apply(INVOICE), seconds)
        apply_rate = rate(lambda r=rule: apply(r, INVOICE), seconds)
        panzi_rate = rate(lambda r=rule: jsonLogic(r, INVOICE), seconds)
        ratio = ours_rate / panzi_rate
        ratios.append(ratio)
        note = "" if ours == theirs else f"  (results differ: {ours!r} vs {theirs!r})"
        print(
            f"{name:<36}{ours_rate:>13,.0f}{apply_rate:>13,.0f}{panzi_rate:>13,.0f}"
            f"{ratio:>7.1f}x{note}"
        )
    geometric_mean = 1.0
    for ratio in ratios:
        geometric_mean *= ratio ** (1 / len(ratios))
    print("-" * len(header))
    print(f"compiled vs panzi-json-logic, geometric mean: {geometric_mean:.1f}x faster")


if __name__ == "__main__":
    main()
