"""The django_model connector reads and writes only the run's tenant's rows.

A model declares its tenant field in the allow-list; on a site with more than one tenant a
model without one is refused, at publish and at run time; a single-tenant site needs no
configuration.
"""

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings

from automate.checks import check_django_model_options
from automate.connectors import ConnectorError, ConnectorInputError, ExecutionContext
from automate.connectors.builtins.django_model import DjangoModelConnector
from automate.events.services import record_event
from automate.execution.models import ExecutionRun
from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.services import publish_version
from demo_crm.models import Customer
from tests.factories import make_published, make_tenant, make_workflow

pytestmark = pytest.mark.django_db

SCOPED = {
    "CONNECTOR_OPTIONS": {
        "django_model": {
            "models": [
                {"model": "demo_crm.Customer", "tenant_field": "tenant"},
                {"model": "auth.User", "tenant_field": "last_name"},  # a text tenant field
                {"model": "automate.Event", "tenant_field": "tenant"},
                {"model": "automate.ExecutionRun", "tenant_field": "tenant"},
                "auth.Group",  # no tenant field
            ]
        }
    }
}


@pytest.fixture(autouse=True)
def scoped_settings():
    with override_settings(DJANGO_AUTOMATE=SCOPED):
        yield


@pytest.fixture
def alpha():
    return make_tenant("alpha")


@pytest.fixture
def bravo():
    return make_tenant("bravo")


def run(tenant, action, params, node_id="save"):
    ctx = ExecutionContext(run_id=f"run-{tenant.slug}", node_id=node_id, tenant=tenant.slug)
    return DjangoModelConnector().run(action, params, ctx)


def customer(tenant, stripe_id, **fields):
    return Customer.objects.create(tenant=tenant, stripe_id=stripe_id, **fields)


# --- rows are scoped, in both directions ------------------------------------------------------


@pytest.mark.parametrize("direction", ["alpha->bravo", "bravo->alpha"])
def test_update_cannot_reach_another_tenants_row(alpha, bravo, direction):
    me, other = (alpha, bravo) if direction == "alpha->bravo" else (bravo, alpha)
    theirs = customer(other, "cus_1", email="theirs@example.com")
    for lookup in ({"stripe_id": "cus_1"}, {"pk": theirs.pk}, {"email": "theirs@example.com"}):
        with pytest.raises(ConnectorError) as caught:
            run(
                me,
                "update",
                {"model": "demo_crm.Customer", "lookup": lookup, "fields": {"email": "x@e.com"}},
            )
        assert caught.value.code == "record_not_found"
    theirs.refresh_from_db()
    assert theirs.email == "theirs@example.com"


@pytest.mark.parametrize("action", ["get_or_create", "update_or_create"])
def test_find_or_create_finds_only_the_tenants_own_row(alpha, bravo, action):
    theirs = customer(bravo, "cus_1", email="bravo@example.com")
    output = run(
        alpha,
        action,
        {
            "model": "demo_crm.Customer",
            "lookup": {"stripe_id": "cus_1"},
            "fields": {"email": "alpha@example.com"},
        },
    )
    assert output["created"] is True
    assert output["fields"]["tenant"] == alpha.pk
    ours = Customer.objects.get(tenant=alpha, stripe_id="cus_1")
    assert ours.email == "alpha@example.com"
    theirs.refresh_from_db()
    assert theirs.email == "bravo@example.com"
    # The second time, alpha's row is the one found (and, for update_or_create, changed).
    again = run(
        alpha,
        action,
        {
            "model": "demo_crm.Customer",
            "lookup": {"stripe_id": "cus_1"},
            "fields": {"email": "alpha2@example.com"},
        },
    )
    assert (again["created"], again["pk"]) == (False, ours.pk)
    assert Customer.objects.filter(stripe_id="cus_1").count() == 2


def test_created_rows_belong_to_the_runs_tenant(alpha, bravo):
    a = run(alpha, "create", {"model": "demo_crm.Customer", "fields": {"stripe_id": "c"}})
    b = run(bravo, "create", {"model": "demo_crm.Customer", "fields": {"stripe_id": "c"}})
    assert Customer.objects.get(pk=a["pk"]).tenant == alpha
    assert Customer.objects.get(pk=b["pk"]).tenant == bravo


