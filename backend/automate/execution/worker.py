"""The worker: claim due jobs, run them on a thread pool, keep their leases alive.

One loop per worker process (``manage.py automate_worker``) or per ASGI server process
(``WORKER_MODE = "thread"``). Workers are stateless: PostgreSQL (or SQLite) is the queue.
On PostgreSQL an idle worker sleeps on ``LISTEN automate_outbox`` and wakes the moment a
job commits; every worker also polls, so a lost notification only costs latency.

The loop claims ``min(batch_size, free capacity)`` jobs at a time (step jobs first, see
``automate.execution.store``) and hands each claimed batch whole to one idle thread
(``runner.process_batch``: the batch's steps prepared and committed together, all their
connector calls in flight at once, outcomes written together as they come in; events
matched in one transaction, the first steps of the runs they start run at once by the same
thread without a second claim). Capacity is ``max(batch_size, worker_threads)`` jobs in
flight (``worker_threads`` sized for slow I/O, the default 64), so several batches run at
once on several threads, which share at most ``EXECUTION["worker_db_connections"]``
database connections (``automate.execution.dbgate``). A batch is never split over threads:
one step per thread made every step a transaction of its own (a quarter of the
throughput), and its calls run concurrently anyway.
A thread whose connection died replaces it and gives its job back due at once
(``execution.dbhealth``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections

from automate import conf
from automate.execution import duties
from automate.execution.dbgate import DbGate
from automate.execution.liveness import Liveness
from automate.execution.models import OutboxJob
from automate.execution.notify import CHANNEL
from automate.execution.reaper import OutboxReaper
from automate.execution.runner import give_back_now, process_batch, stranded_jobs
from automate.execution.store import OutboxStore, default_store
from automate.observability.metrics import count_claim_to_start

logger = logging.getLogger("automate.worker")


def reset_broken_connections() -> None:
    """Drop this thread's database connections that failed (e.g. the database restarted).

    Unlike ``close_old_connections`` this keeps healthy connections open whatever
    ``CONN_MAX_AGE`` says: a worker thread reuses its connection for every job.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred and not conn.is_usable():
            conn.close()
        conn.errors_occurred = False


def new_worker_id() -> str:
    """``host:pid:random``: unique across machines, processes and restarts."""
    # Fits OutboxJob.locked_by (100 characters) whatever the host name.
    return f"{socket.gethostname()[:70]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


#: A claim: ``(job id, claim number)``. The worker keys its jobs by claim, not by id: a
#: thread still busy with an earlier claim of a job must not stand for a later one.
ClaimKey = tuple[int, int]


def claim_key(job: OutboxJob) -> ClaimKey:
    return (job.pk, job.claims)


@dataclass
class _InFlight:
    job: OutboxJob
    future: Future[None]
    started: threading.Event = field(default_factory=threading.Event)


class _Listener:
    """A dedicated PostgreSQL connection LISTENing for new jobs (None elsewhere)."""

    def __init__(self) -> None:
        self._conn: Any = None

    def wait(self, timeout: float) -> None:
        if connection.vendor != "postgresql":
            time.sleep(timeout)
            return
        try:
            if self._conn is None or self._conn.closed:
                import psycopg

                params = connections["default"].get_connection_params()
                self._conn = psycopg.connect(**params, autocommit=True)
                self._conn.execute(f"LISTEN {CHANNEL}")
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except Exception:
            logger.warning("LISTEN failed; falling back to polling", exc_info=True)
            self.close()
            time.sleep(timeout)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                logger.debug("Closing the LISTEN connection failed", exc_info=True)
            self._conn = None


