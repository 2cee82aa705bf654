"""The admin shows and changes only the user's tenants (superusers see every tenant).

Every registered admin of the ``automate`` app is checked the same way, so an admin added
later is covered without a new test: staff of tenant A with the model's view permission
list only A's rows, open A's rows, get 404 for B's, and are offered only A's rows in every
form choice, autocomplete answer and list filter.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import FieldDoesNotExist
from django.forms import ModelChoiceField
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from automate.admin_tenancy import TenantScopedAdmin
from automate.api.tokens import create_token
from automate.events.services import record_event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.governance import audit
from automate.governance.models import LLMBudgetDay, LLMUsage, StoredSecret
from automate.runtime import run_workflow
from automate.tenants.scoping import (
    OPERATOR_MODELS,
    TENANT_PATHS,
    UNOWNED_MODELS,
    owning_tenant_id,
)
from automate.triggers.models import ScheduleState, WebhookEndpoint
from automate.workflows.models import Workflow
from tests.factories import make_published, make_tenant, make_user

pytestmark = pytest.mark.django_db

SECRET_HAS_TENANT = any(f.name == "tenant" for f in StoredSecret._meta.get_fields())
needs_secret_tenant = pytest.mark.skipif(
    not SECRET_HAS_TENANT,
    reason="StoredSecret.tenant is added by the secrets part of issue 9 (branch h-secrets)",
)


def automate_admins():
    """The tenant-scoped admins: every automate admin but the operators' (the running
    workers, no tenant's data: tests/integration/execution/test_liveness_admin.py)."""
    return sorted(
        (
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label == "automate"
            and model._meta.label_lower not in OPERATOR_MODELS
        ),
        key=lambda pair: pair[0]._meta.model_name,
    )


ADMIN_MODELS = [model._meta.model_name for model, _ in automate_admins()]


def admin_of(model_name):
    return next(a for m, a in automate_admins() if m._meta.model_name == model_name)


def _owned_rows(tenant, n):
    """One row of every tenant-owned model for ``tenant``."""
    version = make_published(slug=f"wf-{n}", tenant=tenant)
    run = run_workflow(f"wf-{n}", {"n": n}, tenant=tenant)
    StepRun.objects.create(run=run, node_id="step", status=StepRun.Status.FAILED)
    event, _ = record_event(
        type="invoice.paid", source="stripe", payload={"n": n}, tenant=tenant, enqueue=False
    )
    OutboxJob.objects.create(
        tenant=tenant, kind=OutboxJob.Kind.EVENT, event=event, status=OutboxJob.Status.DEAD
    )
    audit.record(action="test", resource_type="thing", tenant=tenant)
    WebhookEndpoint.objects.create(
        tenant=tenant, slug=f"hook-{n}", name=f"Hook {n}", secret_name="HOOK"
    )
    ScheduleState.objects.create(workflow=version.workflow, last_tick_at=timezone.now())
    day = dt.date(2026, 1, n)
    LLMUsage.objects.create(tenant=tenant, day=day, model="gpt", cost_usd=Decimal("0.5"))
    LLMBudgetDay.objects.create(tenant=tenant, day=day, spent_usd=Decimal("0.5"))
    if SECRET_HAS_TENANT:
        StoredSecret.objects.create(name=f"SECRET_{n}", ciphertext="x", tenant=tenant)
    create_token(user=make_user(), tenant=tenant, name=f"token {n}", scopes=["read"])
    return version


@pytest.fixture
def tenants():
    a, b = make_tenant("alpha"), make_tenant("bravo")
    _owned_rows(a, 1)
    _owned_rows(b, 2)
    return a, b


def staff_of(tenant, *perms):
    user = make_user(staff=True, perms=list(perms))
    tenant.members.add(user)
    return user


def owner(model, obj):
    return owning_tenant_id(obj, TENANT_PATHS[model._meta.label_lower])


