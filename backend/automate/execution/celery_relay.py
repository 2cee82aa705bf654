"""``EXECUTION["backend"] = "celery"``: the worker loop relays claimed jobs to Celery tasks.

The relay is an ordinary worker (``automate_worker``, or the embedded worker of a server
process) that does not run what it claims. It registers and beats like any worker
(``automate.execution.liveness``), runs the reaper and the schedule ticker, claims due jobs
as usual (step jobs first, a batch at a time) and sends each claimed group as one message
``automate.run_outbox_jobs([[job id, claim number], ...])`` through the host project's
Celery app (``celery_app()``: no second app, no broker settings of ours). A Celery worker
takes the claims over (``automate.execution.celery_task``) and runs them through the same
code as ``automate_worker`` (``runner.process_batch``).

The outbox stays the truth; the broker only carries hints:

- **a doubled message** takes over nothing: the takeover is a compare-and-set on the
  claim number the message names, and it moves that number on;
- **a lost message** (a purged queue, a broker restart without persistence, a Celery
  worker that died before taking it over): the relay keeps the leases of the jobs it sent
  and, when a job has not been taken over within ``EXECUTION["celery_handoff_seconds"]``,
  sends it again under the same claim (then after twice as long, up to ten times it);
- **nobody consumes the queue** (no Celery worker reads ``EXECUTION["celery_queue"]``, or
  the workers lack ``automate.tasks``): after ``MAX_SENDS`` sends (the last one waited the
  full ten handoff timeouts) the jobs are given back (PENDING, their attempt refunded, as
  on a stop), an ERROR names the likely causes and the counter
  ``automate_celery_handoffs_expired_total`` counts them; the relay then claims and sends
  them again, so they run as soon as a worker consumes the queue, and are never buried;
- **a Celery worker killed mid-task**: it beat like any worker, so the reaper gives its
  jobs back within ``worker_timeout_seconds`` and the relay claims and sends them again.

At most ``concurrency`` jobs wait for a takeover at once, so a relay never floods a
broker whose Celery workers are busy. The leases of the jobs waiting are kept from a
thread of their own (every third of ``EXECUTION["lease_seconds"]``): a loop turn that takes
longer than a lease (a slow duty, a slow database) does not let them expire, which would
make every takeover fail and the reaper return them.

Importable without Celery installed: Celery is imported when a message is sent.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db.models import Q
from django.utils.module_loading import import_string

from automate import conf
from automate.execution import duties
from automate.execution.liveness import Liveness
from automate.execution.models import OutboxJob
from automate.execution.reaper import OutboxReaper
from automate.execution.store import OutboxStore, default_store

logger = logging.getLogger("automate.worker")

#: The Celery task that runs handed-off jobs (``automate.tasks``).
TASK_NAME = "automate.run_outbox_jobs"
#: A job not taken over is sent again after at most this many handoff timeouts.
MAX_RESEND_FACTOR = 10
#: Sends of a job (the first included) before it is given back: waits of 1, 2, 4, 8 and
#: 10 handoff timeouts, the last one at the ``MAX_RESEND_FACTOR`` cap (25 timeouts in all,
#: 12.5 minutes at the default 30 s).
MAX_SENDS = 5


class CeleryNotConfiguredError(RuntimeError):
    """``backend = "celery"`` without Celery installed or without a Celery app."""


def celery_app() -> Any:
    """The host project's Celery app: ``EXECUTION["celery_app"]`` (a dotted path to the
    app object) when set, else the app the host made current (the usual Django set-up,
    ``proj/celery.py`` imported from ``proj/__init__.py``), else the only app created in
    this process.

    Raises ``CeleryNotConfiguredError`` naming the problem: Celery missing, the path not
    importable or not a Celery app, or no app created (Celery's own fallback app would
    send to a broker on localhost that nobody configured)."""
    try:
        from celery import Celery, _state
    except ImportError as exc:
        raise CeleryNotConfiguredError(
            "Celery is not installed: pip install 'django-automate[celery]'."
        ) from exc
    path = conf.get("EXECUTION", "celery_app")
    if path:
        try:
            app = import_string(path)
        except ImportError as exc:
            raise CeleryNotConfiguredError(
                f"EXECUTION.celery_app {path!r} cannot be imported: {exc}"
            ) from exc
        if not isinstance(app, Celery):
            raise CeleryNotConfiguredError(
                f"EXECUTION.celery_app {path!r} is a {type(app).__name__}, not a Celery app."
            )
        return app
    # The current app is per thread (a server's request threads may not have it); the
    # one app the process created is as good.
    app = _state._tls.current_app or _state.default_app
    if app is not None:
        return app
    apps = list(_state._get_active_apps())
    if len(apps) == 1:
        return apps[0]
    if apps:
        raise CeleryNotConfiguredError(
            f"{len(apps)} Celery apps exist in this process: set EXECUTION.celery_app to "
            "the dotted path of the one to send through."
        )
    raise CeleryNotConfiguredError(
        "No Celery app was created: create the project's app (proj/celery.py, "
        "imported from proj/__init__.py) or set EXECUTION.celery_app to its dotted path."
    )


def send_jobs(app: Any, pairs: list[tuple[int, int]]) -> None:
    """Send one ``automate.run_outbox_jobs`` message for ``pairs`` (``(job id, claim)``)
    to ``EXECUTION["celery_queue"]`` (or wherever the app's routing sends it)."""
    options: dict[str, Any] = {}
    queue = conf.get("EXECUTION", "celery_queue")
    if queue:
        options["queue"] = queue
    app.send_task(TASK_NAME, args=[[list(pair) for pair in pairs]], **options)


@dataclass
class _Sent:
    """A job the relay claimed and sent, not yet taken over."""

    job: OutboxJob
    sent_at: float  # time.monotonic()
    resend_at: float
    sends: int = 1


class CeleryRelay:
    """Claims due jobs and sends them to Celery (see the module docstring).

    Same constructor and ``run``/``stop`` as ``automate.execution.worker.Worker``;
    ``concurrency`` is how many sent jobs may wait for a Celery worker at once.
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
        app: Any = None,
    ) -> None:
        from automate.execution.worker import new_worker_id

        self.worker_id = worker_id or new_worker_id()
        self.concurrency = concurrency or conf.get("EXECUTION", "worker_threads")
        self.batch_size = batch_size or conf.get("EXECUTION", "batch_size")
        self.poll_interval = poll_interval or conf.get("EXECUTION", "poll_interval_seconds")
        self.store = store or default_store()
        self.reaper = OutboxReaper()
        self.reap_interval = reap_interval
        self.fire_schedules = fire_schedules
        self.schedule_interval = schedule_interval
        self.handoff_seconds = float(conf.get("EXECUTION", "celery_handoff_seconds"))
        self.app = app if app is not None else celery_app()
        #: Jobs handed to Celery: how many a Celery worker took over (or that left this
        #: relay's hands otherwise: reaped, released).
        self.processed = 0
        self._sent: dict[tuple[int, int], _Sent] = {}
        # ``_sent`` is changed by the loop only; the lease keeper reads it under the lock.
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._keeper_done = threading.Event()

    def stop(self) -> None:
        """Stop claiming; sent jobs not taken over yet are given back."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self, *, once: bool = False) -> int:
        """Relay until ``stop()`` (or, with ``once``, until nothing is due and every sent
        job was taken over); returns how many jobs were taken over."""
        from automate.execution.worker import _Listener
        from automate.governance.policy_audit import record_policy_if_changed

        self._safely(record_policy_if_changed)
        listener = _Listener()
        last_reap = last_tick = last_settle = 0.0
        liveness = Liveness(self.worker_id, concurrency=self.concurrency)
        self._safely(liveness.start)
        self._keeper_done.clear()
        keeper = threading.Thread(
            target=self._keep_leases, name="automate-relay-leases", daemon=True
        )
        keeper.start()
        logger.info(
            "Celery relay %s started (up to %s jobs waiting, batch %s, app %s)",
            self.worker_id,
            self.concurrency,
            self.batch_size,
            getattr(self.app, "main", None) or type(self.app).__name__,
        )
        try:
            while not self.stopping:
                now = time.monotonic()
                if now - last_reap >= self.reap_interval:
                    last_reap = now
                    self._safely(self.reaper.reap_stale_items)
                if self.fire_schedules and now - last_tick >= self.schedule_interval:
                    last_tick = now
                    for duty in duties.connected():
                        self._safely(duty)
                if self._sent and now - last_settle >= 0.05:
                    last_settle = now
                    self._safely(self._settle)
                    self._safely(self._resend_due)
                claimed: list[OutboxJob] = []
                free = self.concurrency - len(self._sent)
                if conf.get("ENABLED") and free > 0 and liveness.fresh:
                    limit = min(self.batch_size, free)
                    claimed = self._safely(partial(self._relay, limit)) or []
                if claimed:
                    continue
                if once and not self._sent:
                    break
                # Waiting for takeovers: look again soon (a takeover wakes nobody).
                listener.wait(min(self.poll_interval, 0.05) if self._sent else self.poll_interval)
        finally:
            listener.close()
            self._keeper_done.set()
            keeper.join(10)
            self._give_back_unsent()
            liveness.stop()
        logger.info("Celery relay %s stopped after %s jobs", self.worker_id, self.processed)
        return self.processed

    def _relay(self, limit: int) -> list[OutboxJob]:
        """Claim up to ``limit`` jobs and send them: step jobs and the others in separate
        messages (a Celery worker runs a message's jobs together, as a worker thread runs
        a claimed batch). A job whose message could not be sent stays claimed and is sent
        again after the handoff timeout."""
        jobs = self.store.claim_batch(self.worker_id, limit)
        now = time.monotonic()
        with self._lock:
            for job in jobs:
                self._sent[(job.pk, job.claims)] = _Sent(job, now, now + self.handoff_seconds)
        steps = [job for job in jobs if job.kind == OutboxJob.Kind.STEP]
        others = [job for job in jobs if job.kind != OutboxJob.Kind.STEP]
        for group in (steps, others):
            if group:
                self._send(group)
        return jobs

    def _send(self, jobs: list[OutboxJob]) -> None:
        try:
            send_jobs(self.app, [(job.pk, job.claims) for job in jobs])
        except Exception:
            logger.exception(
                "Sending %d jobs to Celery failed; they are sent again in %g s",
                len(jobs),
                self.handoff_seconds,
            )

    def _settle(self) -> None:
        """Forget the sent jobs this relay no longer holds (taken over, or returned)."""
        held = self._held()
        gone = [key for key in self._sent if key not in held]
        with self._lock:
            for key in gone:
                del self._sent[key]
        self.processed += len(gone)

    def _held(self) -> set[tuple[int, int]]:
        if not self._sent:
            return set()
        mine = Q()
        for job_id, claim in self._sent:
            mine |= Q(pk=job_id, claims=claim)
        rows = OutboxJob.objects.filter(
            mine, status=OutboxJob.Status.CLAIMED, locked_by=self.worker_id
        ).values_list("pk", "claims")
        return {(int(pk), int(claims)) for pk, claims in rows}

    def _resend_due(self) -> None:
        """Send again the jobs no Celery worker took over in time (the message was lost,
        or every Celery worker is busy: the next wait is longer); give back those sent
        ``MAX_SENDS`` times already (``_give_back_expired``)."""
        now = time.monotonic()
        due = [sent for sent in self._sent.values() if sent.resend_at <= now]
        expired = [sent for sent in due if sent.sends >= MAX_SENDS]
        if expired:
            self._give_back_expired(expired)
            due = [sent for sent in due if sent.sends < MAX_SENDS]
        if not due:
            return
        logger.warning(
            "%d jobs sent to Celery were not taken over in time; sending them again "
            "(is a Celery worker consuming the queue?)",
            len(due),
        )
        for sent in due:
            sent.sends += 1
            factor = min(2 ** (sent.sends - 1), MAX_RESEND_FACTOR)
            sent.resend_at = now + self.handoff_seconds * factor
        steps = [sent.job for sent in due if sent.job.kind == OutboxJob.Kind.STEP]
        others = [sent.job for sent in due if sent.job.kind != OutboxJob.Kind.STEP]
        for group in (steps, others):
            if group:
                self._send(group)

    def _give_back_expired(self, expired: list[_Sent]) -> None:
        """Give back jobs no Celery worker took over after ``MAX_SENDS`` sends (PENDING,
        attempt refunded: they never ran), with an ERROR naming the likely causes and
        ``automate_celery_handoffs_expired_total`` counting them."""
        from automate.observability.metrics import CELERY_HANDOFFS_EXPIRED

        with self._lock:
            for sent in expired:
                self._sent.pop((sent.job.pk, sent.job.claims), None)
        returned = sum(bool(self.store.release(sent.job, self.worker_id)) for sent in expired)
        self.processed += len(expired)
        if not returned:
            return  # taken over (or returned) meanwhile: nothing was stuck
        CELERY_HANDOFFS_EXPIRED.inc(returned)
        queue = conf.get("EXECUTION", "celery_queue") or getattr(
            self.app.conf, "task_default_queue", "celery"
        )
        logger.error(
            "%d jobs sent to Celery were not taken over after %d sends over %g s; gave them "
            "back (attempt refunded) to be claimed and sent again. Likely causes: no Celery "
            "worker consumes the queue %r (start one with -Q %s), or the task %s is not "
            "registered on the Celery workers (they must import automate.tasks)",
            returned,
            MAX_SENDS,
            self.handoff_seconds * sum(min(2**n, MAX_RESEND_FACTOR) for n in range(MAX_SENDS)),
            queue,
            queue,
            TASK_NAME,
        )

    def _keep_leases(self) -> None:
        """Thread: extend the leases of the sent jobs this relay holds every third of a
        lease, whatever the loop is doing (a takeover needs an unexpired lease)."""
        from django.db import connections

        every = max(1.0, self.store.lease_seconds / 3)
        try:
            while not self._keeper_done.wait(every):
                with self._lock:
                    jobs = [sent.job for sent in self._sent.values()]
                if not jobs:
                    continue
                try:
                    self.store.heartbeat(jobs, self.worker_id)
                except Exception:
                    logger.warning("Extending sent jobs' leases failed (will retry)", exc_info=True)
                    connections.close_all()
        finally:
            connections.close_all()

    def _give_back_unsent(self) -> None:
        """On stop: give back the sent jobs not taken over (their attempt refunded); a
        message that arrives later finds its claim gone and is dropped."""
        for sent in list(self._sent.values()):
            self._safely(lambda job=sent.job: self.store.release(job, self.worker_id))
        with self._lock:
            self._sent.clear()

    def _safely(self, fn: Any) -> Any:
        """Errors in the loop (a database hiccup, a broker down) are logged and the loop
        goes on after a short pause."""
        from automate.execution.worker import reset_broken_connections

        try:
            return fn()
        except Exception:
            logger.exception("Celery relay loop error (will retry)")
            reset_broken_connections()
            time.sleep(min(self.poll_interval, 1.0))
            return None


def make_worker(**options: Any) -> Any:
    """The worker loop ``EXECUTION["backend"]`` asks for: a ``Worker`` that runs its jobs,
    or a ``CeleryRelay`` that sends them to Celery (same options, ``run`` and ``stop``)."""
    if conf.get("EXECUTION", "backend") == "celery":
        return CeleryRelay(**options)
    from automate.execution.worker import Worker

    return Worker(**options)
