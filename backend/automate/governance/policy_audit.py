"""Policy changes are audited: policies live in settings, so the change is noticed when a
worker starts with different ones than the last recorded, and written then."""

from __future__ import annotations

from typing import Any

from automate import conf
from automate.governance import audit
from automate.governance.models import AuditLogEntry


def current_policy() -> dict[str, Any]:
    return dict(conf.get("POLICY"))


def record_policy_if_changed() -> AuditLogEntry | None:
    """Write a ``policy.change`` entry when the effective POLICY differs from the last one."""
    policy = current_policy()
    last = (
        AuditLogEntry.objects.filter(action="policy.change").order_by("-created_at", "-pk").first()
    )
    before = last.details.get("policy") if last else None
    if before == policy:
        return None
    changed = sorted(k for k in policy if before is None or before.get(k) != policy[k])
    return audit.record(
        action="policy.change",
        resource_type="policy",
        resource_id="POLICY",
        details={"policy": policy, "previous": before, "changed": changed},
    )