def test_every_model_of_the_app_says_which_tenant_owns_it():
    from django.apps import apps

    for model in apps.get_app_config("automate").get_models():
        label = model._meta.label_lower
        assert (label in TENANT_PATHS) != (label in UNOWNED_MODELS), label


def test_every_registered_automate_admin_is_tenant_scoped():
    assert len(ADMIN_MODELS) >= 12
    for model, model_admin in automate_admins():
        assert isinstance(model_admin, TenantScopedAdmin), model
        assert model._meta.label_lower not in UNOWNED_MODELS, model


@pytest.mark.parametrize("model_name", ADMIN_MODELS)
def test_staff_list_and_open_only_their_tenants_rows(client, tenants, model_name):
    if model_name == "storedsecret" and not SECRET_HAS_TENANT:
        pytest.skip("StoredSecret.tenant comes from the secrets part of issue 9")
    alpha, bravo = tenants
    model_admin = admin_of(model_name)
    model = model_admin.model
    client.force_login(staff_of(alpha, f"automate.view_{model_name}"))

    page = client.get(reverse(f"admin:automate_{model_name}_changelist"))
    assert page.status_code == 200
    shown = list(page.context["cl"].result_list)
    everything = list(model._default_manager.all())
    assert {owner(model, o) for o in everything} >= {alpha.pk, bravo.pk}
    assert shown, "tenant alpha's own rows are listed"
    assert {owner(model, o) for o in shown} == {alpha.pk}
    assert len(shown) == sum(owner(model, o) == alpha.pk for o in everything)

    theirs = next(o for o in everything if owner(model, o) == bravo.pk)
    ours = next(o for o in everything if owner(model, o) == alpha.pk)
    change = reverse(f"admin:automate_{model_name}_change", args=[theirs.pk])
    assert client.get(change).status_code == 404
    history = reverse(f"admin:automate_{model_name}_history", args=[theirs.pk])
    assert client.get(history).status_code == 404
    assert bravo.name not in page.content.decode()
    mine = client.get(reverse(f"admin:automate_{model_name}_change", args=[ours.pk]))
    assert mine.status_code == 200


@pytest.mark.parametrize("model_name", ADMIN_MODELS)
def test_form_choices_offer_only_the_users_tenants(tenants, model_name):
    alpha, _bravo = tenants
    model_admin = admin_of(model_name)
    request = RequestFactory().get("/")
    request.user = staff_of(alpha, f"automate.add_{model_name}", f"automate.change_{model_name}")
    form_class = model_admin.get_form(request, None)
    checked = 0
    for name, field in form_class.base_fields.items():
        if not isinstance(field, ModelChoiceField):
            continue
        path = TENANT_PATHS.get(field.queryset.model._meta.label_lower)
        if path is None:
            continue
        owners = {owning_tenant_id(o, path) for o in field.queryset}
        assert owners <= {alpha.pk}, (model_name, name)
        checked += 1
    if model_name in {"workflow", "webhookendpoint"}:
        assert checked, "the tenant choice is checked"


def test_another_tenants_id_posted_to_a_form_is_refused(client, tenants):
    alpha, bravo = tenants
    client.force_login(staff_of(alpha, "automate.add_webhookendpoint"))
    page = client.post(
        reverse("admin:automate_webhookendpoint_add"),
        {
            "tenant": bravo.pk,
            "slug": "sneaky",
            "name": "Sneaky",
            "scheme": "generic",
            "secret_name": "X",
            "signature_header": "X-Signature",
            "is_active": "on",
        },
    )
    assert page.status_code == 200
    assert "Select a valid choice" in page.content.decode()
    assert not WebhookEndpoint.objects.filter(slug="sneaky").exists()
    page = client.post(
        reverse("admin:automate_webhookendpoint_add"),
        {
            "tenant": alpha.pk,
            "slug": "ours",
            "name": "Ours",
            "scheme": "generic",
            "secret_name": "X",
            "signature_header": "X-Signature",
            "is_active": "on",
        },
    )
    assert page.status_code == 302
    assert WebhookEndpoint.objects.get(slug="ours").tenant == alpha


