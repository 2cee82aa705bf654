"""Publish refuses a step whose secrets its workflow's tenant cannot resolve.

A reference to a secret that does not exist (a typo, a secret never created, an env
secret not granted to the tenant) would otherwise be found only when the first event
arrives, as a failed run. Publishing looks each name up for the workflow's tenant, the
same way a run does, and names the step and the secret; the value is read and dropped,
never returned, stored or shown.
"""

from __future__ import annotations

from typing import Any

from automate.exceptions import AutomateError
from automate.tenants.models import Tenant

__all__ = ["secret_problem", "unresolvable_secret_problems"]


def secret_problem(name: str, *, tenant: Tenant) -> str | None:
    """Why ``tenant`` cannot resolve the secret ``name``, or ``None`` when it can."""
    from automate.governance.secret_grants import require_env_grant, secret_owner
    from automate.governance.secrets import get_backend

    try:
        backend = get_backend()
        owner = secret_owner(tenant, name=name)
        if backend.tenant_scoped:
            backend.get_tenant_secret(name, owner)
        else:
            require_env_grant(name, owner)
            backend.get_secret(name)
    except AutomateError as exc:
        return exc.message
    return None


def unresolvable_secret_problems(*, graph: Any, tenant: Tenant) -> list[dict[str, str]]:
    """One problem per (step, secret name) the tenant cannot resolve.

    Names come from ``{"$secret": …}``/``"$secret:…"`` references and ``secrets.NAME`` in
    templates of each node's inputs. Malformed references and templates are reported by
    the other publish checks.
    """
    from automate.templates import secret_names

    problems: list[dict[str, str]] = []
    known: dict[str, str | None] = {}
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    for node in nodes if isinstance(nodes, list) else []:
        if not isinstance(node, dict) or not isinstance(node.get("inputs"), dict):
            continue
        node_id = str(node.get("id", ""))
        for name in sorted(secret_names(node["inputs"])):
            if name not in known:
                known[name] = secret_problem(name, tenant=tenant)
            if known[name] is not None:
                problems.append(
                    {
                        "node_id": node_id,
                        "field": "inputs",
                        "message": f"step {node_id!r} uses the secret {name!r}, which tenant "
                        f"{tenant.slug!r} cannot resolve: {known[name]}",
                    }
                )
    return problems
