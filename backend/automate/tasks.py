"""Celery tasks (``EXECUTION["backend"] = "celery"``; docs/howto/celery.md).

Found by the host project's ``app.autodiscover_tasks()`` (this module is ``tasks.py`` of
the ``automate`` app), or listed in the app's ``include``. Imports Celery: only a Celery
worker (or a process that has Celery) imports it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown

from automate.execution.celery_relay import TASK_NAME
from automate.execution.celery_task import run_handed_off, stop_this_process


def run_outbox_jobs(pairs: list[list[int]]) -> int:
    """Run the outbox jobs a relay claimed and sent, ``[[job id, claim number], ...]``.

    ``acks_late``: a message whose worker died before taking its jobs over is delivered
    again. Correctness does not rest on it: a doubled or stale message takes nothing over,
    and a lost one is sent again by the relay (``automate.execution.celery_relay``).
    Returns how many jobs ran here.
    """
    return run_handed_off(pairs)


def _forget_this_worker(**kwargs: Any) -> None:
    stop_this_process()


# Registered without decorators: Celery is untyped, and a decorator would untype these.
run_outbox_jobs_task = shared_task(name=TASK_NAME, acks_late=True, ignore_result=True)(
    run_outbox_jobs
)
worker_process_shutdown.connect(_forget_this_worker, weak=False)
worker_shutdown.connect(_forget_this_worker, weak=False)
