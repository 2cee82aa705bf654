"""The ``DJANGO_AUTOMATE`` settings dict: its schema, its defaults and typed access.

Validation lives next to the schema (``validate``) and runs as a Django system check at
start-up (see ``automate.checks``), so a typo in settings fails ``manage.py check`` with a
message naming the key instead of misbehaving at 3 a.m.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings as django_settings


@dataclass(frozen=True)
class Option:
    """One setting: the types it accepts, its default and an extra value check."""

    types: tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] | None = None


def _choice(*allowed: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if value not in allowed:
            return f"must be one of {', '.join(repr(a) for a in allowed)}, not {value!r}"
        return None

    return check


def _at_least(minimum: float) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        return None if value >= minimum else f"must be at least {minimum}, not {value!r}"

    return check


def _model_events(value: Any) -> str | None:
    for item in value:
        if isinstance(item, str):
            continue
        if not isinstance(item, dict) or not isinstance(item.get("model"), str):
            return 'entries must be "app_label.Model" or {"model": "app_label.Model", ...}'
    return None


def _list_of_str(value: Any) -> str | None:
    if not all(isinstance(item, str) for item in value):
        return "must be a list of strings"
    return None


def _host_patterns(value: Any) -> str | None:
    from automate.governance.policy import split_host_pattern

    for item in value:
        if not isinstance(item, str):
            return "must be a list of strings"
        try:
            split_host_pattern(item)
        except ValueError as exc:
            return f"has an invalid host pattern: {exc}"
    return None


def _networks(value: Any) -> str | None:
    import ipaddress

    for item in value:
        if not isinstance(item, str):
            return "must be a list of strings"
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            return f"has {item!r}, which is not an address or a network like 10.0.0.0/8"
    return None


def _tenant_host_patterns(value: Any) -> str | None:
    for tenant, patterns in value.items():
        if not isinstance(tenant, str) or not isinstance(patterns, list):
            return 'must map tenant slugs to lists of host patterns: {"acme": ["*.stripe.com"]}'
        problem = _host_patterns(patterns)
        if problem:
            return f"[{tenant!r}] {problem}"
    return None


def _between(minimum: int, maximum: int) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if minimum <= value <= maximum:
            return None
        return f"must be from {minimum} to {maximum}, not {value!r}"

    return check


def _env_grants(value: Any) -> str | None:
    from automate.governance.secret_grants import env_grants_problem

    return env_grants_problem(value)


_NUMBER = (int, float)

SCHEMA: dict[str, Option | dict[str, Option]] = {
    "ENABLED": Option((bool,), True),
    "WORKER_MODE": Option((str,), "thread", _choice("thread", "process", "synchronous")),
    "EXECUTION": {
        "timeout_seconds": Option(_NUMBER, 60, _at_least(1)),
        "max_retries": Option((int,), 3, _at_least(0)),
        "batch_size": Option((int,), 10, _at_least(1)),
        "lease_seconds": Option(_NUMBER, 300, _at_least(1)),
        "poll_interval_seconds": Option(_NUMBER, 1.0, _at_least(0.01)),
        "backoff_base_seconds": Option(_NUMBER, 2.0, _at_least(0)),
        "backoff_max_seconds": Option(_NUMBER, 300.0, _at_least(0)),
        # Steps a worker keeps in flight (threads): sized for slow I/O (a step waiting on an
        # HTTP answer holds a thread, not a database connection).
        "worker_threads": Option((int,), 64, _at_least(1)),
        # Database connections a worker's step threads share when it has more threads.
        "worker_db_connections": Option((int,), 8, _at_least(1)),
        # PostgreSQL: prepare the worker's hot statements on the server at first use, even
        # when the ORM does not (off: behind a pooler in transaction mode they would break).
        "prepare_hot_statements": Option((bool,), False),
        # Worker liveness (automate.execution.liveness): each worker beats this often, and
        # one silent for worker_timeout_seconds is dead: its claimed jobs go back at once.
        "heartbeat_interval_seconds": Option(_NUMBER, 2.0, _at_least(0.1)),
        "worker_timeout_seconds": Option(_NUMBER, 10.0, _at_least(1)),
        # Who runs claimed jobs: "worker" (automate_worker's threads) or "celery" (the
        # worker loop relays them to Celery tasks: automate.execution.celery_relay).
        "backend": Option((str,), "worker", _choice("worker", "celery")),
        # "celery": the host's Celery app as a dotted path ("" = the app the host
        # created), the queue the tasks go to ("" = the app's routing), and how long a
        # sent job may wait for a Celery worker to take it before it is sent again.
        "celery_app": Option((str,), ""),
        "celery_queue": Option((str,), ""),
        "celery_handoff_seconds": Option(_NUMBER, 30.0, _at_least(1)),
    },
    "POLICY": {
        "allow_ssrf": Option((bool,), False),
        "connector_allowlist": Option((list,), ["*"], _list_of_str),
        "http_allowlist": Option((list,), [], _host_patterns),
        "egress_allowlist": Option((list,), ["*"], _host_patterns),
        "tenant_egress_allowlists": Option((dict,), {}, _tenant_host_patterns),
        "llm_budget_daily": Option(_NUMBER, 10.00, _at_least(0)),
        "webhook_rate_limit_per_minute": Option((int,), 100, _at_least(1)),
        "api_basic_auth_per_minute": Option((int,), 30, _at_least(1)),
    },
    "SECRETS": {
        "backend": Option((str,), "env"),
        "prefix": Option((str,), "AUTOMATE_"),
        # {"tenant-slug" or "*": ["NAME", ...] or "*"}: see automate.governance.secret_grants
        "env_grants": Option((dict,), {}, _env_grants),
    },
    "TEMPLATES": {
        "max_output_bytes": Option((int,), 1_000_000, _at_least(1)),
        "render_timeout_seconds": Option(_NUMBER, 2.0, _at_least(0.01)),
        "max_memory_bytes": Option((int,), 32_000_000, _at_least(1_000_000)),
        "env_allowlist": Option((list,), [], _list_of_str),
    },
    "EVENTS": {
        # Store each inbound webhook's raw body (unredacted) next to its parsed payload.
        "keep_raw_body": Option((bool,), False),
        # "monthly": the event table is (to be) partitioned by month on PostgreSQL
        # (automate.events.partitioning; manage.py automate_partition_events converts it).
        "partitioning": Option((str,), "none", _choice("none", "monthly")),
        # Monthly partitions the workers keep created ahead of the current month.
        "partitions_ahead": Option((int,), 3, _at_least(1)),
    },
    "RETENTION": {
        "events_days": Option((int,), 30, _at_least(1)),
        "runs_days": Option((int,), 30, _at_least(1)),
        "raw_body_days": Option((int,), 7, _at_least(1)),
        # Dead letters (FAILED/DEAD jobs) keep their run and event replayable this long.
        "dead_letter_days": Option((int,), 90, _at_least(1)),
        # Audit entries outlive the runs and events they tell about (validate: >= all).
        "audit_days": Option((int,), 365, _at_least(1)),
        # automate_prune's rows per transaction, and the worker's opt-in periodic prune
        # (0 = off): one bounded pass every this many seconds, one worker at a time.
        "prune_batch_size": Option((int,), 1000, _at_least(1)),
        "prune_interval_seconds": Option(_NUMBER, 0, _at_least(0)),
        # Event payloads over it are refused at intake; step inputs and outputs over it
        # are stored as a truncation marker (automate.payload_caps).
        "max_payload_bytes": Option((int,), 256_000, _at_least(1024)),
        # Error texts (steps, runs, dead letters) over it are stored cut, with a suffix.
        # At most 10,000: a dead letter keeps at most 10,000 characters of its last error.
        "max_error_bytes": Option((int,), 8_000, _between(1024, 10_000)),
    },
    "LIMITS": {
        "max_body_bytes": Option((int,), 2_000_000, _at_least(1024)),
        "max_json_depth": Option((int,), 64, _at_least(8)),
        "max_number_digits": Option((int,), 1000, _at_least(20)),
        "max_definition_bytes": Option((int,), 500_000, _at_least(1024)),
        "max_definition_depth": Option((int,), 32, _at_least(8)),
    },
    "COPILOT": {
        # "" = the offline drafter; else an OpenAI-compatible API root (automate.copilot).
        "base_url": Option((str,), ""),
        # The provider's key (automate.providers): "openai" needs base_url set above.
        "provider": Option((str,), "openai"),
        "model": Option((str,), ""),
        "api_key_secret": Option((str,), ""),
        "timeout_seconds": Option(_NUMBER, 60, _at_least(1)),
        "max_tokens": Option((int,), 4096, _at_least(256)),
        "rate_limit_per_minute": Option((int,), 10, _at_least(1)),
        "repair_rounds": Option((int,), 2, _between(0, 2)),
        "structured_output": Option(
            (str,), "auto", _choice("auto", "json_schema", "tools", "json")
        ),
    },
    "API": {
        # Requests per minute and token (or session user), and per tenant (all its tokens
        # and users together); over either, 429 with Retry-After (automate.api.throttling).
        "token_rate_per_minute": Option((int,), 600, _at_least(1)),
        "tenant_rate_per_minute": Option((int,), 3000, _at_least(1)),
        # Cursor pages: the size without ?limit=, and the largest ?limit= honoured.
        "page_size": Option((int,), 50, _at_least(1)),
        "max_page_size": Option((int,), 200, _at_least(1)),
        # Origins allowed to call the API from a browser (CORSMixin); [] = no CORS headers.
        "cors_allowed_origins": Option((list,), [], _list_of_str),
    },
    "CONNECTORS": Option((list,), [], _list_of_str),
    "CONNECTOR_OPTIONS": Option((dict,), {}),
    # {"<provider key>": {config}}: checked against each provider's config_schema().
    "PROVIDER_OPTIONS": Option((dict,), {}),
    "MODEL_EVENTS": Option((list,), [], _model_events),
    "LOGGING_SCHEMA": Option((str,), "ecs", _choice("ecs", "simple")),
    "METRICS_EXPORT": Option((bool,), False),
    "METRICS": {
        # Who may read /metrics (automate.observability.metrics.allowed): these networks,
        # or a scrape with "Authorization: Bearer <token>" when a token is set. None by
        # default: behind a proxy on the same machine every visitor comes from 127.0.0.1.
        "allowed_networks": Option((list,), [], _networks),
        "token": Option((str,), ""),
    },
}


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("number" if t is float else t.__name__ for t in types if t is not int) or (
        "int"
    )


def _check_option(name: str, option: Option, value: Any) -> str | None:
    # bool is a subclass of int: True is not a valid batch size.
    if isinstance(value, bool) and bool not in option.types:
        return f"{name} must be {_type_name(option.types)}, not a bool"
    if not isinstance(value, option.types):
        return f"{name} must be {_type_name(option.types)}, not {type(value).__name__}"
    if option.check is not None:
        problem = option.check(value)
        if problem:
            return f"{name} {problem}"
    return None


def validate(user: Any) -> list[str]:
    """Return one message per problem in a ``DJANGO_AUTOMATE`` value (empty when valid)."""
    if not isinstance(user, Mapping):
        return [f"DJANGO_AUTOMATE must be a dict, not {type(user).__name__}"]
    problems: list[str] = []
    for key, value in user.items():
        spec = SCHEMA.get(key)
        name = f"DJANGO_AUTOMATE[{key!r}]"
        if spec is None:
            problems.append(f"{name} is not a known setting (known: {', '.join(SCHEMA)})")
        elif isinstance(spec, dict):
            if not isinstance(value, Mapping):
                problems.append(f"{name} must be a dict, not {type(value).__name__}")
                continue
            for sub_key, sub_value in value.items():
                sub_name = f"{name}[{sub_key!r}]"
                option = spec.get(sub_key)
                if option is None:
                    problems.append(f"{sub_name} is not a known setting (known: {', '.join(spec)})")
                    continue
                problem = _check_option(sub_name, option, sub_value)
                if problem:
                    problems.append(problem)
        else:
            problem = _check_option(name, spec, value)
            if problem:
                problems.append(problem)
    if not problems:
        problems.extend(_retention_problems(user.get("RETENTION", {})))
    return problems


def _retention_problems(user: Mapping[str, Any]) -> list[str]:
    """Audit entries are kept longest: ``audit_days`` at least ``runs_days``,
    ``events_days`` and ``dead_letter_days``."""
    spec = SCHEMA["RETENTION"]
    assert isinstance(spec, dict)
    others = ("runs_days", "events_days", "dead_letter_days")
    days = {key: user.get(key, spec[key].default) for key in ("audit_days", *others)}
    return [
        f"DJANGO_AUTOMATE['RETENTION']['audit_days'] ({days['audit_days']}) must be at least "
        f"{other} ({days[other]}): audit entries are kept longest"
        for other in others
        if days["audit_days"] < days[other]
    ]


def defaults() -> dict[str, Any]:
    """The full settings tree with every default filled in."""
    tree: dict[str, Any] = {}
    for key, spec in SCHEMA.items():
        if isinstance(spec, dict):
            tree[key] = {sub: copy.deepcopy(opt.default) for sub, opt in spec.items()}
        else:
            tree[key] = copy.deepcopy(spec.default)
    return tree


def get(section_or_key: str, key: str | None = None) -> Any:
    """Read one effective setting: ``get("ENABLED")`` or ``get("EXECUTION", "batch_size")``.

    Settings are read on every call (cheap), so ``override_settings`` works in tests.
    """
    user = getattr(django_settings, "DJANGO_AUTOMATE", {}) or {}
    spec = SCHEMA[section_or_key]
    if key is None:
        if isinstance(spec, dict):
            merged = {sub: copy.deepcopy(opt.default) for sub, opt in spec.items()}
            merged.update(user.get(section_or_key, {}))
            return merged
        return user.get(section_or_key, spec.default)
    assert isinstance(spec, dict), f"{section_or_key} has no sub-keys"
    return user.get(section_or_key, {}).get(key, spec[key].default)
