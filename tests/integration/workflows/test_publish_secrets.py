"""Publish refuses a step whose secret the workflow's tenant cannot resolve (the docs said
secrets were checked at publish; they were not: the first run failed instead)."""

import pytest

from automate.governance.secret_store import create_secret
from automate.workflows import WorkflowValidationError
from automate.workflows.models import WorkflowVersion
from automate.workflows.services import publish_version
from tests.factories import make_tenant, make_workflow


def _graph(**inputs):
    return {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "call",
                "type": "action",
                "connector": "testkit",
                "action": "echo",
                "inputs": inputs,
            },
        ],
        "edges": [{"source": "trigger", "target": "call"}],
    }


def _refusal(workflow):
    with pytest.raises(WorkflowValidationError) as refused:
        publish_version(workflow=workflow)
    assert WorkflowVersion.objects.count() == 0
    return [p for p in refused.value.problems if p.get("node_id") == "call"], str(refused.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reference",
    [{"$secret": "NOPE_TOKEN"}, "$secret:NOPE_TOKEN", "Bearer {{ secrets.NOPE_TOKEN }}"],
)
def test_a_missing_env_secret_is_refused_naming_the_step_and_the_secret(monkeypatch, reference):
    monkeypatch.delenv("AUTOMATE_NOPE_TOKEN", raising=False)
    workflow = make_workflow(slug="missing", graph=_graph(token=reference))
    problems, message = _refusal(workflow)
    assert len(problems) == 1
    assert "step 'call'" in problems[0]["message"]
    assert "'NOPE_TOKEN'" in problems[0]["message"]
    assert "AUTOMATE_NOPE_TOKEN" in message  # where the backend looked

    monkeypatch.setenv("AUTOMATE_NOPE_TOKEN", "now-it-exists-1234")
    version = publish_version(workflow=workflow)
    assert version.version_num == 1


@pytest.mark.django_db
def test_an_env_secret_not_granted_to_the_tenant_is_refused(monkeypatch, settings):
    monkeypatch.setenv("AUTOMATE_SHARED_TOKEN", "shared-value-1234")
    make_tenant("alpha")
    beta = make_tenant("beta")
    settings.DJANGO_AUTOMATE = {
        **settings.DJANGO_AUTOMATE,
        "SECRETS": {"env_grants": {"alpha": ["SHARED_TOKEN"]}},
    }
    workflow = make_workflow(
        slug="ungranted", tenant=beta, graph=_graph(t={"$secret": "SHARED_TOKEN"})
    )
    problems, message = _refusal(workflow)
    assert 'not available to tenant "beta"' in problems[0]["message"]
    assert "shared-value-1234" not in message


@pytest.mark.django_db
def test_a_stored_secret_of_another_tenant_is_refused(monkeypatch, settings):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("AUTOMATE_SECRETS_KEYS", Fernet.generate_key().decode())
    settings.DJANGO_AUTOMATE = {**settings.DJANGO_AUTOMATE, "SECRETS": {"backend": "db"}}
    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    create_secret("ALPHA_ONLY", "alpha-value-1234", tenant=alpha)
    theirs = make_workflow(slug="theirs", tenant=beta, graph=_graph(a={"$secret": "ALPHA_ONLY"}))
    problems, message = _refusal(theirs)
    assert "tenant 'beta' cannot resolve" in problems[0]["message"]
    assert "alpha-value-1234" not in message

    ours = make_workflow(slug="ours", tenant=alpha, graph=_graph(a={"$secret": "ALPHA_ONLY"}))
    assert publish_version(workflow=ours).version_num == 1
