"""The same hostile inputs, sent to every endpoint of the URL conf.

The endpoints are listed FROM THE URL CONF, so a new endpoint is covered automatically:
``test_every_endpoint_has_a_sample_request`` fails until the table below says how to send
it a valid request, and ``test_every_view_wears_the_input_guard`` fails until it wears
``automate.guard.http.guarded``. Every hostile request must be answered with a 4xx (413
for size), in the error shape for JSON endpoints, and must write nothing. Runs on SQLite
and on PostgreSQL (which refuses NUL and unpaired surrogates that SQLite stores).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.test import override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from automate.api.models import ApiToken
from automate.api.tokens import create_token
from automate.events.models import Event
from automate.execution.models import ExecutionRun, OutboxJob, StepRun
from automate.execution.services import start_run
from automate.governance.models import AuditLogEntry, RateLimitWindow
from automate.governance.secret_store import create_secret
from automate.triggers.models import WebhookDelivery, WebhookEndpoint
from automate.webhooks import stripe_signature_header
from automate.workflows.services import publish_version
from tests.factories import make_published, make_tenant, make_user
from tests.integration.governance.helpers import new_key, use_db_backend

pytestmark = pytest.mark.django_db

SECRET = "whsec_guard_0123456789"
SMALL_BODY_LIMIT = 50_000
#: Namespaces not in the table, and why.
EXCLUDED_NAMESPACES = {
    "admin": "Django's own admin site (its forms refuse NUL; tenancy of the admin is "
    "section 4 of issue 9)",
}
GRAPH = {
    "nodes": [
        {"id": "trigger", "type": "trigger", "label": "Paid"},
        {"id": "shape", "type": "transform", "label": "Shape", "inputs": {"total": 1}},
    ],
    "edges": [{"source": "trigger", "target": "shape"}],
}


# --- the endpoints, from the URL conf ------------------------------------------------------


def url_conf_endpoints() -> dict[str, tuple[str, Any]]:
    """``{"namespace:name": (route, view)}`` for every endpoint of the URL conf."""
    found: dict[str, tuple[str, Any]] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(p for p in (namespace, pattern.namespace or "") if p)
                if inner.split(":")[0] in EXCLUDED_NAMESPACES:
                    continue
                walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = pattern.name or f"(unnamed {prefix + str(pattern.pattern)!r})"
                key = f"{namespace}:{name}" if namespace else name
                found[key] = (prefix + str(pattern.pattern), pattern.callback)

    walk(get_resolver().url_patterns, "", "")
    return found


@dataclass
class Sample:
    """A valid request to one endpoint."""

    method: str
    kwargs: Any = None  # world -> URL kwargs
    body: str = ""  # "json" (a JSON body) or "form"
    data: Any = None  # world -> the JSON body or the form fields
    json_fields: tuple[str, ...] = ()  # form fields that hold JSON text
    query: dict[str, str] = field(default_factory=dict)
    id_params: tuple[str, ...] = ()  # query parameters that name an id
    signed: bool = False  # a webhook: sign every body
    name_fields: tuple[str, ...] = ()  # form fields holding a name (max 200 characters)
    answers: int = 0  # the status a valid request gets when it is not a 2xx/3xx (a 404 page)


def _wf(world):
    return {"workflow_id": world.workflow.pk}


def _node(world):
    return {"workflow_id": world.workflow.pk, "node_id": "shape"}


def _workflow_file(world):
    """The world's workflow as ``automate_export`` writes it (what an import reads)."""
    from automate.workflows.files import export_text

    return json.loads(export_text(world.workflow))


def _run(world):
    return {"run_id": world.run.pk}