def test_an_idempotent_create_finds_only_its_own_tenants_row(alpha, bravo):
    params = {
        "model": "demo_crm.Customer",
        "fields": {"stripe_id": "cus_9"},
        "idempotency_field": "last_invoice",
    }
    first = run(alpha, "create", params)
    again = run(alpha, "create", params)
    assert (again["created"], again["pk"]) == (False, first["pk"])
    # The same step key in another tenant's run is another row.
    other = run(bravo, "create", params)
    assert other["created"] is True
    assert Customer.objects.get(pk=other["pk"]).tenant == bravo


@pytest.mark.parametrize(
    ("action", "params", "path"),
    [
        ("create", {"fields": {"stripe_id": "c", "tenant": "BRAVO"}}, "inputs.fields.tenant"),
        ("create", {"fields": {"stripe_id": "c", "tenant_id": "BRAVO"}}, "inputs.fields.tenant"),
        (
            "update",
            {"lookup": {"stripe_id": "c"}, "fields": {"tenant": "BRAVO"}},
            "inputs.fields.tenant",
        ),
        (
            "get_or_create",
            {"lookup": {"stripe_id": "c", "tenant": "BRAVO"}},
            "inputs.lookup.tenant",
        ),
        (
            "create",
            {"fields": {"stripe_id": "c"}, "idempotency_field": "tenant"},
            "inputs.idempotency_field",
        ),
    ],
)
def test_the_tenant_field_cannot_be_named_in_the_inputs(alpha, bravo, action, params, path):
    customer(alpha, "c")
    params = {
        "model": "demo_crm.Customer",
        **{
            key: {k: bravo.pk if v == "BRAVO" else v for k, v in value.items()}
            if isinstance(value, dict)
            else value
            for key, value in params.items()
        },
    }
    with pytest.raises(ConnectorInputError) as caught:
        run(alpha, action, params)
    assert path in [problem["path"] for problem in caught.value.errors]
    assert "tenant" in str(caught.value)
    assert not Customer.objects.filter(tenant=bravo).exists()
    assert Customer.objects.get(stripe_id="c").tenant == alpha


def test_a_text_tenant_field_holds_the_tenant_slug(alpha, bravo):
    created = run(
        alpha, "create", {"model": "auth.User", "fields": {"username": "ada", "password": "!"}}
    )
    assert User.objects.get(pk=created["pk"]).last_name == "alpha"
    User.objects.create(username="bob", last_name="bravo", email="bob@example.com")
    with pytest.raises(ConnectorError) as caught:
        run(
            alpha,
            "update",
            {"model": "auth.User", "lookup": {"username": "bob"}, "fields": {"email": "x@e.com"}},
        )
    assert caught.value.code == "record_not_found"
    assert User.objects.get(username="bob").email == "bob@example.com"


def test_a_foreign_key_must_point_at_a_row_of_the_same_tenant(alpha, bravo):
    version = make_published(slug="wf", tenant=alpha)
    ours, _ = record_event(type="t", payload={}, tenant=alpha, enqueue=False)
    theirs, _ = record_event(type="t", payload={}, tenant=bravo, enqueue=False)
    fields = {
        "workflow_version": version.pk,
        "trace_id": "t" * 32,
    }
    with pytest.raises(ConnectorInputError) as caught:
        run(
            alpha,
            "create",
            {"model": "automate.ExecutionRun", "fields": {**fields, "event": str(theirs.pk)}},
        )
    assert [p["path"] for p in caught.value.errors] == ["inputs.fields.event"]
    assert "of this workflow's tenant" in caught.value.errors[0]["message"]
    assert not ExecutionRun.objects.exists()
    output = run(
        alpha,
        "create",
        {"model": "automate.ExecutionRun", "fields": {**fields, "event": str(ours.pk)}},
    )
    assert ExecutionRun.objects.get(pk=output["pk"]).tenant == alpha


# --- models without a tenant field ------------------------------------------------------------


@pytest.mark.parametrize("action", ["create", "get_or_create", "update"])
def test_an_unscoped_model_is_refused_on_a_multi_tenant_site(alpha, bravo, action):
    Group.objects.create(name="Ops")
    params = {"model": "auth.Group", "fields": {"name": "Sales"}}
    if action != "create":
        params["lookup"] = {"name": "Ops"}
    with pytest.raises(ConnectorError) as caught:
        run(alpha, action, params)
    assert caught.value.code == "model_not_tenant_scoped"
    assert caught.value.retryable is False
    assert "declares no tenant field" in caught.value.message
    assert '"tenant_field"' in caught.value.message
    assert list(Group.objects.values_list("name", flat=True)) == ["Ops"]


