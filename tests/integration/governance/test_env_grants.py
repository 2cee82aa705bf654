"""Env-backend secrets are deployment-wide: free for a single-tenant site, granted per
tenant by ``SECRETS.env_grants`` once there is a second tenant."""

import html

import pytest
from django.core import checks
from django.test import Client, override_settings

from automate.governance.exceptions import (
    SecretNotFoundError,
    SecretNotGrantedError,
    SecretTenantRequiredError,
)
from automate.governance.secret_store import create_secret
from automate.secrets import resolve, secret_names
from tests.factories import make_studio_user, make_tenant, make_workflow
from tests.integration.governance.helpers import canary_value, new_key, use_db_backend

pytestmark = pytest.mark.django_db

SHARED = "shared-env-value-5c2e8d1f"
OTHER = "other-env-value-a93b7c04"


@pytest.fixture(autouse=True)
def env_secrets(monkeypatch):
    monkeypatch.setenv("AUTOMATE_SHARED_TOKEN", SHARED)
    monkeypatch.setenv("AUTOMATE_OTHER_TOKEN", OTHER)


def grants(value):
    return override_settings(DJANGO_AUTOMATE={"SECRETS": {"backend": "env", "env_grants": value}})


def test_a_single_tenant_site_needs_no_configuration():
    only = make_tenant("solo")
    assert resolve("$secret:SHARED_TOKEN", tenant=only) == SHARED
    assert resolve({"$secret": "OTHER_TOKEN"}, tenant="solo") == OTHER
    assert resolve("$secret:SHARED_TOKEN") == SHARED  # the deployment's own code
    assert {"SHARED_TOKEN", "OTHER_TOKEN"} <= set(secret_names(tenant=only))


@pytest.mark.parametrize("tenant", ["alpha", "beta"])
def test_with_a_second_tenant_an_ungranted_env_secret_is_refused(tenant):
    make_tenant("alpha"), make_tenant("beta")
    with pytest.raises(SecretNotGrantedError) as caught:
        resolve("$secret:SHARED_TOKEN", tenant=tenant)
    error = caught.value
    assert error.code == "secret_not_granted"
    assert error.details == {"secret": "SHARED_TOKEN", "tenant": tenant}
    assert '"SHARED_TOKEN"' in error.message
    assert f'"{tenant}"' in error.message
    assert "env_grants" in error.message
    assert SHARED not in error.message
    assert SHARED not in repr(error)
    assert secret_names(tenant=tenant) == []


def test_the_refusal_does_not_say_whether_the_variable_exists():
    make_tenant("alpha"), make_tenant("beta")
    with pytest.raises(SecretNotGrantedError) as missing:
        resolve("$secret:NOT_SET_ANYWHERE", tenant="alpha")
    with pytest.raises(SecretNotGrantedError) as present:
        resolve("$secret:SHARED_TOKEN", tenant="alpha")
    assert missing.value.message.replace("NOT_SET_ANYWHERE", "X") == present.value.message.replace(
        "SHARED_TOKEN", "X"
    )


@pytest.mark.parametrize(
    ("setting", "alpha", "beta"),
    [
        ({"alpha": ["SHARED_TOKEN"]}, {"SHARED_TOKEN"}, set()),
        ({"alpha": "*"}, {"SHARED_TOKEN", "OTHER_TOKEN"}, set()),
        ({"*": ["OTHER_TOKEN"]}, {"OTHER_TOKEN"}, {"OTHER_TOKEN"}),
        (
            {"*": ["OTHER_TOKEN"], "beta": ["SHARED_TOKEN"]},
            {"OTHER_TOKEN"},
            {"OTHER_TOKEN", "SHARED_TOKEN"},
        ),
        ({"*": "*"}, {"SHARED_TOKEN", "OTHER_TOKEN"}, {"SHARED_TOKEN", "OTHER_TOKEN"}),
        ({"gamma": "*"}, set(), set()),
    ],
)
def test_grants_allow_exactly_the_names_they_list(setting, alpha, beta):
    make_tenant("alpha"), make_tenant("beta")
    values = {"SHARED_TOKEN": SHARED, "OTHER_TOKEN": OTHER}
    with grants(setting):
        for tenant, allowed in (("alpha", alpha), ("beta", beta)):
            for name, value in values.items():
                if name in allowed:
                    assert resolve(f"$secret:{name}", tenant=tenant) == value
                else:
                    with pytest.raises(SecretNotGrantedError):
                        resolve(f"$secret:{name}", tenant=tenant)
            listed = set(secret_names(tenant=tenant)) & set(values)
            assert listed == allowed


def test_a_granted_but_unset_variable_is_not_found():
    make_tenant("alpha"), make_tenant("beta")
    with grants({"alpha": ["MISSING_TOKEN"]}), pytest.raises(SecretNotFoundError):
        resolve("$secret:MISSING_TOKEN", tenant="alpha")


def test_a_step_test_of_an_ungranted_tenant_fails_with_the_reason():
    _alpha, beta = make_tenant("alpha"), make_tenant("beta")
    user = make_studio_user("beta-user")
    beta.members.add(user)
    client = Client()
    client.force_login(user)
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {"id": "probe", "type": "transform", "inputs": {"x": "{{ secrets.SHARED_TOKEN }}"}},
        ],
        "edges": [{"source": "trigger", "target": "probe"}],
    }
    workflow = make_workflow(slug="probe", tenant=beta, graph=graph)
    path = f"/studio/workflows/{workflow.pk}/nodes/probe/test/"
    with grants({"alpha": ["SHARED_TOKEN"]}):
        page = html.unescape(client.post(path, {"payload": "{}"}).content.decode())
        assert "Failed" in page
        assert "is not available to tenant" in page
        assert SHARED not in page
    with grants({"beta": ["SHARED_TOKEN"]}):
        page = html.unescape(client.post(path, {"payload": "{}"}).content.decode())
        assert "Succeeded" in page
        assert SHARED not in page  # resolved, and masked in the shown output