SAMPLES: dict[str, Sample] = {
    "(unnamed '')": Sample("GET"),
    "(unnamed 'favicon.ico')": Sample("GET"),
    "automate_api:health": Sample("GET"),
    "automate_api:unmatched": Sample(
        "GET", kwargs=lambda w: {"path": "no/such/thing/"}, answers=404
    ),
    "automate_health:healthz": Sample("GET"),
    "automate_health:readyz": Sample("GET"),
    "automate_health:metrics": Sample("GET"),
    "automate_api:event-list": Sample(
        "POST", body="json", data=lambda w: {"type": "invoice.paid", "payload": {"amount": 1}}
    ),
    "automate_api:event-detail": Sample("GET", kwargs=lambda w: {"pk": w.run.event_id}),
    "automate_api:workflow-list": Sample(
        "POST",
        body="json",
        data=lambda w: {"name": "Guarded", "trigger_spec": {"event_type": "x"}, "graph": GRAPH},
    ),
    "automate_api:workflow-detail": Sample(
        "PUT",
        kwargs=lambda w: {"pk": w.workflow.pk},
        body="json",
        data=lambda w: {"revision": w.workflow.draft_revision, "name": "Renamed"},
    ),
    "automate_api:workflow-activate": Sample("POST", kwargs=lambda w: {"pk": w.workflow.pk}),
    "automate_api:workflow-deactivate": Sample("POST", kwargs=lambda w: {"pk": w.workflow.pk}),
    "automate_api:workflow-restore": Sample("POST", kwargs=lambda w: {"pk": w.workflow.pk}),
    "automate_api:workflow-publish": Sample(
        "POST", kwargs=lambda w: {"pk": w.workflow.pk}, body="json", data=lambda w: {"notes": "n"}
    ),
    "automate_api:workflow-rollback": Sample(
        "POST", kwargs=lambda w: {"pk": w.workflow.pk}, body="json", data=lambda w: {"version": 1}
    ),
    "automate_api:workflow-import-file": Sample("POST", body="json", data=_workflow_file),
    "automate_api:version-list": Sample("GET", kwargs=lambda w: {"workflow_pk": w.workflow.pk}),
    "automate_api:version-detail": Sample(
        "GET", kwargs=lambda w: {"workflow_pk": w.workflow.pk, "version_num": 1}
    ),
    "automate_api:version-diff": Sample(
        "GET", kwargs=lambda w: {"workflow_pk": w.workflow.pk}, query={"a": "1", "b": "draft"}
    ),
    "automate_api:rule-test": Sample(
        "POST",
        kwargs=lambda w: {"workflow_pk": w.workflow.pk},
        body="json",
        data=lambda w: {"rule_spec": {"==": [{"var": "a"}, 1]}, "payload": {"a": 1}},
    ),
    "automate_api:rule-backtest": Sample(
        "POST",
        kwargs=lambda w: {"workflow_pk": w.workflow.pk},
        body="json",
        data=lambda w: {"rule_spec": {}, "limit": 5},
    ),
    "automate_api:copilot-draft": Sample(
        "POST", body="json", data=lambda w: {"prompt": "When an invoice is paid, log it"}
    ),
    "automate_api:copilot-edit": Sample(
        "POST",
        kwargs=lambda w: {"workflow_pk": w.workflow.pk},
        body="json",
        data=lambda w: {"prompt": "add a log step"},
    ),
    "automate_api:run-list": Sample(
        "GET",
        query={"status": "pending", "limit": "5", "workflow": "1"},
        id_params=("workflow", "limit"),
    ),
    "automate_api:run-detail": Sample("GET", kwargs=lambda w: {"pk": w.run.pk}),
    "automate_api:run-cancel": Sample("POST", kwargs=lambda w: {"pk": w.run.pk}),
    "automate_api:run-rerun": Sample("POST", kwargs=lambda w: {"pk": w.run.pk}),
    "automate_api:run-resume": Sample(
        "POST",
        kwargs=lambda w: {"pk": w.failed_run.pk},
        body="json",
        data=lambda w: {"from_node": "shape"},
    ),
    "automate_api:run-retry-step": Sample(
        "POST", kwargs=lambda w: {"pk": w.failed_run.pk, "node_id": "shape"}
    ),
    "automate_api:dead-letter-list": Sample("GET", query={"limit": "5"}),
    "automate_api:dead-letter-detail": Sample("GET", kwargs=lambda w: {"pk": w.dead_job.pk}),
    "automate_api:dead-letter-replay": Sample("POST", kwargs=lambda w: {"pk": w.dead_job.pk}),
    "automate_api:connector-list": Sample("GET"),
    "automate_api:connector-detail": Sample("GET", kwargs=lambda w: {"code": "http"}),
    "automate_api:secret-list": Sample(
        "POST", body="json", data=lambda w: {"name": "GUARDED", "value": "v-1234567890"}
    ),
    "automate_api:secret-detail": Sample("GET", kwargs=lambda w: {"name": "STRIPE_WEBHOOK_SECRET"}),
    "automate_api:secret-rotate": Sample(
        "POST",
        kwargs=lambda w: {"name": "STRIPE_WEBHOOK_SECRET"},
        body="json",
        data=lambda w: {"value": "whsec_rotated_0123456789"},
    ),
    "automate_api:audit-list": Sample("GET", query={"action": "copilot.proposed"}),
    "automate_api:audit-detail": Sample(
        "GET", kwargs=lambda w: {"pk": AuditLogEntry.objects.order_by("pk").first().pk}
    ),
    "automate_api:webhook-endpoint-list": Sample("GET"),
    "automate_api:webhook-endpoint-detail": Sample(
        "GET", kwargs=lambda w: {"pk": WebhookEndpoint.objects.get().pk}
    ),
    "automate_api:schedule-list": Sample("GET"),
    "automate_api:schedule-detail": Sample("GET", kwargs=lambda w: {"pk": w.schedule.pk}),
    "automate_api:token-list": Sample(
        "POST", body="json", data=lambda w: {"name": "guarded", "scopes": ["read"]}
    ),
    "automate_api:token-detail": Sample(
        "DELETE", kwargs=lambda w: {"pk": ApiToken.objects.order_by("pk").first().pk}
    ),
    "automate_api:schema": Sample("GET"),
    "automate_api:docs": Sample("GET"),
    "automate_hooks:receive": Sample(
        "POST",
        kwargs=lambda w: {"slug": "stripe"},
        body="json",
        data=lambda w: {"id": "evt_1", "type": "invoice.paid", "data": {"amount": 2}},
        signed=True,
    ),
    "studio:api_tokens": Sample(
        "POST",
        body="form",
        data=lambda w: {"name": "CI", "tenant": "acme", "scopes": "read", "expiry": "30"},
    ),
    "studio:revoke_api_token": Sample(
        "POST",
        kwargs=lambda w: {"token_id": ApiToken.objects.order_by("pk").first().pk},
        body="form",
        data=lambda w: {},
    ),
    "studio:login": Sample(
        "POST", body="form", data=lambda w: {"username": "ed", "password": "pw-for-tests-only"}
    ),
    "studio:logout": Sample("POST", body="form", data=lambda w: {}),
    "studio:jsi18n": Sample("GET"),
    "studio:dashboard": Sample("GET"),
    "studio:wizard": Sample(
        "POST",
        body="form",
        data=lambda w: {"name": "New flow", "event_type": "order.created"},
        name_fields=("name",),
    ),
    "studio:wizard_from_proposal": Sample(
        "POST",
        body="form",
        data=lambda w: {
            "workflow_name": "From the copilot",
            "definition": json.dumps(
                {"trigger_spec": {"event_type": "order.created"}, "rule_spec": {}, "graph": GRAPH}
            ),
        },
        json_fields=("definition",),
        name_fields=("workflow_name",),
    ),
    "studio:copilot_new": Sample(
        "POST", body="json", data=lambda w: {"prompt": "When an order is created, log it"}
    ),
    "studio:copilot_new_decision": Sample(
        "POST",
        kwargs=lambda w: {"proposal_id": w.new_proposal_id},
        body="json",
        data=lambda w: {"accepted": False},
    ),
    "studio:copilot": Sample(
        "POST",
        kwargs=_wf,
        body="json",
        data=lambda w: {
            "prompt": "Also log the amount",
            "current": {"trigger_spec": {"event_type": "invoice.paid"}, "graph": GRAPH},
            "conversation": ["When an invoice is paid, shape it"],
        },
    ),
    "studio:copilot_decision": Sample(
        "POST",
        kwargs=lambda w: {"workflow_id": w.workflow.pk, "proposal_id": w.proposal_id},
        body="json",
        data=lambda w: {"accepted": True},
    ),
    "studio:editor": Sample("GET", kwargs=_wf),
    "studio:draft": Sample(
        "PUT",
        kwargs=_wf,
        body="json",
        data=lambda w: {"revision": w.workflow.draft_revision, "name": "Renamed", "graph": GRAPH},
    ),
    "studio:palette": Sample("GET"),
    "studio:note_render": Sample("POST", kwargs=_wf, body="json", data=lambda w: {"text": "# Hi"}),
    "studio:node_panel": Sample(
        "POST",
        kwargs=_node,
        body="form",
        data=lambda w: {"label": "Shape it", "mapping": '{"total": 2}'},
        json_fields=("mapping",),
    ),
    "studio:node_test": Sample(
        "POST",
        kwargs=_node,
        body="form",
        data=lambda w: {"payload": '{"amount": 3}', "steps": "{}"},
        json_fields=("payload", "steps"),
    ),
    # The world's workflow is published and never edited: its draft is at revision 0.
    "studio:node_pin": Sample(
        "POST",
        kwargs=_node,
        body="form",
        data=lambda w: {"revision": "0", "source": "json", "data": '{"total": 2}'},
        json_fields=("data",),
    ),
    # A JSON field's hostile text is covered in tests/integration/studio/test_expressions.py
    # (a preview answers a 4xx in the error shape, not a panel's "Nothing was saved").
    "studio:node_preview": Sample(
        "POST",
        kwargs=_node,
        body="form",
        data=lambda w: {"template": "{{ event.type }}", "field": "total", "kind": "text"},
    ),
    "studio:rules": Sample("GET", kwargs=_wf),
    "studio:rules_validate": Sample(
        "POST",
        kwargs=_wf,
        body="form",
        data=lambda w: {"rule_spec": "{}"},
        json_fields=("rule_spec",),
    ),
    "studio:rules_test": Sample(
        "POST",
        kwargs=_wf,
        body="form",
        data=lambda w: {"rule_spec": '{">": [{"var": "amount"}, 1]}', "payload": '{"amount": 5}'},
        json_fields=("rule_spec", "payload"),
    ),
    "studio:rules_backtest": Sample(
        "POST",
        kwargs=_wf,
        body="form",
        data=lambda w: {"rule_spec": "{}", "limit": "10"},
        json_fields=("rule_spec",),
    ),
    "studio:rules_save": Sample(
        "POST",
        kwargs=_wf,
        body="form",
        data=lambda w: {"rule_spec": '{"==": [1, 1]}'},
        json_fields=("rule_spec",),
    ),
    "studio:lifecycle_status": Sample("GET", kwargs=_wf),
    "studio:activate": Sample("POST", kwargs=_wf, body="form", data=lambda w: {}),
    "studio:deactivate": Sample("POST", kwargs=_wf, body="form", data=lambda w: {}),
    "studio:archive": Sample("POST", kwargs=_wf, body="form", data=lambda w: {}),
    "studio:restore": Sample("POST", kwargs=_wf, body="form", data=lambda w: {}),
    "studio:failure_settings": Sample(
        "POST", kwargs=_wf, body="form", data=lambda w: {"notify_email_to": "ops@example.com"}
    ),
    "studio:export": Sample("GET", kwargs=_wf, query={"version": "1"}),
    "studio:import_new": Sample(
        "POST", body="json", data=lambda w: _workflow_file(w), query={"slug": "imported"}
    ),
    "studio:import_into": Sample(
        "POST", kwargs=_wf, body="json", data=lambda w: _workflow_file(w), query={"revision": "0"}
    ),
    "studio:template_preview": Sample("GET", kwargs=lambda w: {"key": "webhook-to-slack"}),
    "studio:template_use": Sample(
        "POST",
        kwargs=lambda w: {"key": "webhook-to-slack"},
        body="form",
        data=lambda w: {"name": "From a template"},
        name_fields=("name",),
    ),
    "studio:publish": Sample("POST", kwargs=_wf, body="form", data=lambda w: {"notes": "v2"}),
    "studio:history": Sample("GET", kwargs=_wf),
    "studio:insights": Sample("GET", query={"range": "7d"}),
    "studio:insights_json": Sample("GET", query={"range": "7d"}),
    "studio:workflow_insights": Sample("GET", kwargs=_wf, query={"range": "7d"}),
    "studio:workflow_insights_json": Sample("GET", kwargs=_wf, query={"range": "7d"}),
    "studio:webhook_panel": Sample("GET", kwargs=_wf),
    "studio:webhook_deliveries": Sample("GET", kwargs=_wf),
    "studio:webhook_secret": Sample("POST", kwargs=_wf, body="form", data=lambda w: {}),
    "studio:schedule_preview": Sample(
        "GET", kwargs=_wf, query={"cron": "0 9 * * 1-5", "timezone": "Europe/Paris"}
    ),
    "studio:diff": Sample("GET", kwargs=_wf, query={"a": "1", "b": "draft"}),
    "studio:rollback": Sample(
        "POST",
        kwargs=lambda w: {"workflow_id": w.workflow.pk, "version_num": 1},
        body="form",
        data=lambda w: {},
    ),
    "studio:runs": Sample(
        "GET",
        query={"workflow": "1", "status": "running", "trace": "abc", "since": "2026-01-01"},
        id_params=("workflow",),
    ),
    "studio:replay_job": Sample(
        "POST", kwargs=lambda w: {"job_id": w.dead_job.pk}, body="form", data=lambda w: {}
    ),
    "studio:run": Sample("GET", kwargs=_run),
    "studio:run_step": Sample("GET", kwargs=lambda w: {"run_id": w.run.pk, "node_id": "trigger"}),
    "studio:run_retry": Sample(
        "POST", kwargs=_run, body="form", data=lambda w: {"node_id": "shape"}
    ),
    "studio:run_resume": Sample(
        "POST", kwargs=_run, body="form", data=lambda w: {"node_id": "shape"}
    ),
    "studio:run_cancel": Sample("POST", kwargs=_run, body="form", data=lambda w: {}),
    "studio:run_failure": Sample("GET", kwargs=_run),
    "studio:run_rerun_live": Sample("POST", kwargs=_run, body="form", data=lambda w: {}),
}


