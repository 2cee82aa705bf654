"""Reading conditions ("over 1000 EUR", "only for EUR", "where the plan is pro") into the
workflow's rule (JSONLogic on the event payload, ``{"var": "amount"}``), merged with the
rule already there using ``and``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from automate.copilot.offline_clauses import FILLER, Clause
from automate.copilot.offline_events import event_noun
from automate.copilot.offline_fields import AMOUNT_WORDS, amount_key, find_key, pick_key
from automate.copilot.offline_phrases import (
    BETWEEN,
    COMPARISON,
    CURRENCIES,
    CURRENCY_WORDS,
    Amount,
    amount_of,
    operator_of,
)

if TYPE_CHECKING:
    from automate.copilot.offline_state import DraftState

ISO_CODES: Final = "|".join(
    c for c in CURRENCIES if len(c) == 3 and c.isalpha() and c.upper() == CURRENCIES[c]
)
CURRENCY_CONDITION: Final = re.compile(
    rf"\b(?:only\s+(?:for\s+|in\s+)?|(?:paid\s+)?in\s+|for\s+|currency\s+(?:is\s+|=\s*|equals\s+|of\s+)?)"
    rf"(?P<code>{CURRENCY_WORDS})\b(?:\s+only\b)?"
    rf"|\b(?P<bare>{CURRENCY_WORDS})\s+(?:only|payments?|invoices?|orders?)\b"
    rf"|(?<![\w$€£¥])(?P<iso>{ISO_CODES})(?![\w$€£¥])"
)
"""A currency the events must be in: "only for EUR", "in GBP", "USD payments", or an ISO
code on its own ("a GBP invoice": the amounts next to a code are read first)."""
EQUALS: Final = re.compile(
    r"\b(?:(?P<intro>where|whose|with|if|when|only if|only when)\s+)?(?:the\s+|its\s+)?"
    r"(?P<field>[a-z_][a-z0-9_.]*(?:\s+[a-z_][a-z0-9_]*)?)\s+"
    r"(?P<op>is not|isn't|is equal to|is|equals|==|=|!=)\s+"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[a-z0-9_@.\-]+)"
)
_FAMILY: Final = {">": "gt", ">=": "gt", "<": "lt", "<=": "lt", "==": "eq", "in": "eq"}


def var_of(condition: Any) -> str | None:
    """The first ``{"var": ...}`` name in a condition (``None`` when it reads none)."""
    if isinstance(condition, dict):
        if "var" in condition:
            value = condition["var"]
            value = value[0] if isinstance(value, list) and value else value
            return str(value) if isinstance(value, str) else None
        for args in condition.values():
            for arg in args if isinstance(args, list) else [args]:
                found = var_of(arg)
                if found:
                    return found
    return None


def _family(condition: Any) -> str:
    if isinstance(condition, dict) and len(condition) == 1:
        op = str(next(iter(condition)))
        if op in ("<", "<=") and isinstance(condition[op], list) and len(condition[op]) == 3:
            return "between"
        return _FAMILY.get(op, op)
    return ""


def describe(rule: Any) -> str:
    """A rule in words for the trigger's explanation (``"`amount` > 1000 and `currency`
    is EUR"``); ``""`` for a rule it cannot put in words."""
    if not isinstance(rule, dict) or len(rule) != 1:
        return ""
    op, args = next(iter(rule.items()))
    if op == "and" and isinstance(args, list):
        parts = [describe(part) for part in args]
        return " and ".join(parts) if all(parts) else ""
    var = var_of(rule)
    if not var or not isinstance(args, list):
        return ""
    if op == "in" and len(args) == 2 and isinstance(args[1], list) and args[1]:
        return f"`{var}` is {args[1][-1]}"
    if op in ("<", "<=") and len(args) == 3:
        return f"`{var}` is between {args[0]} and {args[2]}"
    if op in (">", ">=", "<", "<=") and len(args) == 2:
        return f"`{var}` {op} {args[1]}"
    if op in ("==", "!=") and len(args) == 2:
        return f"`{var}` {'is' if op == '==' else 'is not'} {args[1]!r}"
    return ""