def test_another_tenants_workflow_cannot_be_changed(client, tenants):
    alpha, bravo = tenants
    theirs = Workflow.objects.get(tenant=bravo)
    client.force_login(staff_of(alpha, "automate.view_workflow", "automate.change_workflow"))
    url = reverse("admin:automate_workflow_change", args=[theirs.pk])
    response = client.post(url, {"name": "Taken", "slug": "taken", "tenant": alpha.pk})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name != "Taken"


@pytest.mark.parametrize("model_name", ["workflow", "webhookendpoint", "event"])
def test_autocomplete_answers_only_the_users_tenants(client, tenants, model_name):
    alpha, _bravo = tenants
    client.force_login(staff_of(alpha, f"automate.view_{model_name}", "automate.view_tenant"))
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "automate", "model_name": model_name, "field_name": "tenant", "term": ""},
    )
    assert response.status_code == 200
    names = [row["text"] for row in response.json()["results"]]
    assert names == [alpha.name]


@pytest.mark.parametrize(
    ("model_name", "param", "theirs"),
    [
        ("event", "tenant__id__exact", "bravo"),
        ("workflow", "tenant__id__exact", "bravo"),
        ("executionrun", "workflow", "wf-2"),
    ],
)
def test_list_filters_offer_only_the_users_tenants(client, tenants, model_name, param, theirs):
    alpha, bravo = tenants
    client.force_login(staff_of(alpha, f"automate.view_{model_name}"))
    page = client.get(reverse(f"admin:automate_{model_name}_changelist")).content.decode()
    assert "Bravo" not in page
    if model_name == "executionrun":
        assert Workflow.objects.get(tenant=bravo).name not in page
    # Filtering by another tenant's id shows nothing of theirs either.
    other_id = bravo.pk if theirs == "bravo" else Workflow.objects.get(tenant=bravo).pk
    response = client.get(reverse(f"admin:automate_{model_name}_changelist"), {param: other_id})
    if response.status_code == 200:
        model = admin_of(model_name).model
        shown = response.context["cl"].result_list
        assert {owner(model, o) for o in shown} <= {alpha.pk}


def test_superusers_still_see_every_tenant(client, tenants):
    client.force_login(make_user(superuser=True))
    page = client.get(reverse("admin:automate_executionrun_changelist"))
    assert len(page.context["cl"].result_list) == ExecutionRun.objects.count() == 2


# --- actions ----------------------------------------------------------------------------------


def _replay(client, job):
    return client.post(
        reverse("admin:automate_outboxjob_changelist"),
        {"action": "replay_dead_jobs", ACTION_CHECKBOX_NAME: [job.pk], "index": 0},
    )


def test_view_only_staff_cannot_replay_even_their_own_dead_jobs(client, tenants):
    alpha, _bravo = tenants
    job = OutboxJob.objects.get(tenant=alpha, status=OutboxJob.Status.DEAD)
    client.force_login(staff_of(alpha, "automate.view_outboxjob"))
    page = client.get(reverse("admin:automate_outboxjob_changelist"))
    assert "replay_dead_jobs" not in page.content.decode()
    _replay(client, job)
    job.refresh_from_db()
    assert job.status == OutboxJob.Status.DEAD


def test_change_permission_alone_offers_no_replay(client, tenants):
    alpha, _bravo = tenants
    ours = OutboxJob.objects.get(tenant=alpha, status=OutboxJob.Status.DEAD)
    client.force_login(staff_of(alpha, "automate.view_outboxjob", "automate.change_outboxjob"))
    page = client.get(reverse("admin:automate_outboxjob_changelist"))
    assert "replay_dead_jobs" not in page.content.decode()
    _replay(client, ours)
    ours.refresh_from_db()
    assert ours.status == OutboxJob.Status.DEAD