def test_a_stored_secret_needs_a_tenant_on_a_multi_tenant_site(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())
    make_tenant("alpha"), make_tenant("beta")
    with pytest.raises(SecretTenantRequiredError, match="needs a tenant"):
        create_secret("NAMELESS", canary_value())
    create_secret("NAMED", canary_value(), tenant="alpha")
    with pytest.raises(SecretTenantRequiredError):
        resolve("$secret:NAMED")


def test_a_single_tenant_site_resolves_stored_secrets_without_a_tenant(monkeypatch, settings):
    use_db_backend(monkeypatch, settings, new_key())
    value = canary_value()
    create_secret("SOLO", value)
    assert resolve("$secret:SOLO") == value
    assert secret_names() == ["SOLO"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"alpha": "SHARED"}, 'must be "*" or a list of secret names'),
        ({"alpha": ["9BAD"]}, "'9BAD', which is not a secret name"),
        ({"alpha": [1]}, "which is not a secret name"),
        ({"not a slug": "*"}, "keys must be tenant slugs"),
        (["alpha"], "must be dict"),
    ],
)
def test_bad_grants_fail_the_system_check(value, message):
    with override_settings(DJANGO_AUTOMATE={"SECRETS": {"env_grants": value}}):
        errors = [e for e in checks.run_checks() if e.id == "automate.E001"]
    assert len(errors) == 1
    assert "DJANGO_AUTOMATE['SECRETS']['env_grants']" in errors[0].msg
    assert message in errors[0].msg


def test_good_grants_pass_the_system_check():
    setting = {"alpha": ["SLACK_TOKEN"], "beta-2": "*", "*": ["SENTRY_DSN"]}
    with override_settings(DJANGO_AUTOMATE={"SECRETS": {"env_grants": setting}}):
        assert [e for e in checks.run_checks() if e.id == "automate.E001"] == []


def test_a_webhook_of_an_ungranted_tenant_cannot_use_the_env_signing_secret(client):
    import json

    from automate.events.models import Event
    from automate.triggers.models import WebhookEndpoint
    from automate.webhooks import stripe_signature_header

    make_tenant("alpha")
    beta = make_tenant("beta")
    WebhookEndpoint.objects.create(
        tenant=beta,
        slug="beta-stripe",
        name="Beta",
        scheme="stripe",
        secret_name="SHARED_TOKEN",
        source="stripe",
    )
    body = json.dumps({"id": "evt_1", "type": "invoice.paid"}).encode()
    headers = {"Stripe-Signature": stripe_signature_header(SHARED, body)}
    with grants({"alpha": ["SHARED_TOKEN"]}):
        refused = client.post(
            "/hooks/beta-stripe/", body, content_type="application/json", headers=headers
        )
    # The one answer for every unverifiable delivery (the reason is logged on the server).
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_signature"
    assert SHARED not in refused.content.decode()
    assert not Event.objects.exists()
    with grants({"beta": ["SHARED_TOKEN"]}):
        accepted = client.post(
            "/hooks/beta-stripe/", body, content_type="application/json", headers=headers
        )
    assert accepted.status_code == 202
    assert Event.objects.get().tenant == beta


@pytest.mark.django_db(transaction=True)  # runs start on commit
def test_a_run_of_an_ungranted_tenant_fails_with_secret_not_granted(settings, monkeypatch):
    # Publish now refuses such a step (tests/integration/workflows/test_publish_secrets.py);
    # this is a version published while the secret was still there, run after it went.
    monkeypatch.setattr(
        "automate.workflows.services.unresolvable_secret_problems", lambda **kwargs: []
    )
    from automate.execution.models import ExecutionRun
    from automate.runtime import emit_event
    from tests.factories import make_published

    make_tenant("alpha")
    beta = make_tenant("beta")
    make_published(
        slug="uses-env",
        tenant=beta,
        rule_spec={},
        trigger_spec={"event_type": "probe.run"},
        graph={
            "nodes": [
                {"id": "trigger", "type": "trigger"},
                {
                    "id": "call",
                    "type": "action",
                    "connector": "testkit",
                    "action": "echo",
                    "retry": {"max_retries": 0},
                    "inputs": {"token": {"$secret": "SHARED_TOKEN"}},
                },
            ],
            "edges": [{"source": "trigger", "target": "call"}],
        },
    )
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "SECRETS": {"env_grants": {"alpha": ["SHARED_TOKEN"]}},
    }
    emit_event("probe.run", {}, tenant=beta)
    step = ExecutionRun.objects.get().steps.get(node_id="call")
    assert step.status == "failed"
    assert 'is not available to tenant "beta"' in step.error
    assert SHARED not in step.error + step.traceback
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "SECRETS": {"env_grants": {"beta": ["SHARED_TOKEN"]}},
    }
    emit_event("probe.run", {"again": True}, tenant=beta)
    latest = ExecutionRun.objects.order_by("-created_at").first()
    assert latest.status == "succeeded"