class Worker:
    """Claims jobs in batches and runs them with ``concurrency`` threads.

    With ``fire_schedules`` it also runs the duties connected in ``automate.execution.duties``
    (the schedule ticker) every ``schedule_interval`` seconds.
    """

    def __init__(
        self,
        *,
        worker_id: str | None = None,
        concurrency: int | None = None,
        batch_size: int | None = None,
        poll_interval: float | None = None,
        store: OutboxStore | None = None,
        reap_interval: float = 5.0,
        fire_schedules: bool = True,
        schedule_interval: float = 5.0,
    ) -> None:
        self.worker_id = worker_id or new_worker_id()
        self.concurrency = concurrency or conf.get("EXECUTION", "worker_threads")
        self.batch_size = batch_size or conf.get("EXECUTION", "batch_size")
        self.poll_interval = poll_interval or conf.get("EXECUTION", "poll_interval_seconds")
        self.store = store or default_store()
        self.reaper = OutboxReaper()
        self.reap_interval = reap_interval
        self.fire_schedules = fire_schedules
        self.schedule_interval = schedule_interval
        #: Many threads (slow I/O) must not mean many database connections: above
        #: ``worker_db_connections`` threads, at most that many do database work at once,
        #: sharing that many connections (``automate.execution.dbgate``).
        slots = int(conf.get("EXECUTION", "worker_db_connections"))
        self.gate = DbGate(slots) if self.concurrency > slots else None
        self.processed = 0
        self._stopping = threading.Event()
        self._inflight: dict[ClaimKey, _InFlight] = {}
        #: Batches being run, one thread each (a batch's jobs leave ``_inflight`` as their
        #: outcomes are written, its thread when it ends).
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._thread_connections: list[Any] = []
        #: Steps of runs a thread's events started, claimed for it directly (their leases
        #: are kept alive while they wait for their turn).
        self._hopped: dict[ClaimKey, OutboxJob] = {}
        #: Jobs a thread could not give back (the database was out): claim -> (job,
        #: reason, tries, monotonic time of the next try, monotonic deadline). Their leases
        #: are kept alive; the loop gives them back when the database answers again.
        self._stranded: dict[ClaimKey, tuple[OutboxJob, str, int, float, float]] = {}

    # -- single-threaded, for synchronous mode and tests ------------------------------------

    def run_until_idle(self, *, max_jobs: int | None = None) -> int:
        """Run due jobs in this thread until none is due; returns how many ran."""
        ran = 0
        while max_jobs is None or ran < max_jobs:
            jobs = self.store.claim_batch(self.worker_id, 1)
            if not jobs:
                break
            # One job at a time, without the hop: an event's first steps are queued, so a
            # caller counting jobs (max_jobs) sees each step as a job of its own.
            process_batch(jobs, store=self.store, worker_id=self.worker_id, hop=False)
            ran += 1
        self.processed += ran
        return ran

    def process_claimed(self, jobs: list[OutboxJob]) -> None:
        """Run jobs already claimed by this worker, in this thread, to their end (the step
        jobs together, as the real loop does)."""
        if jobs:
            process_batch(jobs, store=self.store, worker_id=self.worker_id)
        self.processed += len(jobs)

    # -- the real loop ----------------------------------------------------------------------

    def stop(self) -> None:
        """Stop claiming; jobs already running finish, claimed ones not started go back."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, *, once: bool = False) -> int:
        """Work until ``stop()`` (or, with ``once``, until nothing is due and all is done)."""
        from automate.governance.policy_audit import record_policy_if_changed

        self._safely(record_policy_if_changed)
        listener = _Listener()
        capacity = max(self.batch_size, self.concurrency)
        last_reap = last_tick = 0.0
        last_beat = time.monotonic()
        beat_every = max(1.0, self.store.lease_seconds / 3)
        logger.info(
            "Worker %s started (concurrency %s, batch %s, %s)",
            self.worker_id,
            self.concurrency,
            self.batch_size,
            type(self.store).__name__,
        )
        liveness = Liveness(self.worker_id, concurrency=self.concurrency)
        self._safely(liveness.start)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="automate-step") as pool:
            try:
                while not self.stopping:
                    self._collect_finished()
                    now = time.monotonic()
                    if now - last_reap >= self.reap_interval:
                        last_reap = now
                        self._safely(self.reaper.reap_stale_items)
                    if self.fire_schedules and now - last_tick >= self.schedule_interval:
                        last_tick = now
                        for duty in duties.connected():  # the schedule ticker
                            self._safely(duty)
                    if now - last_beat >= beat_every:
                        last_beat = now
                        self._safely(self._heartbeat)
                    if self._stranded:
                        self._give_back_stranded()
                    claimed: list[OutboxJob] = []
                    with self._lock:
                        free = capacity - len(self._inflight)
                        idle = self.concurrency - len(self._running)
                    # A worker whose own heartbeat is stale claims nothing: the others
                    # are about to take it for dead and give its jobs back.
                    if conf.get("ENABLED") and free > 0 and idle > 0 and liveness.fresh:
                        limit = min(self.batch_size, free)
                        claimed = self._safely(lambda n=limit: self._claim(n)) or []
                    # Step jobs and event jobs on threads of their own: matching an event
                    # must not wait for a slow call of a step claimed with it.
                    steps = [job for job in claimed if job.kind == OutboxJob.Kind.STEP]
                    others = [job for job in claimed if job.kind != OutboxJob.Kind.STEP]
                    for group in (steps, others):
                        if group:
                            self._submit(pool, group)
                    if claimed:
                        continue
                    if once and not self._running:
                        break
                    if self._running:
                        # Busy: check back soon for finished jobs and free capacity.
                        self._wait_any(timeout=min(self.poll_interval, 0.05))
                    else:
                        listener.wait(self.poll_interval)
            finally:
                listener.close()
                self._shutdown()
                if self._stranded:
                    self._safely(self._give_back_stranded)
                liveness.stop()
        self._close_thread_connections()
        if self.gate is not None:
            self.gate.close()
        logger.info("Worker %s stopped after %s jobs", self.worker_id, self.processed)
        return self.processed

    def _claim(self, limit: int) -> list[OutboxJob]:
        return self.store.claim_batch(self.worker_id, limit)

    def _submit(self, pool: ThreadPoolExecutor, jobs: list[OutboxJob]) -> None:
        started = threading.Event()
        claimed_at = time.monotonic()
        hopped: dict[ClaimKey, OutboxJob] = {}

        def track(claimed: list[OutboxJob]) -> None:
            # Steps of runs this chunk started, claimed for it directly: keep their leases.
            hopped.update((claim_key(job), job) for job in claimed)
            with self._lock:
                self._hopped.update(hopped)

        def settled(done: list[OutboxJob]) -> None:
            # Written: their capacity is free again, their leases need no more renewal.
            with self._lock:
                for job in done:
                    key = claim_key(job)
                    hopped.pop(key, None)
                    self._hopped.pop(key, None)
                    if self._inflight.pop(key, None) is not None:
                        self.processed += 1

        def work() -> None:
            started.set()
            count_claim_to_start([job.kind for job in jobs], time.monotonic() - claimed_at)
            self._remember_connections()
            reset_broken_connections()
            try:
                with stranded_jobs() as stranded:
                    process_batch(
                        jobs,
                        store=self.store,
                        worker_id=self.worker_id,
                        on_claimed=track,
                        stopping=self._stopping.is_set,
                        gate=self.gate,
                        on_settled=settled,
                    )
            finally:
                self._strand(stranded)
                with self._lock:
                    for key in hopped:
                        self._hopped.pop(key, None)
                reset_broken_connections()

        future = pool.submit(work)
        with self._lock:
            self._running.add(future)
            for job in jobs:
                self._inflight[claim_key(job)] = _InFlight(job=job, future=future, started=started)

    def _remember_connections(self) -> None:
        """Note this pool thread's connection wrappers, to close them when the pool ends."""
        with self._lock:
            for alias in connections:
                wrapper = connections[alias]
                if all(wrapper is not known for known in self._thread_connections):
                    self._thread_connections.append(wrapper)

    def _close_thread_connections(self) -> None:
        """Close the pool threads' connections (the threads are gone; their connections
        would otherwise stay open until garbage collection)."""
        with self._lock:
            wrappers, self._thread_connections = self._thread_connections, []
        for wrapper in wrappers:
            raw = wrapper.connection
            if raw is None:
                continue
            try:
                raw.close()
            except Exception:
                logger.debug("Closing a step thread's connection failed", exc_info=True)

    def _collect_finished(self) -> None:
        with self._lock:
            self._running = {future for future in self._running if not future.done()}
            done = [key for key, item in self._inflight.items() if item.future.done()]
            for key in done:
                item = self._inflight.pop(key)
                if not item.future.cancelled():
                    self.processed += 1
                    error = item.future.exception()
                    if error is not None:
                        logger.error("Job %s crashed the worker thread", key[0], exc_info=error)

    def _wait_any(self, timeout: float) -> None:
        with self._lock:
            futures = list(self._running)
        if futures:
            from concurrent.futures import FIRST_COMPLETED, wait

            wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)

    def _strand(self, stranded: list[tuple[OutboxJob, str]]) -> None:
        """Keep the leases of jobs a thread could not give back, for the loop to give
        them back (``_give_back_stranded``) until their lease would have run out."""
        now = time.monotonic()
        with self._lock:
            for job, reason in stranded:
                self._stranded[claim_key(job)] = (
                    job,
                    reason,
                    0,
                    now,
                    now + self.store.lease_seconds,
                )

    def _give_back_stranded(self) -> None:
        """Try to give back the due stranded jobs (due at once); on a database error try
        again later with backoff (0.5 s doubling, at most 30 s), until the lease's end."""
        now = time.monotonic()
        with self._lock:
            due = [entry for entry in self._stranded.values() if entry[3] <= now]
        for job, reason, tries, _, deadline in due:
            try:
                give_back_now(job, store=self.store, worker_id=self.worker_id, reason=reason)
            except Exception:
                reset_broken_connections()
                if time.monotonic() < deadline:
                    wait = min(30.0, 0.5 * 2**tries)
                    with self._lock:
                        self._stranded[claim_key(job)] = (
                            job,
                            reason,
                            tries + 1,
                            now + wait,
                            deadline,
                        )
                    logger.warning("Job %s not given back yet (database still out)", job.pk)
                    continue
                logger.exception("Job %s could not be given back; its lease expires", job.pk)
            with self._lock:
                self._stranded.pop(claim_key(job), None)

    def _heartbeat(self) -> None:
        with self._lock:
            jobs = {key: item.job for key, item in self._inflight.items()}
            jobs.update(self._hopped)
            jobs.update((key, entry[0]) for key, entry in self._stranded.items())
        if jobs:
            self.store.heartbeat([jobs[key] for key in sorted(jobs)], self.worker_id)

    def _shutdown(self) -> None:
        """Release what was claimed but not started; wait for what is running."""
        with self._lock:
            items = list(self._inflight.values())
        for item in items:
            if not item.started.is_set() and (item.future.cancel() or item.future.cancelled()):
                self._safely(lambda job=item.job: self.store.release(job, self.worker_id))
        for item in items:
            if not item.future.cancelled():
                item.future.exception()  # waits for it to finish
        self._collect_finished()

    def _safely(self, fn: Any) -> Any:
        """Database hiccups in the loop itself are logged and retried next turn."""
        try:
            return fn()
        except Exception:
            logger.exception("Worker loop error (will retry)")
            reset_broken_connections()
            time.sleep(min(self.poll_interval, 1.0))
            return None