def test_operate_run_permission_replays_only_the_users_tenants_jobs(client, tenants):
    alpha, bravo = tenants
    ours = OutboxJob.objects.get(tenant=alpha, status=OutboxJob.Status.DEAD)
    theirs = OutboxJob.objects.get(tenant=bravo, status=OutboxJob.Status.DEAD)
    client.force_login(staff_of(alpha, "automate.view_outboxjob", "automate.operate_run"))
    page = client.get(reverse("admin:automate_outboxjob_changelist"))
    assert "replay_dead_jobs" in page.content.decode()
    _replay(client, theirs)
    theirs.refresh_from_db()
    assert theirs.status == OutboxJob.Status.DEAD
    _replay(client, ours)
    ours.refresh_from_db()
    assert ours.status == OutboxJob.Status.PENDING


def test_every_action_of_every_automate_admin_needs_more_than_view(tenants):
    """View-only staff are offered no action at all, on any automate admin."""
    alpha, _bravo = tenants
    for model, model_admin in automate_admins():
        name = model._meta.model_name
        request = RequestFactory().get("/")
        request.user = staff_of(alpha, f"automate.view_{name}")
        assert model_admin.get_actions(request) == {}, name
        for action in model_admin.actions or []:
            needs = set(getattr(action, "allowed_permissions", ()))
            assert needs - {"view"}, (name, action)


def test_tenant_paths_resolve_to_real_fields():
    for label, path in TENANT_PATHS.items():
        if label == "automate.storedsecret" and not SECRET_HAS_TENANT:
            continue
        from django.apps import apps

        model = apps.get_model(label)
        if path == "pk":
            continue
        current = model
        for part in path.split("__"):
            try:
                current = current._meta.get_field(part).related_model
            except FieldDoesNotExist:
                pytest.fail(f"{label}: {path} does not resolve")
        assert current._meta.label == "automate.Tenant", label


@needs_secret_tenant
def test_stored_secrets_of_another_tenant_are_hidden(client, tenants):
    alpha, _bravo = tenants
    client.force_login(staff_of(alpha, "automate.view_storedsecret"))
    page = client.get(reverse("admin:automate_storedsecret_changelist")).content.decode()
    assert "SECRET_1" in page
    assert "SECRET_2" not in page
    theirs = StoredSecret.objects.get(name="SECRET_2")
    assert (
        client.get(reverse("admin:automate_storedsecret_change", args=[theirs.pk])).status_code
        == 404
    )


def test_only_superusers_manage_tenant_members(client, tenants):
    alpha, bravo = tenants
    outsider = staff_of(bravo)
    outsider.username = "bravo-only-person"
    outsider.save()
    client.force_login(staff_of(alpha, "automate.view_tenant", "automate.change_tenant"))
    page = client.get(reverse("admin:automate_tenant_change", args=[alpha.pk])).content.decode()
    assert "bravo-only-person" not in page
    client.post(
        reverse("admin:automate_tenant_change", args=[alpha.pk]),
        {"slug": "alpha", "name": "Alpha", "members": [outsider.pk]},
    )
    assert not alpha.members.filter(pk=outsider.pk).exists()


def test_an_admin_of_a_model_nobody_classified_refuses_to_start():
    from django.core.exceptions import ImproperlyConfigured

    from automate.governance.models import RateLimitWindow

    with pytest.raises(ImproperlyConfigured, match="TENANT_PATHS"):
        TenantScopedAdmin(RateLimitWindow, admin.site)


def test_a_tenant_path_that_does_not_resolve_shows_nothing(tenants):
    from automate.tenants.scoping import scope_to_tenants

    alpha, _bravo = tenants
    for path in ("owner", "workflow__owner", "created_by"):
        scoped = scope_to_tenants(Workflow.objects.all(), [alpha], path=path)
        assert list(scoped) == []
    assert scope_to_tenants(Workflow.objects.all(), [alpha], path="tenant").count() == 1
