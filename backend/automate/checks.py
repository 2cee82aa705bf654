"""System checks: a wrong ``DJANGO_AUTOMATE`` fails ``manage.py check`` naming the key."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Tags, Warning, register

from automate import conf


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Validate ``settings.DJANGO_AUTOMATE`` against the schema in ``automate.conf``."""
    user = getattr(settings, "DJANGO_AUTOMATE", {})
    return [
        Error(problem, hint="See docs/reference/settings.md.", id="automate.E001")
        for problem in conf.validate(user)
    ]


@register()
def check_secrets(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The configured secrets backend loads and passes its own ``check()``."""
    from automate.governance.secrets import check_secrets_backend

    return list(check_secrets_backend())


@register()
def check_connectors(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when a ``POLICY.connector_allowlist`` pattern matches no registered connector."""
    from automate.connectors import check_connector_allowlist

    return list(check_connector_allowlist())


@register()
def check_providers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Providers load, are ``BaseProvider``s with unique keys, and their configs are valid."""
    from automate.providers.checks import provider_messages

    return list(provider_messages())


@register()
def check_django_model_options(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``CONNECTOR_OPTIONS["django_model"]["models"]``: installed models, usable tenant fields."""
    from automate.connectors.builtins.django_model_scope import option_problems

    return [
        Error(problem, hint="See docs/reference/connectors.md.", id="automate.E030")
        for problem in option_problems()
    ]


@register()
def check_egress(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when the Slack or LLM base URL is off ``POLICY.egress_allowlist``."""
    from automate.governance.egress import check_base_urls

    return list(check_base_urls())


@register()
def check_model_events(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``MODEL_EVENTS``: installed models, known keys and event names (never a traceback)."""
    from automate.triggers.model_events import configured_problems

    user = getattr(settings, "DJANGO_AUTOMATE", {})
    entries = user.get("MODEL_EVENTS", []) if isinstance(user, dict) else []
    return [
        Error(
            problem,
            hint='Write "app_label.Model" or {"model": "app_label.Model", "events": '
            '["created", "updated", "deleted"], "exclude": ["field"]}; see '
            "docs/howto/schedules.md#model-events.",
            id="automate.E040",
        )
        for problem in configured_problems(entries)
    ]


@register()
def check_connector_options(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``CONNECTOR_OPTIONS``: known connectors, known keys, usable base URLs and prices."""
    from automate.connectors.options import connector_option_messages

    return list(connector_option_messages())


#: The deepest JSON MariaDB stores: its JSON check (JSON_VALID) refuses 32 levels or more.
MARIADB_JSON_DEPTH = 31
#: Room left for the levels the engine's own records add around a payload (a run's outputs
#: by node, a step's rendered inputs): a margin, not an exact count.
ENGINE_JSON_LEVELS = 7


@register(Tags.database)
def check_database_json_depth(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """On MariaDB, the JSON depth limits must stay within what it can store (``migrate``
    and ``check --database`` run this)."""
    from django.db import connections

    found: list[CheckMessage] = []
    for alias in databases or ():
        connection = connections[alias]
        if connection.vendor != "mysql" or not getattr(connection, "mysql_is_mariadb", False):
            continue
        for key, most in (
            ("max_json_depth", MARIADB_JSON_DEPTH - ENGINE_JSON_LEVELS),
            ("max_definition_depth", MARIADB_JSON_DEPTH),
        ):
            if conf.get("LIMITS", key) > most:
                found.append(
                    Warning(
                        f"DJANGO_AUTOMATE['LIMITS']['{key}'] is {conf.get('LIMITS', key)}: "
                        f"MariaDB (database '{alias}') refuses JSON nested more than "
                        f"{MARIADB_JSON_DEPTH} levels deep, so a body or definition the "
                        "limit lets in can fail to save.",
                        hint=f"Set it to {most} or less. See docs/howto/mysql.md.",
                        id="automate.W090",
                    )
                )
    return found


@register()
def check_worker(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Say so when no worker runs inside the web server, and what runs the jobs instead."""
    if conf.get("WORKER_MODE") != "process":
        # "thread": each server process runs one from its first request (execution.embedded);
        # "synchronous": jobs run inline after the emitting transaction commits.
        return []
    return [
        Info(
            "No worker runs inside the web server (DJANGO_AUTOMATE['WORKER_MODE'] is "
            "'process'): emitted events stay PENDING until a `manage.py automate_worker` "
            "process runs their jobs.",
            hint=(
                "Run `python manage.py automate_worker` beside the web server (as many as "
                "you like, on any machine), or remove WORKER_MODE to run worker threads "
                "inside each server process. See docs/howto/embed.md."
            ),
            id="automate.I050",
        )
    ]


@register()
def check_worker_liveness(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A live worker may miss a beat or two before the others take it for dead."""
    try:
        beat = float(conf.get("EXECUTION", "heartbeat_interval_seconds"))
        timeout = float(conf.get("EXECUTION", "worker_timeout_seconds"))
    except (TypeError, ValueError):
        return []  # automate.E001 names the bad value
    if timeout >= 3 * beat:
        return []
    return [
        Warning(
            f"EXECUTION.worker_timeout_seconds ({timeout:g} s) is less than three heartbeats "
            f"(EXECUTION.heartbeat_interval_seconds, {beat:g} s): a live worker that misses "
            "a beat is taken for dead and its running jobs are given to other workers.",
            hint="Keep worker_timeout_seconds at least 3 x heartbeat_interval_seconds "
            "(the defaults are 10 and 2). See docs/reference/settings.md.",
            id="automate.W070",
        )
    ]


@register()
def check_copilot(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``COPILOT``: a usable base URL, a model when it is set, a secret name, egress."""
    from automate.copilot.settings import setting_messages

    return list(setting_messages())


@register(deploy=True)
def check_static_collected(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With DEBUG off and a manifest storage, the manifest exists (``check --deploy`` only).

    A manifest storage (Django's ``ManifestStaticFilesStorage``, WhiteNoise's
    ``CompressedManifestStaticFilesStorage``) names every file by its hash, read from the
    manifest ``collectstatic`` writes: without it every page fails to render. Only checked
    with ``--deploy``, so ``migrate`` may run before ``collectstatic`` in a deploy script.
    """
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.files.storage import FileSystemStorage, storages

    storage = storages["staticfiles"]
    if settings.DEBUG or not isinstance(storage, ManifestFilesMixin):
        return []
    if not isinstance(storage, FileSystemStorage) or storage.exists(storage.manifest_name):
        return []
    return [
        Error(
            f"Static files are not collected: {storage.path(storage.manifest_name)} is missing, "
            "so every page would fail to render.",
            hint="Run `python manage.py collectstatic --noinput` (docs/howto/deploy.md).",
            id="automate.E070",
        )
    ]


@register()
def check_celery_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``EXECUTION.backend = "celery"``: Celery is installed and the host's app is found."""
    if conf.get("EXECUTION", "backend") != "celery":
        return []
    from automate.execution.celery_relay import CeleryNotConfiguredError, celery_app

    try:
        celery_app()
    except CeleryNotConfiguredError as exc:
        return [
            Error(
                f"EXECUTION.backend is 'celery' but {exc}",
                hint="See docs/howto/celery.md.",
                id="automate.E090",
            )
        ]
    return []
