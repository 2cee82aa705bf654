"""Small factories shared by the test tiers (plain functions; no factory library)."""

from __future__ import annotations

import itertools
from typing import Any

from django.contrib.auth import get_user_model

from automate.tenants.models import Tenant
from automate.workflows.models import Workflow, WorkflowVersion
from automate.workflows.services import create_workflow, publish_version

_seq = itertools.count(1)

INVOICE_TRIGGER = {"event_type": "invoice.paid", "source": "stripe"}
BIG_INVOICE_RULE = {">": [{"var": "amount"}, 1000]}


def make_user(
    username: str | None = None,
    *,
    staff: bool = False,
    superuser: bool = False,
    perms: list[str] | None = None,
) -> Any:
    from django.contrib.auth.models import Permission

    User = get_user_model()
    user = User.objects.create_user(
        username=username or f"user{next(_seq)}",
        password="pw-for-tests-only",
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    for perm in perms or []:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def make_tenant(slug: str | None = None) -> Tenant:
    slug = slug or f"tenant-{next(_seq)}"
    return Tenant.objects.create(slug=slug, name=slug.title())


def make_workflow(
    *, slug: str | None = None, tenant: Tenant | None = None, **kwargs: Any
) -> Workflow:
    kwargs.setdefault("trigger_spec", INVOICE_TRIGGER)
    kwargs.setdefault("rule_spec", BIG_INVOICE_RULE)
    kwargs.setdefault("graph", {"nodes": [{"id": "trigger", "type": "trigger"}], "edges": []})
    return create_workflow(
        name=kwargs.pop("name", None) or f"Workflow {next(_seq)}",
        slug=slug,
        tenant=tenant,
        **kwargs,
    )


def make_published(
    *, slug: str | None = None, tenant: Tenant | None = None, **kwargs: Any
) -> WorkflowVersion:
    workflow = make_workflow(slug=slug, tenant=tenant, **kwargs)
    return publish_version(workflow=workflow)
