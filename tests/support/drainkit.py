"""Seed and inspect a scratch database for the multi-process worker tests.

    python -m tests.support.drainkit seed --events 1000 --fanout 5 [--sleep 0.01]
    python -m tests.support.drainkit status

Run with DJANGO_SETTINGS_MODULE=config.settings_test, AUTOMATE_TEST_DATABASE_URL pointing
at the scratch database and AUTOMATE_WORKER_MODE=process (so nothing runs inline).
"""

from __future__ import annotations

import argparse
import json
import sys

import django


def seed(events: int, fanout: int, sleep: float) -> None:
    from django.db import transaction

    from automate.runtime import emit_event
    from automate.workflows.services import create_workflow, publish_version

    nodes = [{"id": "trigger", "type": "trigger"}] + [
        {
            "id": f"sink{i}",
            "type": "action",
            "connector": "testkit",
            "action": "sink",
            "inputs": {"sleep": sleep} if sleep else {},
        }
        for i in range(fanout)
    ]
    edges = [{"source": "trigger", "target": f"sink{i}"} for i in range(fanout)]
    workflow = create_workflow(
        name="Drain",
        slug="drain",
        trigger_spec={"event_type": "drain.tick"},
        graph={"nodes": nodes, "edges": edges},
    )
    publish_version(workflow=workflow)
    for start in range(0, events, 200):
        with transaction.atomic():
            for i in range(start, min(events, start + 200)):
                emit_event("drain.tick", {"i": i})


def status() -> dict[str, object]:
    from django.db.models import Count

    from automate.execution.models import ExecutionRun, OutboxJob

    return {
        "runs": dict(ExecutionRun.objects.values_list("status").annotate(n=Count("id"))),
        "jobs": dict(OutboxJob.objects.values_list("status").annotate(n=Count("id"))),
        "step_jobs": OutboxJob.objects.filter(kind="step").count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    seed_parser = sub.add_parser("seed")
    seed_parser.add_argument("--events", type=int, required=True)
    seed_parser.add_argument("--fanout", type=int, default=5)
    seed_parser.add_argument("--sleep", type=float, default=0)
    sub.add_parser("status")
    args = parser.parse_args()
    django.setup()
    if args.command == "seed":
        seed(args.events, args.fanout, args.sleep)
    else:
        json.dump(status(), sys.stdout)


if __name__ == "__main__":
    main()
