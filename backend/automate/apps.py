from django.apps import AppConfig


class AutomateConfig(AppConfig):
    name = "automate"
    verbose_name = "Django Automate"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from automate import checks  # noqa: F401  (registers the system checks)
        from automate.connectors import load_connectors

        # Built-ins, entry points and DJANGO_AUTOMATE["CONNECTORS"]; a duplicate code fails
        # start-up here, naming both classes.
        load_connectors()

        from django.conf import settings

        from automate.triggers.model_events import track_configured

        user = getattr(settings, "DJANGO_AUTOMATE", {})
        track_configured(user.get("MODEL_EVENTS", []) if isinstance(user, dict) else [])

        from automate.events.hooks import connect_jobs_written
        from automate.execution import duties
        from automate.execution.notify import jobs_written
        from automate.triggers.schedules import fire_due_schedules

        # Hooks instead of imports, so that events never import execution and execution
        # never imports triggers: a written event job wakes the workers (NOTIFY, or the
        # inline drain in synchronous mode), and every worker loop fires due schedules.
        connect_jobs_written(jobs_written)
        duties.connect(fire_due_schedules)
        from automate.failures.notify import send_due_notices

        # Failure notices a crashed sender left, or that wait for a retry.
        duties.connect(send_due_notices)

        from automate.retention.periodic import prune_if_due

        # RETENTION["prune_interval_seconds"] (off by default): a bounded prune pass.
        duties.connect(prune_if_due)
        from automate.events.partitioning import ensure_partitions_if_due

        # EVENTS["partitioning"] = "monthly": the next months' event partitions, hourly.
        duties.connect(ensure_partitions_if_due)

        from automate.realtime import connect as connect_realtime

        # State changes reach the live explorer from every process (workers included).
        connect_realtime()

        from django.core.signals import request_started

        from automate.execution.embedded import start_for_server

        # WORKER_MODE "thread" (the default): in any project, the server process that
        # handles a request runs the worker; a management command or a test starts none.
        request_started.connect(start_for_server, dispatch_uid="automate.embedded_worker")
