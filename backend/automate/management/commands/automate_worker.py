"""Run a worker process: ``python manage.py automate_worker --concurrency 4``."""

from __future__ import annotations

import signal
from typing import Any

from django.core.checks import Tags
from django.core.checks.registry import registry
from django.core.management.base import BaseCommand, CommandError, CommandParser

from automate import conf

#: Seconds between reaper passes by default: with the default heartbeat (2 s) and worker
#: timeout (10 s), a SIGKILLed worker's jobs run again within about 15 s.
REAP_INTERVAL = 5.0


class Command(BaseCommand):
    help = (
        "Claim and run outbox jobs until stopped. The worker registers itself (a "
        "WorkerProcess row) and refreshes it every EXECUTION.heartbeat_interval_seconds; a "
        "worker silent for EXECUTION.worker_timeout_seconds is dead and any other worker's "
        "reaper gives its claimed jobs back. SIGTERM or Ctrl+C stops claiming, lets running "
        "steps finish, hands back claimed jobs that had not started and removes the "
        'WorkerProcess row. With EXECUTION.backend = "celery" it relays the jobs it claims '
        "to the project's Celery workers instead of running them (docs/howto/celery.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--concurrency",
            type=int,
            metavar="N",
            help="Jobs in flight at once (at least the batch size), and the threads that run "
            "claimed batches, one whole batch each (default: EXECUTION.worker_threads, "
            f"{conf.get('EXECUTION', 'worker_threads')}).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            metavar="N",
            help="Most jobs claimed in one query (default: EXECUTION.batch_size, "
            f"{conf.get('EXECUTION', 'batch_size')}).",
        )
        parser.add_argument(
            "--poll-interval",
            type=float,
            metavar="SECONDS",
            help="Seconds an idle worker waits before looking for due jobs again; on "
            "PostgreSQL it also wakes on NOTIFY at once (default: "
            f"EXECUTION.poll_interval_seconds, {conf.get('EXECUTION', 'poll_interval_seconds')}).",
        )
        parser.add_argument(
            "--reap-interval",
            type=float,
            metavar="SECONDS",
            default=REAP_INTERVAL,
            help="Seconds between reaper passes, which give back the claimed jobs of dead "
            "workers and jobs whose lease expired (default: %(default)s).",
        )
        parser.add_argument(
            "--worker-id",
            metavar="NAME",
            help="This worker's name in job leases and in the WorkerProcess list, 1 to 100 "
            "characters, unique among running workers (default: host:pid:random).",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            metavar="PORT",
            help="Serve this process's Prometheus metrics on http://ADDRESS:PORT/metrics "
            "(for a worker on a machine with no web process sharing its "
            "PROMETHEUS_MULTIPROC_DIR; docs/reference/metrics.md).",
        )
        parser.add_argument(
            "--metrics-address",
            default="127.0.0.1",
            metavar="ADDRESS",
            help="The address --metrics-port listens on (default: %(default)s; 0.0.0.0 for "
            "every interface, behind a firewall that lets only Prometheus in).",
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Exit when no job is due and every claimed job has finished.",
        )

    def check(self, *args: Any, **kwargs: Any) -> None:
        """Django's system checks, except the URL configuration's: a worker serves no URL,
        and importing every view of the site (the checks resolve the whole URLconf) was a
        fifth of a worker's start-up. The web server's own start-up still checks them.
        Nor the note that no worker runs in the web server (automate.I050): this is the
        worker it asks for."""
        from automate.checks import check_worker

        every = registry.registered_checks
        registry.registered_checks = {
            check
            for check in every
            if Tags.urls not in getattr(check, "tags", ()) and check is not check_worker
        }
        try:
            super().check(*args, **kwargs)
        finally:
            registry.registered_checks = every

    def handle(self, *args: Any, **options: Any) -> None:
        if options["worker_id"] is not None and not 0 < len(options["worker_id"]) <= 100:
            raise CommandError("--worker-id must be 1 to 100 characters.")
        for name in ("concurrency", "batch_size", "poll_interval", "reap_interval"):
            if options[name] is not None and options[name] <= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be greater than 0.")
        if options["metrics_port"] is not None:
            self._serve_metrics(options["metrics_port"], options["metrics_address"])
        from automate.execution.celery_relay import CeleryNotConfiguredError, make_worker

        try:
            worker = make_worker(
                worker_id=options["worker_id"],
                concurrency=options["concurrency"],
                batch_size=options["batch_size"],
                poll_interval=options["poll_interval"],
                reap_interval=options["reap_interval"],
            )
        except CeleryNotConfiguredError as exc:
            raise CommandError(str(exc)) from exc

        def stop(signum: int, frame: Any) -> None:
            self.stderr.write(f"Stopping worker {worker.worker_id} (signal {signum})…")
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Worker {worker.worker_id} running.")
        processed = worker.run(once=options["once"])
        self.stdout.write(f"Worker {worker.worker_id} ran {processed} jobs.")

    def _serve_metrics(self, port: int, address: str) -> None:
        """Start the exporter thread, or stop with a CommandError naming the problem."""
        if not 0 < port < 65536:
            raise CommandError("--metrics-port must be a port number from 1 to 65535.")
        from prometheus_client import start_http_server

        from automate.observability.metrics import process_registry

        try:
            start_http_server(port, addr=address, registry=process_registry())
        except OSError as exc:
            raise CommandError(
                f"Cannot serve metrics on {address}:{port}: {exc.strerror or exc}."
            ) from exc
        self.stdout.write(f"Metrics on http://{address}:{port}/metrics")
