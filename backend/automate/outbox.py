"""The transactional outbox (stable public surface).

>>> from automate.outbox import SkipLockedClaimOutboxStore, OutboxReaper
>>> store = SkipLockedClaimOutboxStore(lease_seconds=300)
>>> jobs = store.claim_batch("worker-1", limit=10)
"""

from automate.execution.models import OutboxJob
from automate.execution.reaper import OutboxReaper
from automate.execution.store import (
    OptimisticClaimOutboxStore,
    OutboxStore,
    SkipLockedClaimOutboxStore,
    default_store,
)
from automate.execution.worker import Worker

__all__ = [
    "OptimisticClaimOutboxStore",
    "OutboxJob",
    "OutboxReaper",
    "OutboxStore",
    "SkipLockedClaimOutboxStore",
    "Worker",
    "default_store",
]