@pytest.mark.parametrize("tenants", [0, 1])
def test_a_single_tenant_site_needs_no_tenant_field(tenants):
    if tenants:
        make_tenant("only")
    ctx = ExecutionContext(run_id="r", node_id="n", tenant="only")
    output = DjangoModelConnector().run(
        "create", {"model": "auth.Group", "fields": {"name": "Ops"}}, ctx
    )
    assert output["created"] is True
    with override_settings(
        DJANGO_AUTOMATE={"CONNECTOR_OPTIONS": {"django_model": {"models": ["auth.Group"]}}}
    ):
        DjangoModelConnector().run(
            "update",
            {"model": "auth.Group", "lookup": {"name": "Ops"}, "fields": {"name": "Ops2"}},
            ctx,
        )
    assert Group.objects.get().name == "Ops2"


def _graph(model):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "save",
                "type": "action",
                "connector": "django_model",
                "action": "create",
                "inputs": {"model": model, "fields": {"name": "x"}},
            },
        ],
        "edges": [{"source": "trigger", "target": "save"}],
    }


@pytest.mark.parametrize("model", ["auth.Group", "AUTH.group"])
def test_publishing_an_unscoped_model_is_refused_on_a_multi_tenant_site(alpha, bravo, model):
    workflow = make_workflow(slug="wf", tenant=alpha, graph=_graph(model))
    with pytest.raises(WorkflowValidationError) as caught:
        publish_version(workflow=workflow)
    problems = caught.value.details["problems"]
    assert [(p["node_id"], p["field"]) for p in problems] == [("save", "inputs.model")]
    assert "declares no tenant field" in problems[0]["message"]
    assert not workflow.versions.exists()


@pytest.mark.parametrize("model", ["demo_crm.Customer", "{{ event.payload.model }}"])
def test_scoped_and_templated_models_publish_on_a_multi_tenant_site(alpha, bravo, model):
    workflow = make_workflow(slug="wf", tenant=alpha, graph=_graph(model))
    assert publish_version(workflow=workflow).version_num == 1


def test_an_unscoped_model_publishes_on_a_single_tenant_site(alpha):
    workflow = make_workflow(slug="wf", tenant=alpha, graph=_graph("auth.Group"))
    assert publish_version(workflow=workflow).version_num == 1


def test_a_tenant_field_that_does_not_exist_is_refused_at_publish(alpha):
    with override_settings(
        DJANGO_AUTOMATE={
            "CONNECTOR_OPTIONS": {
                "django_model": {"models": [{"model": "auth.Group", "tenant_field": "owner"}]}
            }
        }
    ):
        workflow = make_workflow(slug="wf", tenant=alpha, graph=_graph("auth.Group"))
        with pytest.raises(WorkflowValidationError) as caught:
            publish_version(workflow=workflow)
    assert "auth.Group has no field 'owner'" in str(caught.value.details)


# --- the option is checked at start-up --------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"model": "auth.Group", "tenant_field": "nope"}, "auth.Group has no field 'nope'"),
        (
            {"model": "automate.ExecutionRun", "tenant_field": "event"},
            "is a foreign key to",
        ),
        ({"model": "auth.User", "tenant_field": "is_staff"}, "must be a foreign key to"),
        ({"model": "auth.Group"}, "['tenant_field'] must be a field name"),
        ({"model": "auth.Group", "tenant_field": "name", "x": 1}, "unknown keys ['x']"),
        ("crm.Missing", "is not installed"),
        (42, 'must be "app_label.ModelName"'),
    ],
)
def test_the_system_check_names_a_bad_models_option(entry, message):
    with override_settings(
        DJANGO_AUTOMATE={"CONNECTOR_OPTIONS": {"django_model": {"models": [entry]}}}
    ):
        errors = check_django_model_options()
    assert [e.id for e in errors] == ["automate.E030"]
    assert message in errors[0].msg
    assert "['models'][0]" in errors[0].msg


def test_the_system_check_accepts_the_documented_forms():
    assert check_django_model_options() == []  # SCOPED, from the fixture