# --- the world every request is sent into --------------------------------------------------


@dataclass
class World:
    client: Any
    workflow: Any
    run: Any
    dead_job: Any
    proposal_id: str = ""
    new_proposal_id: str = ""
    failed_run: Any = None
    schedule: Any = None


@pytest.fixture
def world(client, monkeypatch, settings):
    # The db secrets backend: it holds the endpoint's signing secret, and the webhook
    # trigger's "create signing secret" can store a new one.
    use_db_backend(monkeypatch, settings, new_key())
    tenant = make_tenant("acme")
    create_secret("STRIPE_WEBHOOK_SECRET", SECRET, tenant=tenant)
    user = make_user("ed", staff=True, superuser=True)
    tenant.members.add(user)
    version = make_published(
        slug="flow",
        tenant=tenant,
        trigger_spec={"event_type": "invoice.paid"},
        rule_spec={},
        graph=GRAPH,
    )
    WebhookEndpoint.objects.create(
        tenant=tenant,
        slug="stripe",
        name="Stripe",
        scheme="stripe",
        secret_name="STRIPE_WEBHOOK_SECRET",
        source="stripe",
        workflow=version.workflow,  # the workflow's webhook trigger owns it
    )
    event = Event.objects.create(tenant=tenant, type="invoice.paid", source="api", payload={})
    run, _ = start_run(event=event, version=version)
    dead = OutboxJob.objects.create(
        tenant=tenant, kind=OutboxJob.Kind.EVENT, event=event, status=OutboxJob.Status.DEAD
    )
    # Copilot proposals to decide on: one for the workflow, one for a new workflow.
    proposals = [
        AuditLogEntry.objects.create(
            tenant=tenant,
            action="copilot.proposed",
            resource_type="copilot_proposal",
            resource_id=proposal_id,
            details={"workflow_id": workflow_id},
        ).resource_id
        for proposal_id, workflow_id in (("a1" * 16, version.workflow.pk), ("b2" * 16, None))
    ]
    # A failed run with a failed step (to retry and resume), and a live version newer than
    # the run's (to re-run it on), for the API's run operations.
    failed_event = Event.objects.create(tenant=tenant, type="invoice.paid", payload={"n": 2})
    failed_run, _ = start_run(event=failed_event, version=version)
    ExecutionRun.objects.filter(pk=failed_run.pk).update(status=ExecutionRun.Status.FAILED)
    StepRun.objects.create(run=failed_run, node_id="shape", status=StepRun.Status.FAILED)
    OutboxJob.objects.create(
        tenant=tenant,
        kind=OutboxJob.Kind.STEP,
        run=failed_run,
        node_id="shape",
        status=OutboxJob.Status.FAILED,
    )
    publish_version(workflow=version.workflow)
    create_token(user=user, tenant=tenant, name="guard", scopes=["read"])
    nightly = make_published(
        slug="nightly",
        tenant=tenant,
        trigger_spec={"event_type": "report.tick", "schedule": {"cron": "0 3 * * *"}},
        rule_spec={},
        graph=GRAPH,
    )
    client.force_login(user)
    return World(
        client=client,
        workflow=version.workflow,
        run=run,
        dead_job=dead,
        proposal_id=proposals[0],
        new_proposal_id=proposals[1],
        failed_run=failed_run,
        schedule=nightly.workflow,
    )


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the engine's tables and the demo's, by model (the rate-limit counter,
    which counts verified webhook deliveries by design, and the bounded webhook delivery
    log, which notes every answer to a known endpoint by design, are left out)."""
    state = {}
    for config in ("automate", "demo_crm"):
        for model in apps.get_app_config(config).get_models():
            if model in (RateLimitWindow, WebhookDelivery):
                continue
            state[model._meta.label] = [
                {k: repr(v) for k, v in row.items()}
                for row in model.objects.order_by("pk").values()
            ]
    return state


def send(world, name, *, body=None, raw=None, form=None, query=None, content_length=None):
    """Send the sample request of ``name``, with parts replaced."""
    sample = SAMPLES[name]
    url = (
        reverse(name, kwargs=sample.kwargs(world) if sample.kwargs else None)
        if ":" in name
        else "/"
    )
    extra: dict[str, Any] = {}
    if query is not None:
        extra["QUERY_STRING"] = query
    elif sample.query:
        from urllib.parse import urlencode

        extra["QUERY_STRING"] = urlencode(sample.query)
    if sample.body == "json" or raw is not None:
        data = raw if raw is not None else (body if body is not None else sample.data(world))
        payload = data if isinstance(data, bytes) else json.dumps(data).encode()
        if sample.signed:
            extra["HTTP_STRIPE_SIGNATURE"] = stripe_signature_header(SECRET, payload)
        content_type = "application/json"
    elif sample.body == "form":
        from urllib.parse import urlencode

        fields = form if form is not None else sample.data(world)
        payload = urlencode(fields).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        payload, content_type = b"", "text/plain"
    if content_length is not None:
        extra["CONTENT_LENGTH"] = str(content_length)
    return world.client.generic(
        sample.method, url, data=payload, content_type=content_type, **extra
    )


def assert_refused(response, *, status=None, json_shape=False):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if status is not None:
        assert response.status_code == status, response.content[:300]
    if json_shape:
        body = response.json()
        assert set(body) == {"code", "message", "details", "trace_id"}, body
        assert body["message"]


def is_json_endpoint(name, view) -> bool:
    return getattr(view, "input_guard", "") == "json"


ENDPOINTS = url_conf_endpoints()


# --- the table is complete and every view is guarded ---------------------------------------


def test_every_endpoint_has_a_sample_request():
    missing = sorted(set(ENDPOINTS) - set(SAMPLES))
    assert not missing, f"add a sample request to SAMPLES for: {missing}"
    stale = sorted(set(SAMPLES) - set(ENDPOINTS))
    assert not stale, f"SAMPLES names endpoints the URL conf no longer has: {stale}"


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_every_view_wears_the_input_guard(name):
    _, view = ENDPOINTS[name]
    assert getattr(view, "input_guard", None) in ("json", "html"), (
        f"{name}: decorate the view with automate.guard.http.guarded (studio: studio_guard)"
    )


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_sample_request_is_accepted(world, name, settings):
    # With every optional endpoint switched on (/metrics answers 404 while it is off).
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "METRICS_EXPORT": True,
        "METRICS": {"allowed_networks": ["127.0.0.1/32"]},
    }
    response = send(world, name)
    expected = SAMPLES[name].answers
    if expected:
        assert response.status_code == expected, (name, response.content[:300])
        return
    assert response.status_code < 400, (name, response.status_code, response.content[:300])


# --- the hostile set -----------------------------------------------------------------------

NAMES = sorted(SAMPLES)


@pytest.mark.parametrize("name", NAMES)
@override_settings(DJANGO_AUTOMATE={"LIMITS": {"max_body_bytes": SMALL_BODY_LIMIT}})
def test_a_body_over_the_limit_is_a_413_and_writes_nothing(world, name):
    before = snapshot()
    big = b'{"x": "' + b"a" * SMALL_BODY_LIMIT + b'"}'
    response = send(world, name, raw=big)
    assert_refused(response, status=413, json_shape=is_json_endpoint(name, ENDPOINTS[name][1]))
    # A lying Content-Length is refused before anything is read.
    lying = send(world, name, raw=b"{}", content_length=SMALL_BODY_LIMIT * 10)
    assert_refused(lying, status=413)
    assert snapshot() == before


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("query", ["x=a%00b", "a%00=1", "trace=%00", "workflow=1%00", "b=%00draft"])
def test_a_nul_in_any_query_parameter_is_a_400_and_writes_nothing(world, name, query):
    before = snapshot()
    response = send(world, name, query=query)
    assert_refused(response, status=400, json_shape=is_json_endpoint(name, ENDPOINTS[name][1]))
    assert snapshot() == before


HOSTILE_JSON = {
    "nested 10,000 deep": "[" * 10_000 + "]" * 10_000,
    "nested 10,000 deep in an object": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "integer of 5,000 digits": '{"n": ' + "7" * 5_000 + "}",
    "negative integer of 4,301 digits": '{"n": -' + "7" * 4_301 + "}",
    "NaN": '{"n": NaN}',
    "infinite float": '{"n": 1e999}',
    "NUL in a key": '{"a\\u0000b": 1}',
    "NUL in a value": '{"a": "x\\u0000y"}',
    "lone surrogate in a key": '{"\\ud800": 1}',
    "lone surrogate in a value": '{"a": ["ok", "\\udc00"]}',
}
RAW_BODIES = {
    "not UTF-8": b'{"a": "\xff"}',
    "not JSON": b"{oops",
    **{label: text.encode() for label, text in HOSTILE_JSON.items()},
}
JSON_BODY_ENDPOINTS = [n for n in NAMES if SAMPLES[n].body == "json"]
JSON_FIELD_CASES = [(n, f) for n in NAMES for f in SAMPLES[n].json_fields]


@pytest.mark.parametrize("name", JSON_BODY_ENDPOINTS)
@pytest.mark.parametrize("label", sorted(RAW_BODIES))
def test_hostile_json_bodies_are_a_400_in_the_error_shape_and_write_nothing(world, name, label):
    before = snapshot()
    response = send(world, name, raw=RAW_BODIES[label])
    assert_refused(response, status=400, json_shape=True)
    assert snapshot() == before


@pytest.mark.parametrize(("name", "field_name"), JSON_FIELD_CASES)
@pytest.mark.parametrize("label", sorted(HOSTILE_JSON))
def test_hostile_json_in_form_fields_is_a_400_and_writes_nothing(world, name, field_name, label):
    before = snapshot()
    form = {**SAMPLES[name].data(world), field_name: HOSTILE_JSON[label]}
    response = send(world, name, form=form)
    assert_refused(response, status=400)
    assert "Nothing was saved" in response.content.decode()
    assert snapshot() == before


def _form_field_names(name):
    # Form samples do not depend on the world, so their field names can be listed here.
    return ["(new field)", *SAMPLES[name].data(None)]


FORM_CASES = [(n, f) for n in NAMES if SAMPLES[n].body == "form" for f in _form_field_names(n)]


@pytest.mark.parametrize(("name", "field_name"), FORM_CASES)
@pytest.mark.parametrize("bad", ["a\x00b", "\x00"])
def test_a_nul_in_any_form_field_is_a_400_and_writes_nothing(world, name, field_name, bad):
    before = snapshot()
    form = dict(SAMPLES[name].data(world))
    if field_name == "(new field)":
        form[f"x{bad}"] = "1"
    else:
        form[field_name] = bad
    response = send(world, name, form=form)
    assert_refused(response, status=400)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("name", "field_name"), [(n, f) for n in NAMES for f in SAMPLES[n].name_fields]
)
@pytest.mark.parametrize("length", [201, 5_000])
def test_names_longer_than_the_model_allows_are_refused_and_not_stored(
    world, name, field_name, length
):
    before = snapshot()
    form = {**SAMPLES[name].data(world), field_name: "N" * length}
    response = send(world, name, form=form)
    assert_refused(response, status=400)
    assert "200" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(("name", "param"), [(n, p) for n in NAMES for p in SAMPLES[n].id_params])
@pytest.mark.parametrize(
    "value",
    ["9" * 30, "9223372036854775808", "²", "\u0663", "\uff13", "1\u00b2", "-1", "1.5", "0x10"],
)
def test_id_query_parameters_out_of_range_or_not_numbers_are_a_400(world, name, param, value):
    from urllib.parse import urlencode

    response = send(world, name, query=urlencode({**SAMPLES[name].query, param: value}))
    assert_refused(response, status=400)


@pytest.mark.parametrize("name", [n for n in NAMES if "<int:" in ENDPOINTS[n][0]])
def test_path_ids_of_thirty_digits_are_never_a_500_and_write_nothing(world, name):
    sample = SAMPLES[name]
    kwargs = {
        key: 10**30 if isinstance(value, int) else value
        for key, value in sample.kwargs(world).items()
    }
    url = reverse(name, kwargs=kwargs)
    before = snapshot()
    response = world.client.generic(sample.method, url)
    assert response.status_code < 500
    assert snapshot() == before


def _string_path_cases():
    """``(endpoint, parameter)`` for every path parameter that is not an ``<int:>``
    converter (router regexes such as ``[^/.]+``, ``<str:>``, ``<slug:>``)."""
    import re

    cases = []
    for name in NAMES:
        route = ENDPOINTS[name][0]
        for match in re.finditer(r"<(?:(\w+):)?(\w+)>|\(\?P<(\w+)>([^)]*)\)", route):
            converter, param, group, regex = match.groups()
            if param and converter in ("int", "uuid"):
                continue
            if group and regex.startswith("[0-9]"):
                continue
            cases.append((name, param or group))
    return cases


STRING_PATH_CASES = _string_path_cases()


@pytest.mark.parametrize(("name", "param"), STRING_PATH_CASES)
@pytest.mark.parametrize("bad", ["a\x00b", "\x00", "shape\x00", "%00"])
def test_a_nul_in_any_string_path_parameter_is_a_400_and_writes_nothing(world, name, param, bad):
    """PostgreSQL refuses NUL in a lookup with an error: the guard answers 400 first."""
    from urllib.parse import quote

    sample = SAMPLES[name]
    kwargs = dict(sample.kwargs(world)) if sample.kwargs else {}
    marker = "zzmarkerzz"
    kwargs[param] = marker
    try:
        url = reverse(name, kwargs=kwargs)
    except NoReverseMatch:  # a pattern that ends in "/" (the API's catch-all)
        url = reverse(name, kwargs={**kwargs, param: f"{marker}/"})
    # "%00" stands for a NUL sent percent-encoded by hand (the server decodes it).
    encoded = "%00" if bad == "%00" else quote(bad, safe="")
    url = url.replace(marker, encoded)
    before = snapshot()
    response = world.client.generic(sample.method, url, content_type="application/json")
    # A route whose pattern admits no NUL (<slug:>, a digit regex) answers 404: fine too.
    expected = 400 if _resolves(url) else 404
    assert_refused(response, status=expected, json_shape=url.startswith("/api/"))
    assert snapshot() == before


def _resolves(url):
    from urllib.parse import unquote

    from django.urls import Resolver404, resolve

    try:
        resolve(unquote(url))
    except Resolver404:
        return False
    return True


def test_the_string_path_table_covers_the_api_routes_that_take_text():
    names = {name for name, _ in STRING_PATH_CASES}
    assert "automate_api:run-retry-step" in names
    assert "automate_api:secret-detail" in names