def merge_condition(rule: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    """``rule`` with ``condition`` added using ``and``; a condition of the same kind on the
    same field ("over 1000" then "over 5000") is replaced instead of piled up."""
    if not rule:
        return condition
    parts = list(rule["and"]) if list(rule) == ["and"] and isinstance(rule["and"], list) else [rule]
    key = (var_of(condition), _family(condition))
    for index, part in enumerate(parts):
        if (var_of(part), _family(part)) == key:
            parts[index] = condition
            break
    else:
        parts.append(condition)
    return parts[0] if len(parts) == 1 else {"and": parts}


class ConditionReader:
    """Reads the conditions of each clause into ``state``'s rule."""

    def __init__(self, state: DraftState) -> None:
        self.state = state
        self.currency_seen = ""

    def add(self, condition: dict[str, Any], words: str) -> None:
        """Merge ``condition`` into the rule; ``words`` describe it for the explanation."""
        rule = self.state.definition["rule_spec"]
        self.state.definition["rule_spec"] = merge_condition(rule, condition)
        self.state.conditions.append(words)

    def read(self, clause: Clause) -> None:
        """Every condition in ``clause``: ranges, comparisons, currencies, field values."""
        text = clause.masked()
        for match in BETWEEN.finditer(text):
            low, high = amount_of(match, "low_"), amount_of(match, "high_")
            var, factor = self._amount_var(match["field"], low.currency or high.currency)
            self.add(
                {"<=": [low.value * factor, {"var": var}, high.value * factor]},
                f"`{var}` is between {low.value * factor} and {high.value * factor}",
            )
            clause.use(match.span())
        text = clause.masked()
        for match in COMPARISON.finditer(text):
            self._comparison(clause, match)
        text = clause.masked()
        for match in CURRENCY_CONDITION.finditer(text):
            self._currency(CURRENCIES[match["code"] or match["bare"] or match["iso"]])
            clause.use(match.span())
        text = clause.masked()
        for match in EQUALS.finditer(text):
            self._equals(clause, match)

    def _amount_var(
        self, word: str | None, currency: str | None, named: bool = True
    ) -> tuple[str, int]:
        """The payload key compared and the factor to apply (100 for cents). ``word`` is
        the field the user named, if any; ``named`` whether it was introduced as a field
        ("the score", "with a quantity"), so a guess is made only then."""
        state = self.state
        noun = event_noun(state.event_type) if state.event_type else ""
        if word and word not in AMOUNT_WORDS and word not in FILLER and word != noun:
            key = find_key(state.keys, word)
            if key:
                return key, 1
            if named and not currency and word not in {"invoice", "order", "payment", "charge"}:
                state.say(
                    f"I assumed the field is `{word}` in the event's data (no sample of it "
                    "has been seen)."
                )
                return word, 1
        found = amount_key(state.keys, state.event_type, state.source)
        if not found.sampled:
            state.say(
                "I assumed the amount is in `amount` (no event of this type has been seen "
                "to check the field's name)."
            )
        elif found.cents:
            state.say(f"I assumed the amount is in `{found.path}`, in cents (Stripe's unit).")
        else:
            state.say(f"I assumed the amount is in `{found.path}`.")
        return found.path, 100 if found.cents else 1

    def _comparison(self, clause: Clause, match: re.Match[str]) -> None:
        op = operator_of(match["op"])
        if match["post"]:
            op = ">=" if re.search(r"more|above|higher", match["post"]) else "<="
        amount: Amount = amount_of(match)
        named = bool(
            match["field"]
            and re.search(
                r"\b(?:the|its|a|an|with|where|whose|if|when|and)\s+$",
                clause.masked()[: match.start("field")],
            )
        )
        var, factor = self._amount_var(match["field"], amount.currency, named)
        value = amount.value * factor
        value = int(value) if float(value).is_integer() else value
        self.add({op: [{"var": var}, value]}, f"`{var}` {op} {value}")
        if factor != 1:
            currency = f" {amount.currency}" if amount.currency else ""
            self.state.say(f"{amount.value}{currency} is {value} in cents.")
        if amount.currency:
            self.currency_seen = amount.currency
        clause.use(match.span())

    def _currency(self, code: str) -> None:
        key = pick_key(self.state.keys, ("currency",), types=("string",))
        if not key:
            key = "currency"
            self.state.say("I assumed the currency is in `currency`.")
        self.add({"in": [{"var": key}, [code.lower(), code]]}, f"`{key}` is {code}")

    def _equals(self, clause: Clause, match: re.Match[str]) -> None:
        field, raw = match["field"], match["value"]
        key = find_key(self.state.keys, field)
        noun = event_noun(self.state.event_type) if self.state.event_type else ""
        last_word = field.split()[-1]
        if not key:
            if not match["intro"] or last_word in FILLER or last_word in AMOUNT_WORDS:
                return
            if last_word == noun or raw.endswith("ed") or raw in FILLER:
                return
            key = field.replace(" ", "_")
            self.state.say(f"I assumed the field is `{key}` (no sample of it has been seen).")
        start, end = match.span("value")
        value: Any = clause.text[start:end].strip("\"'")
        if re.fullmatch(r"-?\d+(?:\.\d+)?", value):
            value = int(value) if "." not in value else float(value)
        elif value.lower() in ("true", "false"):
            value = value.lower() == "true"
        negative = match["op"] in ("is not", "isn't", "!=")
        self.add(
            {"!=" if negative else "==": [{"var": key}, value]},
            f"`{key}` {'is not' if negative else 'is'} {value!r}",
        )
        clause.use(match.span())

    def finish(self) -> None:
        """Say that an amount's currency was not checked, unless a currency rule exists."""
        if self.currency_seen and "currency" not in str(self.state.definition["rule_spec"]):
            self.state.say(
                f'The currency is not checked (only the amount): say "only for '
                f'{self.currency_seen}" to add that.'
            )
