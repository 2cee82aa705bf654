"""Numbering a run's live frames with a database counter, in the order states were read.

A publisher *advances* the run's counter (``RunLiveSeq``) and reads the run's state in the
same transaction: the counter row stays locked until it commits, so the next publisher,
in whatever process or machine, reads the state after this one did, and a frame with a
higher number never shows an older state than a lower one. A snapshot (page load,
websocket connect, a client's resync) reads the counter in the same statement as the run
without advancing it, so the numbers a watcher sees on its run's group are consecutive:
a watcher that sees ``n`` then ``n + 2`` knows it missed a frame and asks for a snapshot.

(Numbers used to be microseconds of the publishing process's clock: a worker whose clock
ran ahead numbered a stale "retrying" frame above the "cancelled" one that followed, and
watchers dropped the cancel until the page was reloaded.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from automate.execution.models import ExecutionRun
from automate.realtime.models import RunLiveSeq


def advance(run_id: uuid.UUID | str) -> int | None:
    """Move the run's counter on and return its new value (``None``: no such run).

    Call inside the transaction that then reads the state the number is for."""
    # The run's id as the model types it (the signals and views hand in str or UUID).
    counter = RunLiveSeq.objects.filter(run_id=uuid.UUID(str(run_id)))
    if not counter.update(seq=F("seq") + 1):
        if not ExecutionRun.objects.filter(pk=run_id).exists():
            return None
        try:
            with transaction.atomic():
                RunLiveSeq.objects.create(run_id=run_id, seq=1)
        except IntegrityError:  # another publisher created it first
            counter.update(seq=F("seq") + 1)
    return int(counter.values_list("seq", flat=True).get())


def current_seq() -> Coalesce:
    """An annotation for an ExecutionRun queryset: the frame number the run is at (0 for
    a run never published), read in the same statement as the run."""
    counter = RunLiveSeq.objects.filter(run_id=OuterRef("pk")).values("seq")[:1]
    return Coalesce(Subquery(counter), Value(0))


def current_seqs(run_ids: Iterable[uuid.UUID | str]) -> dict[str, int]:
    """The frame number each run is at (0 for a run never published), for list snapshots."""
    ids = [uuid.UUID(str(run_id)) for run_id in run_ids]
    found = {
        str(run_id): seq
        for run_id, seq in RunLiveSeq.objects.filter(run_id__in=ids).values_list("run_id", "seq")
    }
    return {str(run_id): int(found.get(str(run_id), 0)) for run_id in ids}
