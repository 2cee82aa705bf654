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


#: Every studio permission: an author who may edit, publish and operate runs.
STUDIO_PERMS = (
    "automate.use_studio",
    "automate.change_workflow",
    "automate.publish_workflow",
    "automate.operate_run",
)
PASSWORD = "pw-for-tests-only"


def login_for(name: str) -> str:
    """What a user called ``name`` logs in with under the configured user model: ``name``,
    or ``name@example.com`` when ``USERNAME_FIELD`` is an email field."""
    from django.db.models import EmailField

    User = get_user_model()
    field = User._meta.get_field(User.USERNAME_FIELD)
    if isinstance(field, EmailField) and "@" not in name:
        return f"{name}@example.com"
    return name


def make_user(
    username: str | None = None,
    *,
    staff: bool = False,
    superuser: bool = False,
    perms: list[str] | tuple[str, ...] | None = None,
) -> Any:
    """A user of AUTH_USER_MODEL (``auth.User`` or the custom-user tier's email user);
    ``username`` becomes its ``USERNAME_FIELD`` value (see ``login_for``)."""
    from django.contrib.auth.models import Permission

    User = get_user_model()
    user = User.objects.create_user(
        **{User.USERNAME_FIELD: login_for(username or f"user{next(_seq)}")},
        password=PASSWORD,
        is_staff=staff or superuser,
        is_superuser=superuser,
    )
    for perm in perms or []:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def make_studio_user(username: str | None = None, **kwargs: Any) -> Any:
    """A user holding every studio permission (and no staff status: it needs none)."""
    return make_user(username, perms=[*STUDIO_PERMS, *kwargs.pop("perms", [])], **kwargs)


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
