"""Age and add runs in a scratch database (tests of prunes beside running workers).

python -m tests.support.prunekit age --days 40     # every run and event, finished then
python -m tests.support.prunekit emit --events 300 # more drain.tick events (drainkit)
"""

from __future__ import annotations

import argparse
from datetime import timedelta

import django


def age(days: float) -> None:
    from django.utils import timezone

    from automate.events.models import Event
    from automate.execution.models import ExecutionRun

    at = timezone.now() - timedelta(days=days)
    ExecutionRun.objects.update(created_at=at, finished_at=at)
    Event.objects.update(created_at=at)


def emit(events: int) -> None:
    from django.db import transaction

    from automate.runtime import emit_event

    with transaction.atomic():
        for i in range(events):
            emit_event("drain.tick", {"i": i, "new": True})


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("age").add_argument("--days", type=float, required=True)
    sub.add_parser("emit").add_argument("--events", type=int, required=True)
    args = parser.parse_args()
    django.setup()
    if args.command == "age":
        age(args.days)
    else:
        emit(args.events)


if __name__ == "__main__":
    main()
