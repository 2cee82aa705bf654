"""Reading follow-up edits of the current draft: remove a step, add a retry, change a
channel, address, URL or wait, put a wait before or after a step."""

from __future__ import annotations

import re
from typing import Any, Final

from automate.copilot import offline_graph as g
from automate.copilot.offline_clauses import Clause
from automate.copilot.offline_fields import CENTS_KEYS, last
from automate.copilot.offline_phrases import (
    AMOUNT,
    NUMBER_WORDS,
    amount_of,
    channels,
    count_of,
    duration_words,
    durations,
    emails,
    urls,
)
from automate.copilot.offline_rules import var_of
from automate.copilot.offline_state import DraftState
from automate.workflows.graph import MAX_DELAY_SECONDS, MAX_RETRIES

REMOVE: Final = re.compile(
    r"^\s*(?:please\s+)?(?:remove|delete|get rid of|take out|take away|no longer|stop|"
    r"drop\s+(?=(?:the|that|this|all|every)\b))\b"
)
THRESHOLD: Final = re.compile(
    r"^\s*(?:please\s+)?(?:make|change|set|raise|lower|increase|decrease|update)\s+"
    r"(?:it|that|the\s+(?:amount|threshold|limit|minimum|maximum|total|value))\s+"
    rf"(?:to\s+)?(?P<amount>{AMOUNT.pattern})\s*$"
)
RETRY: Final = re.compile(r"\bretr(?:y|ies|ied|ying)\b")
CHANGE: Final = re.compile(
    r"^\s*(?:please\s+)?(?:change|set|switch|update|move|rename|replace)\b|\binstead\b"
)
RELATIVE: Final = re.compile(r"\b(before|after)\s+(?P<ref>.+)$")
CONDITION_WORDS: Final = re.compile(r"\b(?:conditions?|filters?|rules?|checks?|limits?)\b")
RETRY_COUNT: Final = re.compile(
    rf"(?:\bup to\s+|\bmax(?:imum)?\s+)?\b(?P<n>\d+|{'|'.join(NUMBER_WORDS)})\s*"
    r"(?:times|x|retries|attempts|tries)\b|\b(?P<word>once|twice|thrice)\b"
)
BACKOFF: Final = {"backoff_base_seconds": 2, "backoff_max_seconds": 60}


