"""The wizard's starter templates: each is a valid workflow file whose placeholders are
problems until filled, and publishes once they are; the gallery previews one and "Use
this template" opens a new draft of it in the user's tenant."""

from __future__ import annotations

import json
from copy import deepcopy

import pytest
from django.test import Client

from automate.workflows.exceptions import WorkflowValidationError
from automate.workflows.files import import_workflow, parse_workflow_file
from automate.workflows.models import Workflow
from automate.workflows.services import definition_problems
from studio.starter_templates import NODE_LABELS, starter_template, starter_templates
from tests.factories import make_tenant, make_user

pytestmark = pytest.mark.django_db

SECRETS = {"SLACK_TOKEN": "xoxb-test-1234", "LLM_KEY": "sk-test-1234", "HOOK_SECRET": "whsec-1234"}
#: What a user types for each placeholder (by input name).
FILLED = {
    "channel": "#alerts",
    "token": {"$secret": "SLACK_TOKEN"},
    "url": "https://hooks.example.com/in",
    "to": "ops@example.com",
    "model": None,  # per connector, below
    "lookup": {"stripe_id": "{{ event.payload.customer }}"},
    "fields": {"last_invoice": "{{ event.payload.id }}"},
    "api_key": {"$secret": "LLM_KEY"},
    "secret": {"$secret": "HOOK_SECRET"},
}
MODELS = {"django_model": "demo_crm.Customer", "llm": "gpt-4o-mini"}


def filled(document):
    document = deepcopy(document)
    for node in document["graph"]["nodes"]:
        for path in node.get("placeholders", {}):
            value = MODELS[node["connector"]] if path == "model" else FILLED[path]
            node.setdefault("inputs", {})[path] = value
    return document


@pytest.fixture(autouse=True)
def _secrets_and_models(monkeypatch, settings):
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"AUTOMATE_{name}", value)
    options = dict(settings.DJANGO_AUTOMATE.get("CONNECTOR_OPTIONS") or {})
    options["django_model"] = {"models": [{"model": "demo_crm.Customer", "tenant_field": "tenant"}]}
    policy = dict(settings.DJANGO_AUTOMATE.get("POLICY") or {})
    policy["http_allowlist"] = ["hooks.example.com"]
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "CONNECTOR_OPTIONS": options,
        "POLICY": policy,
    }


def test_there_are_at_least_six_templates_on_the_builtin_connectors():
    templates = starter_templates()
    assert len(templates) >= 6
    used = {n.get("connector") for t in templates for n in t.document["graph"]["nodes"]}
    assert {"slack", "http", "email", "django_model", "log", "llm", "transform", "webhook"} <= used
    kinds = {t.trigger()["kind"] for t in templates}
    assert {"schedule", "webhook", "model", "event"} <= kinds


@pytest.mark.parametrize("template", starter_templates(), ids=lambda t: t.key)
def test_a_template_needs_its_placeholders_and_publishes_once_they_are_filled(template):
    document = template.definition()
    placeholders = [
        (node["id"], f"inputs.{path}")
        for node in document["graph"]["nodes"]
        for path in node.get("placeholders", {})
    ]
    problems = definition_problems(
        trigger_spec=document["trigger_spec"],
        rule_spec=document["rule_spec"],
        graph=document["graph"],
    )
    assert sorted((p["node_id"], p["field"]) for p in problems) == sorted(placeholders)
    # Unfilled, the import refuses it as automate_import does.
    with pytest.raises(WorkflowValidationError):
        parse_workflow_file(json.dumps(document))
    text = json.dumps(filled(document))
    assert "xoxb-test-1234" not in text, "a template never holds a secret value"
    _workflow, created, version = import_workflow(parse_workflow_file(text), publish=True)
    assert created
    assert version is not None
    assert version.version_num == 1


@pytest.mark.parametrize("template", starter_templates(), ids=lambda t: t.key)
def test_a_template_holds_no_secret_value(template):
    for node in template.document["graph"]["nodes"]:
        for name, _value in (node.get("inputs") or {}).items():
            assert name not in {"token", "api_key", "secret", "password"}, (node["id"], name)


def test_the_wizard_shows_the_gallery_with_icons(author):
    page = author.get("/studio/wizard/").content.decode()
    for template in starter_templates():
        assert f'data-template="{template.key}"' in page
        assert str(template.title) in page
    assert "sprite.svg#message-square" in page
    assert "sprite.svg#calendar-clock" in page


def test_the_preview_lists_the_steps_and_what_to_fill_in(author):
    response = author.get("/studio/wizard/templates/webhook-to-slack/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Post to Slack" in html
    assert "slack.post_message" in html
    assert "The channel to post to" in html
    assert "Use this template" in html
    page = author.get("/studio/wizard/templates/webhook-to-slack/").content.decode()
    assert "<html" in page
    assert "Use this template" in page
    assert author.get("/studio/wizard/templates/nope/").status_code == 404


def test_using_a_template_opens_a_new_draft_whose_placeholders_are_problems(author):
    response = author.post("/studio/wizard/templates/stripe-invoice-paid/use/", {"name": "Billing"})
    workflow = Workflow.objects.get(name="Billing")
    assert response.status_code == 302
    assert response["Location"] == f"/studio/workflows/{workflow.pk}/"
    assert workflow.tenant == author.tenant
    assert workflow.live_version is None
    assert workflow.draft_graph == starter_template("stripe-invoice-paid").document["graph"]
    draft = author.get(f"/studio/workflows/{workflow.pk}/draft.json").json()
    assert {(p["node_id"], p["field"]) for p in draft["problems"]} == {
        ("notify", "inputs.channel"),
        ("notify", "inputs.token"),
        ("crm", "inputs.model"),
    }
    again = author.post("/studio/wizard/templates/stripe-invoice-paid/use/", {"name": "Billing"})
    assert again.status_code == 302
    assert Workflow.objects.filter(name="Billing").count() == 2, "a second copy gets its own slug"


def test_using_a_template_needs_the_change_permission():
    tenant = make_tenant("acme")
    viewer = make_user("viewer", perms=["automate.use_studio"])
    tenant.members.add(viewer)
    client = Client()
    client.force_login(viewer)
    response = client.post("/studio/wizard/templates/webhook-to-slack/use/", {"name": "X"})
    assert response.status_code == 403
    assert not Workflow.objects.exists()


def test_a_bad_name_is_refused_in_the_preview_and_creates_nothing(author):
    response = author.post("/studio/wizard/templates/github-push/use/", {"name": "x" * 300})
    assert response.status_code == 400
    assert 'id="template-error"' in response.content.decode()
    assert not Workflow.objects.exists()


def test_every_template_node_label_is_in_the_catalog():
    labels = {
        node["label"]
        for template in starter_templates()
        for node in template.document["graph"]["nodes"]
        if node.get("label")
    }
    assert labels <= set(NODE_LABELS), "add the new labels to NODE_LABELS (translated on use)"


def test_a_template_used_in_german_gets_german_step_names(author):
    author.post(
        "/studio/wizard/templates/stripe-invoice-paid/use/",
        {"name": "Rechnungen"},
        HTTP_ACCEPT_LANGUAGE="de",
    )
    nodes = Workflow.objects.get(name="Rechnungen").draft_graph["nodes"]
    assert [node["label"] for node in nodes] == [
        "Stripe: invoice.paid",
        "Dem Team Bescheid geben",
        "Beim Kunden festhalten",
    ]
    preview = author.get("/studio/wizard/templates/stripe-invoice-paid/", HTTP_ACCEPT_LANGUAGE="de")
    assert "Dem Team Bescheid geben" in preview.content.decode()
