"""Egress allowlist: the only hosts outbound calls may go to, for the site and per tenant.

``POLICY.egress_allowlist`` (default ``["*"]``: anywhere the SSRF rules allow) lists host
patterns such as ``"*.stripe.com"`` or ``"hooks.slack.com"``; a tenant listed in
``POLICY.tenant_egress_allowlists`` (``{"acme": ["hooks.slack.com"]}``) is narrowed
further: a host must match both lists. The SSRF rules of ``automate.governance.policy``
still apply on top: an allowed host that resolves to an internal address stays refused.

Checked twice:

* when a workflow is published, every literal URL (and the literal host of a URL whose
  path is a template) in a URL input (``literal_url_problems``);
* at request time, by the shared HTTP client (``automate.governance.http``) for every
  request and every redirect hop, whatever the connector. The tenant is the one of the
  step being run (``egress_scope``, set by ``ConnectorAdapter.run``); outside a step only
  the site-wide list applies.

A refused call raises ``EgressNotAllowed``: a non-retryable ``ConnectorError`` (and a
``PolicyViolation``) naming the host and the policy; the client audits it
(``egress.refused``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from automate import conf
from automate.connectors.exceptions import ConnectorError
from automate.governance.policy import (
    PolicyViolation,
    host_pattern_matches,
    normalise_host,
    split_host_pattern,
)

__all__ = [
    "GLOBAL_SETTING",
    "TENANT_SETTING",
    "EgressNotAllowed",
    "EgressPolicy",
    "EgressScope",
    "check_base_urls",
    "check_egress",
    "check_egress_url",
    "current_scope",
    "egress_scope",
    "is_url_input",
    "literal_url_problems",
    "pattern_problem",
    "policy_for",
    "record_refusal",
]

GLOBAL_SETTING = "POLICY.egress_allowlist"
TENANT_SETTING = "POLICY.tenant_egress_allowlists"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_TEMPLATE_MARKERS = ("{{", "{%", "{#")

logger = logging.getLogger("automate.policy")


class EgressNotAllowed(ConnectorError, PolicyViolation):
    """An outbound call to a host outside the egress allowlist (never retryable).

    ``code`` is ``egress_not_allowed``; the message names the host and the policy
    (setting) that refused it; ``details`` has ``host``, ``port``, ``policy``,
    ``allowed`` (that policy's patterns) and ``tenant``.
    """

    code = "egress_not_allowed"
    http_status = 403

    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(message, retryable=False, code=self.code, details=details)


# ---------------------------------------------------------------------------------------
# Who is calling
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EgressScope:
    """The step an outbound call is made for: its tenant (slug) and where it comes from."""

    tenant: str = ""
    connector: str = ""
    action: str = ""
    run_id: str = ""
    node_id: str = ""
    trace_id: str = ""


_scope: ContextVar[EgressScope | None] = ContextVar("automate_egress_scope", default=None)


@contextmanager
def egress_scope(scope: EgressScope) -> Iterator[EgressScope]:
    """Make outbound calls inside the block subject to ``scope.tenant``'s egress policy.

    A context variable: it follows the code of the block (and ``asyncio`` tasks it
    starts), not threads it starts itself.
    """
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def current_scope() -> EgressScope | None:
    """The scope of the step being run in this context, if any."""
    return _scope.get()


# ---------------------------------------------------------------------------------------
# The policy
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EgressPolicy:
    """The effective egress policy of one tenant (``tenant=""``: the site-wide one)."""

    site: tuple[str, ...]
    tenant: str = ""
    narrowed: tuple[str, ...] | None = None

    @property
    def restricted(self) -> bool:
        """False when every host is allowed (``"*"`` everywhere)."""
        return "*" not in self.site or (self.narrowed is not None and "*" not in self.narrowed)

    def refusal(self, host: str, port: int | None) -> EgressNotAllowed | None:
        """``None`` when ``host`` (normalised) and ``port`` are allowed, else the error."""
        shown = f"[{host}]" if ":" in host else host
        where = shown if port is None else f"{shown}:{port}"
        if not any(host_pattern_matches(host, p, port=port) for p in self.site):
            return _refused(where, host, port, GLOBAL_SETTING, self.site, self.tenant)
        if self.narrowed is not None and not any(
            host_pattern_matches(host, p, port=port) for p in self.narrowed
        ):
            setting = f"{TENANT_SETTING}[{self.tenant!r}]"
            return _refused(where, host, port, setting, self.narrowed, self.tenant)
        return None

    def describe(self) -> str:
        """One line for people: ``"Allowed hosts: *.stripe.com, hooks.slack.com"``."""
        if not self.restricted:
            return ""
        if self.narrowed is None or "*" in self.narrowed:
            return f"Allowed hosts: {_listed(self.site)}"
        if "*" in self.site:
            return f"Allowed hosts: {_listed(self.narrowed)}"
        return f"Allowed hosts: {_listed(self.narrowed)} (and only within {_listed(self.site)})"


def _listed(patterns: tuple[str, ...]) -> str:
    return ", ".join(patterns) if patterns else "none"


def _refused(
    where: str,
    host: str,
    port: int | None,
    setting: str,
    patterns: tuple[str, ...],
    tenant: str,
) -> EgressNotAllowed:
    return EgressNotAllowed(
        f"Outbound calls to {where} are not allowed: the host matches no pattern of the "
        f"egress allowlist {setting} ({_listed(patterns)}).",
        details={
            "host": host,
            "port": port,
            "policy": setting,
            "allowed": list(patterns),
            "tenant": tenant,
        },
    )


def policy_for(tenant: str | None = None) -> EgressPolicy:
    """The egress policy for ``tenant`` (a slug), read from settings on every call."""
    site = tuple(conf.get("POLICY", "egress_allowlist"))
    narrowed: tuple[str, ...] | None = None
    if tenant:
        per_tenant: Mapping[str, Any] = conf.get("POLICY", "tenant_egress_allowlists")
        if tenant in per_tenant:
            narrowed = tuple(per_tenant[tenant])
    return EgressPolicy(site=site, tenant=tenant or "", narrowed=narrowed)


def pattern_problem(pattern: Any) -> str | None:
    """Why ``pattern`` is not a valid host pattern, or ``None`` (for the settings checks)."""
    if not isinstance(pattern, str):
        return f"{pattern!r} is not a string"
    try:
        split_host_pattern(pattern)
    except ValueError as exc:
        return str(exc)
    return None


def check_egress(
    host: str,
    *,
    port: int | None = None,
    scheme: str = "https",
    tenant: str | None = None,
) -> None:
    """Raise ``EgressNotAllowed`` unless ``host`` may be called under the egress policy.

    ``host`` is as it appears in a URL (any spelling: it is normalised first, so
    ``API.Stripe.com.`` is ``api.stripe.com``); ``port`` defaults to the scheme's.
    ``tenant`` defaults to the tenant of the current ``egress_scope``. Raises
    ``PolicyViolation`` (``url_not_allowed``) for a host that is not valid at all.
    """
    if tenant is None:
        scope = _scope.get()
        tenant = scope.tenant if scope is not None else ""
    policy = policy_for(tenant)
    if not policy.restricted:
        return
    canonical, _ = normalise_host(host)
    effective_port = port if port is not None else _DEFAULT_PORTS.get(scheme.lower())
    error = policy.refusal(canonical, effective_port)
    if error is not None:
        raise error


def check_egress_url(url: str, *, tenant: str | None = None) -> None:
    """``check_egress`` for a whole URL (the SSRF rules are ``check_url``'s job)."""
    from automate.governance.policy import _split_host_port

    parts = urlsplit(url)
    host, port = _split_host_port(parts.netloc.rpartition("@")[2])
    check_egress(host, port=port, scheme=parts.scheme or "https", tenant=tenant)


def record_refusal(error: EgressNotAllowed) -> None:
    """Log and audit a refused outbound call (``egress.refused``), with its step."""
    from django.db import DatabaseError

    from automate.governance import audit
    from automate.tenants.models import Tenant

    scope = _scope.get() or EgressScope()
    details = {
        **error.details,
        "connector": scope.connector,
        "action": scope.action,
        "run_id": scope.run_id,
        "node_id": scope.node_id,
    }
    logger.warning("Egress refused: %s", error.message, extra={"trace_id": scope.trace_id})
    try:
        tenant = Tenant.objects.filter(slug=scope.tenant).first() if scope.tenant else None
        audit.record(
            action="egress.refused",
            resource_type="host",
            resource_id=error.details.get("host", ""),
            tenant=tenant,
            details=details,
            trace_id=scope.trace_id,
        )
    except DatabaseError:
        # The refusal itself stands; only its audit row is lost, and the log says so.
        logger.exception("Could not audit the refused outbound call to %s", details.get("host"))


# ---------------------------------------------------------------------------------------
# Publish-time checks
# ---------------------------------------------------------------------------------------

_URL_NAME = re.compile(r"(^|_)url$")


def is_url_input(name: str, schema: Mapping[str, Any]) -> bool:
    """Whether an action input holds a URL: ``"x-url": true``, or a string named
    ``url`` / ``*_url``."""
    if schema.get("x-url") is True:
        return True
    return schema.get("type") in (None, "string") and bool(_URL_NAME.search(name))


def _literal_host_part(value: str) -> str | None:
    """The URL whose scheme and host are literal, or None (a template decides the host)."""
    cut = min((value.find(m) for m in _TEMPLATE_MARKERS if m in value), default=-1)
    if cut == -1:
        return value
    head = value[:cut]
    _scheme, sep, rest = head.partition("://")
    if not sep or not any(c in rest for c in "/?#"):
        return None  # the template is in the scheme or the host: checked at request time
    return head


def literal_url_problems(*, graph: Any, tenant: str | None = None) -> list[dict[str, str]]:
    """URL inputs of action nodes whose literal host the egress policy refuses."""
    from automate.connectors import connector_exists, get_action

    policy = policy_for(tenant)
    if not policy.restricted:
        return []
    problems: list[dict[str, str]] = []
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or node.get("type") != "action":
            continue
        code, action, inputs = node.get("connector"), node.get("action"), node.get("inputs")
        if not (isinstance(code, str) and isinstance(action, str) and isinstance(inputs, dict)):
            continue
        if not connector_exists(code, action):
            continue
        properties = get_action(code, action).input_schema.get("properties") or {}
        for name, schema in properties.items():
            value = inputs.get(name)
            if not isinstance(value, str) or not isinstance(schema, Mapping):
                continue
            if not is_url_input(name, schema):
                continue
            literal = _literal_host_part(value)
            if literal is None:
                continue
            try:
                check_egress_url(literal, tenant=tenant or "")
            except EgressNotAllowed as exc:
                problems.append(
                    {
                        "node_id": str(node.get("id", "")),
                        "field": f"inputs.{name}",
                        "message": exc.message,
                    }
                )
            except (PolicyViolation, ValueError):
                continue  # not a URL at all: the step fails at run time, with its reason
    return problems


# ---------------------------------------------------------------------------------------
# Start-up check
# ---------------------------------------------------------------------------------------


def check_base_urls() -> list[Any]:
    """Warn when a built-in connector's configured base URL is off the egress allowlist.

    Every step of that connector would fail; better to hear it from ``manage.py check``.
    """
    from django.core.checks import Warning as CheckWarning

    from automate.connectors.builtins import llm, slack

    warnings: list[Any] = []
    if not policy_for(None).restricted:
        return warnings
    for code, url in (("slack", slack.base_url()), ("llm", llm.base_url())):
        try:
            check_egress_url(url, tenant="")
        except EgressNotAllowed as exc:
            warnings.append(
                CheckWarning(
                    f"The {code} connector's base URL is off the egress allowlist: {exc.message}",
                    hint=f"Add its host to {GLOBAL_SETTING}, or set "
                    f"CONNECTOR_OPTIONS['{code}']['base_url']; see docs/reference/policy.md.",
                    id="automate.W030",
                )
            )
        except (PolicyViolation, ValueError):
            continue  # a malformed base URL is the connector's own check
    return warnings