class EditReader:
    """Applies the edit a clause asks for; ``read`` says whether the clause was an edit."""

    def __init__(self, state: DraftState) -> None:
        self.state = state
        self.retried: list[str] = []

    def read(self, clause: Clause) -> bool:
        """Apply the edit in ``clause``; ``True`` when it was one (understood or not)."""
        text = clause.masked()
        if REMOVE.match(text):
            self._remove(clause, text)
            return True
        if RETRY.search(text):
            self._retry(clause, text)
            return True
        count = RETRY_COUNT.fullmatch(text.strip())
        if count and self.retried:
            self._set_retries(self.retried, _retries(count))
            clause.use_all()
            return True
        if durations(text) and self._wait_relative(clause, text):
            return True
        threshold = THRESHOLD.match(text)
        if threshold and self._threshold(threshold):
            clause.use_all()
            return True
        if CHANGE.search(text):
            return self._change(clause, text)
        return False

    def _targets(self, words: str, kinds: tuple[str, ...]) -> list[str]:
        found = [
            i for i in g.find_steps(self.state.graph, words) if self._kind(i) in kinds or not kinds
        ]
        if found:
            return found
        return [
            str(n["id"]) for n in g.nodes(self.state.graph) if self._kind(str(n["id"])) in kinds
        ]

    def _kind(self, node_id: str) -> str:
        node = g.node(self.state.graph, node_id) or {}
        return str(node.get("connector") if node.get("type") == "action" else node.get("type"))

    def _threshold(self, match: re.Match[str]) -> bool:
        """ "make that 500": the number of the rule's first comparison changes."""
        state = self.state
        rule = state.definition["rule_spec"]
        parts = rule["and"] if list(rule) == ["and"] and isinstance(rule["and"], list) else [rule]
        for part in parts:
            op = next(iter(part), None) if isinstance(part, dict) else None
            args = part.get(op) if op in (">", ">=", "<", "<=", "==") else None
            if not (isinstance(args, list) and len(args) == 2 and isinstance(args[1], int | float)):
                continue
            var = var_of(part) or ""
            amount = amount_of(match)
            value = amount.value * (100 if last(var) in CENTS_KEYS else 1)
            args[1] = int(value) if float(value).is_integer() else value
            state.conditions.append(f"`{var}` {op} {args[1]}")
            if last(var) in CENTS_KEYS:
                state.say(f"{amount.value} is {args[1]} in cents.")
            return True
        return False

    def _remove(self, clause: Clause, text: str) -> None:
        state = self.state
        rest = text[REMOVE.match(text).end() :]  # type: ignore[union-attr]
        ids = g.find_steps(state.graph, rest)
        if not ids and CONDITION_WORDS.search(rest) and state.definition["rule_spec"]:
            self._remove_conditions(rest)
            clause.use_all()
            return
        for node_id in ids:
            g.remove(state.graph, node_id)
            state.explanations[node_id] = (
                "Removed; the steps before it now lead to the ones after it."
            )
            state.cursor = "" if state.cursor == node_id else state.cursor
        if ids:
            clause.use_all()

    def _remove_conditions(self, words: str) -> None:
        state = self.state
        rule = state.definition["rule_spec"]
        parts = rule["and"] if list(rule) == ["and"] and isinstance(rule["and"], list) else [rule]
        if re.search(r"\bcurrency|eur|usd|gbp\b", words):
            kept = [p for p in parts if "currency" not in (var_of(p) or "")]
        elif re.search(r"\bamount|total|price\b", words):
            kept = [p for p in parts if "currency" in (var_of(p) or "")]
        else:
            kept = []
        state.definition["rule_spec"] = (
            {} if not kept else kept[0] if len(kept) == 1 else {"and": kept}
        )
        trigger = state.trigger_id()
        state.explanations[trigger] = f"Starts on each `{state.event_type}` event" + (
            " (fewer conditions now)." if kept else ", with no condition now."
        )

    def _retry(self, clause: Clause, text: str) -> None:
        state = self.state
        count = RETRY_COUNT.search(text)
        retries = _retries(count) if count else 3
        rest = RETRY.sub(" ", text)
        ids = g.find_steps(state.graph, rest)
        if not ids:
            named = any(
                re.search(rf"\b{re.escape(w)}s?\b", rest)
                for ws in g.STEP_WORDS.values()
                for w in ws
            )
            if named:
                return  # it names a step the draft does not have
            ids = [str(n["id"]) for n in g.nodes(state.graph) if n.get("type") == "action"]
            if ids:
                state.say("No step was named, so every action step retries.")
        self._set_retries(ids, retries)
        if ids:
            clause.use_all()

    def _set_retries(self, ids: list[str], retries: int) -> None:
        for node_id in ids:
            node = g.node(self.state.graph, node_id)
            if node is None or node.get("type") != "action":
                continue
            node["retry"] = {"max_retries": retries, **BACKOFF}
            self.state.explanations[node_id] = (
                f"Retries up to {retries} time{'s' if retries != 1 else ''} when it fails "
                "(2 s apart at first, then longer, at most 60 s)."
            )
        self.retried = ids

    def _wait_relative(self, clause: Clause, text: str) -> bool:
        state = self.state
        relative = RELATIVE.search(text)
        if relative is None:
            return False
        targets = g.find_steps(state.graph, relative["ref"])
        targets = [t for t in targets if self._kind(t) != "delay"]
        if not targets:
            return False
        seconds = durations(text)[0].seconds
        if seconds > MAX_DELAY_SECONDS:
            return False
        words = duration_words(seconds)
        target = targets[0]
        neighbour = (
            g.incoming(state.graph, target)
            if relative.group(1) == "before"
            else g.outgoing(state.graph, target)
        )
        for edge in neighbour:
            other = g.node(
                state.graph, edge["source" if relative.group(1) == "before" else "target"]
            )
            if other is not None and other.get("type") == "delay":
                other["seconds"], other["label"] = seconds, f"Wait {words}"
                state.explanations[str(other["id"])] = f"Now waits {words}."
                clause.use_all()
                return True
        node: dict[str, Any] = {
            "id": g.unique_id(state.graph, "wait_" + words.replace(" ", "_")),
            "type": "delay",
            "label": f"Wait {words}",
            "seconds": seconds,
        }
        if relative.group(1) == "before":
            g.insert_before(state.graph, node, before=target)
        else:
            g.insert_after(state.graph, node, after=target)
        state.added.append(node["id"])
        state.explanations[node["id"]] = f"Waits {words} {relative.group(1)} `{target}`."
        clause.use_all()
        return True

    def _change(self, clause: Clause, text: str) -> bool:
        state = self.state
        changed = False
        for value, span, name, kinds in self._new_values(clause, text):
            targets = self._targets(text, kinds)
            if not targets:
                continue
            target = targets[0]
            node = g.node(state.graph, target)
            assert node is not None
            if name == "seconds":
                node["seconds"], node["label"] = value, f"Wait {duration_words(value)}"
                state.explanations[target] = f"Now waits {duration_words(value)}."
            else:
                node.setdefault("inputs", {})[name] = value
                shown = ", ".join(value) if isinstance(value, list) else value
                state.explanations[target] = f"Now uses {name} {shown}."
                if name == "channel":
                    node["label"] = f"Post to {value}"
                elif name == "to":
                    node["label"] = f"Email {shown}"
            if len(targets) > 1:
                state.say(f"Several steps could be meant; I changed `{target}`.")
            clause.use(span)
            changed = True
        if changed:
            clause.use_all()
        return changed

    def _new_values(
        self, clause: Clause, text: str
    ) -> list[tuple[Any, tuple[int, int], str, tuple[str, ...]]]:
        found: list[tuple[Any, tuple[int, int], str, tuple[str, ...]]] = []
        for channel, span in channels(text)[:1]:
            found.append((channel, span, "channel", ("slack",)))
        addresses = emails(text)
        if addresses:
            to: Any = addresses[0][0] if len(addresses) == 1 else [a for a, _s in addresses]
            found.append((to, addresses[0][1], "to", ("email",)))
        for url, span in urls(clause.text)[:1]:
            found.append((url, span, "url", ("http", "webhook")))
        for duration in durations(text)[:1]:
            if duration.seconds <= MAX_DELAY_SECONDS:
                found.append((duration.seconds, duration.span, "seconds", ("delay",)))
        return found


def _retries(match: re.Match[str]) -> int:
    if match["word"]:
        return {"once": 1, "twice": 2, "thrice": 3}[match["word"]]
    return min(int(count_of(match["n"])), MAX_RETRIES)
