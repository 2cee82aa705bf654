"""Returning the jobs of workers that died: a claimed job whose lease ran out goes back to
PENDING (or to DEAD when it has used all its attempts, so a job that kills every worker
that touches it cannot loop forever)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from automate.execution.models import OutboxJob

logger = logging.getLogger("automate.outbox")
Status = OutboxJob.Status


class OutboxReaper:
    """Return jobs whose lease expired more than ``stale_threshold_seconds`` ago."""

    def __init__(self, stale_threshold_seconds: float = 0) -> None:
        self.stale_threshold_seconds = stale_threshold_seconds

    def reap_stale_items(self) -> int:
        """Reap every stale job; returns how many were returned to the queue or made dead."""
        now = timezone.now()
        cutoff = now - timedelta(seconds=self.stale_threshold_seconds)
        stale = OutboxJob.objects.filter(status=Status.CLAIMED, lease_expires_at__lt=cutoff)
        with transaction.atomic():
            exhausted = list(
                stale.filter(attempts__gte=F("max_attempts")).values_list("pk", flat=True)
            )
            dead = OutboxJob.objects.filter(
                pk__in=exhausted, status=Status.CLAIMED, lease_expires_at__lt=cutoff
            ).update(
                status=Status.DEAD,
                lease_expires_at=None,
                last_error="The worker holding this job stopped answering on every attempt.",
                updated_at=now,
            )
            returned = stale.filter(attempts__lt=F("max_attempts")).update(
                status=Status.PENDING,
                lease_expires_at=None,
                locked_by="",
                next_attempt_at=now,
                last_error="Lease expired: the worker holding this job stopped answering.",
                updated_at=now,
            )
        if exhausted:
            # After the job update commits, so locks are taken run-first like everywhere else.
            from automate.execution.runner import fail_runs_of_dead_jobs

            buried = OutboxJob.objects.filter(pk__in=exhausted, status=Status.DEAD, updated_at=now)
            fail_runs_of_dead_jobs(buried.values_list("pk", flat=True))
        if dead or returned:
            logger.warning("Reaper returned %d stale jobs and dead-lettered %d", returned, dead)
        return dead + returned
