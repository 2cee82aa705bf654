"""How often the copilot turns a sentence into a valid and correct draft. Prints; asserts nothing.

    .venv/bin/python bench/copilot.py [--verbose]

Sets up the standalone site (``config.settings``, development mode, as ``make run``) on a
scratch SQLite database in a temporary directory, loads the demo (``automate_demo``: the
``invoice.paid`` events, ``demo_crm.Customer``, the ``SLACK_TOKEN`` secret) and a few
``order.created`` / ``user.signed_up`` events, then asks ``automate.copilot.propose`` every
turn of every case in ``bench/copilot_cases.py`` (``CASES``, which the offline drafter was
tuned on, and ``HELD_OUT``, written afterwards and not tuned on) (a follow-up starts from the previous
turn's proposal). A turn counts when the proposal is complete (it passes the publish
checks) and has the expected trigger, rule and steps.

It runs once with the offline drafter (``COPILOT.base_url`` empty) and, when a model is
configured (``DJANGO_AUTOMATE["COPILOT"]["base_url"]``, e.g. from
``AUTOMATE_COPILOT_BASE_URL``), once more against that model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def setup_django(workdir: str) -> None:
    """Django on a scratch SQLite database, development settings, migrated, demo loaded."""
    sys.path[:0] = [str(ROOT / "backend"), str(ROOT)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["AUTOMATE_VAR_DIR"] = workdir
    os.environ.setdefault("DJANGO_DEBUG", "1")
    os.environ.setdefault("AUTOMATE_LOG_LEVEL", "ERROR")
    import logging

    import django
    from django.core.management import call_command

    django.setup()
    logging.disable(logging.WARNING)
    call_command("migrate", verbosity=0)
    call_command("automate_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    from automate.events.services import record_event

    samples = {
        "order.created": {"id": "ord_1", "total": 120.5, "currency": "EUR", "status": "new",
                          "customer": {"email": "ada@example.com", "name": "Ada"}},
        "user.signed_up": {"id": "usr_1", "email": "new@example.com", "name": "Grace"},
    }  # fmt: skip
    for event_type, payload in samples.items():
        record_event(
            type=event_type, source="app", payload=payload, dedupe_key=f"bench-{event_type}"
        )


def _var_matches(rule: Any, var: str, op: str, value: Any) -> bool:
    if isinstance(rule, dict):
        for key, args in rule.items():
            if key == op and isinstance(args, list):
                names = [a.get("var") for a in args if isinstance(a, dict) and "var" in a]
                named = any(isinstance(n, str) and n.endswith(var) for n in names)
                if named and (value is None or value in args):
                    return True
            for arg in args if isinstance(args, list) else [args]:
                if _var_matches(arg, var, op, value):
                    return True
    return False


def _steps(graph: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-trigger nodes in run order (breadth first from the trigger)."""
    nodes = {n["id"]: n for n in graph.get("nodes", [])}
    start = next((i for i, n in nodes.items() if n.get("type") == "trigger"), None)
    order, queue, seen = [], deque([start]), {start}
    while queue:
        current = queue.popleft()
        if current != start:
            order.append(nodes[current])
        for edge in graph.get("edges", []):
            if edge["source"] == current and edge["target"] not in seen:
                seen.add(edge["target"])
                queue.append(edge["target"])
    return order


def _step_matches(node: dict[str, Any], expected: dict[str, Any]) -> bool:
    inputs = node.get("inputs") or {}
    for key, want in expected.items():
        wants = want if isinstance(want, tuple) else (want,)
        if key == "type":
            got = node.get("type")
        elif key in ("connector", "action", "seconds"):
            got = node.get(key)
        elif key == "retries":
            got = (node.get("retry") or {}).get("max_retries")
        else:
            got = inputs.get(key)
        if got not in wants:
            return False
    return node.get("type") == expected.get("type", "action")


def mistakes(proposal: Any, before: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What is wrong with ``proposal`` for ``expected`` (empty: valid and correct)."""
    definition = proposal.definition
    if expected.get("unchanged"):
        wrong = [] if definition == before else ["the draft changed"]
        return wrong + ([] if proposal.not_understood else ["nothing listed as not understood"])
    wrong = [] if proposal.complete else [f"not valid: {proposal.problems}"]
    trigger = definition["trigger_spec"]
    wanted = expected.get("event_type")
    if wanted and trigger.get("event_type") not in (
        wanted if isinstance(wanted, tuple) else (wanted,)
    ):
        wrong.append(f"event type {trigger.get('event_type')!r}")
    if (
        "schedule" in expected
        and (trigger.get("schedule") or {}).get("cron") != expected["schedule"]
    ):
        wrong.append(f"schedule {trigger.get('schedule')!r}")
    for var, op, value in expected.get("rule", []):
        if not _var_matches(definition["rule_spec"], var, op, value):
            wrong.append(f"rule lacks {var} {op} {value}: {definition['rule_spec']}")
    if expected.get("no_rule") and definition["rule_spec"]:
        wrong.append(f"unexpected rule {definition['rule_spec']}")
    if "steps" in expected:
        steps = _steps(definition["graph"])
        if len(steps) != len(expected["steps"]) or not all(
            _step_matches(node, want) for node, want in zip(steps, expected["steps"], strict=False)
        ):
            wrong.append(
                "steps "
                + str(
                    [
                        {k: n.get(k) for k in ("id", "connector", "seconds", "retry") if k in n}
                        for n in steps
                    ]
                )
            )
    return wrong


def run(label: str, copilot: dict[str, Any], verbose: bool, cases: Any) -> None:
    from django.conf import settings
    from django.test import override_settings

    from automate.copilot.service import propose
    from automate.tenants.services import get_default_tenant

    tenant = get_default_tenant()
    automate = {**settings.DJANGO_AUTOMATE, "COPILOT": copilot}
    good = total = 0
    with override_settings(DJANGO_AUTOMATE=automate):
        for name, turns in cases:
            current: dict[str, Any] | None = None
            conversation: list[str] = []
            for prompt, expected in turns:
                total += 1
                proposal = propose(
                    tenant=tenant, prompt=prompt, current=current, conversation=conversation
                )
                wrong = mistakes(proposal, proposal.before, expected)
                good += not wrong
                if verbose or wrong:
                    mark = "ok " if not wrong else "BAD"
                    print(f"  {mark} [{name}] {prompt!r}" + ("" if not wrong else f": {wrong}"))
                current = proposal.definition
                conversation.append(prompt)
    print(f"{label}: {good}/{total} valid and correct ({100 * good / total:.0f} %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as workdir:
        setup_django(workdir)
        from django.conf import settings

        from bench.copilot_cases import CASES, HELD_OUT

        configured = dict((settings.DJANGO_AUTOMATE or {}).get("COPILOT") or {})
        drafters = [("offline drafter", {**configured, "base_url": ""})]
        if configured.get("base_url"):
            model = configured.get("model") or "(default model)"
            drafters.append((f"model {model} at {configured['base_url']}", configured))
        for label, copilot in drafters:
            run(f"{label}, tuned set", copilot, args.verbose, CASES)
            run(f"{label}, held-out set", copilot, args.verbose, HELD_OUT)
        else:
            print("model: not configured (set DJANGO_AUTOMATE['COPILOT']['base_url'] to compare)")


if __name__ == "__main__":
    main()
