"""Writing the audit log: one call per thing a person (or the system) did."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from automate.governance.models import AuditLogEntry
from automate.tenants.models import Tenant
from automate.typing import UserType


def record(
    *,
    action: str,
    resource_type: str,
    resource_id: object = "",
    actor: UserType | AnonymousUser | None = None,
    tenant: Tenant | None = None,
    details: dict[str, Any] | None = None,
    trace_id: str = "",
) -> AuditLogEntry:
    """Append an audit entry; ``details`` are redacted before they are written."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditLogEntry.objects.create(
        tenant=tenant,
        actor_id=user.pk if user is not None else None,
        actor_repr=user.get_username() if user is not None else "system",
        action=action,
        resource_type=resource_type,
        resource_id=str(resource_id),
        details=details or {},
        trace_id=trace_id,
    )
